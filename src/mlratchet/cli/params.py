"""``ratchet params``: check the params file."""

from __future__ import annotations

from pathlib import Path

import click

from mlratchet.cli.options import (
    exclusive,
    option_all,
    option_json,
    option_md,
    option_params_file,
    option_repo,
)
from mlratchet.cli.render import echo_json, note


@click.group()
def params() -> None:
    """Inspect, check and compare params."""


@params.command("check")
@option_params_file
@option_json
def check(params_file: Path, as_json: bool) -> int:
    """Validate every stage section of the params file strictly.

    A missing, unknown or mistyped key is reported with its name (exit 2).
    """
    from dataclasses import asdict

    from mlratchet.params import load_params

    loaded = load_params(params_file)
    if as_json:
        echo_json({"path": str(params_file), "valid": True, "sections": sorted(asdict(loaded))})
    else:
        note(f"{params_file}: valid")
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
