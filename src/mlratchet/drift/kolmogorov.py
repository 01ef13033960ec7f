"""The two-sided Kolmogorov distribution of large samples, without importing scipy.stats.

scipy's ``ks_2samp`` (asymptotic mode) takes its p-value from ``kstwo.sf(D, n)``, the exact
distribution of the one-sample statistic D_n, at ``n = round(n1 n2 / (n1 + n2))``. Importing
scipy.stats costs most of a second of CPU, holding the GIL: at a million rows it is the
largest single step of a drift check. For large n the distribution has closed forms that
scipy.special (a fifth of that import) and numpy evaluate just as well, and they are what
scipy itself evaluates there (Simard and L'Ecuyer, "Computing the Two-Sided
Kolmogorov-Smirnov Distribution", Journal of Statistical Software 39(11), 2011):

- where ``n x^2 >= 2.2``, twice the one-sided tail: ``2 * smirnov(n, x)`` (Miller);
- below, Pelz and Good's (1976) expansion of the CDF in powers of ``1/sqrt(n)``:
  ``K0(z) + K1(z)/sqrt(n) + K2(z)/n + K3(z)/n^1.5`` with ``z = x sqrt(n)``, each term a
  theta-function series; the tail is ``1 - CDF``.

:func:`tail` answers only where those hold (``n`` above :data:`LARGE_N`, ``1/n < x < 0.5``)
and returns None elsewhere, for the caller to ask scipy. Its values agree with scipy's to
about 1e-14, relative (``tests/unit/test_drift_stats.py``).
"""

from __future__ import annotations

import math

#: Above this n, Pelz and Good's expansion is accurate to double precision (Simard and
#: L'Ecuyer); below, the exact matrix methods are needed (scipy.stats).
LARGE_N = 100_000
#: From here up, twice the one-sided tail is the two-sided one to double precision.
MILLER_FROM = 2.2


def effective_n(n: int, m: int) -> float:
    """The sample size scipy's ``ks_2samp`` gives the one-sample distribution for two samples
    of ``n`` and ``m`` values: ``round(n m / (n + m))``."""
    import numpy as np

    big, small = sorted([float(n), float(m)], reverse=True)
    return float(np.round(big * small / (big + small)))


def large_enough(n: int, m: int) -> bool:
    """Whether two samples of these sizes get their p-values without scipy.stats: from
    :func:`tail` or the limiting distribution (an effective n above :data:`LARGE_N`)."""
    return effective_n(n, m) > LARGE_N


def tail(n: float, x: float) -> float | None:
    """P(D_n >= x) for large n, or None where only an exact method will do."""
    if not (n > LARGE_N and n * x > 1.0 and x < 0.5):
        return None
    spread = n * x * x
    if spread >= MILLER_FROM:
        from scipy import special

        return min(max(2.0 * float(special.smirnov(n, x)), 0.0), 1.0)
    return min(max(1.0 - pelz_good_cdf(n, x), 0.0), 1.0)


def pelz_good_cdf(n: float, x: float) -> float:
    """P(D_n <= x) by Pelz and Good's four-term expansion (for large n, ``n x^2`` small)."""
    import numpy as np

    z = math.sqrt(n) * x
    z2 = z * z
    pi2 = math.pi**2
    # Enough terms that the next would not change a double: exp(-pi^2 k^2 / (8 z^2)) for
    # k > 16 z / pi is below exp(-32).
    count = max(1, math.ceil(16.0 * z / math.pi))
    odd = (2.0 * np.arange(1, count + 1) - 1.0) ** 2  # m^2 over odd m
    theta = np.exp(-pi2 * odd / (8.0 * z2))
    whole = np.arange(1, count + 1, dtype=np.float64) ** 2  # k^2 over every k
    gauss = np.exp(-pi2 * whole / (2.0 * z2))

    a = pi2 * odd / 4.0  # pi^2 m^2 / 4
    z4, z6 = z2 * z2, z2 * z2 * z2
    k0 = float(np.sum(theta)) / z
    k1 = float(np.sum((a - z2) * theta)) / (6.0 * z4)
    k2 = float(
        np.sum((6.0 * z6 + 2.0 * z4 + (2.0 * z4 - 5.0 * z2) * a + (1.0 - 2.0 * z2) * a * a) * theta)
    ) / (72.0 * z6 * z) - pi2 * float(np.sum(whole * gauss)) / (36.0 * z2 * z)
    k3 = float(
        np.sum(
            (
                -30.0 * z6
                - 90.0 * z4 * z4
                + (135.0 * z4 - 96.0 * z6) * a
                + (212.0 * z4 - 60.0 * z2) * a * a
                + (5.0 - 30.0 * z2) * a * a * a
            )
            * theta
        )
    ) / (6480.0 * z6 * z4) + pi2 * float(np.sum((3.0 * z2 - pi2 * whole) * whole * gauss)) / (
        216.0 * z6
    )
    root = math.sqrt(2.0 * math.pi)
    return root * (k0 + k1 / math.sqrt(n) + k2 / n + k3 / (n * math.sqrt(n)))
