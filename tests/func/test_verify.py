"""`ratchet verify` on real git+dvc repos: re-run a commit in a sandbox, compare with dvc.lock."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from helpers import commit_all, dvc, gen, git, run, snapshot
from mlratchet import notes
from mlratchet.errors import BadInputError
from mlratchet.reproduce import verify
from mlratchet.reproduce.sandbox import PREFIX

RATCHET = str(Path(sys.executable).with_name("ratchet"))

DETERMINISTIC = {
    "params.yaml": "n: 3\n",
    "make.py": "import yaml\nn = yaml.safe_load(open('params.yaml'))['n']\n"
    "open('out.txt', 'w').write('x' * n)\n",
    "dvc.yaml": (
        "stages:\n"
        "  make:\n"
        "    cmd: python make.py\n"
        "    deps: [make.py]\n"
        "    params: [n]\n"
        "    outs: [out.txt]\n"
        "  tree:\n"
        "    cmd: python -c \"import os; os.makedirs('d/sub', exist_ok=True); "
        "open('d/a.txt','w').write(open('out.txt').read()); open('d/sub/b.txt','w').write('b')\"\n"
        "    deps: [out.txt]\n"
        "    outs: [d]\n"
        "  report:\n"
        "    cmd: python -c \"open('report.json','w').write('{}')\"\n"
        "    deps: [d]\n"
        "    metrics:\n"
        "      - report.json:\n"
        "          cache: false\n"
    ),
}

CLOCK_STAGE = (
    "  clock:\n"
    '    cmd: python -c "import time, random; '
    "open('clock.txt','w').write(str(time.time()) + str(random.random()))\"\n"
    "    deps: [out.txt]\n"
    "    outs: [clock.txt]\n"
)


def commit_run(root: Path, files: dict[str, str], message: str = "pipeline") -> str:
    """Write files, reproduce with DVC, commit everything; return the commit."""
    gen(root, files)
    dvc(root, "repro", "-q")
    return commit_all(root, message)


def ratchet(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed `ratchet` console script."""
    return run([RATCHET, *args], cwd, check=False)


def sandboxes() -> set[str]:
    """Names of verify sandboxes in the temporary directory."""
    return {p.name for p in Path(tempfile.gettempdir()).glob(f"{PREFIX}*")}


def without_notes(snap: dict[str, str]) -> dict[str, str]:
    """A snapshot minus what storing the verdict adds: the notes ref and its objects."""
    refs = "\n".join(
        line for line in snap.get("<refs>", "").splitlines() if "refs/notes/" not in line
    )
    kept = {
        k: v
        for k, v in snap.items()
        if not k.startswith((".git/objects/", ".git/refs/notes/", ".git/logs/refs/notes/"))
    }
    return {**kept, "<refs>": refs}


@pytest.fixture
def clean(tmp_repo: Path) -> Path:
    """A committed, reproduced, deterministic three-stage pipeline (file, directory, metric)."""
    commit_run(tmp_repo, DETERMINISTIC)
    return tmp_repo


