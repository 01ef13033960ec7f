"""Exact drift statistics of a numeric column: KS, PSI and normalised Wasserstein distance.

Every function takes the *finite* values of the reference and of the current batch, each sorted
ascending (:func:`finite_sorted` makes them); NaN, null and +-inf are counted elsewhere and never
reach a test, where a single NaN would turn scipy's KS p-value into NaN and a naive ``p < 0.05``
into "no drift" (see :mod:`mlratchet.drift.verdict`).

- **KS**: the two-sample Kolmogorov-Smirnov statistic, sup |F_ref - F_cur|, evaluated where scipy
  evaluates it (every data point, right-continuous CDFs), so it equals ``scipy.stats.ks_2samp``'s;
  the p-value is scipy's too (its exact method up to 10,000 values a side, else Smirnov's
  asymptotic distribution, ``kstwo.sf(D, round(n*m/(n+m)))``), except far below any
  significance level, where it is computed faster (see :func:`ks_p_value`).
- **Wasserstein** (earth mover's distance, W1 = integral of |F_ref - F_cur|) computed from the
  same merged CDFs as KS, as ``scipy.stats.wasserstein_distance`` does, and divided by the
  reference's standard deviation (floored at 0.001, as Evidently does) so it is unit-free.
- **PSI**: population stability index over ``bins`` quantile bins of the reference
  (``(-inf, e1], (e1, e2], ..., (ek, inf)``, duplicate edges merged), proportions floored at
  :data:`PSI_FLOOR` so an empty bin does not make it infinite.

One merge of the two sorted arrays (a stable sort of two sorted runs is a single timsort merge)
gives both CDFs at every point; that is what makes it fast: no binary searches of 2n points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: Proportions are floored at this before the PSI's logarithm (Evidently uses the same value).
PSI_FLOOR = 1e-4
#: The reference standard deviation is floored at this before normalising Wasserstein.
STD_FLOOR = 1e-3
#: scipy's ks_2samp uses its exact p-value up to this many values a side ("auto" mode).
KS_EXACT_MAX_N = 10_000
#: Above this 2 n D^2 (p below ~0.02) the asymptotic p-value uses Kolmogorov's limit.
KS_EXACT_EXPONENT = 4.5
#: Above this 2 n D^2 the DKW bound on the p-value underflows a float: the p-value is 0.
KS_DKW_ZERO = 745.0


@dataclass(frozen=True)
class KS:
    """A two-sample KS test: the statistic and its two-sided p-value."""

    statistic: float
    p_value: float


def prefetch_scipy(rows: tuple[int, int] | None = None) -> None:
    """Import what the p-values need in a background thread while data is being read:
    scipy.special (a third of a second of CPU), and scipy.stats (most of a second more) unless
    ``rows`` (reference, batch) are known to be large enough for the closed forms of
    :mod:`~mlratchet.drift.kolmogorov` (scipy.stats is then imported only if a column turns
    out to need it: one with fewer usable values than rows)."""
    import sys
    import threading

    from mlratchet.drift import kolmogorov

    modules = ["scipy.special"]
    if rows is None or not kolmogorov.large_enough(*rows):
        modules.append("scipy.stats")
    modules = [name for name in modules if name not in sys.modules]
    if not modules:
        return

    def load() -> None:
        import importlib

        for name in modules:
            importlib.import_module(name)

    threading.Thread(target=load, name="import-scipy", daemon=True).start()


def finite_sorted(values: np.ndarray) -> np.ndarray:
    """The finite values of a float array, sorted ascending (a new array)."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    finite: np.ndarray = values[np.isfinite(values)]
    finite.sort()
    return finite


