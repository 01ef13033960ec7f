"""`ratchet repro` on real git+dvc repos: DVC runs the stages, we measure and record them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from helpers import commit_all, dvc, gen, git, run
from mlratchet import dvclock, integrity, notes
from mlratchet.reproduce import repro
from mlratchet.reproduce.compute import PENDING_FILE

RATCHET = str(Path(sys.executable).with_name("ratchet"))

PIPELINE = {
    "params.yaml": "n: 3\nmb: 120\n",
    "dvc.yaml": (
        "stages:\n"
        "  make:\n"
        "    cmd: python make.py\n"
        "    deps: [make.py]\n"
        "    params: [n]\n"
        "    outs: [out.txt]\n"
        "  grow:\n"
        "    cmd: python grow.py\n"
        "    deps: [grow.py, out.txt]\n"
        "    params: [mb]\n"
        "    outs: [big.txt]\n"
    ),
    "make.py": (
        "import sys\n"
        "import yaml\n"
        "n = yaml.safe_load(open('params.yaml'))['n']\n"
        "print('making', n)\n"
        "print('to stderr', file=sys.stderr)\n"
        "open('out.txt', 'w').write('x' * n)\n"
    ),
    "grow.py": (
        "import yaml\n"
        "mb = yaml.safe_load(open('params.yaml'))['mb']\n"
        "block = bytearray(mb * 1024 * 1024)\n"
        "block[::4096] = b'y' * len(block[::4096])\n"
        "open('big.txt', 'w').write(open('out.txt').read() * 2)\n"
    ),
}


@pytest.fixture
def project(tmp_repo: Path) -> Path:
    """A committed two-stage pipeline that has never run."""
    gen(tmp_repo, PIPELINE)
    commit_all(tmp_repo, "pipeline")
    return tmp_repo


def ratchet(cwd: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """The installed `ratchet` console script, as a user runs it."""
    return run([RATCHET, *args], cwd, check=check)


def lock_entry(root: Path, stage: str) -> object:
    """One stage's entry of the work tree's dvc.lock, as parsed YAML."""
    from mlratchet.yamlio import load_yaml

    return load_yaml(root / "dvc.lock")["stages"][stage]


def test_runs_then_skips_with_per_stage_figures(project: Path) -> None:
    """First run: each stage ran, with command, CPU and memory figures; then all are skipped."""
    first = repro(project)
    assert [(r.stage, r.status) for r in first.stages] == [("make", "ran"), ("grow", "ran")]
    grow = first.stages[1]
    assert grow.peak_rss_mib is not None and grow.peak_rss_mib >= 120
    assert grow.cpu_s is not None and grow.cpu_s > 0
    assert grow.command_s is not None and grow.seconds >= grow.command_s
    assert first.ok and first.failed is None
    second = repro(project)
    assert [(r.stage, r.status) for r in second.stages] == [
        ("make", "skipped"),
        ("grow", "skipped"),
    ]
    assert all(r.command_s is None for r in second.stages)


def test_lock_and_outputs_are_exactly_dvcs(project: Path, tmp_path: Path) -> None:
    """ratchet repro leaves the same dvc.lock and outputs as dvc repro on a copy."""
    twin = tmp_path / "twin"
    shutil.copytree(project, twin, symlinks=True)
    repro(project)
    dvc(twin, "repro", "-q")
    for rel in ("dvc.lock", "out.txt", "big.txt", ".gitignore"):
        assert (project / rel).read_bytes() == (twin / rel).read_bytes(), rel


def test_json_on_stdout_stage_output_on_stderr(project: Path) -> None:
    """--json prints only JSON on stdout; what the stages print goes to stderr."""
    proc = ratchet(project, "repro", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [s["status"] for s in data["stages"]] == ["ran", "ran"]
    assert data["failed"] is None
    assert data["stages"][1]["peak_rss_mib"] >= 120
    assert "making 3" in proc.stderr and "to stderr" in proc.stderr
    assert "making" not in proc.stdout


def test_summary_table_and_markdown(project: Path) -> None:
    """Without --json a table names each stage and its status; --md gives a Markdown table."""
    proc = ratchet(project, "repro")
    assert proc.returncode == 0, proc.stderr
    assert "make" in proc.stdout and "ran" in proc.stdout and "MiB" in proc.stdout
    proc = ratchet(project, "repro", "--md")
    assert proc.stdout.splitlines()[0].startswith("| stage | status |")
    assert "| make | skipped |" in proc.stdout


def test_restored_from_run_cache(project: Path) -> None:
    """A stage whose exact run is in the run-cache is restored, not run."""
    repro(project)
    gen(project, {"params.yaml": "n: 4\nmb: 120\n"})
    repro(project)
    gen(project, {"params.yaml": "n: 3\nmb: 120\n"})
    report = repro(project)
    assert {r.stage: r.status for r in report.stages} == {"make": "restored", "grow": "restored"}
    assert all(r.commands == () for r in report.stages)


def test_pull_fetches_outputs_instead_of_running(project: Path, tmp_path: Path) -> None:
    """--pull: outputs missing locally but on the remote are pulled, not recomputed."""
    dvc(project, "remote", "add", "-d", "store", str(tmp_path / "remote"))
    repro(project)
    dvc(project, "push", "-q")
    shutil.rmtree(project / ".dvc" / "cache")
    for rel in ("out.txt", "big.txt"):
        (project / rel).unlink()
    report = repro(project, pull=True)
    assert {r.stage: r.status for r in report.stages} == {"make": "pulled", "grow": "pulled"}
    assert (project / "big.txt").read_text() == "xxxxxx"


def test_record_waits_for_the_commit_then_lands_on_it(project: Path) -> None:
    """A run before its commit is kept pending; after the commit, the next run stores it."""
    report = repro(project)  # dvc.lock is new: the run is not of HEAD
    assert report.stored.pending == ("grow", "make") and report.stored.note == ()
    assert (project / PENDING_FILE).is_file()
    head = commit_all(project, "run")
    assert notes.read(project, head) == {}
    noop = repro(project)
    assert noop.stored.commit == head and noop.stored.note == ("grow", "make")
    assert not (project / PENDING_FILE).exists()
    record = notes.read(project, head)["repro"]["stages"]
    assert record["grow"]["status"] == "ran"
    assert record["grow"]["peak_rss_mib"] >= 120
    env = record["make"]["env"]
    assert env["python"] == ".".join(map(str, sys.version_info[:3]))
    assert "pyyaml" in env["packages"]  # make.py imports yaml
    assert git(project, "status", "--porcelain") == ""


def test_record_of_a_run_on_a_clean_head_lands_at_once(project: Path) -> None:
    """When the run reproduces HEAD's dvc.lock entries, the record is stored on HEAD directly."""
    repro(project)
    head = commit_all(project, "run")
    report = repro(project, force=True)
    assert report.stored.commit == head
    assert set(notes.read(project, head)["repro"]["stages"]) == {"make", "grow"}


