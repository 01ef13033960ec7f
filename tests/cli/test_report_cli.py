"""`ratchet report` through Click: where the report goes, and each exit code it can return."""

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
POLICY = "metrics:\n  val.auc: {direction: higher, tolerance: 0.01}\n"


@pytest.fixture
def repo(tmp_repo: Path) -> Path:
    """Two commits of a metrics-only stage (no dvc.lock, no notes, no registry)."""
    for lr, auc in ((0.1, 0.8), (0.2, 0.7)):
        gen(
            tmp_repo,
            {
                "dvc.yaml": STAGE,
                "params.yaml": f"lr: {lr}\n",
                "ratchet.yaml": POLICY,
                "metrics.json": json.dumps({"val": {"auc": auc}}),
            },
        )
        commit_all(tmp_repo, f"lr {lr}")
    return tmp_repo


def invoke(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["report", *args, "-R", str(repo)])


def test_report_on_stdout_exit_0_even_when_a_check_fails(repo: Path) -> None:
    """The Markdown goes to stdout, the failed check to stderr, and the exit code is 0."""
    result = invoke(repo, "--base", "HEAD~1", "--head", "HEAD")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("<!-- mlratchet-report -->\n## mlratchet report: ")
    assert "| regressed" in result.stdout
    assert "no dvc.lock at" in result.stdout  # sections without input explain themselves
    assert "no version" not in result.stdout and "declares no artifacts" in result.stdout
    assert result.stderr == "report: checks failed (metrics); exit 0, the report only informs\n"


def test_out_file_and_json(repo: Path, tmp_path: Path) -> None:
    """--out writes the file and keeps stdout empty; --json --out writes strict JSON there."""
    out = tmp_path / "r.md"
    result = invoke(repo, "--base", "HEAD~1", "--out", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr.startswith(f"wrote {out}\n")
    assert out.read_text().startswith("<!-- mlratchet-report -->")
    result = invoke(repo, "--base", "HEAD~1", "--json", "--out", str(out))
    assert result.exit_code == 0
    assert json.loads(out.read_text())["metrics"]["failed_keys"] == ["val.auc"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "nope"], "error: unknown revision 'nope'"),
        (["--base", "HEAD", "--json", "--summary", "s.md"], "cannot be used with --json"),
        ([], "Missing option '--base'"),
    ],
)
def test_bad_input_is_exit_2(repo: Path, args: list[str], message: str) -> None:
    """An unknown revision, --json with --summary, no --base: exit 2 with one clear line."""
    result = invoke(repo, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_unwritable_out_is_exit_2(repo: Path, tmp_path: Path) -> None:
    """--out into a path that cannot be a file: exit 2 naming it, not an internal error."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = invoke(repo, "--base", "HEAD~1", "--out", str(blocker / "r.md"))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {blocker}")
    assert "cannot write the report" in result.stderr


def test_policy_file_replaces_the_committed_rules(repo: Path, tmp_path: Path) -> None:
    """`report --policy FILE` judges by that file: a tolerance wide enough passes the drop."""
    loose = tmp_path / "loose.yaml"
    loose.write_text("metrics:\n  val.auc: {direction: higher, tolerance: 0.5}\n")
    result = invoke(repo, "--base", "HEAD~1", "--head", "HEAD", "--policy", str(loose))
    assert result.exit_code == 0, result.output
    assert "| regressed" not in result.stdout
    assert "checks failed" not in result.stderr
