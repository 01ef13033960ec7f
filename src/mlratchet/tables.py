"""Parquet tables: deterministic, atomic writes and reads that fail with the file's name."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlratchet.errors import BadInputError
from mlratchet.fsio import atomic_path

if TYPE_CHECKING:
    import pandas as pd


def write(frame: pd.DataFrame, path: Path | str) -> None:
    """Write a frame as Parquet: no index, no pandas metadata, fixed row groups, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
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