def test_records_of_separate_runs_meet_on_the_commit(project: Path) -> None:
    """Stages run in different invocations before one commit all get their record on it."""
    repro(project, ["make"])
    repro(project)  # make skipped, grow ran
    head = commit_all(project, "both")
    repro(project)
    stages = notes.read(project, head)["repro"]["stages"]
    assert stages["make"]["status"] == "ran" and stages["grow"]["status"] == "ran"


def test_failing_stage_names_stage_command_and_stderr(project: Path) -> None:
    """A failing stage: exit 1, its name, its command and the end of its stderr; lock intact."""
    repro(project)
    before = lock_entry(project, "grow")
    gen(
        project, {"grow.py": "import sys\nprint('boom: bad input', file=sys.stderr)\nsys.exit(3)\n"}
    )
    proc = ratchet(project, "repro")
    assert proc.returncode == 1
    assert "stage 'grow' failed" in proc.stderr
    assert "python grow.py" in proc.stderr
    assert "boom: bad input" in proc.stderr.split("end of its stderr")[-1]
    assert lock_entry(project, "grow") == before
    data = json.loads(ratchet(project, "repro", "--json").stdout)
    assert data["failed"]["stage"] == "grow" and "boom" in data["failed"]["stderr_tail"]


def test_bad_dvc_yaml_is_bad_input(project: Path) -> None:
    """A broken dvc.yaml stops before any stage: exit 2 with DVC's reason."""
    gen(project, {"dvc.yaml": "stages:\n  make:\n    cmd: [\n"})
    proc = ratchet(project, "repro")
    assert proc.returncode == 2
    assert "dvc.yaml" in proc.stderr


# -- interruption ------------------------------------------------------------------------------

