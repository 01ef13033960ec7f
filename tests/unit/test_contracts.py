"""Contracts: the file format, inference, and validation strict where pandas forgives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import ROOT
from mlratchet.contracts import (
    Column,
    Contract,
    ContractError,
    DataError,
    dumps_contract,
    infer,
    load_contract,
    parse_contract,
    validate,
    validate_table,
)
from mlratchet.contracts.spec import Rows

CONTRACT = Contract(
    contract=1,
    columns={
        "id": Column("integer", False, min=1, max=100, unique=True),
        "x": Column("float", True, max_null_rate=0.4, min=0, max=10),
        "kind": Column("string", False, categories=("a", "b")),
        "code": Column("string", True, pattern="[A-Z]{2}[0-9]"),
    },
    rows=Rows(min=1),
)
HEADER = "id,x,kind,code\n"


def _rules(report: dict) -> dict[tuple[str | None, str], dict]:
    return {(f["column"], f["rule"]): f for f in report["failures"]}


def _csv(tmp_path: Path, text: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


# --- the file format ------------------------------------------------------------------------


def test_contract_round_trips_through_yaml() -> None:
    """dumps_contract then parse_contract gives the same contract (quotes where YAML needs)."""
    tricky = Contract(
        1, {"c": Column("string", False, categories=("NO", "null", "1", "yes", "9E"))}
    )
    for contract in (CONTRACT, tricky):
        assert parse_contract(dumps_contract(contract, header="a\nb"), "c.yaml") == contract


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("    max: 10\n", "columns.x.max: must be a number, got 'ten'"),
        ("    nullable: false\n", "columns.id.nullable: must be true or false, got 'maybe'"),
        ("    type: integer\n", "columns.id.type: must be one of"),
        ("    pattern: '[A-Z]{2}[0-9]'\n", "columns.code.pattern: is not a valid RE2"),
        ("    min: 1\n", "columns.id.mni: unknown key"),
    ],
)
def test_malformed_contract_names_file_line_and_key(
    tmp_path: Path, edit: str, message: str
) -> None:
    """A bad value, type or key: ContractError (exit 2) naming the file, the line and the key."""
    text = dumps_contract(CONTRACT)
    replacement = {
        "    max: 10\n": "    max: ten\n",
        "    nullable: false\n": "    nullable: maybe\n",
        "    type: integer\n": "    type: int64\n",
        "    pattern: '[A-Z]{2}[0-9]'\n": "    pattern: '[A-Z'\n",
        "    min: 1\n": "    mni: 1\n",
    }[edit]
    assert edit in text
    line = text.splitlines().index(edit.rstrip("\n")) + 1
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(edit, replacement, 1))
    with pytest.raises(ContractError) as caught:
        load_contract(path)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert message in str(caught.value)


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    """A YAML syntax error is reported with its line."""
    path = tmp_path / "c.yaml"
    path.write_text("contract: 1\ncolumns:\n  a: {type: integer\n")
    with pytest.raises(ContractError, match=r"c\.yaml:4: malformed YAML"):
        load_contract(path)


def test_relations_between_rules_are_checked(tmp_path: Path) -> None:
    """min above max, categories on a number, a ceiling on a non-nullable column: refused."""
    cases = {
        "min: 5\n    max: 1": "columns.a.max: must be >= min",
        "categories: [x]": "columns.a.categories: applies to string columns",
        "max_null_rate: 0.1": "columns.a.max_null_rate: is only for a nullable column",
    }
    for rule, message in cases.items():
        text = f"contract: 1\ncolumns:\n  a:\n    type: integer\n    nullable: false\n    {rule}\n"
        with pytest.raises(ContractError, match=message):
            parse_contract(text, "c.yaml")


def test_committed_contracts_load() -> None:
    """The reference project's contracts are valid contract files."""
    for path in sorted((ROOT / "contracts").glob("*.yaml")):
        assert load_contract(path).columns


# --- inference ------------------------------------------------------------------------------


