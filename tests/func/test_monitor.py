"""The monitor end to end on a small real project: a model at a git revision, skew, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from flightdelay import features, training
from flightdelay.params import FeaturizeParams, TrainParams
from helpers import commit_all, git
from mlratchet import modelio, tables
from mlratchet.cli.group import cli
from mlratchet.errors import BadInputError, IntegrityError
from mlratchet.fsio import md5_file
from mlratchet.monitor import model as models
from mlratchet.monitor.run import check_batch, reference, run
from mlratchet.policy import MonitorPolicy

POLICY = MonitorPolicy()
FEATURIZE = FeaturizeParams(
    numeric=("distance", "sched_dep_min", "temp"),
    categorical=("carrier", "origin"),
    min_frequency=0,
)
TRAIN = TrainParams(
    seed=1,
    n_threads=1,
    max_iter=10,
    learning_rate=0.1,
    max_leaf_nodes=8,
    min_samples_leaf=20,
    l2_regularization=0.0,
)
OUTS = {
    "models/model.skops": "model",
    "data/interim/train.parquet": "reference",
    "data/processed/train.parquet": "features",
}


def prepared(n: int, seed: int, *, winter: bool = False) -> pd.DataFrame:
    """Prepared rows with the columns the small model reads (and a label)."""
    rng = np.random.default_rng(seed)
    temp = rng.normal(30 if winter else 70, 8, n)
    temp[rng.random(n) < 0.01] = np.nan
    frame = pd.DataFrame(
        {
            "distance": rng.integers(100, 2500, n),
            "sched_dep_min": rng.integers(300, 1400, n),
            "temp": temp,
            "carrier": rng.choice(["AA", "B6", "DL", "UA"], n),
            "origin": rng.choice(["EWR", "JFK", "LGA"], n),
        }
    )
    frame["late"] = (rng.random(n) < 0.2 + 0.3 * (frame["sched_dep_min"] > 1000)).astype(np.int8)
    return frame


def fitted(train: pd.DataFrame) -> tuple[object, pd.DataFrame]:
    """The served pipeline and the processed training features, as the pipeline makes them."""
    transformer = features.fit(train, FEATURIZE)
    processed = features.with_label(features.transform(transformer, train), train)
    return training.train(processed, transformer, TRAIN), processed


def context_for(model: object, train: pd.DataFrame, processed: pd.DataFrame) -> object:
    import pyarrow as pa

    from mlratchet.adapter import view

    return models.ModelContext(
        text="memory",
        sha=None,
        artifact=None,
        path="models/model.skops",
        model=model,
        view=view(model),
        reference_path="data/interim/train.parquet",
        reference=pa.Table.from_pandas(train, preserve_index=False),
        training_features_path="data/processed/train.parquet",
        training_features=processed,
    )


@pytest.fixture(scope="module")
def small() -> tuple[pd.DataFrame, object, pd.DataFrame]:
    train = prepared(4000, 1)
    model, processed = fitted(train)
    return train, model, processed


def test_replay_and_serving_features_agree_for_the_served_model(small: tuple) -> None:
    """The model's own features step reproduces training's features: no skew alert."""
    train, model, processed = small
    ref = reference(policy=POLICY, model=context_for(model, train, processed))
    report = check_batch(ref, prepared(1500, 2)).report
    assert report["skew"]["replay"]["ok"]
    assert report["skew"]["replay"]["mismatched_cells"] == 0
    assert report["skew"]["unexplained"] == []
    assert "skew" not in [a["kind"] for a in report["alerts"]]


def test_skew_check_fails_when_a_serving_feature_is_computed_differently(small: tuple) -> None:
    """A features step that serves `distance` in km (training used miles) is caught as skew."""
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    train, model, processed = small
    altered = clone(model.named_steps["features"])
    km = FunctionTransformer(
        lambda frame: frame.assign(distance=frame["distance"] * 1.609),
        feature_names_out="one-to-one",
    )
    altered.set_params(num=km)
    altered.fit(train)
    served = Pipeline([("features", altered), ("classifier", model.named_steps["classifier"])])
    ref = reference(policy=POLICY, model=context_for(served, train, processed))
    report = check_batch(ref, prepared(1500, 2)).report
    replay = report["skew"]["replay"]
    assert not replay["ok"]
    assert replay["mismatched_cells"] == len(train)
    assert list(replay["features"]) == ["distance"]
    assert report["skew"]["unexplained"] == ["distance"]
    drift = {c["column"]: c["drifted"] for c in report["drift"]["columns"]}
    assert drift["distance"] is False  # the data did not move; the computation did
    assert "skew" in [a["kind"] for a in report["alerts"]]


def test_seasonal_batch_drifts_and_scores_are_counted(small: tuple) -> None:
    """A winter batch drifts in temperature; scores are finite and counted."""
    train, model, processed = small
    ref = reference(policy=POLICY, model=context_for(model, train, processed))
    report = check_batch(ref, prepared(1500, 3, winter=True)).report
    by_name = {c["column"]: c for c in report["drift"]["columns"]}
    assert by_name["temp"]["drifted"]
    assert not by_name["carrier"]["drifted"]
    assert report["stability"]["scores"]["rows"] == 1500
    assert report["stability"]["scores"]["ok"]
    assert report["prediction"]["current"]["rows"] == 1500


# --- a git + DVC project: the model at a revision -------------------------------------------


def _lock(files: dict[str, Path]) -> str:
    lines = ["schema: '2.0'", "stages:", "  train:", "    cmd: python train.py", "    outs:"]
    for rel, path in files.items():
        lines += [
            f"    - path: {rel}",
            "      hash: md5",
            f"      md5: {md5_file(path)}",
            f"      size: {path.stat().st_size}",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def project(tmp_repo: Path, small: tuple) -> Path:
    """A committed project: model + training data as DVC outputs, in dvc.lock and the cache."""
    train, model, processed = small
    tables.write(train, tmp_repo / "data/interim/train.parquet")
    tables.write(processed, tmp_repo / "data/processed/train.parquet")
    modelio.save(model, tmp_repo / "models/model.skops")
    files = {rel: tmp_repo / rel for rel in OUTS}
    for path in files.values():
        digest = md5_file(path)
        cached = tmp_repo / ".dvc/cache/files/md5" / digest[:2] / digest[2:]
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, cached)
    (tmp_repo / "dvc.lock").write_text(_lock(files))
    (tmp_repo / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: python train.py\n    outs:\n"
        + "".join(f"      - {rel}\n" for rel in OUTS)
        + "artifacts:\n  flight-delay:\n    path: models/model.skops\n    type: model\n"
    )
    (tmp_repo / ".gitignore").write_text("/data/\n/models/\n/batch*\n/out/\n")
    (tmp_repo / "ratchet.yaml").write_text(
        "monitor:\n  drift_share: 0.5\n"
        "  reference: data/interim/train.parquet\n"
        "  training_features: data/processed/train.parquet\n"
    )
    commit_all(tmp_repo, "small project")
    tables.write(prepared(1500, 2), tmp_repo / "batch.parquet")
    tables.write(prepared(1500, 4, winter=True), tmp_repo / "batch-winter.parquet")
    return tmp_repo


def test_model_at_a_revision_comes_from_the_dvc_cache(project: Path) -> None:
    """--model HEAD reads the model and its training data by dvc.lock hash, not the work tree."""
    for rel in OUTS:
        (project / rel).unlink()
    result = run(project / "batch.parquet", repo=project, model_text="HEAD")
    report = result.report
    assert report["model"]["rev"] == git(project, "rev-parse", "HEAD")
    assert report["reference"]["rows"] == 4000
    assert report["verdict"] == "ok", report["alerts"]


def test_corrupt_cache_is_an_integrity_error(project: Path) -> None:
    """A cached model whose bytes no longer hash to dvc.lock's record: IntegrityError (exit 3)."""
    digest = md5_file(project / "models/model.skops")
    cached = project / ".dvc/cache/files/md5" / digest[:2] / digest[2:]
    cached.chmod(0o644)
    cached.write_bytes(cached.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(IntegrityError, match=r"models/model\.skops"):
        run(project / "batch.parquet", repo=project, model_text="HEAD")
    result = CliRunner().invoke(
        cli, ["monitor", str(project / "batch.parquet"), "-R", str(project), "--model", "HEAD"]
    )
    assert result.exit_code == 3


def test_missing_cache_and_unknown_revision_are_bad_input(project: Path) -> None:
    """Not in the local cache: say to dvc fetch (exit 2); an unknown revision: exit 2."""
    shutil.rmtree(project / ".dvc/cache")
    with pytest.raises(BadInputError, match="not in the local DVC cache; run `dvc fetch`"):
        run(project / "batch.parquet", repo=project, model_text="HEAD")
    result = CliRunner().invoke(
        cli, ["monitor", str(project / "batch.parquet"), "-R", str(project), "--model", "nope"]
    )
    assert result.exit_code == 2
    assert "unknown revision 'nope'" in result.stderr


def test_workspace_model_is_verified_against_dvc_lock(project: Path) -> None:
    """The work tree's model must match dvc.lock too (a changed file is exit 3)."""
    path = project / "models/model.skops"
    path.write_bytes(path.read_bytes() + b"\0")
    result = CliRunner().invoke(
        cli, ["monitor", str(project / "batch.parquet"), "-R", str(project)]
    )
    assert result.exit_code == 3
    assert "models/model.skops" in result.stderr


def test_cli_monitor_ok_alert_json_md_and_reports(project: Path) -> None:
    """Exit 0 on a like batch, 1 on a drifted one; strict JSON, Markdown, and --out files."""
    runner = CliRunner()
    ok = runner.invoke(
        cli, ["monitor", str(project / "batch.parquet"), "-R", str(project), "--json"]
    )
    assert ok.exit_code == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["verdict"] == "ok"
    assert report["model"]["ref"] == "workspace"

    out = project / "out"
    alert = runner.invoke(
        cli,
        [
            "monitor",
            str(project / "batch-winter.parquet"),
            "-R",
            str(project),
            "--md",
            "-o",
            str(out),
        ],
    )
    assert alert.exit_code == 1
    assert alert.stdout.startswith("## Monitor: 🔴 alert")
    assert "| temp | numeric | **drift** |" in alert.stdout
    assert "ALERT: " in alert.stderr
    saved = json.loads((out / "report.json").read_text())
    assert saved["verdict"] == "alert"
    assert saved["alerts"]
    for item in saved["alerts"]:
        assert f"alert: {item['kind']}: {item['message']}" in alert.stderr
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(saved["drift"]["columns"]) + 1
    assert (out / "report.md").read_text().startswith("## Monitor")


def test_cli_monitor_without_model_compares_files(tmp_path: Path) -> None:
    """--reference FILE alone: data drift only; identical -> 0, shifted -> 1, missing -> 2."""
    ref, cur = tmp_path / "ref.csv", tmp_path / "cur.csv"
    prepared(3000, 1).to_csv(ref, index=False)
    prepared(3000, 1, winter=True).to_csv(cur, index=False)
    runner = CliRunner()
    same = runner.invoke(cli, ["monitor", str(ref), "--reference", str(ref), "--json"])
    assert same.exit_code == 0, same.stderr
    assert json.loads(same.stdout)["model"] is None
    shifted = runner.invoke(cli, ["monitor", str(cur), "--reference", str(ref), "--column", "temp"])
    assert shifted.exit_code == 1
    missing = runner.invoke(cli, ["monitor", str(tmp_path / "no.csv"), "--reference", str(ref)])
    assert missing.exit_code == 2
    assert "no.csv: no such file" in missing.stderr