SLOW = {
    "dvc.yaml": (
        "stages:\n"
        "  quick:\n"
        "    cmd: python quick.py\n"
        "    deps: [quick.py]\n"
        "    outs: [quick.txt]\n"
        "  slow:\n"
        "    cmd: python slow.py\n"
        "    deps: [slow.py, quick.txt]\n"
        "    outs: [slow.txt]\n"
    ),
    "quick.py": "open('quick.txt', 'w').write('v1')\n",
    "slow.py": (
        "import os, time\n"
        "hold = os.environ.get('HOLD_FILE')\n"
        "if hold:\n"
        "    open(os.environ['PID_FILE'], 'w').write(str(os.getpid()))\n"
        "    deadline = time.time() + 120\n"
        "    while os.path.exists(hold) and time.time() < deadline:\n"
        "        time.sleep(0.05)\n"
        "open('slow.txt', 'w').write(open('quick.txt').read() + '!')\n"
    ),
}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return True
    return state != "Z"


def _wait_for(predicate: object, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def slow_project(tmp_repo: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A pipeline whose second stage holds while a file exists, reproduced once and committed."""
    gen(tmp_repo, SLOW)
    dvc(tmp_repo, "repro", "-q")
    commit_all(tmp_repo, "slow pipeline")
    hold = tmp_path / "hold"
    env = {**os.environ, "HOLD_FILE": str(hold), "PID_FILE": str(tmp_path / "stage.pid")}
    return tmp_repo, env


def _start(root: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [RATCHET, "repro"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _stage_pid(env: dict[str, str], proc: subprocess.Popen[str]) -> int:
    pid_file = Path(env["PID_FILE"])
    assert _wait_for(
        lambda: (pid_file.exists() and pid_file.read_text()) or proc.poll() is not None
    )
    assert proc.poll() is None, proc.communicate()
    return int(pid_file.read_text())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups, /proc")
def test_ctrl_c_exits_130_and_keeps_the_interrupted_stage_entry(
    slow_project: tuple[Path, dict[str, str]],
) -> None:
    """Ctrl-C: exit 130, the stage process is gone, its dvc.lock entry is unchanged."""
    root, env = slow_project
    before = lock_entry(root, "slow")
    gen(root, {"quick.py": "open('quick.txt', 'w').write('v2')\n"})
    Path(env["HOLD_FILE"]).touch()
    proc = _start(root, env)
    stage = _stage_pid(env, proc)
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert _wait_for(lambda: not _alive(stage), 10)
    assert lock_entry(root, "slow") == before
    # the stage that completed before Ctrl-C keeps its new entry, consistent with its output
    quick = dvclock.outputs(dvclock.load_lock(root))["quick.txt"]
    integrity.verify_entry(root, quick)
    assert (root / "quick.txt").read_text() == "v2"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_kill_9_leaves_no_orphan_and_a_rerun_completes(
    slow_project: tuple[Path, dict[str, str]],
) -> None:
    """kill -9 of ratchet kills the running stage; the next run completes and matches dvc.lock."""
    root, env = slow_project
    shell_dirs = set(Path(tempfile.gettempdir()).glob("ratchet-shell-*"))
    gen(root, {"quick.py": "open('quick.txt', 'w').write('v3')\n"})
    Path(env["HOLD_FILE"]).touch()
    proc = _start(root, env)
    stage = _stage_pid(env, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert _wait_for(lambda: not _alive(stage), 10), "the stage outlived ratchet"
    Path(env["HOLD_FILE"]).unlink()
    rerun = run([RATCHET, "repro"], root, env=env, check=False)
    assert rerun.returncode == 0, rerun.stderr
    for entry in dvclock.outputs(dvclock.load_lock(root)).values():
        integrity.verify_entry(root, entry)
    assert json.loads(dvc(root, "status", "--json").stdout) == {}
    assert (root / "slow.txt").read_text() == "v3!"
    # the killed run's temporary files were swept by the rerun
    assert set(Path(tempfile.gettempdir()).glob("ratchet-shell-*")) <= shell_dirs


def test_not_a_dvc_project_is_bad_input(tmp_path: Path) -> None:
    """Outside a DVC project: exit 2 saying so."""
    proc = ratchet(tmp_path, "repro")
    assert proc.returncode == 2
    assert "not inside a DVC project" in proc.stderr


def test_unwritable_note_keeps_the_record_pending(project: Path) -> None:
    """Without a git identity the note cannot be written: the run succeeds, the record waits."""
    repro(project)
    commit_all(project, "run")
    env = {**os.environ, "GIT_COMMITTER_NAME": "", "GIT_AUTHOR_NAME": ""}
    proc = run([RATCHET, "repro", "--force"], project, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "could not write the git note" in proc.stderr
    assert (project / PENDING_FILE).is_file()
    head = git(project, "rev-parse", "HEAD")
    assert repro(project).stored.note == ("grow", "make")  # with an identity again
    assert notes.read(project, head)["repro"]["stages"]["make"]["status"] == "ran"
