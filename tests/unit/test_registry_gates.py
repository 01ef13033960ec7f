"""Promotion gates and their policy: every gate passes and fails where it should."""

from __future__ import annotations

import math

import pytest

from mlratchet.errors import BadInputError, ParamsError
from mlratchet.policy import Policy, parse_policy
from mlratchet.registry.gates import Evidence, GateRow, Subject, evaluate, flat_metrics

POLICY = {
    "metrics": {
        "model.val.auc": {"direction": "higher", "tolerance": 0.005},
        "model.val.loss": {"direction": "lower"},
        "model.val.f1": {"direction": "higher", "tolerance": 0.01},
    },
    "registry": {
        "fd": {
            "contract": "metrics/validation.json",
            "stages": [
                {
                    "name": "staging",
                    "verified": False,
                    "thresholds": {"model.val.auc": {"min": 0.7}},
                    "compare": {"model.val.auc": {"min_delta": -0.01}, "model.val.f1": {}},
                },
                {
                    "name": "production",
                    "thresholds": {"model.val.loss": {"max": 0.3}},
                    "compare": {"model.val.loss": {"min_rel_delta": 0.05}},
                },
            ],
        }
    },
}
SHA = "a" * 40
OLD = "b" * 40


def policy() -> Policy:
    """The test policy."""
    return parse_policy(POLICY, "ratchet.yaml")


def evidence(
    metrics: dict[str, float] | None,
    *,
    incumbent: dict[str, float] | None = None,
    holds: dict[str, str] | None = None,
    verify: dict[str, object] | None = None,
    validation: bytes | None = b'{"valid": true}',
) -> Evidence:
    """Evidence for a candidate with these metrics (and optionally an incumbent)."""
    return Evidence(
        candidate=Subject("v2.0.0", SHA, metrics),
        holds=holds or {},
        verify=verify,
        lock_md5="c" * 32,
        validation=validation,
        incumbent=Subject("v1.0.0", OLD, incumbent) if incumbent is not None else None,
    )


def rows(stage: str, ev: Evidence) -> dict[str, GateRow]:
    """The gate rows by gate name."""
    return {row.gate: row for row in evaluate(policy(), "fd", stage, ev, source="params.yaml")}


def test_all_gates_pass_and_the_table_names_each() -> None:
    """A good candidate passes every gate; each row says what was required and found."""
    table = rows(
        "staging",
        evidence(
            {"model.val.auc": 0.75, "model.val.f1": 0.5, "model.val.loss": 0.2},
            incumbent={"model.val.auc": 0.74, "model.val.f1": 0.505, "model.val.loss": 0.2},
        ),
    )
    assert [r.result for r in table.values()] == ["pass"] * 6
    assert table["model.val.auc"].required == ">= 0.7"
    assert table["model.val.auc vs staging"].actual == "+0.01: 0.74 (v1.0.0) -> 0.75, improved"
    assert table["model.val.f1 vs staging"].actual == "-0.005: 0.505 (v1.0.0) -> 0.5, unchanged"
    assert table["stage order"].required == "no earlier stage"


def test_first_promotion_says_there_is_nothing_to_compare() -> None:
    """No version in the stage: the comparison is skipped, explicitly, and does not fail."""
    table = rows("staging", evidence({"model.val.auc": 0.75}))
    row = table["vs staging"]
    assert row.result == "skip"
    assert "nothing to compare against: no version is in staging yet" in row.actual


def test_threshold_and_regression_fail() -> None:
    """Below the threshold, and worse than the incumbent beyond min_delta: both fail."""
    table = rows("staging", evidence({"model.val.auc": 0.65}, incumbent={"model.val.auc": 0.7}))
    assert table["model.val.auc"].result == "fail"
    assert table["model.val.auc vs staging"].result == "fail"
    assert table["model.val.auc vs staging"].actual.startswith("-0.05")


