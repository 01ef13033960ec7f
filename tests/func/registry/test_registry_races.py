"""Races and tampering: concurrent promotions, a push race between clones, the audit."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from registry_project import commits, env_with, gto, ratchet, tags

from helpers import dvc, git
from mlratchet.registry import promote as registry
from mlratchet.registry.state import load_state
from mlratchet.registry.tags import parse_tag_name


def spawn(repo: Path, *args: str) -> subprocess.Popen[str]:
    """Start the real `ratchet` CLI in its own process."""
    return subprocess.Popen(
        [sys.executable, "-m", "mlratchet", *args],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """Wait for a process: (exit code, stderr)."""
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def assert_loser_message(code: int, err: str) -> None:
    """A losing process exits 4 with one clear line and never a traceback."""
    assert code == 4, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: fd: the registry changed while this command ran")


@pytest.mark.parametrize("rounds", [5, pytest.param(50, marks=pytest.mark.slow)])
def test_concurrent_promotions_never_overwrite(project: Path, rounds: int) -> None:
    """Rounds of two racing processes: one tag per counter, nothing moved, no traceback."""
    v1, v2, v3 = commits(project)
    for rev in (v1, v2, v3):
        registry.register(project, "fd", rev=rev)
    versions = ("v0.0.1", "v0.0.2", "v0.0.3")
    seen: dict[str, str] = dict(tags(project))
    losers = 0
    for _ in range(rounds):
        current = load_state(project).artifacts["fd"].stages.get("staging")
        pair = [v for v in versions if current is None or v != current.version][:2]
        procs = [spawn(project, "promote", "fd", "--to", "staging", "--version", v) for v in pair]
        results = [finish(p) for p in procs]
        assert any(code == 0 for code, _ in results), results
        for code, err in results:
            if code != 0:
                losers += 1
                assert_loser_message(code, err)
        now = tags(project)
        assert {name: now[name] for name in seen} == seen  # no tag moved or deleted
        seen = now
        counters = [p.counter for p in map(parse_tag_name, now) if p and p.counter]
        assert len(counters) == len(set(counters))  # exactly one tag per counter
    assert losers > 0  # the race was exercised
    state = load_state(project).artifacts["fd"]
    assert json.loads(gto(project, "show", "--json").stdout)["fd"]["stage"] == {
        "staging": state.stages["staging"].version
    }


@pytest.fixture
def clones(project: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A bare remote of the project and two clones of it (each with the DVC cache), and a
    DVC remote holding every version's model (``--push`` requires it)."""
    remote = tmp_path / "remote.git"
    store = str(tmp_path / "dvc-store")
    git(tmp_path, "clone", "-q", "--bare", str(project), str(remote))
    dvc(project, "remote", "add", "--local", "-d", "store", store)
    dvc(project, "push", "-q", "--all-commits")
    made = []
    for name in ("alice", "bob"):
        clone = tmp_path / name
        git(tmp_path, "clone", "-q", str(remote), str(clone))
        shutil.copytree(project / ".dvc" / "cache", clone / ".dvc" / "cache")
        dvc(clone, "remote", "add", "--local", "-d", "store", store)
        made.append(clone)
    return remote, made[0], made[1]


def test_push_refused_when_the_remote_has_unfetched_tags(clones: tuple[Path, Path, Path]) -> None:
    """Bob has not fetched Alice's promotion: exit 4, nothing created; after a fetch it works."""
    remote, alice, bob = clones
    v1, v2, _ = commits(alice)
    assert ratchet(alice, "promote", "fd", "--to", "staging", "--rev", v1, "--push").returncode == 0
    before = tags(bob)
    proc = ratchet(bob, "promote", "fd", "--to", "staging", "--rev", v2, "--push")
    assert proc.returncode == 4
    assert "git fetch --tags origin" in proc.stderr and "Traceback" not in proc.stderr
    assert tags(bob) == before
    git(bob, "fetch", "-q", "--tags", "origin")
    proc = ratchet(bob, "promote", "fd", "--to", "staging", "--rev", v2, "--push")
    assert proc.returncode == 0, proc.stderr
    assert set(tags(remote)) == {"fd@v0.0.1", "fd#staging#1", "fd@v0.0.2", "fd#staging#2"}


def test_rejected_push_removes_only_the_tags_it_created(clones: tuple[Path, Path, Path]) -> None:
    """Another clone wins between our check and our push: our unpushed tags go, exit 4."""
    remote, alice, bob = clones
    v1, v2, _ = commits(alice)
    registry.register(alice, "fd", rev=v1)
    git(alice, "push", "-q", "origin", "fd@v0.0.1")
    git(bob, "fetch", "-q", "--tags", "origin")
    # Alice promotes locally; Bob's pre-push hook publishes her tag just before Bob pushes.
    registry.promote(alice, "fd", "staging", version="v0.0.1")
    hook = bob / ".git" / "hooks" / "pre-push"
    hook.write_text(f"#!/bin/sh\ngit -C '{alice}' push -q origin 'fd#staging#1'\n")
    hook.chmod(0o755)
    before = tags(bob)
    alice_tag = tags(alice)["fd#staging#1"]
    proc = ratchet(bob, "promote", "fd", "--to", "staging", "--rev", v2, "--push")
    assert proc.returncode == 4, proc.stderr
    assert "rejected" in proc.stderr and "git fetch --tags origin" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert tags(bob) == before  # its registration and assignment tags were both removed
    assert tags(remote)["fd#staging#1"] == alice_tag
    assert "fd@v0.0.2" not in tags(remote)  # the atomic push sent nothing


