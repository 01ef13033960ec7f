"""The monitor month by month over a year of raw data, against the model's training rows.

Each month of raw flights becomes a serving batch through :func:`month_batch` (the pipeline's
own ``build_examples``) and is checked against one summarised reference (the training months):
the result is a month-by-month table (Markdown and JSON) and a heat map of each feature's
effect size relative to its threshold (PNG). On NYC 2013 it shows the seasonal drift that is
really there: temperature and dew point move with the seasons, the daily traffic at each
airport moves with the schedule, and the weather feed goes missing on the last days of December.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlratchet.monitor.run import MonitorReport

MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Features shown as their own column of the Markdown table (when the model reads them).
HIGHLIGHT = ("temp", "dewp", "origin_day_load", "carrier", "dest")


@dataclass(frozen=True)
class Months:
    """The month-by-month result."""

    rows: list[dict[str, Any]]
    reports: dict[int, MonitorReport]
    reference: str
    training_months: tuple[int, ...]


def _effects(report: MonitorReport) -> dict[str, tuple[str, float | None, bool]]:
    return {
        c["column"]: (c["effect"]["statistic"], c["effect"]["value"], c["drifted"])
        for c in report["drift"]["columns"]
    }


def month_by_month(
    *,
    repo: Path | str = ".",
    params_file: Path | str = "params.yaml",
    policy_file: Path | str | None = None,
    model_text: str = "workspace",
    months: Sequence[int] = tuple(range(1, 13)),
    raw_dir: Path | str = "data/raw",
) -> Months:
    """Monitor each month of the raw data against the model's training rows."""
    from flightdelay.batch import batch_of
    from flightdelay.params import load_params
    from mlratchet import read_table
    from mlratchet.monitor import model as models
    from mlratchet.monitor.run import check_batch, reference
    from mlratchet.policy import policy_at

    repo = Path(repo)
    params = repo / params_file
    policy = policy_at(repo, None, policy_file)[0].monitor
    prepare = load_params(params).prepare
    context = models.load(repo, model_text, policy)
    ref = reference(policy=policy, model=context)
    raw = Path(raw_dir) if Path(raw_dir).is_absolute() else repo / raw_dir
    split = prepare.split_of()
    flights = read_table(raw / "flights.parquet")
    weather = read_table(raw / "weather.parquet")
    rows, reports = [], {}
    for month in months:
        batch = batch_of(flights, weather, [month], prepare.late_minutes)
        report = check_batch(ref, batch, label=f"2013-{month:02d}").report
        reports[month] = report
        effects = _effects(report)
        drift = report["drift"]
        prediction = report["prediction"]
        top = sorted(
            (c for c in report["drift"]["columns"] if c["drifted"]),
            key=lambda c: -(c["effect"]["value"] or 0) / c["effect"]["threshold"],
        )
        rows.append(
            {
                "month": month,
                "name": MONTH_NAMES[month - 1],
                "split": split.get(month, "-"),
                "rows": report["current"]["rows"],
                "drifted": drift["drifted"],
                "features": drift["features"],
                "share": drift["share"],
                "top": [c["column"] for c in top[:4]],
                "effects": {k: v[1] for k, v in effects.items()},
                "statistics": {k: v[0] for k, v in effects.items()},
                "flags": {k: v[2] for k, v in effects.items()},
                "score_psi": prediction["statistics"].get("psi") if prediction else None,
                "alerts": [a["kind"] for a in report["alerts"]],
            }
        )
    return Months(rows, reports, ref.input.label, tuple(prepare.train_months))


def _cell(value: float | None, flagged: bool) -> str:
    if value is None:
        return "–"
    text = f"{value:.2f}"
    return f"**{text}**" if flagged else text


def markdown(result: Months) -> str:
    """The month-by-month table."""
    rows = result.rows
    shown = [h for h in HIGHLIGHT if rows and h in rows[0]["effects"]]
    header = ["month", "split", "rows", "drifted", *shown, "score PSI", "alerts", "top drifted"]
    stats = {h: rows[0]["statistics"][h] for h in shown} if rows else {}
    lines = [
        f"Each month of 2013 against `{result.reference}` (training months "
        f"{', '.join(MONTH_NAMES[m - 1] for m in result.training_months)}). "
        "Effect sizes: "
        + ", ".join(f"{h} {stats[h].replace('_', '-')}" for h in shown)
        + "; **bold** = drifted.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for r in rows:
        cells = [
            f"{r['name']}",
            r["split"],
            str(r["rows"]),
            f"{r['drifted']}/{r['features']} ({r['share']:.0%})",
            *[_cell(r["effects"][h], r["flags"][h]) for h in shown],
            _cell(r["score_psi"], False),
            ", ".join(r["alerts"]) or "ok",
            ", ".join(r["top"]) or "–",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def chart_png(result: Months, policy_note: str = "") -> bytes:
    """A heat map: features x months, effect size over its threshold (1 = the threshold)."""

    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.figure import Figure

    rows = result.rows
    features = list(rows[0]["effects"]) if rows else []
    grid = np.array(
        [
            [(r["effects"][f] or 0.0) / _threshold(result, r["month"], f) for r in rows]
            for f in features
        ]
    )
    fig = Figure(figsize=(8.5, 0.32 * len(features) + 2.2))
    ax = fig.subplots()
    image = ax.imshow(
        np.clip(grid, 0, 10), aspect="auto", cmap="RdBu_r", norm=TwoSlopeNorm(1.0, 0.0, 10.0)
    )
    ax.set_xticks(range(len(rows)), [r["name"] for r in rows])
    ax.set_yticks(range(len(features)), features, fontsize=8)
    for i in range(len(features)):
        for j, r in enumerate(rows):
            if r["flags"][features[i]]:
                ax.text(j, i, "●", ha="center", va="center", fontsize=7, color="black")
    train = [j for j, r in enumerate(rows) if r["split"] == "train"]
    if train:
        ax.axvspan(min(train) - 0.5, max(train) + 0.5, ymin=1.0, ymax=1.02, color="grey")
    ax.set_title(
        "Drift of each feature by month of 2013, against the training months\n"
        "(effect size / threshold; ● drifted)" + policy_note,
        fontsize=9,
    )
    fig.colorbar(image, ax=ax, label="effect / threshold (clipped at 10)")
    fig.tight_layout()
    from mlratchet import figure_png

    return figure_png(fig, dpi=100)


def _threshold(result: Months, month: int, feature: str) -> float:
    report = result.reports[month]
    for c in report["drift"]["columns"]:
        if c["column"] == feature:
            return float(c["effect"]["threshold"])
    return 1.0


def write(result: Months, out: Path | str) -> list[Path]:
    """Write ``months.md``, ``months.json`` and ``drift-by-month.png`` into ``out``."""
    from mlratchet import write_bytes, write_json, write_text

    folder = Path(out)
    paths = [folder / "months.md", folder / "months.json", folder / "drift-by-month.png"]
    write_text(paths[0], markdown(result))
    write_json(paths[1], {"reference": result.reference, "months": result.rows})
    write_bytes(paths[2], chart_png(result))
    return paths
