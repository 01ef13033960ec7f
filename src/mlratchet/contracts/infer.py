"""Infer a contract from reference data: a first draft for a person to review and commit.

For each column: its type; whether it has missing values and, if so, a ceiling on their share
(1.5 x the observed share + 0.01, rounded up); for numbers, the observed range widened by
``margin`` x its width on each side (never below 0 for a column that has no negative value;
integers stay integers; floats rounded outward to 4 significant digits); for text with few
distinct values (at most ``max_categories`` and at most 5 % of the rows), the list of
categories; ``unique: true`` for an integer or text column whose values are all distinct.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from mlratchet.contracts.reading import DataError, open_csv, open_parquet
from mlratchet.contracts.spec import Column, ColumnType, Contract, Rows

#: A text column with at most this many distinct values gets a list of categories.
MAX_CATEGORIES = 200
#: ... and only if they are at most this share of its values.
CATEGORY_SHARE = 0.05


def contract_type(name: str, arrow_type: Any, source: str) -> ColumnType:
    """The contract type of an Arrow type (bad input for a type contracts do not cover)."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    raise DataError(
        f"{source}: column {name!r} has type {arrow_type}, which contracts do not cover"
    )


def _round(value: float, digits: int, up: bool) -> float:
    """Round outward to ``digits`` significant digits."""
    if value == 0 or not math.isfinite(value):
        return value
    scale = 10 ** (digits - 1 - math.floor(math.log10(abs(value))))
    rounded = (math.ceil if up else math.floor)(value * scale) / scale
    return float(rounded)


def _range(low: float, high: float, integer: bool, margin: float) -> tuple[float, float]:
    pad = (high - low) * margin
    new_low, new_high = low - pad, high + pad
    if low >= 0:
        new_low = max(new_low, 0.0)
    if integer:
        return float(math.floor(new_low)), float(math.ceil(new_high))
    return _round(new_low, 4, up=False), _round(new_high, 4, up=True)


def infer_column(name: str, column: Any, kind: ColumnType, margin: float) -> Column:
    """The rules one column of reference data satisfies."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    rows = len(column)
    missing = column.null_count
    if pa.types.is_floating(column.type):
        missing += pc.sum(pc.is_nan(column)).as_py() or 0
    nullable = missing > 0
    ceiling = None
    if nullable and rows:
        # Rounded up to 3 decimals (after rounding away float noise: 0.16 must stay 0.16).
        ceiling = min(1.0, math.ceil(round((missing / rows * 1.5 + 0.01) * 1000, 9)) / 1000)
    fields: dict[str, Any] = {}
    if kind in ("integer", "float"):
        finite = column
        if pa.types.is_floating(column.type):
            has_inf = bool(pc.any(pc.is_inf(column)).as_py())
            if has_inf:
                fields["finite"] = False
                finite = column.filter(pc.is_finite(column))
        extremes = pc.min_max(finite).as_py()
        if extremes["min"] is not None:
            fields["min"], fields["max"] = _range(
                float(extremes["min"]), float(extremes["max"]), kind == "integer", margin
            )
    present = rows - missing
    if kind in ("integer", "string") and present > 1:
        distinct = pc.count_distinct(column).as_py()
        if distinct == present:
            fields["unique"] = True
        elif kind == "string" and distinct <= min(MAX_CATEGORIES, CATEGORY_SHARE * present):
            values = pc.unique(column.drop_null()).to_pylist()
            fields["categories"] = tuple(sorted(values))
    return Column(type=kind, nullable=nullable, max_null_rate=ceiling, **fields)


def infer(path: Path | str, *, margin: float = 0.1) -> Contract:
    """A contract that the data at ``path`` (Parquet or CSV) satisfies."""
    from mlratchet.contracts.reading import detect_format

    path = Path(path)
    data = open_parquet(path) if detect_format(path) == "parquet" else open_csv(path)
    duplicated = [i.column for i in data.issues if i.rule == "duplicate_column"]
    if duplicated:
        raise DataError(f"{path}: column name {duplicated[0]!r} appears twice; rename one")
    ragged = [i for i in data.issues if i.rule == "ragged_row"]
    if ragged:
        raise DataError(
            f"{path}: {ragged[0].count} row(s) have the wrong number of fields "
            f"(first: row {ragged[0].rows[0]}); fix the file first"
        )
    if not data.rows:
        raise DataError(f"{path}: no data rows to infer a contract from")
    table = data.read()
    columns = {}
    for name in data.names:
        kind = contract_type(name, data.types[name], str(path))
        columns[name] = infer_column(name, table.column(name), kind, margin)
    return Contract(contract=1, columns=columns, rows=Rows(min=1), extra_columns=False)
