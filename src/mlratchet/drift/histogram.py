"""Mergeable histograms for streaming drift, and the statistics they bound.

A stream of row groups cannot be sorted, so for a numeric column each side is summarised by
exact counts over fixed bin edges (chosen from a sample of the reference: see
:func:`fine_edges`), plus its exact count, mean, variance, minimum and maximum. Summaries of
two chunks merge exactly (counts add; moments merge by Chan's formula), so the result does not
depend on how the data was chunked.

What the histograms give, and how far it can be from the exact (in-memory) value:

- **KS**: the CDF gap evaluated at every edge is a *lower* bound of the true statistic; inside a
  bin the gap can grow by at most the larger of the two sides' mass in that bin. So the exact
  statistic lies in ``[ks, ks_upper]`` (both reported); with 2,048 quantile bins the width is a
  few thousandths.
- **Wasserstein**: the trapezoid rule over the bins (the outer bins run to the exact minimum and
  maximum); the error is at most ``sum(width * (mass_ref + mass_cur))`` over the bins, reported
  as ``wasserstein_error`` in reference standard deviations.
- **PSI**: the counts over the PSI bins are exact, but the PSI bins are quantiles of a sample of
  the reference rather than of all of it; on the synthetic benchmark the two PSIs differ by less
  than 0.005 (``tests/unit/test_streaming.py`` holds the tolerance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlratchet.drift.numeric import KS, bin_counts, ks_p_value, normalised, psi_from_counts

if TYPE_CHECKING:
    import numpy as np

#: Bins of the fine histogram that KS and Wasserstein are read from.
FINE_BINS = 2048


def fine_edges(sample: np.ndarray, psi_edges: np.ndarray, bins: int = FINE_BINS) -> np.ndarray:
    """Quantile edges of a sorted finite sample, with the PSI edges among them."""
    import numpy as np

    if len(sample) == 0:
        return np.asarray(psi_edges, dtype=np.float64)
    from mlratchet.drift.numeric import sorted_quantiles

    quantiles = sorted_quantiles(sample, np.arange(1, bins) / bins)
    return np.unique(np.concatenate([quantiles, psi_edges]))


@dataclass
class Histogram:
    """Exact counts of finite values over fixed edges, and exact moments and extremes."""

    edges: np.ndarray
    counts: np.ndarray = field(init=False)
    #: Of each bin's count, the values equal to its right edge (a point mass the CDF at the
    #: edge already holds exactly: ties, counts, rounded data).
    at_edge: np.ndarray = field(init=False)
    n: int = 0
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean
    low: float = float("inf")
    high: float = float("-inf")

    def __post_init__(self) -> None:
        import numpy as np

        self.counts = np.zeros(len(self.edges) + 1, dtype=np.int64)
        self.at_edge = np.zeros(len(self.edges) + 1, dtype=np.int64)

    def add(self, finite: np.ndarray) -> None:
        """Count a chunk of finite values (any order)."""
        import numpy as np

        self.add_sorted(np.sort(finite))

    def add_sorted(self, ordered: np.ndarray) -> None:
        """Count a chunk of finite values sorted ascending.

        Binary search of the edges into the sorted chunk, not of each value into the edges:
        sorting a row group costs a few milliseconds where searching 2,048 edges for each of
        its values costs ten times as much.
        """
        if len(ordered) == 0:
            return
        import numpy as np

        self.counts += bin_counts(ordered, self.edges)
        on_edge = np.searchsorted(ordered, self.edges, side="right")
        self.at_edge[:-1] += on_edge - np.searchsorted(ordered, self.edges, side="left")
        mean = float(ordered.mean())
        m2 = float(((ordered - mean) ** 2).sum())
        self._merge_moments(len(ordered), mean, m2, float(ordered[0]), float(ordered[-1]))

    def merge(self, other: Histogram) -> None:
        """Add another histogram over the same edges (a summary of other rows).

        Counts add exactly. The moments merge by Chan's formula, as :meth:`add_sorted` merges
        each chunk's: merging the histograms of single chunks in their order gives the very
        floats that adding those chunks in that order gives.
        """
        self.counts += other.counts
        self.at_edge += other.at_edge
        if other.n:
            self._merge_moments(other.n, other.mean, other.m2, other.low, other.high)

    def _merge_moments(self, k: int, mean: float, m2: float, low: float, high: float) -> None:
        """Merge the moments and extremes of ``k`` more values (Chan et al.)."""
        if self.n == 0:  # taken as they are, so a one-chunk summary holds the chunk's own
            self.n, self.mean, self.m2 = k, mean, m2
        else:
            total = self.n + k
            delta = mean - self.mean
            self.m2 += m2 + delta * delta * self.n * k / total
            self.mean += delta * k / total
            self.n = total
        self.low = min(self.low, low)
        self.high = max(self.high, high)

    @property
    def std(self) -> float:
        """The population standard deviation (ddof 0, as numpy's default)."""
        return (self.m2 / self.n) ** 0.5 if self.n else 0.0


@dataclass(frozen=True)
class Estimate:
    """Drift statistics read from two histograms, with their error bounds."""

    ks: KS
    ks_upper: float
    wasserstein: float  # normalised by the reference standard deviation
    wasserstein_error: float  # normalised too
    psi: float


def compare(ref: Histogram, cur: Histogram, psi_edges: np.ndarray) -> Estimate:
    """KS, normalised Wasserstein and PSI of two histograms over the same edges."""
    import numpy as np

    if ref.n == 0 or cur.n == 0:
        return Estimate(KS(0.0, 1.0), 0.0, 0.0, 0.0, 0.0)
    # Mass strictly inside each bin (not on its right edge): only there can the CDFs move
    # between two edges where the gap is known exactly.
    ref_inside = (ref.counts - ref.at_edge) / ref.n
    cur_inside = (cur.counts - cur.at_edge) / cur.n
    # CDF gap at each edge (right-closed bins: F(e_k) counts bins 0..k), and just below it.
    gaps = np.cumsum(ref.counts)[:-1] / ref.n - np.cumsum(cur.counts)[:-1] / cur.n
    below = gaps - (ref.at_edge[:-1] / ref.n - cur.at_edge[:-1] / cur.n)
    statistic = float(np.abs(gaps).max(initial=0.0))
    left = np.concatenate([[0.0], gaps])  # the gap where each bin starts
    upper = float(
        min(1.0, max(statistic, (np.abs(left) + np.maximum(ref_inside, cur_inside)).max()))
    )

    low, high = min(ref.low, cur.low), max(ref.high, cur.high)
    bounds = np.concatenate([[low], np.clip(ref.edges, low, high), [high]])
    widths = np.diff(bounds)
    start = np.abs(left)
    end = np.abs(np.concatenate([below, [0.0]]))
    distance = float(np.sum(widths * (start + end) / 2))
    error = float(np.sum(widths * (ref_inside + cur_inside)))

    fine_to_psi = np.searchsorted(psi_edges, ref.edges, side="left")
    # Fine bin k is (e_{k-1}, e_k]; its PSI bin is the number of PSI edges below e_k.
    bin_of = np.concatenate([fine_to_psi, [len(psi_edges)]])
    ref_psi = np.bincount(bin_of, weights=ref.counts, minlength=len(psi_edges) + 1)
    cur_psi = np.bincount(bin_of, weights=cur.counts, minlength=len(psi_edges) + 1)
    return Estimate(
        ks=KS(statistic, ks_p_value(statistic, ref.n, cur.n)),
        ks_upper=upper,
        wasserstein=normalised(distance, ref.std),
        wasserstein_error=normalised(error, ref.std),
        psi=psi_from_counts(ref_psi, cur_psi),
    )
