"""A serving batch built from raw data, through the pipeline's own path.

:func:`month_batch` selects whole months of raw flights and runs them through
:func:`flightdelay.prepare.build_examples`, the one function that turns raw flights and weather
into model inputs for training. A batch of a training month is therefore exactly the training
rows of that month (a test holds this).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mlratchet import BadInputError

if TYPE_CHECKING:
    import pandas as pd

RAW = Path("data/raw")


def month_batch(
    months: Sequence[int], late_minutes: int, raw_dir: Path | str = RAW
) -> pd.DataFrame:
    """Prepared rows (``PREPARED_COLUMNS`` + ``late``) of the given months of raw flights."""
    from mlratchet import read_table

    raw = Path(raw_dir)
    flights = read_table(raw / "flights.parquet")
    weather = read_table(raw / "weather.parquet")
    return batch_of(flights, weather, months, late_minutes, source=str(raw / "flights.parquet"))


def batch_of(
    flights: pd.DataFrame,
    weather: pd.DataFrame,
    months: Sequence[int],
    late_minutes: int,
    *,
    source: str = "flights",
) -> pd.DataFrame:
    """Prepared rows of the given months of raw flights already in memory."""
    from flightdelay.prepare import build_examples

    wanted = sorted(set(months))
    bad = [m for m in wanted if not 1 <= m <= 12]
    if bad:
        raise BadInputError(f"month {bad[0]} is not in 1..12")
    selected = flights.loc[flights["month"].isin(wanted)].reset_index(drop=True)
    if selected.empty:
        raise BadInputError(f"{source} has no flights in month(s) {wanted}")
    examples, _ = build_examples(selected, weather, late_minutes)
    return examples


def write_batch(
    months: Sequence[int], late_minutes: int, out: Path | str, raw_dir: Path | str = RAW
) -> int:
    """Write a month batch as Parquet; return its row count."""
    from mlratchet import write_table

    batch = month_batch(months, late_minutes, raw_dir)
    write_table(batch, out)
    return len(batch)
