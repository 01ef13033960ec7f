"""Stage prepare: weather join, labels, cancelled/diverted handling, schedule features, splits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from flightdelay.flights import WEATHER_COLUMNS
from flightdelay.params import PrepareParams
from flightdelay.prepare import PREPARED_COLUMNS, build_examples, prepare, schedule_features


def flight(**kw: object) -> dict:
    row = {
        "year": 2013,
        "month": 1,
        "day": 1,
        "dep_time": 600.0,
        "sched_dep_time": 600,
        "dep_delay": 0.0,
        "arr_time": 900.0,
        "sched_arr_time": 900,
        "arr_delay": 0.0,
        "carrier": "UA",
        "flight": 1,
        "tailnum": "N1",
        "origin": "EWR",
        "dest": "IAH",
        "air_time": 200.0,
        "distance": 1400,
        "hour": 6,
        "minute": 0,
        "time_hour": "2013-01-01T11:00:00Z",
    }
    row.update(kw)
    return row


def weather(origin: str, time_hour: str, **kw: object) -> dict:
    row = {"origin": origin, "time_hour": time_hour, **dict.fromkeys(WEATHER_COLUMNS, 1.0)}
    row.update(kw)
    return row


def test_label_and_dropped_outcomes_are_counted() -> None:
    """late = arr_delay > 15; cancelled and diverted flights are dropped and counted."""
    flights = pd.DataFrame(
        [
            flight(arr_delay=15.0, flight=1),
            flight(arr_delay=16.0, flight=2),
            flight(
                dep_time=math.nan,
                dep_delay=math.nan,
                arr_time=math.nan,
                arr_delay=math.nan,
                flight=3,
            ),
            flight(arr_time=math.nan, arr_delay=math.nan, flight=4),
        ]
    )
    examples, counts = build_examples(
        flights, pd.DataFrame([weather("EWR", "2013-01-01T11:00:00Z")]), 15
    )
    assert list(examples["flight"]) == [1, 2]
    assert list(examples["late"]) == [0, 1]
    assert counts["cancelled"] == 1
    assert counts["diverted"] == 1
    assert counts["flights"] == 4


def test_weather_is_joined_at_origin_and_scheduled_utc_hour() -> None:
    """Each flight gets its own origin's weather at its scheduled hour, never another's."""
    flights = pd.DataFrame(
        [
            flight(origin="EWR", time_hour="2013-01-01T11:00:00Z", flight=1),
            flight(origin="JFK", time_hour="2013-01-01T11:00:00Z", flight=2),
            flight(origin="JFK", time_hour="2013-01-01T12:00:00Z", flight=3),
        ]
    )
    hours = pd.DataFrame(
        [
            weather("EWR", "2013-01-01T11:00:00Z", temp=10.0),
            weather("JFK", "2013-01-01T11:00:00Z", temp=20.0),
            weather("JFK", "2013-01-01T10:00:00Z", temp=30.0),
        ]
    )
    examples, counts = build_examples(flights, hours, 15)
    assert examples["temp"].tolist()[:2] == [10.0, 20.0]
    assert math.isnan(examples["temp"].iloc[2])
    assert counts["missing_weather"] == 1


def test_duplicate_weather_hours_keep_one_row_per_flight() -> None:
    """A duplicated weather hour does not duplicate flights; it is counted."""
    flights = pd.DataFrame([flight()])
    hours = pd.DataFrame(
        [
            weather("EWR", "2013-01-01T11:00:00Z", temp=1.0),
            weather("EWR", "2013-01-01T11:00:00Z", temp=2.0),
        ]
    )
    examples, counts = build_examples(flights, hours, 15)
    assert len(examples) == 1
    assert examples["temp"].iloc[0] == 1.0
    assert counts["weather_duplicate_hours"] == 1


def test_schedule_features() -> None:
    """Loads count scheduled flights (cancelled included); legs and gaps follow the schedule."""
    flights = pd.DataFrame(
        [
            flight(tailnum="N1", sched_dep_time=1430, time_hour="2013-01-01T19:00:00Z", flight=2),
            flight(tailnum="N1", sched_dep_time=605, time_hour="2013-01-01T11:00:00Z", flight=1),
            flight(
                tailnum="N2",
                sched_dep_time=610,
                time_hour="2013-01-01T11:00:00Z",
                flight=3,
                dep_time=math.nan,
                arr_delay=math.nan,
            ),
            flight(tailnum=np.nan, sched_dep_time=700, time_hour="2013-01-01T12:00:00Z", flight=4),
            flight(
                tailnum="N1", sched_dep_time=900, day=2, time_hour="2013-01-02T14:00:00Z", flight=5
            ),
        ]
    )
    out = schedule_features(flights)
    assert list(out["sched_dep_min"]) == [14 * 60 + 30, 6 * 60 + 5, 6 * 60 + 10, 7 * 60, 9 * 60]
    assert list(out["origin_hour_load"]) == [1, 2, 2, 1, 1]
    assert list(out["origin_day_load"]) == [4, 4, 4, 4, 1]
    assert list(out["day_of_week"]) == [1, 1, 1, 1, 2]  # 2013-01-01 was a Tuesday
    assert out["plane_leg"].tolist()[:3] == [1.0, 0.0, 0.0]
    assert out["plane_gap_min"].iloc[0] == 14 * 60 + 30 - (6 * 60 + 5)
    assert math.isnan(out["plane_gap_min"].iloc[1])
    assert math.isnan(out["plane_leg"].iloc[3])  # no tail number, no legs
    assert out["plane_leg"].iloc[4] == 0.0  # a new day starts again


def test_prepared_rows_carry_no_post_departure_columns() -> None:
    """Prepared frames hold only scheduling-time columns and the label."""
    examples, _ = build_examples(
        pd.DataFrame([flight()]), pd.DataFrame([weather("EWR", "2013-01-01T11:00:00Z")]), 15
    )
    assert list(examples.columns) == [*PREPARED_COLUMNS, "late"]
    assert not {"dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"} & set(examples)


def test_split_by_month_is_time_ordered() -> None:
    """Rows go to train/val/test by month; months in no split are counted, not kept."""
    flights = pd.DataFrame([flight(month=m, flight=m) for m in range(1, 13)])
    hours = pd.DataFrame([weather("EWR", "2013-01-01T11:00:00Z")])
    params = PrepareParams(
        late_minutes=15, train_months=(1, 2, 3), val_months=(4,), test_months=(5, 6)
    )
    frames, record = prepare(flights, hours, params)
    assert {s: sorted(f["month"]) for s, f in frames.items()} == {
        "train": [1, 2, 3],
        "val": [4],
        "test": [5, 6],
    }
    assert record["rows"]["outside_splits"] == 6
    assert record["split_rows"] == {"train": 3, "val": 1, "test": 2}


@pytest.mark.parametrize("months", [((1, 2), (2,), (3,)), ((5,), (4,), (6,))])
def test_bad_splits_are_refused(months: tuple) -> None:
    """Overlapping or non-chronological splits cannot be constructed."""
    with pytest.raises(ValueError):
        PrepareParams(
            late_minutes=15, train_months=months[0], val_months=months[1], test_months=months[2]
        )
