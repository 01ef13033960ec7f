"""The monitor's report as Markdown (for a pull request or an issue) and as one HTML file.

The HTML report has a chart per feature, reference over current (matplotlib, PNG images
embedded as base64 ``data:`` URIs, so the report is a single file to attach or archive).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlratchet.drift import Chart, ColumnDrift
    from mlratchet.monitor.run import MonitorReport, MonitorResult


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.3f}"
    return str(value)


def _share(counts: dict[str, int]) -> str:
    rows = counts["rows"]
    bad = rows - counts["values"]
    return f"{bad / rows:.1%}" if rows else "–"


def _ordered(columns: list[ColumnDrift]) -> list[ColumnDrift]:
    def key(c: ColumnDrift) -> tuple[int, float]:
        ratio = (c["effect"]["value"] or 0.0) / c["effect"]["threshold"]
        return (0 if c["drifted"] else 1, -ratio)

    return sorted(columns, key=key)


def drift_rows(columns: list[ColumnDrift]) -> list[list[str]]:
    """One table row per feature: name, kind, verdict, effect, test, missing share, reasons."""
    rows = []
    for c in _ordered(columns):
        effect = c["effect"]
        rows.append(
            [
                c["column"],
                c["kind"],
                "**drift**" if c["drifted"] else ("not judged" if c["unjudged"] else "ok"),
                f"{effect['statistic']} {_fmt(effect['value'])} (≥ {effect['threshold']})",
                f"{c['test']['name']} p={_fmt(c['test']['p_value'])}",
                f"{_share(c['reference'])} → {_share(c['current'])}",
                ", ".join(c["reasons"]) or "–",
            ]
        )
    return rows


DRIFT_HEADER = ["feature", "kind", "verdict", "effect", "test", "missing", "reasons"]


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return out


def coverage(report: MonitorReport) -> list[str]:
    """What the drift count leaves out: unjudged and missing columns, unseen categories."""
    parts = []
    if report["unjudged"]:
        parts.append(
            "cannot judge "
            + ", ".join(f"{u['column']} ({u['reason']})" for u in report["unjudged"])
        )
    if report["missing_columns"]:
        parts.append("missing from the batch: " + ", ".join(report["missing_columns"]))
    if report["new_categories"]:
        parts.append(
            "new categories: "
            + ", ".join(
                f"{n['column']} ({n['count']} unseen in {n['share']:.0%} of rows)"
                for n in report["new_categories"]
            )
        )
    return parts


def headline(report: MonitorReport) -> str:
    """One line: verdict, batch, reference, drift share, and what could not be judged."""
    drift = report["drift"]
    verdict = "ALERT" if report["verdict"] == "alert" else "ok"
    return "; ".join(
        [
            f"{verdict}: {report['current']['path']} ({report['current']['rows']} rows) "
            f"against {report['reference']['source']} ({report['reference']['rows']} rows): "
            f"{drift['drifted']} of {drift['features']} features drifted",
            *coverage(report),
            *_realized_summary(report),
        ]
    )


def _realized_summary(report: MonitorReport) -> list[str]:
    from mlratchet.monitor.realized import summary

    return [summary(report["realized"])] if "realized" in report else []


def markdown(report: MonitorReport) -> str:
    """The whole report as Markdown."""
    from mlratchet.contracts.report import markdown as contract_markdown

    verdict = "🔴 alert" if report["verdict"] == "alert" else "🟢 ok"
    model = report["model"]
    lines = [
        f"## Monitor: {verdict}",
        "",
        f"Batch `{report['current']['path']}` ({report['current']['rows']} rows) against "
        f"`{report['reference']['source']}` ({report['reference']['rows']} rows)"
        + (f", model `{model['path']}` at `{model['ref']}`" if model else "")
        + f"; {report['mode']} statistics.",
        "",
    ]
    if report["alerts"]:
        lines += [f"- **{a['kind']}**: {a['message']}" for a in report["alerts"]] + [""]
    if coverage(report):
        lines += ["### Not judged, missing, new", ""]
        lines += [f"- {part}" for part in coverage(report)] + [""]
    drift = report["drift"]
    lines += [
        f"### Feature drift: {drift['drifted']} of {drift['features']} "
        f"({drift['share']:.0%}; dataset drift at {drift['threshold']:.0%})",
        "",
        *_md_table(DRIFT_HEADER, drift_rows(drift["columns"])),
        "",
    ]
    if report["prediction"] is not None:
        lines += [
            "### Prediction drift (model scores)",
            "",
            *_md_table(DRIFT_HEADER, drift_rows([report["prediction"]])),
            "",
        ]
    if "realized" in report:
        from mlratchet.monitor.realized import markdown_lines

        lines += markdown_lines(report["realized"])
    if "history" in report:
        from mlratchet.monitor import history

        lines += history.markdown_lines(report["history"])
    skew = report["skew"]
    if skew is not None:
        replay = skew["replay"]
        lines += [
            "### Training/serving skew",
            "",
            f"- replay: the model's `features` step on its {replay['rows']} training rows gives "
            f"back the recorded training features with {replay['mismatched_cells']} "
            f"mismatched cells" + (" ✓" if replay["ok"] else " ✗"),
        ]
        for name, info in replay["features"].items():
            examples = "; ".join(
                f"row {e['row']}: served {e['served']}, recorded {e['recorded']}"
                for e in info["examples"]
            )
            lines.append(f"  - `{name}`: {info['mismatched']} cells ({examples})")
        unexplained = ", ".join(f"`{n}`" for n in skew["unexplained"]) or "none"
        lines += [f"- serving features drifting while their inputs do not: {unexplained}", ""]
    stability = report["stability"]
    bad = {n: c for n, c in stability["columns"].items() if not c["ok"]}
    lines += [
        "### Stability (missing and non-finite values)",
        "",
        f"{len(stability['columns']) - len(bad)} of {len(stability['columns'])} columns within "
        f"tolerance ({stability['tolerance']:.1%} change in share)" + (":" if bad else "."),
    ]
    if bad:
        table = [
            [
                name,
                _share(c["reference"]),
                _share(c["current"]),
                str(c["current"]["posinf"]),
                str(c["current"]["neginf"]),
                ", ".join(c["reasons"]),
            ]
            for name, c in bad.items()
        ]
        lines += ["", *_md_table(["column", "reference", "current", "+inf", "-inf", "why"], table)]
    for name in ("scores", "predictions"):
        counts = stability[name]
        if counts is not None:
            lines.append(
                f"\nModel {name}: {counts['rows']} rows, {counts['nan'] + counts['null']} NaN, "
                f"{counts['posinf'] + counts['neginf']} infinite."
            )
    lines.append("")
    if report["contract"] is not None:
        lines.append(contract_markdown(report["contract"], title="Contract"))
    return "\n".join(lines).rstrip() + "\n"


def chart_png(chart: Chart, title: str) -> bytes:
    """A bar chart of one column: reference and current proportions per bin or category."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2, 2.8))
    ax = fig.subplots()
    n = len(chart.labels)
    xs = list(range(n))
    width = 0.42
    ax.bar([x - width / 2 for x in xs], chart.reference, width, label="reference", color="#8da0cb")
    ax.bar([x + width / 2 for x in xs], chart.current, width, label="current", color="#fc8d62")
    step = max(1, n // 8) if chart.kind == "numeric" else 1
    ax.set_xticks(xs[::step])
    labels = chart.labels[::step]
    if chart.kind == "numeric":
        labels = [label.split(" .. ")[0] for label in labels]
    ax.set_xticklabels(labels, rotation=45 if chart.kind == "categorical" else 30, ha="right")
    ax.tick_params(axis="x", labelsize=7)
    ax.set_ylabel("share of rows")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    from mlratchet.pngio import figure_png

    return figure_png(fig, dpi=80)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(cell).replace('**', '')}</td>" for cell in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
