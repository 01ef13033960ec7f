"""``flightdelay``: the reference project's own commands (its data window, batches, months).

These know the NYC flights data and this project's params.yaml, so they live here, not in the
generic ``ratchet``. The group is mlratchet's :class:`~mlratchet.cli.RatchetGroup`, so errors get
the same one-line messages and exit codes.
"""

from __future__ import annotations

from pathlib import Path

import click

from mlratchet.cli import RatchetGroup
from mlratchet.cli.options import option_json, option_params_file, option_policy, option_repo
from mlratchet.cli.render import echo_json, note


@click.group(cls=RatchetGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """The NYC flights 2013 reference project of mlratchet."""


@cli.command()
@click.option("--end", "end_only", is_flag=True, help="Print only the newest month of the window.")
@option_params_file
@option_json
def window(end_only: bool, params_file: Path, as_json: bool) -> int:
    """Show the data window: the months the pipeline trains, validates and tests on."""
    from flightdelay.window import current

    shown = current(params_file)
    if end_only:
        click.echo(shown.end)
    elif as_json:
        echo_json({"train": shown.train, "val": shown.val, "test": shown.test, "end": shown.end})
    else:
        click.echo(shown.describe())
    return 0


@cli.command()
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
    from flightdelay.window import advance as advance_window

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


@cli.command()
@click.option(
    "-m",
    "--month",
    "months",
    type=click.IntRange(1, 12),
    multiple=True,
    required=True,
    help="A month of the raw data to include (repeatable).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The Parquet file to write.",
)
@click.option(
    "--raw",
    "raw_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/raw"),
    show_default=True,
    help="The folder of raw flights.parquet and weather.parquet.",
)
@option_params_file
def batch(months: tuple[int, ...], output: Path, raw_dir: Path, params_file: Path) -> int:
    """Build a serving batch of prepared rows from raw months, as the pipeline prepares them.

    The rows go through the same function as training data (prepare's build_examples), so a
    batch is what the model would be served for those months.
    """
    from flightdelay.batch import write_batch
    from flightdelay.params import load_params

    late = load_params(params_file).prepare.late_minutes
    rows = write_batch(months, late, output, raw_dir)
    note(f"wrote {output}: {rows} rows of month(s) {', '.join(map(str, sorted(set(months))))}")
    return 0


@cli.command("monitor-months")
@click.option(
    "--model",
    "model_text",
    default="workspace",
    show_default=True,
    metavar="REF",
    help="The model whose training rows are the reference (NAME#STAGE, a revision...).",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports/monitor-2013"),
    show_default=True,
    help="Write months.md, months.json and drift-by-month.png into this folder.",
)
@option_repo
@option_params_file
@option_policy
@option_json
def monitor_months(
    model_text: str,
    out: Path,
    repo: Path,
    params_file: Path,
    policy_file: Path | None,
    as_json: bool,
) -> int:
    """Run the monitor on each month of the raw data against the model's training rows.

    Prints the month-by-month drift table (Markdown) and writes it with a heat map of every
    feature's drift by month. Always exits 0: it is a report, not a check.
    """
    from flightdelay.seasonal import markdown, month_by_month, write

    result = month_by_month(
        repo=repo, params_file=params_file, policy_file=policy_file, model_text=model_text
    )
    for path in write(result, out):
        note(f"wrote {path}")
    if as_json:
        echo_json({"reference": result.reference, "months": result.rows})
    else:
        click.echo(markdown(result), nl=False)
    return 0


def main() -> None:
    """The ``flightdelay`` console script."""
    cli.main(prog_name="flightdelay")
