"""``ratchet params``: check the params file."""

from __future__ import annotations

from pathlib import Path

import click

from mlratchet.cli.options import (
    exclusive,
    option_all,
    option_json,
    option_md,
    option_policy,
    option_repo,
)
from mlratchet.cli.render import echo_json, fail, note
from mlratchet.exitcodes import ExitCode


@click.group()
def params() -> None:
    """Inspect, check and compare params."""


@params.command("check")
@option_repo
@option_policy
@option_json
def check(repo: Path, policy_file: Path | None, as_json: bool) -> int:
    """Check that every param a stage of dvc.yaml declares exists and has a value.

    Files are read as DVC reads them (YAML 1.2, JSON, TOML); ratchet.yaml is validated too.
    Every problem is listed, one line each (exit 2); exit 0 when all is well.
    """
    from mlratchet.paramscheck import check_params

    result = check_params(repo, policy_file)
    if as_json:
        echo_json(result.to_json())
    for line in result.notes:
        note(f"note: {line}")
    for problem in result.problems:
        fail(f"error: {problem}")
    if not result.ok:
        return ExitCode.BAD_INPUT
    keys = sum(len(k) for k in result.checked.values())
    files = len(result.checked)
    note(f"params: {keys} declared key(s) in {files} file(s) present; {result.policy}: valid")
    return 0


@params.command("diff")
@click.argument("a_rev", default="HEAD", required=False, metavar="[A_REV]")
@click.argument("b_rev", default="workspace", required=False, metavar="[B_REV]")
@option_md
@option_json
@option_all
@option_repo
def diff(*, a_rev: str, b_rev: str, as_md: bool, as_json: bool, show_all: bool, repo: Path) -> int:
    """Compare params between A_REV (default HEAD) and B_REV (default the workspace).

    params.yaml whole, and every params file or key a stage declares, as `dvc params diff`.
    """
    exclusive(json=as_json, md=as_md)
    from mlratchet.metrics import compare
    from mlratchet.metrics.render import diff_json, diff_table

    comparison = compare(repo, a_rev, b_rev, kind="params", with_unchanged=show_all)
    if as_json:
        echo_json(diff_json(comparison.diff))
    else:
        text = diff_table(
            comparison.diff,
            title="Param",
            a_rev=a_rev,
            b_rev=b_rev,
            markdown=as_md,
            show_change=False,
        )
        click.echo(text, nl=False)
    return 0
