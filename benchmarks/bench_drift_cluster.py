"""Drift on 100,000,000 rows x 25 columns: a Dask cluster of 2 workers against one process.

The seeded synthetic reference and current batch (benchmarks/synth.py: 20 numeric and 5
categorical columns) are written once, one row group of 1M rows at a time (never held in
memory), under benchmarks/.work/cluster/ (git-ignored): a folder per side holding one Parquet
file of ROWS / 1M row groups. Mind the disk: about 75 MB per million rows per side (15 GB for
the default 100M; check `df -h`).

Timed, whole process, alternately:

- `ratchet monitor CUR/data.parquet --reference REF/data.parquet --stream --json`: one process,
  row group after row group (the streamed single-process path);
- `ratchet monitor CUR --reference REF --scheduler ADDRESS --json`: the same row groups, one
  task each, on a `distributed.LocalCluster` of 2 worker processes of 1 thread, started here.

The two reports are compared (they must be equal, locations aside). On a shared 2-core machine
the cluster cannot beat the single process by much: it shows that the work spreads over
processes (and machines) and that the result does not change.

Usage: python benchmarks/bench_drift_cluster.py [--rows N] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from harness import compare, tool
from peers import HERE, WORK, tolerate_alert

ROW_GROUP = 1_000_000


def dataset(rows: int, *, current: bool) -> Path:
    """A folder holding one Parquet file of ``rows`` rows in 1M-row groups (written once)."""
    label = f"{rows // 1_000_000}m" if rows >= 1_000_000 else str(rows)
    folder = WORK / "cluster" / f"{'cur' if current else 'ref'}_{label}"
    path = folder / "data.parquet"
    if not path.is_file():
        print(f"writing {path}", file=sys.stderr)
        cmd = [sys.executable, str(HERE / "synth.py"), str(rows), str(path)]
        cmd += ["--row-group", str(ROW_GROUP)] + (["--current"] if current else [])
        subprocess.run(cmd, check=True)
    return folder


def report(cmd: list[str]) -> dict[str, object]:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    found: dict[str, object] = json.loads(proc.stdout)
    return {k: v for k, v in found.items() if k not in ("current", "reference")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    ref = dataset(args.rows, current=False)
    cur = dataset(args.rows, current=True)
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        single = [
            tool("ratchet"),
            "monitor",
            str(cur / "data.parquet"),
            "--reference",
            str(ref / "data.parquet"),
            "--stream",
            "--json",
        ]
        distributed = [
            tool("ratchet"),
            "monitor",
            str(cur),
            "--reference",
            str(ref),
            "--scheduler",
            address,
            "--json",
        ]
        rows = f"{args.rows / 1e6:g}M"
        timed = compare(
            f"Drift, {rows} rows x 25 columns, streamed (whole process)",
            {
                "one process (--stream)": tolerate_alert(single),
                "Dask, 2 workers (--scheduler)": tolerate_alert(distributed),
            },
            runs=args.runs,
            warmup=0,
        )
        equal = report(single) == report(distributed)
    one, two = timed["one process (--stream)"], timed["Dask, 2 workers (--scheduler)"]
    print(
        f"\nthe cluster took {two.median / one.median:.2f}x the single process's time; "
        f"the reports are {'equal' if equal else 'DIFFERENT'}."
    )
    if not equal:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
