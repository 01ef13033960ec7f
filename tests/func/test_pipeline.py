"""The reference pipeline end to end on the real flight data, twice, from clean copies."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from helpers import ROOT, copy_project, dvc, git, run
from mlratchet import modelio, tables

pytestmark = pytest.mark.slow


def lock_outs(project: Path) -> dict[str, str]:
    from mlratchet.yamlio import load_yaml

    lock = load_yaml(project / "dvc.lock")
    return {
        out["path"]: out.get("md5", "")
        for stage in lock["stages"].values()
        for out in stage.get("outs", [])
    }


def repro(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    project = copy_project(tmp_path_factory.mktemp(name) / "project")
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    dvc(project, "repro", env=env)
    return project


@pytest.fixture(scope="module")
def first(reproduced_project: Path) -> Path:
    return reproduced_project


def test_outputs_and_metrics(first: Path) -> None:
    """Every declared output exists; metrics cover both splits and all three scorers."""
    for path in lock_outs(first):
        assert (first / path).exists(), path
    metrics = json.loads((first / "metrics/metrics.json").read_text())
    for scorer in ("model", "majority", "logreg"):
        for split in ("val", "test"):
            assert {"roc_auc", "average_precision", "log_loss", "brier", "accuracy", "f1"} <= set(
                metrics[scorer][split]
            )
    prepared = json.loads((first / "metrics/prepare.json").read_text())
    assert prepared["rows"]["flights"] == 336_776
    assert prepared["rows"]["cancelled"] > 0
    assert prepared["rows"]["diverted"] > 0


def test_model_beats_both_baselines(first: Path) -> None:
    """On val and test ROC-AUC the model beats the majority class and logistic regression."""
    metrics = json.loads((first / "metrics/metrics.json").read_text())
    for split in ("val", "test"):
        model = metrics["model"][split]["roc_auc"]
        assert model > metrics["majority"][split]["roc_auc"], split
        assert model > metrics["logreg"][split]["roc_auc"], split


def test_model_artifact_serves_prepared_rows(first: Path) -> None:
    """The registered artifact loads safely and scores prepared rows."""
    model = modelio.load(first / "models/model.skops")
    batch = tables.read(first / "data/interim/test.parquet").head(100)
    proba = model.predict_proba(batch)[:, 1]
    assert proba.shape == (100,)


def test_repro_again_is_a_no_op(first: Path) -> None:
    """Right after a run, DVC sees nothing to do and git sees no change to tracked files."""
    status = dvc(first, "status", "--json").stdout.strip()
    assert json.loads(status) == {}
    assert git(first, "status", "--porcelain", "--", "dvc.yaml", "params.yaml") == ""


def test_two_clean_runs_give_identical_bytes(
    first: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Same inputs, same bytes: a second run from a clean copy records identical md5s."""
    second = repro(tmp_path_factory, "run-b")
    a, b = lock_outs(first), lock_outs(second)
    assert set(a) == set(b)
    assert {p: (a[p], b[p]) for p in a if a[p] != b[p]} == {}
    assert (
        run(["cmp", "models/model.skops", str(second / "models/model.skops")], first).returncode
        == 0
    )


def test_artifact_is_declared_for_gto_and_dvc() -> None:
    """dvc.yaml declares the model artifact `flight-delay` of type model."""
    from mlratchet.yamlio import load_yaml

    artifacts = load_yaml(ROOT / "dvc.yaml")["artifacts"]
    assert artifacts["flight-delay"]["type"] == "model"
    assert artifacts["flight-delay"]["path"] == "models/model.skops"
