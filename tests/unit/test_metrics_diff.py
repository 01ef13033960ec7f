"""Laws of the diff and the verdict: self-diff is empty, diff = new - old, keys are symmetric."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlratchet.errors import ParamsError
from mlratchet.metrics import Status, diff, failures, judge, status_of
from mlratchet.metrics.render import json_safe
from mlratchet.policy import MetricRule, parse_policy

KEYS = st.text(alphabet="abxy_", min_size=1, max_size=3)
NUMBERS = st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False))
LEAVES = st.one_of(NUMBERS, st.booleans(), st.text(alphabet="ab", max_size=2))
TREES = st.recursive(
    LEAVES, lambda c: st.dictionaries(KEYS, c, min_size=1, max_size=3), max_leaves=8
)
FILES = st.dictionaries(
    st.sampled_from(["m.json", "x/y.yaml"]), st.dictionaries(KEYS, TREES), max_size=2
)


@settings(deadline=None)  # timing-independent under a loaded machine
@given(files=FILES)
def test_diff_of_a_thing_with_itself_is_empty(files: dict) -> None:
    """diff(m, m) is empty; with unchanged rows, every diff is zero."""
    assert diff(files, files) == {}
    for changes in diff(files, files, with_unchanged=True).values():
        for change in changes.values():
            assert change["old"] == change["new"]
            if "diff" in change:
                assert change["diff"] == 0


@settings(deadline=None)  # timing-independent under a loaded machine
@given(old=FILES, new=FILES)
def test_diff_is_new_minus_old(old: dict, new: dict) -> None:
    """Every numeric change is new - old, and only numbers on both sides have a diff."""
    for changes in diff(old, new).values():
        for change in changes.values():
            numbers = all(isinstance(change[s], int | float) for s in ("old", "new"))
            assert ("diff" in change) == numbers
            if numbers:
                assert change["diff"] == change["new"] - change["old"]


@settings(deadline=None)  # timing-independent under a loaded machine
@given(old=FILES, new=FILES)
def test_keys_are_symmetric(old: dict, new: dict) -> None:
    """diff(a, b) and diff(b, a) name the same keys, with old and new swapped."""
    forward = diff(old, new)
    backward = diff(new, old)
    assert {(p, k) for p in forward for k in forward[p]} == {
        (p, k) for p in backward for k in backward[p]
    }
    for path, changes in forward.items():
        for key, change in changes.items():
            assert backward[path][key]["old"] == change["new"]
            assert backward[path][key]["new"] == change["old"]


def test_nan_always_shows_and_json_is_strict() -> None:
    """NaN never equals itself (always shown, as DVC); JSON spells it "NaN", not a bare token."""
    import json

    result = diff({"m.json": {"a": math.nan, "b": 1}}, {"m.json": {"a": math.nan, "b": 1}})
    assert list(result["m.json"]) == ["a"]
    text = json.dumps(json_safe(result), allow_nan=False)
    assert json.loads(text) == {"m.json": {"a": {"old": "NaN", "new": "NaN", "diff": "NaN"}}}
    assert json_safe([math.inf, -math.inf]) == ["Infinity", "-Infinity"]


def _json_safe_reference(value: Any) -> Any:
    """json_safe as first written, one isinstance chain per value: the fast path's oracle."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {str(k): _json_safe_reference(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe_reference(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class _Str(str):
    __slots__ = ()


SAFE_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities included
    st.text(max_size=3),
    st.builds(_Str, st.text(max_size=2)),
    st.dates(),
)
SAFE_TREES = st.recursive(
    SAFE_LEAVES,
    lambda c: st.one_of(
        st.dictionaries(st.one_of(KEYS, st.integers(0, 3)), c, max_size=3),
        st.lists(c, max_size=3),
        st.lists(c, max_size=2).map(tuple),
    ),
    max_leaves=12,
)


@settings(deadline=None)
@given(value=SAFE_TREES)
def test_json_safe_fast_path_equals_the_reference(value: Any) -> None:
    """json_safe (exact-type fast path) gives what the plain isinstance version gives, types
    of keys and values included."""
    ours, reference = json_safe(value), _json_safe_reference(value)
    assert repr(ours) == repr(reference)


HIGHER = MetricRule(direction="higher", tolerance=0.01)
LOWER = MetricRule(direction="lower", rel_tolerance=0.1)


