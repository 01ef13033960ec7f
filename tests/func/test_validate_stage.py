"""The pipeline's `validate` stage: records metrics/validation.json and stops on bad data."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers import ROOT, run
from mlratchet import tables

FLIGHTS = "contract: 1\ncolumns:\n  dep_delay: {type: float, nullable: true, min: -60, max: 600}\n"
WEATHER = "contract: 1\ncolumns:\n  temp: {type: float, nullable: false, min: -40, max: 120}\n"


@pytest.fixture
def stage_dir(tmp_path: Path) -> Path:
    (tmp_path / "stages").mkdir()
    shutil.copy2(ROOT / "stages/validate.py", tmp_path / "stages/validate.py")
    (tmp_path / "contracts").mkdir()
    (tmp_path / "contracts/flights.yaml").write_text(FLIGHTS)
    (tmp_path / "contracts/weather.yaml").write_text(WEATHER)
    tables.write(pd.DataFrame({"temp": [30.0, 50.0]}), tmp_path / "data/raw/weather.parquet")
    return tmp_path


def test_good_data_passes_and_is_recorded(stage_dir: Path) -> None:
    """Valid raw tables: exit 0 and "valid": true, with one report per table."""
    tables.write(pd.DataFrame({"dep_delay": [1.0, None]}), stage_dir / "data/raw/flights.parquet")
    proc = run([sys.executable, "stages/validate.py"], stage_dir, check=False)
    assert proc.returncode == 0, proc.stderr
    record = json.loads((stage_dir / "metrics/validation.json").read_text())
    assert record["valid"] is True
    assert set(record["tables"]) == {"flights", "weather"}


def test_bad_data_stops_the_pipeline_with_a_clear_message(stage_dir: Path) -> None:
    """A contract violation: exit 1, one line naming file, contract and rule; record written."""
    tables.write(
        pd.DataFrame({"dep_delay": [1.0, 4000.0, 5000.0]}), stage_dir / "data/raw/flights.parquet"
    )
    proc = run([sys.executable, "stages/validate.py"], stage_dir, check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "stage validate: error: data/raw/flights.parquet breaks contracts/flights.yaml: "
        "dep_delay max (2); details in metrics/validation.json. Fix the data, or review the "
        "contract and commit the change if the data is right."
    ]
    record = json.loads((stage_dir / "metrics/validation.json").read_text())
    assert record["valid"] is False
    assert record["tables"]["weather"]["valid"] is True
    failure = record["tables"]["flights"]["failures"][0]
    assert failure["examples"] == [{"row": 1, "value": 4000.0}, {"row": 2, "value": 5000.0}]


def test_reference_raw_data_satisfies_the_committed_contracts() -> None:
    """The committed contracts accept the real raw data (when the pipeline has produced it)."""
    from mlratchet.contracts import validate_file

    raw = ROOT / "data/raw"
    if not (raw / "flights.parquet").is_file():
        pytest.skip("data/raw is not built here (dvc repro); the slow pipeline test covers it")
    for table in ("flights", "weather"):
        report = validate_file(raw / f"{table}.parquet", ROOT / "contracts" / f"{table}.yaml")
        assert report["valid"], report["failures"]
