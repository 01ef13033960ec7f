"""Large samples are compared on a grid without being sorted, and the answers are still exact.

The oracle is scipy (``ks_2samp``, ``wasserstein_distance``, ``kstwo``) and numpy
(``quantile``, ``searchsorted`` on a sorted copy), on the data shapes that break binning
schemes: heavy tails, point masses, ties on bin edges, a batch entirely outside the
reference's range, values far from zero with a tiny spread, and arbitrary small arrays on
coarse grids.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from mlratchet.drift import binned, compare_tables, kolmogorov, numeric
from mlratchet.policy import MonitorPolicy

RNG = np.random.default_rng(2013)


def _shapes() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    n, m = 150_000, 120_000
    point_mass = np.where(RNG.random(n) < 0.4, 0.0, RNG.exponential(2.0, n))
    return {
        "normal, shifted a little": (RNG.normal(size=n), RNG.normal(0.01, 1.0, m)),
        "identical distributions": (RNG.normal(size=n), RNG.normal(size=m)),
        "lognormal, heavy right tail": (RNG.lognormal(1, 1.2, n), RNG.lognormal(1.1, 1.2, m)),
        "cauchy, extreme tails": (RNG.standard_cauchy(n), RNG.standard_cauchy(m) * 1.3),
        "counts (point masses only)": (
            RNG.poisson(4.0, n).astype(float),
            RNG.poisson(4.3, m).astype(float),
        ),
        "40 % zeros, then a spread": (point_mass, point_mass[:m][::-1] * 1.1),
        "rounded to 2 decimals (ties)": (
            np.round(RNG.normal(50, 10, n), 2),
            np.round(RNG.normal(50.5, 10, m), 2),
        ),
        "batch wholly above the reference": (RNG.normal(size=n), RNG.normal(50.0, 1.0, m)),
        "far from zero, tiny spread": (
            1e12 + RNG.normal(0, 1e-3, n),
            1e12 + RNG.normal(1e-4, 1e-3, m),
        ),
        "the batch is part of the reference": (
            np.arange(n, dtype=float),
            np.arange(m, dtype=float)[::-1],
        ),
    }


SHAPES = _shapes()


@pytest.mark.parametrize("shape", list(SHAPES))
def test_large_samples_are_binned_and_their_statistics_are_scipys(shape: str) -> None:
    """KS to the bit, Wasserstein to 1e-10, quantiles and edge counts exactly, unsorted."""
    ref, cur = SHAPES[shape]
    ref_sample, cur_sample = binned.samples(ref, cur)
    assert isinstance(ref_sample, binned.BinnedSample)
    probs = np.array([0.0, 0.001, 0.005, 0.1, 0.25, 0.5, 0.7, 0.9, 0.995, 1.0])
    assert np.array_equal(ref_sample.quantiles(probs), np.quantile(ref, probs))
    edges = np.concatenate([np.quantile(ref, probs), cur[:50], [cur.min() - 1, cur.max() + 1]])
    edges = np.concatenate([edges, np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)])

    statistic, distance, ref_at, cur_at = binned.compared(ref_sample, cur_sample, edges)
    assert statistic == float(stats.ks_2samp(ref, cur).statistic)
    assert distance == pytest.approx(stats.wasserstein_distance(ref, cur), rel=1e-10, abs=1e-300)
    assert np.array_equal(ref_at, np.searchsorted(np.sort(ref), edges, "right"))
    assert np.array_equal(cur_at, np.searchsorted(np.sort(cur), edges, "right"))
    assert np.array_equal(cur_sample.at_most(edges), cur_at)


def test_small_or_unspread_samples_are_sorted() -> None:
    """Below the size where a grid pays, or with (nearly) one value, the values are sorted."""
    small = binned.samples(RNG.normal(size=5_000), RNG.normal(size=300_000))
    assert isinstance(small[0], numeric.SortedSample)
    constant = binned.samples(np.full(150_000, 3.0), np.full(120_000, 3.0))
    assert isinstance(constant[0], numeric.SortedSample)
    assert binned.compared(*constant, np.empty(0))[:2] == (0.0, 0.0)


@settings(max_examples=150, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 200), elements=st.floats(-1e6, 1e6)),
    arrays(np.float64, st.integers(1, 200), elements=st.floats(-1e6, 1e6)),
    st.sampled_from([1, 2, 7, 64, 65_536]),
    st.integers(0, 3),
)
def test_any_arrays_on_any_grid_give_the_sorted_answer(
    a: np.ndarray, b: np.ndarray, bins: int, rounding: int
) -> None:
    """Ties, duplicates, values on bin edges, coarse grids where most bins are kept whole."""
    a, b = np.round(a, rounding), np.round(b, rounding)
    both = np.concatenate([a, b])
    low, high = float(both.min()), float(both.max())
    if not high > low:
        return
    grid = binned.Grid(low, bins / (high - low), bins)
    ref, cur = binned.BinnedSample(a, grid), binned.BinnedSample(b, grid)
    # Bins picked for the edges change nothing of KS or Wasserstein.
    assert binned.compared(ref, cur, np.empty(0))[:2] == binned.compared(ref, cur, a)[:2]
    statistic, distance, _, cur_at = binned.compared(ref, cur, a)
    assert np.array_equal(cur_at, np.searchsorted(np.sort(b), a, "right"))
    sorted_statistic, sorted_distance = numeric.ks_wasserstein(np.sort(a), np.sort(b))
    assert statistic == sorted_statistic
    assert distance == pytest.approx(sorted_distance, rel=1e-9, abs=1e-9 * (high - low))
    probs = np.linspace(0, 1, 11)
    assert np.array_equal(ref.quantiles(probs), np.quantile(a, probs))
    assert np.array_equal(ref.at_most(b), np.searchsorted(np.sort(a), b, "right"))


@pytest.mark.parametrize("n", [100_001.0, 250_000.0, 500_000.0, 5e6, 5e7])
def test_large_n_tail_is_scipys_kstwo(n: float) -> None:
    """The closed forms give scipy's kstwo.sf to 1e-13 wherever a p-value can matter."""
    for exponent in np.linspace(0.001, 4.6, 31):
        x = float(np.sqrt(exponent / (2 * n)))
        ours = kolmogorov.tail(n, x)
        assert ours is not None
        assert ours == pytest.approx(float(stats.kstwo.sf(x, n)), rel=1e-13)


