"""Every judging reader knows whether the bytes it reads are the bytes ``dvc.lock`` records.

Fault cases of "every proof holds": a committed metrics file edited after the run (forged),
params changed and committed without a repro (a stale lock), a ``dvc.lock`` cut short, and
``--push`` of what other clones could not fetch. Each is refused before any gate reads it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from registry_project import set_policy, tags

from helpers import commit_all, dvc, gen, git
from mlratchet.cli.group import cli
from mlratchet.errors import IntegrityError
from mlratchet.registry import promote as registry

STAGING = """\
metrics:
  model.val.auc: {direction: higher}
registry:
  fd:
    stages:
      - {name: staging, verified: false, contract: false, thresholds: {model.val.auc: {min: 0.7}}}
"""


def invoke(repo: Path, *args: str) -> tuple[int, str, str]:
    """Run ``ratchet -R repo ARGS`` in-process."""
    result = CliRunner().invoke(cli, [*args, "-R", str(repo)])
    return result.exit_code, result.stdout, result.stderr


def forge(repo: Path, value: float = 0.99) -> str:
    """Edit the committed, git-tracked metrics file by hand and commit it (no repro)."""
    path = repo / "metrics" / "metrics.json"
    data = json.loads(path.read_text())
    data["model"]["val"]["auc"] = value
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return commit_all(repo, "better numbers, by hand")


@pytest.fixture
def staged(project: Path) -> Path:
    """The registry project with a staging threshold in its committed policy."""
    set_policy(project, STAGING)
    return project


def test_forged_metrics_are_refused_by_promote_and_register(staged: Path) -> None:
    """Forged committed metrics: promote (and its dry run) and register exit 3, naming the file
    and both hashes; no tag is created."""
    forge(staged)
    before = tags(staged)
    for args in (
        ("promote", "fd", "--to", "staging"),
        ("promote", "fd", "--to", "staging", "--dry-run"),
        ("register", "fd"),
    ):
        code, _, err = invoke(staged, *args)
        assert code == 3, (args, err)
        assert "metrics/metrics.json" in err and "dvc.lock records md5" in err
    assert tags(staged) == before


def test_forged_metrics_fail_metrics_diff_check_and_the_report(staged: Path) -> None:
    """`metrics diff --check` exits 3 on a forged side; the report counts the metrics check
    as failed, with the reason, and its JSON says not ok."""
    forge(staged)
    code, _, err = invoke(staged, "metrics", "diff", "HEAD~1", "HEAD", "--check")
    assert code == 3
    assert "edited after the pipeline ran" in err
    code, out, _ = invoke(staged, "report", "--base", "HEAD~1", "--head", "HEAD", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is False
    metrics = next(c for c in report["checks"] if c["name"] == "metrics")
    assert metrics["state"] == "failed" and "metrics/metrics.json" in metrics["detail"]


def test_forged_metrics_in_the_work_tree_fail_the_check(staged: Path) -> None:
    """A metrics file edited in the work tree (not by the pipeline) fails --check against it."""
    path = staged / "metrics" / "metrics.json"
    path.write_text(path.read_text().replace("0.75", "0.95"))
    code, _, err = invoke(staged, "metrics", "diff", "HEAD", "workspace", "--check")
    assert code == 3 and "workspace" in err


def test_the_library_refuses_forged_metrics_too(project: Path) -> None:
    """A Python caller of promote() gets the same refusal: IntegrityError naming the file."""
    set_policy(project, STAGING)
    forge(project)
    with pytest.raises(IntegrityError, match=r"metrics/metrics\.json"):
        registry.promote(project, "fd", "staging")


def test_a_stale_lock_is_not_promoted(staged: Path) -> None:
    """Params changed and committed without a repro: promote --to staging and register are
    exit 3 and say which param changed."""
    gen(staged, {"params.yaml": "train:\n  quality: 0.9\n"})
    commit_all(staged, "params, no repro")
    code, _, err = invoke(staged, "promote", "fd", "--to", "staging")
    assert code == 3
    assert "train.quality" in err and "ratchet repro" in err
    code, _, err = invoke(staged, "register", "fd")
    assert code == 3 and "train.quality" in err


def test_a_truncated_lock_is_not_promoted(staged: Path) -> None:
    """A dvc.lock cut short (after the model, or before it): exit 3, nothing created."""
    lock = (staged / "dvc.lock").read_text()
    before = tags(staged)
    for cut in ("    - path: metrics/metrics.json", "    outs:"):
        (staged / "dvc.lock").write_text(lock[: lock.index(cut)])
        commit_all(staged, "a lock cut short")
        code, _, err = invoke(staged, "promote", "fd", "--to", "staging")
        assert code == 3, err
        assert "dvc.lock at" in err and "does not hold" in err
    assert tags(staged) == before


def test_push_refuses_a_commit_on_no_remote_branch(staged: Path, tmp_path: Path) -> None:
    """promote --push of a commit no branch of the remote holds: exit 5, nothing pushed."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(staged), str(remote))
    git(staged, "remote", "add", "origin", str(remote))
    gen(staged, {"notes.txt": "local only\n"})
    commit_all(staged, "a local commit")
    code, _, err = invoke(staged, "promote", "fd", "--to", "staging", "--push")
    assert code == 5
    assert "on no branch of git remote 'origin'" in err
    assert "fd#staging" not in git(remote, "tag")


def test_push_refuses_a_model_not_on_the_dvc_remote(staged: Path, tmp_path: Path) -> None:
    """promote --push of a model never pushed to the DVC remote: exit 5 naming the model
    and `dvc push`; after `dvc push` it goes through."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(staged), str(remote))
    git(staged, "remote", "add", "origin", str(remote))
    git(staged, "fetch", "-q", "origin")
    dvc(staged, "remote", "add", "--local", "-d", "store", str(tmp_path / "store"))
    code, _, err = invoke(staged, "promote", "fd", "--to", "staging", "--push")
    assert code == 5
    assert "models/model.bin" in err and "dvc push" in err
    dvc(staged, "push", "-q")
    code, _, err = invoke(staged, "promote", "fd", "--to", "staging", "--push")
    assert code == 0, err
    assert "fd#staging#1" in git(remote, "tag")
