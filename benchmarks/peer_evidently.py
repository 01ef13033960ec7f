"""Evidently's data drift preset on two Parquet files (run in the peers' environment).

Usage: peers/bin/python benchmarks/peer_evidently.py REF CUR [--default]
``--default``: Evidently's default tests (Wasserstein/Jensen-Shannon at this size);
otherwise KS for numeric and chi-square for categorical columns.
"""

import json
import sys

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset


def main() -> None:
    ref = pd.read_parquet(sys.argv[1])
    cur = pd.read_parquet(sys.argv[2])
    if "--default" in sys.argv:
        preset = DataDriftPreset()
    else:
        preset = DataDriftPreset(num_method="ks", cat_method="chisquare")
    snapshot = Report([preset]).run(cur, ref)
    drifted = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            drifted[config["column"]] = metric["value"]
    print(json.dumps(drifted, sort_keys=True))


if __name__ == "__main__":
    main()
