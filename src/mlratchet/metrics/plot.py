"""A line chart of metrics history as a PNG: matplotlib's Agg backend, byte-stable output."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from mlratchet.errors import BadInputError
from mlratchet.metrics.history import History

#: More lines than this make an unreadable chart: pick some with --metric.
MAX_LINES = 12


def _y(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return math.nan  # a gap in the line


def plot_history(hist: History, path: Path | str) -> list[str]:
    """Draw each numeric column of ``hist`` over its commits (oldest left); return the names.

    Written atomically; the same history gives the same bytes (no timestamp or version in the
    PNG's metadata).
    """
    columns = hist.numeric()
    if not columns:
        raise BadInputError("--plot: no numeric metric in this history to draw")
    if len(columns) > MAX_LINES:
        raise BadInputError(
            f"--plot: {len(columns)} metrics would make an unreadable chart; "
            f"choose up to {MAX_LINES} with --metric KEY"
        )
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    from mlratchet.pngio import save_figure

    points = list(reversed(hist.points))
    labels = [", ".join(p.tags) if p.tags else p.sha[:7] for p in points]
    xs = list(range(len(points)))
    fig = Figure(figsize=(10, 5.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for column in columns:
        ys = [_y(p.value(column)) for p in points]
        ax.plot(xs, ys, marker="o" if len(points) <= 50 else None, markersize=3, label=column.name)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=12, integer=True))

    def tick(value: float, _pos: int) -> str:
        i = round(value)
        return labels[i] if 0 <= i < len(labels) and abs(value - i) < 1e-9 else ""

    ax.xaxis.set_major_formatter(FuncFormatter(tick))
    ax.tick_params(axis="x", labelrotation=30, labelsize="small")
    ax.set_xlabel("commit (first-parent history, oldest left)")
    ax.set_ylabel("value")
    ax.set_title("metrics history")
    ax.grid(visible=True, alpha=0.3)
    ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    save_figure(fig, path)
    return [c.name for c in columns]
