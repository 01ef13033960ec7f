"""Tables, JSON and CSV for metrics and params, byte for byte as DVC prints its tables.

DVC renders with ``tabulate`` (``github`` for ``--md``, ``plain`` otherwise, numbers not parsed,
every cell left-aligned), floats rounded with Python's ``round(value, precision)`` and printed
with ``str``. Importing tabulate costs a tenth of a second (it reads package metadata), so plain
printable-ASCII tables, which is nearly all of them, are laid out here by the same rules (the
tests compare both on random tables); anything else goes through tabulate itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mlratchet.metrics.diff import DiffResult

DEFAULT_PRECISION = 5
FILL = "-"


# -- cells ---------------------------------------------------------------------------------
def format_field(value: Any, precision: int | None = None, round_digits: bool = False) -> str:
    """A cell's text, as DVC's ``_format_field``: floats rounded (or ``g``-formatted)."""

    def fmt(item: Any) -> Any:
        if isinstance(item, float) and precision:
            return round(item, precision) if round_digits else f"{item:.{precision}g}"
        if isinstance(item, Mapping):
            return {k: fmt(v) for k, v in item.items()}
        if isinstance(item, list):
            return [fmt(v) for v in item]
        return item

    return str(fmt(value))


def effective_precision(precision: int | None) -> int:
    """DVC's ``--precision``: unset or 0 means the default, 5."""
    return precision or DEFAULT_PRECISION


# -- tables --------------------------------------------------------------------------------
_MIN_PADDING = 2  # tabulate's padding around a header


def _fast(cells: Iterable[str]) -> bool:
    return all(s.isascii() and s.isprintable() for s in cells)


def layout(headers: Sequence[str], rows: Sequence[Sequence[str]], *, markdown: bool) -> str:
    """``tabulate(rows, headers, tablefmt="github"|"plain", disable_numparse=True)``."""
    if not (_fast(headers) and all(_fast(row) for row in rows)):
        from tabulate import tabulate  # type: ignore[import-untyped]

        text: str = tabulate(
            [list(r) for r in rows],
            list(headers),
            tablefmt="github" if markdown else "plain",
            disable_numparse=True,
            missingval=FILL,
        )
        return text
    body = [[cell.strip() for cell in row] for row in rows]
    widths = [len(h) + _MIN_PADDING for h in headers]
    for row in body:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    if markdown:
        lines = [
            "|" + "|".join(f" {h.ljust(w)} " for h, w in zip(headers, widths, strict=True)) + "|"
        ]
        lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        lines.extend(
            (
                "|" + "|".join(f" {c.ljust(w)} " for c, w in zip(row, widths, strict=True)) + "|"
            ).rstrip()
            for row in body
        )
    else:
        lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
        lines.extend(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in body
        )
    return "\n".join(lines)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, markdown: bool) -> str:
    """What DVC writes for a table: nothing for an empty plain table, and the md table with
    the blank line that completes it."""
    if not rows and not markdown:
        return ""
    text = layout(headers, rows, markdown=markdown)
    return text + ("\n\n" if markdown else "\n")


def diff_rows(
    result: DiffResult,
    *,
    precision: int | None,
    round_digits: bool,
    show_change: bool,
) -> list[list[str]]:
    """The rows of DVC's diff table: files in order, keys sorted, ``-`` for a missing value."""
    rows = []
    for path, changes in result.items():
        for key, change in sorted(changes.items()):
            row = [path, key]
            names = ("old", "new", "diff") if show_change else ("old", "new")
            for name in names:
                value = change.get(name)
                row.append(FILL if value is None else format_field(value, precision, round_digits))
            rows.append(row)
    return rows


def diff_table(
    result: DiffResult,
    *,
    title: str,
    a_rev: str,
    b_rev: str,
    markdown: bool,
    precision: int | None = None,
    round_digits: bool = False,
    show_change: bool = True,
    status: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """``dvc metrics diff`` / ``dvc params diff``'s table, optionally with a Status column."""
    headers = ["Path", title, a_rev, b_rev]
    if show_change:
        headers.append("Change")
    rows = diff_rows(
        result, precision=precision, round_digits=round_digits, show_change=show_change
    )
    if status is not None:
        headers.append("Status")
        for row in rows:
            row.append(status.get((row[0], row[1]), FILL))
    return table(headers, rows, markdown=markdown)


def show_table(
    files: Mapping[str, Mapping[str, Any]],
    *,
    markdown: bool,
    precision: int | None = None,
) -> str:
    """``dvc metrics show``'s table: a row per file, a column per flat key (sorted)."""
    keys: dict[str, None] = {}
    for flat in files.values():
        keys.update(dict.fromkeys(flat))
    columns = sorted(keys)
    rows = []
    for path, flat in files.items():
        row = [path]
        for key in columns:
            row.append(format_field(flat[key], precision, True) if key in flat else FILL)
        rows.append(row)
    return table(["Path", *columns], rows, markdown=markdown)


# -- JSON ----------------------------------------------------------------------------------
def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``
    (protobuf's JSON mapping), so that a strict parser reads it; other values unchanged."""
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "NaN"
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # dates and times in YAML or TOML params


def strict_json(data: Any, *, indent: int | None = 2) -> str:
    """Sorted JSON that a strict parser reads (see :func:`json_safe`), with a final newline.

    ``indent=None`` writes one line with the C encoder: the fast choice for big outputs.
    """
    import json

    options: dict[str, Any] = {"indent": indent, "sort_keys": True, "ensure_ascii": False}
    try:
        text = json.dumps(data, allow_nan=False, **options)
    except (ValueError, TypeError):  # NaN, infinities, dates: spell them as strings
        text = json.dumps(json_safe(data), allow_nan=False, **options)
    return text + "\n"


# -- CSV -----------------------------------------------------------------------------------
def csv_text(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """RFC 4180 CSV (``\\r\\n`` line ends, as Python's csv module and DVC write it)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()
