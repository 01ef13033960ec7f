"""Git notes a team can share: records that merge, pull and push through a real bare remote."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import commit_all, gen, git
from mlratchet import notes
from mlratchet.cli.group import cli
from mlratchet.errors import BadInputError, ConflictError, IntegrityError
from mlratchet.exitcodes import ExitCode


@pytest.fixture
def team(tmp_path: Path) -> dict[str, Path | str]:
    """A bare remote with one commit, and two clones of it (CI and a laptop)."""
    seed = tmp_path / "seed"
    seed.mkdir()
    git(seed, "init", "-q")
    gen(seed, {"README": "x\n"})
    sha = commit_all(seed, "one")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(remote))
    ci, laptop = tmp_path / "ci", tmp_path / "laptop"
    for clone in (ci, laptop):
        git(tmp_path, "clone", "-q", str(remote), str(clone))
    return {"remote": remote, "ci": ci, "laptop": laptop, "sha": sha}


def _raw(repo: Path, sha: str) -> str:
    return git(repo, "notes", "--ref", notes.NOTES_REF, "show", sha)


def _invoke(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def test_two_clones_push_to_the_same_commit_and_agree(team: dict) -> None:
    """CI and a laptop annotate one commit; both push (the second never fetched); both agree."""
    ci, laptop, sha = team["ci"], team["laptop"], team["sha"]
    notes.update(ci, sha, "verify", {"ok": True, "by": "ci"})
    notes.update(laptop, sha, "repro", {"stages": {"train": {"seconds": 1.5}}})
    first = notes.push(ci, "origin")
    assert first.pushed
    assert first.pull.status == "no-remote-notes"
    second = notes.push(laptop, "origin")  # laptop never fetched ci's notes: merged, not rejected
    assert second.pushed
    assert second.pull.status == "merged"
    assert notes.pull(ci, "origin").status == "fast-forward"
    expected = {
        "verify": {"ok": True, "by": "ci"},
        "repro": {"stages": {"train": {"seconds": 1.5}}},
    }
    for clone in (ci, laptop, team["remote"]):
        assert notes.read(clone, sha) == expected
    assert git(ci, "rev-parse", notes.NOTES_REF) == git(laptop, "rev-parse", notes.NOTES_REF)
    assert git(team["remote"], "rev-parse", notes.NOTES_REF) == git(
        ci, "rev-parse", notes.NOTES_REF
    )


def test_same_key_from_two_clones_latest_wins_everywhere(team: dict) -> None:
    """When both clones write the same key, every clone reads the later record after merging."""
    ci, laptop, sha = team["ci"], team["laptop"], team["sha"]
    notes.update(laptop, sha, "verify", {"ok": False})
    notes.update(ci, sha, "verify", {"ok": True})  # later
    notes.push(ci, "origin")
    notes.push(laptop, "origin")
    notes.pull(ci, "origin")
    assert notes.read(ci, sha)["verify"] == {"ok": True}
    assert notes.read(laptop, sha)["verify"] == {"ok": True}
    lines = _raw(laptop, sha).splitlines()
    assert len(lines) == 2
    assert all(json.loads(line)["key"] == "verify" for line in lines)


def test_git_union_merge_of_two_notes_is_still_valid(team: dict) -> None:
    """`git notes merge -s union`, done by hand, leaves a note that reads, with both keys."""
    ci, laptop, sha = team["ci"], team["laptop"], team["sha"]
    notes.update(ci, sha, "verify", {"ok": True})
    notes.update(laptop, sha, "repro", {"stages": {}})
    git(laptop, "fetch", "-q", str(ci), f"{notes.NOTES_REF}:refs/notes/ci")
    git(laptop, "notes", "--ref", notes.NOTES_REF, "merge", "-q", "-s", "union", "refs/notes/ci")
    assert notes.read(laptop, sha) == {"verify": {"ok": True}, "repro": {"stages": {}}}


def test_update_keeps_the_note_small_and_the_last_value(team: dict) -> None:
    """Repeated updates keep one line per key, and the last value written wins."""
    ci, sha = team["ci"], team["sha"]
    for n in range(5):
        notes.update(ci, sha, "repro", {"n": n})
    notes.update(ci, sha, "verify", {"ok": True})
    assert notes.read(ci, sha) == {"repro": {"n": 4}, "verify": {"ok": True}}
    assert len(_raw(ci, sha).splitlines()) == 2


def test_old_format_note_still_reads_and_upgrades(team: dict) -> None:
    """A note written as one JSON object (before records) reads, and update keeps its keys."""
    ci, sha = team["ci"], team["sha"]
    old = json.dumps({"repro": {"stages": {}}, "verify": {"ok": True}}, indent=2)
    git(ci, "notes", "--ref", notes.NOTES_REF, "add", "-m", old, sha)
    assert notes.read(ci, sha) == {"repro": {"stages": {}}, "verify": {"ok": True}}
    notes.update(ci, sha, "verify", {"ok": False})
    assert notes.read(ci, sha) == {"repro": {"stages": {}}, "verify": {"ok": False}}
    assert all(json.loads(line)["v"] == 1 for line in _raw(ci, sha).splitlines())


def test_corrupt_line_is_an_integrity_error_naming_the_commit(team: dict) -> None:
    """A line that is not JSON is not dropped: an integrity error naming the commit and line."""
    ci, sha = team["ci"], team["sha"]
    notes.update(ci, sha, "verify", {"ok": True})
    git(ci, "notes", "--ref", notes.NOTES_REF, "append", "-m", "{not json", sha)
    with pytest.raises(IntegrityError, match=rf"on {sha[:12]}, line 3: not JSON"):
        notes.read(ci, sha)


def test_corrupt_note_through_the_cli_is_exit_3(team: dict) -> None:
    """Pushing or pulling a note that does not read exits 3, one line naming the commit."""
    ci, laptop, sha = team["ci"], team["laptop"], team["sha"]
    git(ci, "notes", "--ref", notes.NOTES_REF, "add", "-m", '{"v": 1, "key": "verify"}', sha)
    result = _invoke("notes", "push", "--repo", str(ci))
    assert result.exit_code == ExitCode.INTEGRITY
    assert result.stderr.strip().splitlines() == [
        f"error: git note {notes.NOTES_REF} on {sha[:12]}, line 1: not an mlratchet record "
        '(expected {"at", "key", "v": 1, "value"}); fix or remove it with '
        f"`git notes --ref {notes.NOTES_REF} edit {sha[:12]}`"
    ]
    assert git(team["remote"], "for-each-ref", "refs/notes") == ""
    git(ci, "push", "-q", "origin", notes.NOTES_REF)  # by hand: the remote now holds it
    result = _invoke("notes", "pull", "--repo", str(laptop))
    assert result.exit_code == ExitCode.INTEGRITY
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"on {sha[:12]}, line 1" in result.stderr
    assert "from remote 'origin'" in result.stderr
    assert git(laptop, "for-each-ref", notes.NOTES_REF) == ""  # nothing corrupt was kept


def test_pull_from_a_remote_without_notes_is_ok(team: dict) -> None:
    """Pulling from a remote that has no notes yet says so and exits 0."""
    lib = notes.pull(team["ci"], "origin")
    assert lib.status == "no-remote-notes"
    assert lib.after is None
    result = _invoke("notes", "pull", "--repo", str(team["ci"]))
    assert result.exit_code == ExitCode.OK, result.output
    assert "origin has no mlratchet notes yet" in result.stderr
    result = _invoke("notes", "pull", "--repo", str(team["ci"]), "--json")
    assert json.loads(result.stdout)["status"] == "no-remote-notes"


def test_pull_creates_the_local_ref(team: dict) -> None:
    """A clone without notes gets the remote's notes on pull, under refs/notes/mlratchet."""
    ci, laptop, sha = team["ci"], team["laptop"], team["sha"]
    notes.update(ci, sha, "verify", {"ok": True})
    result = _invoke("notes", "push", "--repo", str(ci), "--json")
    assert result.exit_code == ExitCode.OK, result.output
    assert json.loads(result.stdout)["pushed"] is True
    result = _invoke("notes", "pull", "--repo", str(laptop), "--json")
    assert result.exit_code == ExitCode.OK, result.output
    report = json.loads(result.stdout)
    assert (report["status"], report["changed"]) == ("created", 1)
    assert notes.read(laptop, sha) == {"verify": {"ok": True}}
    again = _invoke("notes", "push", "--repo", str(laptop), "--json")
    assert json.loads(again.stdout)["pushed"] is False