th { background: #f3f3f3; }
.alert { color: #b00020; } .ok { color: #1b7f3b; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; }
.grid figure { margin: 0; } figcaption { font-size: 12px; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; }
"""


def html_report(result: MonitorResult) -> str:
    """The report as one self-contained HTML page with a chart per feature."""
    report = result.report
    verdict = report["verdict"]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>ratchet monitor: {html.escape(verdict)}</title><style>{_STYLE}</style></head>",
        "<body>",
        f"<h1 class='{verdict}'>Monitor: {html.escape(verdict)}</h1>",
        f"<p>{html.escape(headline(report))}</p>",
    ]
    if report["alerts"]:
        items = "".join(
            f"<li><b>{html.escape(a['kind'])}</b>: {html.escape(a['message'])}</li>"
            for a in report["alerts"]
        )
        parts.append(f"<ul class='alert'>{items}</ul>")
    parts.append("<h2>Feature drift</h2>")
    parts.append(_html_table(DRIFT_HEADER, drift_rows(report["drift"]["columns"])))
    if report["prediction"] is not None:
        parts.append("<h2>Prediction drift</h2>")
        parts.append(_html_table(DRIFT_HEADER, drift_rows([report["prediction"]])))
    figures = []
    by_name = {c["column"]: c for c in report["drift"]["columns"]}
    for name in [c["column"] for c in _ordered(report["drift"]["columns"])]:
        chart = result.charts["drift"][name]
        entry = by_name[name]
        title = f"{name}: {'DRIFT' if entry['drifted'] else 'ok'}"
        figures.append((title, chart_png(chart, title)))
    for name, chart in result.charts.get("prediction", {}).items():
        figures.append((f"model {name}", chart_png(chart, f"model {name}")))
    parts.append("<h2>Reference over current, per feature</h2><div class='grid'>")
    for title, png in figures:
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f"<figure><img alt='{html.escape(title)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(title)}</figcaption></figure>"
        )
    parts.append("</div>")
    parts += _history_html(report)
    parts.append("<h2>Everything else (Markdown)</h2>")
    parts.append(f"<pre>{html.escape(markdown(report))}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _history_html(report: MonitorReport) -> list[str]:
    """The "Realized performance over time" section: a chart and its table, or why not."""
    from mlratchet.monitor import history

    parts = ["<h2 id='realized-over-time'>Realized performance over time</h2>"]
    found = report.get("history")
    png = history.chart_png(found["entries"]) if found is not None else None
    if found is None or png is None:
        why = (
            "run with --history FILE.jsonl to keep one line per batch"
            if found is None
            else f"no batch in {found['file']} has realized metrics (give labels)"
        )
        parts.append(f"<p class='no-history'>{history.NO_HISTORY}: {html.escape(why)}.</p>")
        return parts
    batches, models, metrics = history.series(found["entries"])
    caption = (
        f"{', '.join(metrics)} over {len(batches)} batches of {found['file']}, "
        f"{len(models)} model series"
    )
    data = base64.b64encode(png).decode("ascii")
    alt = html.escape(f"realized performance over time: {caption}")
    parts.append(
        f"<figure class='history'><img alt='{alt}' src='data:image/png;base64,{data}'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )
    parts.append(_html_table(*history.table(found["entries"])))
    return parts


def write_outputs(result: MonitorResult, out: Path | str) -> list[Path]:
    """Write ``report.json``, ``report.md`` and ``report.html`` into ``out``."""
    from mlratchet.fsio import write_json, write_text

    folder = Path(out)
    paths = [folder / "report.json", folder / "report.md", folder / "report.html"]
    write_json(paths[0], result.report)
    write_text(paths[1], markdown(result.report))
    write_text(paths[2], html_report(result))
    return paths
