"""Stage evaluate: the model against two baselines on validation and test.

Writes metrics/metrics.json and metrics/summary.md (in git), curve data under metrics/plots/
(in git) and the per-example confusion data and PNG charts (DVC-cached).
"""

from pathlib import Path

from flightdelay import evaluation, features, plots
from flightdelay.params import load_params
from mlratchet import load_model, read_table, run_stage, write_json, write_text

PLOTS = Path("metrics/plots")


def main() -> None:
    params = load_params()
    ev = params.evaluate
    model = load_model("models/model.skops")
    mask = features.categorical_mask(model.named_steps["features"])
    train = read_table("data/processed/train.parquet")
    baselines = evaluation.fit_baselines(train, mask, ev, seed=params.train.seed)
    scores = {
        split: evaluation.score(
            model,
            baselines,
            read_table(f"data/interim/{split}.parquet"),
            read_table(f"data/processed/{split}.parquet"),
            ev.n_threads,
        )
        for split in evaluation.SPLITS
    }
    record = evaluation.metrics_record(scores, ev.threshold)
    write_json("metrics/metrics.json", record)
    write_text("metrics/summary.md", evaluation.summary_markdown(record))
    for curve, series in evaluation.curves(scores["test"], ev).items():
        for scorer, rows in series.items():
            write_json(PLOTS / curve / f"{scorer}.json", rows)
        plots.curve_png(curve, series, PLOTS / f"{curve}.png")
    confusion = evaluation.confusion_rows(scores["test"], ev.threshold)
    write_text(PLOTS / "confusion.csv", confusion.to_csv(index=False, lineterminator="\n"))
    plots.confusion_png(record["model"]["test"]["confusion"], PLOTS / "confusion.png", ev.threshold)


if __name__ == "__main__":
    run_stage("evaluate", main)