def test_unreachable_remote_is_exit_2_one_line(team: dict, tmp_path: Path) -> None:
    """An unreachable remote: exit 2, one stderr line naming the remote, nothing on stdout."""
    missing = str(tmp_path / "no-such-remote.git")
    with pytest.raises(BadInputError, match="cannot reach remote"):
        notes.push(team["ci"], missing)
    for command in ("pull", "push"):
        result = _invoke("notes", command, "--repo", str(team["ci"]), "--remote", missing)
        assert result.exit_code == ExitCode.BAD_INPUT
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1
        assert f"cannot reach remote '{missing}'" in lines[0]


def test_push_retries_when_another_clone_pushed_meanwhile(team: dict) -> None:
    """If another clone pushes between our pull and our push, push pulls again and succeeds."""
    ci, laptop, sha = team["ci"], team["laptop"], team["sha"]
    notes.update(ci, sha, "verify", {"ok": True})
    notes.update(laptop, sha, "repro", {"stages": {}})
    # A real race: laptop's pre-push hook (once) lets ci push first.
    hook = laptop / ".git" / "hooks" / "pre-push"
    flag = laptop / ".git" / "raced"
    hook.write_text(
        "#!/bin/sh\n"
        f'[ -e "{flag}" ] && exit 0\ntouch "{flag}"\n'
        f'git -C "{ci}" push -q origin {notes.NOTES_REF}\n'
    )
    hook.chmod(0o755)
    result = notes.push(laptop, "origin")
    assert result.pushed
    assert result.attempts == 2
    notes.pull(ci, "origin")
    assert (
        notes.read(ci, sha)
        == notes.read(laptop, sha)
        == {"verify": {"ok": True}, "repro": {"stages": {}}}
    )


