"""A validation report as Markdown, for a pull request or an issue."""

from __future__ import annotations

import json
from typing import Any

from mlratchet.contracts.checks import ValidationReport

#: Longest text of an expected value or example in a table cell.
CELL = 60


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(text) > CELL:
        text = text[: CELL - 1] + "…"
    return text.replace("|", "\\|").replace("\n", " ")


def examples_text(failure: dict[str, Any]) -> str:
    """Examples as ``row 12: 9999.0; row 40: -3``."""
    parts = []
    for example in failure["examples"]:
        where = "" if example["row"] is None else f"row {example['row']}: "
        parts.append(where + _cell(example["value"]))
    return "; ".join(parts)


def markdown(report: ValidationReport, title: str | None = None) -> str:
    """The report as a Markdown section: verdict line, then one table row per failure."""
    verdict = "valid" if report["valid"] else "**invalid**"
    heading = title or f"Validation of `{report['data']}`"
    lines = [
        f"### {heading}",
        "",
        f"{verdict}: {report['rows']} rows, {report['columns']} columns, "
        f"{report['rules']} rules checked against `{report['contract'] or 'the contract'}`, "
        f"{len(report['failures'])} failed.",
    ]
    if report["failures"]:
        lines += ["", "| column | rule | expected | failing | examples |", "|---|---|---|---:|---|"]
        for f in report["failures"]:
            column = f"`{f['column']}`" if f["column"] is not None else "(table)"
            lines.append(
                f"| {column} | {f['rule']} | {_cell(f['expected'])} | {f['count']} "
                f"| {examples_text(dict(f))} |"
            )
    return "\n".join(lines) + "\n"


def summary(report: ValidationReport) -> str:
    """One line per failure, for a terminal."""
    lines = []
    for f in report["failures"]:
        column = f["column"] if f["column"] is not None else "(table)"
        examples = examples_text(dict(f))
        lines.append(
            f"{column}: {f['rule']} (expected {_cell(f['expected'])}): {f['count']} failing"
            + (f" [{examples}]" if examples else "")
        )
    return "\n".join(lines)