def test_tail_leaves_small_n_and_extremes_to_scipy() -> None:
    """Where only an exact method holds, tail() answers None (the caller asks scipy)."""
    assert kolmogorov.tail(50_000.0, 0.005) is None
    assert kolmogorov.tail(500_000.0, 1e-7) is None  # x below 1/n
    assert kolmogorov.tail(500_000.0, 0.6) is None
    p = numeric.ks_p_value(0.004, 100_000, 80_000)  # effective n 44,444: scipy's exact path
    assert p == float(stats.kstwo.sf(0.004, 44_444.0))


def test_a_large_table_gives_the_sorted_paths_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end, with NaN, infinities and nulls: the binned report is the sorted one."""
    n = 160_000
    ref = RNG.lognormal(0, 1, n)
    cur = RNG.lognormal(0.05, 1, n)
    ref[::97], cur[::89] = np.nan, np.inf
    cur[5] = -np.inf
    mask = np.zeros(n, dtype=bool)
    mask[::1001] = True
    tables = [pa.table({"x": pa.array(values, mask=mask)}) for values in (ref, cur)]
    policy = MonitorPolicy()
    fast = compare_tables(*tables, policy).columns[0]
    monkeypatch.setattr(binned, "MIN_VALUES", 10**12)
    slow = compare_tables(*tables, policy).columns[0]
    assert fast["statistics"]["ks"] == slow["statistics"]["ks"]
    assert fast["statistics"]["psi"] == slow["statistics"]["psi"]
    assert fast["statistics"]["wasserstein"] == pytest.approx(
        slow["statistics"]["wasserstein"], rel=1e-10
    )
    assert (fast["reference"], fast["current"]) == (slow["reference"], slow["current"])
    assert fast["current"]["posinf"] > 0 and fast["current"]["neginf"] == 1
    assert fast["reference"]["null"] == mask.sum()


def test_large_batches_need_no_scipy_stats() -> None:
    """Comparing a million-row-class batch imports scipy.special, never scipy.stats (most of a
    second of CPU)."""
    code = (
        "import sys, numpy as np, pyarrow as pa\n"
        "from mlratchet.drift import compare_tables\n"
        "from mlratchet.policy import MonitorPolicy\n"
        "rng = np.random.default_rng(1)\n"
        "t = [pa.table({'x': rng.normal(size=300_000), 'c': ['a', 'b', 'c'] * 100_000})\n"
        "     for _ in range(2)]\n"
        "found = compare_tables(*t, MonitorPolicy())\n"
        "assert 0 < found.columns[0]['test']['p_value'] <= 1\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
