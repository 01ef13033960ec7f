"""Promotion gates: the committed policy, evaluated into a table of gate, required, actual, result.

The policy is the ``ratchet: registry:`` section of ``params.yaml`` (see
:class:`mlratchet.policy.ArtifactPolicy`). A gate is a result, never an exception: every gate is
evaluated and reported, and the promotion goes ahead only if none failed (or with ``--force``
and a reason). The checks:

- **stage order**: the version holds the stages the policy lists before this one;
- **verified**: ``ratchet verify`` recorded ``ok: true`` for the commit and for its ``dvc.lock``
  (git note ``refs/notes/mlratchet``, key ``verify``);
- **data contract**: the record ``registry.NAME.contract`` of ``ratchet.yaml`` names (a JSON
  file with ``"valid"``) says ``"valid": true`` at the commit; skipped, saying so, when the
  policy names no record;
- **finite metrics**: no metric of the commit is NaN or Inf;
- **thresholds**: absolute bounds on metrics of the commit;
- **comparison**: the change against the version now in the stage, in each metric's direction
  (``ratchet: metrics:``); the first promotion to a stage says there is nothing to compare.
  With ``registry.NAME.evaluate`` (champion/challenger, :mod:`mlratchet.registry.champion`)
  both models' scores on the same rows are compared, not the metrics each recorded; a holder
  that cannot be scored is "not comparable", and the row fails unless ``on_incomparable:
  pass`` (then it is skipped, saying so).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from mlratchet.errors import BadInputError, ParamsError
from mlratchet.policy import ArtifactPolicy, CompareRule, MetricRule, Policy, StageGates, Threshold

if TYPE_CHECKING:
    from mlratchet.registry.champion import Comparison

Result = Literal["pass", "fail", "skip"]


class GateJSON(TypedDict):
    """A gate row as ``--json`` prints it and the model card stores it."""

    gate: str
    required: str
    actual: str
    result: Result


@dataclass(frozen=True)
class GateRow:
    """One gate: what the policy requires, what the candidate has, and the verdict."""

    gate: str
    required: str
    actual: str
    result: Result

    @property
    def failed(self) -> bool:
        """Whether this gate stops the promotion."""
        return self.result == "fail"

    def to_json(self) -> GateJSON:
        """The row as a JSON object."""
        return {
            "gate": self.gate,
            "required": self.required,
            "actual": self.actual,
            "result": self.result,
        }


@dataclass(frozen=True)
class Subject:
    """A version being judged, or the version it is compared with."""

    version: str
    commit: str
    metrics: Mapping[str, Any] | None  # flat metric key -> value (None: could not be read)
    metrics_error: str | None = None  # why they could not be read
    outputs: Mapping[str, str | None] = field(default_factory=dict)  # dvc.lock: path -> md5


@dataclass(frozen=True)
class Evidence:
    """What the gates look at for the candidate, gathered from git by the caller."""

    candidate: Subject
    holds: Mapping[str, str]  # stage the candidate holds -> the tag that assigned it
    verify: Mapping[str, Any] | None  # the `verify` record of the commit's git note
    lock_md5: str  # md5 of the commit's dvc.lock
    validation: bytes | None  # the artifact's contract record at the commit (None: absent)
    incumbent: Subject | None  # the version now in the stage (None: nobody)
    #: Champion and challenger scored on the same rows (None: no evaluate hook, or no holder).
    comparison: Comparison | None = None


def stage_policy(policy: Policy, artifact: str, stage: str, source: str) -> StageGates:
    """The gates of ``stage``; bad input if the policy does not declare the artifact or stage.

    Also checks that every compared metric has a direction under ``ratchet: metrics:``.
    """
    declared = policy.registry.get(artifact)
    if declared is None:
        raise BadInputError(
            f"{source}: ratchet.registry declares no stages for {artifact!r}; a model is "
            f"promoted only through committed gates (add ratchet.registry.{artifact}.stages)"
        )
    gates = declared.stage(stage)
    if gates is None:
        known = ", ".join(s.name for s in declared.stages)
        raise BadInputError(
            f"{source}: ratchet.registry.{artifact} has no stage {stage!r} (stages: {known})"
        )
    index = [s.name for s in declared.stages].index(stage)
    for key in gates.compare:
        if key not in policy.metrics:
            raise ParamsError(
                source,
                f"ratchet.registry.{artifact}.stages[{index}].compare.{key}",
                "the metric has no direction; declare it under ratchet.metrics",
            )
    return gates


def flat_metrics(by_path: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``{path: {key: value}}`` -> ``{key: value}`` (keys unique across files) + ``path:key``."""
    seen: dict[str, int] = {}
    for values in by_path.values():
        for key in values:
            seen[key] = seen.get(key, 0) + 1
    flat: dict[str, Any] = {}
    for path, values in by_path.items():
        for key, value in values.items():
            flat[f"{path}:{key}"] = value
            if seen[key] == 1:
                flat[key] = value
    return flat


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return f"{value:.6g}"


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "") + _fmt(value)


