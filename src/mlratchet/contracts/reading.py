"""Strict readers for tabular files: Parquet by row groups, CSV with pyarrow's reader.

pandas forgives a lot that a contract must not: it renames a duplicate header ``a`` to ``a.1``,
pads a short row with NaN, reads a header-only file as an empty frame, replaces bytes that are
not UTF-8, and reads ``inf`` as a number. Here each of those is seen and reported:

- **structure** problems (a duplicate header name, a ragged row, bytes that are not UTF-8) are
  :class:`Issue` records the validator turns into failures with row numbers;
- a file that cannot be read as a table at all (missing, empty, not Parquet, a header that is
  not UTF-8) is :class:`DataError` (exit 2) naming the file and what is wrong.

Row numbers are 0-based positions of data rows (the CSV header is not a row; a ragged row still
counts, so row ``r`` of a plain CSV file is on line ``r + 2``).

Parquet is read one row group at a time, so memory stays bounded by the largest row group. CSV
is read whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlratchet.errors import BadInputError
from mlratchet.tables import unique_names

if TYPE_CHECKING:
    import pyarrow as pa

Format = Literal["parquet", "csv"]
#: Strings a CSV cell may hold for a missing value (pyarrow's defaults, as pandas reads them).
NULL_TOKENS = (
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "n/a",
    "nan",
    "null",
)
_BOOL_TRUE = ("1", "True", "TRUE", "true")
_BOOL_FALSE = ("0", "False", "FALSE", "false")


class DataError(BadInputError):
    """A data file that cannot be read as a table (exit 2)."""


@dataclass(frozen=True)
class Issue:
    """A structural problem found while reading: which rule, which column, which rows."""

    rule: str  # duplicate_column | ragged_row | utf8 | type
    column: str | None
    rows: tuple[int, ...] = ()
    values: tuple[Any, ...] = ()
    count: int = 0
    detail: str = ""


@dataclass
class Chunk:
    """A slice of rows: its Arrow table and the row number of its first row."""

    table: pa.Table
    offset: int
    #: For CSV with ragged rows skipped: the row number of each row of ``table``.
    row_numbers: Any = None


@dataclass
class TableFile:
    """An opened data file: its format, columns as written, and how to read it."""

    path: Path
    format: Format
    names: list[str]  # as in the file, duplicates included
    types: dict[str, pa.DataType]  # first occurrence of each name
    rows: int | None  # known up front for Parquet
    issues: list[Issue] = field(default_factory=list)
    #: CSV: positions of values that did not parse (type or utf8), by column; they read as
    #: null but are reported as what they are, not as missing values.
    unparsed: dict[str, Any] = field(default_factory=dict)
    _csv_table: Any = None
    _csv_rows: Any = None

    def chunks(
        self,
        columns: list[str] | None = None,
        *,
        whole: bool = False,
        dictionary: list[str] | None = None,
    ) -> Iterator[Chunk]:
        """The data, chunk by chunk (Parquet: one row group each; ``whole``: one chunk).

        ``dictionary`` names Parquet string columns to read dictionary-encoded (cheaper to read
        and to check against a list of categories).
        """
        if self.format == "csv":
            table = self._csv_table
            if columns is not None:
                table = table.select(columns)
            yield Chunk(table, 0, self._csv_rows)
            return
        yield from _parquet_chunks(self.path, columns, whole=whole, dictionary=dictionary)

    def read(self, columns: list[str] | None = None) -> pa.Table:
        """The whole table (or some columns), in memory."""
        import pyarrow as pa

        tables = [chunk.table for chunk in self.chunks(columns, whole=True)]
        return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def detect_format(path: Path) -> Format:
    """Parquet or CSV, from the file's first bytes (a Parquet file starts with ``PAR1``)."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, not a data file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror}") from None
    if magic == b"PAR1":
        return "parquet"
    if path.suffix.lower() in (".parquet", ".pq"):
        raise DataError(f"{path}: not a Parquet file (no PAR1 magic bytes)")
    return "csv"


def _duplicates(names: list[str]) -> list[Issue]:
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    return [
        Issue("duplicate_column", name, count=n, detail=f"{n} columns are named {name!r}")
        for name, n in seen.items()
        if n > 1
    ]


