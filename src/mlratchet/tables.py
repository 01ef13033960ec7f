"""Tables: deterministic, atomic Parquet writes, reads that fail with the file's name, and CSV
streamed block by block (bounded memory, as Parquet is read by row groups)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlratchet.errors import BadInputError
from mlratchet.fsio import atomic_path

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv


def write(frame: pd.DataFrame | pa.Table, path: Path | str) -> None:
    """Write a frame (or an Arrow table) as Parquet: no index, no pandas metadata, fixed row
    groups, atomically (a temporary file renamed: a reader never sees a partial file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(frame, pa.Table):
        frame = pa.Table.from_pandas(frame, preserve_index=False)
    table = frame.replace_schema_metadata(None)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=1 << 17)


def read(path: Path | str, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Parquet file; a missing or unreadable file is a :class:`BadInputError`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path, columns=columns).to_pandas()
    except FileNotFoundError:
        raise BadInputError(f"{path}: no such file") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise BadInputError(f"{path}: not a readable Parquet file ({exc})") from None


def folder_files(path: Path | str) -> list[Path]:
    """The Parquet files of a folder, in name order; hidden files (a write in progress,
    ``.NAME.tmp``) are not part of it."""
    folder = Path(path)
    return sorted(p for p in folder.glob("*.parquet") if p.is_file() and not p.name.startswith("."))


def read_folder(path: Path | str) -> pa.Table:
    """The rows of every Parquet file of a folder (a prediction log), in file-name order.

    Files whose schemas differ in a column's type are unified where Arrow can (an integer
    column and a float one read as float); a folder with no Parquet file is bad input.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = folder_files(path)
    if not files:
        raise BadInputError(f"{path}: a folder with no Parquet file (*.parquet) in it")
    tables = []
    for file in files:
        try:
            tables.append(pq.read_table(file).replace_schema_metadata(None))
        except (pa.ArrowInvalid, OSError) as exc:
            raise BadInputError(f"{file}: not a readable Parquet file ({exc})") from None
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise BadInputError(
            f"{path}: its Parquet files have incompatible columns ({exc})"
        ) from None


# --- CSV, streamed ------------------------------------------------------------------------------

#: Bytes of CSV parsed per batch when streaming (types are inferred from the first block).
#: pyarrow's streaming reader holds some 35 blocks read ahead: 2 MiB keeps that near 80 MB
#: (16 MiB: 600 MB) and is as fast.
CSV_BLOCK = 2 << 20


@dataclass(frozen=True)
class CsvStream:
    """A CSV file read batch by batch with pyarrow's streaming reader (bounded memory).

    ``names`` are the header's names (a repeated name gets ``#2``, ``#3``); ``types`` are
    inferred from the first block, with integer and empty (null) columns widened to float64 so
    that a later ``1.5`` or a number after a run of empty cells parses; ``estimated_rows``
    counts line breaks (exact unless a quoted value spans lines).
    """

    path: Path
    names: list[str]
    types: dict[str, pa.DataType]
    estimated_rows: int
    block_size: int = CSV_BLOCK

    @property
    def blocks(self) -> int:
        """About how many batches :meth:`batches` yields."""
        return max(1, -(-self.path.stat().st_size // self.block_size))

    def batches(self, columns: list[str] | None = None) -> Iterator[pa.Table]:
        """The rows, one table per block (only ``columns``, if given)."""
        import pyarrow as pa

        reader = _csv_reader(self.path, self.names, self.types, columns, self.block_size)
        try:
            for batch in reader:
                yield pa.Table.from_batches([batch])
        except pa.ArrowInvalid as exc:
            raise BadInputError(
                f"{self.path}: not a readable CSV file ({exc}); convert it to Parquet, or give "
                "--contract to read it with declared types"
            ) from None
        finally:
            reader.close()


def _csv_reader(
    path: Path,
    names: list[str],
    types: dict[str, pa.DataType] | None,
    columns: list[str] | None,
    block_size: int,
) -> pa.csv.CSVStreamingReader:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from mlratchet.contracts.reading import NULL_TOKENS

    read = pacsv.ReadOptions(
        column_names=names, skip_rows=1, use_threads=True, block_size=block_size
    )
    convert = pacsv.ConvertOptions(
        column_types=types or {},
        strings_can_be_null=True,
        null_values=list(NULL_TOKENS),
        include_columns=columns or [],
    )
    try:
        return pacsv.open_csv(path, read_options=read, convert_options=convert)
    except pa.ArrowInvalid as exc:
        raise BadInputError(f"{path}: not a readable CSV file ({exc})") from None


def _csv_header(path: Path) -> list[str]:
    import csv

    try:
        with path.open("rb") as fh:
            first = fh.readline()
    except FileNotFoundError:
        raise BadInputError(f"{path}: no such file") from None
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read: {exc.strerror}") from None
    first = first.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n")
    if not first.strip():
        raise BadInputError(f"{path}: empty file: no header row (a CSV file needs one)")
    try:
        names = next(csv.reader([first.decode("utf-8")]))
    except UnicodeDecodeError:
        raise BadInputError(f"{path}:1: the header is not UTF-8; re-encode the file") from None
    return unique_names(names)


def unique_names(names: list[str]) -> list[str]:
    """CSV header names made unique as the readers show them: a repeat of ``x`` is ``x#2``."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def _count_lines(path: Path) -> int:
    """Data rows, counted as line breaks after the header (read 8 MiB at a time)."""
    lines = 0
    last = b"\n"
    with path.open("rb") as fh:
        while block := fh.read(8 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1  # no final line break
    return max(0, lines - 1)


def open_csv_stream(path: Path | str, block_size: int | None = None) -> CsvStream:
    """Open a CSV file for streaming: its header, its types (from the first block), its rows."""
    import pyarrow as pa

    path = Path(path)
    block_size = block_size or CSV_BLOCK
    names = _csv_header(path)
    reader = _csv_reader(path, names, None, None, block_size)
    try:
        schema = reader.schema
    finally:
        reader.close()
    types: dict[str, pa.DataType] = {}
    for field in schema:
        widen = pa.types.is_integer(field.type) or pa.types.is_null(field.type)
        types[field.name] = pa.float64() if widen else field.type
    return CsvStream(path, names, types, _count_lines(path), block_size)
