"""Realized performance: how the production model scored on rows whose labels are now known.

Drift watches the inputs; this watches the outcome. The policy (``monitor.realized``) names the
label column and, for labels that arrive later, the key columns that join them to the rows
they belong to. The rows are either a labelled batch, or a table of predictions (or inputs)
joined to a table of labels on the key: :func:`join_labels`, written for any two tables, so
that served prediction logs plug in the same way.

On the joined rows the model's scores come from :mod:`mlratchet.adapter` (the one place scores
come from), or from the batch's own score column when the policy names one (prediction logs).
Each declared metric is computed with scikit-learn and set next to the value the model's commit
recorded at validation (``model.val.roc_auc``); a decay beyond the metric's tolerance is an
alert, as drift is (exit 1). A cost matrix at the threshold gives a business figure (its cost
per row against the validation's, from the recorded confusion counts), and a project's hook
may add its own figures (reported).

What it cannot judge fails closed (an alert ``realized_unjudged``): no labelled row at all, a
metric undefined on the rows (ROC-AUC with one class), a validation value the commit does not
record. Partial labels are judged on the rows that have one, and the report says how many;
labels whose key matches no row are counted and reported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from mlratchet.errors import BadInputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from mlratchet.adapter import ModelView
    from mlratchet.monitor.model import ModelContext
    from mlratchet.monitor.run import Alert, MonitorResult
    from mlratchet.policy import CostMatrix, RealizedPolicy

Verdict = Literal["ok", "decayed", "unjudged", "reported"]

#: Metrics that are better higher; the others (log_loss, brier, rmse, mae) are better lower.
HIGHER = frozenset(
    {"roc_auc", "average_precision", "accuracy", "precision", "recall", "f1", "f1_macro", "r2"}
)
_BINARY = frozenset({"roc_auc", "average_precision", "log_loss", "brier", "precision", "recall"})
_BINARY |= {"f1"}
_CLASSIFIER = _BINARY | {"accuracy", "f1_macro"}
_REGRESSOR = frozenset({"rmse", "mae", "r2"})


class RowsJSON(TypedDict):
    """How many rows were judged, and what could not be."""

    batch: int  # rows of the batch (predictions)
    judged: int  # rows with a label: the metrics are computed on these
    unlabelled: int  # rows of the batch with no label (yet)
    labels: int | None  # rows of the labels file (None: labels in the batch)
    unmatched_labels: int  # labels whose key matches no row of the batch


class FigureJSON(TypedDict):
    """A metric (or business figure) on the judged rows next to its validation value."""

    name: str
    realized: float | None
    validation: float | None
    validation_key: str | None
    direction: str
    tolerance: float | None
    decay: float | None  # how much worse than validation (positive: worse)
    verdict: Verdict
    reason: str | None


class RealizedReport(TypedDict):
    """``realized`` in the monitor's report."""

    verdict: str
    model: str
    label: str
    key: list[str]
    score: str  # "model" or the batch column the scores came from
    threshold: float | None  # binary classifiers
    rows: RowsJSON
    metrics: list[FigureJSON]
    business: list[FigureJSON]
    alerts: list[Alert]


@dataclass(frozen=True)
class Joined:
    """The rows that have a label, and the counts behind them."""

    frame: pd.DataFrame  # the batch's rows with a label, in the batch's order
    rows: RowsJSON


def _check_columns(frame: pd.DataFrame, names: tuple[str, ...], what: str, hint: str) -> None:
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise BadInputError(f"{what} has no column {missing[0]!r} ({hint})")


def _unique(frame: pd.DataFrame, key: list[str], what: str) -> None:
    repeated = frame.duplicated(subset=key, keep=False)
    if repeated.any():
        first = frame.loc[repeated, key].iloc[0].tolist()
        raise BadInputError(
            f"{what}: key {dict(zip(key, first, strict=True))} names more than one row "
            f"({int(repeated.sum())} rows share a key); monitor.realized.key must name one row"
        )