def _order_rows(policy: ArtifactPolicy, stage: str, holds: Mapping[str, str]) -> list[GateRow]:
    required = policy.required_stages(stage)
    if not required:
        return [GateRow("stage order", "no earlier stage", "-", "pass")]
    rows = []
    for name in required:
        tag = holds.get(name)
        actual = f"holds {name} ({tag})" if tag else f"does not hold {name}"
        rows.append(GateRow("stage order", f"holds {name}", actual, "pass" if tag else "fail"))
    return rows


def _verified_row(evidence: Evidence) -> GateRow:
    commit = evidence.candidate.commit
    required = f"ratchet verify ok for {commit[:7]}"
    record = evidence.verify
    if not record:
        actual = f"no verify record for {commit[:7]} (run: ratchet verify --rev {commit[:7]})"
        return GateRow("verified", required, actual, "fail")
    if record.get("rev") not in (None, commit):
        return GateRow("verified", required, f"the record is for {record.get('rev')}", "fail")
    recorded_lock = record.get("lock_md5")
    if recorded_lock is not None and recorded_lock != evidence.lock_md5:
        actual = f"verified another dvc.lock (md5 {recorded_lock}, now {evidence.lock_md5})"
        return GateRow("verified", required, actual, "fail")
    if record.get("ok") is True:
        return GateRow("verified", required, "ok", "pass")
    verdict = record.get("verdict", "not ok")
    return GateRow("verified", required, f"ratchet verify said: {verdict}", "fail")


def _contract_row(artifact: str, record: str | None, evidence: Evidence) -> GateRow:
    if record is None:
        why = f"ratchet.yaml names no contract record (registry.{artifact}.contract)"
        return GateRow("data contract", "a contract record", why, "skip")
    required = f'{record} "valid": true'
    commit = evidence.candidate.commit[:7]
    if evidence.validation is None:
        actual = f"no {record} at {commit} (run the stage that validates the data)"
        return GateRow("data contract", required, actual, "fail")
    try:
        data = json.loads(evidence.validation)
    except ValueError:
        return GateRow("data contract", required, "not JSON", "fail")
    valid = data.get("valid") if isinstance(data, dict) else None
    if valid is True:
        return GateRow("data contract", required, '"valid": true', "pass")
    return GateRow("data contract", required, f'"valid": {json.dumps(valid)}', "fail")


def _unreadable(subject: Subject) -> str:
    return f"metrics of {subject.version} unreadable: {subject.metrics_error or 'no reader'}"


