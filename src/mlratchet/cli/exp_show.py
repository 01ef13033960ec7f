"""``ratchet exp show`` (the leaderboard) and ``ratchet exp diff A B``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlratchet.cli.options import (
    exclusive,
    option_all,
    option_csv,
    option_exp_all,
    option_exp_baseline,
    option_json,
    option_md,
    option_policy,
    option_precision,
    option_repo,
)
from mlratchet.cli.render import echo_json, note

if TYPE_CHECKING:
    from mlratchet.experiments.leaderboard import Baseline, Leaderboard, Row

#: How a table marks a metric's verdict against the baseline (--md spells the word out).
MARKS = {
    "improved": "↑",
    "regressed": "↓",
    "unchanged": "=",
    "added": "+",
    "missing": "!",
    "not finite": "!",
    "not a number": "!",
}
FILL = "-"


def _sort_option(text: str | None) -> tuple[str | None, Any]:
    if text is None:
        return None, None
    key, colon, way = text.rpartition(":")
    if colon and way in ("higher", "lower"):
        return key, way
    return text, None


@click.command("show")
@option_exp_all
@option_exp_baseline
@click.option(
    "--sort",
    metavar="METRIC[:higher|:lower]",
    default=None,
    help="Rank by this metric (flat key) instead of the policy's primary; its direction comes "
    "from its rule under metrics:, or is given after a colon.",
)
@click.option(
    "--all-metrics",
    is_flag=True,
    help="Show (and chart, with --html) every metric, not only the primary and those with a "
    "rule in ratchet.yaml.",
)
@option_json
@option_md
@option_csv
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    metavar="FILE",
    help="Also write the leaderboard as a self-contained HTML page.",
)
@option_policy
@option_precision
@option_repo
def show(
    *,
    all_baselines: bool,
    baseline: str | None,
    sort: str | None,
    all_metrics: bool,
    as_json: bool,
    as_md: bool,
    as_csv: bool,
    html_file: Path | None,
    policy_file: Path | None,
    precision: int | None,
    repo: Path,
) -> int:
    """The leaderboard: each experiment's metrics and swept params, judged against its baseline
    by ratchet.yaml (↑ improved, ↓ regressed, = unchanged), best first by the primary metric.

    Reads DVC's experiments (refs/exps) and ours, straight from git. Failed experiments (the
    baseline's git note) are listed with their error.
    """
    exclusive(json=as_json, md=as_md, csv=as_csv)
    from mlratchet.experiments.leaderboard import load

    key, direction = _sort_option(sort)
    board = load(
        repo,
        all_baselines=all_baselines,
        baseline=baseline,
        policy_file=policy_file,
        sort=key,
        direction=direction,
    )
    if not board.experiments:
        where = "any baseline" if all_baselines else f"baseline {board.baseline.rev[:7]}"
        note(f"no experiments of {where} (run `ratchet exp run`)")
    if html_file is not None:
        from importlib import import_module  # the HTML page's module is optional

        import_module("mlratchet.experiments.html").write_html(
            html_file, board, all_metrics=all_metrics
        )
        note(f"wrote {html_file}")
    if as_json:
        from mlratchet.metrics.render import strict_json

        click.echo(strict_json(board.to_json(), indent=None), nl=False)
        return 0
    style = "csv" if as_csv else "md" if as_md else "plain"
    headers, rows = _table(board, all_metrics=all_metrics, precision=precision, style=style)
    if as_csv:
        from mlratchet.metrics.render import csv_text

        click.echo(csv_text(headers, rows), nl=False)
        return 0
    from mlratchet.metrics.render import table

    click.echo(table(headers, rows, markdown=as_md), nl=False)
    return 0


def _columns(board: Leaderboard, all_metrics: bool) -> list[tuple[str, str]]:
    """The metric columns (path, key): the primary first, then those the policy names, then
    (with ``all_metrics``, or when none of them is reported) every other, in order of
    appearance (:meth:`Leaderboard.shown_metrics`)."""
    seen: dict[tuple[str, str], None] = {}
    for metrics in [board.baseline.metrics, *(r.metrics for r in board.experiments)]:
        for path, flat in metrics.items():
            seen.update(dict.fromkeys((path, k) for k in flat))
    from mlratchet.experiments.leaderboard import select_metrics

    named = board.shown_metrics() or ()
    primary = board.primary.metric if board.primary else None

    def order(pair: tuple[str, str]) -> int:
        return 0 if pair[1] == primary else 1 if pair[1] in named else 2

    return sorted(select_metrics(seen, board.shown_metrics(all_metrics)), key=order)


def _names(pairs: list[tuple[str, str]], default: str | None = None) -> list[str]:
    """Column titles (:func:`mlratchet.experiments.leaderboard.titles`)."""
    from mlratchet.experiments.leaderboard import titles

    return titles(pairs, default)


def _table(
    board: Leaderboard, *, all_metrics: bool, precision: int | None, style: str
) -> tuple[list[str], list[list[Any]]]:
    """The header and rows: the baseline first, then the experiments in rank order. A judged
    cell carries its verdict: a mark (plain), the word (md); CSV has the values as they are
    and a verdict column per judged metric."""
    from mlratchet.metrics.render import effective_precision, format_field

    csv = style == "csv"
    digits = effective_precision(precision)
    metrics = _columns(board, all_metrics)
    params = list(board.swept)
    names = _names(metrics)
    pairs = {(v.path, v.key) for r in board.experiments for v in r.verdicts}
    judged = [i for i, pair in enumerate(metrics) if pair in pairs] if csv else []
    headers = [
        "Experiment",
        "Rank",
        "Status",
        *names,
        *_names(params, "params.yaml"),
        *(f"{names[i]} verdict" for i in judged),
    ]

    def cell(value: Any) -> Any:
        if csv:
            return value
        return FILL if value is None else format_field(value, digits)

    def row_of(first: list[Any], item: Row | Baseline) -> list[Any]:
        marks = {(v.path, v.key): str(v.status) for v in getattr(item, "verdicts", ())}
        out = list(first)
        for path, key in metrics:
            text = cell(item.metrics.get(path, {}).get(key))
            verdict = marks.get((path, key))
            if verdict is not None and not csv:
                text = f"{text} ({verdict})" if style == "md" else f"{text} {MARKS[verdict]}"
            out.append(text)
        out.extend(cell(item.params.get(path, {}).get(key)) for path, key in params)
        out.extend(marks.get(metrics[i]) for i in judged)
        return out

    base = board.baseline
    rows = [row_of([base.name or base.rev[:7], None if csv else FILL, "baseline"], base)]
    for item in board.experiments:
        status = item.status if item.error is None or item.status == "failed" else "error"
        rank = item.rank if csv else FILL if item.rank is None else str(item.rank)
        rows.append(row_of([item.name, rank, status], item))
    for item in board.experiments:
        if item.error:
            note(f"{item.name}: {item.error}")
    return headers, rows


@click.command("diff")
@click.argument("a_rev", metavar="A")
@click.argument("b_rev", metavar="B")
@option_json
@option_md
@option_all
@option_policy
@option_precision
@option_repo
def diff(
    *,
    a_rev: str,
    b_rev: str,
    as_json: bool,
    as_md: bool,
    show_all: bool,
    policy_file: Path | None,
    precision: int | None,
    repo: Path,
) -> int:
    """Params and metrics from A to B (experiment names or any revisions), the metrics judged
    by the rules of ratchet.yaml at A (a Status column).

    The tables of `ratchet params diff` and `ratchet metrics diff --check`; the exit status is
    0 whatever the verdicts (`ratchet metrics diff --check A B` is the gate).
    """
    exclusive(json=as_json, md=as_md)
    from mlratchet.experiments.leaderboard import diff as exp_diff
    from mlratchet.metrics.render import diff_table, effective_precision

    result = exp_diff(repo, a_rev, b_rev, policy_file=policy_file, with_unchanged=show_all)
    if as_json:
        echo_json(result.to_json())
        return 0
    params = diff_table(
        result.params.diff,
        title="Param",
        a_rev=a_rev,
        b_rev=b_rev,
        markdown=as_md,
        show_change=False,
    )
    changes, status = result.metrics.checked()
    metrics = diff_table(
        changes,
        title="Metric",
        a_rev=a_rev,
        b_rev=b_rev,
        markdown=as_md,
        precision=effective_precision(precision),
        round_digits=True,
        status=status if result.metrics.verdicts is not None else None,
    )
    click.echo(params + ("\n" if params and metrics and not as_md else "") + metrics, nl=False)
    return 0