def labelled_rows(batch: pd.DataFrame, *, label: str) -> Joined:
    """A labelled batch: its rows with a label (a null label is one that has not arrived)."""
    _check_columns(batch, (label,), "the batch", "monitor.realized.label")
    has = batch[label].notna().to_numpy()
    frame = batch.loc[has].reset_index(drop=True)
    rows: RowsJSON = {
        "batch": len(batch),
        "judged": len(frame),
        "unlabelled": len(batch) - len(frame),
        "labels": None,
        "unmatched_labels": 0,
    }
    return Joined(frame, rows)


def join_labels(
    predictions: pd.DataFrame, labels: pd.DataFrame, *, key: tuple[str, ...], label: str
) -> Joined:
    """Rows of ``predictions`` (a batch of inputs, or served prediction logs) with the label of
    ``labels`` whose ``key`` columns are equal; one row per key on each side (bad input else).

    Labels with a null value have not arrived; labels whose key matches no row are counted.
    """
    import pandas as pd

    if not key:
        raise BadInputError(
            "labels in a separate file need monitor.realized.key: the columns that join them "
            "to the batch's rows"
        )
    hint = "monitor.realized.key / label"
    _check_columns(predictions, key, "the batch", hint)
    _check_columns(labels, (*key, label), "the labels", hint)
    names = list(key)
    _unique(predictions, names, "the batch")
    known = labels.loc[labels[label].notna(), [*names, label]]
    _unique(known, names, "the labels")
    left = predictions.drop(columns=[label]) if label in predictions.columns else predictions
    try:
        merged = left.merge(known, on=names, how="left", indicator=True)
        matched = known.merge(left[names], on=names, how="left", indicator=True)
    except (ValueError, TypeError) as exc:
        raise BadInputError(
            f"the key columns {names} cannot be joined between batch and labels ({exc})"
        ) from None
    both = (merged.pop("_merge") == "both").to_numpy()
    frame = pd.DataFrame(merged.loc[both]).reset_index(drop=True)
    rows: RowsJSON = {
        "batch": len(predictions),
        "judged": len(frame),
        "unlabelled": len(predictions) - len(frame),
        "labels": len(labels),
        "unmatched_labels": int((matched["_merge"] == "left_only").sum()),
    }
    return Joined(frame, rows)


@dataclass(frozen=True)
class _Scored:
    y: np.ndarray  # the labels (binary: 1 for the positive class)
    scores: np.ndarray
    predicted: np.ndarray  # the decision: a class (classifier) or the value (regressor)
    kind: str  # "binary", "multiclass" or "regressor"


def _scored(frame: pd.DataFrame, rule: RealizedPolicy, view: ModelView) -> _Scored:
    import numpy as np

    y = frame[rule.label].to_numpy()
    if rule.score is not None and rule.score in frame.columns:
        scores = frame[rule.score].to_numpy(dtype=np.float64)
        index = None
    else:
        _check_columns(frame, view.inputs, "the batch", "the model reads it")
        scores, index = view.score(view.features(frame))
    if view.kind == "regressor":
        return _Scored(y.astype(np.float64), scores, scores, "regressor")
    classes = getattr(view.final, "classes_", None)
    if classes is not None and len(classes) == 2:
        positive = (y == classes[1]).astype(np.int64)
        return _Scored(positive, scores, (scores >= rule.threshold).astype(np.int64), "binary")
    if index is None:
        raise BadInputError(
            f"monitor.realized.score {rule.score!r}: a multiclass model's decision is not its "
            "score; let the model score the rows (drop score:)"
        )
    if classes is None:
        raise BadInputError("the model has no classes_: cannot tell which class it predicted")
    return _Scored(y, scores, np.asarray(classes)[index.astype(np.int64)], "multiclass")


