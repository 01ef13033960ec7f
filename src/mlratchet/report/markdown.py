"""The report as GitHub Markdown: one comment, found again by its hidden marker.

The metrics and params tables are the very tables ``ratchet metrics diff --check --md`` and
``ratchet params diff --md`` print (:func:`mlratchet.metrics.render.diff_table`); charts are
Mermaid ``xychart-beta`` blocks, which GitHub draws with no image host.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from pathlib import PurePath

from mlratchet.metrics.diff import DiffResult
from mlratchet.metrics.render import diff_table, effective_precision
from mlratchet.report import mermaid
from mlratchet.report.charts import nice_range
from mlratchet.report.sections import (
    Charts,
    Compute,
    Contract,
    MetricsDiff,
    Outputs,
    ParamsDiff,
    Plot,
    ProductionDiff,
    Report,
    StageCost,
    VerifyResult,
    describe,
)

#: The first line of every report: the workflow finds its sticky comment by it.
MARKER = "<!-- mlratchet-report -->"
MAX_CONTRACT_FAILURES = 5
MAX_MISMATCHES = 10
MD5_CHARS = 8

ICONS = {"passed": "✅", "failed": "❌", "not run": "⚪"}


#: GitHub refuses a comment body longer than this many characters (UTF-16 code units).
COMMENT_LIMIT = 65_536
#: A job summary may take 1 MiB per step; in characters, with room for multi-byte text.
SUMMARY_LIMIT = 512_000
#: How a report that is too long is shortened, step by step: at most this many rows per table,
#: and whether the Mermaid charts stay.
_SHORTER: tuple[tuple[int, bool], ...] = (
    (50, True),
    (20, True),
    (20, False),
    (5, False),
)


def render(report: Report, *, max_chars: int | None = None) -> str:
    """The whole report, ending with a newline.

    With ``max_chars`` (:data:`COMMENT_LIMIT` for a pull-request comment), a report that would be
    longer keeps the rows a rule judges and shows fewer of the others, then leaves out the
    charts, and says so in each place; as a last resort it is cut, with a closing line saying
    where the rest is.
    """
    text = _render(report, rows=None, charts=True)
    if max_chars is None or length(text) <= max_chars:
        return text
    for rows, charts in _SHORTER:
        text = _render(report, rows=rows, charts=charts)
        if length(text) <= max_chars:
            return text
    tail = (
        f"\n_The report was cut at {max_chars:,} characters (GitHub's size limit); "
        "run `ratchet report` for the whole of it._\n"
    )
    room = max(0, max_chars - length(tail))
    cut = text[:room]
    while length(cut) > room:  # characters outside the BMP count twice
        cut = cut[:-1]
    return cut[: cut.rfind("\n") + 1] + tail


def length(text: str) -> int:
    """The length GitHub counts: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _render(report: Report, *, rows: int | None, charts: bool) -> str:
    parts = [
        MARKER,
        f"## mlratchet report: `{describe(report.base)}` → `{describe(report.head)}`",
        "",
        status_line(report),
        "",
        _metrics_section(report.metrics, report, rows),
        _production_section(report.production, report.production_note, rows),
        _params_section(report.params, report, rows),
        _outputs_section(report.outputs, rows),
        _contract_section(report.contract),
        _verify_section(report.verify),
        _compute_section(report.compute, report),
        _charts_section(report.charts, report)
        if charts
        else "### Charts\n\n_Left out to fit GitHub's size limit"
        + ("; the full-size PNGs are in this workflow run's artifacts" if report.plots else "")
        + "._\n",
        "<sub>`ratchet report` informs and exits 0 whatever it finds; the CI gates are "
        "`ratchet metrics diff --check` and `ratchet verify`.</sub>",
    ]
    return "\n".join(parts).rstrip("\n") + "\n"


def _first_rows(
    result: DiffResult, rows: int | None, judged: Collection[tuple[str, str]] = ()
) -> tuple[DiffResult, int]:
    """At most ``rows`` rows of a diff (None: all): every row a rule judged, then the others in
    table order; and how many were left out."""
    total = sum(len(changes) for changes in result.values())
    if rows is None or total <= rows:
        return result, 0
    keep = {(path, key) for path, changes in result.items() for key in changes} & set(judged)
    for path, changes in result.items():
        for key in sorted(changes):
            if len(keep) >= rows:
                break
            keep.add((path, key))
    trimmed = {
        path: {key: change for key, change in changes.items() if (path, key) in keep}
        for path, changes in result.items()
    }
    return {path: changes for path, changes in trimmed.items() if changes}, total - len(keep)


