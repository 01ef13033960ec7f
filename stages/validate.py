"""Stage validate: each raw table against its committed contract (contracts/<table>.yaml).

Writes metrics/validation.json (in git; top-level "valid", then each table's report) and stops
the pipeline with exit 1 when a table breaks its contract, before anything is prepared from it.
"""

from pathlib import Path

from flightdelay.flights import SOURCES
from mlratchet import run_stage, validate_tables, write_json


def main() -> None:
    tables = {
        table: (Path("data/raw") / f"{table}.parquet", Path("contracts") / f"{table}.yaml")
        for table in sorted(SOURCES.values())
    }
    record, error = validate_tables(tables, "metrics/validation.json")
    write_json("metrics/validation.json", record)
    if error is not None:
        raise error


if __name__ == "__main__":
    run_stage("validate", main)
