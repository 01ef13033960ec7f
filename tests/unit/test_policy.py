"""The ratchet: policy section: strict validation, naming the bad key."""

from __future__ import annotations

import pytest

from helpers import ROOT
from mlratchet.errors import ParamsError
from mlratchet.policy import MetricRule, load_policy, parse_policy


def test_reference_policy_loads() -> None:
    """The committed params.yaml has a valid policy."""
    load_policy(ROOT / "params.yaml")


def test_no_section_is_an_empty_policy() -> None:
    """Without a ratchet: section, nothing is declared."""
    assert parse_policy({"train": {}}, "params.yaml").metrics == {}


def test_metric_rules() -> None:
    """Directions and tolerances are read per flattened metric key."""
    policy = parse_policy(
        {"ratchet": {"metrics": {"a.b": {"direction": "lower", "tolerance": 0.01}}}}, "p.yaml"
    )
    assert policy.metrics == {"a.b": MetricRule(direction="lower", tolerance=0.01)}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"metrix": {}}, "p.yaml: ratchet.metrix: unknown key"),
        ({"metrics": {"a": {"direction": "up"}}}, "ratchet.metrics.a.direction: must be one of"),
        (
            {"metrics": {"a": {"direction": "higher", "tolerance": -1}}},
            "ratchet.metrics.a.tolerance: must be >= 0",
        ),
        (
            {"metrics": {"a": {"direction": "higher", "tol": 1}}},
            "ratchet.metrics.a.tol: unknown key",
        ),
    ],
)
def test_bad_policy_is_named(section: dict, message: str) -> None:
    """An unknown key or a bad value is reported with its full key."""
    with pytest.raises(ParamsError) as info:
        parse_policy({"ratchet": section}, "p.yaml")
    assert message in str(info.value)
