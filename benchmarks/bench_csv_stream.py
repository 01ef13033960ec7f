"""A CSV batch of ~2M rows x 25 columns: the monitor streams it block by block (bounded memory).

Writes a reference and a current CSV (20 numeric and 5 text columns) in a temporary folder and
prints, whole process, wall time and peak RSS (`/usr/bin/time -v`) of:

- `ratchet monitor CUR.csv --reference REF.csv --json` (CSV read block by block; exact statistics
  keep each numeric column's values, not the table);
- the same with `--stream` (histograms: memory bounded by a block);
- `pandas.read_csv(CUR.csv)` alone (what reading the file whole costs, before any statistic).

That the CSV path gives the Parquet path's report is what tests/func/test_monitor_faults.py
checks. Usage: python benchmarks/bench_csv_stream.py [--rows N]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

NUMERIC, TEXT = 20, 5


def write_csv(path: Path, rows: int, seed: int, shift: float) -> None:
    """A synthetic table, written with pyarrow in slices of 250,000 rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    levels = np.array([f"level_{i}" for i in range(12)])
    with pacsv.CSVWriter(path, _schema()) as writer:
        for start in range(0, rows, 250_000):
            n = min(250_000, rows - start)
            columns = [pa.array(rng.normal(shift * (i % 3), 1 + i % 4, n)) for i in range(NUMERIC)]
            columns += [pa.array(levels[rng.integers(0, 12, n)]) for _ in range(TEXT)]
            writer.write_table(pa.table(columns, schema=_schema()))


def _schema() -> object:
    import pyarrow as pa

    fields = [pa.field(f"x{i:02d}", pa.float64()) for i in range(NUMERIC)]
    fields += [pa.field(f"c{i}", pa.string()) for i in range(TEXT)]
    return pa.schema(fields)


def measure(label: str, command: list[str]) -> tuple[str, float, float]:
    """Wall seconds and peak RSS (MB) of one command, by /usr/bin/time -v."""
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=False
    )
    if done.returncode not in (0, 1):  # 1: the monitor's alert, a result
        sys.exit(f"{label}: exit {done.returncode}\n{done.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)[1])
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    hours, minutes, seconds = (float(g) if g else 0.0 for g in wall.groups())
    return label, hours * 3600 + minutes * 60 + seconds, rss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()
    ratchet = shutil.which("ratchet") or str(Path(sys.executable).with_name("ratchet"))
    with tempfile.TemporaryDirectory() as tmp:
        ref, cur = Path(tmp, "ref.csv"), Path(tmp, "cur.csv")
        write_csv(ref, args.rows, 1, 0.0)
        write_csv(cur, args.rows, 2, 0.05)
        size = cur.stat().st_size / 2**20
        monitor = [ratchet, "monitor", str(cur), "--reference", str(ref), "--json"]
        results = [
            measure("ratchet monitor (CSV streamed, exact)", monitor),
            measure("ratchet monitor --stream (CSV streamed, histograms)", [*monitor, "--stream"]),
            measure(
                "pandas.read_csv(cur.csv) only",
                [sys.executable, "-c", f"import pandas; pandas.read_csv({str(cur)!r})"],
            ),
        ]
    print(f"{args.rows:,} rows x {NUMERIC + TEXT} columns, {size:.0f} MB per CSV file")
    print(f"{'':55} {'wall s':>8} {'peak RSS MB':>12}")
    for label, wall, rss in results:
        print(f"{label:55} {wall:8.1f} {rss:12.0f}")


if __name__ == "__main__":
    main()