def open_parquet(path: Path) -> TableFile:
    """Open a Parquet file (metadata only)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    schema = meta.schema_arrow
    names = list(schema.names)
    types: dict[str, pa.DataType] = {}
    for f in schema:
        types.setdefault(f.name, f.type)
    return TableFile(path, "parquet", names, types, meta.metadata.num_rows, _duplicates(names))


def _parquet_chunks(
    path: Path, columns: list[str] | None, *, whole: bool, dictionary: list[str] | None
) -> Iterator[Chunk]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if whole:
            # ParquetFile.read, not pq.read_table: the latter imports pandas (half a second).
            parquet = pq.ParquetFile(path, read_dictionary=dictionary)
            yield Chunk(parquet.read(columns=columns, use_threads=True), 0)
            return
        parquet = pq.ParquetFile(path, read_dictionary=dictionary)
        offset = 0
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group, columns=columns)
            yield Chunk(table, offset)
            offset += table.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None


def _header(path: Path) -> tuple[list[str], bytes]:
    """The CSV header's names, and the file's bytes (a file with no header is a DataError)."""
    data = path.read_bytes()
    if not data.strip():
        raise DataError(f"{path}: empty file: no header row (a CSV file needs one)")
    first = data.split(b"\n", 1)[0].rstrip(b"\r")
    if first.startswith(b"\xef\xbb\xbf"):
        first = first[3:]
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}:1: the header is not UTF-8 (byte 0x{first[exc.start]:02x} at column "
            f"{exc.start + 1}); re-encode the file as UTF-8"
        ) from None
    names = next(csv.reader([text]))
    if not any(names):
        raise DataError(f"{path}:1: the header row has no column names")
    return names, data


def _ragged_rows(data: bytes, width: int) -> tuple[list[int], list[int]]:
    """Row numbers and field counts of data rows whose field count is not ``width``."""
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text))
    next(reader, None)
    rows, counts = [], []
    for number, record in enumerate(reader):
        if len(record) != width and record:
            rows.append(number)
            counts.append(len(record))
    return rows, counts


def _arrow_type(kind: str) -> pa.DataType:
    import pyarrow as pa

    return {
        "integer": pa.int64(),
        "float": pa.float64(),
        "string": pa.string(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("ns", tz="UTC"),
    }[kind]


def open_csv(path: Path, declared: Mapping[str, str] | None = None) -> TableFile:
    """Read a CSV file with pyarrow; ``declared`` maps column name to a contract type.

    Without ``declared``, types are inferred (``ratchet contract infer``, ``ratchet monitor``).
    With it, each column is parsed as declared; a value that does not parse is a ``type``
    :class:`Issue` (with its row) and becomes null, and bytes that are not UTF-8 in a string
    column are a ``utf8`` issue.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names, data = _header(path)
    issues = _duplicates(names)
    unique = unique_names(names)
    ragged: list[Any] = []

    def skip(row: Any) -> str:
        ragged.append(row)
        return "skip"

    types = {}
    for name, internal in zip(names, unique, strict=True):
        if declared is not None and name in declared and name == internal:
            # Text is read as bytes so that bytes which are not UTF-8 are found, not fatal.
            kind = declared[name]
            types[internal] = pa.binary() if kind == "string" else _arrow_type(kind)
        elif declared is not None:
            types[internal] = pa.binary()
    read = pacsv.ReadOptions(column_names=unique, skip_rows=1, use_threads=True)
    parse = pacsv.ParseOptions(invalid_row_handler=skip)
    convert = pacsv.ConvertOptions(
        column_types=types, strings_can_be_null=True, null_values=list(NULL_TOKENS)
    )
    try:
        table = pacsv.read_csv(io.BytesIO(data), read, parse, convert)
    except pa.ArrowInvalid as exc:
        if declared is None or "conversion error" not in str(exc):
            raise DataError(f"{path}: not a readable CSV file ({exc})") from None
        # A declared column holds a value of another type: read everything as text and parse
        # each declared column here, value by value where it must.
        convert = pacsv.ConvertOptions(
            column_types=dict.fromkeys(unique, pa.binary()),
            strings_can_be_null=True,
            null_values=list(NULL_TOKENS),
        )
        ragged.clear()
        table = pacsv.read_csv(io.BytesIO(data), read, parse, convert)

    row_numbers = None
    if ragged:
        rows, counts = _ragged_rows(data, len(names))
        issues.append(
            Issue(
                "ragged_row",
                None,
                rows=tuple(rows[:5]),
                values=tuple(f"{c} fields" for c in counts[:5]),
                count=len(rows),
                detail=f"rows must have {len(names)} fields",
            )
        )
        row_numbers = _kept_rows(table.num_rows, rows)

    unparsed: dict[str, Any] = {}
    if declared is None:
        for name, column in zip(unique, table.columns, strict=True):
            if pa.types.is_binary(column.type):
                raise DataError(f"{path}: column {name!r} is not UTF-8 text")
    else:
        table, found, unparsed = _convert_declared(table, names, unique, declared, row_numbers)
        issues.extend(found)
    out = TableFile(path, "csv", names, {}, table.num_rows, issues, unparsed)
    out.types = {name: table.schema.field(i).type for i, name in enumerate(unique)}
    out._csv_table = table.rename_columns(unique)
    out._csv_rows = row_numbers
    return out


