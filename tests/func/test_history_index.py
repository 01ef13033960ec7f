"""The history index: rebuilt when deleted, never trusted over git, extended incrementally, and
never seen torn by a reader while a writer saves."""

from __future__ import annotations

import importlib
import json
import threading
from pathlib import Path

import pytest

from helpers import commit_all, count_walks, gen, git
from mlratchet import index
from mlratchet.metrics import history
from mlratchet.metrics.render import history_json

# the module (the package's `history` attribute is the function of that name)
history_module = importlib.import_module("mlratchet.metrics.history")

STAGE = "stages:\n  train:\n    cmd: echo\n    metrics:\n      - m.json:\n          cache: false\n"


def _commit(root: Path, acc: float) -> str:
    gen(root, {"m.json": json.dumps({"acc": acc, "loss": 1 - acc})})
    return commit_all(root, f"acc {acc}")


@pytest.fixture
def repo(tmp_repo: Path) -> Path:
    """Five commits of metrics, one file of them unchanged for a commit (shared blob)."""
    gen(tmp_repo, {"dvc.yaml": STAGE})
    for acc in (0.1, 0.2, 0.3, 0.4):
        _commit(tmp_repo, acc)
        gen(tmp_repo, {"notes.txt": str(acc)})
        commit_all(tmp_repo, "notes")
    return tmp_repo


def _segments(root: Path) -> list[Path]:
    directory = index.index_dir(root)
    assert directory is not None
    return sorted(directory.glob("metrics-history-*.idx"))


def _drop_memo(root: Path) -> None:
    """Remove the whole-history memo, so that the next read goes through the index."""
    directory = index.index_dir(root)
    assert directory is not None
    for path in directory.glob("metrics-chain-*.idx"):
        path.unlink()


def test_index_lives_in_the_git_common_dir_and_rebuilds_after_deletion(repo: Path) -> None:
    """The first history writes the index under .git/mlratchet/index; deleting it is safe."""
    first = history_json(history(repo))
    assert _segments(repo) and all(".git/mlratchet/index" in str(p) for p in _segments(repo))
    assert history_json(history(repo)) == first
    directory = index.index_dir(repo)
    assert directory is not None
    for path in directory.glob("*.idx"):  # the index and the memo
        path.unlink()
    assert history_json(history(repo)) == first
    assert _segments(repo)
    assert git(repo, "status", "--porcelain") == ""  # nothing in the work tree


def test_a_warm_history_walks_nothing_and_a_new_commit_walks_only_itself(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once indexed, only commits without an entry are read from git: a new one, alone."""
    history(repo)
    _drop_memo(repo)
    walked = count_walks(monkeypatch)
    history(repo)
    assert walked == []
    sha = _commit(repo, 0.9)
    _drop_memo(repo)
    hist = history(repo)
    assert walked == [1]
    assert hist.points[0].sha == sha and hist.points[0].metrics["m.json"]["acc"] == 0.9
    _drop_memo(repo)
    history(repo)
    assert walked == [1]  # the new commit was indexed too


def test_a_torn_segment_is_ignored(repo: Path) -> None:
    """A segment whose bytes do not match its checksum is not read: git's answer stands."""
    truth = history_json(history(repo))
    _drop_memo(repo)
    (segment,) = _segments(repo)
    data = bytearray(segment.read_bytes())
    data[-3] ^= 0xFF
    segment.write_bytes(bytes(data))
    assert history_json(history(repo)) == truth


def test_a_forged_entry_is_rebuilt_from_git(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry whose tree or blob ids are not git's for that commit is recomputed from git."""
    truth = history_json(history(repo))
    directory = index.index_dir(repo)
    name = _segments(repo)[0].name.split(".")[0]
    head, older = git(repo, "rev-list", "HEAD", "-n", "3").split()[::2]
    head_tree, older_tree = (git(repo, "rev-parse", f"{c}^{{tree}}") for c in (head, older))
    older_blob = git(repo, "rev-parse", f"{older}:m.json")
    walked = count_walks(monkeypatch)
    for ids in (
        [head_tree, older_blob],  # HEAD's tree, another commit's blob (whose values are indexed)
        [older_tree, older_blob],  # another commit's tree and blob
        [head_tree, older_blob, older_blob],  # not the shape of an entry
    ):
        forged = {"version": history_module._Store.VERSION, "commits": {"m.json": {head: ids}}}
        assert index.save(directory, name, {**forged, "values": {}}, lambda s: s[-1])
        _drop_memo(repo)
        assert history_json(history(repo)) == truth
        assert walked[-1] == 1  # HEAD alone was read again
    assert len(walked) == 3


def test_a_commit_with_an_unreadable_file_is_not_indexed(repo: Path) -> None:
    """A malformed metrics file is reported at every read, not remembered as values."""
    gen(repo, {"m.json": "{not json"})
    commit_all(repo, "broken")
    for _ in range(2):
        hist = history(repo)
        assert list(hist.points[0].errors) == ["m.json"]


def test_readers_never_see_a_torn_segment_while_writers_save(tmp_path: Path) -> None:
    """Threads loading while others save (and merge) see only whole segments."""
    directory = tmp_path / "index"
    stop = threading.Event()
    seen: list[int] = []
    problems: list[str] = []

    def merge(segments: list[dict]) -> dict:  # type: ignore[type-arg]
        return {"n": max(s["n"] for s in segments), "blob": segments[-1]["blob"]}

    def writer(offset: int) -> None:
        for n in range(60):
            value = offset + n
            index.save(directory, "test", {"n": value, "blob": [value] * 20_000}, merge)

    def reader() -> None:
        while not stop.is_set():
            for data in index.load(directory, "test"):
                if data["blob"] != [data["blob"][0]] * 20_000:
                    problems.append("torn")
                seen.append(data["n"])

    readers = [threading.Thread(target=reader) for _ in range(3)]
    writers = [threading.Thread(target=writer, args=(k * 1000,)) for k in range(2)]
    for thread in [*readers, *writers]:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()
    assert problems == []
    assert seen
    assert len(list(directory.glob("test.*.idx"))) <= index.MAX_SEGMENTS
    assert not list(directory.glob(".*.tmp"))
