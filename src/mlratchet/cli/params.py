"""``ratchet params``: check the params file."""

from __future__ import annotations

from pathlib import Path

import click

from mlratchet.cli.options import option_json, option_params_file
from mlratchet.cli.render import echo_json, note


@click.group()
def params() -> None:
    """Inspect and check params.yaml."""


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
