"""The monitor fails closed: what it cannot judge is exit 2 (no rows) or an alert naming it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from flightdelay import features, training
from flightdelay.params import FeaturizeParams, TrainParams
from helpers import commit_all
from mlratchet import modelio, tables
from mlratchet.cli.group import cli
from mlratchet.fsio import md5_file
from mlratchet.monitor.run import check_batch, reference, run
from mlratchet.policy import MonitorPolicy

# --- generic tables (any column names) ------------------------------------------------------


def generic(n: int, seed: int) -> pd.DataFrame:
    """A table with names no reference project uses."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "pressure_kpa": rng.normal(101, 3, n),
            "valve": rng.choice(["open", "shut", "half"], n),
            "cycles": rng.integers(0, 500, n),
            "flag": rng.random(n) < 0.3,
        }
    )


def monitor(cur: Path, ref: Path, *extra: str) -> Result:
    """`ratchet monitor CUR --reference REF` (data only, no model)."""
    return CliRunner().invoke(cli, ["monitor", str(cur), "--reference", str(ref), *extra])


def write(frame: pd.DataFrame | pa.Table, path: Path) -> Path:
    """A frame or table as Parquet or CSV (by suffix)."""
    if path.suffix == ".csv":
        assert isinstance(frame, pd.DataFrame)
        frame.to_csv(path, index=False)
    elif isinstance(frame, pa.Table):
        pq.write_table(frame, path)
    else:
        tables.write(frame, path)
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_empty_reference_is_bad_input(tmp_path: Path, suffix: str) -> None:
    """A reference with 0 rows is exit 2 naming it, never 'ok, 0 of N features drifted'."""
    ref = write(generic(0, 1), tmp_path / f"ref{suffix}")
    cur = write(generic(500, 2), tmp_path / f"cur{suffix}")
    result = monitor(cur, ref)
    assert result.exit_code == 2, result.stderr
    assert f"cannot judge drift: reference {ref} has 0 rows" in result.stderr
    assert not result.stderr.startswith("ok")


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_empty_batch_is_bad_input(tmp_path: Path, suffix: str) -> None:
    """A batch with 0 rows is exit 2 naming it (it was exit 70)."""
    ref = write(generic(500, 1), tmp_path / f"ref{suffix}")
    cur = write(generic(0, 2), tmp_path / f"cur{suffix}")
    result = monitor(cur, ref)
    assert result.exit_code == 2, result.stderr
    assert f"cannot judge drift: batch {cur} has 0 rows" in result.stderr


def test_all_nan_column_in_both_is_an_unjudged_alert(tmp_path: Path) -> None:
    """A column with no value on either side cannot be judged: alert naming it, exit 1."""
    frame = generic(800, 1).assign(sensor=np.nan)
    ref = write(frame, tmp_path / "ref.parquet")
    result = monitor(ref, ref, "--json")
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["unjudged"] == [
        {"column": "sensor", "reason": "all values missing in reference and batch"}
    ]
    assert report["drift"]["features"] == 4  # the judged ones; sensor is not "not drifted"
    assert "cannot judge sensor (all values missing in reference and batch)" in result.stderr


def test_all_null_text_column_in_batch_is_an_unjudged_alert(tmp_path: Path) -> None:
    """A text column all null in the batch: 'cannot judge: all values missing in batch'."""
    ref = write(generic(800, 1), tmp_path / "ref.parquet")
    cur = write(generic(800, 2).assign(valve=None), tmp_path / "cur.parquet")
    result = monitor(cur, ref)
    assert result.exit_code == 1
    assert "alert: unjudged: cannot judge: valve (all values missing in batch)" in result.stderr


