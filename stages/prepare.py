"""Stage prepare: raw flights + weather -> labelled rows split by month.

Writes data/interim/{train,val,test}.parquet and metrics/prepare.json (rows dropped and why).
"""

from pathlib import Path

from flightdelay.params import load_params
from flightdelay.prepare import prepare
from mlratchet import read_table, run_stage, write_json, write_table


def main() -> None:
    params = load_params().prepare
    flights = read_table("data/raw/flights.parquet")
    weather = read_table("data/raw/weather.parquet")
    frames, record = prepare(flights, weather, params)
    for split, frame in frames.items():
        write_table(frame, Path("data/interim") / f"{split}.parquet")
    write_json("metrics/prepare.json", record)


if __name__ == "__main__":
    run_stage("prepare", main)
