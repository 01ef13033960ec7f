"""`ratchet metrics show|diff` and `ratchet params diff`: outputs, the verdict, every error path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from helpers import commit_all, gen, git
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
POLICY = (
    "metrics:\n"
    "  val.auc: {direction: higher, tolerance: 0.01}\n"
    "  val.loss: {direction: lower, rel_tolerance: 0.05}\n"
)


def metrics_json(auc: float | str, loss: float | str, **extra: object) -> str:
    return json.dumps({"val": {"auc": auc, "loss": loss}, **extra})


@pytest.fixture
def repo(tmp_repo: Path) -> Path:
    """A committed stage with metrics and a policy; the workspace equals HEAD."""
    gen(
        tmp_repo,
        {
            "dvc.yaml": STAGE,
            "params.yaml": "lr: 0.1\n",
            "ratchet.yaml": POLICY,
            "metrics.json": metrics_json(0.8, 0.5),
        },
    )
    commit_all(tmp_repo, "baseline")
    return tmp_repo


def invoke(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "-R", str(repo)])


def test_show_table_md_json(repo: Path) -> None:
    """show prints a plain table by default, a Markdown table with --md, DVC's JSON with --json."""
    plain = invoke(repo, "metrics", "show")
    assert plain.exit_code == 0
    assert plain.stdout.splitlines() == [
        "Path          val.auc    val.loss",
        "metrics.json  0.8        0.5",
    ]
    md = invoke(repo, "metrics", "show", "--md")
    assert md.stdout.startswith("| Path         | val.auc   | val.loss   |\n")
    data = json.loads(invoke(repo, "metrics", "show", "--json", "--rev", "HEAD").stdout)
    assert data == {
        "HEAD": {"data": {"metrics.json": {"data": {"val": {"auc": 0.8, "loss": 0.5}}}}}
    }


def test_diff_defaults_head_vs_workspace(repo: Path) -> None:
    """With no revisions, diff compares HEAD with the workspace; unchanged metrics are hidden."""
    gen(repo, {"metrics.json": metrics_json(0.85, 0.5)})
    result = invoke(repo, "metrics", "diff", "--md")
    assert result.exit_code == 0
    assert result.stdout == (
        "| Path         | Metric   | HEAD   | workspace   | Change   |\n"
        "|--------------|----------|--------|-------------|----------|\n"
        "| metrics.json | val.auc  | 0.8    | 0.85        | 0.05     |\n\n"
    )
    assert invoke(repo, "metrics", "diff").stdout.splitlines()[1].split() == [
        "metrics.json",
        "val.auc",
        "0.8",
        "0.85",
        "0.05",
    ]


@pytest.mark.parametrize(
    ("auc", "loss", "code", "statuses"),
    [
        (0.85, 0.5, 0, {"val.auc": "improved", "val.loss": "unchanged"}),
        (0.795, 0.52, 0, {"val.auc": "unchanged", "val.loss": "unchanged"}),  # within tolerance
        (0.7, 0.5, 1, {"val.auc": "regressed", "val.loss": "unchanged"}),
        (0.8, 0.6, 1, {"val.auc": "unchanged", "val.loss": "regressed"}),
        ("NaN", 0.5, 1, {"val.auc": "not finite", "val.loss": "unchanged"}),
        ("high", 0.5, 1, {"val.auc": "not a number", "val.loss": "unchanged"}),
    ],
)
def test_check_verdict(
    repo: Path, auc: float | str, loss: float | str, code: int, statuses: dict[str, str]
) -> None:
    """--check adds a status per declared metric and exits 1 on a regression, NaN or text."""
    text = metrics_json(auc, loss).replace('"NaN"', "NaN")
    gen(repo, {"metrics.json": text})
    result = invoke(repo, "metrics", "diff", "--check", "--json")
    assert result.exit_code == code, result.stderr
    data = json.loads(result.stdout)  # strict JSON even with a NaN metric
    assert {k: v["status"] for k, v in data["metrics.json"].items()} == statuses
    md = invoke(repo, "metrics", "diff", "--check", "--md")
    assert md.exit_code == code
    header = md.stdout.splitlines()[0]
    assert header.split("|")[-2].strip() == "Status"
    if code:
        failed = [k for k, s in statuses.items() if s not in {"improved", "unchanged"}]
        assert f"metrics check failed: {len(failed)} of 2 rules said no" in md.stderr
        assert all(key in md.stderr for key in failed)
    else:
        assert "metrics check passed: 2 rules" in md.stderr


