"""``scipy.stats.kstwo.sf`` for large samples, without importing scipy.stats.

Importing scipy.stats costs about half a second of CPU, more than all the KS statistics of a
million-row batch; the p-values it is needed for take microseconds. For n above 140 and a
statistic whose p-value is not about 1, scipy computes ``kstwo.sf(x, n)`` from
``scipy.special.smirnov`` or from the Pelz-Good approximation, both of which need only numpy and
scipy.special; this module is that code (scipy 1.17, ``scipy/stats/_ksstats.py``, BSD-3-Clause,
Copyright (c) 2001-2002 Enthought, Inc. 2003, SciPy Developers), step for step, so the floats
are the same. The region it does not cover (tiny statistics, n * x**1.5 <= 1.4 with n <= 100,000,
where scipy runs the Durbin matrix algorithm) returns None: the caller asks scipy.stats.
``tests/unit/test_drift_stats.py`` holds it equal to scipy's, bit for bit, over a grid.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Up to this n scipy uses exact small-sample methods: not covered here.
SMALL_N = 140

# scipy's constants, computed as scipy computes them.
_SQRT2PI = np.sqrt(2 * np.pi)
_LOG_2PI = np.log(2 * np.pi)
_MIN_LOG = -708
_SQRT3 = np.sqrt(3)
_PI_SQUARED = np.pi**2
_PI_FOUR = np.pi**4
_PI_SIX = np.pi**6
_STIRLING_COEFFS = [
    -2.955065359477124183e-2,
    6.4102564102564102564e-3,
    -1.9175269175269175269e-3,
    8.4175084175084175084e-4,
    -5.952380952380952381e-4,
    7.9365079365079365079e-4,
    -2.7777777777777777778e-3,
    8.3333333333333333333e-2,
]


def kstwo_sf(x: float, n: float) -> float | None:  # noqa: PLR0911 - scipy's cases, in its order
    """``scipy.stats.kstwo.sf(x, n)`` for an integral n > 140, or None where it is not covered."""
    from scipy import special

    if n != int(n) or n <= SMALL_N:
        return None
    n = int(n)
    x = np.float64(x)  # scipy's arithmetic is numpy's
    if x <= 0.5 / n:  # the support's lower end: kstwo.sf gives 1 there
        return 1.0
    if x >= 1.0:
        return 0.0
    t = n * x
    if t <= 0.5:
        return 1.0
    if t <= 1.0:  # Ruben-Gambino
        prob = np.exp(_log_nfactorial_div_n_pow_n(n) + n * np.log(2 * t - 1))
        return float(np.clip(1.0 - prob, 0.0, 1.0))
    if t >= n - 1:  # Ruben-Gambino
        return float(np.clip(2 * (1.0 - x) ** n, 0.0, 1.0))
    if x >= 0.5:
        return float(np.clip(2 * special.smirnov(n, x), 0.0, 1.0))
    nxsquared = t * x
    if nxsquared >= 370.0:
        return 0.0
    if nxsquared >= 2.2:
        return float(np.clip(2 * special.smirnov(n, x), 0.0, 1.0))
    if nxsquared >= 18.0:  # pragma: no cover - kept as scipy orders its cases
        return 0.0
    if n <= 100000 and n * x**1.5 <= 1.4:
        return None  # scipy's Durbin matrix method: ask scipy
    cdf = _pelz_good(n, x)
    return float(np.clip(1.0 - cdf, 0.0, 1.0))


def _log_nfactorial_div_n_pow_n(n: int) -> float:
    rn = 1.0 / n
    return float(np.log(n) / 2 - n + _LOG_2PI / 2 + rn * np.polyval(_STIRLING_COEFFS, rn / n))


def _pelz_good(n: int, x: Any) -> float:
    """The Pelz-Good approximation of Prob(D_n <= x), as scipy computes it (0 < x < 1)."""
    z = np.sqrt(n) * x
    zsquared, zthree, zfour, zsix = z**2, z**3, z**4, z**6

    qlog = -_PI_SQUARED / 8 / zsquared
    if qlog < _MIN_LOG:
        return 0.0
    q = np.exp(qlog)

    k1a = -zsquared
    k1b = _PI_SQUARED / 4
    k2a = 6 * zsix + 2 * zfour
    k2b = (2 * zfour - 5 * zsquared) * _PI_SQUARED / 4
    k2c = _PI_FOUR * (1 - 2 * zsquared) / 16
    k3d = _PI_SIX * (5 - 30 * zsquared) / 64
    k3c = _PI_FOUR * (-60 * zsquared + 212 * zfour) / 16
    k3b = _PI_SQUARED * (135 * zfour - 96 * zsix) / 4
    k3a = -30 * zsix - 90 * z**8

    terms = np.zeros(4)
    maxk = int(np.ceil(16 * z / np.pi))
    for k in range(maxk, 0, -1):
        m = 2 * k - 1
        msquared, mfour, msix = m**2, m**4, m**6
        qpower = np.power(q, 8 * k)
        coeffs = np.array(
            [
                1.0,
                k1a + k1b * msquared,
                k2a + k2b * msquared + k2c * mfour,
                k3a + k3b * msquared + k3c * mfour + k3d * msix,
            ]
        )
        terms *= qpower
        terms += coeffs
    terms *= q
    terms *= _SQRT2PI
    terms /= np.array([z, 6 * zfour, 72 * z**7, 6480 * z**10])

    q = np.exp(-_PI_SQUARED / 2 / zsquared)
    ks = np.arange(maxk, 0, -1)
    ksquared = ks**2
    sqrt3z = _SQRT3 * z
    kspi = np.pi * ks
    qpwers = q**ksquared
    k2extra = np.sum(ksquared * qpwers)
    k2extra *= _PI_SQUARED * _SQRT2PI / (-36 * zthree)
    terms[2] += k2extra
    k3extra = np.sum((sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpwers)
    k3extra *= _PI_SQUARED * _SQRT2PI / (216 * zsix)
    terms[3] += k3extra
    powers_of_n = np.power(n * 1.0, np.arange(len(terms)) / 2.0)
    terms /= powers_of_n
    return float(sum(terms))
