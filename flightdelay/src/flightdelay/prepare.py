"""Stage ``prepare``: one row per flight with its origin's weather, a label, and a time split.

What a row may use is what is known when the flight is scheduled:

- the schedule itself: carrier, origin, destination, distance, scheduled departure and arrival
  times, the day of the week, and load figures derived from the published schedule (flights
  scheduled from the origin in that hour and on that day; for the aircraft, which leg of its day
  from New York this is and the minutes since its previous scheduled departure);
- the weather observed at the origin at the scheduled hour, standing in for the forecast a
  planner would have (the data has no forecasts).

Outcomes, handled explicitly and counted in ``metrics/prepare.json``:

- *cancelled* (no departure time): dropped; the question "does it arrive late" has no answer;
- *diverted* (departed, but no arrival delay recorded): dropped for the same reason;
- otherwise ``late = arr_delay > late_minutes``.

Schedule features are computed before anything is dropped (cancelled flights were scheduled) and
over whole days of the batch given, so a serving batch must hold whole days.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flightdelay.flights import LABEL, WEATHER_COLUMNS
from flightdelay.params import PrepareParams

if TYPE_CHECKING:
    import pandas as pd

#: Columns every prepared frame carries, in this order (features are chosen from these).
PREPARED_COLUMNS: tuple[str, ...] = (
    "year",
    "month",
    "day",
    "time_hour",
    "carrier",
    "flight",
    "tailnum",
    "origin",
    "dest",
    "distance",
    "sched_dep_min",
    "sched_arr_min",
    "day_of_week",
    "origin_hour_load",
    "origin_day_load",
    "plane_leg",
    "plane_gap_min",
    *WEATHER_COLUMNS,
)

_DAY = ["year", "month", "day"]


def _hhmm_to_minutes(hhmm: pd.Series) -> pd.Series:
    return (hhmm // 100) * 60 + hhmm % 100


def schedule_features(flights: pd.DataFrame) -> pd.DataFrame:
    """Add the schedule-derived columns; rows keep their order."""
    import numpy as np
    import pandas as pd

    out = flights.copy()
    out["sched_dep_min"] = _hhmm_to_minutes(out["sched_dep_time"]).astype("int64")
    out["sched_arr_min"] = _hhmm_to_minutes(out["sched_arr_time"]).astype("int64")
    dates = pd.to_datetime(out[_DAY])
    out["day_of_week"] = dates.dt.day_of_week.astype("int64")
    out["origin_hour_load"] = out.groupby(["origin", "time_hour"])["flight"].transform("size")
    out["origin_day_load"] = out.groupby(["origin", *_DAY])["flight"].transform("size")

    # The aircraft's legs of the day from New York, in scheduled order (ties broken by the row's
    # position, which is the source's stable order).
    order = out.assign(_pos=np.arange(len(out))).sort_values(
        ["tailnum", *_DAY, "sched_dep_min", "_pos"], kind="stable"
    )
    by_plane_day = order.groupby(["tailnum", *_DAY], dropna=True, sort=False)
    leg = by_plane_day.cumcount().astype("float64")
    gap = by_plane_day["sched_dep_min"].diff().astype("float64")
    out["plane_leg"] = leg.reindex(out.index)
    out["plane_gap_min"] = gap.reindex(out.index)
    return out


def join_weather(flights: pd.DataFrame, weather: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Left-join each flight with its origin's weather at the scheduled hour (UTC ``time_hour``).

    Returns the joined frame and the number of duplicate weather hours dropped (first kept).
    """
    hourly = weather.loc[:, ["origin", "time_hour", *WEATHER_COLUMNS]]
    duplicated = hourly.duplicated(["origin", "time_hour"], keep="first")
    hourly = hourly.loc[~duplicated]
    joined = flights.merge(hourly, on=["origin", "time_hour"], how="left", validate="many_to_one")
    return joined, int(duplicated.sum())


def build_examples(
    flights: pd.DataFrame, weather: pd.DataFrame, late_minutes: int
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Prepared rows (``PREPARED_COLUMNS`` plus ``late``) and counts of what was dropped.

    This is the one code path from raw flights to model inputs: training and serving both use it.
    """
    import numpy as np

    scheduled = schedule_features(flights)
    joined, weather_duplicates = join_weather(scheduled, weather)
    cancelled = joined["dep_time"].isna()
    diverted = ~cancelled & joined["arr_delay"].isna()
    kept = joined.loc[~cancelled & ~diverted]
    examples = kept.loc[:, list(PREPARED_COLUMNS)].reset_index(drop=True)
    examples[LABEL] = (kept["arr_delay"].to_numpy() > late_minutes).astype(np.int8)
    counts = {
        "flights": len(flights),
        "cancelled": int(cancelled.sum()),
        "diverted": int(diverted.sum()),
        "weather_duplicate_hours": weather_duplicates,
        "missing_weather": int(examples["temp"].isna().sum()),
    }
    return examples, counts


def split_by_month(
    examples: pd.DataFrame, params: PrepareParams
) -> tuple[dict[str, pd.DataFrame], int]:
    """The train/val/test frames by calendar month, and the count of rows in no split."""
    split = examples["month"].map(params.split_of())
    frames = {
        name: examples.loc[split == name].reset_index(drop=True)
        for name in ("train", "val", "test")
    }
    return frames, int(split.isna().sum())


def prepare(
    flights: pd.DataFrame, weather: pd.DataFrame, params: PrepareParams
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Build, label and split; return the split frames and the ``metrics/prepare.json`` record."""
    examples, counts = build_examples(flights, weather, params.late_minutes)
    frames, unused = split_by_month(examples, params)
    record: dict[str, Any] = {
        "rows": {**counts, "labelled": len(examples), "outside_splits": unused},
        "split_rows": {name: len(frame) for name, frame in frames.items()},
        "late_rate": {
            name: round(float(frame[LABEL].mean()), 6) if len(frame) else 0.0
            for name, frame in frames.items()
        },
    }
    return frames, record
