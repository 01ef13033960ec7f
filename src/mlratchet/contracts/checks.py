"""Check data against a contract: every rule, every failure, in one report.

A :class:`Validator` is fed chunks of rows (one in-memory table, or Parquet row groups one at a
time) and counts, for every column and rule, the failing rows and the first few examples (row
number and value). Counts add across chunks, so a streamed file and the same file read whole
give the same report. Nothing stops at the first failure: as pandera's ``lazy=True``, the
report lists them all.

Rules and their names in the report:

=================  ==========================================================================
rule               fails when
=================  ==========================================================================
missing_column     a column of the contract is not in the data
extra_column       the data has a column the contract does not name (``extra_columns: false``)
duplicate_column   two columns of the data have the same name
ragged_row         a CSV row has more or fewer fields than the header
utf8               a CSV value is not UTF-8 text
type               a column's type differs from the contract's (Parquet: the whole column; CSV:
                   each value that does not parse)
rows               the data has fewer rows than ``rows.min`` (a header-only file) or more than
                   ``rows.max``
not_null           a value is missing in a column with ``nullable: false`` (NaN counts)
max_null_rate      the share of missing values is above ``max_null_rate``
finite             a numeric value is +inf or -inf
min, max           a finite value is below ``min`` or above ``max``
categories         a value is not one of ``categories``
pattern            a value does not match ``pattern`` (the whole value)
unique             a value already appeared in an earlier row (``unique: true``)
=================  ==========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from mlratchet.contracts.reading import Chunk, Issue, TableFile
from mlratchet.contracts.spec import NUMERIC_TYPES, Column, Contract

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

#: Examples kept per column and rule.
EXAMPLES = 5


class Example(TypedDict):
    """One failing value and its row."""

    row: int | None
    value: Any


class Failure(TypedDict):
    """One rule of one column that failed, with how many rows failed it and examples."""

    column: str | None
    rule: str
    expected: Any
    count: int
    examples: list[Example]


class ValidationReport(TypedDict):
    """The result of validating one data file against one contract."""

    valid: bool
    data: str
    contract: str
    format: str
    rows: int
    columns: int
    rules: int
    failures: list[Failure]


def json_value(value: Any) -> Any:
    """A value as strict JSON can hold it (non-finite floats and bytes as text)."""
    import datetime
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if hasattr(value, "item"):
        return json_value(value.item())
    return value


def arrow_matches(kind: str, arrow_type: pa.DataType) -> bool:
    """Whether an Arrow type satisfies a contract type (integers are accepted as floats)."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if kind == "integer":
        return bool(pa.types.is_integer(arrow_type))
    if kind == "float":
        return bool(pa.types.is_floating(arrow_type) or pa.types.is_integer(arrow_type))
    if kind == "string":
        return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type))
    if kind == "boolean":
        return bool(pa.types.is_boolean(arrow_type))
    return bool(pa.types.is_timestamp(arrow_type))


@dataclass
class _Tally:
    """Failing rows of one rule of one column: a count and the first examples."""

    expected: Any
    count: int = 0
    examples: list[Example] = field(default_factory=list)
    limit: int = EXAMPLES  # examples kept

    def add(self, positions: np.ndarray, column: Any, chunk: Chunk) -> None:
        self.count += len(positions)
        room = self.limit - len(self.examples)
        if room <= 0 or len(positions) == 0:
            return
        for pos in positions[:room].tolist():
            value = column.slice(pos, 1).to_pylist()[0]
            row = (
                int(chunk.row_numbers[pos]) if chunk.row_numbers is not None else chunk.offset + pos
            )
            self.examples.append({"row": row, "value": json_value(value)})


def _positions(mask: np.ndarray) -> np.ndarray:
    """Row positions where a boolean mask is true."""
    import numpy as np

    return np.flatnonzero(mask)


#: Below this many rows in a chunk, columns are checked one after another (threads cost more).
_THREADED_ROWS = 100_000


