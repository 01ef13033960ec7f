"""The pieces of ``ratchet serve`` without a server: payloads, input checks, metrics, the log."""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlratchet.contracts import Column, Contract
from mlratchet.serve.exposition import Metrics
from mlratchet.serve.holder import Holder
from mlratchet.serve.inputs import check
from mlratchet.serve.payload import PayloadError, columns_of
from mlratchet.serve.predlog import LogSettings, PredictionLog
from mlratchet.tables import read_folder

INPUTS = ("a", "b")
CONTRACT = Contract(
    1,
    {"a": Column(type="float", nullable=True, min=0), "b": Column(type="integer", nullable=False)},
    extra_columns=True,
)


def body(data: object) -> bytes:
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    "document",
    [
        {"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, 1], [2.0, 2]]}},
        {"dataframe_records": [{"a": 1.5, "b": 1}, {"a": 2.0, "b": 2}]},
        {"instances": [{"a": 1.5, "b": 1}, {"a": 2.0, "b": 2}]},
        {"inputs": [[1.5, 1], [2.0, 2]]},
        {"inputs": {"a": [1.5, 2.0], "b": [1, 2]}, "params": {"x": 1}},
    ],
)
def test_every_mlflow_shape_reads_the_same_columns(document: object) -> None:
    """Each MLflow input field gives the same columns."""
    columns = columns_of(body(document), "application/json", INPUTS)
    assert columns.values == {"a": [1.5, 2.0], "b": [1, 2]}
    assert columns.rows == 2


def test_csv_and_kserve() -> None:
    """CSV text is parsed by the column's type; KServe wants instances."""
    columns = columns_of(b"a,b\n1.5,1\n,2\n", "text/csv; charset=utf-8", INPUTS)
    checked = check(columns, INPUTS, CONTRACT)
    assert checked.ok and checked.table is not None
    assert checked.table.column("a").to_pylist() == [1.5, None]
    assert checked.nan == 1
    kserve = columns_of(body({"instances": [[1, 2]]}), "application/json", INPUTS, kserve=True)
    assert kserve.values == {"a": [1], "b": [2]}


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        (b"{", "application/json", 400),
        (body([1, 2]), "application/json", 400),
        (body({"inputs": [], "instances": []}), "application/json", 400),
        (body({"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}), "application/json", 400),
        (b"<a/>", "application/xml", 415),
    ],
)
def test_unreadable_bodies(raw: bytes, content_type: str, status: int) -> None:
    """What is not one of the shapes is a PayloadError with its HTTP status."""
    with pytest.raises(PayloadError) as caught:
        columns_of(raw, content_type, INPUTS)
    assert caught.value.status == status


def test_every_failing_row_in_one_report() -> None:
    """Type, range and null failures, each with every failing row, in one list."""
    records = [
        {"a": "x", "b": 1},
        {"a": 1.0, "b": None},
        {"a": -1.0, "b": 2.5},
        {"a": -2.0, "b": None},
    ]
    checked = check(columns_of(body({"dataframe_records": records}), "", INPUTS), INPUTS, CONTRACT)
    assert not checked.ok
    found = {(f["column"], f["rule"]): [e["row"] for e in f["examples"]] for f in checked.failures}
    assert found == {
        ("a", "type"): [0],
        ("b", "type"): [2],
        ("a", "min"): [2, 3],
        ("b", "not_null"): [1, 3],  # row 2 is a type failure, not a missing value
    }


def test_untyped_columns_need_one_kind_and_presence() -> None:
    """Without a contract: a missing input, and a column of mixed kinds, both reported."""
    columns = columns_of(body({"dataframe_records": [{"a": 1}, {"a": "x"}]}), "", INPUTS)
    checked = check(columns, INPUTS, None)
    rules = {(f["column"], f["rule"]) for f in checked.failures}
    assert rules == {("a", "type"), ("b", "missing_column")}


@given(st.dictionaries(st.sampled_from(["/a", "/b"]), st.integers(200, 599), max_size=2))
def test_metrics_text_is_well_formed(codes: dict[str, int]) -> None:
    """Every sample line is NAME{labels} VALUE, every family has HELP and TYPE."""
    metrics = Metrics({"name": 'm"1', "version": "v1"})
    for endpoint, code in codes.items():
        metrics.request(endpoint, code, 0.003)
    metrics.inc("ratchet_rows_predicted_total", 3)
    text = metrics.render()
    assert 'ratchet_model_info{name="m\\"1",version="v1"} 1' in text
    for line in text.splitlines():
        if not line.startswith("#"):
            value = line.rsplit(" ", 1)[1]
            assert math.isfinite(float(value))
    for endpoint, code in codes.items():
        needle = f'ratchet_requests_total{{endpoint="{endpoint}",code="{code}"}} 1'
        assert needle in text
        assert (f'ratchet_request_errors_total{{endpoint="{endpoint}"' in text) == (code >= 400)


def test_holder_swaps() -> None:
    """The holder serves what was swapped in last."""
    holder: Holder[str] = Holder()
    assert not holder.ready
    assert holder.swap("a") is None
    assert holder.swap("b") == "a"
    assert holder.current == "b"


def test_log_batches_rotates_and_never_shows_a_partial_file(tmp_path: Path) -> None:
    """Rows are written every flush_rows, in visible files only when whole, rotated by size."""
    settings = LogSettings(tmp_path, flush_rows=3, flush_seconds=60, rotate_bytes=1)
    log = PredictionLog(settings, "v1", "md5")
    when = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    for i in range(5):
        log.append(pa.table({"a": [float(i)]}), np.array([i / 10]), when)
    assert read_folder(tmp_path).num_rows == 3  # the first batch; two rows wait
    log.close()
    table = read_folder(tmp_path)
    assert table.column("a").to_pylist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert table.column("prediction").to_pylist() == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert set(table.column("model_version").to_pylist()) == {"v1"}
    assert len(list(tmp_path.glob("*.parquet"))) == 2  # rotated past 1 byte
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
