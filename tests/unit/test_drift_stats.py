"""Drift statistics equal scipy and direct formulas; NaN and Inf never hide drift."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from scipy.spatial.distance import jensenshannon

from mlratchet.drift import categorical, compare_tables, numeric
from mlratchet.drift.profile import Counts
from mlratchet.drift.verdict import reasons
from mlratchet.policy import MonitorPolicy

POLICY = MonitorPolicy()
RNG = np.random.default_rng(20130101)


def _pair(n: int, m: int, *, ties: bool, shift: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    a = RNG.normal(size=n)
    b = RNG.normal(shift, 1.2, size=m)
    if ties:
        a, b = np.round(a, 1), np.round(b, 1)
    return a, b


@pytest.mark.parametrize(
    ("n", "m", "ties"),
    [(50, 70, True), (1_000, 700, False), (9_000, 10_000, True), (30_000, 12_345, True)],
)
def test_ks_equals_scipy(n: int, m: int, ties: bool) -> None:
    """KS statistic and p-value equal scipy.stats.ks_2samp's on the same arrays."""
    a, b = _pair(n, m, ties=ties)
    ours = numeric.ks_test(numeric.finite_sorted(a), numeric.finite_sorted(b))
    theirs = stats.ks_2samp(a, b)
    assert ours.statistic == float(theirs.statistic)
    _same_p(ours.p_value, float(theirs.pvalue))


def _same_p(ours: float, theirs: float) -> None:
    """scipy's p exactly above 0.02; within 2 % down to 1e-5; below, both below 1e-5."""
    if theirs > 0.02:
        assert ours == theirs
    elif theirs > 1e-5:
        assert ours == pytest.approx(theirs, rel=0.02)
    else:
        assert ours < 1e-5


@pytest.mark.parametrize("shift", [0.0, 0.01, 0.02, 0.03, 0.1, 0.5])
def test_ks_p_value_at_scale_equals_scipy_where_it_matters(shift: float) -> None:
    """Above 10k values a side the p-value is scipy's where a decision can hinge on it."""
    a = RNG.normal(size=60_000)
    b = RNG.normal(shift, 1.0, size=50_000)
    ours = numeric.ks_test(numeric.finite_sorted(a), numeric.finite_sorted(b))
    theirs = stats.ks_2samp(a, b)
    assert ours.statistic == float(theirs.statistic)
    _same_p(ours.p_value, float(theirs.pvalue))


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 300), elements=st.floats(-1e6, 1e6)),
    arrays(np.float64, st.integers(1, 300), elements=st.floats(-1e6, 1e6)),
)
def test_ks_statistic_equals_scipy_on_any_arrays(a: np.ndarray, b: np.ndarray) -> None:
    """For any finite arrays (ties, duplicates, tiny sizes) the raw KS sup equals scipy's."""
    sa, sb = numeric.finite_sorted(a), numeric.finite_sorted(b)
    statistic, distance = numeric.ks_wasserstein(sa, sb)
    data = np.concatenate([sa, sb])
    gap = np.searchsorted(sa, data, "right") / len(sa) - np.searchsorted(sb, data, "right") / len(
        sb
    )
    assert statistic == float(np.abs(gap).max())
    assert distance == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12, abs=1e-9)


@pytest.mark.parametrize(("n", "m"), [(1_000, 700), (40_000, 25_000)])
def test_wasserstein_equals_scipy(n: int, m: int) -> None:
    """Normalised Wasserstein = scipy's wasserstein_distance / std(reference)."""
    a, b = _pair(n, m, ties=False)
    _, distance = numeric.ks_wasserstein(numeric.finite_sorted(a), numeric.finite_sorted(b))
    assert distance == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12)
    assert numeric.normalised(distance, float(np.std(a))) == pytest.approx(
        stats.wasserstein_distance(a, b) / np.std(a), rel=1e-12
    )


def test_psi_equals_direct_computation() -> None:
    """Numeric PSI equals sum((q-p) ln(q/p)) over the reference's decile bins, computed by hand."""
    a, b = _pair(5_000, 3_000, ties=False, shift=0.4)
    edges = np.quantile(a, np.arange(1, 10) / 10)
    p = np.histogram(a, bins=[-np.inf, *edges, np.inf])[0] / len(a)
    q = np.histogram(b, bins=[-np.inf, *edges, np.inf])[0] / len(b)
    direct = float(np.sum((q - p) * np.log(q / p)))
    ours = numeric.psi(numeric.finite_sorted(a), numeric.finite_sorted(b), 10)
    assert ours == pytest.approx(direct, rel=1e-12)


def test_psi_floors_empty_bins() -> None:
    """A bin empty on one side uses the 1e-4 floor instead of an infinite log."""
    ref = np.array([1.0, 2.0, 3.0, 4.0])
    cur = np.array([4.0, 4.0, 4.0, 4.0])
    p = np.array([0.25, 0.25, 0.25, 0.25])
    q = np.array([1e-4, 1e-4, 1e-4, 1.0])
    expected = float(np.sum((q - p) * np.log(q / p)))
    counts_ref = numeric.bin_counts(ref, np.array([1.0, 2.0, 3.0]))
    counts_cur = numeric.bin_counts(cur, np.array([1.0, 2.0, 3.0]))
    assert numeric.psi_from_counts(counts_ref, counts_cur) == pytest.approx(expected)


