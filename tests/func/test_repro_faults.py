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


# -- 2. shell injection through ${param} --------------------------------------------------------

INJECTED = {
    "params.yaml": 'name: "a; touch PWNED"\nn: 3\n',
    "s.py": "import sys\nopen('out.txt', 'w').write(repr(sys.argv[1:]))\n",
    "dvc.yaml": (
        "stages:\n"
        "  greet:\n"
        "    cmd: python s.py ${name} ${n}\n"
        "    deps: [s.py]\n"
        "    outs: [out.txt]\n"
    ),
}


@pytest.fixture
def injected(tmp_repo: Path) -> Path:
    """A committed pipeline whose cmd interpolates a param holding `; touch PWNED`."""
    gen(tmp_repo, INJECTED)
    commit_all(tmp_repo, "injectable pipeline")
    return tmp_repo


def test_repro_refuses_a_param_the_shell_would_run(injected: Path) -> None:
    """An unquoted ${param} holding `;` is refused with exit 5, naming stage, key, char."""
    proc = ratchet(injected, "repro")
    assert proc.returncode == 5, proc.stderr
    assert "greet" in proc.stderr and "${name}" in proc.stderr and "';'" in proc.stderr
    assert not (injected / "PWNED").exists()
    assert not (injected / "out.txt").exists()


def test_repro_runs_a_single_quoted_param(injected: Path) -> None:
    """The same value, single-quoted in the cmd, is one plain argument: the stage runs."""
    gen(injected, {"dvc.yaml": INJECTED["dvc.yaml"].replace("${name}", "'${name}'")})
    proc = ratchet(injected, "repro")
    assert proc.returncode == 0, proc.stderr
    assert not (injected / "PWNED").exists()
    assert (injected / "out.txt").read_text() == repr(["a; touch PWNED", "3"])


@pytest.mark.parametrize("value", ["$(touch PWNED)", "`touch PWNED`", "a|b", "a&b", "a\\nb"])
def test_other_metacharacters_are_refused(injected: Path, value: str) -> None:
    """Command substitution, pipes, background and newlines in an unquoted ${param}: exit 5."""
    gen(injected, {"params.yaml": f'name: "{value}"\nn: 3\n'})
    proc = ratchet(injected, "repro")
    assert proc.returncode == 5, proc.stderr
    assert not (injected / "PWNED").exists()


def test_verify_refuses_a_param_the_shell_would_run(injected: Path) -> None:
    """`ratchet verify` of a commit whose cmd would run a param's `;`: exit 5, nothing run."""
    gen(injected, {"params.yaml": "name: plain\nn: 3\n"})
    dvc(injected, "repro", "-q")
    gen(injected, {"params.yaml": INJECTED["params.yaml"]})
    dvc(injected, "commit", "-f", "-q")
    commit_all(injected, "lock with the injected value")
    proc = ratchet(injected, "verify")
    assert proc.returncode == 5, proc.stderr
    assert "greet" in proc.stderr and "${name}" in proc.stderr
    assert not (injected / "PWNED").exists()


# -- 3. params keys missing from params.yaml ----------------------------------------------------


def test_missing_listed_param_is_bad_input_before_anything_runs(tmp_repo: Path) -> None:
    """A `params:` key absent from params.yaml: exit 2 naming file, key, stage; outputs kept."""
    gen(
        tmp_repo,
        {
            "params.yaml": "n: 3\n",
            "s.py": "open('out.txt', 'w').write('new')\n",
            "dvc.yaml": (
                "stages:\n"
                "  make:\n"
                "    cmd: python s.py\n"
                "    deps: [s.py]\n"
                "    params: [n]\n"
                "    outs: [out.txt]\n"
            ),
        },
    )
    dvc(tmp_repo, "repro", "-q")
    commit_all(tmp_repo, "pipeline")
    gen(tmp_repo, {"params.yaml": "m: 3\n", "s.py": "open('out.txt', 'w').write('v2')\n"})
    (tmp_repo / "out.txt").chmod(0o644)
    (tmp_repo / "out.txt").write_text("old")
    proc = ratchet(tmp_repo, "repro")
    assert proc.returncode == 2, proc.stderr
    assert "params.yaml" in proc.stderr and "'n'" in proc.stderr and "make" in proc.stderr
    assert (tmp_repo / "out.txt").read_text() == "old"


