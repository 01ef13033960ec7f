"""Drift statistics of a categorical column, from the counts of each category on each side.

- **Two-sample chi-square** on the 2 x K contingency table (reference counts, current counts),
  expected counts from the margins, no continuity correction: it asks whether both samples come
  from one distribution. Evidently's chi-square is a one-sample goodness-of-fit test that takes
  the reference proportions as exact; at 100k rows and more it flags columns that did not move,
  because the reference's own sampling noise is counted as drift.
- **PSI** over the categories, proportions floored as for numeric PSI.
- **Jensen-Shannon distance** (base 2, so in [0, 1]), as ``scipy.spatial.distance.jensenshannon``
  computes it (a test holds them equal; importing scipy.spatial would cost half a second).

Counts are exact and mergeable, so streaming and in-memory runs give identical results.
Missing values are not a category here: they are counted apart (see ``mlratchet.drift.profile``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlratchet.drift.numeric import psi_from_counts

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class ChiSquare:
    """A chi-square test of homogeneity: statistic, degrees of freedom, p-value."""

    statistic: float
    dof: int
    p_value: float


def aligned(
    ref: Mapping[str, int], cur: Mapping[str, int]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The union of categories (sorted) and each side's counts over it."""
    import numpy as np

    categories = sorted(set(ref) | set(cur))
    ref_counts = np.array([ref.get(c, 0) for c in categories], dtype=np.int64)
    cur_counts = np.array([cur.get(c, 0) for c in categories], dtype=np.int64)
    return categories, ref_counts, cur_counts


def chi_square(ref_counts: np.ndarray, cur_counts: np.ndarray) -> ChiSquare:
    """Two-sample chi-square on the 2 x K table; categories empty on both sides are dropped."""
    import numpy as np
    from scipy import special

    keep = (ref_counts + cur_counts) > 0
    table = np.vstack([ref_counts[keep], cur_counts[keep]]).astype(np.float64)
    rows = table.sum(axis=1)
    if table.shape[1] < 2 or rows.min() == 0:
        return ChiSquare(0.0, max(table.shape[1] - 1, 0), 1.0)
    expected = np.outer(rows, table.sum(axis=0)) / table.sum()
    statistic = float(np.sum((table - expected) ** 2 / expected))
    dof = table.shape[1] - 1
    # special.chdtrc is what scipy.stats.chi2.sf computes, without importing scipy.stats.
    return ChiSquare(statistic, dof, float(special.chdtrc(dof, statistic)))


#: PSI over the categories: each category's count is a bin's (proportions floored alike).
psi = psi_from_counts


def jensen_shannon(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """The Jensen-Shannon distance (base 2) between the two category distributions."""
    import numpy as np
    from scipy import special

    if ref_counts.sum() == 0 or cur_counts.sum() == 0:
        return 0.0
    p = ref_counts / ref_counts.sum()
    q = cur_counts / cur_counts.sum()
    middle = (p + q) / 2
    divergence = np.sum(special.rel_entr(p, middle) + special.rel_entr(q, middle)) / 2
    return float(np.sqrt(max(divergence, 0.0) / np.log(2)))