def metric(name: str, scored: _Scored) -> tuple[float | None, str | None]:
    """One metric on the judged rows (scikit-learn), or None and why it is undefined."""
    import numpy as np
    from sklearn import metrics

    if scored.kind == "regressor" and name not in _REGRESSOR:
        return None, f"{name} is not a regression metric"
    if scored.kind != "regressor" and name not in _CLASSIFIER:
        return None, f"{name} is not a classification metric"
    if scored.kind == "multiclass" and name in _BINARY:
        return None, f"{name} needs a binary classifier"
    y, s, p = scored.y, scored.scores, scored.predicted
    ranked = scored.kind == "binary" and name in ("roc_auc", "average_precision")
    if ranked and len(np.unique(y)) < 2:
        return None, "undefined: the labelled rows hold one class only"
    functions: dict[str, Any] = {
        "roc_auc": lambda: metrics.roc_auc_score(y, s),
        "average_precision": lambda: metrics.average_precision_score(y, s),
        "log_loss": lambda: metrics.log_loss(y, s, labels=[0, 1]),
        "brier": lambda: metrics.brier_score_loss(y, s),
        "accuracy": lambda: metrics.accuracy_score(y, p),
        "precision": lambda: metrics.precision_score(y, p, zero_division=0),
        "recall": lambda: metrics.recall_score(y, p, zero_division=0),
        "f1": lambda: metrics.f1_score(y, p, zero_division=0),
        "f1_macro": lambda: metrics.f1_score(y, p, average="macro", zero_division=0),
        "rmse": lambda: metrics.mean_squared_error(y, p) ** 0.5,
        "mae": lambda: metrics.mean_absolute_error(y, p),
        "r2": lambda: metrics.r2_score(y, p),
    }
    value = float(functions[name]())
    return (value, None) if math.isfinite(value) else (None, f"undefined: {value}")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _judge(
    name: str,
    realized: float | None,
    why: str | None,
    *,
    validation_key: str | None,
    validation: Mapping[str, Any] | None,
    tolerance: float,
    higher: bool,
) -> FigureJSON:
    figure: FigureJSON = {
        "name": name,
        "realized": realized,
        "validation": None,
        "validation_key": validation_key,
        "direction": "higher" if higher else "lower",
        "tolerance": tolerance,
        "decay": None,
        "verdict": "unjudged",
        "reason": why,
    }
    if realized is None:
        return figure
    if validation is None:
        figure["reason"] = "the validation metrics of the model's commit could not be read"
        return figure
    recorded = _number(validation.get(str(validation_key)))
    if recorded is None:
        figure["reason"] = f"the model's commit records no number under {validation_key!r}"
        return figure
    decay = (recorded - realized) if higher else (realized - recorded)
    figure["validation"], figure["decay"], figure["reason"] = recorded, decay, None
    figure["verdict"] = "decayed" if decay > tolerance + 1e-12 else "ok"
    return figure


def _confusion(y: np.ndarray, predicted: np.ndarray) -> dict[str, int]:
    return {
        "tp": int(((y == 1) & (predicted == 1)).sum()),
        "fp": int(((y == 0) & (predicted == 1)).sum()),
        "fn": int(((y == 1) & (predicted == 0)).sum()),
        "tn": int(((y == 0) & (predicted == 0)).sum()),
    }


def cost_per_row(cost: CostMatrix, counts: Mapping[str, float]) -> float | None:
    """The cost matrix applied to confusion counts, divided by their total (None: no rows)."""
    total = sum(counts[k] for k in ("tp", "fp", "fn", "tn"))
    if total <= 0:
        return None
    spent = sum(getattr(cost, k) * counts[k] for k in ("tp", "fp", "fn", "tn"))
    return float(spent / total)