def merged_cdf_gaps(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both samples merged in order, and F_ref - F_cur at each merged point.

    ``ref`` and ``cur`` are sorted and non-empty. Within a run of equal values the CDF gap is
    only right at the run's last position (the others are multiplied by a zero width or
    skipped by :func:`ks_wasserstein`). Temporaries are reused: at a million values a side,
    every extra array is 16 MB of page faults.
    """
    import numpy as np

    n, m = len(ref), len(cur)
    # A stable sort of two sorted runs is one merge (timsort), ref before cur on ties.
    both = np.concatenate([ref, cur])
    order = np.argsort(both, kind="stable")
    merged = both[order]
    from_cur = order >= n
    # F_ref = (position + 1 - cur_count) / n and F_cur = cur_count / m, as scipy divides them:
    # the counts in 32-bit integers while they fit (half the memory to sweep), the CDFs
    # written over the two buffers no longer needed.
    counts = np.int32 if n + m < 2**31 else np.int64
    cur_count = np.cumsum(from_cur, dtype=counts)
    del from_cur
    ref_count = np.arange(1, n + m + 1, dtype=counts)
    np.subtract(ref_count, cur_count, out=ref_count)
    ref_cdf = np.divide(ref_count, n, out=order.view(np.float64))
    del ref_count, order
    ref_cdf -= np.divide(cur_count, m, out=both)
    return merged, ref_cdf


def ks_wasserstein(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """The KS statistic and the (raw) Wasserstein distance of two sorted finite samples."""
    import numpy as np

    merged, gaps = merged_cdf_gaps(ref, cur)
    widths = np.diff(merged)
    np.abs(gaps, out=gaps)
    # The CDFs are right-continuous: their value at a point is the one after its last tie
    # (where the next width is not 0); |gap| >= 0, so zeroing the others keeps the maximum.
    at_ends = np.multiply(gaps[:-1], widths != 0, out=merged[:-1])
    statistic = max(float(at_ends.max(initial=0.0)), float(gaps[-1]))
    del at_ends, merged
    # The same dot product scipy's wasserstein_distance takes, so the sums round alike.
    distance = float(np.vecdot(gaps[:-1], widths))
    return statistic, distance


def ks_p_value(statistic: float, n: int, m: int) -> float:
    """The two-sided p-value of scipy's ``ks_2samp`` in its asymptotic mode, made fast.

    scipy computes ``kstwo.sf(D, round(n*m/(n+m)))``: exact, but about a second per column
    at a million rows once the p-value is below ~0.02. There the decision is long made, so:

    - while ``2 n D^2 <= 4.5`` (p above ~0.02): scipy's value; for an effective n above
      100,000 by the closed forms scipy uses there (:mod:`~mlratchet.drift.kolmogorov`,
      within 1e-13 of scipy's value, without importing scipy.stats), below by scipy itself;
    - above: Kolmogorov's limiting distribution ``kstwobign.sf(sqrt(n) D)`` (scipy's too),
      within 2 % of scipy's value while that is above 1e-5 (n >= 10,000); further out the
      relative gap grows, but both are astronomically small;
    - once the DKW bound ``2 exp(-2 n D^2)`` underflows (``2 n D^2 > 745``): 0.0, which is
      what scipy's value rounds to as well.
    """
    import math

    import numpy as np
    from scipy import special

    from mlratchet.drift import kolmogorov

    if n == 0 or m == 0:
        return 1.0
    effective = kolmogorov.effective_n(n, m)
    exponent = 2.0 * effective * statistic * statistic
    if exponent > KS_DKW_ZERO:
        return 0.0
    if exponent > KS_EXACT_EXPONENT:
        # special.kolmogorov is kstwobign.sf.
        return float(np.clip(special.kolmogorov(math.sqrt(effective) * statistic), 0.0, 1.0))
    found = kolmogorov.tail(effective, statistic)
    if found is not None:
        return found
    from scipy import stats

    return float(np.clip(stats.kstwo.sf(statistic, effective), 0.0, 1.0))


def ks_test(ref: np.ndarray, cur: np.ndarray) -> KS:
    """The two-sample KS test of two sorted finite samples (equal to ``scipy.stats.ks_2samp``)."""
    statistic, _ = ks_wasserstein(ref, cur)
    return ks_result(statistic, ref, cur)


def ks_result(statistic: float, ref: np.ndarray, cur: np.ndarray) -> KS:
    """The KS test for a statistic computed by :func:`ks_wasserstein`.

    Up to :data:`KS_EXACT_MAX_N` values a side scipy computes the exact p-value and rounds the
    statistic to a multiple of 1/lcm(n, m); for those small samples we let scipy do both, so
    the result is scipy's exactly. Above, the statistic is ours and the p-value is Smirnov's
    asymptotic one, exactly as scipy computes it.
    """
    n, m = len(ref), len(cur)
    if max(n, m) <= KS_EXACT_MAX_N:
        from scipy import stats

        result = stats.ks_2samp(ref, cur)
        return KS(float(result.statistic), float(result.pvalue))
    return KS(statistic, ks_p_value(statistic, n, m))


def normalised(distance: float, ref_std: float) -> float:
    """A Wasserstein distance in units of the reference's standard deviation."""
    return distance / max(ref_std, STD_FLOOR)