def _left_out(omitted: int, what: str, command: str) -> list[str]:
    if not omitted:
        return []
    return [
        f"_{omitted:,} more {what} left out to fit GitHub's size limit: run `{command}`._",
        "",
    ]


def status_line(report: Report) -> str:
    """One line: which checks failed, passed, or did not run."""
    groups: dict[str, list[str]] = {"failed": [], "passed": [], "not run": []}
    for check in report.checks:
        groups[check.state].append(f"{check.name} ({check.detail})")
    if groups["failed"]:
        n = len(groups["failed"])
        head = f"**{ICONS['failed']} {n} check{'s' if n > 1 else ''} failed:** " + "; ".join(
            groups["failed"]
        )
    elif groups["passed"]:
        head = f"**{ICONS['passed']} Checks passed:** " + "; ".join(groups["passed"])
    else:
        head = f"{ICONS['not run']} No check ran: nothing was judged"
    rest = []
    if groups["failed"] and groups["passed"]:
        rest.append("**Passed:** " + "; ".join(groups["passed"]))
    if groups["not run"]:
        rest.append("**Not run:** " + "; ".join(groups["not run"]))
    return ". ".join([head, *rest]) + "."


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _metrics_table(diff: MetricsDiff) -> str:
    """Exactly ``ratchet metrics diff OLD NEW --check --md`` (without --check if no rules)."""
    return diff_table(
        diff.result,
        title="Metric",
        a_rev=diff.old_name,
        b_rev=diff.new_name,
        markdown=True,
        precision=effective_precision(None),
        round_digits=True,
        status=diff.status,
    )


def _metrics_body(diff: MetricsDiff, nothing: str, rows: int | None = None) -> list[str]:
    if diff.error is not None:
        return [f"Could not compare: {diff.error}", ""]
    out = []
    if diff.note:
        out += [f"_{diff.note}._", ""]
    if any(diff.result.values()):
        shown, omitted = _first_rows(diff.result, rows, diff.status or {})
        out.append(_metrics_table(dataclasses.replace(diff, result=shown)).rstrip("\n"))
        out.append("")
        command = f"ratchet metrics diff {diff.old_name} {diff.new_name} --md"
        out += _left_out(omitted, "metrics", command)
    else:
        out += [nothing, ""]
    if diff.status is not None:
        verdict = (
            f"{len(diff.failed_keys)} of {diff.rules} rules said no"
            if diff.failed
            else f"all {diff.rules} rules passed"
        )
        out += [f"Rules from {diff.rules_from}: {verdict}.", ""]
        out += [f"- {line}" for line in diff.failures]
        if diff.failures:
            out.append("")
    return out


def _metrics_section(diff: MetricsDiff, report: Report, rows: int | None = None) -> str:
    lines = [f"### Metrics vs base `{describe(report.base)}`", ""]
    lines += _metrics_body(diff, "No metric changed.", rows)
    return "\n".join(lines)


def _production_section(
    found: tuple[ProductionDiff, ...], note: str | None, rows: int | None = None
) -> str:
    stages = sorted({item.stage for item in found if item.stage})
    where = ", ".join(f"`{stage}`" for stage in stages) or "the last registry stage"
    lines = [f"### Metrics vs {where}", ""]
    if note:
        lines += [f"{note}.", ""]
    for item in found:
        if item.version is None:
            lines += [f"**{item.artifact}**: {item.note}.", ""]
            continue
        commit = (item.commit or "")[:7]
        tag = f", tag `{item.tag}`" if item.tag else ""
        title = f"**{item.artifact}** {item.version} in `{item.stage}` (commit `{commit}`{tag})"
        if item.metrics is None:
            lines += [f"{title}: {item.note}.", ""]
            continue
        lines += [f"{title}:", ""]
        lines += _metrics_body(item.metrics, f"No metric differs from {item.stage}.", rows)
    if any(item.version is not None for item in found):
        lines += ["_For information: promotion has its own gates._", ""]
    return "\n".join(lines)


def _params_section(diff: ParamsDiff, report: Report, rows: int | None = None) -> str:
    lines = [f"### Params vs base `{describe(report.base)}`", ""]
    if diff.error is not None:
        lines += [f"Could not compare: {diff.error}", ""]
    elif any(diff.result.values()):
        shown, omitted = _first_rows(diff.result, rows)
        table = diff_table(
            shown,
            title="Param",
            a_rev=diff.old_name,
            b_rev=diff.new_name,
            markdown=True,
            show_change=False,
        )
        lines += [table.rstrip("\n"), ""]
        command = f"ratchet params diff {diff.old_name} {diff.new_name} --md"
        lines += _left_out(omitted, "params", command)
    else:
        lines += ["No params changed.", ""]
    return "\n".join(lines)


