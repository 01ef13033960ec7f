"""``ratchet monitor``, ``ratchet batch`` and ``ratchet monitor-months``: production monitoring."""

from __future__ import annotations

from pathlib import Path

import click

from mlratchet.cli.options import (
    option_json,
    option_md,
    option_params_file,
    option_policy,
    option_repo,
)
from mlratchet.cli.render import echo_json, fail, note


@click.command()
@click.argument("current", type=click.Path(path_type=Path))
@click.option(
    "--reference",
    "reference_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Reference data (Parquet or CSV) [default: the rows the model was trained on].",
)
@click.option(
    "-c",
    "--contract",
    "contract_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Also validate the batch against this contract.",
)
@click.option(
    "--model",
    "model_text",
    default=None,
    metavar="REF",
    help="The model: NAME#STAGE, NAME@vX.Y.Z, a git revision or `workspace` "
    "[default: workspace, unless --reference is given].",
)
@click.option(
    "--column",
    "columns",
    multiple=True,
    help="Compare only this column (repeatable) [default: the model's inputs, or all].",
)
@click.option(
    "--stream/--in-memory",
    default=None,
    help="Stream Parquet row groups into histograms, or keep every value for exact "
    "statistics [default: stream above 2M rows].",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write report.json, report.md and report.html (with charts) into this folder.",
)
@option_repo
@option_policy
@option_json
@option_md
def monitor(
    *,
    current: Path,
    reference_path: Path | None,
    contract_path: Path | None,
    model_text: str | None,
    columns: tuple[str, ...],
    stream: bool | None,
    out: Path | None,
    repo: Path,
    policy_file: Path | None,
    as_json: bool,
    as_md: bool,
) -> int:
    """Compare a batch of production data (CURRENT, Parquet or CSV) with the reference.

    Reports drift per feature (KS, PSI, Wasserstein; chi-square, PSI, Jensen-Shannon) and for
    the dataset, contract violations, missing and non-finite values in every input and in the
    model's scores, training/serving skew, and drift of the model's scores. Thresholds come
    from `monitor:` in ratchet.yaml. Exit 1 on an alert.
    """
    from mlratchet.monitor.render import headline, markdown, write_outputs
    from mlratchet.monitor.run import run

    result = run(
        current,
        repo=repo,
        policy_file=policy_file,
        reference_path=reference_path,
        contract_path=contract_path,
        model_text=model_text,
        columns=list(columns) or None,
        stream=stream,
    )
    report = result.report
    if out is not None:
        for path in write_outputs(result, out):
            note(f"wrote {path}")
    if as_json:
        echo_json(report)
    elif as_md:
        click.echo(markdown(report), nl=False)
    for alert in report["alerts"]:
        fail(f"alert: {alert['kind']}: {alert['message']}")
    if report["verdict"] == "alert":
        fail(headline(report))
        return 1
    note(headline(report))
    return 0


@click.command()
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
    from mlratchet.monitor.batch import write_batch
    from mlratchet.params import load_params

    late = load_params(params_file).prepare.late_minutes
    rows = write_batch(months, late, output, raw_dir)
    note(f"wrote {output}: {rows} rows of month(s) {', '.join(map(str, sorted(set(months))))}")
    return 0


@click.command("monitor-months")
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
@option_json
def monitor_months(model_text: str, out: Path, repo: Path, params_file: Path, as_json: bool) -> int:
    """Run the monitor on each month of the raw data against the model's training rows.

    Prints the month-by-month drift table (Markdown) and writes it with a heat map of every
    feature's drift by month. Always exits 0: it is a report, not a check.
    """
    from mlratchet.monitor.seasonal import markdown, month_by_month, write

    result = month_by_month(repo=repo, params_file=params_file, model_text=model_text)
    for path in write(result, out):
        note(f"wrote {path}")
    if as_json:
        echo_json({"reference": result.reference, "months": result.rows})
    else:
        click.echo(markdown(result), nl=False)
    return 0