def test_chi_square_equals_direct_and_scipy() -> None:
    """Two-sample chi-square equals the textbook sum and scipy's chi2_contingency."""
    ref = np.array([500, 300, 200, 0])
    cur = np.array([40, 35, 20, 5])
    ours = categorical.chi_square(ref, cur)
    table = np.array([[500, 300, 200, 0], [40, 35, 20, 5]], dtype=float)
    expected = np.outer(table.sum(1), table.sum(0)) / table.sum()
    direct = float(((table - expected) ** 2 / expected).sum())
    scipy_result = stats.chi2_contingency(table, correction=False)
    assert ours.statistic == pytest.approx(direct, rel=1e-12)
    assert ours.statistic == pytest.approx(scipy_result.statistic, rel=1e-12)
    assert ours.dof == scipy_result.dof == 3
    assert ours.p_value == pytest.approx(scipy_result.pvalue, rel=1e-9)


def test_categorical_psi_and_jensen_shannon_equal_direct() -> None:
    """Categorical PSI and JS distance equal their direct formulas."""
    ref = np.array([50, 30, 20])
    cur = np.array([20, 30, 50])
    p, q = ref / ref.sum(), cur / cur.sum()
    assert categorical.psi(ref, cur) == pytest.approx(float(np.sum((q - p) * np.log(q / p))))
    assert categorical.jensen_shannon(ref, cur) == pytest.approx(jensenshannon(p, q, base=2))


def test_two_sample_chi_square_does_not_flag_an_unshifted_column_at_scale() -> None:
    """Two independent samples of one distribution are not drift at 400k rows (p well above 0.01).

    A one-sample test against the reference proportions, as Evidently runs it, ignores the
    reference's own noise; the two-sample test counts it.
    """
    weights = np.linspace(1, 3, 40)
    p = weights / weights.sum()
    ref = np.bincount(RNG.choice(40, size=400_000, p=p), minlength=40)
    cur = np.bincount(RNG.choice(40, size=400_000, p=p), minlength=40)
    assert categorical.chi_square(ref, cur).p_value > 0.01


def _table(values: dict[str, object]) -> pa.Table:
    return pa.table(values)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.integers(1, 500), elements=st.floats(-1e3, 1e3)))
def test_identical_batch_has_zero_drift(values: np.ndarray) -> None:
    """A batch identical to the reference: every statistic is zero and nothing drifts."""
    labels = np.array(["a", "b", "c"])[np.arange(len(values)) % 3]
    table = _table({"x": values, "c": labels})
    result = compare_tables(table, table, POLICY)
    for column in result.columns:
        assert not column["drifted"]
        assert column["effect"]["value"] == 0.0
    x = result.columns[0]["statistics"]
    assert x["ks"]["statistic"] == 0.0
    assert x["ks"]["p_value"] == 1.0
    assert x["wasserstein"] == 0.0
    assert result.columns[1]["statistics"]["chi_square"]["statistic"] == 0.0


def test_one_nan_in_a_drifted_column_is_still_flagged() -> None:
    """One NaN must not hide a 3-sigma shift (scipy's KS p-value turns NaN; ours does not)."""
    ref = RNG.normal(size=5_000)
    cur = RNG.normal(3.0, 1.0, size=5_000)
    cur[17] = np.nan
    assert np.isnan(stats.ks_2samp(ref, cur).pvalue)  # the trap: `p < 0.05` is then False
    result = compare_tables(_table({"x": ref}), _table({"x": cur}), POLICY)
    column = result.columns[0]
    assert column["drifted"]
    assert "distribution" in column["reasons"]
    assert column["current"]["nan"] == 1
    assert column["test"]["p_value"] is not None
    assert column["test"]["p_value"] < POLICY.alpha


def test_new_infinities_are_flagged_not_dropped() -> None:
    """+inf in the batch where the reference had none is drift (Evidently drops it silently)."""
    ref = RNG.normal(size=2_000)
    cur = RNG.normal(size=2_000)
    cur[:3] = np.inf
    column = compare_tables(_table({"x": ref}), _table({"x": cur}), POLICY).columns[0]
    assert column["current"]["posinf"] == 3
    assert "infinite" in column["reasons"]
    assert column["drifted"]


def test_all_missing_current_is_flagged() -> None:
    """A batch whose column is all NaN has no values to test: flagged, never 'no drift'."""
    ref = RNG.normal(size=100)
    cur = np.full(100, np.nan)
    column = compare_tables(_table({"x": ref}), _table({"x": cur}), POLICY).columns[0]
    assert column["drifted"]
    assert set(column["reasons"]) >= {"no_values", "missing_rate"}
    assert column["effect"]["value"] is None


def test_missing_rate_shift_is_drift() -> None:
    """A column whose share of nulls jumps past the tolerance drifts, values unchanged."""
    ref, cur = Counts(rows=1000, null=10), Counts(rows=1000, null=200)
    why = reasons(
        effect=0.0, threshold=0.2, p_value=0.9, alpha=0.01, ref=ref, cur=cur, tolerance=0.05
    )
    assert why == ["missing_rate"]


def test_significance_alone_is_not_drift() -> None:
    """A tiny but significant shift (p ~ 0) below the effect threshold is not drift."""
    ref = RNG.normal(size=200_000)
    cur = RNG.normal(0.03, 1.0, size=200_000)
    column = compare_tables(_table({"x": ref}), _table({"x": cur}), POLICY).columns[0]
    assert column["test"]["p_value"] < 1e-6
    assert not column["drifted"]


def test_reused_memory_changes_no_value_and_can_be_nested() -> None:
    """Memory kept for reuse (glibc's mallopt) is invisible to the results."""
    from mlratchet.runtime import reused_memory

    a = numeric.finite_sorted(RNG.normal(size=300_000))
    b = numeric.finite_sorted(RNG.normal(0.1, 1.0, size=200_000))
    plain = numeric.ks_wasserstein(a, b)
    with reused_memory(), reused_memory():
        kept = [numeric.ks_wasserstein(a, b) for _ in range(3)]
    assert kept == [plain] * 3
    assert numeric.ks_wasserstein(a, b) == plain