def test_missing_interpolated_param_is_bad_input(injected: Path) -> None:
    """A `${key}` in no params file: exit 2 naming params.yaml, the key and the stage."""
    gen(injected, {"params.yaml": "n: 3\n"})
    proc = ratchet(injected, "repro")
    assert proc.returncode == 2, proc.stderr
    assert "params.yaml" in proc.stderr and "'name'" in proc.stderr and "greet" in proc.stderr


# -- 4. busy and corrupt DVC locks ------------------------------------------------------------

ONE_STAGE = {
    "s.py": "open('out.txt', 'w').write('made')\n",
    "dvc.yaml": "stages:\n  make:\n    cmd: python s.py\n    deps: [s.py]\n    outs: [out.txt]\n",
}


@pytest.fixture
def one_stage(tmp_repo: Path) -> Path:
    """A committed one-stage pipeline that has never run."""
    gen(tmp_repo, ONE_STAGE)
    commit_all(tmp_repo, "one stage")
    return tmp_repo


def test_output_locked_by_another_process_is_a_conflict(one_stage: Path) -> None:
    """An output write-locked in .dvc/tmp/rwlock by a live process: exit 4 naming the lock."""
    import json

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = {
            "read": {},
            "write": {str(one_stage / "out.txt"): {"pid": holder.pid, "cmd": "dvc repro"}},
        }
        (one_stage / ".dvc" / "tmp" / "rwlock").write_text(json.dumps(lock))
        proc = ratchet(one_stage, "repro")
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 4, proc.stderr
    assert ".dvc/tmp/rwlock" in proc.stderr and "another dvc or ratchet" in proc.stderr
    assert not (one_stage / "out.txt").exists()


def test_repository_lock_held_is_a_conflict(one_stage: Path) -> None:
    """.dvc/tmp/lock held by another process: exit 4 saying another DVC process holds it."""
    script = (
        "import sys, time\n"
        "from dvc.lock import make_lock\n"
        "lock = make_lock(sys.argv[1], tmp_dir=sys.argv[2], hardlink_lock=False)\n"
        "lock.lock()\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    tmp = one_stage / ".dvc" / "tmp"
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp / "lock"), str(tmp)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        proc = ratchet(one_stage, "repro")
    finally:
        holder.kill()
        holder.communicate()
    assert proc.returncode == 4, proc.stderr
    assert ".dvc/tmp/lock" in proc.stderr


@pytest.mark.parametrize("content", ["{bad", "0"])
def test_corrupt_rwlock_is_bad_input_with_dvcs_message(one_stage: Path, content: str) -> None:
    """An unreadable .dvc/tmp/rwlock: exit 2 with DVC's reason and the file, not 'failed: 0'."""
    (one_stage / ".dvc" / "tmp" / "rwlock").write_text(content)
    proc = ratchet(one_stage, "repro")
    assert proc.returncode == 2, proc.stderr
    assert ".dvc/tmp/rwlock" in proc.stderr and "RWLock-file" in proc.stderr


# -- 5. a dvc.lock hash that is not a string ------------------------------------------------------


def test_integer_md5_in_dvc_lock_is_an_integrity_error(one_stage: Path) -> None:
    """An md5 that YAML reads as an integer: exit 3 naming dvc.lock, the stage and the field."""
    dvc(one_stage, "repro", "-q")
    lock = one_stage / "dvc.lock"
    text = lock.read_text()
    digest = text.split("md5: ")[1].split()[0]
    lock.write_text(text.replace(digest, "12345678901234567890123456789012"))
    proc = ratchet(one_stage, "repro")
    assert proc.returncode == 3, proc.stderr
    assert "dvc.lock" in proc.stderr and "'make'" in proc.stderr and "md5" in proc.stderr


def test_integer_md5_is_refused_by_the_lock_reader() -> None:
    """dvclock.parse_lock, the one reader of dvc.lock, refuses a non-string md5."""
    from mlratchet import dvclock
    from mlratchet.errors import IntegrityError

    text = "schema: '2.0'\nstages:\n  make:\n    cmd: x\n    outs:\n    - path: o\n      md5: 7\n"
    with pytest.raises(IntegrityError, match=r"dvc\.lock: stage 'make': out o: field md5"):
        dvclock.parse_lock(text)