def test_default_comparison_is_the_metrics_verdict() -> None:
    """`compare: {key: {}}` fails exactly when `ratchet metrics diff --check` says regressed."""
    table = rows(
        "staging",
        evidence(
            {"model.val.auc": 0.75, "model.val.f1": 0.48},
            incumbent={"model.val.auc": 0.75, "model.val.f1": 0.5},
        ),
    )
    row = table["model.val.f1 vs staging"]
    assert row.required == "no regression beyond tolerance 0.01 (higher is better)"
    assert (row.result, row.actual) == ("fail", "-0.02: 0.5 (v1.0.0) -> 0.48, regressed")
    gone = rows("staging", evidence({"model.val.auc": 0.75}, incumbent={"model.val.f1": 0.5}))
    assert gone["model.val.f1 vs staging"].result == "fail"  # the candidate lost the metric
    assert gone["model.val.f1 vs staging"].actual.startswith("missing: 0.5")
    new = rows("staging", evidence({"model.val.auc": 0.75, "model.val.f1": 0.4}, incumbent={}))
    assert new["model.val.f1 vs staging"].result == "pass"  # nothing to regress from
    assert new["model.val.f1 vs staging"].actual == "added: missing in v1.0.0"
    assert new["model.val.auc vs staging"].result == "fail"  # min_delta needs both values


def test_relative_change_uses_the_metric_direction() -> None:
    """For a lower-is-better metric a 10% drop is +10%; 2% is short of the 5% required."""
    holds = {"staging": "fd#staging#1"}
    verify = {"ok": True, "rev": SHA, "lock_md5": "c" * 32}
    good = rows(
        "production",
        evidence(
            {"model.val.loss": 0.18}, incumbent={"model.val.loss": 0.2}, holds=holds, verify=verify
        ),
    )
    assert good["model.val.loss vs production"].result == "pass"
    assert good["model.val.loss vs production"].actual.startswith("+10%")
    small = rows(
        "production",
        evidence(
            {"model.val.loss": 0.196},
            incumbent={"model.val.loss": 0.2},
            holds=holds,
            verify=verify,
        ),
    )
    assert small["model.val.loss vs production"].result == "fail"


def test_stage_order_and_verified_fail_without_evidence() -> None:
    """Production needs staging held and a verify record: both rows fail without them."""
    table = rows("production", evidence({"model.val.loss": 0.1}))
    assert table["stage order"].actual == "does not hold staging"
    assert table["verified"].result == "fail"
    assert "run: ratchet verify --rev aaaaaaa" in table["verified"].actual


def test_non_finite_and_missing_metrics_fail() -> None:
    """A NaN metric fails the finite gate and its threshold; a missing one fails too."""
    full = {"model.val.f1": 0.5, "model.val.loss": 0.2}
    table = rows("staging", evidence({"model.val.auc": math.nan, "other": 1.0, **full}))
    assert table["finite metrics"].result == "fail"
    assert table["finite metrics"].actual == "model.val.auc = NaN"
    assert table["model.val.auc"].result == "fail"
    assert rows("staging", evidence({"x": 1.0}))["model.val.auc"].actual == "missing"


def test_null_absent_and_text_metrics_fail_the_finite_gate() -> None:
    """A declared metric that is null (DVC's reading drops it: absent), or a number written as
    text, fails the finite gate; a label that is text ("model": "hgb") does not."""
    full = {"model.val.auc": 0.75, "model.val.f1": 0.5, "model.val.loss": 0.2}
    assert rows("staging", evidence({**full, "model.name": "hgb"}))["finite metrics"].result == (
        "pass"
    )
    absent = rows("staging", evidence({"model.val.auc": 0.75, "model.val.f1": 0.5}))
    assert absent["finite metrics"].result == "fail"
    assert absent["finite metrics"].actual == "model.val.loss = null (absent)"
    text = rows("staging", evidence({**full, "model.val.loss": "0.2", "rows": "nan"}))
    assert text["finite metrics"].result == "fail"
    assert "model.val.loss = '0.2' (text, not a number)" in text["finite metrics"].actual
    assert "rows = 'nan' (text, not a number)" in text["finite metrics"].actual


