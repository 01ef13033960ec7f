"""The same tests as Evidently's KS/chi-square preset, computed directly with scipy and pandas.

Usage: python benchmarks/peer_scipy.py REF CUR  (a baseline: what a hand-written script costs)
"""

import json
import sys

import numpy as np
import pandas as pd
from scipy import stats


def main() -> None:
    ref = pd.read_parquet(sys.argv[1])
    cur = pd.read_parquet(sys.argv[2])
    out = {}
    for name in ref.columns:
        a, b = ref[name].dropna(), cur[name].dropna()
        if pd.api.types.is_numeric_dtype(a):
            out[name] = float(stats.ks_2samp(a.to_numpy(), b.to_numpy()).pvalue)
        else:
            table = pd.concat([a.value_counts(), b.value_counts()], axis=1).fillna(0)
            out[name] = float(stats.chi2_contingency(table.to_numpy().T)[1])
    print(json.dumps(out, sort_keys=True, default=np.float64))


if __name__ == "__main__":
    main()