def _md5(value: str | None) -> str:
    if value is None:
        return "-"
    suffix = ".dir" if value.endswith(".dir") else ""
    return f"`{value[:MD5_CHARS]}{suffix}`"


def human_size(size: float) -> str:
    """``512 B``, ``1.5 KiB``, ``12.3 MiB``."""
    value = float(abs(size))
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            text = f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
            return f"-{text}" if size < 0 else text
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _size(old: int | None, new: int | None) -> str:
    if old is None and new is None:
        return "-"
    if old is None:
        return f"new, {human_size(new or 0)}"
    if new is None:
        return f"removed ({human_size(old)})"
    delta = new - old
    sign = "+" if delta >= 0 else "-"
    return f"{human_size(old)} → {human_size(new)} ({sign}{human_size(abs(delta))})"


def _outputs_section(outputs: Outputs, limit: int | None = None) -> str:
    lines = ["### Data and model hashes (`dvc.lock`)", ""]
    if outputs.note:
        lines += [f"{outputs.note}.", ""]
    if outputs.changes:
        rows = []
        # When rows must be left out, artifacts (the models) stay; rows keep dvc.lock's order.
        keep = {id(c) for c in sorted(outputs.changes, key=lambda c: c.artifact is None)[:limit]}
        for change in (c for c in outputs.changes if id(c) in keep):
            path = f"`{change.path}`"
            if change.artifact:
                path += f" (artifact `{change.artifact}`)"
            rows.append(
                [
                    path,
                    _md5(change.old_md5),
                    _md5(change.new_md5),
                    _size(change.old_size, change.new_size),
                ]
            )
        lines += [_table(["Output", "Base md5", "Head md5", "Size"], rows).rstrip("\n"), ""]
        lines += _left_out(len(outputs.changes) - len(rows), "changed outputs", "dvc diff")
        if outputs.unchanged:
            n = outputs.unchanged
            lines += [f"{n} other output{'s' if n > 1 else ''} unchanged.", ""]
    elif not outputs.note or outputs.unchanged:
        lines += [f"No output changed ({outputs.unchanged} unchanged).", ""]
    return "\n".join(lines)


def _contract_section(contract: Contract) -> str:
    lines = ["### Data contract", ""]
    tables = ", ".join(name for name, _valid in contract.tables)
    where = f"`{contract.path}`"
    if contract.state == "valid":
        detail = f" ({len(contract.tables)} tables: {tables})" if contract.tables else ""
        lines.append(f"{ICONS['passed']} {where}: valid{detail}.")
    elif contract.state == "invalid":
        broken = ", ".join(name for name, valid in contract.tables if valid is False)
        lines.append(
            f"{ICONS['failed']} {where}: invalid"
            + (f" (tables: {broken})" if broken else "")
            + f", {len(contract.failures)} rules failed"
            + (":" if contract.failures else ".")
        )
        if contract.failures:
            lines.append("")
        for failure in contract.failures[:MAX_CONTRACT_FAILURES]:
            column = f"column `{failure.column}`" if failure.column else "the table"
            count = f" ({failure.count} rows)" if failure.count is not None else ""
            lines.append(f"- {failure.table}: {column} broke `{failure.rule}`{count}")
        more = len(contract.failures) - MAX_CONTRACT_FAILURES
        if more > 0:
            lines.append(f"- … and {more} more (see {where})")
    else:
        lines.append(f"{ICONS['not run']} {contract.note}.")
    lines.append("")
    return "\n".join(lines)


