"""``ratchet repro``: run the DVC pipeline, measured, and record what each stage cost."""

from __future__ import annotations

from pathlib import Path

import click

from mlratchet.cli.options import option_json, option_md, option_repo
from mlratchet.cli.render import echo_json, fail, note


@click.command("repro")
@click.argument("targets", nargs=-1)
@click.option(
    "-f", "--force", is_flag=True, help="Run every stage even if it is up to date (dvc repro -f)."
)
@click.option(
    "--pull",
    is_flag=True,
    help="Pull missing dependencies, outputs and the run-cache from the DVC remote first.",
)
@option_repo
@option_json
@option_md
def repro(
    *, targets: tuple[str, ...], force: bool, pull: bool, repo: Path, as_json: bool, as_md: bool
) -> int:
    """Run the pipeline with DVC and record each stage's cost with the commit.

    TARGETS are DVC stage names or dvc.yaml paths, as for `dvc repro` (default: every stage).
    A live view of the stages is shown on stderr; at the end, a table of each stage's status
    (ran, skipped, restored from the run-cache, pulled, failed), wall time, CPU time and
    peak memory. The record is stored in the git note refs/notes/mlratchet (key `repro`) of
    the commit whose dvc.lock matches; until you commit, it waits in .dvc/tmp/ratchet/.
    A failing stage exits 1 naming the stage, its command and the end of its stderr.
    """
    from mlratchet.cli.progress import (
        STAGE_COLUMNS,
        StageDisplay,
        print_table,
        stage_markdown,
        stage_rows,
    )
    from mlratchet.reproduce import repro as run_repro

    with StageDisplay("repro") as display:
        report = run_repro(repo, targets, force=force, pull=pull, on_event=display)
    runs = list(report.stages)
    if as_json:
        echo_json(report.to_json())
    elif as_md:
        click.echo(stage_markdown(runs), nl=False)
    elif runs:
        print_table("ratchet repro", STAGE_COLUMNS, stage_rows(runs))
    stored = report.stored
    if stored.note and stored.commit:
        note(f"compute record of {', '.join(stored.note)} stored on commit {stored.commit[:7]}")
    if stored.pending:
        note(
            f"compute record of {', '.join(stored.pending)} kept until you commit dvc.lock "
            "(it is then stored on that commit by the next `ratchet repro`)"
        )
    if stored.warning:
        fail(f"warning: {stored.warning}; the compute record is kept until the next run")
    if report.failed is not None:
        failed = report.failed
        message = f"error: stage '{failed.stage}' failed: {failed.error}"
        if failed.cmd:
            message += f"\n  command: {failed.cmd}"
        if failed.stderr_tail:
            tail = "\n".join(f"    {line}" for line in failed.stderr_tail.splitlines())
            message += f"\n  end of its stderr:\n{tail}"
        fail(message)
        return 1
    return 0
