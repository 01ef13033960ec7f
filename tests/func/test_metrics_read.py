"""The Python API the registry's gates use: read_metrics, read_params, compare with rules."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from helpers import commit_all, dvc, gen
from mlratchet.metrics import Status, compare, read_metrics, read_params
from mlratchet.metrics.collect import NotInCacheError
from mlratchet.policy import MetricRule
from mlratchet.revs import resolve

STAGE = """\
stages:
  score:
    cmd: python write.py
    deps: [write.py, n.txt]
    params: [train.lr]
    metrics:
      - scores
      - summary.json:
          cache: false
"""
SCRIPT = """\
import json, os
n = int(open("n.txt").read())
os.makedirs("scores/sub", exist_ok=True)
json.dump({"acc": n / 10}, open("scores/a.json", "w"))
json.dump({"loss": 1 / n}, open("scores/sub/b.json", "w"))
json.dump({"n": n, "nested": {"list": [1, 2], "flag": True}}, open("summary.json", "w"))
"""


@pytest.fixture
def repo(tmp_repo: Path) -> Path:
    """A DVC-cached metrics directory and a git-tracked metrics file, at two commits."""
    gen(tmp_repo, {"dvc.yaml": STAGE, "write.py": SCRIPT, "n.txt": "4"})
    gen(tmp_repo, {"params.yaml": "train:\n  lr: 0.1\n  layers: [8, 4]\n"})
    dvc(tmp_repo, "repro", "-q")
    commit_all(tmp_repo, "one")
    gen(tmp_repo, {"n.txt": "5", "params.yaml": "train:\n  lr: 0.2\n  layers: [8]\n"})
    dvc(tmp_repo, "repro", "-q")
    commit_all(tmp_repo, "two")
    return tmp_repo


def test_read_metrics_flat_at_any_revision(repo: Path) -> None:
    """{path: {flat_key: value}} at a commit, the workspace, or a resolved Revision."""
    head = read_metrics(repo, "HEAD")
    assert head == {
        "scores/a.json": {"acc": 0.5},
        "scores/sub/b.json": {"loss": 0.2},
        "summary.json": {"n": 5, "nested.flag": True},  # lists are not metrics
    }
    assert read_metrics(repo, "workspace") == head
    assert read_metrics(repo, resolve(repo, "HEAD~1"))["scores/a.json"] == {"acc": 0.4}


def test_cached_directory_matches_dvc(repo: Path) -> None:
    """A DVC-cached metrics directory expands to its files, as `dvc metrics show` lists them."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    shown = json.loads(dvc(repo, "metrics", "show", "--json", env=env).stdout)[""]["data"]
    assert sorted(shown) == sorted(read_metrics(repo))


def test_read_params_is_dvcs_selection(repo: Path) -> None:
    """params.yaml whole, lists as their Python text."""
    assert read_params(repo, "HEAD~1") == {
        "params.yaml": {"train.lr": 0.1, "train.layers": "[8, 4]"}
    }


def test_workspace_falls_back_to_the_cache(repo: Path) -> None:
    """A cached metrics file missing from disk is read from the cache by the workspace dvc.lock."""
    shutil.rmtree(repo / "scores")
    assert read_metrics(repo)["scores/sub/b.json"] == {"loss": 0.2}
    shutil.rmtree(repo / ".dvc" / "cache")
    with pytest.raises(NotInCacheError, match="scores at workspace is DVC-cached"):
        read_metrics(repo)


def test_compare_with_explicit_rules(repo: Path) -> None:
    """Gates pass their own rules: one verdict per rule and file."""
    comparison = compare(
        repo,
        "HEAD~1",
        "HEAD",
        check=True,
        rules={
            "acc": MetricRule(direction="higher"),
            "loss": MetricRule(direction="higher", tolerance=0.01),
        },
    )
    assert [(v.key, v.path, v.status) for v in comparison.verdicts or ()] == [
        ("acc", "scores/a.json", Status.IMPROVED),
        ("loss", "scores/sub/b.json", Status.REGRESSED),
    ]
    assert [v.key for v in comparison.failed] == ["loss"]
    assert comparison.diff["summary.json"]["n"] == {"old": 4, "new": 5, "diff": 1}


def test_a_corrupt_cache_file_is_an_integrity_error(repo: Path) -> None:
    """Bytes in the DVC cache that do not hash to dvc.lock's record: exit 3, naming both."""
    from mlratchet.errors import IntegrityError

    shutil.rmtree(repo / "scores")
    target = next(
        p
        for p in (repo / ".dvc" / "cache").rglob("*")
        if p.is_file() and p.read_bytes() == b'{"loss": 0.2}'
    )
    target.chmod(0o644)
    target.write_bytes(b'{"loss": 0.0}')
    with pytest.raises(
        IntegrityError, match=r"scores/sub/b\.json at workspace: dvc\.lock records md5"
    ):
        read_metrics(repo)
