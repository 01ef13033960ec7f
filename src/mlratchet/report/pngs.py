"""Full-size PNG charts for the workflow's artifacts: matplotlib's Agg backend, byte-stable.

The metric history is drawn by :func:`mlratchet.metrics.plot.plot_history` (the PNG of
``ratchet metrics history --plot``); the project's DVC plots (head against base) here, from
every point of their data files (not the resampled grid the Mermaid chart needs). Each file is
written atomically and holds no timestamp or version, so the same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlratchet.metrics.history import History

Curve = Sequence[tuple[float, float]]


def write_pngs(
    directory: Path,
    *,
    history: History | None,
    history_name: str,
    curves: Sequence[tuple[str, str, str, Curve | None, Curve | None]],
    head_label: str,
    base_label: str,
) -> tuple[str, ...]:
    """Draw what there is to draw into ``directory``; return the files written."""
    written = []
    if history is not None:
        from mlratchet.metrics.plot import plot_history

        path = directory / history_name
        plot_history(history, path)
        written.append(str(path))
    for plot_id, x, y, head, base in curves:  # (id, x field, y field, head, base)
        if head is None and base is None:
            continue
        path = directory / f"plot-{_file_name(plot_id)}.png"
        plot_curve(
            path,
            {f"head {head_label}": head, f"base {base_label}": base},
            title=f"{plot_id}: head vs base",
            x=x,
            y=y,
        )
        written.append(str(path))
    return tuple(written)


def _file_name(plot_id: str) -> str:
    """A plot id (``pr_curve``, ``plots/roc.json``) as a file name: ``pr_curve``, ``plots-roc``."""
    stem = (
        plot_id.rsplit(".", 1)[0]
        if plot_id.lower().endswith((".json", ".csv", ".tsv"))
        else plot_id
    )
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in stem).strip("-") or "plot"


def plot_curve(path: Path, curves: dict[str, Curve | None], *, title: str, x: str, y: str) -> None:
    """One line per named curve (x on the x axis, in order of x)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from mlratchet.pngio import save_figure

    fig = Figure(figsize=(6, 6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for label, curve in curves.items():
        if curve is None:
            continue
        ordered = sorted(curve)
        ax.plot([p[0] for p in ordered], [p[1] for p in ordered], label=label, linewidth=1.5)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title)
    ax.grid(visible=True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    save_figure(fig, path)
