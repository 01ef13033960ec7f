"""GTO as the oracle: `gto show`, `gto history` and `gto check-ref` agree with our commands.

Both directions: registries we write, read by gto; registries gto writes, read by us.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
from registry_project import commits, gto, ratchet, tags

from helpers import git
from mlratchet.registry import promote as registry
from mlratchet.registry.card import split_message


def ours(repo: Path, *args: str, codes: tuple[int, ...] = (0,)) -> Any:
    """Our command's --json output (its exit code one of ``codes``)."""
    proc = ratchet(repo, *args, "--json")
    assert proc.returncode in codes, proc.stderr
    return json.loads(proc.stdout)


def theirs(repo: Path, *args: str) -> Any:
    """gto's --json output."""
    return json.loads(gto(repo, *args, "--json").stdout)


def assert_show_agrees(repo: Path, codes: tuple[int, ...] = (0,)) -> None:
    """`registry show` and `gto show` name the same latest version and version per stage."""
    gto_state = theirs(repo, "show")
    our_view = ours(repo, "registry", "show", codes=codes)
    by_name = {a["name"]: a for a in our_view["artifacts"]}
    active = {n for n, a in by_name.items() if a["registered"] and not a["deprecated"]}
    assert set(gto_state) == active
    for name, expected in gto_state.items():
        mine = by_name[name]
        assert (mine["latest"] or {}).get("version") == expected["version"], name
        for stage, version in expected["stage"].items():
            assert (mine["stages"].get(stage) or {}).get("version") == version, (name, stage)
        for stage, ref in mine["stages"].items():
            if ref is not None:
                assert expected["stage"].get(stage) == ref["version"], (name, stage)
        gto_versions = {
            (v["version"], v["commit_hexsha"], tuple(sorted(s["stage"] for s in v["stages"])))
            for v in theirs(repo, "show", name)
            if v["registrations"] or v["stages"]  # gto also lists unregistered commits, twice
        }
        our_versions = {
            (v["version"], v["commit"], tuple(sorted(v["stages"])))
            for v in ours(repo, "registry", "show", name, codes=codes)["versions"]
            if v["active"] and (v["registered"] or v["stages"])
        }
        assert our_versions == gto_versions, name


def assert_history_agrees(repo: Path) -> None:
    """`registry history` and `gto history` list the same events, dates, authors, messages."""
    gto_events = theirs(repo, "history")
    our_events = ours(repo, "registry", "history")["events"]

    def key(e: dict[str, Any], commit: str, ref: str) -> tuple[Any, ...]:
        return (e["timestamp"], e["artifact"], e["event"], e["version"], e["stage"], e[commit],
                e[ref], e["author"], e["author_email"])  # fmt: skip

    assert sorted(key(e, "commit", "ref") for e in gto_events) == sorted(
        key(e, "commit", "tag") for e in our_events
    )
    # gto keeps the whole message; ours is the message before the model card
    gto_messages = {e["ref"]: e["message"] for e in gto_events}
    for event in our_events:
        head, _ = split_message(gto_messages[event["tag"]])
        assert head == event["message"]
    # oldest first, as gto --ascending orders them (same-second events may differ only in order)
    stamps = [(e["timestamp"], e["priority"]) for e in theirs(repo, "history", "--ascending")]
    assert stamps == sorted(stamps)


def assert_check_ref_agrees(repo: Path) -> None:
    """`gto check-ref` on every registry tag names the event our history names."""
    events = {e["tag"]: e for e in ours(repo, "registry", "history")["events"]}
    for tag in tags(repo):
        if tag not in events:
            continue
        proc = gto(repo, "check-ref", tag, "--json")
        found = json.loads(proc.stdout)
        mine = events[tag]
        assert found["event"] == mine["event"], tag
        assert found["artifact"] == mine["artifact"]
        assert found.get("version") == mine["version"]
        assert found.get("stage") == mine["stage"]
        assert found["commit_hexsha"] == mine["commit"]
        assert found["created_at"] == mine["timestamp"]


def test_gto_reads_the_registry_we_write(project: Path) -> None:
    """Registrations, promotions, rollbacks and cards we write read the same in gto."""
    v1, v2, v3 = commits(project)
    registry.register(project, "fd", rev=v1)
    registry.promote(project, "fd", "staging", rev=v1)
    registry.promote(project, "fd", "production", version="v0.0.1")
    registry.promote(project, "fd", "staging", rev=v2)
    registry.register(project, "fd", rev=v3, bump="major")
    registry.promote(project, "fd", "staging", version="v1.0.0")
    registry.promote(project, "fd", "staging", version="v0.0.2")  # rollback
    assert theirs(project, "show")["fd"] == {
        "version": "v1.0.0",
        "stage": {"production": "v0.0.1", "staging": "v0.0.2"},
        "registered": True,
        "active": True,
    }
    assert_show_agrees(project)
    assert_history_agrees(project)
    assert_check_ref_agrees(project)


