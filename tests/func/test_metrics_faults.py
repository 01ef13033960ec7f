"""Fault cases of metrics and params reading: symlinks, missing files, git edge cases, secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from helpers import commit_all, gen
from mlratchet.cli.group import cli

STAGE = (
    "stages:\n"
    "  train:\n"
    "    cmd: echo\n"
    "    params: [lr]\n"
    "    metrics:\n"
    "      - metrics.json:\n"
    "          cache: false\n"
)


def invoke(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "-R", str(repo)])


@pytest.fixture
def repo(tmp_repo: Path) -> Path:
    """A committed stage with a git-tracked metrics file and params."""
    gen(
        tmp_repo,
        {"dvc.yaml": STAGE, "params.yaml": "lr: 0.1\n", "metrics.json": '{"auc": 0.8}'},
    )
    commit_all(tmp_repo, "baseline")
    return tmp_repo


# -- 1. symlinks ---------------------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file outside the project holding something that must not be printed."""
    secret = tmp_path / "outside" / "secret.json"
    secret.parent.mkdir()
    secret.write_text('{"stolen": 42}', encoding="utf-8")
    return secret


def test_workspace_symlink_out_of_the_project_is_refused(repo: Path, outside: Path) -> None:
    """A metrics file that is a symlink to a file outside the project: exit 5, not printed."""
    (repo / "metrics.json").unlink()
    (repo / "metrics.json").symlink_to(outside)
    result = invoke(repo, "metrics", "show", "--json")
    assert result.exit_code == 5, result.output
    assert "stolen" not in result.output
    assert result.stderr.strip() == (
        f"error: metrics.json at workspace is a symlink to {outside.resolve()}, outside the "
        "project; refusing to read it (commit the file itself, or point the link inside the "
        "repository)"
    )


def test_committed_symlink_out_of_the_project_is_refused(repo: Path, outside: Path) -> None:
    """At a revision, a blob of mode 120000 leading out of the project is refused (exit 5)."""
    (repo / "metrics.json").unlink()
    (repo / "metrics.json").symlink_to(outside)
    head = commit_all(repo, "link out")[:7]
    for args, where in (
        (("metrics", "show", "--rev", "HEAD"), f"HEAD ({head})"),
        (("metrics", "history"), head),
    ):
        result = invoke(repo, *args)
        assert result.exit_code == 5, (args, result.output)
        assert "stolen" not in result.output
        assert f"metrics.json at {where} is a symlink to {outside}, outside" in result.stderr


def test_params_symlink_out_of_the_project_is_refused(repo: Path, outside: Path) -> None:
    """A params file linking out of the project is refused too: one reader for every kind."""
    target = outside.with_name("params.yaml")
    target.write_text("lr: 0.5\npassword: hunter2\n", encoding="utf-8")
    (repo / "params.yaml").unlink()
    (repo / "params.yaml").symlink_to(target)
    result = invoke(repo, "params", "diff", "HEAD")
    assert result.exit_code == 5, result.output
    assert "hunter2" not in result.output
    assert "params.yaml at workspace is a symlink to" in result.stderr


def test_committed_symlink_inside_the_project_is_followed(repo: Path) -> None:
    """A committed relative symlink to a file in the repository reads that file's metrics."""
    gen(repo, {"real/metrics.json": '{"auc": 0.9}'})
    (repo / "metrics.json").unlink()
    (repo / "metrics.json").symlink_to("real/metrics.json")
    commit_all(repo, "link in")
    for rev in ("HEAD", "workspace"):
        result = invoke(repo, "metrics", "show", "--json", "--rev", rev)
        assert result.exit_code == 0, result.output
        shown = json.loads(result.stdout)[rev]["data"]["metrics.json"]["data"]
        assert shown == {"auc": 0.9}


def test_committed_relative_symlink_escaping_is_refused(repo: Path) -> None:
    """A committed link whose relative target climbs out of the project is refused at HEAD."""
    (repo / "metrics.json").unlink()
    (repo / "metrics.json").symlink_to("../../etc/passwd")
    commit_all(repo, "link up")
    result = invoke(repo, "metrics", "show", "--rev", "HEAD")
    assert result.exit_code == 5, result.output
    assert "is a symlink to ../../etc/passwd" in result.stderr
