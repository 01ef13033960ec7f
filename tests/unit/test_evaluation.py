"""Stage evaluate: the metrics, the baselines and the curve data."""

from __future__ import annotations

import numpy as np
import pytest

from flightdelay import evaluation
from flightdelay.params import load_params
from helpers import ROOT

PARAMS = load_params(ROOT / "params.yaml").evaluate


def test_metrics_of_a_perfect_ranker() -> None:
    """A perfect scorer gets ROC-AUC 1 and the confusion counts add up."""
    y = np.array([0, 0, 1, 1, 0, 1])
    proba = np.array([0.1, 0.2, 0.9, 0.8, 0.05, 0.7])
    m = evaluation.classification_metrics(y, proba, 0.5)
    assert m["roc_auc"] == 1.0
    assert m["accuracy"] == 1.0
    assert m["confusion"] == {"tn": 3, "fp": 0, "fn": 0, "tp": 3}
    assert m["log_loss"] == pytest.approx(
        -np.mean(np.log([0.9, 0.8, 0.9, 0.8, 0.95, 0.7])), abs=1e-6
    )


def test_threshold_decides_the_thresholded_metrics() -> None:
    """Accuracy and F1 are taken at the threshold from params."""
    y = np.array([0, 1, 1])
    proba = np.array([0.2, 0.25, 0.6])
    low = evaluation.classification_metrics(y, proba, 0.2)
    high = evaluation.classification_metrics(y, proba, 0.5)
    assert low["recall"] == 1.0
    assert high["recall"] == 0.5


def test_majority_baseline_has_no_skill() -> None:
    """The majority baseline predicts the prior: ROC-AUC 0.5 and no positive flags."""
    import pandas as pd

    rng = np.random.default_rng(0)
    train = pd.DataFrame(
        {
            "a": rng.normal(size=200),
            "c": rng.integers(0, 3, 200).astype(float),
            "late": rng.integers(0, 2, 200),
        }
    )
    baselines = evaluation.fit_baselines(train, [False, True], PARAMS, seed=0)
    x = train.drop(columns=["late"])
    proba = baselines["majority"].predict_proba(x)[:, 1]
    m = evaluation.classification_metrics(train["late"].to_numpy(), proba, 0.9)
    assert m["roc_auc"] == 0.5
    assert m["confusion"]["tp"] + m["confusion"]["fp"] == 0
    assert baselines["logreg"].predict_proba(x).shape == (200, 2)


def test_curves_are_thinned_and_bounded() -> None:
    """Curve data has at most curve_points points per scorer, all within [0, 1]."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 5000)
    scores = evaluation.Scores(y=y, proba={name: rng.random(5000) for name in evaluation.SCORERS})
    curves = evaluation.curves(scores, PARAMS)
    for curve, series in curves.items():
        assert set(series) == set(evaluation.SCORERS)
        for rows in series.values():
            assert 0 < len(rows) <= PARAMS.curve_points, curve
            assert all(0 <= v <= 1 for row in rows for v in row.values())


def test_skill_is_relative_to_the_baselines_on_the_same_rows() -> None:
    """Skill compares the model with the best baseline and the prior, split by split."""
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 4000)
    signal = y * 0.3 + rng.random(4000) * 0.7
    scores = evaluation.Scores(
        y=y,
        proba={"model": signal, "majority": np.full(4000, y.mean()), "logreg": rng.random(4000)},
    )
    record = evaluation.metrics_record({"val": scores}, 0.5)
    skill = record["skill"]["val"]
    assert skill["roc_auc_lift"] == pytest.approx(
        record["model"]["val"]["roc_auc"] - max(record["logreg"]["val"]["roc_auc"], 0.5), abs=2e-6
    )
    assert skill["log_loss_skill"] == pytest.approx(
        1 - record["model"]["val"]["log_loss"] / record["majority"]["val"]["log_loss"], abs=1e-5
    )
    # The majority baseline scored against itself has no skill.
    same = evaluation.Scores(
        y=y, proba={name: np.full(4000, y.mean()) for name in evaluation.SCORERS}
    )
    assert evaluation.metrics_record({"val": same}, 0.5)["skill"]["val"] == {
        "roc_auc_lift": 0.0,
        "log_loss_skill": 0.0,
        "brier_skill": 0.0,
    }
