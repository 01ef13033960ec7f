"""The data of a pull-request report: one frozen dataclass per section, each JSON-ready.

:func:`mlratchet.report.build.build_report` fills them from the library (metrics, registry,
``dvc.lock``, git notes); :mod:`mlratchet.report.markdown` renders them, ``to_json`` gives the
``ratchet report --json`` shape. Every section can be *unavailable*: it then carries a one-line
``note`` saying why (no notes yet, no production version, no plots file), never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mlratchet.metrics.diff import DiffResult
from mlratchet.revs import Revision

CheckState = Literal["passed", "failed", "not run"]


def revision_json(rev: Revision) -> dict[str, Any]:
    """A revision as the user typed it and the commit it names (None for the work tree)."""
    return {"name": rev.name, "sha": rev.sha}


def describe(rev: Revision) -> str:
    """``workspace``, ``a1b2c3d``, or ``main (a1b2c3d)``: how the report names a revision."""
    if rev.sha is None or rev.sha.startswith(rev.name):
        return rev.short
    return f"{rev.name} ({rev.short})"


@dataclass(frozen=True)
class Check:
    """One check summed up in the report's status line."""

    name: str
    state: CheckState
    detail: str

    def to_json(self) -> dict[str, Any]:
        """``{"name", "state", "detail"}``."""
        return {"name": self.name, "state": self.state, "detail": self.detail}


@dataclass(frozen=True)
class MetricsDiff:
    """Metrics of ``old`` vs ``new`` with the verdict column: ``ratchet metrics diff --check``."""

    old_name: str  # column headers, as typed (the same table as the CLI's)
    new_name: str
    result: DiffResult
    status: dict[tuple[str, str], str] | None  # (path, key) -> verdict; None without rules
    failures: tuple[str, ...]  # one line per failed verdict
    failed_keys: tuple[str, ...]  # the declared keys that failed, sorted
    rules: int  # declared keys judged
    rules_from: str | None  # where the rules were read
    note: str | None = None  # e.g. "base declares no rules: judged by head's"
    error: str | None = None  # why the comparison could not be made
    integrity: bool = False  # the error is a file that is not what dvc.lock records (fails)

    @property
    def failed(self) -> bool:
        """Whether a rule said no."""
        return bool(self.failures)

    def to_json(self) -> dict[str, Any]:
        """DVC's diff shape (``metrics diff --check --json``) plus where the rules came from."""
        from mlratchet.metrics.render import diff_json

        return {
            "old": self.old_name,
            "new": self.new_name,
            "diff": diff_json(self.result, self.status),
            "failures": list(self.failures),
            "failed_keys": list(self.failed_keys),
            "rules": self.rules,
            "rules_from": self.rules_from,
            "note": self.note,
            "error": self.error,
        }


@dataclass(frozen=True)
class ProductionDiff:
    """The head against the version of one artifact in its policy's last stage (its holder)."""

    artifact: str
    stage: str | None  # the policy's last stage (``prod``, ``production``); None: no policy
    version: str | None  # None: no version is in production
    commit: str | None
    tag: str | None  # the assignment tag that put it there
    metrics: MetricsDiff | None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"artifact", "stage", "version", "commit", "tag", "metrics", "note"}``."""
        return {
            "artifact": self.artifact,
            "stage": self.stage,
            "version": self.version,
            "commit": self.commit,
            "tag": self.tag,
            "metrics": None if self.metrics is None else self.metrics.to_json(),
            "note": self.note,
        }


@dataclass(frozen=True)
class ParamsDiff:
    """Params of base vs head: ``ratchet params diff``."""

    old_name: str
    new_name: str
    result: DiffResult
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """DVC's ``params diff --json`` shape, and the error if any."""
        from mlratchet.metrics.render import diff_json

        return {"diff": diff_json(self.result), "error": self.error}


@dataclass(frozen=True)
class OutputChange:
    """One ``dvc.lock`` output whose hash differs between base and head (or exists on one side)."""

    path: str
    old_md5: str | None
    new_md5: str | None
    old_size: int | None
    new_size: int | None
    artifact: str | None  # the dvc.yaml artifact at this path, if any

    @property
    def kind(self) -> Literal["added", "removed", "changed"]:
        """Whether the output is new, gone, or has new bytes."""
        if self.old_md5 is None:
            return "added"
        if self.new_md5 is None:
            return "removed"
        return "changed"

    def to_json(self) -> dict[str, Any]:
        """Every field, and ``kind``."""
        return {
            "path": self.path,
            "kind": self.kind,
            "old_md5": self.old_md5,
            "new_md5": self.new_md5,
            "old_size": self.old_size,
            "new_size": self.new_size,
            "artifact": self.artifact,
        }


