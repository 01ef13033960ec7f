"""``ratchet metrics``: show, diff (with a verdict) and history, DVC-compatible and fast."""

from __future__ import annotations

from pathlib import Path

import click

from mlratchet.cli.options import (
    exclusive,
    option_all,
    option_csv,
    option_json,
    option_md,
    option_precision,
    option_repo,
)
from mlratchet.cli.render import echo_json, fail, note


@click.group()
def metrics() -> None:
    """Show, compare and track metrics (the files DVC calls metrics).

    A revision is any git revision or `workspace`. Output matches DVC's tables byte for byte.
    """


@metrics.command("show")
@click.option(
    "--rev",
    default="workspace",
    show_default=True,
    metavar="REV",
    help="The revision to read (a git revision, or `workspace`).",
)
@option_json
@option_md
@option_precision
@option_repo
def show(*, rev: str, as_json: bool, as_md: bool, precision: int | None, repo: Path) -> int:
    """Print every metrics file at a revision (as `dvc metrics show`)."""
    exclusive(json=as_json, md=as_md)
    from mlratchet.metrics import show as show_metrics
    from mlratchet.metrics.render import effective_precision, json_safe, show_table

    shown = show_metrics(repo, rev)
    if as_json:
        data = {path: {"data": value} for path, value in shown.files.items()}
        echo_json(json_safe({shown.rev.name: {"data": data}}))
    else:
        text = show_table(shown.flat, markdown=as_md, precision=effective_precision(precision))
        click.echo(text, nl=False)
    return 0


@metrics.command("diff")
@click.argument("a_rev", default="HEAD", required=False, metavar="[A_REV]")
@click.argument("b_rev", default="workspace", required=False, metavar="[B_REV]")
@option_md
@option_json
@option_all
@option_precision
@click.option(
    "--check",
    is_flag=True,
    help="Judge the change by the ratchet.metrics rules: add a Status column, exit 1 when a "
    "declared metric regressed beyond its tolerance, is NaN/Inf, or is missing.",
)
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Read the rules from this policy file (default: ratchet.yaml at A_REV).",
)
@option_repo
def diff(
    *,
    a_rev: str,
    b_rev: str,
    as_md: bool,
    as_json: bool,
    show_all: bool,
    precision: int | None,
    check: bool,
    policy_file: Path | None,
    repo: Path,
) -> int:
    """Compare metrics between A_REV (default HEAD) and B_REV (default the workspace).

    Shows changed metrics (all with --all), as `dvc metrics diff`.
    """
    exclusive(json=as_json, md=as_md)
    if policy_file is not None and not check:
        raise click.UsageError("--policy only applies with --check")
    from mlratchet.metrics import compare
    from mlratchet.metrics.render import diff_json, diff_table, effective_precision

    comparison = compare(
        repo,
        a_rev,
        b_rev,
        kind="metrics",
        with_unchanged=show_all,
        check=check,
        policy_file=policy_file,
    )
    result, status = comparison.checked() if check else (comparison.diff, None)
    if as_json:
        echo_json(diff_json(result, status))
    else:
        text = diff_table(
            result,
            title="Metric",
            a_rev=a_rev,
            b_rev=b_rev,
            markdown=as_md,
            precision=effective_precision(precision),
            round_digits=True,
            status=status,
        )
        click.echo(text, nl=False)
    if not check:
        return 0
    failed = comparison.failed
    for verdict in failed:
        fail(verdict.describe())
    rules = len({v.key for v in comparison.verdicts or ()})
    if failed:
        fail(f"metrics check failed: {len({v.key for v in failed})} of {rules} rules said no")
        return 1
    note(f"metrics check passed: {rules} rules")
    return 0


@metrics.command("history")
@click.option(
    "--rev",
    "rev_range",
    default=None,
    metavar="RANGE",
    help="A revision (history back from it) or A..B (default: HEAD).",
)
@click.option(
    "--last",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Only the newest N commits.",
)
@click.option(
    "--metric",
    "metric_keys",
    multiple=True,
    metavar="KEY",
    help="A metric to show (flat key, or PATH:KEY); repeatable. Default: all.",
)
@option_json
@option_csv
@click.option(
    "--plot",
    "plot_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    metavar="FILE.png",
    help="Also draw the numeric metrics as a PNG line chart (stdout stays quiet unless --json "
    "or --csv).",
)
@option_precision
@option_repo
def history(
    *,
    rev_range: str | None,
    last: int | None,
    metric_keys: tuple[str, ...],
    as_json: bool,
    as_csv: bool,
    plot_file: Path | None,
    precision: int | None,
    repo: Path,
) -> int:
    """The metrics at each commit of the first-parent history, newest first, with tags.

    A commit where a metrics file is absent shows `-`; a file that is malformed or not in the
    local DVC cache is reported on stderr and makes the exit status 2 (after the output).
    """
    exclusive(json=as_json, csv=as_csv)
    from mlratchet.metrics import history as metrics_history

    hist = metrics_history(repo, rev_range, last=last, metrics=metric_keys)
    if plot_file is not None:
        from mlratchet.metrics.plot import plot_history

        drawn = plot_history(hist, plot_file)
        note(f"wrote {plot_file} ({len(drawn)} metrics, {len(hist.points)} commits)")
    from mlratchet.metrics.render import history_csv, history_json_text, history_table

    if as_json:
        click.echo(history_json_text(hist), nl=False)
    elif as_csv:
        click.echo(history_csv(hist), nl=False)
    elif plot_file is None:
        click.echo(history_table(hist, precision), nl=False)
    if hist.note:
        note(hist.note)
    for sha, _path, message in hist.errors:
        fail(f"{sha[:7]}: {message}")
    return 2 if hist.errors else 0