def _cost_figure(
    cost: CostMatrix, scored: _Scored, validation: Mapping[str, Any] | None
) -> FigureJSON:
    if scored.kind != "binary":
        return _judge(
            "cost_per_row",
            None,
            "a cost matrix needs a binary classifier",
            validation_key=cost.validation,
            validation=validation,
            tolerance=cost.tolerance,
            higher=False,
        )
    realized = cost_per_row(cost, _confusion(scored.y, scored.predicted))
    figure = _judge(
        "cost_per_row",
        realized,
        None if realized is not None else "no row to cost",
        validation_key=None,
        validation=None,
        tolerance=cost.tolerance,
        higher=False,
    )
    if realized is None or cost.validation is None:
        if realized is not None:
            figure["verdict"] = "reported"
            figure["reason"] = "no validation confusion counts named (cost.validation)"
        return figure
    counts = {k: _number((validation or {}).get(f"{cost.validation}.{k}")) for k in _KEYS}
    if validation is None or any(v is None for v in counts.values()):
        figure["reason"] = (
            f"the model's commit records no confusion counts under {cost.validation}.tp/fp/fn/tn"
        )
        return figure
    recorded = cost_per_row(cost, {k: float(v or 0.0) for k, v in counts.items()})
    if recorded is None:
        figure["reason"] = f"the confusion counts under {cost.validation} add up to 0"
        return figure
    decay = realized - recorded
    figure["validation"], figure["validation_key"] = recorded, cost.validation
    figure["decay"], figure["reason"] = decay, None
    figure["verdict"] = "decayed" if decay > cost.tolerance + 1e-12 else "ok"
    return figure


_KEYS = ("tp", "fp", "fn", "tn")


def _business(spec: str, scored: _Scored) -> list[FigureJSON]:
    from mlratchet.adapter import load_hook

    values = load_hook(spec, "monitor.realized.business")(scored.y, scored.scores, scored.predicted)
    if not isinstance(values, Mapping):
        raise BadInputError(f"{spec} returned {type(values).__name__}, not {{name: value}}")
    out: list[FigureJSON] = []
    for name, value in values.items():
        number = _number(value)
        out.append(
            {
                "name": str(name),
                "realized": number,
                "validation": None,
                "validation_key": None,
                "direction": "reported",
                "tolerance": None,
                "decay": None,
                "verdict": "reported" if number is not None else "unjudged",
                "reason": None if number is not None else f"not a finite number: {value!r}",
            }
        )
    return out


def _alerts(report: RealizedReport) -> list[Alert]:
    alerts: list[Alert] = []
    judged = report["rows"]["judged"]
    if judged == 0:
        rows = report["rows"]
        alerts.append(
            {
                "kind": "realized_unjudged",
                "message": f"no labelled row to judge ({rows['batch']} rows, "
                f"{rows['unmatched_labels']} labels matching none): realized performance "
                "cannot be judged",
            }
        )
        return alerts
    for figure in report["metrics"] + report["business"]:
        name = figure["name"]
        if figure["verdict"] == "decayed":
            alerts.append(
                {
                    "kind": "realized_decay",
                    "message": f"{name} {figure['realized']:.6g} on {judged} labelled rows vs "
                    f"{figure['validation']:.6g} at validation ({figure['validation_key']}): "
                    f"worse by {figure['decay']:.6g}, beyond the tolerance "
                    f"{figure['tolerance']:.6g}",
                }
            )
        elif figure["verdict"] == "unjudged":
            alerts.append({"kind": "realized_unjudged", "message": f"{name}: {figure['reason']}"})
    return alerts


def realized(
    joined: Joined,
    *,
    rule: RealizedPolicy,
    view: ModelView,
    validation: Mapping[str, Any] | None,
    model: str = "the model",
) -> RealizedReport:
    """The policy's metrics, cost and business figures on the joined rows, judged."""
    report: RealizedReport = {
        "verdict": "ok",
        "model": model,
        "label": rule.label,
        "key": list(rule.key),
        "score": rule.score if rule.score and rule.score in joined.frame.columns else "model",
        "threshold": None,
        "rows": joined.rows,
        "metrics": [],
        "business": [],
        "alerts": [],
    }
    if len(joined.frame):
        scored = _scored(joined.frame, rule, view)
        report["threshold"] = rule.threshold if scored.kind == "binary" else None
        for name, wanted in rule.metrics.items():
            value, why = metric(name, scored)
            report["metrics"].append(
                _judge(
                    name,
                    value,
                    why,
                    validation_key=wanted.validation,
                    validation=validation,
                    tolerance=wanted.tolerance,
                    higher=name in HIGHER,
                )
            )
        if rule.cost is not None:
            report["business"].append(_cost_figure(rule.cost, scored, validation))
        if rule.business is not None:
            report["business"] += _business(rule.business, scored)
    report["alerts"] = _alerts(report)
    report["verdict"] = "alert" if report["alerts"] else "ok"
    return report