@dataclass(frozen=True)
class Outputs:
    """What changed in the data and model hashes of ``dvc.lock``."""

    changes: tuple[OutputChange, ...]
    unchanged: int
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"changes": [...], "unchanged": N, "note"}``."""
        return {
            "changes": [c.to_json() for c in self.changes],
            "unchanged": self.unchanged,
            "note": self.note,
        }


@dataclass(frozen=True)
class ContractFailure:
    """One failed rule of a data contract."""

    table: str
    column: str | None
    rule: str
    count: int | None


@dataclass(frozen=True)
class Contract:
    """``metrics/validation.json`` at head, read tolerantly."""

    state: Literal["valid", "invalid", "absent", "unreadable"]
    path: str
    tables: tuple[tuple[str, bool | None], ...]  # (table, its "valid")
    failures: tuple[ContractFailure, ...]
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"state", "path", "tables": {name: valid}, "failures": [...], "note"}``."""
        return {
            "state": self.state,
            "path": self.path,
            "tables": dict(self.tables),
            "failures": [
                {"table": f.table, "column": f.column, "rule": f.rule, "count": f.count}
                for f in self.failures
            ],
            "note": self.note,
        }


@dataclass(frozen=True)
class OutputMismatch:
    """An output (or a whole stage) that ``ratchet verify`` did not reproduce."""

    stage: str
    path: str | None  # None: the stage itself failed or did not run
    status: str  # differs | missing | failed | not-run | ...
    expected: str | None
    actual: str | None


@dataclass(frozen=True)
class VerifyResult:
    """The ``verify`` record of the git note on the head commit."""

    state: Literal["ok", "failed", "absent", "other-lock"]
    commit: str | None  # whose note was read
    verdict: str | None  # reproduced | not-reproduced | stale
    recorded_lock_md5: str | None
    lock_md5: str | None  # of the dvc.lock this report is about
    mismatches: tuple[OutputMismatch, ...] = ()
    stale: tuple[str, ...] = ()
    verified_at: str | None = None
    hint: str | None = None  # the command to run
    note: str | None = None  # e.g. why the record does not apply

    def to_json(self) -> dict[str, Any]:
        """Every field; mismatches as objects."""
        return {
            "state": self.state,
            "commit": self.commit,
            "verdict": self.verdict,
            "recorded_lock_md5": self.recorded_lock_md5,
            "lock_md5": self.lock_md5,
            "mismatches": [
                {
                    "stage": m.stage,
                    "path": m.path,
                    "status": m.status,
                    "expected": m.expected,
                    "actual": m.actual,
                }
                for m in self.mismatches
            ],
            "stale": list(self.stale),
            "verified_at": self.verified_at,
            "hint": self.hint,
            "note": self.note,
        }


@dataclass(frozen=True)
class StageCost:
    """What one stage cost, from a ``repro`` record (see ``mlratchet.reproduce.compute``)."""

    status: str  # ran | restored | pulled
    seconds: float | None  # everything DVC did for the stage
    command_s: float | None
    cpu_s: float | None
    peak_rss_mib: float | None

    def to_json(self) -> dict[str, Any]:
        """Every field."""
        return {
            "status": self.status,
            "seconds": self.seconds,
            "command_s": self.command_s,
            "cpu_s": self.cpu_s,
            "peak_rss_mib": self.peak_rss_mib,
        }


@dataclass(frozen=True)
class ComputeRow:
    """One stage's cost at base and at head (None where that side has no record)."""

    stage: str
    base: StageCost | None
    head: StageCost | None


