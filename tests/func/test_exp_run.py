"""``ratchet exp run`` / ``exp branch`` on real projects: real git, real DVC, the real CLI.

Experiments land as DVC experiments (``dvc exp show`` sees them, with our params and metrics),
each with the compute record ``ratchet repro`` keeps; a failing point is recorded and the sweep
goes on; the same point twice is reused; Ctrl-C leaves nothing half-recorded; an experiment is
promoted only from a branch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import second_project as sp
from expfixture import SLOW_STAGE
from helpers import commit_all, dvc, gen, git
from second_project import Project, ratchet

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def wine_reproduced(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Project:
    project = sp.build(tmp_path_factory.mktemp("exp-wine") / "repo", sp.CLASSIFIER)
    sp.reproduce(project)
    return project


@pytest.fixture
def wine(wine_reproduced: Project, tmp_path: Path) -> Project:
    return sp.copy(wine_reproduced, tmp_path)


def exp_refs(root: Path) -> dict[str, str]:
    out = git(root, "for-each-ref", "--format=%(refname) %(objectname)", "refs/exps")
    return {line.split()[0].rsplit("/", 1)[1]: line.split()[1] for line in out.splitlines()}


def dvc_exp_show(root: Path) -> dict[str, dict]:
    """name -> DVC's own view of the experiment (its params and metrics)."""
    proc = dvc(root, "exp", "show", "--json")
    found = {}
    for baseline in json.loads(proc.stdout):
        for exp in baseline.get("experiments") or []:
            for rev in exp.get("revs") or []:
                found[rev["name"]] = rev["data"]
    return found


def test_sweep_lands_as_dvc_experiments(wine: Project) -> None:
    root = wine.dvc_root
    head = git(wine.git_root, "rev-parse", "HEAD")
    proc = ratchet(
        root,
        "exp",
        "run",
        "-S",
        "train.n_estimators=5,40",
        "-S",
        "train.max_depth=3",
        "-j",
        "2",
        "--json",
    )
    report = json.loads(proc.stdout)
    assert report["baseline"] == head
    assert report["counts"] == {"success": 2}
    assert "[2/2]" in proc.stderr
    refs = exp_refs(wine.git_root)
    assert set(refs) == {e["name"] for e in report["experiments"]}
    assert git(wine.git_root, "status", "--porcelain") == ""  # the work tree is untouched
    assert git(wine.git_root, "rev-parse", "HEAD") == head
    seen = dvc_exp_show(root)
    metric_file = "eval/metrics.json"
    values = set()
    for exp in report["experiments"]:
        sha = exp["rev"]
        assert git(wine.git_root, "rev-parse", f"{sha}^") == head  # parent: the baseline
        data = seen[exp["name"]]
        n = {k: v for _f, k, v in exp["params"]}["train.n_estimators"]
        assert data["params"]["params.yaml"]["data"]["train"]["n_estimators"] == n
        assert data["params"]["params.yaml"]["data"]["train"]["max_depth"] == 3
        committed = json.loads(git(wine.git_root, "show", f"{sha}:{metric_file}"))
        assert data["metrics"][metric_file]["data"] == committed
        values.add(json.dumps(committed, sort_keys=True))
        note = json.loads(
            git(wine.git_root, "notes", "--ref", "refs/notes/mlratchet", "show", sha).splitlines()[
                0
            ]
        )
        assert note["key"] == "repro" and "train" in note["value"]["stages"]
        assert note["value"]["stages"]["train"]["env"]["packages"]
    assert len(values) == 2  # the two points trained two different models


def test_duplicate_point_is_reused_and_names_are_checked(wine: Project) -> None:
    root = wine.dvc_root
    first = ratchet(root, "exp", "run", "-S", "train.n_estimators=7", "-n", "lr-0.05_a+b")
    assert "lr-0.05_a+b" in exp_refs(wine.git_root)
    before = exp_refs(wine.git_root)
    again = ratchet(root, "exp", "run", "-S", "train.n_estimators=7", "--json")
    assert json.loads(again.stdout)["experiments"][0]["status"] == "reused"
    assert "reused" in again.stderr and exp_refs(wine.git_root) == before
    assert first.returncode == 0
    bad = ratchet(root, "exp", "run", "-S", "train.n_estimators=8", "-n", "a b", expect=2)
    assert "invalid experiment name" in bad.stderr
    clash = ratchet(root, "exp", "run", "-S", "train.n_estimators=9", "-n", "lr-0.05_a+b", expect=4)
    assert "already exists" in clash.stderr


