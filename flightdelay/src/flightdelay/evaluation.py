"""Stage ``evaluate``: honest metrics for the model and two baselines, and curve data for plots.

Metrics per split (``val``, ``test``) and per scorer: ROC-AUC, average precision, log loss,
Brier score, and accuracy, precision, recall and F1 at the threshold from params, plus the
confusion counts. The scorers are the model (run through its own pipeline on prepared rows, the
serving path), a majority-class baseline (it predicts the training prior) and a logistic
regression on the same features. If the model does not beat both, it does not earn its keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flightdelay.flights import LABEL
from flightdelay.params import EvaluateParams
from mlratchet import limited_threads

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from sklearn.pipeline import Pipeline

SPLITS = ("val", "test")
SCORERS = ("model", "majority", "logreg")
_DIGITS = 6


@dataclass(frozen=True)
class Scores:
    """The label and each scorer's probability of ``late`` for one split."""

    y: np.ndarray
    proba: dict[str, np.ndarray]


def fit_baselines(
    train: pd.DataFrame, categorical: list[bool], params: EvaluateParams, seed: int
) -> dict[str, Pipeline]:
    """The majority-class and logistic-regression baselines, fitted on processed train features."""
    from sklearn.compose import ColumnTransformer
    from sklearn.dummy import DummyClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    x = train.drop(columns=[LABEL])
    y = train[LABEL].to_numpy()
    numeric = [c for c, is_cat in zip(x.columns, categorical, strict=True) if not is_cat]
    codes = [c for c, is_cat in zip(x.columns, categorical, strict=True) if is_cat]
    logreg = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        (
                            "num",
                            make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                            numeric,
                        ),
                        (
                            "cat",
                            make_pipeline(
                                SimpleImputer(strategy="constant", fill_value=-1),
                                OneHotEncoder(handle_unknown="ignore"),
                            ),
                            codes,
                        ),
                    ]
                ),
            ),
            ("clf", LogisticRegression(C=params.logreg_c, max_iter=1000, random_state=seed)),
        ]
    )
    with limited_threads(params.n_threads):
        majority = Pipeline([("clf", DummyClassifier(strategy="prior"))]).fit(x, y)
        logreg.fit(x, y)
    return {"majority": majority, "logreg": logreg}


def score(
    model: Pipeline,
    baselines: dict[str, Pipeline],
    prepared: pd.DataFrame,
    processed: pd.DataFrame,
    n_threads: int,
) -> Scores:
    """Probabilities of ``late`` for one split from the model and each baseline."""
    x = processed.drop(columns=[LABEL])
    with limited_threads(n_threads):
        proba = {"model": model.predict_proba(prepared)[:, 1]}
        for name, baseline in baselines.items():
            proba[name] = baseline.predict_proba(x)[:, 1]
    return Scores(y=prepared[LABEL].to_numpy(), proba=proba)


def _round(value: float) -> float:
    return round(float(value), _DIGITS)


def classification_metrics(y: np.ndarray, proba: np.ndarray, threshold: float) -> dict[str, Any]:
    """Ranking, probability and thresholded metrics for one scorer on one split."""
    import numpy as np
    from sklearn import metrics

    predicted = (proba >= threshold).astype(np.int8)
    tn, fp, fn, tp = metrics.confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    return {
        "roc_auc": _round(metrics.roc_auc_score(y, proba)),
        "average_precision": _round(metrics.average_precision_score(y, proba)),
        "log_loss": _round(metrics.log_loss(y, proba, labels=[0, 1])),
        "brier": _round(metrics.brier_score_loss(y, proba)),
        "accuracy": _round(metrics.accuracy_score(y, predicted)),
        "precision": _round(metrics.precision_score(y, predicted, zero_division=0)),
        "recall": _round(metrics.recall_score(y, predicted, zero_division=0)),
        "f1": _round(metrics.f1_score(y, predicted, zero_division=0)),
        "confusion": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
    }