def test_check_missing_metric_fails(repo: Path) -> None:
    """A declared metric absent on the new side (or everywhere) fails the check."""
    gen(repo, {"metrics.json": json.dumps({"val": {"auc": 0.8}})})
    result = invoke(repo, "metrics", "diff", "--check", "--md")
    assert result.exit_code == 1
    assert "| metrics.json | val.loss | 0.5    | -           | -        | missing   |" in (
        result.stdout
    )
    assert "metrics.json: val.loss missing: 0.5 -> - (lower is better" in result.stderr


def test_check_rules_come_from_the_baseline(repo: Path, tmp_path: Path) -> None:
    """Loosening a tolerance in the change under review does not loosen its own check."""
    gen(repo, {"metrics.json": metrics_json(0.7, 0.5)})
    gen(repo, {"ratchet.yaml": POLICY.replace("tolerance: 0.01", "tolerance: 0.5")})
    assert invoke(repo, "metrics", "diff", "--check").exit_code == 1
    loose = tmp_path / "loose.yaml"
    loose.write_text((repo / "ratchet.yaml").read_text())
    assert invoke(repo, "metrics", "diff", "--check", "--policy", str(loose)).exit_code == 0


def test_params_diff(repo: Path) -> None:
    """params diff shows params.yaml whole, as `dvc params diff`, and never the policy file."""
    gen(repo, {"params.yaml": "lr: 0.2\n", "ratchet.yaml": POLICY.replace("0.01", "0.02")})
    result = invoke(repo, "params", "diff", "--md")
    assert result.exit_code == 0
    assert result.stdout == (
        "| Path        | Param   | HEAD   | workspace   |\n"
        "|-------------|---------|--------|-------------|\n"
        "| params.yaml | lr      | 0.1    | 0.2         |\n\n"
    )
    data = json.loads(invoke(repo, "params", "diff", "--json", "--all").stdout)
    assert data["params.yaml"]["lr"] == {"old": 0.1, "new": 0.2, "diff": 0.2 - 0.1}
    assert list(data) == ["params.yaml"]
    assert not any(key.startswith("metrics.") for key in data["params.yaml"])


def _commit_broken(repo: Path, files: dict[str, str]) -> str:
    gen(repo, files)
    return commit_all(repo, "broken")[:7]