def test_failing_point_is_recorded_and_the_sweep_goes_on(wine: Project) -> None:
    root = wine.dvc_root
    proc = ratchet(root, "exp", "run", "-S", "train.max_depth=-5,4", "--json", expect=1)
    report = json.loads(proc.stdout)
    by_status = {e["status"]: e for e in report["experiments"]}
    assert set(by_status) == {"failed", "success"}
    assert "train" in by_status["failed"]["error"]
    assert by_status["failed"]["name"] not in exp_refs(wine.git_root)
    head = git(wine.git_root, "rev-parse", "HEAD")
    lines = git(wine.git_root, "notes", "--ref", "refs/notes/mlratchet", "show", head).splitlines()
    record = [json.loads(line) for line in lines if '"key":"exp"' in line][-1]["value"]
    failed = record["failed"][by_status["failed"]["name"]]
    assert failed["params"] == [["params.yaml", "train.max_depth", -5]] and failed["error"]


def test_dirty_tree_is_refused(wine: Project) -> None:
    (wine.dvc_root / "params.yaml").write_text(sp.params_yaml(3), encoding="utf-8")
    proc = ratchet(wine.dvc_root, "exp", "run", "-S", "train.n_estimators=4", expect=4)
    assert "params.yaml" in proc.stderr and not exp_refs(wine.git_root)


def test_experiment_verifies_and_is_promoted_only_from_a_branch(wine: Project) -> None:
    root = wine.dvc_root
    report = json.loads(ratchet(root, "exp", "run", "-S", "train.n_estimators=12", "--json").stdout)
    exp = report["experiments"][0]
    verified = ratchet(root, "verify", "--rev", exp["rev"], "--json")
    assert json.loads(verified.stdout)["ok"] is True
    refused = ratchet(root, "register", wine.flavour.artifact, "--rev", exp["rev"], expect=5)
    assert "ratchet exp branch" in refused.stderr
    branched = json.loads(ratchet(root, "exp", "branch", exp["name"], "--json").stdout)
    assert branched["branch"] == f"exp/{exp['name']}"
    assert git(wine.git_root, "rev-parse", branched["branch"]) == exp["rev"]
    ratchet(root, "exp", "branch", exp["name"], expect=4)  # never moves a branch
    ratchet(
        root, "register", wine.flavour.artifact, "--rev", exp["rev"]
    )  # on a branch now: gates apply


def test_subdir_project(tmp_path_factory: pytest.TempPathFactory) -> None:
    project = sp.build(tmp_path_factory.mktemp("exp-sub") / "repo", sp.REGRESSOR, subdir="ml")
    sp.reproduce(project)
    proc = ratchet(project.dvc_root, "exp", "run", "-S", "train.n_estimators=6", "--json")
    sha = json.loads(proc.stdout)["experiments"][0]["rev"]
    changed = git(project.git_root, "diff", "--name-only", f"{sha}^", sha).split()
    assert "ml/params.yaml" in changed and "ml/dvc.lock" in changed


def test_ctrl_c_stops_cleanly(tmp_repo: Path) -> None:
    """SIGINT to `ratchet exp run`: exit 130, no ref, no note, no workspace left behind."""
    gen(tmp_repo, SLOW_STAGE)
    dvc(tmp_repo, "repro", "-q")
    commit_all(tmp_repo, "a slow stage")
    before = set(Path(tempfile.gettempdir()).glob("ratchet-exp-*"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlratchet", "exp", "run", "-S", "train.seconds=60,61", "-j", "2"],
        cwd=tmp_repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    time.sleep(6)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not exp_refs(tmp_repo)
    assert git(tmp_repo, "status", "--porcelain") == ""
    assert set(Path(tempfile.gettempdir()).glob("ratchet-exp-*")) <= before
