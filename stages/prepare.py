"""Stage prepare: raw flights + weather -> labelled rows split by month.

Writes data/interim/{train,val,test}.parquet and metrics/prepare.json (rows dropped and why).
"""

from pathlib import Path

from mlratchet import tables
from mlratchet.fsio import write_json
from mlratchet.params import load_params
from mlratchet.prepare import prepare
from mlratchet.stagerun import run_stage


def main() -> None:
    params = load_params().prepare
    flights = tables.read("data/raw/flights.parquet")
    weather = tables.read("data/raw/weather.parquet")
    frames, record = prepare(flights, weather, params)
    for split, frame in frames.items():
        tables.write(frame, Path("data/interim") / f"{split}.parquet")
    write_json("metrics/prepare.json", record)


if __name__ == "__main__":
    run_stage("prepare", main)
