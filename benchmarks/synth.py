"""Seeded synthetic tables for the drift, validation and streaming benchmarks.

25 columns: 20 numeric (``num_00`` .. ``num_19``) and 5 categorical (``cat_0`` .. ``cat_4``).
The reference and the current batch are independent samples; the current batch has known
shifts, so a correct drift detector flags exactly these columns:

=============  ==============================================  =====================
columns        reference                                       current
=============  ==============================================  =====================
num_00..04     normal, lognormal, uniform, Poisson counts      the same (no drift)
num_05..09     the same families                               shifted by 0.02 sd (tiny: a
                                                               test at 1M rows flags it,
                                                               an effect size must not)
num_10..14     the same families                               shifted by 0.5 sd
num_15..19     the same families                               scale x 1.6
cat_0, cat_1   3 and 12 levels                                 the same
cat_2          40 levels                                       proportions tilted a little
cat_3          200 levels                                      a new level takes 20 %
cat_4          6 levels                                        proportions reversed
=============  ==============================================  =====================

1 % of the values of every fifth numeric column are missing (NaN) in both, so a detector
that lets a NaN through is caught out. Values are rounded to 4 decimals (real data has ties).

Usage: python benchmarks/synth.py ROWS OUT.parquet [--current] [--seed N] [--row-group N]
"""

from __future__ import annotations

import argparse
import queue
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

NUMERIC = [f"num_{i:02d}" for i in range(20)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
DRIFTED = [*NUMERIC[10:], "cat_3", "cat_4"]
TINY = [*NUMERIC[5:10], "cat_2"]
LEVELS = {"cat_0": 3, "cat_1": 12, "cat_2": 40, "cat_3": 200, "cat_4": 6}


def _family(i: int, rng: np.random.Generator, n: int) -> np.ndarray:
    kind = i % 4
    if kind == 0:
        return rng.normal(50.0, 10.0, n)
    if kind == 1:
        return rng.lognormal(1.0, 0.5, n)
    if kind == 2:
        return rng.uniform(-5.0, 5.0, n)
    return rng.poisson(4.0, n).astype(np.float64)


_SD = {0: 10.0, 1: 1.6, 2: 2.9, 3: 2.0}  # approximate sd of each family


def numeric_column(i: int, rng: np.random.Generator, n: int, current: bool) -> np.ndarray:
    """One numeric column, with the shift the table above gives it in the current batch.

    Counts (every fourth column) stay integers: their shifts move the Poisson rate, and their
    scale change is rounded, so a shifted count column is still a count column.
    """
    if i % 4 == 3:
        rate = 4.0 + (0.04 if current and 5 <= i < 10 else 0.0)
        rate += 1.0 if current and 10 <= i < 15 else 0.0
        counts = rng.poisson(rate, n).astype(np.float64)
        if current and i >= 15:
            counts = np.round(4.0 + (counts - 4.0) * 1.6).clip(0)
        if i % 5 == 0:
            counts[rng.random(n) < 0.01] = np.nan
        return counts
    values = _family(i, rng, n)
    if current and 5 <= i < 10:
        values = values + 0.02 * _SD[i % 4]
    elif current and 10 <= i < 15:
        values = values + 0.5 * _SD[i % 4]
    elif current and i >= 15:
        centre = float(np.mean(values))
        values = centre + (values - centre) * 1.6
    values = np.round(values, 4)
    if i % 5 == 0:
        values[rng.random(n) < 0.01] = np.nan
    return values


def categorical_column(name: str, rng: np.random.Generator, n: int, current: bool) -> pa.Array:
    """One categorical column (dictionary-encoded strings)."""
    k = LEVELS[name]
    weights = np.linspace(1.0, 3.0, k)
    if current and name == "cat_2":
        weights = weights * np.linspace(1.0, 1.15, k)
    if current and name == "cat_4":
        weights = weights[::-1]
    labels = [f"{name}_v{j:03d}" for j in range(k)]
    if current and name == "cat_3":
        labels = [*labels, f"{name}_new"]
        weights = np.append(weights, weights.sum() * 0.25)
    codes = rng.choice(len(labels), size=n, p=weights / weights.sum()).astype(np.int32)
    # Kept dictionary-encoded: Parquet stores strings dictionary-encoded either way, and
    # `ratchet monitor` reads them so (casting to plain strings cost a copy of every label).
    return pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(labels))


def table_slice(part: int, n: int, *, current: bool, seed: int) -> pa.Table:
    """Slice number ``part`` (``n`` rows) of the table, from its own seeded generator."""
    rng = np.random.default_rng([seed, int(current), part])
    arrays: dict[str, pa.Array] = {}
    for i, name in enumerate(NUMERIC):
        arrays[name] = pa.array(numeric_column(i, rng, n, current))
    for name in CATEGORICAL:
        arrays[name] = categorical_column(name, rng, n, current)
    return pa.table(arrays)


def write(rows: int, out: Path, *, current: bool, seed: int, row_group: int) -> None:
    """Write the table in slices of ``row_group`` rows, so 10M rows never sit in memory.

    A thread encodes and compresses slice k (pyarrow releases the GIL) while this one draws
    slice k + 1 (numpy releases it too); at most two slices wait in between. The file is
    written under a hidden name and renamed when complete, so a run that was stopped leaves
    nothing that looks finished (and nothing a folder-as-dataset reader picks up).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    slices: queue.Queue[pa.Table | None] = queue.Queue(maxsize=2)
    failed: list[BaseException] = []

    def writer() -> None:
        sink = None
        try:
            while (table := slices.get()) is not None:
                if sink is None:
                    sink = pq.ParquetWriter(
                        partial, table.schema, compression="zstd", compression_level=1
                    )
                sink.write_table(table, row_group_size=row_group)
        except BaseException as error:  # handed to the main thread, which raises it
            failed.append(error)
            while slices.get() is not None:  # drain, so the producer never blocks
                pass
        finally:
            if sink is not None:
                sink.close()

    thread = threading.Thread(target=writer, name="parquet-writer")
    thread.start()
    try:
        done = part = 0
        while done < rows and not failed:
            n = min(row_group, rows - done)
            slices.put(table_slice(part, n, current=current, seed=seed))
            done += n
            part += 1
    finally:
        slices.put(None)
        thread.join()
    if failed:
        raise failed[0]
    partial.replace(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("rows", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--current", action="store_true", help="write the shifted batch")
    parser.add_argument("--seed", type=int, default=20130101)
    parser.add_argument("--row-group", type=int, default=250_000)
    args = parser.parse_args()
    write(args.rows, args.out, current=args.current, seed=args.seed, row_group=args.row_group)


if __name__ == "__main__":
    main()
