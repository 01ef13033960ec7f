"""Tables, JSON and CSV for metrics and params, byte for byte as DVC prints its tables.

DVC renders with ``tabulate`` (``github`` for ``--md``, ``plain`` otherwise, numbers not parsed,
every cell left-aligned), floats rounded with Python's ``round(value, precision)`` and printed
with ``str``. Importing tabulate costs a tenth of a second (it reads package metadata), so plain
printable-ASCII tables, which is nearly all of them, are laid out here by the same rules (the
tests compare both on random tables); anything else goes through tabulate itself.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mlratchet.metrics.diff import DiffResult

if TYPE_CHECKING:
    from mlratchet.metrics.history import History, Point

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
#: The types :func:`json_safe` keeps as they are (exactly these: a subclass takes the slow path).
_PLAIN = frozenset({str, int, bool, type(None)})


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``
    (protobuf's JSON mapping), so that a strict parser reads it; other values unchanged."""
    kind = type(value)
    if kind is dict:  # the common case, without a call per plain leaf
        plain, isfinite = _PLAIN, math.isfinite
        return {
            k if type(k) is str else str(k): v
            if type(v) in plain or (type(v) is float and isfinite(v))
            else json_safe(v)
            for k, v in value.items()
        }
    if kind in _PLAIN:
        return value
    return _json_safe_other(value)


def _json_safe_other(value: Any) -> Any:
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


def diff_json(
    result: DiffResult, status: Mapping[tuple[str, str], str] | None = None
) -> dict[str, Any]:
    """DVC's ``{path: {key: {old, new, diff}}}``, plus ``"status"`` where a rule judged the key;
    NaN and infinities as strings (:func:`json_safe`)."""
    out: dict[str, Any] = {}
    for path, changes in result.items():
        entries: dict[str, Any] = {}
        for key, change in changes.items():
            entry: dict[str, Any] = dict(change)
            if status is not None and (path, key) in status:
                entry["status"] = status[(path, key)]
            entries[key] = entry
        out[path] = entries
    return dict(json_safe(out))


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


# -- history ------------------------------------------------------------------------------
def iso_time(time: int) -> str:
    """A commit time as ISO 8601 UTC: ``2024-01-31T12:00:00Z``."""
    days, seconds = divmod(time, 86400)
    hours, seconds = divmod(seconds, 3600)
    return f"{_iso_day(days)}T{hours:02d}:{seconds // 60:02d}:{seconds % 60:02d}Z"


@functools.cache
def _iso_day(days: int) -> str:
    """The date ``days`` after 1970-01-01 (a history's commits share few days: cached)."""
    from datetime import date

    return date.fromordinal(719163 + days).isoformat()


def history_json(hist: History) -> list[dict[str, Any]]:
    """A list, newest first, of ``{"rev", "date", "tags", "metrics": {path: {key: value}}}``
    (and ``"errors": {path: message}`` where a file could not be read)."""
    out = []
    for point in hist.points:
        values: dict[str, dict[str, Any]] = point.metrics
        if hist.selected:
            values = {}
            for column in hist.columns:
                if column.key in point.metrics.get(column.path, {}):
                    values.setdefault(column.path, {})[column.key] = point.value(column)
        entry: dict[str, Any] = {
            "rev": point.sha,
            "date": iso_time(point.time),
            "tags": list(point.tags),
            "metrics": values,
        }
        if point.errors:
            entry["errors"] = dict(point.errors)
        out.append(entry)
    return out


def history_json_text(hist: History) -> str:
    """:func:`history_json` as :func:`strict_json` writes it on one line (the history's
    ``json_text`` when it has it: the same text)."""
    if hist.json_text is None or hist.selected:
        return strict_json(history_json(hist), indent=None)
    return hist.json_text


def history_heads(points: Sequence[Point]) -> list[str]:
    """Each point's :func:`history_json` object as :func:`strict_json` writes it, up to (not
    including) its tags, the last key: ``{"date": ..., "metrics": ..., "rev": "..."``.

    A metrics file's values shared by many points (the same blob) are encoded once.
    """
    import json

    encoder = json.JSONEncoder(sort_keys=True, ensure_ascii=False, allow_nan=False)

    def encode(value: Any) -> str:
        try:
            return encoder.encode(value)
        except (ValueError, TypeError):  # NaN, infinities: as strict_json spells them
            return encoder.encode(json_safe(value))

    done: dict[int, str] = {}
    names: dict[str, str] = {}
    heads = []
    for point in points:
        parts = []
        for path in sorted(point.metrics):
            flat = point.metrics[path]
            text = done.get(id(flat))
            if text is None:
                text = done[id(flat)] = encode(flat)
            name = names.get(path)
            if name is None:
                name = names[path] = encoder.encode(path)
            parts.append(f"{name}: {text}")
        errors = f'"errors": {encode(point.errors)}, ' if point.errors else ""
        heads.append(
            f'{{"date": "{iso_time(point.time)}", {errors}"metrics": {{{", ".join(parts)}}}, '
            f'"rev": {encoder.encode(point.sha)}'
        )
    return heads


@functools.cache
def tags_json(tags: tuple[str, ...]) -> str:
    """What follows a :func:`history_heads` head to close a point's object: its tags."""
    import json

    return f', "tags": {json.dumps(list(tags), ensure_ascii=False)}}}'


def history_csv(hist: History) -> str:
    """``rev,date,tags,<columns...>``, newest first; tags separated by spaces."""
    headers = ["rev", "date", "tags", *(c.name for c in hist.columns)]
    rows = (
        [p.sha, iso_time(p.time), " ".join(p.tags), *(p.value(c) for c in hist.columns)]
        for p in hist.points
    )
    return csv_text(headers, rows)


def history_table(hist: History, precision: int | None) -> str:
    """A plain table: ``Revision Date Tags <columns...>``, floats rounded as ``show`` does."""
    digits = effective_precision(precision)
    headers = ["Revision", "Date", "Tags", *(c.name for c in hist.columns)]
    rows = []
    for p in hist.points:
        row = [p.sha[:7], iso_time(p.time)[:10], ",".join(p.tags) or FILL]
        for column in hist.columns:
            value = p.value(column)
            row.append(FILL if value is None else format_field(value, digits, True))
        rows.append(row)
    return table(headers, rows, markdown=False)