def test_reference_column_missing_from_batch_is_an_alert(tmp_path: Path) -> None:
    """A reference column the batch lacks is an alert naming it, not silently dropped."""
    ref = write(generic(800, 1), tmp_path / "ref.csv")
    cur = write(generic(800, 2).drop(columns=["cycles"]), tmp_path / "cur.csv")
    result = monitor(cur, ref, "--json")
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["missing_columns"] == ["cycles"]
    assert "missing from the batch: cycles" in result.stderr
    assert "alert: missing_columns: reference columns missing from the batch: cycles" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        (pa.array([[1, 2], [3]] * 300), "list<element: int64>"),
        (pa.array([b"\x00\x01", b"\xff"] * 300), "binary"),
    ],
)
def test_uncomparable_column_is_an_alert_with_its_type(
    tmp_path: Path, values: pa.Array, shown: str
) -> None:
    """A nested or binary column is an alert naming the column and its type."""
    table = pa.Table.from_pandas(generic(600, 1), preserve_index=False).append_column(
        "payload", values
    )
    ref = write(table, tmp_path / "ref.parquet")
    result = monitor(ref, ref, "--json")
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["unjudged"] == [
        {"column": "payload", "reason": f"type {shown} cannot be compared"}
    ]
    assert f"cannot judge payload (type {shown} cannot be compared)" in result.stderr


def test_mixed_object_batch_column_is_reported_not_a_crash(tmp_path: Path) -> None:
    """A pandas batch whose column mixes objects is unjudged, named with its type."""
    ref = reference(policy=MonitorPolicy(), path=write(generic(600, 1), tmp_path / "ref.csv"))
    batch = generic(600, 2).astype({"cycles": object})
    batch.loc[::2, "cycles"] = "n/a"
    batch.loc[1::4, "cycles"] = b"\x00"
    result = check_batch(ref, batch)
    report = result.to_json()
    assert report["verdict"] == "alert"
    assert report["unjudged"] == [
        {"column": "cycles", "reason": "type mixed object in batch, double in reference"}
    ]


def test_csv_is_streamed_and_matches_parquet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CSV read in many blocks gives the same report as Parquet for the same data."""
    ref_frame, cur_frame = generic(6000, 1), generic(6000, 3)
    cur_frame.loc[:50, "pressure_kpa"] = np.nan
    paths = {}
    for suffix in (".csv", ".parquet"):
        paths[suffix] = (
            write(ref_frame, tmp_path / f"ref{suffix}"),
            write(cur_frame, tmp_path / f"cur{suffix}"),
        )
    monkeypatch.setattr(tables, "CSV_BLOCK", 16 << 10)  # 16 KiB: many blocks
    assert tables.open_csv_stream(paths[".csv"][0]).blocks > 5
    for stream in (False, True):
        reports = {
            suffix: run(cur, reference_path=ref, stream=stream).report
            for suffix, (cur, ref) in paths.items()
        }
        csv, parquet = reports[".csv"], reports[".parquet"]
        assert csv["current"]["rows"] == parquet["current"]["rows"] == 6000
        assert csv["reference"]["rows"] == 6000
        if stream:  # histogram edges come from a sample of blocks / row groups
            assert [c["drifted"] for c in csv["drift"]["columns"]] == [
                c["drifted"] for c in parquet["drift"]["columns"]
            ]
            continue
        for a, b in zip(csv["drift"]["columns"], parquet["drift"]["columns"], strict=True):
            assert a["statistics"] == b["statistics"], a["column"]
            assert (a["current"], a["reference"]) == (b["current"], b["reference"])


def test_new_categories_in_some_rows_stand_in_the_summary(tmp_path: Path) -> None:
    """Unseen categories in a few rows: named in the one-line summary and the Markdown."""
    ref = write(generic(2000, 1), tmp_path / "ref.parquet")
    batch = generic(2000, 2)
    batch.loc[:99, "valve"] = "jammed"
    cur = write(batch, tmp_path / "cur.parquet")
    result = monitor(cur, ref, "--md")
    assert result.exit_code == 0, result.stderr
    assert "new categories: valve (1 unseen in 5% of rows)" in result.stderr
    assert "new categories: valve (1 unseen in 5% of rows)" in result.stdout


# --- a flights-like project: the model and its training rows at a revision -----------------

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
OUTS = ("models/model.skops", "data/interim/train.parquet", "data/processed/train.parquet")


def flights(n: int, seed: int) -> pd.DataFrame:
    """Prepared flight rows with the columns the small model reads (and a label)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "distance": rng.integers(100, 2500, n),
            "sched_dep_min": rng.integers(300, 1400, n),
            "temp": rng.normal(70, 8, n),
            "carrier": rng.choice(["AA", "B6", "DL", "UA"], n),
            "origin": rng.choice(["EWR", "JFK", "LGA"], n),
        }
    )
    frame["late"] = (rng.random(n) < 0.2 + 0.3 * (frame["sched_dep_min"] > 1000)).astype(np.int8)
    return frame


