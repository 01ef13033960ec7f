"""The reference project's champion/challenger hook and its policy agree on files and keys."""

from __future__ import annotations

import numpy as np

from flightdelay import champion, evaluation
from helpers import ROOT
from mlratchet.policy import load_policy


def test_flat_keys_are_as_dvc_flattens_them() -> None:
    """Nested numbers become dotted keys; booleans and text are left out."""
    record = {"model": {"val": {"roc_auc": 0.7, "confusion": {"tp": 3}}}, "ok": True, "n": "x"}
    assert champion.flat(record) == {"model.val.roc_auc": 0.7, "model.val.confusion.tp": 3.0}


def test_policy_names_the_hook_its_files_and_keys_it_returns() -> None:
    """ratchet.yaml names the hook, lists exactly the files it reads, and every compared metric
    is a key the evaluate stage's record gives under the hook's flattening."""
    declared = load_policy(ROOT / "ratchet.yaml").registry["flight-delay"]
    assert declared.evaluate == "flightdelay.champion:champion_metrics"
    assert declared.on_incomparable == "fail"
    assert set(declared.evaluation_data) == set(champion.EVALUATION_FILES)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 100)
    scores = {
        split: evaluation.Scores(y=y, proba={s: rng.uniform(size=100) for s in evaluation.SCORERS})
        for split in evaluation.SPLITS
    }
    keys = champion.flat(evaluation.metrics_record(scores, 0.3))
    for stage in declared.stages:
        assert set(stage.compare) <= set(keys), stage.name


def test_realized_policy_uses_the_evaluate_stage_threshold_and_keys() -> None:
    """monitor.realized judges at the evaluate stage's threshold, against keys its record has,
    and joins on columns every prepared row carries."""
    from flightdelay.params import load_params
    from flightdelay.prepare import PREPARED_COLUMNS

    rule = load_policy(ROOT / "ratchet.yaml").monitor.realized
    assert rule is not None
    assert rule.threshold == load_params(ROOT / "params.yaml").evaluate.threshold
    assert set(rule.key) <= set(PREPARED_COLUMNS)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 100)
    scores = {
        split: evaluation.Scores(y=y, proba={s: rng.uniform(size=100) for s in evaluation.SCORERS})
        for split in evaluation.SPLITS
    }
    keys = champion.flat(evaluation.metrics_record(scores, rule.threshold))
    assert {m.validation for m in rule.metrics.values()} <= set(keys)
    assert rule.cost is not None
    assert {f"{rule.cost.validation}.{k}" for k in ("tp", "fp", "fn", "tn")} <= set(keys)
