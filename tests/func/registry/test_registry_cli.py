"""`ratchet registry show|history`: what a person and a script read, and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from registry_project import commits

from mlratchet.cli.group import cli
from mlratchet.registry import promote as registry


def invoke(project: Path, *args: str) -> tuple[int, str, str]:
    """Run a ratchet command in-process on ``project``: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, [*args, "-R", str(project)])
    return result.exit_code, result.stdout, result.stderr


def test_show_lists_declared_artifacts_before_any_tag(project: Path) -> None:
    """An artifact declared in dvc.yaml shows with no version and its policy's stages."""
    code, out, _ = invoke(project, "registry", "show", "--json")
    assert code == 0
    (fd,) = json.loads(out)["artifacts"]
    assert fd == {
        "name": "fd",
        "declared": True,
        "registered": False,
        "deprecated": False,
        "latest": None,
        "stages": {"staging": None, "production": None},
        "inconsistent": {},
    }


def test_show_table_and_artifact_versions(project: Path) -> None:
    """The overview table has a column per stage; NAME lists versions with their stages."""
    v1, v2, _ = commits(project)
    registry.promote(project, "fd", "staging", rev=v1)
    registry.promote(project, "fd", "production", version="v0.0.1")
    registry.promote(project, "fd", "staging", rev=v2)
    code, out, _ = invoke(project, "registry", "show")
    assert code == 0
    header, _, row = out.splitlines()
    assert header.split() == ["artifact", "latest", "#staging", "#production"]
    assert row.split() == ["fd", "v0.0.2", "v0.0.2", "v0.0.1"]
    code, out, _ = invoke(project, "registry", "show", "fd", "--json")
    versions = {v["version"]: v for v in json.loads(out)["versions"]}
    assert versions["v0.0.1"]["stages"] == ["production"]
    assert versions["v0.0.1"]["holds"] == ["staging", "production"]
    assert versions["v0.0.2"]["stages"] == ["staging"]
    code, out, _ = invoke(project, "registry", "show", "--md")
    assert out.splitlines()[0] == "| artifact | latest | #staging | #production |"


def test_history_is_chronological_with_messages_without_cards(project: Path) -> None:
    """History lists every event oldest first; the message is GTO's line, the card flagged."""
    registry.promote(project, "fd", "staging")
    code, out, _ = invoke(project, "registry", "history", "fd", "--json")
    assert code == 0
    events = json.loads(out)["events"]
    assert [(e["event"], e["tag"], e["card"]) for e in events] == [
        ("registration", "fd@v0.0.1", False),
        ("assignment", "fd#staging#1", True),
    ]
    assert events[1]["message"].splitlines()[0] == (
        "Assigning stage staging to artifact fd version v0.0.1"
    )
    assert "[mlratchet model card" not in events[1]["message"]


def test_unknown_names_are_bad_input(project: Path) -> None:
    """An unknown artifact, version or stage, or a malformed reference: exit 2, one line."""
    for args in (
        ["registry", "show", "nope"],
        ["registry", "show", "fd@v1.0.0"],
        ["registry", "show", "fd#staging"],
        ["registry", "show", "bad name!"],
        ["registry", "history", "nope"],
        ["promote", "fd", "--to", "bad stage"],
        ["register", "fd", "--version", "1.0"],
    ):
        code, out, err = invoke(project, *args)
        assert code == 2, (args, err)
        assert out == ""
        assert len(err.strip().splitlines()) == 1, err


def test_version_without_card_says_so(project: Path) -> None:
    """A version registered but never promoted has no card, and the command says so."""
    registry.register(project, "fd")
    code, out, err = invoke(project, "registry", "show", "fd@v0.0.1")
    assert code == 0
    assert "fd v0.0.1 at" in out
    assert "no model card" in err


def test_the_same_model_bytes_are_the_same_version(project: Path) -> None:
    """A commit whose model equals a version's bytes registers nothing: that version is it
    (exit 0, said so, `gto show` agrees); an explicit other version for them is exit 4."""

    from helpers import commit_all, gen, git

    first = CliRunner().invoke(cli, ["register", "fd", "-R", str(project)])
    assert first.exit_code == 0, first.output
    gen(project, {"README.md": "docs only\n"})
    commit_all(project, "docs only: the model is unchanged")
    again = CliRunner().invoke(cli, ["register", "fd", "-R", str(project), "--json"])
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert (data["version"], data["same_bytes"], data["created"]) == ("v0.0.1", True, False)
    assert "already holds these bytes" in again.stderr
    assert [t for t in git(project, "tag").split() if t.startswith("fd@")] == ["fd@v0.0.1"]
    refused = CliRunner().invoke(cli, ["register", "fd", "-R", str(project), "--version", "v9.0.0"])
    assert refused.exit_code == 4
    assert "already holds these bytes" in refused.stderr
    promoted = CliRunner().invoke(cli, ["promote", "fd", "--to", "staging", "-R", str(project)])
    assert promoted.exit_code == 0, promoted.output
    assert "v0.0.1" in promoted.stderr
    assert [t for t in git(project, "tag").split() if t.startswith("fd@")] == ["fd@v0.0.1"]


def test_promote_policy_file_replaces_the_committed_policy(project: Path, tmp_path: Path) -> None:
    """`promote --policy FILE` judges by that file, and the gate table names it as the source."""
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        "registry:\n  fd:\n    stages:\n"
        "      - name: staging\n        verified: false\n        contract: false\n"
        "        thresholds: {model.val.auc: {min: 0.99}}\n"
    )
    result = CliRunner().invoke(
        cli,
        ["promote", "fd", "--to", "staging", "-R", str(project), "--policy", str(strict), "--json"],
    )
    assert result.exit_code == 1, result.output
    gates = {g["gate"]: g["result"] for g in json.loads(result.stdout)["gates"]}
    assert gates["model.val.auc"] == "fail"
