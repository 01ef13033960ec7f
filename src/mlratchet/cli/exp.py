"""``ratchet exp``: experiments as DVC experiments (``refs/exps``), run, compared, exported."""

from __future__ import annotations

import click

from mlratchet.cli.group import LazyGroup

#: subcommand -> "module:attribute", imported on first use.
SUBCOMMANDS: dict[str, str] = {
    "run": "mlratchet.cli.exp_run:run",
    "branch": "mlratchet.cli.exp_run:branch",
    "show": "mlratchet.cli.exp_show:show",
    "diff": "mlratchet.cli.exp_show:diff",
    "export": "mlratchet.cli.exp_export:export",
}


@click.group(cls=LazyGroup, lazy=SUBCOMMANDS)
def exp() -> None:
    """Experiments: sweeps as DVC experiments, a leaderboard judged by ratchet.yaml."""
