"""PNG charts of the evaluation curves (matplotlib, Agg), byte-stable run to run.

Written through :func:`mlratchet.save_figure` (no timestamp, no ``Software`` tag).
"""

from __future__ import annotations

from pathlib import Path

from mlratchet import save_figure

_AXES = {
    "roc": ("fpr", "tpr", "False positive rate", "True positive rate", "ROC (test)"),
    "precision_recall": ("recall", "precision", "Recall", "Precision", "Precision-recall (test)"),
    "calibration": (
        "predicted",
        "observed",
        "Predicted probability",
        "Observed frequency",
        "Calibration (test)",
    ),
}


def curve_png(name: str, series: dict[str, list[dict[str, float]]], path: Path) -> None:
    """One chart of curve ``name`` with a line per scorer."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    x_key, y_key, x_label, y_label, title = _AXES[name]
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    for scorer, rows in series.items():
        ax.plot([r[x_key] for r in rows], [r[y_key] for r in rows], label=scorer)
    if name in ("roc", "calibration"):
        ax.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=1)
    ax.set(xlabel=x_label, ylabel=y_label, title=title, xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="best")
    fig.tight_layout()
    save_figure(fig, path)


def confusion_png(confusion: dict[str, int], path: Path, threshold: float) -> None:
    """A 2x2 confusion matrix with counts."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    cells = [[confusion["tn"], confusion["fp"]], [confusion["fn"], confusion["tp"]]]
    fig = Figure(figsize=(4, 3.6))
    ax = fig.subplots()
    ax.imshow(cells, cmap="Blues")
    for i in range(2):
        for j in range(2):
            ax.text(j, i, f"{cells[i][j]:,}", ha="center", va="center")
    ax.set(
        xticks=[0, 1],
        yticks=[0, 1],
        xticklabels=["on time", "late"],
        yticklabels=["on time", "late"],
        xlabel="Predicted",
        ylabel="Actual",
        title=f"Confusion (test, threshold {threshold:g})",
    )
    fig.tight_layout()
    save_figure(fig, path)