class _ColumnCheck:
    """The value rules of one column, fed chunk by chunk.

    Numbers are checked with numpy on the Arrow buffers, text through its dictionary (each
    distinct value once); nothing converts values to Python objects except the examples.
    """

    def __init__(
        self, name: str, rule: Column, unparsed: Any = None, examples: int = EXAMPLES
    ) -> None:
        self.examples = examples
        self.name = name
        self.rule = rule
        self.unparsed = unparsed  # CSV positions already reported as type/utf8 failures
        self.tallies: dict[str, _Tally] = {}
        self.missing = 0
        self.rows = 0
        self.unique_chunks: list[Any] = []
        self.categories = frozenset(rule.categories) if rule.categories is not None else None

    def tally(self, rule: str, expected: Any) -> _Tally:
        return self.tallies.setdefault(rule, _Tally(expected, limit=self.examples))

    def feed(self, column: Any, chunk: Chunk) -> None:
        import numpy as np
        import pyarrow as pa

        from mlratchet import arrays

        column = arrays.flat(column)
        self.rows += len(column)
        numeric = self.rule.type in NUMERIC_TYPES and (
            pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
        )
        values = None
        if numeric:
            values, _ = arrays.as_float(column)
            missing_mask = np.isnan(values)
        else:
            present = arrays.valid(column)
            missing_mask = ~present if present is not None else None
        if missing_mask is not None and self.unparsed is not None and len(self.unparsed):
            # Values that did not parse read as null; they are failures already, not gaps.
            missing_mask = missing_mask.copy()
            missing_mask[self.unparsed] = False
        if missing_mask is not None and missing_mask.any():
            positions = _positions(missing_mask)
            if not self.rule.nullable:
                self.tally("not_null", "no missing values").add(positions, column, chunk)
            self.missing += len(positions)
            if self.rule.max_null_rate is not None:
                missing = self.tallies.setdefault("_missing", _Tally(None, limit=self.examples))
                missing.add(positions, column, chunk)
        if values is not None:
            self._numeric(values, column, chunk)
        elif self.rule.type == "string":
            self._strings(column, chunk)
        if self.rule.unique:
            self.unique_chunks.append(column)

    def _numeric(self, values: np.ndarray, column: Any, chunk: Chunk) -> None:
        import numpy as np

        if not len(values):
            return
        low, high = float(np.fmin.reduce(values)), float(np.fmax.reduce(values))
        if np.isnan(low):
            return  # every value is missing
        infinite = high == np.inf or low == -np.inf
        if infinite and self.rule.finite:
            self.tally("finite", "finite").add(_positions(np.isinf(values)), column, chunk)
        finite = np.isfinite(values) if infinite else None
        if self.rule.min is not None and low < self.rule.min:
            mask = values < self.rule.min
            mask = mask & finite if finite is not None else mask
            self.tally("min", self.rule.min).add(_positions(mask), column, chunk)
        if self.rule.max is not None and high > self.rule.max:
            mask = values > self.rule.max
            mask = mask & finite if finite is not None else mask
            self.tally("max", self.rule.max).add(_positions(mask), column, chunk)

    def _strings(self, column: Any, chunk: Chunk) -> None:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        from mlratchet import arrays

        if self.categories is None and self.rule.pattern is None:
            return
        encoded = column if pa.types.is_dictionary(column.type) else column.dictionary_encode()
        words = encoded.dictionary
        bad_categories = bad_pattern = None
        if self.categories is not None:
            allowed = self.categories
            bad_categories = [i for i, w in enumerate(words.to_pylist()) if w not in allowed]
        if self.rule.pattern is not None:
            matched = pc.match_substring_regex(words, pattern=f"^(?:{self.rule.pattern})$")
            bad_pattern = [i for i, ok in enumerate(matched.to_pylist()) if not ok]
        if not bad_categories and not bad_pattern:
            return
        codes = arrays.primitive(encoded.indices)
        present = arrays.valid(encoded)
        for rule, bad, expected in (
            ("categories", bad_categories, list(self.rule.categories or ())),
            ("pattern", bad_pattern, self.rule.pattern),
        ):
            if not bad:
                continue
            mask = np.isin(codes, np.asarray(bad, dtype=codes.dtype))
            if present is not None:
                mask &= present
            self.tally(rule, expected).add(_positions(mask), column, chunk)

    def finish(self) -> list[Failure]:
        """This column's failures, in rule order."""
        failures = []
        if self.rule.max_null_rate is not None and self.rows:
            rate = self.missing / self.rows
            if rate > self.rule.max_null_rate:
                examples = self.tallies["_missing"].examples
                failures.append(
                    _failure(
                        self.name, "max_null_rate", self.rule.max_null_rate, self.missing, examples
                    )
                )
        if self.rule.unique and self.unique_chunks:
            failures.extend(self._unique())
        for rule in ("not_null", "finite", "min", "max", "categories", "pattern"):
            tally = self.tallies.get(rule)
            if tally is not None and tally.count:
                failures.append(
                    _failure(self.name, rule, tally.expected, tally.count, tally.examples)
                )
        return failures

    def _unique(self) -> list[Failure]:
        import numpy as np
        import pyarrow as pa

        from mlratchet import arrays

        chunks = [
            c.dictionary_decode() if pa.types.is_dictionary(c.type) else c
            for c in self.unique_chunks
        ]
        values = arrays.flat(pa.chunked_array(chunks))
        encoded = values.dictionary_encode()
        codes = arrays.primitive(encoded.indices).astype(np.int64)
        present = arrays.valid(values)
        if present is not None:
            codes = np.where(present, codes, -1)
        _, first = np.unique(codes, return_index=True)
        repeat = np.ones(len(codes), dtype=bool)
        repeat[first] = False
        if present is not None:
            repeat &= present
        positions = np.flatnonzero(repeat)
        if not len(positions):
            return []
        tally = _Tally(True, limit=self.examples)
        tally.add(positions, values, Chunk(pa.table({}), 0))
        return [_failure(self.name, "unique", True, len(positions), tally.examples)]


