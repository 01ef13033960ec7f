"""A serving batch built from raw months goes through the training path: same rows, same bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from flightdelay.batch import month_batch
from flightdelay.ingest import ingest
from flightdelay.params import load_params
from flightdelay.prepare import prepare
from helpers import ROOT

pytestmark = pytest.mark.slow


def test_month_batch_equals_the_training_rows_of_that_month(tmp_path: Path) -> None:
    """`ratchet batch`'s rows for a training month are exactly prepare's rows for it."""
    params = load_params(ROOT / "params.yaml")
    raw = tmp_path / "raw"
    ingest(params.ingest, raw)
    from mlratchet import tables

    frames, _ = prepare(
        tables.read(raw / "flights.parquet"), tables.read(raw / "weather.parquet"), params.prepare
    )
    month = params.prepare.train_months[2]
    expected = frames["train"].loc[frames["train"]["month"] == month].reset_index(drop=True)
    batch = month_batch([month], params.prepare.late_minutes, raw)
    assert len(batch) > 20_000
    assert batch.equals(expected)
