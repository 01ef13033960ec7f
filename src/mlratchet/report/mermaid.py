"""Mermaid ``xychart-beta`` diagrams: charts GitHub draws in comments, with no image host.

The grammar (mermaid's ``xychart.jison``), as far as we use it::

    xychart-beta
        title "text"
        x-axis "title" ["category", "category", ...]
        y-axis "title" MIN --> MAX
        line [Y, Y, ...]          (one Y per x category)

Numbers are ``[+-]?(\\d+(\\.\\d+)?|\\.\\d+)``: no exponent, no NaN, so values are written in
positional notation and a gap cannot be drawn (a series lists only the commits that have a
value). A quoted string ends at the next ``"``, which cannot be escaped, so labels lose their
double quotes. A chart has no legend: the title says which line is which. Line colours are set
with an ``%%{init}%%`` directive (``xyChart.plotColorPalette``, in line order); a renderer that
ignores it still parses the chart, since ``%%`` starts a comment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

#: The colours lines can be drawn in, by the name a chart's title uses for them.
COLOURS = {"blue": "#1f77b4", "orange": "#ff7f0e", "grey": "#9e9e9e"}
MAX_LABEL = 40  # an x-axis category
MAX_TITLE = 120


def text(value: str, limit: int = MAX_LABEL) -> str:
    """A quoted Mermaid string: no double quotes, backticks or line breaks inside, bounded."""
    clean = " ".join(value.replace('"', "'").replace("`", "'").split())
    if len(clean) > limit:
        clean = clean[: limit - 1] + "…"
    return f'"{clean}"'


def number(value: float) -> str:
    """``value`` in positional notation with up to 6 significant digits (``0.7123``, ``-12``)."""
    if not math.isfinite(value):
        raise ValueError(f"xychart cannot draw {value!r}")
    rounded = Decimal(f"{value:.6g}")
    out = format(rounded.normalize(), "f")
    return "0" if out in ("-0", "") else out


def xychart(
    *,
    title: str,
    categories: Sequence[str],
    y_title: str,
    y_range: tuple[float, float],
    lines: Sequence[Sequence[float]],
    colours: Sequence[str] = ("blue",),
    x_title: str | None = None,
) -> str:
    """One ``xychart-beta`` diagram (without the code fence): every line has one value per
    category, and is drawn in the colour of the same rank in ``colours`` (names of COLOURS)."""
    for line in lines:
        if len(line) != len(categories):
            raise ValueError(f"a line of {len(line)} points on {len(categories)} categories")
    if len(colours) < len(lines):
        raise ValueError(f"{len(lines)} lines but {len(colours)} colours")
    palette = ", ".join(COLOURS[name] for name in colours[: max(1, len(lines))])
    rows = [
        '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "' + palette + '"}}}}%%',
        "xychart-beta",
        f"    title {text(title, MAX_TITLE)}",
        f"    x-axis {text(x_title, MAX_TITLE) + ' ' if x_title else ''}"
        f"[{', '.join(text(c) for c in categories)}]",
        f"    y-axis {text(y_title, MAX_TITLE)} {number(y_range[0])} --> {number(y_range[1])}",
    ]
    rows += [f"    line [{', '.join(number(v) for v in line)}]" for line in lines]
    return "\n".join(rows) + "\n"


def fenced(diagram: str) -> str:
    """The diagram in a ```` ```mermaid ```` block, as GitHub renders it."""
    return f"```mermaid\n{diagram}```\n"
