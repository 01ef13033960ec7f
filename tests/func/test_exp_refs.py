"""DVC experiment refs read and written with git: names, listing, lookup, never moved."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import commit_all, git
from mlratchet.errors import BadInputError, ConflictError
from mlratchet.experiments import refs


def test_refs_round_trip_and_skip_dvc_working_refs(tmp_repo: Path) -> None:
    base = git(tmp_repo, "rev-parse", "HEAD")
    (tmp_repo / "a.txt").write_text("a", encoding="utf-8")
    other = commit_all(tmp_repo, "second")
    exp = refs.create(tmp_repo, refs.ExpRef(base, "lr-0.05_a+b"), other)
    assert exp.ref == f"refs/exps/{base[:2]}/{base[2:]}/lr-0.05_a+b"
    git(tmp_repo, "update-ref", "refs/exps/exec/EXEC_HEAD", other)
    git(tmp_repo, "update-ref", "refs/exps/celery/stash", other)
    assert refs.list_refs(tmp_repo) == [refs.ExpRef(base, "lr-0.05_a+b", other)]
    assert refs.find(tmp_repo, "lr-0.05_a+b") == exp
    assert refs.find(tmp_repo, exp.ref) == exp
    assert refs.find(tmp_repo, "nope") is None
    with pytest.raises(ConflictError, match="already exists"):
        refs.create(tmp_repo, refs.ExpRef(base, "lr-0.05_a+b"), base)
    assert git(tmp_repo, "rev-parse", exp.ref) == other  # not moved


def test_same_name_on_two_baselines(tmp_repo: Path) -> None:
    first = git(tmp_repo, "rev-parse", "HEAD")
    (tmp_repo / "a.txt").write_text("a", encoding="utf-8")
    second = commit_all(tmp_repo, "second")
    refs.create(tmp_repo, refs.ExpRef(first, "same"), second)
    refs.create(tmp_repo, refs.ExpRef(second, "same"), first)
    assert refs.find(tmp_repo, "same", prefer=second).baseline == second
    with pytest.raises(BadInputError, match="ambiguous"):
        refs.find(tmp_repo, "same")


@pytest.mark.parametrize("name", ["a b", "a/b", "-x", "a..b", "a~1", "", "x.lock"])
def test_bad_names(name: str) -> None:
    with pytest.raises(BadInputError, match="invalid experiment name"):
        refs.check_name(name)