def test_infer_reads_types_nulls_ranges_categories_and_uniqueness(tmp_path: Path) -> None:
    """Inference records what the data satisfies, widened by the margin, for review."""
    frame = pd.DataFrame(
        {
            "id": np.arange(1, 1001),
            "x": np.where(np.arange(1000) % 10 == 0, np.nan, np.linspace(2.0, 8.0, 1000)),
            "kind": np.array(["a", "b"])[np.arange(1000) % 2],
            "count": np.arange(1000) % 7,
        }
    )
    path = tmp_path / "ref.parquet"
    frame.to_parquet(path)
    contract = infer(path, margin=0.1)
    assert contract.columns["id"] == Column("integer", False, min=0, max=1100, unique=True)
    x = contract.columns["x"]
    assert (x.type, x.nullable, x.min, x.max) == ("float", True, 1.406, 8.6)
    assert x.max_null_rate == pytest.approx(0.16)
    assert contract.columns["kind"].categories == ("a", "b")
    assert contract.columns["count"].unique is False
    assert validate(path, contract)["valid"]


def test_infer_refuses_a_file_it_cannot_read_as_a_table(tmp_path: Path) -> None:
    """Duplicate headers or ragged rows: infer stops with a DataError naming the problem."""
    with pytest.raises(DataError, match="'a' appears twice"):
        infer(_csv(tmp_path, "a,b,a\n1,2,3\n"))
    with pytest.raises(DataError, match="wrong number of fields"):
        infer(_csv(tmp_path, "a,b\n1,2\n3\n", "ragged.csv"))


# --- validation: every failure at once, with rows -------------------------------------------


def test_every_failure_is_reported_with_counts_examples_and_rows() -> None:
    """All failing rules of all columns in one report; examples carry their row numbers."""
    frame = pd.DataFrame(
        {
            "id": [1, 2, 2, 400, 5, 6],
            "x": [1.0, np.inf, np.nan, np.nan, np.nan, -3.0],
            "kind": ["a", "c", "b", "a", "d", "a"],
            "code": ["AB1", "ab1", None, "CD2", "EF33", "GH4"],
        }
    )
    report = validate_table(frame, CONTRACT)
    assert not report["valid"]
    rules = _rules(report)
    assert set(rules) == {
        ("id", "max"),
        ("id", "unique"),
        ("x", "finite"),
        ("x", "min"),
        ("x", "max_null_rate"),
        ("kind", "categories"),
        ("code", "pattern"),
    }
    assert rules[("id", "max")]["examples"] == [{"row": 3, "value": 400}]
    assert rules[("id", "unique")]["examples"] == [{"row": 2, "value": 2}]
    assert rules[("x", "finite")]["examples"] == [{"row": 1, "value": "inf"}]
    assert rules[("x", "max_null_rate")]["count"] == 3
    assert rules[("kind", "categories")]["count"] == 2
    assert [e["row"] for e in rules[("kind", "categories")]["examples"]] == [1, 4]
    assert rules[("code", "pattern")]["examples"] == [
        {"row": 1, "value": "ab1"},
        {"row": 4, "value": "EF33"},
    ]


def test_not_null_counts_nan_as_missing() -> None:
    """In a float column with nullable: false, a NaN is a missing value."""
    contract = Contract(1, {"x": Column("float", False)})
    report = validate_table(pa.table({"x": np.array([1.0, np.nan, 2.0])}), contract)
    assert _rules(report)[("x", "not_null")]["examples"] == [{"row": 1, "value": "nan"}]


def test_a_valid_file_is_valid(tmp_path: Path) -> None:
    """Clean data passes with no failures (CSV and Parquet alike)."""
    text = HEADER + "1,1.5,a,AB1\n2,,b,\n3,2,a,CD3\n"
    assert validate(_csv(tmp_path, text), CONTRACT)["valid"]
    frame = pd.DataFrame(
        {"id": [1, 2, 3], "x": [1.5, None, 2], "kind": ["a", "b", "a"], "code": ["AB1", None, None]}
    )
    path = tmp_path / "ok.parquet"
    frame.to_parquet(path)
    assert validate(path, CONTRACT)["valid"]


def test_extra_and_missing_columns(tmp_path: Path) -> None:
    """A column the contract does not know, and one it needs that is absent: both reported."""
    report = validate(_csv(tmp_path, "id,x,kind,extra\n1,1,a,9\n"), CONTRACT)
    rules = _rules(report)
    assert ("code", "missing_column") in rules
    assert ("extra", "extra_column") in rules


def test_duplicate_header_names(tmp_path: Path) -> None:
    """pandas renames a duplicate header to `x.1`; the validator reports it."""
    report = validate(_csv(tmp_path, "id,x,kind,code,x\n1,1,a,AB1,2\n"), CONTRACT)
    assert _rules(report)[("x", "duplicate_column")]["count"] == 2


