"""The whole-history memo: a warm history answered as a cold one would be, checked with git at
every read (new commits, moved tags, rewritten history, replace refs), never for a part."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import commit_all, count_walks, gen, git
from mlratchet import index
from mlratchet.metrics import history
from mlratchet.metrics.render import history_csv, history_json, history_json_text, strict_json

history_module = importlib.import_module("mlratchet.metrics.history")

STAGES = (
    "stages:\n  train:\n    cmd: echo\n    metrics:\n      - m.json:\n          cache: false\n"
    "  data:\n    cmd: echo\n    metrics:\n      - reports/d.yaml:\n          cache: false\n"
)


def _commit(root: Path, acc: float, *, rows: int = 10) -> str:
    gen(root, {"m.json": json.dumps({"acc": acc, "name": "é", "nested": {"loss": 1 - acc}})})
    gen(root, {"reports/d.yaml": f"rows: {rows}\n"})
    return commit_all(root, f"acc {acc}")


@pytest.fixture
def repo(tmp_repo: Path) -> Path:
    """Six commits: metrics in two files (one often unchanged), a commit changing neither, a
    lightweight and an annotated tag."""
    gen(tmp_repo, {"dvc.yaml": STAGES})
    for i, acc in enumerate((0.1, 0.2, 0.3, 0.4)):
        _commit(tmp_repo, acc, rows=10 + i // 2)
        if i == 1:
            git(tmp_repo, "tag", "v1")
    gen(tmp_repo, {"notes.txt": "x"})
    commit_all(tmp_repo, "notes")
    git(tmp_repo, "tag", "-a", "-m", "release", "v2")
    return tmp_repo


def _memos(root: Path) -> list[Path]:
    directory = index.index_dir(root)
    assert directory is not None
    return sorted(directory.glob("metrics-chain-*.idx"))


def _cold(root: Path, *args: str) -> str:
    """`ratchet metrics history --json` with no index and no memo (a separate process)."""
    directory = index.index_dir(root)
    assert directory is not None
    for path in directory.glob("*.idx"):
        path.unlink()
    return _cli(root, *args)


def _cli(root: Path, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "mlratchet", "metrics", "history", "--json", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def test_a_warm_history_prints_what_a_cold_one_does(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memo's answer, byte for byte the cold one, its points and CSV too; nothing walked."""
    cold = _cold(repo)
    assert _memos(repo)  # the first read saved it
    assert _cli(repo) == cold
    walked = count_walks(monkeypatch)
    hist = history(repo)
    assert walked == []
    assert history_json_text(hist) == cold
    assert strict_json(history_json(hist), indent=None) == cold  # from its (lazy) points
    assert [p.tags for p in hist.points][::-1][1:] == [(), ("v1",), (), (), ("v2",)]
    _cold(repo)
    assert history_csv(history(repo)) == history_csv(hist)


