"""Drift on 100,000,000 rows x 25 columns: a Dask cluster of 2 workers against one process.

The seeded synthetic reference and current batch (benchmarks/synth.py: 20 numeric and 5
categorical columns) are written once, one row group of 1M rows at a time (never held in
memory), under benchmarks/.work/cluster/ (git-ignored): a folder per side holding one Parquet
file of ROWS / 1M row groups. Mind the disk: about 57 MB per million rows per side (11.3 GB for
the default 100M; check `df -h`).

Timed, whole process, alternately:

- `ratchet monitor CUR/data.parquet --reference REF/data.parquet --stream --json`: one process,
  row group after row group (the streamed single-process path);
- `ratchet monitor CUR --reference REF --scheduler ADDRESS --json`: the same row groups, one
  task each, on a `distributed.LocalCluster` of 2 worker processes of 1 thread, started here.

Each timed run writes its JSON report to a file of its own (under .work/cluster/reports), and
every report of both commands is compared with the first (they must be equal, locations aside):
no untimed run is added for the check. On a shared 2-core machine the cluster cannot beat the
single process by much: it shows that the work spreads over processes (and machines) and that
the result does not change.

The two sides are written at the same time, by two processes, and the time that took is printed
(it is not part of the comparison).

Usage: python benchmarks/bench_drift_cluster.py [--rows N] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from harness import compare, tool
from peers import HERE, WORK

ROW_GROUP = 1_000_000


def folder(rows: int, *, current: bool) -> Path:
    """The folder of one side: one Parquet file, ``data.parquet``, of ``rows`` rows."""
    label = f"{rows // 1_000_000}m" if rows >= 1_000_000 else str(rows)
    return WORK / "cluster" / f"{'cur' if current else 'ref'}_{label}"


def datasets(rows: int) -> tuple[Path, Path]:
    """The reference and current folders, the missing ones written at once by two processes."""
    ref, cur = folder(rows, current=False), folder(rows, current=True)
    writers = []
    start = time.perf_counter()
    for side, current in ((ref, False), (cur, True)):
        path = side / "data.parquet"
        if not path.is_file():
            print(f"writing {path}", file=sys.stderr)
            cmd = [sys.executable, str(HERE / "synth.py"), str(rows), str(path)]
            cmd += ["--row-group", str(ROW_GROUP)] + (["--current"] if current else [])
            writers.append(subprocess.Popen(cmd))
    failed = [w.args for w in writers if w.wait() != 0]
    if failed:
        raise SystemExit(f"writing the data failed: {failed}")
    if writers:
        print(
            f"wrote {len(writers)} side(s) of {rows:,} rows in {time.perf_counter() - start:.1f} s",
            file=sys.stderr,
        )
    return ref, cur


def capturing(cmd: list[str], reports: Path, label: str) -> list[str]:
    """``cmd`` through sh, its stdout in a new file ``reports/LABEL.*.json`` per run; exit 1 (an
    alert: a result, not a failure) counts as done."""
    quoted = " ".join(f"'{part}'" for part in cmd)
    target = f'"$(mktemp {reports}/{label}.XXXXXX.json)"'
    return ["/bin/sh", "-c", f"{quoted} >{target}; [ $? -le 1 ]"]


def captured(reports: Path, label: str, runs: int) -> list[dict[str, object]]:
    """The reports the timed runs of ``label`` wrote, locations (paths) left out."""
    files = sorted(reports.glob(f"{label}.*.json"))
    if len(files) != runs:
        raise SystemExit(f"{label}: {len(files)} reports in {reports}, expected {runs}")
    found = [json.loads(f.read_text()) for f in files]
    return [{k: v for k, v in r.items() if k not in ("current", "reference")} for r in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    ref, cur = datasets(args.rows)
    reports = WORK / "cluster" / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    reports.mkdir(parents=True)
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
                "one process (--stream)": capturing(single, reports, "stream"),
                "Dask, 2 workers (--scheduler)": capturing(distributed, reports, "dask"),
            },
            runs=args.runs,
            warmup=0,
        )
    every = captured(reports, "stream", args.runs) + captured(reports, "dask", args.runs)
    equal = all(r == every[0] for r in every)
    one, two = timed["one process (--stream)"], timed["Dask, 2 workers (--scheduler)"]
    print(
        f"\nthe cluster took {two.median / one.median:.2f}x the single process's time; "
        f"the {len(every)} reports of the timed runs are {'equal' if equal else 'DIFFERENT'}."
    )
    if not equal:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
