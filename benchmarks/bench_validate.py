"""Validation of 1,000,000 rows x 25 columns: `ratchet validate` against pandera and a plain read.

The contract is inferred once from the synthetic reference (types, nulls, ranges, categories)
and the same rules are given to pandera (benchmarks/peer_pandera.py, in the peers' own
environment). Timed, whole process, alternately, on the reference (valid) and on the current
batch (which breaks the contract: a new category, values out of range):

- `ratchet validate CUR --contract C --json`;
- pandera: read with pandas, DataFrameSchema(...).validate(lazy=True);
- reading the Parquet file with pyarrow and nothing else (the floor).

Targets (issue 6): faster than pandera, and within 1.3x of the time to read the data.
Usage: python benchmarks/bench_validate.py [--runs N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from harness import compare, tool
from peers import HERE, SYNTH, peer_python, synthetic, tolerate_alert


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    ref = str(synthetic(1_000_000, current=False))
    cur = str(synthetic(1_000_000, current=True))
    contract = SYNTH / "contract.yaml"
    if not contract.is_file():
        subprocess.run([tool("ratchet"), "contract", "infer", ref, "-o", str(contract)], check=True)
    python = peer_python()
    for label, data in (("valid reference", ref), ("current batch, with failures", cur)):
        read = f"import pyarrow.parquet as pq; pq.ParquetFile({data!r}).read()"
        timed = compare(
            f"Validation, 1M rows x 25 columns, {label} (whole process)",
            {
                "ratchet validate": tolerate_alert(
                    [tool("ratchet"), "validate", data, "--contract", str(contract), "--json"]
                ),
                "pandera (lazy)": [python, str(HERE / "peer_pandera.py"), data, str(contract)],
                # The fastest plain read: ParquetFile.read (pq.read_table also imports pandas).
                "read the Parquet (pyarrow)": [sys.executable, "-c", read],
            },
            runs=args.runs,
            warmup=1,
        )
        ours = timed["ratchet validate"].median
        print(
            f"\n{label}: ratchet validate is {timed['pandera (lazy)'].median / ours:.1f}x faster "
            f"than pandera, and takes {ours / timed['read the Parquet (pyarrow)'].median:.2f}x "
            "the time to read the data (target <= 1.3x)."
        )


if __name__ == "__main__":
    main()