def _kept_rows(kept: int, skipped: list[int]) -> Any:
    """Row numbers of the rows the CSV reader kept, given the rows it skipped."""
    import numpy as np

    mask = np.ones(kept + len(skipped), dtype=bool)
    mask[skipped] = False
    return np.flatnonzero(mask)


def _row(index: int, row_numbers: Any) -> int:
    return int(row_numbers[index]) if row_numbers is not None else index


def _convert_declared(
    table: pa.Table,
    names: list[str],
    unique: list[str],
    declared: Mapping[str, str],
    row_numbers: Any,
) -> tuple[pa.Table, list[Issue], dict[str, Any]]:
    """Parse each declared column from text; collect values that do not parse."""
    import numpy as np
    import pyarrow as pa

    issues: list[Issue] = []
    unparsed: dict[str, Any] = {}
    columns = []
    for name, internal, column in zip(names, unique, table.columns, strict=True):
        kind = declared.get(name) if name == internal else None
        if kind is None or not pa.types.is_binary(column.type):
            columns.append(column)
            continue
        text, bad_utf8 = _as_text(column)
        if bad_utf8:
            issues.append(_issue("utf8", name, bad_utf8, column, row_numbers, "not UTF-8"))
        if kind == "string":
            columns.append(text)
            if bad_utf8:
                unparsed[name] = np.asarray(bad_utf8, dtype=np.int64)
            continue
        parsed, bad = _parse(text, kind)
        if bad:
            issues.append(_issue("type", name, bad, text, row_numbers, f"not {kind}"))
        if bad or bad_utf8:
            unparsed[name] = np.union1d(
                np.asarray(bad, dtype=np.int64), np.asarray(bad_utf8, dtype=np.int64)
            )
        columns.append(parsed)
    return pa.table(columns, names=unique), issues, unparsed


def _issue(  # noqa: PLR0917 - a private constructor with one call per rule
    rule: str, name: str, bad: list[int], column: Any, row_numbers: Any, detail: str
) -> Issue:
    values = column.take(bad[:5]).to_pylist()
    return Issue(
        rule,
        name,
        rows=tuple(_row(i, row_numbers) for i in bad[:5]),
        values=tuple(values),
        count=len(bad),
        detail=detail,
    )


def _as_text(column: Any) -> tuple[Any, list[int]]:
    """A binary column as UTF-8 strings; positions of values that are not UTF-8 become null."""
    import pyarrow as pa

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    try:
        return column.cast(pa.string()), []
    except pa.ArrowInvalid:
        pass
    values = column.to_pylist()
    bad = []
    for i, value in enumerate(values):
        if value is None:
            continue
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(i)
            values[i] = None
    return pa.array(values, type=pa.binary()).cast(pa.string()), bad


def _parse(text: Any, kind: str) -> tuple[Any, list[int]]:
    """Parse a text column as ``kind``; positions that do not parse become null."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    target = _arrow_type(kind)
    try:
        return pc.cast(pc.utf8_trim_whitespace(text), target), []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    import pandas as pd

    series = pd.Series(text.to_pylist(), dtype=object)
    present = series.notna().to_numpy()
    if kind == "boolean":
        ok = series.isin([*_BOOL_TRUE, *_BOOL_FALSE]).to_numpy()
        values = pa.array(series.where(ok).isin(_BOOL_TRUE).where(ok), type=pa.bool_())
    elif kind == "timestamp":
        parsed = pd.to_datetime(series.str.strip(), errors="coerce", utc=True, format="ISO8601")
        ok = parsed.notna().to_numpy()
        values = pa.array(parsed, type=target)
    else:
        numbers = pd.to_numeric(series.str.strip(), errors="coerce")
        ok = numbers.notna().to_numpy()
        if kind == "integer":
            integral = np.isfinite(numbers.to_numpy(dtype=float)) & (
                numbers.to_numpy(dtype=float) % 1 == 0
            )
            ok = ok & integral
        values = pa.array(numbers.where(ok), type=pa.float64(), from_pandas=True)
        if kind == "integer":
            values = values.cast(pa.int64())
    bad = np.flatnonzero(present & ~ok).tolist()
    return values, bad
