"""Exact drift statistics of large numeric samples, without sorting them.

Sorting a million floats is the dearest step of an exact KS test (about 50 ms here, twice per
column), yet the statistic only needs the two CDFs at the points where they could be furthest
apart. So both samples are counted on one fine grid of equal-width bins, and only the few bins
that could change the answer are sorted:

- A bin's number is a monotone function of the value (``floor((x - low) * scale)``, clipped at
  both ends), so every value in a lower bin is smaller than every value in a higher one, and
  equal values share a bin. The CDFs at the last point of each bin are then exact, from the
  cumulative counts alone, as ``count / n`` exactly as scipy divides them.
- Inside a bin the CDF gap moves by at most the bin's count on each side. A bin whose gap could
  not pass the largest gap already known cannot change the KS statistic; the others are
  *refined*: their values are picked out and sorted, and the gap is evaluated at each distinct
  one. The statistic is therefore scipy's, to the bit.
- The Wasserstein distance integrates ``|F_ref - F_cur|`` from the lowest value to the highest.
  Where the gap keeps its sign across a bin, the integral of its absolute value is the absolute
  value of its integral: the bin's starting gap times its width, plus each value's step held to
  the bin's right end (per-bin sums of the values' positions on the grid). Bins where it may
  change sign, and the two outer bins (the tails beyond the grid), are refined too. The sum is
  scipy's up to rounding: within about 1e-11, relative (a position on the grid carries the
  rounding of ``x - low``).
- Quantiles (PSI and chart edges) and counts at or below any edge come from the cumulative
  counts and the sorted values of one bin per edge: equal to the sorted sample's.

:func:`samples` chooses: this path for large samples, a sort (:class:`SortedSample`) otherwise
or when the values do not spread over a grid (nearly constant columns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlratchet.drift import numeric

if TYPE_CHECKING:
    import numpy as np

#: Bins of the grid: 64k counts per side (half a megabyte) stay in cache.
GRID_BINS = 65_536
#: Below this many values in all a sort is as quick, and the sorted path is used.
MIN_VALUES = 200_000
#: The grid spans these quantiles of a sample of both sides; the tails share the outer bins.
GRID_SPAN = (0.001, 0.999)
#: Values taken from each side (evenly spaced) to place the grid.
PROBES = 32_768
#: Slack on the bounds that decide which bins are refined: refining more is only slower.
SLACK = 1e-12


@dataclass(frozen=True)
class Grid:
    """Equal-width bins: ``floor((x - low) * scale)``, clipped to ``[0, bins - 1]``."""

    low: float
    scale: float
    bins: int

    def bin_of(self, values: np.ndarray) -> np.ndarray:
        """Each value's bin: monotone in the value (each step rounds monotonically)."""
        import numpy as np

        found: np.ndarray = self.positions(values).astype(np.int32)
        return found

    def mask(self, values: np.ndarray) -> np.ndarray:
        """A mask over the bins: those of ``values``."""
        import numpy as np

        chosen = np.zeros(self.bins, dtype=bool)
        chosen[self.bin_of(values)] = True
        return chosen

    def positions(self, values: np.ndarray, *, clip: bool = True) -> np.ndarray:
        """``(x - low) * scale``: where each value lies on the grid, in bin widths, clipped to
        it unless ``clip`` is false (a value's bin is the integer part of its clipped
        position: truncation is floor at or above 0)."""
        import numpy as np

        position = np.subtract(values, self.low, dtype=np.float64)
        position *= self.scale
        if clip:
            np.clip(position, 0, self.bins - 1, out=position)
        found: np.ndarray = position
        return found


