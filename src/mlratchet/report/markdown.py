"""The report as GitHub Markdown: one comment, found again by its hidden marker.

The metrics and params tables are the very tables ``ratchet metrics diff --check --md`` and
``ratchet params diff --md`` print (:func:`mlratchet.metrics.render.diff_table`); charts are
Mermaid ``xychart-beta`` blocks, which GitHub draws with no image host.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

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


def render(report: Report) -> str:
    """The whole report, ending with a newline."""
    parts = [
        MARKER,
        f"## mlratchet report: `{describe(report.base)}` → `{describe(report.head)}`",
        "",
        status_line(report),
        "",
        _metrics_section(report.metrics, report),
        _production_section(report.production, report.production_note),
        _params_section(report.params, report),
        _outputs_section(report.outputs),
        _contract_section(report.contract),
        _verify_section(report.verify),
        _compute_section(report.compute, report),
        _charts_section(report.charts, report),
        "<sub>`ratchet report` informs and exits 0 whatever it finds; the CI gates are "
        "`ratchet metrics diff --check` and `ratchet verify`.</sub>",
    ]
    return "\n".join(parts).rstrip("\n") + "\n"


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
        head = f"**{ICONS['not run']} No check ran.**"
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


def _metrics_body(diff: MetricsDiff, nothing: str) -> list[str]:
    if diff.error is not None:
        return [f"Could not compare: {diff.error}", ""]
    out = []
    if diff.note:
        out += [f"_{diff.note}._", ""]
    if any(diff.result.values()):
        out.append(_metrics_table(diff).rstrip("\n"))
        out.append("")
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


def _metrics_section(diff: MetricsDiff, report: Report) -> str:
    lines = [f"### Metrics vs base `{describe(report.base)}`", ""]
    lines += _metrics_body(diff, "No metric changed.")
    return "\n".join(lines)


def _production_section(found: tuple[ProductionDiff, ...], note: str | None) -> str:
    lines = ["### Metrics vs production", ""]
    if note:
        lines += [f"{note}.", ""]
    for item in found:
        if item.version is None:
            lines += [f"**{item.artifact}**: {item.note}.", ""]
            continue
        commit = (item.commit or "")[:7]
        tag = f", tag `{item.tag}`" if item.tag else ""
        title = f"**{item.artifact}** {item.version} (commit `{commit}`{tag})"
        if item.metrics is None:
            lines += [f"{title}: {item.note}.", ""]
            continue
        lines += [f"{title}:", ""]
        lines += _metrics_body(item.metrics, "No metric differs from production.")
    if found:
        lines += ["_For information: promotion to production has its own gates._", ""]
    return "\n".join(lines)


def _params_section(diff: ParamsDiff, report: Report) -> str:
    lines = [f"### Params vs base `{describe(report.base)}`", ""]
    if diff.error is not None:
        lines += [f"Could not compare: {diff.error}", ""]
    elif any(diff.result.values()):
        table = diff_table(
            diff.result,
            title="Param",
            a_rev=diff.old_name,
            b_rev=diff.new_name,
            markdown=True,
            show_change=False,
        )
        lines += [table.rstrip("\n"), ""]
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


def _outputs_section(outputs: Outputs) -> str:
    lines = ["### Data and model hashes (`dvc.lock`)", ""]
    if outputs.note:
        lines += [f"{outputs.note}.", ""]
    if outputs.changes:
        rows = []
        for change in outputs.changes:
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
    roc = charts.roc
    if roc.head is not None or roc.base is not None:
        curves: list[Sequence[float]] = []
        names: list[str] = []
        colours: list[str] = []
        for colour, side, values in (
            ("blue", f"head {describe(report.head)}", roc.head),
            ("orange", f"base {describe(report.base)}", roc.base),
        ):
            if values is not None:
                curves.append(values)
                names.append(f"{colour} = {side}")
                colours.append(colour)
        curves.append(roc.grid)  # the chance diagonal
        names.append("grey = chance")
        colours.append("grey")
        diagram = mermaid.xychart(
            title="ROC: " + ", ".join(names),
            categories=[f"{x:.2f}" for x in roc.grid],
            x_title="false positive rate",
            y_title="true positive rate",
            y_range=(0.0, 1.0),
            lines=curves,
            colours=colours,
        )
        lines += [mermaid.fenced(diagram)]
    if roc.note:
        lines += [f"ROC: {roc.note}.", ""]
    if report.plots:
        names_png = ", ".join(f"`{PurePath(p).name}`" for p in report.plots)
        lines += [f"Full-size PNGs ({names_png}) are in this workflow run's artifacts.", ""]
    return "\n".join(lines)
