"""Realized performance with the real CLI on the second, non-flights project.

The wine project (tests/second_project.py) declares ``monitor.realized``: its label column
``target``, a key ``row_id``, accuracy and macro F1 against what its evaluate stage recorded.
A batch of its rows and a labels file arriving later are joined on the key.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn import metrics

import second_project as sp
from helpers import gen
from second_project import Project, ratchet

pytestmark = pytest.mark.slow

REALIZED = """\
  realized:
    label: target
    key: [row_id]
    metrics:
      accuracy: {validation: test.accuracy, tolerance: 0.1}
      f1_macro: {validation: test.f1_macro, tolerance: 0.1}
"""


@pytest.fixture(scope="session")
def realized_built(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Project:
    """The wine project reproduced, with monitor.realized in its policy (built once)."""
    project = sp.build(tmp_path_factory.mktemp("realized") / "repo", sp.CLASSIFIER)
    policy = sp.ratchet_yaml(sp.CLASSIFIER) + REALIZED
    gen(project.dvc_root, {"ratchet.yaml": policy})
    sp.reproduce(project, "reproduce, with realized performance")
    return project


@pytest.fixture
def wine(realized_built: Project, tmp_path: Path) -> Project:
    """A fresh copy of that project."""
    return sp.copy(realized_built, tmp_path)


def batch_and_truth(project: Project) -> pd.DataFrame:
    """The training rows (no drift against the reference) with a key, labels included."""
    rows = pd.read_parquet(project.dvc_root / "data/train.parquet")
    return rows.assign(row_id=[f"r{i:04d}" for i in range(len(rows))])


def write(project: Project, batch: pd.DataFrame, labels: pd.DataFrame) -> tuple[str, str]:
    """Write the batch (Parquet, no labels) and the labels (CSV) under out/."""
    out = project.dvc_root / "out"
    out.mkdir(exist_ok=True)
    batch.drop(columns="target").to_parquet(out / "batch.parquet", index=False)
    labels.to_csv(out / "labels.csv", index=False)
    return "out/batch.parquet", "out/labels.csv"


def monitor(project: Project, *args: str, expect: int) -> dict:
    """``ratchet monitor ... --json``: the report."""
    out = ratchet(project.dvc_root, "monitor", *args, "--json", expect=expect)
    return json.loads(out.stdout)


def test_labels_arriving_later_are_joined_and_metrics_equal_sklearn(wine: Project) -> None:
    """Labels for part of the batch plus some for rows it never had: the judged rows are
    counted, the unmatched labels too, and accuracy and F1 are scikit-learn's on those rows."""
    from mlratchet import modelio

    rows = batch_and_truth(wine)
    labels = rows[["row_id", "target"]].iloc[: len(rows) // 2]
    extra = pd.DataFrame({"row_id": ["x1", "x2", "x3"], "target": [0, 1, 2]})
    batch_path, labels_path = write(wine, rows, pd.concat([labels, extra]))
    report = monitor(wine, batch_path, "--labels", labels_path, expect=0)
    realized = report["realized"]
    assert realized["rows"] == {
        "batch": len(rows),
        "judged": len(labels),
        "unlabelled": len(rows) - len(labels),
        "labels": len(labels) + 3,
        "unmatched_labels": 3,
    }
    model = modelio.load(wine.dvc_root / "models/model.skops")
    judged = rows.iloc[: len(labels)]
    predicted = model.predict(judged.drop(columns=["target", "row_id"]))
    got = {f["name"]: f["realized"] for f in realized["metrics"]}
    assert got["accuracy"] == pytest.approx(metrics.accuracy_score(judged["target"], predicted))
    assert got["f1_macro"] == pytest.approx(
        metrics.f1_score(judged["target"], predicted, average="macro")
    )
    recorded = json.loads((wine.dvc_root / "eval/metrics.json").read_text())["test"]
    accuracy = next(f for f in realized["metrics"] if f["name"] == "accuracy")
    assert accuracy["validation"] == recorded["accuracy"]
    assert realized["verdict"] == "ok"


def test_a_log_folder_is_joined_like_one_file(wine: Project) -> None:
    """A folder of Parquet files (a prediction log of `ratchet serve --log-dir`) is the same
    batch as the one file it was split from: the same rows judged, the same metrics."""
    rows = batch_and_truth(wine)
    labels = rows[["row_id", "target"]].iloc[: len(rows) // 2]
    batch_path, labels_path = write(wine, rows, labels)
    whole = monitor(wine, batch_path, "--labels", labels_path, expect=0)["realized"]
    folder = wine.dvc_root / "out" / "log"
    folder.mkdir()
    half = len(rows) // 3
    batch = rows.drop(columns="target")
    batch.iloc[:half].to_parquet(folder / "predictions-0001.parquet", index=False)
    batch.iloc[half:].to_parquet(folder / "predictions-0002.parquet", index=False)
    split = monitor(wine, "out/log", "--labels", labels_path, expect=0)["realized"]
    assert split["rows"] == whole["rows"]
    assert split["metrics"] == whole["metrics"]


def test_wrong_labels_decay_and_exit_1(wine: Project) -> None:
    """Labels that disagree with the model: realized accuracy far below validation, exit 1
    with a realized_decay alert; --md shows the table."""
    rows = batch_and_truth(wine)
    wrong = rows[["row_id", "target"]].assign(target=(rows["target"] + 1) % 3)
    batch_path, labels_path = write(wine, rows, wrong)
    report = monitor(wine, batch_path, "--labels", labels_path, expect=1)
    kinds = {a["kind"] for a in report["alerts"]}
    assert "realized_decay" in kinds
    md = ratchet(wine.dvc_root, "monitor", batch_path, "--labels", labels_path, "--md", expect=1)
    assert "### Realized performance" in md.stdout
    assert "| accuracy |" in md.stdout
    assert "realized on" in md.stderr


def test_no_label_matching_cannot_judge_and_exits_1(wine: Project) -> None:
    """Labels whose keys match no row: zero rows judged, an alert, exit 1 (fails closed)."""
    rows = batch_and_truth(wine)
    batch_path, labels_path = write(wine, rows, pd.DataFrame({"row_id": ["nope"], "target": [1]}))
    report = monitor(wine, batch_path, "--labels", labels_path, expect=1)
    assert report["realized"]["rows"]["judged"] == 0
    assert report["realized"]["rows"]["unmatched_labels"] == 1
    assert [a["kind"] for a in report["alerts"]] == ["realized_unjudged"]


def test_a_labelled_batch_and_bad_input(wine: Project) -> None:
    """--labelled judges the batch's own label column; without monitor.realized in the policy,
    asking for it is bad input (exit 2)."""
    rows = batch_and_truth(wine)
    out = wine.dvc_root / "out"
    out.mkdir(exist_ok=True)
    rows.to_parquet(out / "labelled.parquet", index=False)
    report = monitor(wine, "out/labelled.parquet", "--labelled", expect=0)
    assert report["realized"]["rows"]["judged"] == len(rows)
    assert report["realized"]["rows"]["labels"] is None
    gen(wine.dvc_root, {"ratchet.yaml": sp.ratchet_yaml(sp.CLASSIFIER)})
    bad = ratchet(wine.dvc_root, "monitor", "out/labelled.parquet", "--labelled", expect=2)
    assert "monitor.realized" in bad.stderr