@dataclass(frozen=True)
class Compute:
    """Per-stage compute time of head compared with base."""

    rows: tuple[ComputeRow, ...]
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"stages": [{"stage", "base", "head"}], "note"}``."""
        return {
            "stages": [
                {
                    "stage": r.stage,
                    "base": None if r.base is None else r.base.to_json(),
                    "head": None if r.head is None else r.head.to_json(),
                }
                for r in self.rows
            ],
            "note": self.note,
        }


@dataclass(frozen=True)
class Series:
    """One metric along the history: a label and a value per commit, oldest first."""

    metric: str
    labels: tuple[str, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class Plot:
    """One of the project's DVC plots at head and base, resampled onto a common x grid."""

    id: str  # the plot's id in dvc.yaml
    file: str
    x: str  # field names
    y: str
    grid: tuple[float, ...]
    head: tuple[float, ...] | None
    base: tuple[float, ...] | None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Every field."""
        return {
            "id": self.id,
            "file": self.file,
            "x": self.x,
            "y": self.y,
            "grid": list(self.grid),
            "head": None if self.head is None else list(self.head),
            "base": None if self.base is None else list(self.base),
            "note": self.note,
        }


@dataclass(frozen=True)
class Charts:
    """What the Mermaid charts draw: the metric history and the project's DVC plots."""

    history: tuple[Series, ...]
    history_note: str | None
    plots: tuple[Plot, ...]
    plots_note: str | None = None  # why no plot is drawn (dvc.yaml declares none, ...)

    def to_json(self) -> dict[str, Any]:
        """``{"history": [...], "history_note", "plots": [...], "plots_note"}``."""
        return {
            "history": [
                {"metric": s.metric, "labels": list(s.labels), "values": list(s.values)}
                for s in self.history
            ],
            "history_note": self.history_note,
            "plots": [p.to_json() for p in self.plots],
            "plots_note": self.plots_note,
        }


@dataclass(frozen=True)
class Report:
    """Everything ``ratchet report`` says about a change."""

    base: Revision
    head: Revision
    metrics: MetricsDiff
    production: tuple[ProductionDiff, ...]
    production_note: str | None
    params: ParamsDiff
    outputs: Outputs
    contract: Contract
    verify: VerifyResult
    compute: Compute
    charts: Charts
    plots: tuple[str, ...] = ()  # PNG files written (--plots-dir)

    @property
    def checks(self) -> tuple[Check, ...]:
        """The checks the status line sums up: metrics vs base, data contract, verify."""
        return (_metrics_check(self.metrics), _contract_check(self.contract), _verify_check(self))

    @property
    def ok(self) -> bool | None:
        """Whether no check failed (checks not run do not fail the report); None when no check
        ran at all: nothing was judged, so the report claims neither a pass nor a failure."""
        states = {check.state for check in self.checks}
        if "failed" in states:
            return False
        return True if "passed" in states else None

    def to_json(self) -> dict[str, Any]:
        """The ``ratchet report --json`` document (strict JSON once passed through json_safe)."""
        from mlratchet.metrics.render import json_safe

        data = {
            "schema": "mlratchet.report/1",
            "base": revision_json(self.base),
            "head": revision_json(self.head),
            "ok": self.ok,
            "checks": [c.to_json() for c in self.checks],
            "metrics": self.metrics.to_json(),
            "production": [p.to_json() for p in self.production],
            "production_note": self.production_note,
            "params": self.params.to_json(),
            "outputs": self.outputs.to_json(),
            "contract": self.contract.to_json(),
            "verify": self.verify.to_json(),
            "compute": self.compute.to_json(),
            "charts": self.charts.to_json(),
            "plots": list(self.plots),
        }
        return dict(json_safe(data))


def _metrics_check(diff: MetricsDiff) -> Check:
    name = "metrics"
    if diff.error is not None:
        return Check(name, "failed" if diff.integrity else "not run", diff.error)
    if diff.status is None:
        return Check(name, "not run", diff.note or "no ratchet.metrics rules")
    if diff.failed:
        keys = diff.failed_keys
        return Check(
            name, "failed", f"{len(keys)} of {diff.rules} rules said no ({', '.join(keys)})"
        )
    return Check(name, "passed", f"{diff.rules} rules")


def _contract_check(contract: Contract) -> Check:
    name = "data contract"
    if contract.state == "valid":
        return Check(name, "passed", f"{contract.path} valid")
    if contract.state == "invalid":
        return Check(name, "failed", f"{len(contract.failures)} rules failed")
    return Check(name, "not run", contract.note or f"no {contract.path}")


def _verify_check(report: Report) -> Check:
    name = "reproducibility"
    result = report.verify
    if result.state == "ok":
        return Check(name, "passed", "ratchet verify: reproduced bit for bit")
    if result.state == "failed":
        return Check(name, "failed", f"ratchet verify: {result.verdict or 'not reproduced'}")
    if result.state == "other-lock":
        return Check(name, "not run", "the verify record is for another dvc.lock")
    return Check(name, "not run", "not verified yet")