def grid_for(ref: np.ndarray, cur: np.ndarray) -> Grid | None:
    """A grid over the bulk of both samples, or None when they do not spread over one."""
    import numpy as np

    probes = np.concatenate(
        [ref[:: max(1, len(ref) // PROBES)], cur[:: max(1, len(cur) // PROBES)]]
    )
    probes.sort()
    low, high = (float(v) for v in numeric.sorted_quantiles(probes, np.array(GRID_SPAN)))
    if not high > low:
        low, high = float(probes[0]), float(probes[-1])
    scale = GRID_BINS / (high - low) if high > low else 0.0
    if not (math.isfinite(scale) and scale > 0 and math.isfinite(low)):
        return None
    return Grid(low, scale, GRID_BINS)


@dataclass(frozen=True)
class Picked:
    """The sorted values of some bins of a sample, and what ranks them among all its values:
    for each bin, how many values lie in the bins below it that were not picked."""

    values: np.ndarray
    offset: np.ndarray
    grid: Grid

    def at_most(self, points: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        """How many of the sample's values are at most each point; every point's bin (``where``,
        if known) must be one of the picked."""
        import numpy as np

        where = self.grid.bin_of(points) if where is None else where
        found: np.ndarray = self.offset[where] + np.searchsorted(self.values, points, "right")
        return found


class BinnedSample:
    """Finite values in any order, counted on a grid; answers what a sorted copy would."""

    def __init__(self, values: np.ndarray, grid: Grid):
        import numpy as np

        self.values = values
        self.grid = grid
        position = grid.positions(values)
        self.bins = position.astype(np.int32)
        self.counts = np.bincount(self.bins, minlength=grid.bins)
        #: Per bin, the sum of (its right end - value) over its values, in bin widths: exact
        #: to about 1e-11 of a width per value (the outer bins' is not used: see
        #: :func:`compared`).
        ends = np.arange(1, grid.bins + 1, dtype=np.float64) * self.counts
        self.below_ends = ends - np.bincount(self.bins, weights=position, minlength=grid.bins)

    def __len__(self) -> int:
        return len(self.values)

    def std(self) -> float:
        """The population standard deviation."""
        import numpy as np

        return float(np.std(self.values))

    def pick(self, chosen: np.ndarray) -> Picked:
        """The values in the ``chosen`` bins (a mask over the grid), sorted."""
        import numpy as np

        picked = self.values[chosen[self.bins]]
        picked.sort()
        skipped = np.where(chosen, 0, self.counts)
        offset = np.concatenate([[0], np.cumsum(skipped)[:-1]])
        return Picked(picked, offset, self.grid)

    def at_most(self, edges: np.ndarray) -> np.ndarray:
        """How many values are at most each edge (``searchsorted(sorted, edges, "right")``)."""
        edges = _floats(edges)
        return self.pick(self.grid.mask(edges)).at_most(edges)

    def order_statistics(self, ranks: np.ndarray) -> np.ndarray:
        """The values at these 0-based ranks of the sorted sample."""
        import numpy as np

        where = np.searchsorted(np.cumsum(self.counts), ranks, side="right")
        chosen = np.zeros(self.grid.bins, dtype=bool)
        chosen[where] = True
        picked = self.pick(chosen)
        found: np.ndarray = picked.values[ranks - picked.offset[where]]
        return found

    def quantiles(self, probs: np.ndarray) -> np.ndarray:
        """Quantiles by numpy's default definition, as :func:`numeric.sorted_quantiles`."""
        import numpy as np

        below, above, weight = numeric.quantile_positions(len(self), probs)
        values = self.order_statistics(np.concatenate([below, above]))
        return numeric.interpolate(values[: len(below)], values[len(below) :], weight)


Sample = BinnedSample | numeric.SortedSample


def samples(ref: np.ndarray, cur: np.ndarray) -> tuple[Sample, Sample]:
    """Both sides' finite values (any order) ready for the exact statistics: counted on a
    shared grid when they are large enough for that to pay, else sorted."""
    n, m = len(ref), len(cur)
    if min(n, m) > numeric.KS_EXACT_MAX_N and n + m >= MIN_VALUES:
        grid = grid_for(ref, cur)
        if grid is not None:
            return BinnedSample(ref, grid), BinnedSample(cur, grid)
    return numeric.SortedSample.of(ref), numeric.SortedSample.of(cur)


def compared(
    ref: Sample, cur: Sample, edges: np.ndarray
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """The KS statistic and raw Wasserstein distance of two non-empty samples, and how many
    values of each are at most each edge (binned: one pass over each side's values for all)."""
    edges = _floats(edges)
    if isinstance(ref, BinnedSample) and isinstance(cur, BinnedSample):
        return _binned_compared(ref, cur, edges)
    if isinstance(ref, numeric.SortedSample) and isinstance(cur, numeric.SortedSample):
        statistic, distance = numeric.ks_wasserstein(ref.values, cur.values)
        return statistic, distance, ref.at_most(edges), cur.at_most(edges)
    raise TypeError("both samples must be binned, or both sorted")  # a bug, not user input


def _floats(values: Any) -> np.ndarray:
    import numpy as np

    found: np.ndarray = np.asarray(values, dtype=np.float64)
    return found


def _binned_compared(
    ref: BinnedSample, cur: BinnedSample, edges: np.ndarray
) -> tuple[float, float, np.ndarray, np.ndarray]:
    import numpy as np

    n, m = len(ref), len(cur)
    grid = ref.grid
    # The gap at each bin's last value, exactly as scipy computes it there; before a bin's
    # first value it is the previous bin's.
    end = np.cumsum(ref.counts) / n - np.cumsum(cur.counts) / m
    start = np.concatenate([[0.0], end[:-1]])
    statistic = float(np.abs(end[(ref.counts + cur.counts) > 0]).max())
    # Inside a bin the gap stays within [start - the bin's cur mass, start + its ref mass].
    gap_low = start - cur.counts / m
    gap_high = start + ref.counts / n
    may_pass = np.maximum(np.abs(gap_low), np.abs(gap_high)) > statistic - SLACK
    may_cross = (gap_low < SLACK) & (gap_high > -SLACK)
    refined = (ref.counts + cur.counts > 0) & (may_pass | may_cross)
    # The outer bins hold the tails, beyond the grid: always exactly.
    refined[[0, -1]] = True

    # Bins kept whole (empty ones too): the gap keeps its sign, so the integral of |gap| over
    # the bin is |integral of gap|: the bin's starting gap over its width, plus each value's
    # step held to the bin's right end. All in bin widths, so no bin's ends are rounded.
    inside = start + ref.below_ends / n - cur.below_ends / m
    distance = float(np.abs(inside[~refined]).sum()) / grid.scale

    # Refined bins: the gap at each distinct value, as the sorted path evaluates it. The same
    # pass picks the bins of the edges.
    chosen = refined | grid.mask(edges)
    ref_picked, cur_picked = ref.pick(chosen), cur.pick(chosen)
    ref_at, cur_at = ref_picked.at_most(edges), cur_picked.at_most(edges)
    values = np.concatenate([_distinct(ref_picked.values), _distinct(cur_picked.values)])
    points = _distinct(np.sort(values))
    where = grid.bin_of(points)
    points, where = points[refined[where]], where[refined[where]]
    if len(points) == 0:
        return statistic, distance, ref_at, cur_at
    ref_count = ref_picked.at_most(points, where)
    cur_count = cur_picked.at_most(points, where)
    gaps = np.abs(ref_count / n - cur_count / m)
    statistic = max(statistic, float(gaps.max()))
    same_bin = where[:-1] == where[1:]
    first = np.concatenate([[True], ~same_bin])
    last = np.concatenate([~same_bin, [True]])
    distance += float(np.vecdot(gaps[:-1], np.diff(points) * same_bin))
    # From a refined bin's left end to its first value the gap is the bin's starting one; from
    # its last value to its right end, the gap at that value. The lowest value's bin starts at
    # a gap of 0 and the highest's ends at 0, so the outer bins' open ends never count.
    offset = grid.positions(points, clip=False)
    into = offset[first] - where[first]
    out = where[last] + 1 - offset[last]
    distance += float(np.vecdot(np.abs(start[where[first]]), into)) / grid.scale
    distance += float(np.vecdot(gaps[last], out)) / grid.scale
    return statistic, distance, ref_at, cur_at


def _distinct(ordered: np.ndarray) -> np.ndarray:
    """The distinct values of a sorted array."""
    import numpy as np

    if len(ordered) == 0:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[-1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[:-1])
    found: np.ndarray = ordered[keep]
    return found