def test_deterministic_pipeline_verifies_and_touches_nothing(clean: Path) -> None:
    """Every output identical, exit 0, the verdict in the note; tree, .git and cache unchanged."""
    before = snapshot(clean)
    left = sandboxes()
    proc = ratchet(clean, "verify", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    head = git(clean, "rev-parse", "HEAD")
    assert data["ok"] is True and data["verdict"] == "reproduced" and data["rev"] == head
    assert [s["status"] for s in data["stages"]] == ["identical"] * 3
    assert {o["path"] for s in data["stages"] for o in s["outputs"]} == {
        "out.txt",
        "d",
        "report.json",
    }
    assert all(s["run"]["status"] == "ran" for s in data["stages"])
    after = snapshot(clean)
    assert without_notes(after) == without_notes(before)
    assert {k for k in after if k not in before} <= {
        k for k in after if k.startswith((".git/objects/", ".git/refs/notes/", ".git/logs/"))
    }
    assert sandboxes() <= left
    record = notes.read(clean, head)["verify"]
    lock_md5 = hashlib.md5((clean / "dvc.lock").read_bytes(), usedforsecurity=False).hexdigest()
    assert record["ok"] is True and record["rev"] == head and record["lock_md5"] == lock_md5


def test_unchanged_stages_are_proven_by_the_earlier_verify(clean: Path) -> None:
    """A commit changing only the last stage's command re-runs that stage alone; the others are
    proven by the first commit's verify (named in the report); --full re-runs them all."""
    first = verify(clean)
    assert first.ok and first.proven == () and set(first.proofs) == {"make", "tree", "report"}
    yaml = (clean / "dvc.yaml").read_text().replace("write('{}')", "write('{ }')")
    head = commit_run(clean, {"dvc.yaml": yaml}, "report changed")
    report = verify(clean)
    assert report.ok and report.sha == head
    runs = {check.stage: check for check in report.stages}
    assert runs["report"].run is not None and runs["report"].proven_by is None
    for name in ("make", "tree"):
        assert runs[name].run is None and runs[name].proven_by is not None
        assert runs[name].proven_by.rev == first.sha
        assert runs[name].proven_by.verified_at == first.verified_at
    full = verify(clean, full=True)
    assert full.ok and full.proven == () and all(c.run is not None for c in full.stages)


def test_nondeterministic_stage_is_caught_and_named(clean: Path) -> None:
    """A stage writing the time and a random number: exit 1, the stage and output named."""
    yaml = (clean / "dvc.yaml").read_text() + CLOCK_STAGE
    head = commit_run(clean, {"dvc.yaml": yaml}, "clock")
    before = snapshot(clean)
    proc = ratchet(clean, "verify")
    assert proc.returncode == 1, proc.stderr
    assert "stage 'clock' is not reproducible: clock.txt" in proc.stderr
    recorded = json.loads(ratchet(clean, "verify", "--json").stdout)
    clock = next(s for s in recorded["stages"] if s["stage"] == "clock")
    (out,) = clock["outputs"]
    assert clock["status"] == "differs" and out["status"] == "differs"
    assert out["expected"] != out["actual"] and len(out["actual"]) == 32
    assert {s["stage"] for s in recorded["stages"] if s["status"] == "identical"} == {
        "make",
        "tree",
        "report",
    }
    assert notes.read(clean, head)["verify"]["ok"] is False
    assert without_notes(snapshot(clean)) == without_notes(before)


def test_edited_output_hash_of_a_leaf_stage_is_caught_before_running(clean: Path) -> None:
    """A hand-edited hash of a git-tracked leaf output no longer matches the committed file:
    exit 3 before anything runs, naming the file and both hashes."""
    lock = (clean / "dvc.lock").read_text()
    entry = json.loads(ratchet(clean, "verify", "--json").stdout)["stages"][2]["outputs"][0]
    forged = "f" * 32
    gen(clean, {"dvc.lock": lock.replace(entry["expected"], forged)})
    commit_all(clean, "forged metric hash")
    proc = ratchet(clean, "verify")
    assert proc.returncode == 3, proc.stderr
    assert entry["path"] in proc.stderr and forged in proc.stderr
    assert entry["expected"] in proc.stderr
    assert "running" not in proc.stderr


def test_forged_committed_output_is_not_reproduced_ok(clean: Path) -> None:
    """A committed output edited by hand (the lock untouched) is exit 3: the re-run would
    rewrite the file and match dvc.lock, so verify checks the committed bytes first."""
    entry = json.loads(ratchet(clean, "verify", "--json").stdout)["stages"][2]["outputs"][0]
    path = clean / entry["path"]
    path.write_bytes(path.read_bytes() + b" ")
    commit_all(clean, "a better number, by hand")
    data = json.loads(ratchet(clean, "verify", "--json").stdout)
    assert data["ok"] is False and data["verdict"] == "stale"
    assert any(entry["path"] in line and "edited after" in line for line in data["stale"])
    assert ratchet(clean, "verify").returncode == 3


def test_edited_hash_of_a_consumed_output_is_a_stale_lock(clean: Path) -> None:
    """An output hash edited where its consumer still records the old one: exit 3, nothing run."""
    lock = (clean / "dvc.lock").read_text()
    from mlratchet.yamlio import parse_yaml

    md5 = parse_yaml(lock, "dvc.lock")["stages"]["make"]["outs"][0]["md5"]
    first = lock.index(f"md5: {md5}", lock.index("make:"))
    edited = lock[:first] + "md5: " + "f" * 32 + lock[first + len(f"md5: {md5}") :]
    assert edited.count(md5) == 1  # the consumer (tree) still records the real hash
    gen(clean, {"dvc.lock": edited})
    commit_all(clean, "forged output hash")
    proc = ratchet(clean, "verify")
    assert proc.returncode == 3, proc.stderr
    assert "stale" in proc.stderr
    assert "'tree'" in proc.stderr and "out.txt" in proc.stderr and "f" * 32 in proc.stderr
    assert "running" not in proc.stderr  # detected before running anything


def test_edited_dependency_hash_is_a_stale_lock(clean: Path) -> None:
    """A lock whose recorded hash of a committed file is wrong is stale: exit 3, names both."""
    from mlratchet.fsio import md5_file

    real = md5_file(clean / "make.py")
    lock = (clean / "dvc.lock").read_text()
    gen(clean, {"dvc.lock": lock.replace(real, "a" * 32)})
    commit_all(clean, "forged dep hash")
    report = verify(clean)
    assert report.verdict == "stale" and not report.ok
    assert any("make.py" in p and "a" * 32 in p and real in p for p in report.stale)
    assert report.stages == ()


def test_hash_that_is_not_a_hash_is_a_stale_lock(clean: Path) -> None:
    """An md5 edited into a number (YAML reads 111...1 as an int) is reported, not a crash."""
    from mlratchet.fsio import md5_file

    lock = (clean / "dvc.lock").read_text()
    gen(clean, {"dvc.lock": lock.replace(md5_file(clean / "make.py"), "1" * 32)})
    commit_all(clean, "forged dep hash")
    proc = ratchet(clean, "verify")
    assert proc.returncode == 3, proc.stderr
    assert "make.py with md5 " in proc.stderr and "not an md5 hash" in proc.stderr


def test_params_changed_without_rerun_is_a_stale_lock(clean: Path) -> None:
    """A commit that changed params.yaml but not dvc.lock: exit 3 naming the param."""
    gen(clean, {"params.yaml": "n: 4\n"})
    commit_all(clean, "params only")
    proc = ratchet(clean, "verify", "--json")
    assert proc.returncode == 3
    data = json.loads(proc.stdout)
    assert data["verdict"] == "stale" and data["ok"] is False
    assert any("params.yaml:n is modified" in p for p in data["stale"])


def test_unknown_revision_and_missing_lock_are_bad_input(clean: Path) -> None:
    """An unknown revision, or one without dvc.lock: exit 2, naming it."""
    proc = ratchet(clean, "verify", "--rev", "no-such-branch")
    assert proc.returncode == 2
    assert "unknown revision 'no-such-branch'" in proc.stderr
    proc = ratchet(clean, "verify", "--rev", "HEAD~1")
    assert proc.returncode == 2
    assert "dvc.lock does not exist at HEAD~1" in proc.stderr


def test_older_revision_is_verified_not_the_work_tree(clean: Path) -> None:
    """--rev verifies that commit's code and lock, whatever the work tree and HEAD hold now."""
    first = git(clean, "rev-parse", "HEAD")
    commit_run(clean, {"params.yaml": "n: 5\n"}, "n=5")
    gen(clean, {"make.py": "open('out.txt', 'w').write('dirty work tree')\n"})
    report = verify(clean, first)
    assert report.ok and report.sha == first
    assert notes.read(clean, first)["verify"]["rev"] == first


def test_failing_stage_is_missing_with_its_stderr(clean: Path) -> None:
    """A stage that fails in the sandbox: its outputs are missing, exit 1, its stderr shown."""
    yaml = (clean / "dvc.yaml").read_text() + (
        "  flaky:\n    cmd: python flaky.py\n    deps: [flaky.py]\n    outs: [flaky.txt]\n"
    )
    flaky = (
        "import os, sys\n"
        "if os.environ.get('VERIFY_BREAK'):\n"
        "    sys.exit('flaky: the network is down')\n"
        "open('flaky.txt', 'w').write('ok')\n"
    )
    commit_run(clean, {"dvc.yaml": yaml, "flaky.py": flaky}, "flaky")
    proc = run([RATCHET, "verify"], clean, env={**os.environ, "VERIFY_BREAK": "1"}, check=False)
    assert proc.returncode == 1
    assert "stage 'flaky': flaky.txt is missing" in proc.stderr
    assert "the network is down" in proc.stderr


def test_keep_leaves_the_sandbox_and_says_where(clean: Path) -> None:
    """--keep keeps the temporary checkout (with the re-made outputs) and prints its path."""
    proc = ratchet(clean, "verify", "--keep", "--json")
    assert proc.returncode == 0, proc.stderr
    workdir = Path(json.loads(proc.stdout)["workdir"])
    try:
        assert workdir.name.startswith(PREFIX)
        assert (workdir / "repo" / "out.txt").read_text() == "xxx"
        assert str(workdir) in proc.stderr
    finally:
        import shutil

        shutil.rmtree(workdir)


def test_sandbox_is_removed_after_ctrl_c(clean: Path, tmp_path: Path) -> None:
    """Ctrl-C during the run: exit 130, no sandbox left, the stage process gone."""
    hold = tmp_path / "hold"
    pid_file = tmp_path / "pid"
    slow = (
        "import os, time\n"
        "open(os.environ['PID_FILE'], 'w').write(str(os.getpid()))\n"
        "while os.path.exists(os.environ['HOLD_FILE']):\n"
        "    time.sleep(0.05)\n"
        "open('slow.txt', 'w').write('s')\n"
    )
    yaml = (clean / "dvc.yaml").read_text() + (
        "  slow:\n    cmd: python slow.py\n    deps: [slow.py]\n    outs: [slow.txt]\n"
    )
    env = {**os.environ, "HOLD_FILE": str(hold), "PID_FILE": str(pid_file)}
    gen(clean, {"dvc.yaml": yaml, "slow.py": slow})
    run([sys.executable, "-m", "dvc", "repro", "-q"], clean, env=env)
    commit_all(clean, "slow")
    pid_file.unlink()
    left = sandboxes()
    before = snapshot(clean)
    hold.touch()
    proc = subprocess.Popen(
        [RATCHET, "verify"],
        cwd=clean,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not pid_file.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert sandboxes() <= left
    assert snapshot(clean) == before  # interrupted: no verdict stored either
    stage = int(pid_file.read_text())
    assert not Path(f"/proc/{stage}").exists() or "Z" in Path(f"/proc/{stage}/stat").read_text()


DATA_PIPELINE = {
    "count.py": "import json\nlines = open('data/raw.csv').read().splitlines()\n"
    "json.dump({'rows': len(lines)}, open('count.json', 'w'))\n",
    "dvc.yaml": (
        "stages:\n"
        "  count:\n"
        "    cmd: python count.py\n"
        "    deps: [count.py, data/raw.csv]\n"
        "    outs: [count.json]\n"
    ),
}


@pytest.fixture
def data_repo(tmp_repo: Path, tmp_path: Path) -> Path:
    """A pipeline over a `dvc add`-ed input, pushed to a local remote, committed."""
    remote = tmp_path / "remote"
    gen(tmp_repo, {"data/raw.csv": "a,b\n1,2\n3,4\n", **DATA_PIPELINE})
    dvc(tmp_repo, "add", "-q", "data/raw.csv")
    dvc(tmp_repo, "remote", "add", "-d", "store", str(remote))
    dvc(tmp_repo, "repro", "-q")
    dvc(tmp_repo, "push", "-q")
    commit_all(tmp_repo, "data pipeline")
    return tmp_repo


def test_tracked_input_comes_from_the_users_cache_read_only(data_repo: Path) -> None:
    """A `dvc add`-ed input is taken from the user's cache, which stays byte-identical."""
    before = snapshot(data_repo)
    report = verify(data_repo)
    assert report.ok, report
    assert without_notes(snapshot(data_repo)) == without_notes(before)


def test_tracked_input_comes_from_the_remote_when_not_cached(data_repo: Path) -> None:
    """With the user's cache empty, the input is pulled from the DVC remote."""
    import shutil

    shutil.rmtree(data_repo / ".dvc" / "cache")
    (data_repo / "data" / "raw.csv").unlink()
    proc = ratchet(data_repo, "verify", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["ok"] is True  # DVC's pull messages stay off stdout
    assert not (data_repo / ".dvc" / "cache").exists()


def test_unavailable_input_is_bad_input(data_repo: Path, tmp_path: Path) -> None:
    """An input in neither the cache nor the remote: exit 2 saying how to get it."""
    import shutil

    shutil.rmtree(data_repo / ".dvc" / "cache")
    shutil.rmtree(tmp_path / "remote")
    (tmp_path / "remote").mkdir()  # the remote answers, but does not hold the input
    with pytest.raises(BadInputError, match=r"data/raw\.csv.*dvc pull"):
        verify(data_repo)


def test_unreachable_remote_is_named(data_repo: Path, tmp_path: Path) -> None:
    """An input not cached, with the remote's directory gone: exit 2 saying that the remote
    (name and URL) could not be reached, not that the input is missing from it."""
    import shutil

    shutil.rmtree(data_repo / ".dvc" / "cache")
    shutil.rmtree(tmp_path / "remote")
    with pytest.raises(BadInputError, match=r"data/raw\.csv.*remote 'store'.*could not be reached"):
        verify(data_repo)


def test_corrupted_input_in_the_users_cache_is_never_used(data_repo: Path, tmp_path: Path) -> None:
    """A flipped byte in the cached input: the remote's good copy is used, or verify stops."""
    import shutil

    from mlratchet.dvclock import Entry, cache_path
    from mlratchet.yamlio import load_yaml

    out = load_yaml(data_repo / "data" / "raw.csv.dvc")["outs"][0]
    cached = cache_path(data_repo, Entry("data/raw.csv", out["md5"], None, None, "md5"))
    cached.chmod(0o644)
    cached.write_text("a,b\n1,2\n3,5\n")  # same size, one byte flipped
    assert verify(data_repo).ok  # re-hashed on fetch, rejected, taken from the remote
    shutil.rmtree(tmp_path / "remote")
    with pytest.raises(BadInputError, match=r"data/raw\.csv"):
        verify(data_repo)


def test_stages_import_the_commits_code(tmp_repo: Path) -> None:
    """A stage importing the repo's own package runs the commit's copy, not the work tree's."""
    files = {
        "src/mylib/__init__.py": "VALUE = 'committed'\n",
        "stage.py": "import mylib\nopen('value.txt', 'w').write(mylib.VALUE)\n",
        "dvc.yaml": (
            "stages:\n"
            "  use:\n"
            "    cmd: python stage.py\n"
            "    deps: [stage.py, src/mylib/__init__.py]\n"
            "    outs: [value.txt]\n"
        ),
    }
    env = {**os.environ, "PYTHONPATH": str(tmp_repo / "src")}
    gen(tmp_repo, files)
    dvc(tmp_repo, "repro", "-q", env=env)
    commit_all(tmp_repo, "lib")
    gen(tmp_repo, {"src/mylib/__init__.py": "VALUE = 'uncommitted edit'\n"})
    proc = run([RATCHET, "verify"], tmp_repo, env=env, check=False)
    assert proc.returncode == 0, proc.stderr


def test_jobs_runs_independent_stages_at_the_same_time(tmp_repo: Path, tmp_path: Path) -> None:
    """--jobs 2 on two independent stages: their commands overlap in time, outputs identical."""
    log = tmp_path / "spans"
    stage = (
        "import os, sys, time\n"
        "name = sys.argv[1]\n"
        "start = time.time()\n"
        "time.sleep(1.5)\n"
        "with open(os.environ['SPAN_LOG'], 'a') as fh:\n"
        "    fh.write(f'{name} {start} {time.time()}\\n')\n"
        "open(name + '.txt', 'w').write(name)\n"
    )
    yaml = "stages:\n" + "".join(
        f"  {n}:\n    cmd: python stage.py {n}\n    deps: [stage.py]\n    outs: [{n}.txt]\n"
        for n in ("left", "right")
    )
    yaml += (
        "  join:\n    cmd: python -c \"open('join.txt','w').write(open('left.txt').read()"
        "+open('right.txt').read())\"\n    deps: [left.txt, right.txt]\n    outs: [join.txt]\n"
    )
    env = {**os.environ, "SPAN_LOG": str(log)}
    gen(tmp_repo, {"stage.py": stage, "dvc.yaml": yaml})
    run([sys.executable, "-m", "dvc", "repro", "-q"], tmp_repo, env=env)
    commit_all(tmp_repo, "diamond")
    log.unlink()
    proc = run([RATCHET, "verify", "--jobs", "2", "--json"], tmp_repo, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert [s["status"] for s in json.loads(proc.stdout)["stages"]] == ["identical"] * 3
    spans = {}
    for line in log.read_text().splitlines():
        name, start, end = line.split()
        spans[name] = (float(start), float(end))
    (a_start, a_end), (b_start, b_end) = spans["left"], spans["right"]
    assert a_start < b_end and b_start < a_end, spans


def test_jobs_runs_only_unproven_stages_and_proves_a_downstream_with_same_inputs(
    tmp_repo: Path,
) -> None:
    """--jobs 2 after a refactor of two parallel stages' script (same outputs): base is proven,
    left and right re-run as their own DVC processes, and join, whose inputs are byte-identical,
    is proven by the first verify."""
    stage = "import sys\nname = sys.argv[1]\nopen(name + '.txt', 'w').write(name)\n"
    yaml = "stages:\n  base:\n    cmd: python -c \"open('base.txt','w').write('b')\"\n"
    yaml += "    outs: [base.txt]\n"
    yaml += "".join(
        f"  {n}:\n    cmd: python stage.py {n}\n    deps: [stage.py, base.txt]\n"
        f"    outs: [{n}.txt]\n"
        for n in ("left", "right")
    )
    yaml += (
        "  join:\n    cmd: python -c \"open('join.txt','w').write(open('left.txt').read()"
        "+open('right.txt').read())\"\n    deps: [left.txt, right.txt]\n    outs: [join.txt]\n"
    )
    first_sha = commit_run(tmp_repo, {"stage.py": stage, "dvc.yaml": yaml}, "diamond")
    first = verify(tmp_repo, jobs=2)
    assert first.ok and first.proven == ()
    commit_run(tmp_repo, {"stage.py": "# refactored\n" + stage}, "refactor")
    report = verify(tmp_repo, jobs=2)
    assert report.ok, report
    by_name = {check.stage: check for check in report.stages}
    assert {n for n, c in by_name.items() if c.proven_by is not None} == {"base", "join"}
    assert by_name["join"].proven_by is not None and by_name["join"].proven_by.rev == first_sha
    assert all(
        by_name[n].run is not None and by_name[n].run.status == "ran" for n in ("left", "right")
    )


def test_abandoned_sandbox_is_swept(clean: Path) -> None:
    """A sandbox left by a killed ratchet (dead owner pid) is removed by the next verify."""
    stale = Path(tempfile.mkdtemp(prefix=PREFIX))
    (stale / "ratchet-owner.json").write_text(json.dumps({"pid": 2**22 + 7, "started": 1.0}))
    assert verify(clean).ok
    assert not stale.exists()


def test_unwritable_note_is_a_warning_not_a_different_verdict(clean: Path) -> None:
    """Without a git identity the verdict stands (exit 0) and a warning says it was not stored."""
    env = {**os.environ, "GIT_COMMITTER_NAME": "", "GIT_AUTHOR_NAME": ""}
    proc = run([RATCHET, "verify"], clean, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "verdict was not stored" in proc.stderr
    assert notes.read(clean, git(clean, "rev-parse", "HEAD")) == {}
