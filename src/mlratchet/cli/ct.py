"""``ratchet ct``: continuous training helpers (the data window)."""

from __future__ import annotations

from pathlib import Path

import click

from mlratchet.cli.options import option_json, option_params_file
from mlratchet.cli.render import echo_json, note


@click.group()
def ct() -> None:
    """Continuous training: the data window the scheduled job advances."""


@ct.command("window")
@click.option("--end", "end_only", is_flag=True, help="Print only the newest month of the window.")
@option_params_file
@option_json
def window(end_only: bool, params_file: Path, as_json: bool) -> int:
    """Show the data window: the months the pipeline trains, validates and tests on."""
    from mlratchet.window import current

    shown = current(params_file)
    if end_only:
        click.echo(shown.end)
    elif as_json:
        echo_json({"train": shown.train, "val": shown.val, "test": shown.test, "end": shown.end})
    else:
        click.echo(shown.describe())
    return 0


@ct.command("advance")
@click.option(
    "--through",
    type=click.IntRange(1, 12),
    default=None,
    help="Move the window to end at this month (default: one month more).",
)
@option_params_file
@option_json
def advance(through: int | None, params_file: Path, as_json: bool) -> int:
    """Let the next month of data in: shift the split months in params.yaml forward.

    The validation and test spans keep their lengths and end at the newest month; training
    grows. The window never moves back (exit 2). At the end of the data, nothing changes.
    """
    from mlratchet.window import advance as advance_window

    done = advance_window(params_file, through=through)
    if as_json:
        echo_json(
            {
                "advanced": done.advanced,
                "before": {
                    "train": done.before.train,
                    "val": done.before.val,
                    "test": done.before.test,
                },
                "after": {
                    "train": done.after.train,
                    "val": done.after.val,
                    "test": done.after.test,
                },
            }
        )
    if done.advanced:
        note(f"data window: {done.before.describe()} -> {done.after.describe()}")
    else:
        note(f"data window: {done.before.describe()} (no newer month)")
    return 0
