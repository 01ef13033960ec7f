"""A request's rows checked before the model: every failing column, rule and row in one answer.

First each value is read as the type its column has in the serving contract
(:func:`mlratchet.serve.loading.serving_contract`): a JSON number in an ``integer`` or
``float`` column, a JSON string in a ``string`` column, ``true``/``false`` in a ``boolean``
one, an ISO 8601 string in a ``timestamp`` one; CSV text is parsed as that type. A value of
another type is a ``type`` failure of its row; a column of unknown type must hold values of
one kind. Then the typed rows go through the contract's own checker
(:func:`mlratchet.contracts.validate_table`, the one that ``ratchet validate`` and
``ratchet monitor`` use): nulls, ranges, +-inf, categories, patterns. A model input the request
lacks is ``missing_column``.

Failures have the shape of a contract report's (``column``, ``rule``, ``expected``, ``count``,
``examples``), with every failing row listed (``row`` counts the request's rows from 0).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from mlratchet.contracts import Column, Contract, Failure
    from mlratchet.serve.payload import Columns

_ARROW = {
    "integer": "int64",
    "float": "float64",
    "string": "string",
    "boolean": "bool_",
    "timestamp": "timestamp",
}


@dataclass
class Checked:
    """The rows, typed, and what is wrong with them (nothing, if ``failures`` is empty)."""

    table: pa.Table | None  # the model's inputs, in its order (None when a failure stops it)
    failures: list[Failure] = field(default_factory=list)
    nan: int = 0  # missing numeric values (null or NaN) among the inputs
    inf: int = 0  # +-inf among the inputs

    @property
    def ok(self) -> bool:
        """Whether the rows may go to the model."""
        return not self.failures and self.table is not None


class _Bad(ValueError):
    """A value that is not of its column's type."""


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__  # a list or an object: never a cell


def _number(value: Any, kind: str, text: bool) -> int | float:
    if text and isinstance(value, str):
        try:
            value = int(value) if kind == "integer" else float(value)
        except ValueError:
            raise _Bad from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad
    if kind == "float":
        return float(value)
    if isinstance(value, float) and not value.is_integer():
        raise _Bad
    return int(value)


def _convert(value: Any, kind: str, text: bool) -> Any:
    """``value`` as a cell of a ``kind`` column; :class:`_Bad` if it is not one."""
    if value is None:
        return None
    if kind in ("integer", "float"):
        return _number(value, kind, text)
    if kind == "boolean":
        if text and isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise _Bad
        return value
    if not isinstance(value, str):
        raise _Bad
    if kind == "timestamp":
        try:
            return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _Bad from None
    return value


def _type_failure(column: str, expected: str, bad: list[tuple[int, Any]]) -> Failure:
    from mlratchet.contracts.checks import json_value

    return {
        "column": column,
        "rule": "type",
        "expected": expected,
        "count": len(bad),
        "examples": [{"row": row, "value": json_value(value)} for row, value in bad],
    }


def _untyped_kind(values: list[Any], text: bool) -> tuple[str, list[tuple[int, Any]]]:
    """A column of unknown type: the kind of its first value; rows of another kind."""
    kinds = [None if v is None else _kind_of(v) for v in values]
    if text:  # CSV: numbers if every value parses as one
        try:
            for v in values:
                if v is not None:
                    float(v)
        except ValueError:
            return "string", []
        return "float", []
    cells = {"number": "float", "string": "string", "boolean": "boolean"}
    first = next((k for k in kinds if k is not None), "number")
    bad = [
        (row, value)
        for row, (value, kind) in enumerate(zip(values, kinds, strict=True))
        if kind is not None and (kind != first or kind not in cells)
    ]
    return cells.get(first, "string"), bad


@dataclass(frozen=True)
class _Typed:
    """A request column as an Arrow array of its type; rows that were not are null in it."""

    array: pa.Array | None  # None: a column of unknown type with several kinds of value
    failure: Failure | None
    bad_rows: list[int]


def _typed(name: str, values: list[Any], rule: Column | None, text: bool) -> _Typed:
    """A request column typed (see :class:`_Typed`)."""
    import pyarrow as pa

    kind: str
    bad: list[tuple[int, Any]] = []
    if rule is not None:
        kind = rule.type
    else:
        kind, bad = _untyped_kind(values, text)
        if bad:
            mixed = _type_failure(name, f"one kind of value ({kind})", bad)
            return _Typed(None, mixed, [row for row, _ in bad])
    cells = []
    for row, value in enumerate(values):
        try:
            cells.append(_convert(value, kind, text))
        except _Bad:
            bad.append((row, value))
            cells.append(None)
    if kind == "timestamp":
        array = pa.array(cells, type=pa.timestamp("us", tz="UTC"))
    else:
        array = pa.array(cells, type=getattr(pa, _ARROW[kind])())
    failure = _type_failure(name, kind, bad) if bad else None
    return _Typed(array, failure, [row for row, _ in bad])


def _missing(name: str, rows: int) -> Failure:
    return {
        "column": name,
        "rule": "missing_column",
        "expected": "present",
        "count": rows,
        "examples": [],
    }


def _nonfinite(arrays: dict[str, pa.Array]) -> tuple[int, int]:
    """Missing (null or NaN) and +-inf values among the numeric columns."""
    import numpy as np
    import pyarrow as pa

    nan = inf = 0
    for array in arrays.values():
        if pa.types.is_floating(array.type) or pa.types.is_integer(array.type):
            numbers = array.to_numpy(zero_copy_only=False).astype(np.float64)
            nan += int(np.isnan(numbers).sum())
            inf += int(np.isinf(numbers).sum())
    return nan, inf


def check(columns: Columns, inputs: tuple[str, ...], contract: Contract | None) -> Checked:
    """Type the model's inputs and check them (see the module's docstring)."""
    import numpy as np
    import pyarrow as pa

    from mlratchet.contracts import Contract, validate_table

    failures: list[Failure] = []
    arrays: dict[str, pa.Array] = {}
    unparsed: dict[str, Any] = {}
    declared = contract.columns if contract is not None else {}
    for name in inputs:
        if name not in columns.values:
            failures.append(_missing(name, columns.rows))
            continue
        typed = _typed(name, columns.values[name], declared.get(name), columns.text)
        if typed.failure is not None:
            failures.append(typed.failure)
        if typed.array is not None:
            arrays[name] = typed.array
            if typed.bad_rows:
                unparsed[name] = np.array(typed.bad_rows, dtype=np.int64)
    table = pa.table(arrays) if arrays else pa.table({})
    checked = [n for n in arrays if n in declared]
    if contract is not None and checked:
        subset = Contract(1, {n: declared[n] for n in checked}, contract.rows, extra_columns=True)
        report = validate_table(
            table, subset, name="<request>", examples=max(columns.rows, 1), unparsed=unparsed
        )
        failures.extend(report["failures"])
    elif columns.rows == 0:
        failures.append(
            {"column": None, "rule": "rows", "expected": {"min": 1}, "count": 0, "examples": []}
        )
    nan, inf = _nonfinite(arrays)
    if failures or len(arrays) != len(inputs):
        return Checked(None, failures, nan, inf)
    return Checked(table.select(list(inputs)), [], nan, inf)


def finite(value: float) -> float | None:
    """A score as strict JSON holds it: NaN and +-inf are null."""
    return value if math.isfinite(value) else None
