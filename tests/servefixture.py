"""A real ``ratchet serve`` process on 127.0.0.1 for the tests: started, waited for, stopped.

Shared by the serving tests (tests/func/test_serve.py) and the tests that need a real
prediction log (tests/func/test_realized_history.py).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

#: A server that is not ready within this many seconds fails its test.
START_SECONDS = 60


def free_port() -> int:
    """A TCP port nobody listens on now (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running ``ratchet serve`` process and a client for it."""

    process: subprocess.Popen[str]
    url: str
    log_dir: Path | None

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        """Send ``sig`` and wait for the exit; the exit code and stderr."""
        self.process.send_signal(sig)
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return self.process.returncode, err


def start(root: Path, *args: str, log_dir: Path | None = None) -> Server:
    """Start ``ratchet serve ARGS`` in ``root`` and wait until ``/ready`` answers 200."""
    port = free_port()
    extra = ["--log-dir", str(log_dir)] if log_dir is not None else []
    cmd = [sys.executable, "-m", "mlratchet", "serve", *args, "--port", str(port), *extra]
    process = subprocess.Popen(
        cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    server = Server(process, f"http://127.0.0.1:{port}", log_dir)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"ratchet serve exited {process.returncode}\n{out}\n{err}")
        try:
            if httpx.get(f"{server.url}/ready", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"ratchet serve was not ready in {START_SECONDS}s")


def split(frame: Any) -> dict[str, Any]:
    """MLflow's ``dataframe_split`` body for a frame."""
    return {"dataframe_split": {"columns": list(frame.columns), "data": frame.values.tolist()}}
