"""Streaming row groups gives the in-memory results: exact counts, bounded statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlratchet import contracts
from mlratchet.drift.histogram import Histogram
from mlratchet.monitor.run import monitor
from mlratchet.policy import MonitorPolicy

ROWS = 120_000
GROUP = 10_000
POLICY = MonitorPolicy()
#: How far a stream-mode PSI may be from the exact one (its bins are quantiles of a sample).
PSI_TOLERANCE = 0.005


def _frame(seed: int, shifted: bool) -> pa.Table:
    rng = np.random.default_rng(seed)
    a = np.round(rng.normal(50, 10, ROWS) + (5 if shifted else 0), 3)
    a[rng.random(ROWS) < 0.01] = np.nan
    b = rng.lognormal(1, 0.5, ROWS) * (1.5 if shifted else 1.0)
    c = rng.poisson(4, ROWS).astype(float)  # heavy ties
    if shifted:
        c[:7] = np.inf
    weights = np.array([5, 3, 2, 1.0]) if not shifted else np.array([2, 3, 5, 1.0])
    cat = np.array(["w", "x", "y", "z"])[rng.choice(4, ROWS, p=weights / weights.sum())]
    return pa.table({"a": a, "b": b, "c": c, "cat": cat})


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("stream")
    ref, cur = folder / "ref.parquet", folder / "cur.parquet"
    pq.write_table(_frame(1, False), ref, row_group_size=GROUP)
    pq.write_table(_frame(2, True), cur, row_group_size=GROUP)
    assert pq.ParquetFile(cur).num_row_groups == ROWS // GROUP
    return ref, cur


def test_monitor_stream_equals_in_memory(files: tuple[Path, Path]) -> None:
    """Counts and categorical statistics are identical; numeric ones lie within their bounds."""
    ref, cur = files
    exact = monitor(cur, policy=POLICY, reference_path=ref, stream=False).report
    streamed = monitor(cur, policy=POLICY, reference_path=ref, stream=True).report
    assert exact["mode"] == "exact"
    assert streamed["mode"] == "stream"
    by_name = {c["column"]: c for c in streamed["drift"]["columns"]}
    for column in exact["drift"]["columns"]:
        other = by_name[column["column"]]
        assert other["reference"] == column["reference"]
        assert other["current"] == column["current"]
        assert other["drifted"] == column["drifted"]
        assert other["reasons"] == column["reasons"]
        if column["kind"] == "categorical":
            assert other["statistics"] == column["statistics"]
            continue
        ks, ks_stream = column["statistics"]["ks"], other["statistics"]["ks"]
        assert ks_stream["statistic"] <= ks["statistic"] + 1e-12
        assert ks["statistic"] <= ks_stream["upper"] + 1e-12
        assert ks_stream["upper"] - ks_stream["statistic"] < 0.01
        w, w_stream = column["statistics"]["wasserstein"], other["statistics"]["wasserstein"]
        assert abs(w - w_stream) <= other["statistics"]["wasserstein_error"]
        assert other["statistics"]["psi"] == pytest.approx(
            column["statistics"]["psi"], abs=PSI_TOLERANCE
        )
    assert streamed["drift"]["drifted"] == exact["drift"]["drifted"]
    assert streamed["stability"] == exact["stability"]


def test_validate_stream_equals_in_memory(files: tuple[Path, Path], tmp_path: Path) -> None:
    """Validating row group by row group gives the same report as reading the file whole."""
    ref, cur = files
    contract = contracts.infer(ref)
    streamed = contracts.validate(cur, contract, stream=True)
    whole = contracts.validate(cur, contract, stream=False)
    assert not whole["valid"]
    assert streamed == whole
    rules = {f["column"]: f["rule"] for f in whole["failures"]}
    assert rules["c"] == "finite"


def test_histograms_merge_regardless_of_chunking() -> None:
    """Counts and moments of a histogram do not depend on how the values were chunked."""
    rng = np.random.default_rng(3)
    values = rng.normal(size=10_000)
    edges = np.quantile(values, np.linspace(0.01, 0.99, 50))
    whole, parts = Histogram(edges), Histogram(edges)
    whole.add(values)
    for chunk in np.array_split(values, 7):
        parts.add(chunk)
    assert np.array_equal(whole.counts, parts.counts)
    assert parts.mean == pytest.approx(values.mean())
    assert parts.std == pytest.approx(values.std())
    assert (parts.low, parts.high) == (values.min(), values.max())


def test_histogram_counts_each_value_in_its_own_bin() -> None:
    """A histogram counts a chunk (sorted once, the edges searched into it) as if each value
    went to its own bin (right-closed, ties on an edge included), and the values on each
    edge."""
    rng = np.random.default_rng(5)
    for _ in range(100):
        values = np.round(rng.normal(size=int(rng.integers(1, 400))), 1)  # many ties
        edges = np.unique(np.round(rng.normal(size=int(rng.integers(0, 30))), 1))
        histogram = Histogram(edges)
        histogram.add(values)
        counts, at_edge = histogram.counts, histogram.at_edge
        for i in range(len(edges) + 1):
            low = edges[i - 1] if i else -np.inf
            high = edges[i] if i < len(edges) else np.inf
            assert counts[i] == np.count_nonzero((values > low) & (values <= high))
            assert at_edge[i] == (np.count_nonzero(values == high) if i < len(edges) else 0)