def test_new_commits_are_read_alone_and_the_memo_grows(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cli(repo)
    walked = count_walks(monkeypatch)
    _commit(repo, 0.8, rows=99)
    sha = _commit(repo, 0.9, rows=99)
    hist = history(repo)
    assert walked == [2]
    assert hist.points[0].sha == sha and hist.points[0].metrics["m.json"]["acc"] == 0.9
    assert len(hist.points) == 8
    history(repo)
    assert walked == [2]  # the memo now ends at the new commit
    assert _cli(repo) == _cold(repo)


def test_tags_are_read_from_git_each_time(repo: Path) -> None:
    """Tags move; the memo never holds them: added, deleted, annotated, on an old commit."""
    _cli(repo)
    first = git(repo, "rev-list", "--max-parents=0", "HEAD")
    git(repo, "tag", "-a", "-m", "old", "v0", first)
    git(repo, "tag", "z-light", first)
    git(repo, "tag", "-d", "v1")
    warm = _cli(repo)
    assert warm == _cold(repo)
    tags = {p["rev"]: p["tags"] for p in json.loads(warm)}
    assert tags[first] == ["v0", "z-light"]
    assert not any("v1" in t for t in tags.values())


def test_a_tag_of_a_tag_is_named_as_git_log_names_it(repo: Path) -> None:
    _cli(repo)
    git(repo, "tag", "-a", "-m", "nested", "outer", "v2")
    assert _cli(repo) == _cold(repo)


def test_a_rewritten_history_is_not_answered_from_the_memo(repo: Path) -> None:
    """After a reset and another commit, the memo's commits are not the history's."""
    _cli(repo)
    git(repo, "reset", "-q", "--hard", "HEAD~2")
    _commit(repo, 0.55)
    warm = _cli(repo)
    assert warm == _cold(repo)
    assert len(json.loads(warm)) == 5


def test_another_revision_a_range_and_last_are_answered_for_themselves(repo: Path) -> None:
    full = json.loads(_cli(repo))
    assert json.loads(_cli(repo, "--rev", "HEAD~2")) == full[2:]
    assert json.loads(_cli(repo, "--last", "2")) == full[:2]
    assert json.loads(_cli(repo, "--rev", "HEAD~3..HEAD")) == full[:3]
    assert json.loads(_cli(repo)) == full
    assert json.loads(_cli(repo, "--metric", "acc")) == [
        {**p, "metrics": {"m.json": {"acc": p["metrics"]["m.json"]["acc"]}}}
        if "m.json" in p["metrics"]
        else {**p, "metrics": {}}
        for p in full
    ]


def test_a_resaved_memo_is_used(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same memo written again answers without a walk, and a memo whose tip file is gone
    is not used."""
    truth = _cli(repo)
    (path,) = _memos(repo)
    name = path.name.split(".")[0]
    data = index.load_newest(path.parent, name)
    assert data is not None
    assert index.replace(path.parent, name, data, index.raw_path(path).read_bytes())
    walked = count_walks(monkeypatch)
    store = []
    monkeypatch.setattr(history_module, "_Store", lambda root: store.append(1) or 1 / 0)
    assert history_json_text(history(repo)) == truth  # the index was not even opened
    assert walked == [] and store == []
    (path,) = _memos(repo)
    index.raw_path(path).unlink()
    monkeypatch.undo()
    assert history_json_text(history(repo)) == truth


def test_a_memo_off_this_first_parent_history_is_not_used(repo: Path) -> None:
    """A memo of a branch merged in as a second parent: git walks past it, and the memo's
    commits (which are not this history's) never show."""
    main = git(repo, "rev-parse", "--abbrev-ref", "HEAD")
    git(repo, "checkout", "-q", "-b", "side")
    gen(repo, {"reports/d.yaml": "rows: 777\n"})
    side_tip = commit_all(repo, "side")
    assert side_tip in _cli(repo)  # the memo is the side branch's now
    git(repo, "checkout", "-q", main)
    gen(repo, {"m.json": json.dumps({"acc": 0.61})})
    commit_all(repo, "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    warm = _cli(repo)
    assert warm == _cold(repo)
    assert side_tip not in warm


def test_a_memo_saved_for_another_tip_is_not_used(repo: Path) -> None:
    """The tip file beside a memo and the memo must name the same commit."""
    truth = _cli(repo)
    (path,) = _memos(repo)
    name = path.name.split(".")[0]
    data = index.load_newest(path.parent, name)
    assert data is not None
    data["text"] = data["text"].replace('"acc": 0.4', '"acc": 0.999')
    assert index.replace(path.parent, name, data, git(repo, "rev-parse", "HEAD~1").encode())
    assert history_json_text(history(repo)) == truth


@pytest.mark.parametrize("packed", [False, True])
def test_replace_refs_turn_the_memo_off(repo: Path, packed: bool) -> None:
    """``git replace`` changes what a commit id reads as: the memo is not used while a replace
    ref exists (loose or in packed-refs), and the history is git's, with the replacement."""
    plain = _cli(repo)
    git(repo, "replace", "HEAD~1", "HEAD~3")
    if packed:
        git(repo, "pack-refs", "--all")
    warm = _cli(repo)
    assert warm != plain
    assert warm == _cold(repo)


def test_a_history_with_a_malformed_file_is_not_memoised(repo: Path) -> None:
    gen(repo, {"m.json": "{not json"})
    commit_all(repo, "broken")
    with pytest.raises(subprocess.CalledProcessError) as failed:
        _cold(repo)
    assert failed.value.returncode == 2 and "m.json" in failed.value.stderr
    assert not _memos(repo)
    for _ in range(2):
        assert list(history(repo).points[0].errors) == ["m.json"]


def test_nan_values_are_spelled_as_the_cold_read_spells_them(repo: Path) -> None:
    gen(repo, {"m.json": '{"acc": NaN, "loss": Infinity}'})
    commit_all(repo, "nan")
    cold = _cold(repo)
    assert '"acc": "NaN"' in cold and _cli(repo) == cold


def test_the_memo_is_replaced_not_accumulated(repo: Path) -> None:
    for acc in (0.6, 0.7, 0.8):
        _cli(repo)
        _commit(repo, acc)
    _cli(repo)
    assert len(_memos(repo)) == 1