def _numeric_text(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _finite_row(subject: Subject, declared: tuple[str, ...] = ()) -> GateRow:
    """No metric is NaN, Inf, null, or a number written as a string; and every metric the
    policy declares is there (a null is dropped by DVC's reading, so it shows as absent)."""
    required = "no metric is NaN, Inf, null or text"
    metrics = subject.metrics
    if metrics is None:
        return GateRow("finite metrics", required, _unreadable(subject), "fail")
    bad = [f"{key} = null (absent)" for key in declared if metrics.get(key) is None]
    count = 0
    for key, value in metrics.items():
        if ":" in key and key.split(":", 1)[1] in metrics:
            continue  # the same value under its short key
        if value is None:
            bad.append(f"{key} = null")
            continue
        if isinstance(value, str):
            if _numeric_text(value) or key in declared:
                bad.append(f"{key} = {value!r} (text, not a number)")
            continue
        number = _number(value)
        if number is None:
            continue
        count += 1
        if not math.isfinite(number):
            bad.append(f"{key} = {_fmt(number)}")
    if bad:
        shown = ", ".join(sorted(bad)[:3]) + (f" (+{len(bad) - 3} more)" if len(bad) > 3 else "")
        return GateRow("finite metrics", required, shown, "fail")
    return GateRow("finite metrics", required, f"all {count} finite", "pass")


def _threshold_row(key: str, bound: Threshold, subject: Subject) -> GateRow:
    if bound.min is not None and bound.max is not None:
        required = f"in [{_fmt(bound.min)}, {_fmt(bound.max)}]"
    elif bound.min is not None:
        required = f">= {_fmt(bound.min)}"
    else:
        required = f"<= {_fmt(float(bound.max or 0.0))}"
    if subject.metrics is None:
        return GateRow(key, required, _unreadable(subject), "fail")
    value = _number(subject.metrics.get(key))
    if value is None:
        return GateRow(key, required, "missing", "fail")
    ok = math.isfinite(value)
    ok = ok and (bound.min is None or value >= bound.min)
    ok = ok and (bound.max is None or value <= bound.max)
    return GateRow(key, required, _fmt(value), "pass" if ok else "fail")


def _compare_required(rule: CompareRule, direction: MetricRule) -> str:
    better = f"{direction.direction} is better"
    if rule.min_rel_delta is not None:
        return f"relative change >= {_signed(rule.min_rel_delta * 100)}% ({better})"
    if rule.min_delta is not None:
        return f"change >= {_signed(rule.min_delta)} ({better})"
    limits = [f"tolerance {_fmt(direction.tolerance)}"]
    if direction.rel_tolerance:
        limits.append(f"rel_tolerance {_fmt(direction.rel_tolerance)}")
    return f"no regression beyond {' / '.join(limits)} ({better})"


def _compare_row(
    key: str,
    rule: CompareRule,
    direction: MetricRule,
    *,
    stage: str,
    candidate: Subject,
    incumbent: Subject,
) -> GateRow:
    """The candidate against the version in the stage; the verdict is ``mlratchet.metrics``'."""
    from mlratchet.metrics.verdict import status_of

    required = _compare_required(rule, direction)
    gate = f"{key} vs {stage}"
    if candidate.metrics is None or incumbent.metrics is None:
        unreadable = candidate if candidate.metrics is None else incumbent
        return GateRow(gate, required, _unreadable(unreadable), "fail")
    raw_new, raw_old = candidate.metrics.get(key), incumbent.metrics.get(key)
    status = status_of(raw_old, raw_new, direction, present=key in candidate.metrics)
    new, old = _number(raw_new), _number(raw_old)
    if new is None or old is None or not (math.isfinite(new) and math.isfinite(old)):
        shown = f"{raw_old!r} ({incumbent.version}) -> {raw_new!r}"
        if key not in incumbent.metrics:
            shown = f"missing in {incumbent.version}"
        by_verdict = rule.min_delta is None and rule.min_rel_delta is None
        return GateRow(gate, required, f"{status}: {shown}", _ok(by_verdict and not status.failed))
    change = (new - old) * (1.0 if direction.direction == "higher" else -1.0)
    detail = f"{_fmt(old)} ({incumbent.version}) -> {_fmt(new)}, {status}"
    if rule.min_rel_delta is not None:
        if old == 0:
            return GateRow(gate, required, f"{detail}: relative change undefined", "fail")
        relative = change / abs(old)
        ok = relative >= rule.min_rel_delta
        return GateRow(gate, required, f"{_signed(relative * 100)}%: {detail}", _ok(ok))
    if rule.min_delta is not None:
        return GateRow(
            gate, required, f"{_signed(change)}: {detail}", _ok(change >= rule.min_delta)
        )
    return GateRow(gate, required, f"{_signed(change)}: {detail}", _ok(not status.failed))


def _other_data(paths: tuple[str, ...], evidence: Evidence) -> str:
    """Which evaluation-data outputs differ between candidate and incumbent ('' if none)."""
    incumbent = evidence.incumbent
    if incumbent is None:
        return ""
    differ = []
    for path in paths:
        old, new = incumbent.outputs.get(path), evidence.candidate.outputs.get(path)
        if old != new:
            differ.append(f"{path} {str(old)[:8]} -> {str(new)[:8]}")
    return "; ".join(differ)


def _ok(ok: bool) -> Result:
    return "pass" if ok else "fail"


def evaluate(
    policy: Policy, artifact: str, stage: str, evidence: Evidence, *, source: str
) -> tuple[GateRow, ...]:
    """Every gate of ``stage`` for the candidate, in a fixed order."""
    gates = stage_policy(policy, artifact, stage, source)
    rows = _order_rows(policy.registry[artifact], stage, evidence.holds)
    if gates.verified:
        rows.append(_verified_row(evidence))
    if gates.contract:
        rows.append(_contract_row(artifact, policy.registry[artifact].contract, evidence))
    if gates.finite_metrics:
        rows.append(_finite_row(evidence.candidate, tuple(policy.metrics)))
    for key, bound in gates.thresholds.items():
        rows.append(_threshold_row(key, bound, evidence.candidate))
    if gates.compare:
        rows += _compare_rows(policy, artifact, stage, gates, evidence)
    return tuple(rows)


def _incomparable(declared: ArtifactPolicy, stage: str, why: str) -> GateRow:
    """A comparison that cannot be made: fail closed, unless the policy lets it pass."""
    let_pass = declared.on_incomparable == "pass"
    tail = "; on_incomparable: pass lets the other gates decide" if let_pass else ""
    return GateRow(
        f"vs {stage}",
        f"compare with the version in {stage} on the same rows",
        f"not comparable: {why}{tail}",
        "skip" if let_pass else "fail",
    )


def _compare_rows(
    policy: Policy, artifact: str, stage: str, gates: StageGates, evidence: Evidence
) -> list[GateRow]:
    declared = policy.registry[artifact]
    incumbent = evidence.incumbent
    if incumbent is None:
        return [
            GateRow(
                f"vs {stage}",
                f"compare with the version in {stage}",
                f"nothing to compare against: no version is in {stage} yet (first promotion)",
                "skip",
            )
        ]
    candidate = evidence.candidate
    comparison = evidence.comparison
    same_rows = ""
    if comparison is not None:
        champion, challenger = comparison.champion, comparison.challenger
        if champion.scores is None:
            return [_incomparable(declared, stage, f"{incumbent.version}: {champion.error}")]
        if challenger.scores is None:
            required = f"{candidate.version} scored by {comparison.evaluate}"
            return [GateRow(f"vs {stage}", required, str(challenger.error), "fail")]
        candidate = Subject(candidate.version, candidate.commit, dict(challenger.scores))
        incumbent = Subject(incumbent.version, incumbent.commit, dict(champion.scores))
        same_rows = f"same rows {comparison.rows_md5[:8]}: "
    else:
        other_data = _other_data(declared.evaluation_data, evidence)
        if other_data:
            why = (
                f"{incumbent.version} was measured on other data ({other_data}); name the "
                f"project's evaluation (registry.{artifact}.evaluate) to score both on the "
                "same rows"
            )
            return [_incomparable(declared, stage, why)]
    rows = []
    for key, rule in gates.compare.items():
        row = _compare_row(
            key,
            rule,
            policy.metrics[key],
            stage=stage,
            candidate=candidate,
            incumbent=incumbent,
        )
        rows.append(GateRow(row.gate, row.required, same_rows + row.actual, row.result))
    return rows