def test_unreadable_metrics_fail_with_the_reason() -> None:
    """Metrics that could not be read fail the metric gates, saying why."""
    ev = Evidence(
        candidate=Subject("v2.0.0", SHA, None, "metrics/m.json at aaaaaaa: not in the cache"),
        holds={},
        verify=None,
        lock_md5="c" * 32,
        validation=b'{"valid": true}',
        incumbent=None,
    )
    table = rows("staging", ev)
    assert "not in the cache" in table["model.val.auc"].actual
    assert table["finite metrics"].result == "fail"


def test_contract_gate() -> None:
    """The data contract passes only on "valid": true at the commit."""
    assert rows("staging", evidence({}, validation=None))["data contract"].result == "fail"
    bad = rows("staging", evidence({}, validation=b'{"valid": false}'))["data contract"]
    assert (bad.result, bad.actual) == ("fail", '"valid": false')


def test_flat_metrics_keys_by_name_and_by_path() -> None:
    """Keys unique across files are usable alone; every key also as path:key."""
    flat = flat_metrics({"a.json": {"x": 1, "y": 2}, "b.json": {"y": 3}})
    assert flat == {"x": 1, "a.json:x": 1, "a.json:y": 2, "b.json:y": 3}


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([], "registry.fd.stages: list at least one stage"),
        ([{"name": "a"}, {"name": "a"}], "stages[1].name: stage 'a' is listed twice"),
        ([{"name": "a", "requires": ["b"]}], "stages[0].requires: 'b' is not another stage"),
        ([{"name": "a", "thresholds": {"m": {}}}], "thresholds.m.min: give min, max or both"),
        (
            [{"name": "a", "thresholds": {"m": {"min": 2, "max": 1}}}],
            "thresholds.m.min: must be <= max",
        ),
        (
            [{"name": "a", "compare": {"m": {"min_delta": 0, "min_rel_delta": 0}}}],
            "compare.m.min_delta: give min_delta or min_rel_delta, not both",
        ),
        ([{"name": "a", "verified": "yes"}], "stages[0].verified: must be true or false"),
    ],
)
def test_bad_registry_policy_names_the_key(stages: list[object], message: str) -> None:
    """A malformed registry policy is a ParamsError naming the full key."""
    with pytest.raises(ParamsError, match=None) as info:
        parse_policy({"registry": {"fd": {"stages": stages}}}, "ratchet.yaml")
    assert message in str(info.value)


def test_compared_metric_needs_a_direction() -> None:
    """Comparing a metric with no direction under ratchet.metrics is reported by key."""
    data = {"registry": {"fd": {"stages": [{"name": "s", "compare": {"m": {
        "min_delta": 0}}}]}}}  # fmt: skip
    with pytest.raises(ParamsError, match=r"stages\[0\]\.compare\.m: the metric has no direction"):
        evaluate(parse_policy(data, "p"), "fd", "s", evidence({}), source="p")


def test_unknown_artifact_or_stage_is_bad_input() -> None:
    """An artifact or stage the policy does not declare cannot be promoted to."""
    with pytest.raises(BadInputError, match="declares no stages for 'other'"):
        evaluate(policy(), "other", "staging", evidence({}), source="params.yaml")
    with pytest.raises(BadInputError, match="has no stage 'canary'"):
        evaluate(policy(), "fd", "canary", evidence({}), source="params.yaml")


def _other_rows(
    policy_extra: dict[str, object], old_rows: str, new_rows: str
) -> dict[str, GateRow]:
    """The staging gates for versions measured on ``old_rows`` and ``new_rows`` (md5s)."""
    data = {
        **POLICY,
        "registry": {
            "fd": {
                **POLICY["registry"]["fd"],
                "evaluation_data": ["data/val.parquet"],
                **policy_extra,
            }
        },
    }
    ev = Evidence(
        candidate=Subject(
            "v2.0.0",
            SHA,
            {"model.val.auc": 0.72, "model.val.f1": 0.4},
            outputs={"data/val.parquet": new_rows},
        ),
        holds={},
        verify=None,
        lock_md5="c" * 32,
        validation=b'{"valid": true}',
        incumbent=Subject(
            "v1.0.0",
            OLD,
            {"model.val.auc": 0.8, "model.val.f1": 0.5},
            outputs={"data/val.parquet": old_rows},
        ),
    )
    declared = parse_policy(data, "ratchet.yaml")
    return {r.gate: r for r in evaluate(declared, "fd", "staging", ev, source="ratchet.yaml")}