def _verify_section(result: VerifyResult) -> str:
    lines = ["### Reproducibility (`ratchet verify`)", ""]
    commit = f"`{result.commit[:7]}`" if result.commit else "this commit"
    when = f" on {result.verified_at}" if result.verified_at else ""
    if result.state == "ok":
        lines.append(f"{ICONS['passed']} {commit} reproduced bit for bit{when}.")
    elif result.state == "failed":
        lines.append(f"{ICONS['failed']} {commit}: **{result.verdict}**{when}.")
        if result.mismatches:
            rows = [
                [
                    m.stage,
                    f"`{m.path}`" if m.path else "(stage)",
                    m.status,
                    _md5(m.expected),
                    _md5(m.actual),
                ]
                for m in result.mismatches[:MAX_MISMATCHES]
            ]
            lines += [
                "",
                _table(["Stage", "Output", "Status", "dvc.lock md5", "Re-made md5"], rows).rstrip(
                    "\n"
                ),
            ]
            more = len(result.mismatches) - MAX_MISMATCHES
            if more > 0:
                lines.append(f"\n… and {more} more.")
        if result.stale:
            lines += ["", "Stale `dvc.lock`:"]
            lines += [f"- {reason}" for reason in result.stale]
    elif result.state == "other-lock":
        lines.append(f"{ICONS['not run']} {result.note}: run {result.hint}.")
    else:
        extra = f" ({result.note})" if result.note else ""
        lines.append(f"{ICONS['not run']} Not verified yet{extra}: run {result.hint}.")
    lines.append("")
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _side(cost: StageCost | None) -> list[str]:
    if cost is None:
        return ["-", "-", "-"]
    wall = _seconds(cost.seconds)
    if cost.status != "ran" and wall != "-":
        wall += f" ({cost.status})"
    rss = "-" if cost.peak_rss_mib is None else f"{cost.peak_rss_mib:.0f} MiB"
    return [wall, _seconds(cost.cpu_s), rss]


def _change(base: StageCost | None, head: StageCost | None) -> str:
    if base is None or head is None or base.seconds is None or head.seconds is None:
        return "-"
    if base.status != "ran" or head.status != "ran":
        return "-"  # a restore costs nothing like a run: no comparison
    delta = head.seconds - base.seconds
    text = f"{'+' if delta >= 0 else '-'}{abs(delta):.1f} s"
    if base.seconds > 0:
        text += f" ({delta / base.seconds:+.0%})"
    return text


def _compute_section(compute: Compute, report: Report) -> str:
    lines = ["### Compute per stage", ""]
    if compute.rows:
        headers = [
            "Stage",
            "Base wall",
            "Base CPU",
            "Base peak RSS",
            "Head wall",
            "Head CPU",
            "Head peak RSS",
            "Wall change",
        ]
        rows = [
            [row.stage, *_side(row.base), *_side(row.head), _change(row.base, row.head)]
            for row in compute.rows
        ]
        lines += [_table(headers, rows).rstrip("\n"), ""]
        lines += [
            f"Base `{describe(report.base)}`, head `{describe(report.head)}`; from the `repro` "
            "records `ratchet repro` keeps in git notes. Wall: everything DVC did for the stage.",
            "",
        ]
    if compute.note:
        lines += [f"{compute.note}.", ""]
    return "\n".join(lines)


def _charts_section(charts: Charts, report: Report) -> str:
    lines = ["### Charts", ""]
    for series in charts.history:
        diagram = mermaid.xychart(
            title=f"{series.metric}, last {len(series.labels)} commits (oldest left)",
            categories=series.labels,
            y_title=series.metric,
            y_range=nice_range(series.values),
            lines=[series.values],
        )
        lines += [mermaid.fenced(diagram)]
    if charts.history_note:
        lines += [f"{charts.history_note}.", ""]
    for plot in charts.plots:
        lines += _plot_chart(plot, report)
    if charts.plots_note:
        lines += [f"{charts.plots_note}.", ""]
    if report.plots:
        names_png = ", ".join(f"`{PurePath(p).name}`" for p in report.plots)
        lines += [f"Full-size PNGs ({names_png}) are in this workflow run's artifacts.", ""]
    return "\n".join(lines)


def _plot_chart(plot: Plot, report: Report) -> list[str]:
    """One DVC plot, head (blue) against base (orange), or the note saying why not."""
    out = []
    curves: list[Sequence[float]] = []
    names: list[str] = []
    colours: list[str] = []
    for colour, side, values in (
        ("blue", f"head {describe(report.head)}", plot.head),
        ("orange", f"base {describe(report.base)}", plot.base),
    ):
        if values is not None:
            curves.append(values)
            names.append(f"{colour} = {side}")
            colours.append(colour)
    if curves and len(plot.grid) > 1:
        diagram = mermaid.xychart(
            title=f"{plot.id}: " + ", ".join(names),
            categories=[mermaid.number(x) for x in plot.grid],
            x_title=plot.x,
            y_title=plot.y,
            y_range=nice_range([v for c in curves for v in c]),
            lines=curves,
            colours=colours,
        )
        out += [mermaid.fenced(diagram)]
    if plot.note:
        out += [f"{plot.id}: {plot.note}.", ""]
    return out