@pytest.mark.parametrize(
    ("old", "new", "rule", "present", "status"),
    [
        (0.80, 0.85, HIGHER, True, Status.IMPROVED),
        (0.80, 0.80, HIGHER, True, Status.UNCHANGED),
        (0.80, 0.795, HIGHER, True, Status.UNCHANGED),  # worse, within the tolerance
        (0.80, 0.78, HIGHER, True, Status.REGRESSED),
        (1.00, 1.09, LOWER, True, Status.UNCHANGED),  # 9% worse, rel_tolerance 10%
        (1.00, 1.20, LOWER, True, Status.REGRESSED),
        (1.00, 0.50, LOWER, True, Status.IMPROVED),
        (None, 0.5, HIGHER, True, Status.ADDED),
        (math.nan, 0.5, HIGHER, True, Status.ADDED),
        (0.5, math.nan, HIGHER, True, Status.NOT_FINITE),
        (0.5, math.inf, LOWER, True, Status.NOT_FINITE),
        (0.5, "0.9", HIGHER, True, Status.NOT_A_NUMBER),
        (0.5, True, HIGHER, True, Status.NOT_A_NUMBER),
        (0.5, None, HIGHER, False, Status.MISSING),
    ],
)
def test_status(old: Any, new: Any, rule: MetricRule, present: bool, status: Status) -> None:
    """Each row of the status table, and which statuses fail the check."""
    got = status_of(old, new, rule, present=present)
    assert got == status
    assert got.failed == (status in {"regressed", "missing", "not finite", "not a number"})


def test_judge_per_file_and_missing_everywhere() -> None:
    """A rule applies in every file that has its key; a key in no file is missing."""
    old = {"a.json": {"acc": 0.9}, "b.json": {"acc": 0.8, "loss": 0.3}}
    new = {"a.json": {"acc": 0.95}, "b.json": {"loss": 0.5}}
    rules = {
        "acc": MetricRule(direction="higher"),
        "loss": MetricRule(direction="lower", tolerance=0.5),
        "f1": MetricRule(direction="higher"),
    }
    verdicts = judge(old, new, rules)
    got = [(v.key, v.path, v.status) for v in verdicts]
    assert got == [
        ("acc", "a.json", Status.IMPROVED),
        ("acc", "b.json", Status.MISSING),
        ("f1", None, Status.MISSING),
        ("loss", "b.json", Status.UNCHANGED),
    ]
    assert [v.key for v in failures(verdicts)] == ["acc", "f1"]
    assert verdicts[1].describe() == "b.json: acc missing: 0.8 -> - (higher is better)"


@settings(deadline=None)  # timing-independent under a loaded machine
@given(value=NUMBERS, rule=st.sampled_from([HIGHER, LOWER]))
def test_a_metric_never_regresses_against_itself(value: float, rule: MetricRule) -> None:
    """judge(m, m) has no failure for finite numbers."""
    verdicts = judge({"m.json": {"k": value}}, {"m.json": {"k": value}}, {"k": rule})
    assert [v.status for v in verdicts] == [Status.UNCHANGED]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"direction": "higher", "rel_tolerance": -0.1},
            "metrics.a.rel_tolerance: must be >= 0",
        ),
        (
            {"direction": "higher", "rel_tolerance": "1%"},
            "metrics.a.rel_tolerance: must be a number",
        ),
        (
            {"direction": "higher", "tolerance": ".inf"},
            "metrics.a.tolerance: must be a number",
        ),
        ({"tolerance": 0.1}, "metrics.a.direction: missing required key"),
    ],
)
def test_rules_are_validated_strictly(rule: dict, message: str) -> None:
    """A bad rule is exit 2 naming its key."""
    with pytest.raises(ParamsError, match=message.replace(".", r"\.")):
        parse_policy({"metrics": {"a": rule}}, "ratchet.yaml")


@settings(deadline=None)  # timing-independent under a loaded machine
@given(
    data=st.recursive(
        st.one_of(LEAVES, st.none(), st.lists(st.integers(), max_size=2)),
        lambda c: st.dictionaries(KEYS, c, max_size=3),
        max_leaves=10,
    )
)
def test_fast_metrics_flat_is_extract_then_flatten(data: Any) -> None:
    """History's one-pass flattening equals extract_metrics + flatten (up to key order)."""
    from mlratchet.metrics.parse import MetricsFileError, extract_metrics, flat_view, metrics_flat

    try:
        expected = flat_view(extract_metrics(data), "m.json", "HEAD")
    except MetricsFileError:
        with pytest.raises(MetricsFileError, match="appears twice"):
            metrics_flat(data, "m.json", "HEAD")
        return
    assert metrics_flat(data, "m.json", "HEAD") == expected
