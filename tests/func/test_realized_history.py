"""Realized performance over time: served prediction logs, labels that arrive later, a history.

The wine project (tests/second_project.py) is registered and promoted to staging; a real
``ratchet serve wine-model#staging --log-dir`` logs its predictions, one log folder per batch.
Its labels arrive later, keyed on three of the model's inputs (the log holds nothing else to
join on). ``ratchet monitor LOG --labels FILE --history FILE.jsonl`` then judges each batch and
keeps one line per (batch, model); the HTML report charts them, checked in headless Chromium.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pandas as pd
import pytest

import second_project as sp
from browser import open_page
from helpers import gen
from second_project import Project, ratchet
from servefixture import split, start

pytestmark = pytest.mark.slow

KEY = ["alcohol", "malic_acid", "proline"]
REALIZED = f"""\
  realized:
    label: target
    key: [{", ".join(KEY)}]
    metrics:
      accuracy: {{validation: test.accuracy, tolerance: 0.1}}
      f1_macro: {{validation: test.f1_macro, tolerance: 0.1}}
"""
MODEL = "wine-model#staging"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> tuple[Project, Path]:
    """The wine project promoted to staging, and two prediction logs of its training rows (the
    first half and the second), each written by a real `ratchet serve` (built once)."""
    work = tmp_path_factory.mktemp("history")
    project = sp.build(work / "repo", sp.CLASSIFIER)
    gen(project.dvc_root, {"ratchet.yaml": sp.ratchet_yaml(sp.CLASSIFIER) + REALIZED})
    sp.reproduce(project, "reproduce, with realized performance")
    ratchet(project.dvc_root, "register", "wine-model")
    ratchet(project.dvc_root, "promote", "wine-model", "--to", "staging")
    rows = pd.read_parquet(project.dvc_root / "data/train.parquet")
    assert not rows.duplicated(subset=KEY).any()  # the key names one row
    half = len(rows) // 2
    logs = work / "logs"
    for name, part in (("week-1", rows.iloc[:half]), ("week-2", rows.iloc[half:])):
        server = start(project.dvc_root, MODEL, log_dir=logs / name)
        inputs = part.drop(columns="target")
        with server.client() as client:
            for at in range(0, len(inputs), 20):
                answer = client.post("/invocations", json=split(inputs.iloc[at : at + 20]))
                assert answer.status_code == 200, answer.text
        code, err = server.stop(signal.SIGTERM)  # drains and flushes the log
        assert code == 0, err
        part[[*KEY, "target"]].to_parquet(logs / f"{name}-truth.parquet", index=False)
    return project, logs


def labels(logs: Path, week: str, wrong: float, dest: Path) -> Path:
    """The week's labels, with the first ``wrong`` share of them replaced by another class."""
    truth = pd.read_parquet(logs / f"{week}-truth.parquet")
    flip = int(len(truth) * wrong)
    truth.loc[: flip - 1, "target"] = (truth.loc[: flip - 1, "target"] + 1) % 3
    path = dest / f"{week}-labels.parquet"
    truth.to_parquet(path, index=False)
    return path


def monitor(project: Project, *args: str, expect: int) -> dict:
    """`ratchet monitor ... --json` with the served model; the report."""
    out = ratchet(project.dvc_root, "monitor", *args, "--model", MODEL, "--json", expect=expect)
    return json.loads(out.stdout)


def test_a_served_log_with_decayed_labels_alerts_and_starts_the_history(
    served: tuple[Project, Path], tmp_path: Path
) -> None:
    """Labels that disagree with a third of the logged predictions: realized accuracy falls
    beyond the tolerance, exit 1; the history file gets one line naming the batch (the log
    folder's name), the model as given, its registry version and the realized accuracy."""
    project, logs = served
    history = tmp_path / "history.jsonl"
    report = monitor(
        project,
        str(logs / "week-1"),
        "--labels",
        str(labels(logs, "week-1", 1 / 3, tmp_path)),
        "--history",
        str(history),
        expect=1,
    )
    assert "realized_decay" in {a["kind"] for a in report["alerts"]}
    assert report["realized"]["rows"]["judged"] == report["current"]["rows"] > 0
    (line,) = [json.loads(text) for text in history.read_text().splitlines()]
    assert line["batch"] == "week-1"
    assert (line["model"], line["version"], line["verdict"]) == (MODEL, "v0.0.1", "alert")
    assert line["realized"]["accuracy"] < line["validation"]["accuracy"] - 0.1
    assert report["history"]["entries"] == [line]


def test_a_second_batch_adds_a_line_and_the_html_charts_both(
    served: tuple[Project, Path], tmp_path: Path
) -> None:
    """week-1 decayed, then week-2 with its true labels under its own label: two lines, in
    order; a rerun of week-2 replaces its line. The HTML report holds the chart of both, which
    Chromium loads with no error and no request; the Markdown holds their table."""
    project, logs = served
    history = tmp_path / "history.jsonl"
    first = labels(logs, "week-1", 1 / 3, tmp_path)
    monitor(
        project, str(logs / "week-1"), "--labels", str(first), "--history", str(history), expect=1
    )
    truth = str(logs / "week-2-truth.parquet")
    args = [str(logs / "week-2"), "--labels", truth, "--history", str(history)]
    second = monitor(project, *args, "--batch-label", "2nd week", expect=0)
    assert second["realized"]["verdict"] == "ok"
    assert [(e["batch"], e["verdict"]) for e in second["history"]["entries"]] == [
        ("week-1", "alert"),
        ("2nd week", "ok"),
    ]
    out = tmp_path / "report"
    again = ratchet(
        project.dvc_root, "monitor", *args, "--batch-label", "2nd week", "--model", MODEL,
        "--out", str(out), "--md",
    )  # fmt: skip
    assert "batch '2nd week' replaced (2 entries)" in again.stderr
    assert len(history.read_text().splitlines()) == 2
    assert "### Realized performance over time" in again.stdout
    assert "| week-1 | wine-model#staging | v0.0.1 | alert |" in again.stdout
    assert "| 2nd week | wine-model#staging | v0.0.1 | ok |" in again.stdout

    page = out / "report.html"
    width = (
        "var img = document.querySelector('figure.history img');"
        "document.body.setAttribute('data-chart', img ? img.naturalWidth + 'x' + "
        "img.naturalHeight : 'none');"
    )
    run = open_page(page, after_load_js=width)
    assert run.ready
    assert run.errors == []
    assert [r for r in run.requests if not r.startswith("data:")] == []
    assert "Realized performance over time" in run.dom
    chart = run.dom.split('data-chart="', 1)[1].split('"', 1)[0]
    assert chart != "none"
    w, h = (int(v) for v in chart.split("x"))
    assert w > 300 and h > 200  # a decoded picture, not a broken image
    assert "accuracy, f1_macro over 2 batches" in run.dom
    assert "2nd week" in run.dom and "week-1" in run.dom


def test_without_labels_the_html_says_no_history_yet(
    served: tuple[Project, Path], tmp_path: Path
) -> None:
    """A log with no labels: a line with no realized metrics, and the report says "no history
    yet" instead of drawing an empty chart."""
    project, logs = served
    history = tmp_path / "history.jsonl"
    out = tmp_path / "report"
    args = [str(logs / "week-2"), "--history", str(history), "--out", str(out)]
    report = monitor(project, *args, expect=0)
    assert report["history"]["entries"][0]["realized"] == {}
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "no history yet" in page
    assert "figure class='history'" not in page