def _table(source: Path | pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    from mlratchet.contracts import open_data

    if isinstance(source, pd.DataFrame):
        return source
    if Path(source).is_dir():  # a prediction log of `ratchet serve --log-dir`
        from mlratchet.tables import read_folder

        return read_folder(source).to_pandas()
    return open_data(source).read().to_pandas()


def _validation(repo: Path, context: ModelContext) -> Mapping[str, Any] | None:
    """The metrics recorded at the model's commit, flat (None: they cannot be read)."""
    from mlratchet.metrics import read_metrics
    from mlratchet.registry.gates import flat_metrics

    try:
        return flat_metrics(read_metrics(repo, context.sha or "workspace"))
    except BadInputError:
        return None


def applies(rule: RealizedPolicy | None, labels: Path | None, labelled: bool) -> bool:
    """Whether the monitor judges realized performance (labels given, or the batch said to be
    labelled); bad input when asked and the policy declares no ``monitor.realized``."""
    if not (labels is not None or labelled):
        return False
    if rule is None:
        raise BadInputError(
            "realized performance needs monitor.realized in ratchet.yaml: the label column, "
            "the key that joins labels to rows, and the metrics to judge"
        )
    return True


def add_realized(
    result: MonitorResult,
    current: Path | pd.DataFrame,
    labels: Path | pd.DataFrame | None,
    *,
    rule: RealizedPolicy,
    context: ModelContext | None,
    repo: Path,
) -> MonitorResult:
    """The monitor's result with ``realized`` added; its alerts join the report's.

    ``current`` and ``labels`` are files (Parquet or CSV) or frames already read (served
    prediction logs, read by their own reader, come in as a frame).
    """
    from dataclasses import replace

    if context is None:
        raise BadInputError("realized performance needs the model: give --model")
    batch = _table(current)
    joined = (
        join_labels(batch, _table(labels), key=rule.key, label=rule.label)
        if labels is not None
        else labelled_rows(batch, label=rule.label)
    )
    found = realized(
        joined,
        rule=rule,
        view=context.view,
        validation=_validation(repo, context),
        model=context.label,
    )
    report = dict(result.report)
    report["realized"] = found
    report["alerts"] = [*result.report["alerts"], *found["alerts"]]
    report["verdict"] = "alert" if report["alerts"] else "ok"
    return replace(result, report=report)  # type: ignore[arg-type]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def summary(report: RealizedReport) -> str:
    """One clause for the monitor's headline."""
    rows = report["rows"]
    decayed = [
        f["name"] for f in report["metrics"] + report["business"] if f["verdict"] == "decayed"
    ]
    what = f"decayed: {', '.join(decayed)}" if decayed else "no decay beyond tolerance"
    if rows["judged"] == 0:
        what = "cannot judge: no labelled row"
    return f"realized on {rows['judged']} of {rows['batch']} rows: {what}"


def markdown_lines(report: RealizedReport) -> list[str]:
    """The realized-performance section of the monitor's Markdown report."""
    rows = report["rows"]
    counted = f"{rows['judged']} of {rows['batch']} rows labelled and judged"
    if rows["labels"] is not None:
        counted += f"; {rows['labels']} labels, {rows['unmatched_labels']} matching no row"
    lines = [f"### Realized performance ({report['model']})", "", counted + ".", ""]
    header = "| metric | realized | validation | key | decay | tolerance | verdict |"
    lines += [header, "|---|---:|---:|---|---:|---:|---|"]
    for f in report["metrics"] + report["business"]:
        verdict = f["verdict"] + (f": {f['reason']}" if f["reason"] else "")
        lines.append(
            f"| {f['name']} | {_fmt(f['realized'])} | {_fmt(f['validation'])} | "
            f"{f['validation_key'] or '-'} | {_fmt(f['decay'])} | {_fmt(f['tolerance'])} | "
            f"{verdict} |"
        )
    return [*lines, ""]
