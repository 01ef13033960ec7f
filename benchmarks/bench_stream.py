"""10,000,000 rows x 25 columns: monitor and validate stream Parquet row groups in bounded memory.

Writes the synthetic reference and current batch at 10M rows (row groups of 250,000; about
1.5 GB each, once) and times, whole process:

- `ratchet monitor CUR --reference REF --stream --json` (histograms, bounded memory);
- `ratchet validate CUR --contract C --stream --json`.

Target (issue 6): peak memory under 2 GB for each. That the streamed results equal the
in-memory ones (exactly for counts, within the reported bounds for KS and Wasserstein, within
0.005 for PSI) is what tests/unit/test_streaming.py checks.
Usage: python benchmarks/bench_stream.py [--runs N] [--rows N]
"""

from __future__ import annotations

import argparse
import subprocess

from harness import compare, tool
from peers import SYNTH, synthetic, tolerate_alert


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    ref = str(synthetic(args.rows, current=False))
    cur = str(synthetic(args.rows, current=True))
    contract = SYNTH / "contract.yaml"
    if not contract.is_file():
        small = str(synthetic(1_000_000, current=False))
        subprocess.run(
            [tool("ratchet"), "contract", "infer", small, "-o", str(contract)], check=True
        )
    timed = compare(
        f"Streaming, {args.rows:,} rows x 25 columns (whole process)",
        {
            "ratchet monitor --stream": tolerate_alert(
                [tool("ratchet"), "monitor", cur, "--reference", ref, "--stream", "--json"]
            ),
            "ratchet validate --stream": tolerate_alert(
                [
                    tool("ratchet"),
                    "validate",
                    cur,
                    "--contract",
                    str(contract),
                    "--stream",
                    "--json",
                ]
            ),
        },
        runs=args.runs,
        warmup=0,
    )
    for label, side in timed.items():
        peak = max(side.peak_rss_mb)
        verdict = "under" if peak < 2048 else "OVER"
        print(f"{label}: peak {peak:.0f} MiB ({verdict} the 2 GB target)")


if __name__ == "__main__":
    main()
