"""Drift on 1,000,000 rows x 25 columns: `ratchet monitor` against Evidently, side by side.

The seeded synthetic reference and current batch (benchmarks/synth.py: 20 numeric and 5
categorical columns, known shifts) are written once under benchmarks/.work/synth. Timed, whole
process, alternately:

- `ratchet monitor CUR --reference REF --in-memory --json` (exact KS/PSI/Wasserstein,
  chi-square/PSI/Jensen-Shannon; a drift alert exits 1, which is a result, not a failure);
- Evidently's DataDriftPreset with KS and chi-square (benchmarks/peer_evidently.py), in the
  peers' own environment (benchmarks/peers.py; created on first use);
- the same KS/chi-square tests written directly with scipy and pandas (peer_scipy.py);
- with --default, Evidently's default preset too.

Targets (issue 16): at least 40x faster than Evidently's KS/chi-square preset, with at most a
third of its peak memory (issue 6 asked for 15x and half).
Usage: python benchmarks/bench_drift.py [--runs N] [--default]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from harness import compare, tool
from peers import HERE, peer_python, synthetic, tolerate_alert
from synth import DRIFTED, TINY


def agreement(ref: str, cur: str, python: str) -> None:
    """Which columns each tool calls drifted (ours: effect + test; Evidently: p < 0.05)."""
    ours = subprocess.run(
        [tool("ratchet"), "monitor", cur, "--reference", ref, "--in-memory", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(ours.stdout)
    flagged = sorted(c["column"] for c in report["drift"]["columns"] if c["drifted"])
    theirs = subprocess.run(
        [python, str(HERE / "peer_evidently.py"), ref, cur],
        capture_output=True,
        text=True,
        check=True,
    )
    p_values = json.loads(theirs.stdout)
    evidently = sorted(name for name, p in p_values.items() if p < 0.05)
    print("\nColumns flagged as drifted:")
    print(f"- truth (large shifts): {sorted(DRIFTED)}")
    print(f"- truth (tiny shifts, 0.02 sd or a slight tilt): {sorted(TINY)}")
    print(f"- ratchet monitor: {flagged}")
    print(f"- Evidently KS/chi-square (p < 0.05): {evidently}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--default", action="store_true", help="also Evidently's default preset")
    args = parser.parse_args()
    ref = str(synthetic(1_000_000, current=False))
    cur = str(synthetic(1_000_000, current=True))
    python = peer_python()
    sides = {
        "ratchet monitor": tolerate_alert(
            [tool("ratchet"), "monitor", cur, "--reference", ref, "--in-memory", "--json"]
        ),
        "scipy direct": [sys.executable, str(HERE / "peer_scipy.py"), ref, cur],
        "Evidently KS/chi-square": [python, str(HERE / "peer_evidently.py"), ref, cur],
    }
    if args.default:
        sides["Evidently default"] = [
            python,
            str(HERE / "peer_evidently.py"),
            ref,
            cur,
            "--default",
        ]
    timed = compare("Drift, 1M rows x 25 columns (whole process)", sides, runs=args.runs, warmup=1)
    ours, peer = timed["ratchet monitor"], timed["Evidently KS/chi-square"]
    speed = peer.median / ours.median
    memory = max(ours.peak_rss_mb) / max(peer.peak_rss_mb)
    print(
        f"\nratchet is {speed:.1f}x faster than Evidently's KS/chi-square preset "
        f"(target >= 40x) with {memory:.0%} of its peak memory (target <= 33%)."
    )
    agreement(ref, cur, python)


if __name__ == "__main__":
    main()