@pytest.fixture
def project(tmp_repo: Path) -> Path:
    """A committed project: model and training data as DVC outputs in dvc.lock and the cache."""
    train = flights(3000, 1)
    transformer = features.fit(train, FEATURIZE)
    processed = features.with_label(features.transform(transformer, train), train)
    tables.write(train, tmp_repo / OUTS[1])
    tables.write(processed, tmp_repo / OUTS[2])
    modelio.save(training.train(processed, transformer, TRAIN), tmp_repo / OUTS[0])
    lock = ["schema: '2.0'", "stages:", "  train:", "    cmd: python train.py", "    outs:"]
    for rel in OUTS:
        path = tmp_repo / rel
        digest = md5_file(path)
        cached = tmp_repo / ".dvc/cache/files/md5" / digest[:2] / digest[2:]
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, cached)
        lock += [f"    - path: {rel}", "      hash: md5", f"      md5: {digest}"]
        lock += [f"      size: {path.stat().st_size}"]
    (tmp_repo / "dvc.lock").write_text("\n".join(lock) + "\n")
    (tmp_repo / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: python train.py\n    outs:\n"
        + "".join(f"      - {rel}\n" for rel in OUTS)
        + "artifacts:\n  flight-delay:\n    path: models/model.skops\n    type: model\n"
    )
    (tmp_repo / ".gitignore").write_text("/data/\n/models/\n/batch*\n")
    (tmp_repo / "ratchet.yaml").write_text(
        "monitor:\n  drift_share: 0.5\n"
        "  reference: data/interim/train.parquet\n"
        "  training_features: data/processed/train.parquet\n"
    )
    commit_all(tmp_repo, "small project")
    return tmp_repo


def test_empty_flights_batch_is_bad_input_with_a_model(project: Path) -> None:
    """An empty batch against the model's training rows is exit 2, not 70."""
    tables.write(flights(0, 2), project / "batch.parquet")
    result = CliRunner().invoke(
        cli, ["monitor", str(project / "batch.parquet"), "-R", str(project)]
    )
    assert result.exit_code == 2, result.stderr
    assert "cannot judge drift: batch" in result.stderr
    assert "has 0 rows" in result.stderr


def test_category_the_model_never_saw_in_every_row_is_an_alert(project: Path) -> None:
    """A carrier the model never saw in every row: alert (it was exit 0), named in the summary."""
    tables.write(flights(1500, 2).assign(carrier="ZZ"), project / "batch.parquet")
    result = CliRunner().invoke(
        cli, ["monitor", str(project / "batch.parquet"), "-R", str(project), "--md"]
    )
    assert result.exit_code == 1, result.stderr
    assert "alert: new_categories: categories the reference never had, in carrier" in (
        result.stderr
    )
    assert "new categories: carrier (1 unseen in 100% of rows)" in result.stderr
    assert "new categories: carrier (1 unseen in 100% of rows)" in result.stdout


def test_all_nan_model_input_is_an_unjudged_alert(project: Path) -> None:
    """A model input all NaN in the batch is 'cannot judge', an alert, never 'not drifted'."""
    tables.write(flights(1500, 2).assign(temp=np.nan), project / "batch.parquet")
    result = CliRunner().invoke(
        cli, ["monitor", str(project / "batch.parquet"), "-R", str(project), "--json"]
    )
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert {"column": "temp", "reason": "all values missing in batch"} in report["unjudged"]
    assert "unjudged" in [a["kind"] for a in report["alerts"]]
