"""Full-size PNG charts for the workflow's artifacts: matplotlib's Agg backend, byte-stable.

The metric history is drawn by :func:`mlratchet.metrics.plot.plot_history` (the PNG of
``ratchet metrics history --plot``); the ROC curves of head and base here, from every point of
their curve files (not the resampled grid the Mermaid chart needs). Each file is written
atomically and holds no timestamp or version, so the same inputs give the same bytes.
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
    roc_head: Curve | None,
    roc_base: Curve | None,
    roc_name: str,
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
    if roc_head is not None or roc_base is not None:
        path = directory / roc_name
        plot_roc(path, {f"head {head_label}": roc_head, f"base {base_label}": roc_base})
        written.append(str(path))
    return tuple(written)


def plot_roc(path: Path, curves: dict[str, Curve | None]) -> None:
    """ROC curves (FPR on x, TPR on y) with the chance diagonal, one line per named curve."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from mlratchet.fsio import atomic_path

    fig = Figure(figsize=(6, 6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for label, curve in curves.items():
        if curve is None:
            continue
        ordered = sorted(curve)
        ax.plot([p[0] for p in ordered], [p[1] for p in ordered], label=label, linewidth=1.5)
    ax.plot([0, 1], [0, 1], linestyle="--", color="#9e9e9e", linewidth=1, label="chance")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC curve of the model: head vs base")
    ax.grid(visible=True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
