"""The policy file, ratchet.yaml: strict validation, naming the bad key."""

from __future__ import annotations

import pytest

from helpers import ROOT
from mlratchet.errors import ParamsError
from mlratchet.policy import MetricRule, load_policy, parse_policy


def test_reference_policy_loads() -> None:
    """The committed ratchet.yaml is a valid policy, with gates for the reference model."""
    policy = load_policy(ROOT / "ratchet.yaml")
    assert policy.holder_stage("flight-delay") == "production"
    assert policy.registry["flight-delay"].contract == "metrics/validation.json"


def test_empty_file_is_an_empty_policy() -> None:
    """An empty ratchet.yaml declares nothing."""
    assert parse_policy(None, "ratchet.yaml").metrics == {}


def test_absent_file_is_an_empty_policy_and_says_so(tmp_path) -> None:
    """A project without ratchet.yaml has the empty policy, and the source says it is absent."""
    from mlratchet.policy import policy_at

    policy, source = policy_at(tmp_path, None)
    assert policy.registry == {}
    assert "absent" in source


def test_metric_rules() -> None:
    """Directions and tolerances are read per flattened metric key."""
    policy = parse_policy({"metrics": {"a.b": {"direction": "lower", "tolerance": 0.01}}}, "p.yaml")
    assert policy.metrics == {"a.b": MetricRule(direction="lower", tolerance=0.01)}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"metrix": {}}, "p.yaml: metrix: unknown key"),
        ({"metrics": {"a": {"direction": "up"}}}, "metrics.a.direction: must be one of"),
        (
            {"metrics": {"a": {"direction": "higher", "tolerance": -1}}},
            "metrics.a.tolerance: must be >= 0",
        ),
        (
            {"metrics": {"a": {"direction": "higher", "tol": 1}}},
            "metrics.a.tol: unknown key",
        ),
    ],
)
def test_bad_policy_is_named(section: dict, message: str) -> None:
    """An unknown key or a bad value is reported with its full key."""
    with pytest.raises(ParamsError) as info:
        parse_policy(section, "p.yaml")
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"models": {"trusted_types": ["eval"]}}, "models.trusted_types[0]: must be a dotted"),
        ({"models": {"adapter": "no_colon"}}, "models.adapter: must be 'module:function'"),
        ({"ct": {"refresh": "not a list"}}, "ct.refresh"),
        (
            {"registry": {"m": {"stages": [{"name": "s"}], "evaluate": "nocolon"}}},
            "registry.m.evaluate: must be 'module:function'",
        ),
        (
            {"registry": {"m": {"stages": [{"name": "s"}], "evaluate": "p.q:f"}}},
            "registry.m.evaluation_data: list the files the evaluate function reads",
        ),
        (
            {"registry": {"m": {"stages": [{"name": "s"}], "on_incomparable": "maybe"}}},
            "registry.m.on_incomparable: must be one of",
        ),
    ],
)
def test_models_and_ct_sections_are_validated(section: dict, message: str) -> None:
    """The models and ct sections are checked like the rest, naming the key."""
    with pytest.raises(ParamsError) as info:
        parse_policy(section, "p.yaml")
    assert message in str(info.value)
