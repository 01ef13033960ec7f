"""`ratchet repro` / `ratchet verify` under faults: Ctrl-C, injection, missing params, locks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import commit_all, dvc, gen, run

RATCHET = str(Path(sys.executable).with_name("ratchet"))
TIMEOUT = 120


def ratchet(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `ratchet` console script, as a user runs it."""
    return run([RATCHET, *args], cwd, check=False, timeout=TIMEOUT)


def lock_stages(root: Path) -> dict[str, object]:
    """The stage entries of the work tree's dvc.lock ({} when there is none)."""
    from mlratchet.yamlio import load_yaml

    path = root / "dvc.lock"
    return dict(load_yaml(path)["stages"]) if path.exists() else {}


def _wait_for(predicate: object, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


# -- 1. Ctrl-C ---------------------------------------------------------------------------------

TRAPPING = {
    "dvc.yaml": (
        "stages:\n"
        "  first:\n"
        "    cmd: python first.py\n"
        "    deps: [first.py]\n"
        "    outs: [first.txt]\n"
        "  second:\n"
        "    cmd: python second.py\n"
        "    deps: [second.py, first.txt]\n"
        "    outs: [second.txt]\n"
    ),
    # Traps Ctrl-C, writes partial output and exits 0, as many training loops do.
    "first.py": (
        "import os, signal, sys, time\n"
        "hold = os.environ.get('MARKER')\n"
        "def stop(signum, frame):\n"
        "    open('first.txt', 'w').write('partial')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGINT, stop)\n"
        "if hold:\n"
        "    open(hold, 'w').write('started')\n"
        "    deadline = time.time() + 60\n"
        "    while time.time() < deadline:\n"
        "        time.sleep(0.05)\n"
        "open('first.txt', 'w').write('complete')\n"
    ),
    "second.py": "open('second.txt', 'w').write(open('first.txt').read())\n",
}


@pytest.fixture
def trapping_project(tmp_repo: Path) -> Path:
    """A committed two-stage pipeline whose first stage traps SIGINT; run once, locked."""
    gen(tmp_repo, TRAPPING)
    dvc(tmp_repo, "repro", "-q")
    commit_all(tmp_repo, "trapping pipeline")
    return tmp_repo


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups")
@pytest.mark.parametrize("target", ["pid", "group"])
def test_ctrl_c_caught_by_stage_stops_the_run_unlocked(
    trapping_project: Path, tmp_path: Path, target: str
) -> None:
    """SIGINT (ratchet's pid or its group) to a stage that exits 0: 130, nothing locked after."""
    root = trapping_project
    before = lock_stages(root)["first"]
    gen(root, {"first.py": TRAPPING["first.py"] + "# v2\n"})
    (root / "second.txt").unlink()
    marker = tmp_path / "started"
    proc = subprocess.Popen(
        [RATCHET, "repro"],
        cwd=root,
        env={**os.environ, "MARKER": str(marker)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert _wait_for(lambda: marker.exists() or proc.poll() is not None, TIMEOUT)
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
        if target == "pid":
            os.kill(proc.pid, signal.SIGINT)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        _out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err
    assert (root / "first.txt").read_text() == "partial"
    assert lock_stages(root)["first"] == before
    assert not (root / "second.txt").exists()