@pytest.mark.parametrize(
    ("args", "setup", "message"),
    [
        (("metrics", "show", "--rev", "nope"), {}, "error: unknown revision 'nope'"),
        (("metrics", "diff", "nope"), {}, "error: unknown revision 'nope'"),
        (("params", "diff", "HEAD", "nope"), {}, "error: unknown revision 'nope'"),
        (
            ("metrics", "show", "--json", "--md"),
            {},
            "Error: --json and --md cannot be used together",
        ),
        (
            ("metrics", "diff", "--md", "--json"),
            {},
            "Error: --json and --md cannot be used together",
        ),
        (
            ("params", "diff", "--md", "--json"),
            {},
            "Error: --json and --md cannot be used together",
        ),
        (
            ("metrics", "diff", "--policy", "p.yaml"),
            {},
            "Error: --policy only applies with --check",
        ),
        (
            (
                "metrics",
                "show",
            ),
            {"metrics.json": "{nope"},
            "error: metrics.json at workspace: malformed JSON: Expecting property name",
        ),
        (
            ("metrics", "diff", "HEAD~1", "HEAD"),
            {"commit": "1", "metrics.json": "[1,"},
            "error: metrics.json at HEAD ({head}): malformed JSON",
        ),
        (
            ("metrics", "diff", "HEAD", "HEAD~1"),
            {"commit": "1", "rm": "metrics.json"},
            "error: metrics.json at HEAD ({head}): no such file; it is git-tracked "
            "(`cache: false`), not DVC-cached, and was not committed there",
        ),
        (
            ("metrics", "diff"),
            {"rm": "metrics.json"},
            "error: metrics.json at workspace: no such file; it is missing from the work tree",
        ),
        (
            ("params", "diff"),
            {"params.yaml": "lr: [1\n"},
            "error: params.yaml at workspace: malformed YAML",
        ),
        (
            ("metrics", "diff"),
            {"dvc.yaml": "stages: [\n"},
            "error: dvc.yaml at workspace: malformed YAML",
        ),
        (
            ("metrics", "diff"),
            {"dvc.yaml": "stages:\n  s:\n    cmd: echo\n    metrics:\n      - ${name}.json\n"},
            "error: dvc.yaml at workspace: stage 's' declares metrics or params through templating",
        ),
        (
            ("metrics", "diff"),
            {"dvc.yaml": "stages:\n  s:\n    cmd: echo\n    metrics: x.json\n"},
            "error: dvc.yaml at workspace: stage 's': `metrics` must be a list",
        ),
        (
            ("metrics", "diff", "--check"),
            {"ratchet.yaml": "", "commit": "1"},
            "error: --check: ratchet.yaml at HEAD ({head}) declares no rules under metrics:",
        ),
        (
            ("metrics", "diff", "--check"),
            {
                "ratchet.yaml": POLICY.replace("direction: higher", "direction: up"),
                "commit": "1",
            },
            "error: ratchet.yaml at HEAD ({head}): metrics.val.auc.direction: must be one "
            "of 'higher', 'lower', got 'up'",
        ),
        (
            ("metrics", "diff", "--check"),
            {"ratchet.yaml": POLICY.replace("tolerance: 0.01", "tol: 0.01"), "commit": "1"},
            "error: ratchet.yaml at HEAD ({head}): metrics.val.auc.tol: unknown key",
        ),
        (
            ("metrics", "diff", "--check", "--policy", "missing.yaml"),
            {},
            "error: missing.yaml: no such file",
        ),
    ],
)
def test_errors_exit_2_with_one_line(
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    setup: dict[str, str],
    message: str,
) -> None:
    """Every bad input is exit 2, one stderr line naming file, key or revision, stdout empty."""
    monkeypatch.chdir(repo)
    files = dict(setup)
    commit = files.pop("commit", None)
    removed = files.pop("rm", None)
    gen(repo, files)
    if removed:
        (repo / removed).unlink()
    if commit:
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "change")
    head = git(repo, "rev-parse", "--short=7", "HEAD")
    result = invoke(repo, *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(message.format(head=head)), lines
    assert len(lines) == 1 or "Usage" in result.stderr


def test_cached_metric_not_in_cache_says_dvc_pull(repo: Path) -> None:
    """A DVC-cached metrics file not in the local cache at a commit: exit 2, pull that commit."""
    gen(
        repo,
        {
            "dvc.yaml": "stages:\n  s:\n    cmd: echo\n    metrics: [cached.json]\n",
            "dvc.lock": (
                "schema: '2.0'\nstages:\n  s:\n    cmd: echo\n    outs:\n    - path: cached.json\n"
                "      hash: md5\n      md5: 0123456789abcdef0123456789abcdef\n      size: 2\n"
            ),
        },
    )
    head = commit_all(repo, "cached metric")[:7]
    result = invoke(repo, "metrics", "diff", "HEAD~1", "HEAD")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: cached.json at HEAD ({head}) is DVC-cached and not in the local cache; "
        f"run `dvc pull` after `git checkout {head}`, or `dvc fetch --all-commits`"
    )


def test_outside_git_is_exit_2(tmp_path: Path) -> None:
    """A directory outside any git repository: exit 2 naming it."""
    result = CliRunner().invoke(cli, ["metrics", "show", "-R", str(tmp_path)])
    assert result.exit_code == 2
    assert f"not a git repository: {tmp_path.resolve()}" in result.stderr


@pytest.mark.parametrize("path", ["../secret.json", "/etc/passwd"])
def test_path_escaping_the_project_is_refused(repo: Path, path: str) -> None:
    """A metrics path in dvc.yaml that leads out of the project: refused (exit 5), not read."""
    gen(repo, {"dvc.yaml": f"stages:\n  s:\n    cmd: echo\n    metrics:\n      - {path}\n"})
    result = invoke(repo, "metrics", "show")
    assert result.exit_code == 5
    assert result.stderr.strip() == (
        f"error: dvc.yaml at workspace: {path!r} is outside the project; refusing to read it"
    )
