"""``ratchet monitor``: production monitoring."""

from __future__ import annotations

from pathlib import Path

import click

from mlratchet.cli.options import (
    PATH_OR_URL,
    option_json,
    option_md,
    option_policy,
    option_repo,
)
from mlratchet.cli.render import echo_json, fail, note


@click.command()
@click.argument("current", type=PATH_OR_URL)
@click.option(
    "--reference",
    "reference_path",
    type=PATH_OR_URL,
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
    "--labels",
    "labels_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Labels that arrived later (Parquet or CSV), joined to the batch on "
    "monitor.realized.key: judge the model's realized performance.",
)
@click.option(
    "--labelled",
    is_flag=True,
    help="The batch holds the label column (monitor.realized.label): judge the model's "
    "realized performance on its labelled rows.",
)
@click.option(
    "--history",
    "history_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE.jsonl",
    help="Record this run as one JSON line per (batch, model) in FILE (replacing the line of "
    "the same batch and model); the reports chart realized performance over its batches.",
)
@click.option(
    "--batch-label",
    default=None,
    metavar="LABEL",
    help="The batch's name in --history [default: the batch file's or folder's stem].",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write report.json, report.md and report.html (with charts) into this folder.",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Summarise the row groups of Parquet datasets (a file or folder, local or s3://) "
    "on a Dask cluster (tcp://HOST:PORT); needs --reference.",
)
@option_repo
@option_policy
@option_json
@option_md
def monitor(
    *,
    current: Path | str,
    reference_path: Path | str | None,
    contract_path: Path | None,
    model_text: str | None,
    columns: tuple[str, ...],
    stream: bool | None,
    labels_path: Path | None,
    labelled: bool,
    history_path: Path | None,
    batch_label: str | None,
    out: Path | None,
    repo: Path,
    policy_file: Path | None,
    as_json: bool,
    as_md: bool,
    scheduler: str | None = None,
) -> int:
    """Compare a batch of production data (CURRENT: Parquet, CSV, or a folder of Parquet
    files such as the prediction log of `ratchet serve --log-dir`) with the reference.

    Reports drift per feature (KS, PSI, Wasserstein; chi-square, PSI, Jensen-Shannon) and for
    the dataset, contract violations, missing and non-finite values in every input and in the
    model's scores, training/serving skew, and drift of the model's scores. With labels
    (--labelled: the policy's label column in the batch; --labels FILE: joined on its key), the
    model's realized metrics and business cost against its validation values. Thresholds come
    from `monitor:` in ratchet.yaml. Exit 1 on an alert.

    With --history FILE.jsonl, each run adds its line (batch, model, version, verdict, drifted
    features, realized and validation metrics) to FILE, and the reports show realized
    performance over the batches FILE holds: a chart (HTML) and a table (Markdown).

    With --scheduler, CURRENT and --reference are Parquet datasets (a file, or a folder of
    them, local or s3://) the cluster's workers can read; each row group is summarised on a
    worker and the summaries merged here: the same report as --stream in one process.
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
        labels_path=labels_path,
        labelled=labelled,
        scheduler=scheduler,
        history_path=history_path,
        batch_label=batch_label,
    )
    report = result.report
    if out is not None:
        for path in write_outputs(result, out):
            note(f"wrote {path}")
    if "history" in report:
        history = report["history"]
        note(
            f"{history['file']}: batch {history['batch']!r} {history['action']} "
            f"({len(history['entries'])} entries)"
        )
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
