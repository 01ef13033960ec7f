"""``ratchet exp run --scheduler``: a sweep on a real Dask cluster (scheduler and worker
processes on loopback), against a bare git remote and the project's local DVC remote.

The cluster's experiments are the same refs and the same bytes as a local run of the same
points (same names, same commit trees, so the same params, ``dvc.lock`` and metrics), their
outputs are on the DVC remote, they verify, and failures and refusals are as for a local sweep.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import second_project as sp
from daskcluster import cluster
from expfixture import SLOW_STAGE
from helpers import commit_all, dvc, gen, git
from second_project import Project, ratchet

pytestmark = pytest.mark.slow

POINTS = ("-S", "train.n_estimators=5,9", "-S", "train.max_depth=3")


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Iterator[str]:
    with cluster(tmp_path_factory.mktemp("dask"), workers=2) as address:
        yield address


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Project:
    project = sp.build(tmp_path_factory.mktemp("exp-cluster") / "repo", sp.CLASSIFIER)
    sp.reproduce(project)
    return project


def with_git_remote(project: Project, dest: Path) -> Project:
    """A copy of ``project`` whose ``origin`` is a bare repository holding its main branch."""
    copy = sp.copy(project, dest)
    bare = dest / "origin.git"
    git(dest, "init", "-q", "--bare", str(bare))
    git(copy.git_root, "remote", "add", "origin", str(bare))
    git(copy.git_root, "push", "-q", "origin", "HEAD:refs/heads/main")
    return copy


def trees(root: Path) -> dict[str, str]:
    """experiment name -> the tree of its commit."""
    out = git(root, "for-each-ref", "--format=%(refname) %(objectname)", "refs/exps")
    found = {}
    for line in out.splitlines():
        ref, sha = line.split()
        found[ref.rsplit("/", 1)[1]] = git(root, "rev-parse", f"{sha}^{{tree}}")
    return found


def test_cluster_sweep_equals_a_local_one(built: Project, scheduler: str, tmp_path: Path) -> None:
    """Two workers run the sweep; the refs and trees equal a local run's; the outputs are on
    the DVC remote; an experiment from the cluster verifies."""
    remote_side = with_git_remote(built, tmp_path / "a")
    local_side = sp.copy(built, tmp_path / "b")
    proc = ratchet(remote_side.dvc_root, "exp", "run", *POINTS, "--scheduler", scheduler, "--json")
    report = json.loads(proc.stdout)
    assert report["counts"] == {"success": 2}, proc.stderr
    assert "[2/2]" in proc.stderr
    ratchet(local_side.dvc_root, "exp", "run", *POINTS, "-j", "2")
    cluster_trees = trees(remote_side.git_root)
    assert cluster_trees == trees(local_side.git_root)
    assert len(set(cluster_trees.values())) == 2
    # the refs are on the git remote too, as `dvc exp push` would leave them
    bare = tmp_path / "a" / "origin.git"
    assert set(trees(bare)) == set(cluster_trees)
    # the compute record is on the experiment commit, as for a local run
    exp = report["experiments"][0]
    note = git(remote_side.git_root, "notes", "--ref", "refs/notes/mlratchet", "show", exp["rev"])
    assert '"key":"repro"' in note and '"train"' in note
    # the outputs were pushed: a teammate's fresh clone of the git remote pulls the model
    teammate = tmp_path / "teammate"
    git(tmp_path, "clone", "-q", str(bare), str(teammate))
    git(teammate, "checkout", "-q", exp["rev"])
    dvc(teammate, "remote", "modify", "--local", "local", "url", str(remote_side.remote))
    dvc(teammate, "pull", "-q", "models/model.skops")
    lock = git(teammate, "show", f"{exp['rev']}:dvc.lock")
    model_md5 = hashlib.md5(
        (teammate / "models/model.skops").read_bytes(), usedforsecurity=False
    ).hexdigest()
    assert model_md5 in lock
    verified = ratchet(remote_side.dvc_root, "verify", "--rev", exp["name"], "--json")
    assert json.loads(verified.stdout)["ok"] is True
    # the same sweep again: every point is reused, nothing is submitted
    again = ratchet(remote_side.dvc_root, "exp", "run", *POINTS, "--scheduler", scheduler)
    assert again.stderr.count("reused") == 2


def test_cluster_failure_is_recorded_and_the_sweep_goes_on(
    built: Project, scheduler: str, tmp_path: Path
) -> None:
    """A point whose stage fails on a worker: no ref here or on the remote, its error in the
    baseline's note, the other point lands, exit 1."""
    project = with_git_remote(built, tmp_path)
    proc = ratchet(
        project.dvc_root,
        "exp",
        "run",
        "-S",
        "train.max_depth=-5,4",
        "--scheduler",
        scheduler,
        "--json",
        expect=1,
    )
    by_status = {e["status"]: e for e in json.loads(proc.stdout)["experiments"]}
    assert set(by_status) == {"failed", "success"}
    assert "train" in by_status["failed"]["error"]
    assert set(trees(project.git_root)) == {by_status["success"]["name"]}
    assert set(trees(tmp_path / "origin.git")) == {by_status["success"]["name"]}
    head = git(project.git_root, "rev-parse", "HEAD")
    note = git(project.git_root, "notes", "--ref", "refs/notes/mlratchet", "show", head)
    assert by_status["failed"]["name"] in note