def test_versions_measured_on_other_data_fail_closed() -> None:
    """Without an evaluate hook, recorded metrics measured on other rows are not comparable:
    the row fails (a check that cannot judge says no), saying why and how to fix it; on the
    same rows they are judged as usual."""
    other = _other_rows({}, "1" * 32, "2" * 32)
    assert "model.val.auc vs staging" not in other
    assert other["vs staging"].result == "fail"
    assert "not comparable: v1.0.0 was measured on other data" in other["vs staging"].actual
    assert "data/val.parquet 11111111 -> 22222222" in other["vs staging"].actual
    assert "registry.fd.evaluate" in other["vs staging"].actual
    assert other["model.val.auc"].result == "pass"  # the thresholds still judge it
    same = _other_rows({}, "1" * 32, "1" * 32)
    assert same["model.val.auc vs staging"].result == "fail"


def test_on_incomparable_pass_skips_the_comparison() -> None:
    """``on_incomparable: pass`` turns a comparison that cannot be made into a skip, saying so."""
    other = _other_rows({"on_incomparable": "pass"}, "1" * 32, "2" * 32)
    assert other["vs staging"].result == "skip"
    assert "on_incomparable: pass" in other["vs staging"].actual


def _with_comparison(champion: dict[str, float] | None, challenger: dict[str, float]) -> Evidence:
    from mlratchet.registry.champion import Comparison, Scored

    ev = evidence({"model.val.auc": 0.99, "model.val.f1": 0.99}, incumbent={"model.val.auc": 0.5})
    comparison = Comparison(
        rows_md5="f" * 32,
        data={"data/val.parquet": "1" * 32},
        evaluate="proj:evaluate",
        champion=Scored("v1.0.0", OLD, "2" * 32, champion, None if champion else "gone"),
        challenger=Scored("v2.0.0", SHA, "3" * 32, challenger),
    )
    return Evidence(**{**ev.__dict__, "comparison": comparison})


def test_champion_challenger_compares_scores_on_the_same_rows() -> None:
    """With a comparison, the compare gates judge both models' scores on the same rows, not the
    metrics each recorded: a candidate whose own numbers look better is refused when the holder
    scores higher on the same rows."""
    table = rows(
        "staging",
        _with_comparison(
            {"model.val.auc": 0.8, "model.val.f1": 0.5}, {"model.val.auc": 0.7, "model.val.f1": 0.4}
        ),
    )
    row = table["model.val.auc vs staging"]
    assert row.result == "fail"
    assert row.actual.startswith("same rows ffffffff: ")
    assert "0.8 (v1.0.0) -> 0.7" in row.actual
    better = rows(
        "staging",
        _with_comparison(
            {"model.val.auc": 0.7, "model.val.f1": 0.4}, {"model.val.auc": 0.8, "model.val.f1": 0.5}
        ),
    )
    assert better["model.val.auc vs staging"].result == "pass"


def test_a_holder_that_cannot_be_scored_is_not_comparable_and_fails() -> None:
    """A holder with no scores (model missing, unloadable) fails the comparison closed."""
    table = rows("staging", _with_comparison(None, {"model.val.auc": 0.9, "model.val.f1": 0.9}))
    assert table["vs staging"].result == "fail"
    assert "not comparable: v1.0.0: gone" in table["vs staging"].actual


def test_contract_gate_is_skipped_and_says_why_without_a_record() -> None:
    """A policy that names no contract record skips the contract gate, saying where to set it."""
    data = {**POLICY, "registry": {"fd": {**POLICY["registry"]["fd"]}}}
    del data["registry"]["fd"]["contract"]
    table = {
        r.gate: r
        for r in evaluate(
            parse_policy(data, "ratchet.yaml"), "fd", "staging", evidence({}), source="r"
        )
    }
    row = table["data contract"]
    assert row.result == "skip"
    assert "registry.fd.contract" in row.actual