def test_push_gives_up_with_exit_4_when_always_raced(team: dict, tmp_path: Path) -> None:
    """A push rejected on every attempt is a conflict (exit 4) that says to retry."""
    ci, laptop, sha = team["ci"], team["laptop"], team["sha"]
    notes.update(laptop, sha, "repro", {"stages": {}})
    hook = laptop / ".git" / "hooks" / "pre-push"
    src = Path(notes.__file__).resolve().parents[1]
    writer = (
        f"import sys, time; sys.path.insert(0, {str(src)!r}); from mlratchet import notes; "
        f"notes.update({str(ci)!r}, {sha!r}, 'race', time.time_ns())"
    )
    hook.write_text(
        "#!/bin/sh\n"
        f'"{sys.executable}" -c "{writer}"\n'
        f'git -C "{ci}" push -q origin {notes.NOTES_REF}\n'
    )
    hook.chmod(0o755)
    with pytest.raises(ConflictError, match="rejected refs/notes/mlratchet 2 times"):
        notes.push(laptop, "origin", attempts=2)


def test_outside_a_repository_is_exit_2(tmp_path: Path) -> None:
    """`ratchet notes pull` outside a git repository: exit 2, naming the directory."""
    result = _invoke("notes", "pull", "--repo", str(tmp_path))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.strip() == f"error: {tmp_path.resolve()}: not inside a git repository"
