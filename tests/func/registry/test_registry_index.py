"""The registry state kept in the index: reused while the tags are unchanged, rebuilt when a tag
is added or moved, and equal to the state built from git."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import commit_all, gen, git
from mlratchet import index
from mlratchet.registry import state as state_module
from mlratchet.registry.state import build_state, load_state, read_tags


def _tag(repo: Path, name: str, message: str) -> None:
    git(repo, "tag", "-a", name, "-m", message)


@pytest.fixture
def registry(tmp_repo: Path) -> Path:
    """Two commits, each registered and assigned a stage (GTO's tags)."""
    for i in range(2):
        gen(tmp_repo, {"model.txt": str(i)})
        commit_all(tmp_repo, f"model {i}")
        _tag(tmp_repo, f"m@v0.0.{i}", f"Registering artifact m version v0.0.{i}")
        _tag(tmp_repo, f"m#prod#{i + 1}", f"Assigning stage prod to artifact m version v0.0.{i}")
    return tmp_repo


def _builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the states built from a full listing (not taken from the index)."""
    count: list[int] = []
    original = state_module.build_state

    def spy(tags):  # type: ignore[no-untyped-def]
        count.append(len(tags))
        return original(tags)

    monkeypatch.setattr(state_module, "build_state", spy)
    return count


@pytest.mark.parametrize("messages", [False, True])
def test_the_cached_state_equals_the_built_one(registry: Path, messages: bool) -> None:
    """A state read back from the index is the state git's tags give, sharing included."""
    built = build_state(read_tags(registry, messages=messages))
    load_state(registry, messages=messages)  # writes the index
    cached = load_state(registry, messages=messages)
    assert cached == built
    artifact = cached.artifacts["m"]
    assert artifact.stages["prod"] is artifact.versions[0]  # one object, as when built
    assert artifact.latest is artifact.versions[0]


def test_reused_while_the_tags_are_unchanged_and_rebuilt_when_one_is_added(
    registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No tag changed: no build; a tag added (or the index deleted): built again from git."""
    load_state(registry)
    builds = _builds(monkeypatch)
    assert load_state(registry).artifacts["m"].stages["prod"].version == "v0.0.1"
    assert builds == []
    git(registry, "checkout", "-q", "HEAD~1")
    _tag(registry, "m#prod#3", "Assigning stage prod to artifact m version v0.0.0")
    assert load_state(registry).artifacts["m"].stages["prod"].version == "v0.0.0"
    assert builds == [5]
    load_state(registry)
    assert builds == [5]
    directory = index.index_dir(registry)
    assert directory is not None
    for path in directory.glob("registry-state-*"):
        path.unlink()
    assert load_state(registry).artifacts["m"].stages["prod"].version == "v0.0.0"
    assert builds == [5, 5]


def test_a_state_saved_for_other_tags_is_not_used(
    registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index entry whose key is not the digest of the current tags is ignored."""
    load_state(registry)
    directory = index.index_dir(registry)
    stale = index.load_newest(directory, "registry-state-plain")
    assert stale is not None
    _tag(registry, "m@v0.1.0", "Registering artifact m version v0.1.0")
    builds = _builds(monkeypatch)
    assert load_state(registry).artifacts["m"].latest.version == "v0.1.0"  # type: ignore[union-attr]
    index.save(directory, "registry-state-plain", stale, lambda s: s[-1])  # the old one, newest
    assert load_state(registry).artifacts["m"].latest.version == "v0.1.0"  # type: ignore[union-attr]
    assert len(builds) == 2
    for segment in directory.glob("registry-state-plain.*"):  # type: ignore[union-attr]
        segment.write_bytes(b"mlratchet-index 1 sha256=0\nnot marshal")  # torn
    assert load_state(registry).artifacts["m"].latest.version == "v0.1.0"  # type: ignore[union-attr]
