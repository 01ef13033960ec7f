"""Realized performance: labels joined to rows, metrics as scikit-learn computes them, decay."""

from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlratchet.adapter import view
from mlratchet.errors import BadInputError, ParamsError
from mlratchet.monitor.realized import join_labels, labelled_rows, realized
from mlratchet.policy import RealizedPolicy, parse_policy


def rule(**extra: Any) -> RealizedPolicy:
    """A realized policy from YAML-like data (validated as ratchet.yaml is)."""
    data = {
        "label": "y",
        "key": ["id"],
        "threshold": 0.4,
        "metrics": {
            "roc_auc": {"validation": "val.roc_auc", "tolerance": 0.05},
            "log_loss": {"validation": "val.log_loss", "tolerance": 0.05},
            "brier": {"validation": "val.brier"},
            "accuracy": {"validation": "val.accuracy", "tolerance": 1.0},
            "precision": {"validation": "val.precision", "tolerance": 1.0},
            "recall": {"validation": "val.recall", "tolerance": 1.0},
            "f1": {"validation": "val.f1", "tolerance": 1.0},
            "average_precision": {"validation": "val.ap", "tolerance": 1.0},
        },
        **extra,
    }
    realized_rule = parse_policy({"monitor": {"realized": data}}, "r.yaml").monitor.realized
    assert realized_rule is not None
    return realized_rule


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    """Rows with two inputs, a key and a binary label that depends on them."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    y = (a + 0.5 * b + rng.normal(scale=1.0, size=n) > 0).astype(int)
    return pd.DataFrame({"id": np.arange(n), "a": a, "b": b, "y": y})


@pytest.fixture(scope="module")
def classifier() -> Any:
    """A fitted binary classifier pipeline."""
    train = frame(400, seed=1)
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(train[["a", "b"]], train["y"])


GOOD = {
    "val.roc_auc": 0.5,
    "val.log_loss": 1.0,
    "val.brier": 0.5,
    "val.accuracy": 0.5,
    "val.precision": 0.5,
    "val.recall": 0.5,
    "val.f1": 0.5,
    "val.ap": 0.5,
}


def test_metrics_equal_sklearn_on_the_joined_rows(classifier: Any) -> None:
    """Partial labels, labels with no row, null labels: the metrics are scikit-learn's on
    exactly the rows that have a label, and the counts say how many were judged."""
    truth = frame(130)  # labels for ids 20..129: 100..129 match no row
    batch = truth.loc[truth["id"] < 100].drop(columns="y")
    labels = truth.loc[truth["id"] >= 20, ["id", "y"]].astype({"y": "float64"})
    labels.loc[labels["id"] == 50, "y"] = np.nan  # not arrived yet
    joined = join_labels(batch, labels, key=("id",), label="y")
    assert joined.rows == {
        "batch": 100,
        "judged": 79,
        "unlabelled": 21,
        "labels": 110,
        "unmatched_labels": 30,
    }
    report = realized(joined, rule=rule(), view=view(classifier), validation=GOOD)
    rows = truth.loc[(truth["id"] >= 20) & (truth["id"] < 100) & (truth["id"] != 50)]
    y = rows["y"].to_numpy()
    proba = classifier.predict_proba(rows[["a", "b"]])[:, 1]
    flagged = (proba >= 0.4).astype(int)
    expected = {
        "roc_auc": metrics.roc_auc_score(y, proba),
        "log_loss": metrics.log_loss(y, proba),
        "brier": metrics.brier_score_loss(y, proba),
        "accuracy": metrics.accuracy_score(y, flagged),
        "precision": metrics.precision_score(y, flagged),
        "recall": metrics.recall_score(y, flagged),
        "f1": metrics.f1_score(y, flagged),
        "average_precision": metrics.average_precision_score(y, proba),
    }
    got = {f["name"]: f["realized"] for f in report["metrics"]}
    assert got == pytest.approx(expected, abs=1e-12)
    assert report["threshold"] == 0.4
    assert report["verdict"] == "ok", report["alerts"]


def test_decay_beyond_tolerance_alerts_and_within_does_not(classifier: Any) -> None:
    """A metric worse than validation by more than its tolerance is an alert; less is not."""
    data = frame(200)
    joined = labelled_rows(data, label="y")
    report = realized(joined, rule=rule(), view=view(classifier), validation=GOOD)
    auc = next(f for f in report["metrics"] if f["name"] == "roc_auc")
    assert auc["verdict"] == "ok"
    high = {**GOOD, "val.roc_auc": float(auc["realized"] or 0) + 0.06}
    decayed = realized(joined, rule=rule(), view=view(classifier), validation=high)
    assert decayed["verdict"] == "alert"
    (alert,) = decayed["alerts"]
    assert alert["kind"] == "realized_decay"
    assert alert["message"].startswith("roc_auc ")
    row = next(f for f in decayed["metrics"] if f["name"] == "roc_auc")
    assert row["decay"] == pytest.approx(0.06)


def test_no_joined_row_cannot_judge_and_fails_closed(classifier: Any) -> None:
    """Labels that match no row: nothing judged, an alert says so (never a silent ok)."""
    batch = frame(50).drop(columns="y")
    labels = pd.DataFrame({"id": [1000, 1001], "y": [0, 1]})
    joined = join_labels(batch, labels, key=("id",), label="y")
    assert joined.rows["judged"] == 0
    assert joined.rows["unmatched_labels"] == 2
    report = realized(joined, rule=rule(), view=view(classifier), validation=GOOD)
    assert report["verdict"] == "alert"
    assert [a["kind"] for a in report["alerts"]] == ["realized_unjudged"]
    assert "no labelled row" in report["alerts"][0]["message"]


def test_missing_validation_value_or_undefined_metric_is_unjudged(classifier: Any) -> None:
    """A validation key the commit does not record, or ROC-AUC on one class, cannot be judged:
    an alert, not an ok."""
    data = frame(100)
    one_class = data.assign(y=1)
    report = realized(
        labelled_rows(one_class, label="y"),
        rule=rule(),
        view=view(classifier),
        validation={k: v for k, v in GOOD.items() if k != "val.brier"},
    )
    reasons = {f["name"]: f["reason"] for f in report["metrics"] if f["verdict"] == "unjudged"}
    assert "one class" in str(reasons["roc_auc"])
    assert "val.brier" in str(reasons["brier"])
    assert report["verdict"] == "alert"


def test_cost_matrix_against_the_validation_confusion_counts(classifier: Any) -> None:
    """The cost per row is the matrix on the confusion at the threshold; the validation's comes
    from the recorded counts; more than the tolerance above it is an alert."""
    data = frame(300)
    cost = {"tp": 1.0, "fp": 5.0, "fn": 40.0, "tn": 0.0, "validation": "val.confusion"}
    counts = {"val.confusion.tp": 10, "val.confusion.fp": 0, "val.confusion.fn": 0}
    validation = {**GOOD, **counts, "val.confusion.tn": 90}
    report = realized(
        labelled_rows(data, label="y"),
        rule=rule(cost={**cost, "tolerance": 100.0}),
        view=view(classifier),
        validation=validation,
    )
    (figure,) = report["business"]
    proba = classifier.predict_proba(data[["a", "b"]])[:, 1]
    _tn, fp, fn, tp = metrics.confusion_matrix(data["y"], proba >= 0.4).ravel()
    assert figure["realized"] == pytest.approx((tp * 1 + fp * 5 + fn * 40) / 300)
    assert figure["validation"] == pytest.approx(0.1)
    assert figure["verdict"] == "ok"
    strict = realized(
        labelled_rows(data, label="y"),
        rule=rule(cost=cost),
        view=view(classifier),
        validation=validation,
    )
    assert strict["business"][0]["verdict"] == "decayed"
    assert "cost_per_row" in strict["alerts"][0]["message"]


def test_business_hook_is_reported(classifier: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A project's ``module:function`` gets labels, scores and decisions; its figures are
    reported."""
    module = types.ModuleType("realized_hook_test")
    module.figures = lambda y, scores, predicted: {"flagged": float(predicted.sum())}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "realized_hook_test", module)
    data = frame(100)
    report = realized(
        labelled_rows(data, label="y"),
        rule=rule(business="realized_hook_test:figures"),
        view=view(classifier),
        validation=GOOD,
    )
    (figure,) = report["business"]
    flagged = (classifier.predict_proba(data[["a", "b"]])[:, 1] >= 0.4).sum()
    assert figure == {
        "name": "flagged",
        "realized": float(flagged),
        "validation": None,
        "validation_key": None,
        "direction": "reported",
        "tolerance": None,
        "decay": None,
        "verdict": "reported",
        "reason": None,
    }