def test_we_read_the_registry_gto_writes(project: Path) -> None:
    """A registry made by gto (register, assign, unassign, deregister, deprecate) reads the same."""
    v1, v2, v3 = commits(project)
    gto(project, "register", "fd", v1)
    gto(project, "register", "fd", v2, "--bump-minor")
    gto(project, "register", "other", v1, "--version", "v2.0.0")
    gto(project, "assign", "fd", "--version", "v0.0.1", "--stage", "staging")
    gto(project, "assign", "fd", "--version", "v0.0.1", "--stage", "prod")
    gto(project, "assign", "other", "--version", "v2.0.0", "--stage", "prod")
    time.sleep(1.1)  # gto orders by tag dates (seconds): keep competing assignments apart
    gto(project, "assign", "fd", "--version", "v0.1.0", "--stage", "staging")
    gto(project, "register", "fd", v3, "--version", "v1.0.0-rc.1")
    gto(project, "deprecate", "fd", "v0.0.1", "prod")  # unassign
    gto(project, "deprecate", "other")
    time.sleep(1.1)
    gto(project, "deprecate", "fd", "v1.0.0-rc.1")  # deregister
    git(project, "tag", "fd#prod#99", v3)  # lightweight: gto skips it
    assert_show_agrees(project)
    assert_history_agrees(project)
    assert_check_ref_agrees(project)
    view = ours(project, "registry", "show")
    fd = next(a for a in view["artifacts"] if a["name"] == "fd")
    assert fd["latest"]["version"] == "v0.1.0"
    assert fd["stages"]["staging"]["version"] == "v0.1.0"
    assert fd["stages"]["production"] is None  # declared in the policy, never assigned
    assert fd["stages"].get("prod") is None  # unassigned
    other = next(a for a in view["artifacts"] if a["name"] == "other")
    assert other["deprecated"]


def test_counters_continue_gtos_including_lightweight_tags(project: Path) -> None:
    """Our next #N is one more than any counter of the artifact, lightweight tags included."""
    v1 = commits(project)[0]
    gto(project, "register", "fd", v1)
    gto(project, "assign", "fd", "--version", "v0.0.1", "--stage", "staging")
    git(project, "tag", "fd#dev#7", v1)
    git(project, "tag", "-d", "fd#dev#7")  # gone again: counters come from existing tags
    git(project, "tag", "fd#dev#4", v1)
    result = registry.promote(project, "fd", "production", version="v0.0.1", dry_run=True)
    assert result.tag == "fd#production#5"
    # gto agrees on the next counter
    gto(project, "assign", "fd", "--version", "v0.0.1", "--stage", "canary")
    assert "fd#canary#5" in tags(project)


@pytest.mark.parametrize("seed", range(6))
def test_random_registries_agree_with_gto(project: Path, seed: int) -> None:
    """Random registrations, (un)assignments and deregistrations, dated in random order."""
    from mlratchet.registry.tags import create_ref, make_tag_object

    rng = random.Random(seed)
    for i in range(5):
        git(project, "commit", "-q", "--allow-empty", "-m", f"empty {i}")
    shas = git(project, "rev-list", "HEAD").split()[:8]
    registered = {f"v0.{i}.0": sha for i, sha in enumerate(shas[:6])}
    events: list[tuple[str, str, str]] = []  # (tag, commit, message)
    for version, sha in registered.items():
        events.append((f"fd@{version}", sha, f"Registering artifact fd version {version}"))
    for counter in range(1, 15):
        stage = rng.choice(["dev", "staging", "prod"])
        roll = rng.random()
        version, sha = rng.choice(list(registered.items()))
        if roll < 0.6:
            events.append((f"fd#{stage}#{counter}", sha, f"Assigning stage {stage}"))
        elif roll < 0.8:
            events.append((f"fd#{stage}!#{counter}", sha, f"Unassigning stage {stage}"))
        elif roll < 0.9:
            events.append((f"fd#{stage}#{counter}", shas[7], "Assigning an unregistered commit"))
        elif f"fd@{version}!" not in {e[0] for e in events}:
            events.append((f"fd@{version}!", sha, f"Deregistering artifact fd version {version}"))
    stamps = rng.sample(range(1_700_000_000, 1_700_000_000 + 1000), len(events))
    for (tag, sha, message), stamp in zip(events, stamps, strict=True):
        obj = make_tag_object(project, tag, sha, message, f"A <a@x> {stamp} +0000")
        create_ref(project, tag, obj, sha)
    assert_show_agrees(project, codes=(0, 3))  # dates out of counter order: show marks, exit 3
