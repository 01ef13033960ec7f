"""params.yaml: strict, DVC-faithful loading of every stage section."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightdelay.params import Params, load_params, parse_params
from helpers import ROOT
from mlratchet.errors import BadInputError, ParamsError
from mlratchet.yamlio import dumps_yaml, load_yaml, parse_yaml


def _data() -> dict:
    return load_yaml(ROOT / "params.yaml")


def _error(data: object) -> str:
    with pytest.raises(ParamsError) as info:
        parse_params(data, "params.yaml")
    return str(info.value)


def test_reference_params_load() -> None:
    """The committed params.yaml is valid and typed."""
    params = load_params(ROOT / "params.yaml")
    assert isinstance(params, Params)
    assert params.prepare.train_months == (1, 2, 3, 4, 5, 6, 7, 8)
    assert isinstance(params.train.learning_rate, float)


def test_missing_key_is_named() -> None:
    """A missing key is reported with its dotted name."""
    data = _data()
    del data["train"]["max_iter"]
    assert _error(data) == "params.yaml: train.max_iter: missing required key"


def test_unknown_key_is_named() -> None:
    """An unknown key (a typo) is reported, not ignored."""
    data = _data()
    data["train"]["max_iters"] = 10
    assert _error(data).startswith("params.yaml: train.max_iters: unknown key")


def test_unknown_section_is_named() -> None:
    """An unknown top-level section is reported."""
    data = _data()
    data["trian"] = {}
    assert _error(data).startswith("params.yaml: trian: unknown key")


def test_params_yaml_holds_no_policy() -> None:
    """mlratchet's policy is not a param: the reference params.yaml has no ratchet section."""
    from mlratchet.yamlio import load_yaml

    assert "ratchet" not in load_yaml(ROOT / "params.yaml")


def test_wrong_type_is_named_with_value() -> None:
    """A wrong type names the key, the expected type and the value given."""
    data = _data()
    data["train"]["max_iter"] = "ten"
    assert _error(data) == "params.yaml: train.max_iter: must be an integer, got 'ten'"


def test_bool_is_not_an_integer() -> None:
    """YAML true is not accepted where an integer is expected."""
    data = _data()
    data["train"]["n_threads"] = True
    assert "train.n_threads: must be an integer, got true" in _error(data)


def test_list_item_type_is_named_with_index() -> None:
    """A bad list item is named with its index."""
    data = _data()
    data["prepare"]["val_months"] = [9, "10"]
    assert "prepare.val_months[1]: must be an integer, got '10'" in _error(data)


def test_split_months_must_be_time_ordered_and_disjoint() -> None:
    """Splits are by time: overlapping or out-of-order months are refused."""
    data = _data()
    data["prepare"]["val_months"] = [8, 9]
    assert "prepare.val_months: month 8 is already in train_months" in _error(data)
    data = _data()
    data["prepare"]["train_months"] = [1, 2, 11]
    data["prepare"]["test_months"] = [12]
    assert "time order" in _error(data)


@pytest.mark.parametrize("column", ["dep_delay", "arr_delay", "dep_time", "arr_time", "air_time"])
def test_leaky_feature_column_is_refused(column: str) -> None:
    """No column known only after departure can be configured as a feature."""
    data = _data()
    data["featurize"]["numeric"] = [*data["featurize"]["numeric"], column]
    assert f"featurize.numeric: {column!r} is only known after departure" in _error(data)


def test_tampered_pin_must_look_like_sha256() -> None:
    """A pinned hash that is not 64 hex digits is refused with the file's name."""
    data = _data()
    data["ingest"]["sha256"]["weather.csv"] = "abc"
    assert "ingest.sha256.weather.csv: must be 64 lowercase hex digits" in _error(data)


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    """A YAML syntax error names the file and the line."""
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  seed: 1\n  max_iter: [1, 2\n", encoding="utf-8")
    with pytest.raises(BadInputError, match=r"params\.yaml: line \d+: malformed YAML") as info:
        load_params(path)
    assert "\n" not in str(info.value)


def test_duplicate_key_is_malformed(tmp_path: Path) -> None:
    """A duplicated key is an error, not a silent last-wins."""
    with pytest.raises(BadInputError, match="malformed YAML"):
        parse_yaml("a: 1\na: 2\n", "params.yaml")


def test_yaml_12_rules_as_dvc() -> None:
    """Values are read as YAML 1.2 (DVC's ruamel safe loader), not PyYAML's 1.1."""
    data = parse_yaml("a: NO\nb: off\nc: 0123\nd: 1:30\ne: yes\n", "x.yaml")
    assert data == {"a": "NO", "b": "off", "c": 123, "d": "1:30", "e": "yes"}


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**31),
    lr=st.floats(min_value=1e-4, max_value=1.0, allow_nan=False),
    threshold=st.floats(min_value=0.01, max_value=0.99),
    split=st.integers(min_value=1, max_value=10),
)
def test_params_round_trip(seed: int, lr: float, threshold: float, split: int) -> None:
    """Params dumped as YAML and read back give the same values."""
    data = _data()
    data["train"]["seed"] = seed
    data["train"]["learning_rate"] = lr
    data["evaluate"]["threshold"] = threshold
    data["prepare"].update(
        train_months=list(range(1, split + 1)), val_months=[split + 1], test_months=[split + 2]
    )
    first = parse_params(data, "params.yaml")
    again = parse_params(parse_yaml(dumps_yaml(data), "params.yaml"), "params.yaml")
    assert again == first
