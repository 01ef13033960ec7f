"""ratchet's champion/challenger hook: the evaluate stage's own code, for any model.

``ratchet.yaml`` names :func:`champion_metrics` under ``registry.flight-delay.evaluate``; when
a candidate is judged against the version in a stage, ratchet scores both models with it on the
candidate's rows (:data:`EVALUATION_FILES` at the candidate's commit). This module is no stage's
dependency, so editing it does not make ``dvc.lock`` stale; it calls :mod:`flightdelay.evaluation`,
the code path of the evaluate stage, and nothing else computes a metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flightdelay import evaluation

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

#: What :func:`champion_metrics` reads: ratchet.yaml lists them under ``evaluation_data``.
EVALUATION_FILES = (
    "data/interim/val.parquet",
    "data/interim/test.parquet",
    "data/processed/train.parquet",
    "data/processed/val.parquet",
    "data/processed/test.parquet",
    "models/features.skops",
    "params.yaml",
)


def flat(record: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """The numbers of a nested record under dotted keys, as DVC flattens metrics files."""
    out: dict[str, float] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flat(value, f"{name}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def champion_metrics(model: Pipeline, files: Mapping[str, Path]) -> dict[str, float]:
    """The evaluate stage's metrics for ``model`` on the candidate's rows, keyed as DVC flattens
    metrics/metrics.json (``skill.val.roc_auc_lift``, ``model.test.log_loss``...).

    ``files`` maps each of :data:`EVALUATION_FILES` to its copy at the candidate's commit. The
    baselines are fitted on the candidate's training features, so the holder and the candidate
    are judged against the same baselines on the same rows.
    """
    from flightdelay import features
    from flightdelay.params import load_params
    from mlratchet import load_model, read_table

    params = load_params(files["params.yaml"])
    ev = params.evaluate
    mask = features.categorical_mask(load_model(files["models/features.skops"]))
    train = read_table(files["data/processed/train.parquet"])
    baselines = evaluation.fit_baselines(train, mask, ev, seed=params.train.seed)
    scores = {
        split: evaluation.score(
            model,
            baselines,
            read_table(files[f"data/interim/{split}.parquet"]),
            read_table(files[f"data/processed/{split}.parquet"]),
            ev.n_threads,
        )
        for split in evaluation.SPLITS
    }
    return flat(evaluation.metrics_record(scores, ev.threshold))