def test_concurrent_pushes_from_two_clones(clones: tuple[Path, Path, Path]) -> None:
    """Alice and Bob promote and push at once: one wins, the other exits 4 and keeps no tag."""
    remote, alice, bob = clones
    v1, v2, _ = commits(alice)
    before = {alice: tags(alice), bob: tags(bob)}
    procs = {
        alice: spawn(alice, "promote", "fd", "--to", "staging", "--rev", v1, "--push"),
        bob: spawn(bob, "promote", "fd", "--to", "staging", "--rev", v2, "--push"),
    }
    results = {clone: finish(proc) for clone, proc in procs.items()}
    codes = sorted(code for code, _ in results.values())
    assert codes == [0, 4], results
    for clone, (code, err) in results.items():
        assert "Traceback" not in err
        if code == 4:
            assert tags(clone) == before[clone]
            assert "git fetch --tags origin" in err
    assignments = [t for t in tags(remote) if "#" in t]
    assert assignments == ["fd#staging#1"]


def test_audit_finds_lightweight_and_future_dated_tags(project: Path) -> None:
    """A lightweight tag and a future-dated tag: exit 3, both reported (and as JSON)."""
    v1, v2, _ = commits(project)
    registry.promote(project, "fd", "staging", rev=v1)
    assert ratchet(project, "registry", "audit").returncode == 0
    git(project, "tag", "fd#staging#7", v2)
    future = env_with(GIT_COMMITTER_DATE="2099-01-01T00:00:00+0000")
    proc = subprocess.run(
        ["git", "tag", "-a", "fd#production#2", v2, "-m", "Assigning stage production"],
        cwd=project,
        env=future,
        check=True,
    )
    assert proc.returncode == 0
    registry_tags = tags(project)
    proc = ratchet(project, "registry", "audit", "--json")
    assert proc.returncode == 3
    report = json.loads(proc.stdout)
    found = {(f["kind"], f["tag"]) for f in report["findings"]}
    assert ("lightweight", "fd#staging#7") in found
    assert ("future-dated", "fd#production#2") in found
    assert ("date-order", "fd#production#2") not in found  # no higher counter is older
    assert report["ok"] is False
    text = ratchet(project, "registry", "audit")
    assert text.returncode == 3
    assert "lightweight" in text.stdout and "future-dated" in text.stdout
    assert "finding(s)" in text.stderr
    # a promotion refuses a registry whose order is unreliable: exit 3, nothing written
    proc = ratchet(project, "promote", "fd", "--to", "staging", "--rev", v2)
    assert proc.returncode == 3
    assert "future-dated" in proc.stderr
    assert tags(project) == registry_tags


def test_audit_finds_a_moved_tag(project: Path) -> None:
    """A tag re-created later under an old counter disagrees with the counters' order."""
    v1, v2, _ = commits(project)
    registry.promote(project, "fd", "staging", rev=v1)
    registry.promote(project, "fd", "staging", rev=v2)
    git(project, "tag", "-d", "fd#staging#1")  # someone deletes and re-creates it by hand
    import time

    time.sleep(1.1)
    git(project, "tag", "-a", "fd#staging#1", v1, "-m", "Assigning stage staging")
    report = json.loads(ratchet(project, "registry", "audit", "--json").stdout)
    assert [(f["kind"], f["tag"]) for f in report["findings"]] == [("date-order", "fd#staging#1")]


def test_audit_finds_assignments_to_unknown_versions(project: Path) -> None:
    """An assignment to a commit where no version is registered is reported (exit 3)."""
    v1, v2, _ = commits(project)
    registry.promote(project, "fd", "staging", rev=v1)
    git(project, "tag", "-a", "fd#staging#2", v2, "-m", "Assigning stage staging")
    git(project, "tag", "-a", "fd@latest", v2, "-m", "not GTO's format")
    proc = ratchet(project, "registry", "audit", "--json")
    assert proc.returncode == 3
    found = {(f["kind"], f["tag"]) for f in json.loads(proc.stdout)["findings"]}
    assert found == {("unknown-version", "fd#staging#2"), ("malformed", "fd@latest")}


def test_a_tag_dated_ahead_of_the_clock_blocks_promotion(project: Path) -> None:
    """A counter tag a minute ahead: a new tag would sort before it, so exit 3, no tag."""
    import time

    v1, v2, _ = commits(project)
    registry.register(project, "fd", rev=v1)
    ahead = env_with(GIT_COMMITTER_DATE=f"{int(time.time()) + 60} +0000")
    subprocess.run(
        ["git", "tag", "-a", "fd#staging#1", v1, "-m", "Assigning stage staging"],
        cwd=project,
        env=ahead,
        check=True,
    )
    before = tags(project)
    proc = ratchet(project, "promote", "fd", "--to", "staging", "--rev", v2)
    assert proc.returncode == 3, proc.stderr
    assert "tag fd#staging#1 is dated" in proc.stderr
    assert tags(project) == before