def _plain(value: Any) -> Any:
    """A whole float as an int (``150`` rather than ``150.0``), for a readable report."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _failure(
    column: str | None, rule: str, expected: Any, count: int, examples: list[Example] | None = None
) -> Failure:
    return {
        "column": column,
        "rule": rule,
        "expected": _plain(expected),
        "count": count,
        "examples": examples or [],
    }


def _issue_failure(issue: Issue) -> Failure:
    examples: list[Example] = [
        {"row": row, "value": json_value(value)}
        for row, value in zip(issue.rows, issue.values, strict=False)
    ]
    expected: Any = {
        "duplicate_column": "unique column names",
        "ragged_row": issue.detail,
        "utf8": "UTF-8 text",
        "type": issue.detail.removeprefix("not "),
    }.get(issue.rule, issue.detail)
    return _failure(issue.column, issue.rule, expected, issue.count, examples)


class Validator:
    """Validate one data file against one contract, chunk by chunk.

    ``examples``: failing rows kept per column and rule (a server's answer lists every one).
    """

    def __init__(self, contract: Contract, data: TableFile, examples: int = EXAMPLES) -> None:
        self.contract = contract
        self.data = data
        self.failures: list[Failure] = [_issue_failure(i) for i in data.issues]
        self.rules = len(data.issues)
        present = set(data.names)
        for name in contract.columns:
            self.rules += 1
            if name not in present:
                self.failures.append(_failure(name, "missing_column", "present", 1))
        if not contract.extra_columns:
            for name in dict.fromkeys(data.names):
                self.rules += 1
                if name not in contract.columns:
                    self.failures.append(_failure(name, "extra_column", "absent", 1))
        self.checks: dict[str, _ColumnCheck] = {}
        duplicated = {i.column for i in data.issues if i.rule == "duplicate_column"}
        for name, rule in contract.columns.items():
            if name not in present or name in duplicated:
                continue
            arrow_type = data.types[name]
            if data.format == "parquet" and not arrow_matches(rule.type, arrow_type):
                found: list[Example] = [{"row": None, "value": str(arrow_type)}]
                self.failures.append(_failure(name, "type", rule.type, data.rows or 0, found))
                continue
            self.checks[name] = _ColumnCheck(name, rule, data.unparsed.get(name), examples)
            self.rules += _count_rules(rule)
        self.rows = 0

    @property
    def columns(self) -> list[str]:
        """The columns whose values are checked."""
        return list(self.checks)

    def feed(self, chunk: Chunk) -> None:
        """Check one chunk of rows (a large one a column per thread: each check owns its
        state)."""
        from mlratchet.parallel import map_threads

        def feed_one(name: str) -> None:
            self.checks[name].feed(chunk.table.column(name), chunk)

        self.rows += chunk.table.num_rows
        threads = None if chunk.table.num_rows >= _THREADED_ROWS else 1
        map_threads(feed_one, self.checks, threads=threads)

    def report(self) -> ValidationReport:
        """Every failure found, structure first, then columns in contract order."""
        failures = list(self.failures)
        self.rules += 1
        rows_rule = self.contract.rows
        if self.rows < rows_rule.min or (rows_rule.max is not None and self.rows > rows_rule.max):
            expected = {"min": rows_rule.min, "max": rows_rule.max}
            failures.append(_failure(None, "rows", expected, self.rows))
        for check in self.checks.values():
            failures.extend(check.finish())
        return {
            "valid": not failures,
            "data": str(self.data.path),
            "contract": "",
            "format": self.data.format,
            "rows": self.rows,
            "columns": len(self.data.names),
            "rules": self.rules,
            "failures": failures,
        }


def _count_rules(rule: Column) -> int:
    count = 1  # nullability
    optional = (rule.max_null_rate, rule.min, rule.max, rule.categories, rule.pattern)
    count += sum(x is not None for x in optional)
    count += int(rule.unique) + int(rule.type in NUMERIC_TYPES and rule.finite)
    return count