def test_served_logs_with_a_score_column_join_the_same_way(classifier: Any) -> None:
    """A table of predictions (a score column, as served logs hold) joined to labels: the
    metrics use the logged scores, not a re-scoring."""
    data = frame(80)
    logs = pd.DataFrame({"id": data["id"], "logged": np.linspace(0.01, 0.99, 80)})
    labels = data[["id", "y"]].iloc[::-1]  # another order: the join is by key
    joined = join_labels(logs, labels, key=("id",), label="y")
    report = realized(
        joined,
        rule=rule(score="logged", metrics={"roc_auc": {"validation": "val.roc_auc"}}),
        view=view(classifier),
        validation=GOOD,
    )
    assert report["score"] == "logged"
    (auc,) = report["metrics"]
    assert auc["realized"] == pytest.approx(metrics.roc_auc_score(data["y"], logs["logged"]))


def test_regressor_metrics_equal_sklearn() -> None:
    """rmse, mae and r2 of a regressor on labelled rows are scikit-learn's."""
    data = frame(120)
    model = LinearRegression().fit(data[["a", "b"]], data["a"] * 2 + data["b"])
    target = data.assign(y=data["a"] * 2 + data["b"] + np.sin(data["id"]))
    spec = {
        name: {"validation": f"val.{name}", "tolerance": 100.0} for name in ("rmse", "mae", "r2")
    }
    report = realized(
        labelled_rows(target, label="y"),
        rule=rule(metrics=spec),
        view=view(model),
        validation={"val.rmse": 1.0, "val.mae": 1.0, "val.r2": 0.5},
    )
    predicted = model.predict(target[["a", "b"]])
    got = {f["name"]: f["realized"] for f in report["metrics"]}
    assert got == pytest.approx(
        {
            "rmse": metrics.mean_squared_error(target["y"], predicted) ** 0.5,
            "mae": metrics.mean_absolute_error(target["y"], predicted),
            "r2": metrics.r2_score(target["y"], predicted),
        }
    )


def test_a_key_naming_two_rows_is_bad_input() -> None:
    """One row per key on each side: a repeated key is bad input naming it."""
    batch = pd.DataFrame({"id": [1, 1, 2], "a": [0.0, 1.0, 2.0]})
    labels = pd.DataFrame({"id": [1, 2], "y": [0, 1]})
    with pytest.raises(BadInputError, match=r"the batch: key \{'id': 1\} names more than one"):
        join_labels(batch, labels, key=("id",), label="y")
    with pytest.raises(BadInputError, match="the labels has no column 'id'"):
        join_labels(batch.iloc[1:], labels.rename(columns={"id": "k"}), key=("id",), label="y")


def test_policy_rejects_unknown_metrics_and_an_empty_rule() -> None:
    """An unknown metric name, or a rule that judges nothing, is named in ratchet.yaml."""
    with pytest.raises(ParamsError, match=r"monitor.realized.metrics.auc: unknown metric"):
        parse_policy(
            {"monitor": {"realized": {"label": "y", "metrics": {"auc": {"validation": "k"}}}}},
            "r.yaml",
        )
    with pytest.raises(ParamsError, match="declare at least one metric"):
        parse_policy({"monitor": {"realized": {"label": "y"}}}, "r.yaml")