def test_header_only_file_has_too_few_rows(tmp_path: Path) -> None:
    """pandas reads a header-only file as an empty frame; the contract wants rows."""
    report = validate(_csv(tmp_path, HEADER), CONTRACT)
    assert _rules(report)[(None, "rows")]["count"] == 0
    assert not report["valid"]


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_file_is_unreadable(tmp_path: Path, text: str) -> None:
    """A file without even a header cannot be checked: DataError (exit 2)."""
    with pytest.raises(DataError, match="empty file: no header row"):
        validate(_csv(tmp_path, text), CONTRACT)


def test_ragged_rows_are_failures_with_their_rows(tmp_path: Path) -> None:
    """Short and long rows are reported (pandas pads them with NaN); row numbers stay true."""
    text = HEADER + "1,1,a,AB1\n2,2\n3,3,b,CD2,extra\n4,1,z,EF3\n"
    rules = _rules(validate(_csv(tmp_path, text), CONTRACT))
    ragged = rules[(None, "ragged_row")]
    assert ragged["count"] == 2
    assert [e["row"] for e in ragged["examples"]] == [1, 2]
    # The bad category is on data row 3, counted as the file has it (ragged rows included).
    assert rules[("kind", "categories")]["examples"] == [{"row": 3, "value": "z"}]


def test_non_utf8_bytes_are_failures_with_their_rows(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 in a text column: reported by row, not replaced silently."""
    data = (HEADER + "1,1,a,AB1\n2,1,b,").encode() + b"\xe9\xe9\n" + b"3,1,a,CD2\n"
    rules = _rules(validate(_csv(tmp_path, data), CONTRACT))
    assert rules[("code", "utf8")]["examples"] == [{"row": 1, "value": "\\xe9\\xe9"}]
    assert ("code", "not_null") not in rules  # reported once, as what it is


def test_non_utf8_header_is_unreadable(tmp_path: Path) -> None:
    """A header that is not UTF-8: DataError naming line 1."""
    with pytest.raises(DataError, match=r":1: the header is not UTF-8"):
        validate(_csv(tmp_path, b"id,\xff\n1,2\n"), CONTRACT)


def test_inf_in_a_numeric_csv_column(tmp_path: Path) -> None:
    """`inf` parses as a number in pandas and pyarrow; the contract refuses it."""
    rules = _rules(validate(_csv(tmp_path, HEADER + "1,inf,a,AB1\n2,-Infinity,b,\n"), CONTRACT))
    assert rules[("x", "finite")]["count"] == 2


def test_values_of_the_wrong_type_in_csv(tmp_path: Path) -> None:
    """A value that does not parse as the declared type: a `type` failure with its row."""
    text = HEADER + "1,1,a,AB1\nseven,1,a,AB1\n3,x,b,\n"
    rules = _rules(validate(_csv(tmp_path, text), CONTRACT))
    assert rules[("id", "type")]["examples"] == [{"row": 1, "value": "seven"}]
    assert rules[("x", "type")]["examples"] == [{"row": 2, "value": "x"}]
    assert ("id", "not_null") not in rules


def test_wrong_column_type_in_parquet(tmp_path: Path) -> None:
    """A Parquet column of another type fails `type` for the whole column; others still run."""
    path = tmp_path / "t.parquet"
    pq.write_table(
        pa.table({"id": ["1", "2"], "x": [1.0, 99.0], "kind": ["a", "b"], "code": ["AB1", None]}),
        path,
    )
    rules = _rules(validate(path, CONTRACT))
    assert rules[("id", "type")]["count"] == 2
    assert ("x", "max") in rules


def test_integers_are_accepted_as_floats(tmp_path: Path) -> None:
    """An int64 column satisfies a float rule (every int below 2**53 is a float)."""
    contract = Contract(1, {"x": Column("float", False, min=0, max=5)})
    assert validate_table(pa.table({"x": [1, 2, 3]}), contract)["valid"]


def test_missing_or_unreadable_data_files(tmp_path: Path) -> None:
    """No file, a directory, or bytes that are not Parquet: DataError naming the path."""
    with pytest.raises(DataError, match="no such file"):
        validate(tmp_path / "nope.csv", CONTRACT)
    with pytest.raises(DataError, match="is a directory"):
        validate(tmp_path, CONTRACT)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="not a Parquet file"):
        validate(bad, CONTRACT)