def metrics_record(scores: dict[str, Scores], threshold: float) -> dict[str, Any]:
    """The ``metrics/metrics.json`` record: scorer -> split -> metric."""
    record: dict[str, Any] = {
        name: {
            split: classification_metrics(s.y, s.proba[name], threshold)
            for split, s in scores.items()
        }
        for name in SCORERS
    }
    record["data"] = {
        split: {"rows": len(s.y), "late_rate": _round(s.y.mean())} for split, s in scores.items()
    }
    record["skill"] = {split: skill(record, split) for split in scores}
    return record


def skill(record: dict[str, Any], split: str) -> dict[str, float]:
    """The model against the baselines on the same rows: what it earns, whatever the base rate.

    ``roc_auc_lift``: model ROC-AUC minus the best baseline's. ``log_loss_skill`` and
    ``brier_skill``: 1 - model / majority-class (the prior), as forecasters score against
    climatology. Absolute log loss and Brier move with the late rate of the months in the
    split (15 % in September, 30 % in July); these do not, so promotion gates that must hold
    as the data window moves are written on them.
    """
    model, majority = record["model"][split], record["majority"][split]
    best_baseline = max(record[name][split]["roc_auc"] for name in SCORERS if name != "model")
    return {
        "roc_auc_lift": _round(model["roc_auc"] - best_baseline),
        "log_loss_skill": _round(1 - model["log_loss"] / majority["log_loss"]),
        "brier_skill": _round(1 - model["brier"] / majority["brier"]),
    }


def summary_markdown(record: dict[str, Any]) -> str:
    """A short Markdown table of the headline metrics: the model against the baselines."""
    keys = ("roc_auc", "average_precision", "log_loss", "brier", "f1")
    lines = [
        "| split | scorer | " + " | ".join(keys) + " |",
        "|---|---|" + "---:|" * len(keys),
    ]
    for split in SPLITS:
        for scorer in SCORERS:
            row = record[scorer][split]
            lines.append(
                f"| {split} | {scorer} | " + " | ".join(f"{row[k]:.4f}" for k in keys) + " |"
            )
    for split in SPLITS:
        s = record["skill"][split]
        lines.append(
            f"\n{split}: ROC-AUC {s['roc_auc_lift']:+.4f} over the best baseline; log-loss skill "
            f"{s['log_loss_skill']:.3f} and Brier skill {s['brier_skill']:.3f} against the prior."
        )
    return "\n".join(lines) + "\n"


def _pick(n: int, k: int) -> np.ndarray:
    import numpy as np

    return np.unique(np.linspace(0, n - 1, num=min(k, n)).round().astype(int))


def curves(scores: Scores, params: EvaluateParams) -> dict[str, dict[str, list[dict[str, float]]]]:
    """ROC, precision-recall and calibration points: curve -> scorer -> rows (for ``dvc plots``).

    Each curve is thinned to at most ``curve_points`` points, evenly spaced along it.
    """
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import precision_recall_curve, roc_curve

    out: dict[str, dict[str, list[dict[str, float]]]] = {
        "roc": {},
        "precision_recall": {},
        "calibration": {},
    }
    for name in SCORERS:
        proba = scores.proba[name]
        fpr, tpr, _ = roc_curve(scores.y, proba)
        out["roc"][name] = [
            {"fpr": _round(fpr[i]), "tpr": _round(tpr[i])}
            for i in _pick(len(fpr), params.curve_points)
        ]
        precision, recall, _ = precision_recall_curve(scores.y, proba)
        out["precision_recall"][name] = [
            {"recall": _round(recall[i]), "precision": _round(precision[i])}
            for i in _pick(len(precision), params.curve_points)
        ]
        observed, predicted = calibration_curve(
            scores.y, proba, n_bins=params.calibration_bins, strategy=params.calibration_strategy
        )
        out["calibration"][name] = [
            {"predicted": _round(p), "observed": _round(o)}
            for o, p in zip(observed, predicted, strict=True)
        ]
    return out


def confusion_rows(scores: Scores, threshold: float) -> pd.DataFrame:
    """One row per example, ``actual`` and ``predicted``: the data of DVC's confusion template."""
    import pandas as pd

    predicted = (scores.proba["model"] >= threshold).astype("int8")
    return pd.DataFrame({"actual": scores.y.astype("int8"), "predicted": predicted})