def quantile_positions(n: int, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For numpy's default ("linear", Hyndman-Fan 7) quantiles of ``n`` sorted values: the
    ranks below and above each virtual index ``(n - 1) p``, and the weight of the one above."""
    import numpy as np

    position = (n - 1) * np.asarray(probs, dtype=np.float64)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, n - 1)
    return below, above, position - below


def interpolate(low: np.ndarray, high: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Quantiles from the values at :func:`quantile_positions`' ranks, rounded as numpy's."""
    import numpy as np

    step = high - low
    # Interpolate from the nearer neighbour, as numpy does, so the values agree to the bit.
    found: np.ndarray = np.where(weight >= 0.5, high - step * (1 - weight), low + step * weight)
    return found


def sorted_quantiles(values: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Quantiles of a *sorted* sample by numpy's default ("linear", Hyndman-Fan 7) definition.

    ``np.quantile`` partitions the whole array first; on sorted data the two neighbours of each
    virtual index ``(n - 1) p`` are already in place, so this reads them directly.
    """
    below, above, weight = quantile_positions(len(values), probs)
    return interpolate(values[below], values[above], weight)


@dataclass(frozen=True)
class SortedSample:
    """Finite values sorted ascending, asked what :class:`~mlratchet.drift.binned.BinnedSample`
    is asked (the statistics take either)."""

    values: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> SortedSample:
        """A sorted copy of finite values in any order."""
        import numpy as np

        return cls(np.sort(values))

    def __len__(self) -> int:
        return len(self.values)

    def std(self) -> float:
        """The population standard deviation."""
        import numpy as np

        return float(np.std(self.values))

    def at_most(self, edges: np.ndarray) -> np.ndarray:
        """How many values are at most each edge."""
        import numpy as np

        found: np.ndarray = np.searchsorted(self.values, edges, side="right")
        return found

    def quantiles(self, probs: np.ndarray) -> np.ndarray:
        """Quantiles by numpy's default definition."""
        return sorted_quantiles(self.values, probs)


def quantile_edges(ref: np.ndarray, bins: int) -> np.ndarray:
    """The interior edges of ``bins`` quantile bins of a sorted sample, duplicates merged."""
    import numpy as np

    if len(ref) == 0:
        return np.empty(0, dtype=np.float64)
    return np.unique(sorted_quantiles(ref, psi_probs(bins)))


def psi_probs(bins: int) -> np.ndarray:
    """The quantiles of the reference that are the interior edges of ``bins`` PSI bins."""
    import numpy as np

    found: np.ndarray = np.arange(1, bins) / bins
    return found


def bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts of a sorted sample in the bins ``(-inf, e1], (e1, e2], ..., (ek, inf)``."""
    import numpy as np

    return counts_between(np.searchsorted(values, edges, side="right"), len(values))


def counts_between(at_most: np.ndarray, n: int) -> np.ndarray:
    """Counts in the bins ``(-inf, e1], ..., (ek, inf)`` of ``n`` values, from how many are at
    most each edge."""
    import numpy as np

    return np.diff(np.concatenate([[0], at_most, [n]])).astype(np.int64)


def psi_from_counts(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """PSI = sum((q - p) * ln(q / p)) over bins, proportions floored at :data:`PSI_FLOOR`."""
    import numpy as np

    ref_total, cur_total = ref_counts.sum(), cur_counts.sum()
    if ref_total == 0 or cur_total == 0:
        return 0.0
    p = np.maximum(ref_counts / ref_total, PSI_FLOOR)
    q = np.maximum(cur_counts / cur_total, PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def psi(ref: np.ndarray, cur: np.ndarray, bins: int) -> float:
    """PSI of two sorted finite samples over ``bins`` quantile bins of the reference."""
    edges = quantile_edges(ref, bins)
    return psi_from_counts(bin_counts(ref, edges), bin_counts(cur, edges))
