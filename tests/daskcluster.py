"""A real Dask cluster for the tests: `dask scheduler` and `dask worker` processes on loopback.

The scheduler writes its address to a scheduler file; the workers (separate processes, one
thread each, no dashboard) join through it. Everything is stopped at the end, the workers
first. The processes inherit this process's environment (the hermetic git and DVC settings).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

START_SECONDS = 60


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def cluster(directory: Path, *, workers: int = 2) -> Iterator[str]:
    """A scheduler and ``workers`` single-threaded worker processes; yields the address."""
    directory.mkdir(parents=True, exist_ok=True)
    scheduler_file = directory / "scheduler.json"
    dask = str(Path(sys.executable).parent / "dask")
    common = {"cwd": directory, "start_new_session": True, "env": {**os.environ}}
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        log = (directory / "scheduler.log").open("wb")
        logs.append(log)
        procs.append(
            subprocess.Popen(
                [
                    dask,
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(scheduler_file),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                **common,  # type: ignore[arg-type]
            )
        )
        deadline = time.monotonic() + START_SECONDS
        while not scheduler_file.is_file():
            assert procs[0].poll() is None, (directory / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.2)
        time.sleep(0.2)  # the file is written whole before the scheduler listens
        address = json.loads(scheduler_file.read_text(encoding="utf-8"))["address"]
        for i in range(workers):
            log = (directory / f"worker-{i}.log").open("wb")
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [
                        dask,
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                        "--name",
                        f"w{i}",
                        "--local-directory",
                        str(directory / f"w{i}"),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    **common,  # type: ignore[arg-type]
                )
            )
        _wait_for_workers(address, workers, deadline)
        yield address
    finally:
        for proc in reversed(procs):
            _stop(proc)
        for log in logs:
            log.close()


def _wait_for_workers(address: str, count: int, deadline: float) -> None:
    from distributed import Client

    with Client(address, timeout="20s", set_as_default=False) as client:
        client.wait_for_workers(count, timeout=max(1.0, deadline - time.monotonic()))
