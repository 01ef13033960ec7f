"""``ratchet init``: draft ratchet.yaml and the CI/CT/monitor workflows for a DVC project."""

from __future__ import annotations

from pathlib import Path

import click

from mlratchet.cli.options import option_json, option_repo
from mlratchet.cli.render import echo_json, note


@click.command()
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.option("--dry-run", is_flag=True, help="Show the files' contents; write nothing.")
@click.option(
    "--install",
    "install",
    metavar="SPEC",
    default=None,
    help="The pip spec the workflows install mlratchet from [default: the mlratchet line of "
    "the project's requirements, else mlratchet[all], to pin].",
)
@option_repo
@option_json
def init(force: bool, dry_run: bool, install: str | None, repo: Path, as_json: bool) -> int:
    """Draft ratchet.yaml (next to dvc.yaml) and .github/workflows/{ci,ct,monitor}.yml.

    Metric rules come from the keys of the metrics files dvc.yaml declares, with a direction
    guessed from the name; registry stages (staging, production) from its artifacts. Every
    guess is marked for review. An existing file is exit 4 unless --force; nothing is written.
    """
    from mlratchet.scaffold import init as run_init

    result = run_init(repo, force=force, dry_run=dry_run, install=install)
    if as_json:
        echo_json(result.to_json())
    elif dry_run:
        for f in result.files:
            click.echo(f"--- {f.path}")
            click.echo(f.text, nl=False)
    verb = "would write" if dry_run else "wrote"
    for f in result.files:
        suffix = ""
        if f.existed:
            suffix = " (overwriting)" if force else " (exists: needs --force)"
            suffix = " (overwrote)" if not dry_run else suffix
        note(f"{verb} {f.path}{suffix}")
    return 0