def test_cluster_refuses_what_workers_cannot_reach(
    built: Project, scheduler: str, tmp_path: Path
) -> None:
    """No git remote, a HEAD not pushed, an unknown DVC remote, no scheduler: exit 2, named."""
    bare_less = sp.copy(built, tmp_path / "a")
    args = ("exp", "run", "-S", "train.n_estimators=6")
    proc = ratchet(bare_less.dvc_root, *args, "--scheduler", scheduler, expect=2)
    assert "no git remote 'origin'" in proc.stderr
    project = with_git_remote(built, tmp_path / "b")
    git(project.git_root, "commit", "-q", "--allow-empty", "-m", "not pushed")
    proc = ratchet(project.dvc_root, *args, "--scheduler", scheduler, expect=2)
    assert "is not on git remote 'origin'" in proc.stderr and "git push origin HEAD" in proc.stderr
    git(project.git_root, "push", "-q", "origin", "HEAD:refs/heads/main")
    proc = ratchet(
        project.dvc_root, *args, "--scheduler", scheduler, "--dvc-remote", "nope", expect=2
    )
    assert "no DVC remote 'nope'" in proc.stderr
    proc = ratchet(project.dvc_root, *args, "--scheduler", "tcp://127.0.0.1:9", expect=2)
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in proc.stderr
    assert not trees(project.git_root)


def test_cluster_ctrl_c_stops_cleanly(tmp_repo: Path, scheduler: str, tmp_path: Path) -> None:
    """SIGINT to a cluster sweep: exit 130; no ref here or on the git remote, no note."""
    gen(tmp_repo, SLOW_STAGE)
    dvc(tmp_repo, "remote", "add", "-d", "store", str(tmp_path / "store"))
    dvc(tmp_repo, "repro", "-q")
    commit_all(tmp_repo, "a slow stage")
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(tmp_repo, "remote", "add", "origin", str(bare))
    git(tmp_repo, "push", "-q", "origin", "HEAD:refs/heads/main")
    before = set(Path(tempfile.gettempdir()).glob("ratchet-exp-*"))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlratchet",
            "exp",
            "run",
            "-S",
            "train.seconds=60,61,62",
            "--scheduler",
            scheduler,
        ],
        cwd=tmp_repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(set(Path(tempfile.gettempdir()).glob("ratchet-exp-*")) - before) < 2:
        assert time.monotonic() < deadline, "the workers never started the experiments"
        time.sleep(0.2)
    time.sleep(3)  # both workers are in the pipeline; the third point waits
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err
    assert not trees(tmp_repo) and not trees(bare)
    head = git(tmp_repo, "rev-parse", "HEAD")
    assert git(tmp_repo, "notes", "--ref", "refs/notes/mlratchet", "list", head, check=False) == ""
    assert git(tmp_repo, "status", "--porcelain") == ""
    assert set(Path(tempfile.gettempdir()).glob("ratchet-exp-*")) <= before  # workspaces gone
