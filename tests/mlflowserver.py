"""A real MLflow tracking server for the tests, from MLflow's own virtual environment.

MLflow is never a dependency of mlratchet nor installed in the project's venv: ``make
mlflow-venv`` puts it in ``benchmarks/.venv-mlflow`` (``benchmarks/requirements-mlflow.txt``).
:func:`mlflow_server` runs ``mlflow server`` from there on loopback, on a free port, with a
throwaway SQLite store, one worker and no job runner, waits for ``/health`` and stops it at the
end. :meth:`MlflowServer.client` runs MLflow's own ``MlflowClient`` in that venv, so the tests
read back through MLflow what ``ratchet exp export`` wrote through the REST API.

:func:`require_mlflow` skips when the venv is absent on a developer machine, and fails in CI
(``CI`` set, as GitHub Actions does, or ``RATCHET_TEST_MLFLOW=required``, as ``.ci/run`` does).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

VENV = Path(__file__).resolve().parent.parent / "benchmarks" / ".venv-mlflow"

#: Reads every run of an experiment through MlflowClient; prints them as JSON.
_READ_RUNS = """
import json, sys
from mlflow import MlflowClient
from mlflow.entities import ViewType
client = MlflowClient(tracking_uri=sys.argv[1])
experiment = client.get_experiment_by_name(sys.argv[2])
runs = [] if experiment is None else client.search_runs(
    [experiment.experiment_id], run_view_type=ViewType.ALL, max_results=10000
)
print(json.dumps([
    {
        "run_id": r.info.run_id,
        "name": r.info.run_name,
        "status": r.info.status,
        "lifecycle_stage": r.info.lifecycle_stage,
        "start_time": r.info.start_time,
        "params": r.data.params,
        "metrics": r.data.metrics,
        "tags": r.data.tags,
    }
    for r in runs
]))
"""


def mlflow_executable() -> Path | None:
    """``benchmarks/.venv-mlflow/bin/mlflow``, if ``make mlflow-venv`` made it."""
    exe = VENV / "bin" / "mlflow"
    return exe if exe.is_file() and (VENV / ".installed").is_file() else None


def require_mlflow() -> Path:
    """The mlflow executable; skip when absent on a developer machine, fail when absent in CI."""
    found = mlflow_executable()
    if found is not None:
        return found
    if os.environ.get("CI") or os.environ.get("RATCHET_TEST_MLFLOW") == "required":
        pytest.fail(f"MLflow is not installed in {VENV}, and CI must run these tests")
    pytest.skip(f"MLflow is not installed in {VENV} (run `make mlflow-venv`)")


@dataclass(frozen=True)
class MlflowServer:
    """A running tracking server: its URL, and MLflow's Python to read it back with."""

    url: str
    python: Path

    def runs(self, experiment: str) -> list[dict[str, Any]]:
        """Every run (deleted ones too) of ``experiment``, read by MLflow's own client."""
        data: list[dict[str, Any]] = in_mlflow(
            self.python, _READ_RUNS, self.url, experiment, what="MlflowClient"
        )
        return data


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",  # no job runner and its worker processes
        "MLFLOW_TRACKING_URI": "",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"mlflow server did not start within {timeout}s:\n{log.read_text()[-3000:]}")


@contextmanager
def mlflow_server(workdir: Path, exe: Path) -> Iterator[MlflowServer]:
    """Run ``mlflow server`` with a SQLite store in ``workdir`` until the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = workdir / "mlflow.log"
    cmd = [
        str(exe),
        "server",
        "--backend-store-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--default-artifact-root",
        str(workdir / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=_env(),
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait(url, proc, log)
        yield MlflowServer(url, exe.parent / "python")
    finally:
        # The server's own process group (start_new_session): uvicorn and its worker.
        for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, None)):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=wait)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue


#: Scores a frame (JSON ``{"columns", "data"}`` on stdin) with MLflow's own scoring client
#: against the server at argv[1]:argv[2], as a frame, as a frame with params, and as an
#: array of rows in the columns' order; prints the three prediction lists as JSON. (A dict of
#: arrays would be MLflow's ``inputs`` format, but 3.17's client cannot send a dict.)
_SCORE = """
import json, sys
import numpy as np
import pandas as pd
from mlflow.pyfunc.scoring_server.client import ScoringServerClient
given = json.load(sys.stdin)
frame = pd.DataFrame(given["data"], columns=given["columns"])
client = ScoringServerClient(sys.argv[1], int(sys.argv[2]))
client.wait_server_ready(timeout=30)
answers = [
    client.invoke(frame),
    client.invoke(frame, params={"ignored": 1}),
    client.invoke(frame.to_numpy()),
]
print(json.dumps([
    np.asarray(a.get_predictions(predictions_format="ndarray")).ravel().tolist()
    for a in answers
]))
"""


def score_with_mlflow(host: str, port: int, columns: list[str], data: list[list[Any]]) -> Any:
    """The predictions MLflow's ``ScoringServerClient`` gets from a scoring server (see
    ``_SCORE``), run in MLflow's venv (skipped or failed as :func:`require_mlflow` says)."""
    python = require_mlflow().parent / "python"
    payload = json.dumps({"columns": columns, "data": data})
    return in_mlflow(python, _SCORE, host, str(port), stdin=payload, what="MLflow's scoring client")


def in_mlflow(python: Path, script: str, *args: str, stdin: str | None = None, what: str) -> Any:
    """Run ``script`` with MLflow's venv ``python``; the JSON its last stdout line prints."""
    proc = subprocess.run(
        [str(python), "-c", script, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(),
    )
    if proc.returncode != 0:
        raise AssertionError(f"{what} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
