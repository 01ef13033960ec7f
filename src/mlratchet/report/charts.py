"""The numbers behind the report's charts: curves resampled onto a grid, axis ranges.

Mermaid's ``xychart-beta`` plots one y value per x *category*, evenly spaced, so a curve given
as (x, y) pairs at arbitrary x must first be resampled onto a fixed grid. Pure functions, no
third-party imports.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def resample(points: Sequence[tuple[float, float]], grid: Sequence[float]) -> tuple[float, ...]:
    """The curve through ``points`` read at each x of ``grid``, by linear interpolation.

    Points are taken in order of x; where several share an x (a vertical step of a ROC curve),
    the curve leaves that x at the highest y, so a grid point on a step reads the top of it.
    Outside the points' range the curve is flat (the first or last y).
    """
    ordered = sorted(points)
    xs: list[float] = []
    low: list[float] = []  # the y at which the curve arrives at each distinct x
    high: list[float] = []  # the y at which it leaves
    for x, y in ordered:
        if xs and x == xs[-1]:
            high[-1] = max(high[-1], y)
            low[-1] = min(low[-1], y)
        else:
            xs.append(x)
            low.append(y)
            high.append(y)
    out = []
    for x in grid:
        i = bisect.bisect_left(xs, x)
        if i < len(xs) and xs[i] == x:
            value = high[i]
        elif i == 0:
            value = low[0]
        elif i == len(xs):
            value = high[-1]
        else:
            x0, x1 = xs[i - 1], xs[i]
            value = high[i - 1] + (low[i] - high[i - 1]) * (x - x0) / (x1 - x0)
        out.append(round(value, 6))
    return tuple(out)


def nice_range(values: Sequence[float]) -> tuple[float, float]:
    """A y range holding ``values`` with a little room, its ends rounded to a readable step."""
    lo, hi = min(values), max(values)
    span = hi - lo
    pad = span * 0.1 if span > 0 else max(abs(hi) * 0.01, 1e-6)
    lo, hi = lo - pad, hi + pad
    step = 10 ** math.floor(math.log10(hi - lo)) / 10
    bottom = math.floor(lo / step) * step
    top = math.ceil(hi / step) * step
    digits = max(0, -math.floor(math.log10(step)))
    return round(bottom, digits), round(top, digits)
