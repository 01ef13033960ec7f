"""Options shared by commands, defined once (as GTO does)."""

from __future__ import annotations

from pathlib import Path

import click

option_json = click.option(
    "--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout."
)
option_md = click.option("--md", "as_md", is_flag=True, help="Print a Markdown table on stdout.")
option_repo = click.option(
    "-R",
    "--repo",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path(),
    show_default=True,
    envvar="RATCHET_REPO",
    help="The repository to work in.",
)
option_params_file = click.option(
    "--params",
    "params_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("params.yaml"),
    show_default=True,
    help="The params file.",
)
