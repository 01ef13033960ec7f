"""Gather a pull-request report from the library: one call, one frozen :class:`Report`.

Nothing here re-implements a reader or a verdict: metrics and params come from
:func:`mlratchet.metrics.compare` (the ``ratchet metrics diff --check`` path), the version to
compare with from the registry's state (the one in the last stage of the artifact's policy in
``ratchet.yaml``), hashes from :mod:`mlratchet.dvclock`, verdicts and compute records from the
git notes that ``ratchet verify`` and ``ratchet repro`` write, charts from the project's own
``plots:`` in ``dvc.yaml``. Each section that lacks its input (no notes yet, no policy, no
plots) becomes a one-line note; only an unknown base or head revision is an error
(:class:`~mlratchet.errors.BadInputError`, exit 2).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from mlratchet.dvclock import raw_stages
from mlratchet.dvcroot import Root, find_root
from mlratchet.errors import IntegrityError, RatchetError
from mlratchet.gitio import BlobReader
from mlratchet.metrics.source import Snapshot, TreeSnapshot, WorkspaceSnapshot
from mlratchet.report.charts import resample
from mlratchet.report.sections import (
    Charts,
    Compute,
    ComputeRow,
    Contract,
    ContractFailure,
    MetricsDiff,
    OutputChange,
    OutputMismatch,
    Outputs,
    ParamsDiff,
    Plot,
    ProductionDiff,
    Report,
    Series,
    StageCost,
    VerifyResult,
    describe,
)
from mlratchet.revs import Revision, resolve

if TYPE_CHECKING:
    from mlratchet.metrics.history import Column, History, Point
    from mlratchet.policy import MetricRule, Policy
    from mlratchet.report.dvcplots import PlotDef

POLICY_FILE = "ratchet.yaml"  # mlratchet.policy.POLICY_FILE; no import at module load
DVC_YAML = "dvc.yaml"
LOCK_FILE = "dvc.lock"
HISTORY_COMMITS = 15  # commits drawn in each Mermaid history chart
PNG_HISTORY_COMMITS = 100  # commits drawn in the history PNG
MAX_HISTORY_CHARTS = 4
HISTORY_PNG = "metrics-history.png"
MAX_PLOTS = 3  # DVC plots drawn, in dvc.yaml order


class _Files:
    """A file of the DVC project at a revision: from disk for the workspace, else from git."""

    def __init__(
        self, root: Root, blobs: BlobReader, policy_file: Path | str | None = None
    ) -> None:
        self.root = root
        self.blobs = blobs
        self.policy_file = policy_file  # --policy FILE: judges both sides instead of ratchet.yaml
        self._snaps: dict[str | None, Snapshot] = {}

    def read(self, rev: Revision, path: str) -> bytes | None:
        """The bytes of ``path`` at ``rev`` through the metrics snapshots, so a symlink that
        leads out of the project is refused (exit 5) here as everywhere else."""
        snap = self._snaps.get(rev.sha)
        if snap is None:
            snap = (
                WorkspaceSnapshot(self.root)
                if rev.sha is None
                else TreeSnapshot.of_commit(self.root, rev.sha, rev.short, self.blobs)
            )
            self._snaps[rev.sha] = snap
        got = snap.read(path)
        return None if got is None else got[0]


@dataclass(frozen=True)
class _Rules:
    """The ``ratchet: metrics`` rules the report judges by, and where they came from."""

    rules: dict[str, MetricRule]
    from_base: bool  # read from params.yaml at base: exactly `ratchet metrics diff --check`
    source: str | None
    note: str | None = None
    error: str | None = None


def build_report(
    repo: Path | str,
    base: str,
    head: str = "workspace",
    *,
    plots_dir: Path | str | None = None,
    policy_file: Path | str | None = None,
) -> Report:
    """The report on the change from ``base`` to ``head`` (any revision, or ``workspace``).

    ``policy_file`` replaces ``ratchet.yaml`` (at base and head) as the policy.

    With ``plots_dir``, the metric history and the project's DVC plots are also drawn there as PNGs
    (matplotlib, byte-stable). Raises :class:`~mlratchet.errors.BadInputError` for an unknown
    revision; a missing optional input only turns its section into a note.
    """
    base_rev = resolve(repo, base)
    head_rev = resolve(repo, head)
    root = find_root(repo)
    with BlobReader(root.git_top) as blobs:
        files = _Files(root, blobs, policy_file)
        rules = _decide_rules(files, base_rev, head_rev)
        artifacts, artifacts_note = _artifacts(files, head_rev)
        metrics = _metrics_diff(repo, base_rev.name, head_rev.name, rules, judge_as_cli=True)
        policy, policy_note = _report_policy(files, base_rev, head_rev)
        production, production_note = _production(
            repo,
            base_rev,
            head_rev,
            rules,
            policy,
            artifacts=artifacts,
            artifacts_note=artifacts_note or policy_note,
        )
        params = _params(repo, base_rev.name, head_rev.name)
        outputs = _outputs(files, base_rev, head_rev, artifacts)
        contract = _contract(files, head_rev, policy, artifacts)
        verify = _verify(root, files, head_rev)
        compute = _compute(root, files, base_rev, head_rev)
        curves, plots_note = _plot_curves(files, base_rev, head_rev)
    history, chosen = _history(repo, head_rev, rules)
    charts = Charts(
        history=_series(history, chosen, base_rev) if history is not None else (),
        history_note=_history_note(history, chosen),
        plots=tuple(_plot(d, head, base) for d, head, base in curves),
        plots_note=plots_note,
    )
    plots: tuple[str, ...] = ()
    if plots_dir is not None:
        from mlratchet.report.pngs import write_pngs

        plots = write_pngs(
            Path(plots_dir),
            history=_png_history(history, chosen),
            history_name=HISTORY_PNG,
            curves=[(d.id, d.x, d.y, head[0], base[0]) for d, head, base in curves],
            head_label=describe(head_rev),
            base_label=describe(base_rev),
        )
    return Report(
        base=base_rev,
        head=head_rev,
        metrics=metrics,
        production=production,
        production_note=production_note,
        params=params,
        outputs=outputs,
        contract=contract,
        verify=verify,
        compute=compute,
        charts=charts,
        plots=plots,
    )


# -- rules and metrics ---------------------------------------------------------------------
def _policy_at(files: _Files, rev: Revision) -> Policy:
    from mlratchet.policy import policy_at

    return policy_at(files.root.path, rev.sha, files.policy_file)[0]


def _given_rules(files: _Files, base: Revision) -> _Rules:
    """The rules of ``--policy FILE``."""
    try:
        given = _policy_at(files, base)
    except RatchetError as exc:
        return _Rules({}, from_base=False, source=None, error=str(exc))
    return _Rules(given.metrics, from_base=False, source=str(files.policy_file))


def _decide_rules(files: _Files, base: Revision, head: Revision) -> _Rules:
    """The base's rules (so a change cannot loosen the rules it is judged by); the head's when
    the base declares none (the pull request that introduces them), saying so. A
    ``--policy FILE`` is the rules, for both sides."""
    if files.policy_file is not None:
        return _given_rules(files, base)
    try:
        base_policy = _policy_at(files, base)
    except RatchetError as exc:
        return _Rules({}, from_base=False, source=None, error=str(exc))
    if base_policy.metrics:
        return _Rules(
            base_policy.metrics, from_base=True, source=f"{POLICY_FILE} at base {describe(base)}"
        )
    try:
        head_policy = _policy_at(files, head)
    except RatchetError as exc:
        return _Rules({}, from_base=False, source=None, error=str(exc))
    if head_policy.metrics:
        return _Rules(
            head_policy.metrics,
            from_base=False,
            source=f"{POLICY_FILE} at head {describe(head)}",
            note=f"{POLICY_FILE} at base {describe(base)} declares no metrics rules: "
            "judged by the head's rules",
        )
    return _Rules(
        {},
        from_base=False,
        source=None,
        note="no metrics rules at base or head, so no verdict: declare them in "
        f"{POLICY_FILE} (docs/metrics.md; `ratchet init` drafts one)",
    )


def _metrics_diff(
    repo: Path | str, old: str, new: str, rules: _Rules, *, judge_as_cli: bool = False
) -> MetricsDiff:
    """``compare(..., check=True)``; with ``judge_as_cli`` and base rules, exactly the CLI's
    call (rules read from params.yaml at ``old``), else with the report's rules passed in."""
    from mlratchet.metrics import compare

    try:
        if not rules.rules:
            comparison = compare(repo, old, new, kind="metrics", check_records=True)
        elif judge_as_cli and rules.from_base:
            comparison = compare(repo, old, new, kind="metrics", check=True)
        else:
            comparison = compare(repo, old, new, kind="metrics", check=True, rules=rules.rules)
    except RatchetError as exc:
        return MetricsDiff(
            old,
            new,
            {},
            None,
            (),
            (),
            0,
            None,
            note=rules.note,
            error=str(exc),
            integrity=isinstance(exc, IntegrityError),
        )
    if comparison.verdicts is None:
        return MetricsDiff(
            old, new, comparison.diff, None, (), (), 0, None, note=rules.error or rules.note
        )
    result, status = comparison.checked()
    failed = comparison.failed
    return MetricsDiff(
        old_name=old,
        new_name=new,
        result=result,
        status=status,
        failures=tuple(v.describe() for v in failed),
        failed_keys=tuple(sorted({v.key for v in failed})),
        rules=len({v.key for v in comparison.verdicts}),
        rules_from=rules.source,
        note=rules.note,
    )


def _params(repo: Path | str, old: str, new: str) -> ParamsDiff:
    from mlratchet.metrics import compare

    try:
        comparison = compare(repo, old, new, kind="params")
    except RatchetError as exc:
        return ParamsDiff(old, new, {}, error=str(exc))
    return ParamsDiff(old, new, comparison.diff)


# -- production ----------------------------------------------------------------------------
def _artifacts(files: _Files, head: Revision) -> tuple[dict[str, str], str | None]:
    """Artifact name -> path, as ``dvc.yaml`` at head declares them."""
    from mlratchet.registry.artifacts import parse_artifacts
    from mlratchet.yamlio import parse_yaml

    data = files.read(head, DVC_YAML)
    if data is None:
        return {}, f"no {DVC_YAML} at {describe(head)}"
    source = f"{DVC_YAML} at {describe(head)}"
    try:
        declared = parse_artifacts(parse_yaml(data.decode("utf-8", "replace"), source), source)
    except RatchetError as exc:
        return {}, str(exc)
    if not declared:
        return {}, f"{DVC_YAML} declares no artifacts: there is no production model to compare with"
    paths = {
        name: PurePosixPath(a.path).as_posix().removeprefix("./") for name, a in declared.items()
    }
    return paths, None


def _report_policy(files: _Files, base: Revision, head: Revision) -> tuple[Policy, str | None]:
    """The registry policy the report reads stages and contracts from: the base's, else the
    head's (the pull request that introduces it); the empty policy, saying why, if neither."""
    from mlratchet.policy import Policy

    errors = []
    for rev in (base, head):
        try:
            policy = _policy_at(files, rev)
        except RatchetError as exc:
            errors.append(str(exc))
            continue
        if policy.registry:
            return policy, None
    if errors:
        return Policy(), errors[0]
    return Policy(), None


def _production(
    repo: Path | str,
    base: Revision,
    head: Revision,
    rules: _Rules,
    policy: Policy,
    *,
    artifacts: dict[str, str],
    artifacts_note: str | None,
) -> tuple[tuple[ProductionDiff, ...], str | None]:
    """Each artifact's head against the version its policy's last stage holds."""
    from mlratchet.registry.state import load_state

    if not artifacts:
        return (), artifacts_note
    try:
        state = load_state(repo)
    except RatchetError as exc:
        return (), f"the registry could not be read: {exc}"
    found = []
    for name in artifacts:
        stage = policy.holder_stage(name)
        if stage is None:
            skipped = (
                f"{POLICY_FILE} declares no registry stages for {name}, so no stage holds "
                "the version to compare with: skipped"
            )
            found.append(ProductionDiff(name, None, None, None, None, None, note=skipped))
            continue
        artifact = state.artifact(name)
        version = artifact.stages.get(stage) if artifact is not None else None
        if artifact is None or version is None:
            absent = f"no version of {name} is in {stage} yet"
            found.append(ProductionDiff(name, stage, None, None, None, None, note=absent))
            continue
        event = artifact.stage_events.get(stage)
        diff: MetricsDiff | None
        note: str | None
        if version.commit == base.sha:  # the table above already says it all
            diff, note = None, f"the version in {stage} is the base commit: as above"
        else:
            diff, note = _metrics_diff(repo, f"{name}#{stage}", head.name, rules), None
        found.append(
            ProductionDiff(
                artifact=name,
                stage=stage,
                version=version.version,
                commit=version.commit,
                tag=None if event is None else event.tag,
                metrics=diff,
                note=note,
            )
        )
    return tuple(found), None


# -- dvc.lock ------------------------------------------------------------------------------
def _lock_outputs(files: _Files, rev: Revision) -> tuple[dict[str, Any] | None, str | None]:
    from mlratchet.dvclock import outputs, parse_lock

    data = files.read(rev, LOCK_FILE)
    if data is None:
        return None, f"no {LOCK_FILE} at {describe(rev)}"
    try:
        return outputs(parse_lock(data, f"{LOCK_FILE} at {describe(rev)}")), None
    except RatchetError as exc:
        return None, str(exc)


def _outputs(files: _Files, base: Revision, head: Revision, artifacts: dict[str, str]) -> Outputs:
    old, old_note = _lock_outputs(files, base)
    new, new_note = _lock_outputs(files, head)
    notes = [n for n in (old_note, new_note) if n]
    if old is None and new is None:
        return Outputs((), 0, note="; ".join(notes))
    by_path = {path: name for name, path in artifacts.items()}
    old, new = old or {}, new or {}
    changes = []
    unchanged = 0
    for path, entry in new.items():
        before = old.get(path)
        if before is not None and before.md5 == entry.md5:
            unchanged += 1
            continue
        changes.append(
            OutputChange(
                path=path,
                old_md5=None if before is None else before.md5,
                new_md5=entry.md5,
                old_size=None if before is None else before.size,
                new_size=entry.size,
                artifact=by_path.get(path),
            )
        )
    changes.extend(
        OutputChange(path, entry.md5, None, entry.size, None, by_path.get(path))
        for path, entry in old.items()
        if path not in new
    )
    return Outputs(tuple(changes), unchanged, note="; ".join(notes) or None)


# -- data contract -------------------------------------------------------------------------
def _contract(files: _Files, head: Revision, policy: Policy, artifacts: dict[str, str]) -> Contract:
    """The data-contract record an artifact's policy declares (``contract:``), read at head."""
    declared = [
        p.contract for name, p in policy.registry.items() if p.contract and name in artifacts
    ] or [p.contract for p in policy.registry.values() if p.contract]
    if not declared:
        note = f"{POLICY_FILE} declares no data-contract record (registry: ARTIFACT: contract)"
        return Contract("absent", "", (), (), note=note)
    path = declared[0]
    data = files.read(head, path)
    if data is None:
        note = f"no {path} at {describe(head)}, the contract record {POLICY_FILE} declares"
        return Contract("absent", path, (), (), note=note)
    try:
        record = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        return Contract("unreadable", path, (), (), note=f"not JSON ({exc})")
    if not isinstance(record, dict):
        return Contract("unreadable", path, (), (), note="not a JSON object")
    return _contract_record(path, record)


def _contract_record(path: str, record: dict[str, Any]) -> Contract:
    tables: list[tuple[str, bool | None]] = []
    failures: list[ContractFailure] = []
    raw_tables = record.get("tables")
    items = sorted(raw_tables.items()) if isinstance(raw_tables, dict) else []
    for table, raw in items:
        report = raw if isinstance(raw, dict) else {}
        valid = report.get("valid")
        tables.append((str(table), valid if isinstance(valid, bool) else None))
        raw_failures = report.get("failures")
        for failure in raw_failures if isinstance(raw_failures, list) else []:
            if not isinstance(failure, dict):
                continue
            column, count = failure.get("column"), failure.get("count")
            failures.append(
                ContractFailure(
                    table=str(table),
                    column=None if column is None else str(column),
                    rule=str(failure.get("rule", "?")),
                    count=count if isinstance(count, int) and not isinstance(count, bool) else None,
                )
            )
    valid = record.get("valid")
    if valid is True:
        return Contract("valid", path, tuple(tables), tuple(failures))
    if valid is False:
        return Contract("invalid", path, tuple(tables), tuple(failures))
    note = f'top-level "valid" is {json.dumps(valid)}, not true or false'
    return Contract("unreadable", path, tuple(tables), tuple(failures), note=note)


# -- verify --------------------------------------------------------------------------------
def _md5(data: bytes | None) -> str | None:
    if data is None:
        return None
    return hashlib.md5(data).hexdigest()  # noqa: S324 - the identity `ratchet verify` records


def _verify(root: Root, files: _Files, head: Revision) -> VerifyResult:
    from mlratchet import gitio, notes

    lock_md5 = _md5(files.read(head, LOCK_FILE))
    commit = head.sha or gitio.head(root.git_top)
    if commit is None:
        return VerifyResult(
            "absent", None, None, None, lock_md5, hint="commit, then run `ratchet verify`"
        )
    if head.sha is None:
        committed = _md5(files.read(Revision("HEAD", commit), LOCK_FILE))
        hint = (
            "`ratchet verify`"
            if committed == lock_md5
            else "commit the work tree's dvc.lock, then run `ratchet verify`"
        )
    else:
        hint = f"`ratchet verify --rev {commit[:7]}`"
    try:
        record = notes.read(root.git_top, commit).get("verify")
    except RatchetError as exc:
        return VerifyResult("absent", commit, None, None, lock_md5, hint=hint, note=str(exc))
    if not isinstance(record, dict):
        return VerifyResult("absent", commit, None, None, lock_md5, hint=hint)
    recorded = record.get("lock_md5")
    recorded = recorded if isinstance(recorded, str) else None
    verdict = record.get("verdict")
    verdict = verdict if isinstance(verdict, str) else None
    verified_at = record.get("verified_at")
    verified_at = verified_at if isinstance(verified_at, str) else None
    if record.get("rev") not in (None, commit) or recorded != lock_md5:
        note = (
            f"the verify record on {commit[:7]} is for another dvc.lock (md5 {recorded}); "
            f"this report's dvc.lock has md5 {lock_md5}"
        )
        return VerifyResult(
            "other-lock",
            commit,
            verdict,
            recorded,
            lock_md5,
            verified_at=verified_at,
            hint=hint,
            note=note,
        )
    if record.get("ok") is True:
        return VerifyResult("ok", commit, verdict, recorded, lock_md5, verified_at=verified_at)
    stale = record.get("stale")
    return VerifyResult(
        "failed",
        commit,
        verdict or "not reproduced",
        recorded,
        lock_md5,
        mismatches=_mismatches(record.get("stages")),
        stale=tuple(str(s) for s in stale) if isinstance(stale, list) else (),
        verified_at=verified_at,
    )


def _mismatches(stages: Any) -> tuple[OutputMismatch, ...]:
    found = []
    for stage in stages if isinstance(stages, list) else []:
        if not isinstance(stage, dict) or stage.get("status") == "identical":
            continue
        name = str(stage.get("stage", "?"))
        raw = stage.get("outputs")
        outputs: list[Any] = raw if isinstance(raw, list) else []
        listed = [
            OutputMismatch(
                stage=name,
                path=str(out.get("path")),
                status=str(out.get("status")),
                expected=_str_or_none(out.get("expected")),
                actual=_str_or_none(out.get("actual")),
            )
            for out in outputs
            if isinstance(out, dict) and out.get("status") != "identical"
        ]
        found.extend(listed or [OutputMismatch(name, None, str(stage.get("status")), None, None)])
    return tuple(found)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


# -- compute -------------------------------------------------------------------------------
def _cost(record: Any) -> StageCost | None:
    if not isinstance(record, dict):
        return None

    def number(key: str) -> float | None:
        value: Any = record.get(key)
        return float(value) if _finite(value) else None

    return StageCost(
        status=str(record.get("status", "?")),
        seconds=number("seconds"),
        command_s=number("command_s"),
        cpu_s=number("cpu_s"),
        peak_rss_mib=number("peak_rss_mib"),
    )


def _note_records(root: Root, commit: str) -> dict[str, Any]:
    from mlratchet import notes

    repro = notes.read(root.git_top, commit).get("repro")
    stages = repro.get("stages") if isinstance(repro, dict) else None
    return dict(stages) if isinstance(stages, dict) else {}


def _workspace_records(root: Root, files: _Files) -> dict[str, Any]:
    """The records that measured the work tree's outputs: HEAD's note and the records still
    pending a commit (``ratchet repro`` before committing), matched by ``dvc.lock`` entry."""
    from mlratchet import gitio
    from mlratchet.reproduce.compute import lock_entry_digest, pending_records

    entries = raw_stages(files.read(Revision("workspace", None), LOCK_FILE))
    head = gitio.head(root.git_top)
    candidates: dict[str, list[Any]] = {}
    if head is not None:
        for stage, record in _note_records(root, head).items():
            candidates.setdefault(stage, []).append(record)
    for stage, records in pending_records(root.path).items():
        candidates.setdefault(stage, []).extend(records)
    chosen = {}
    for stage, records in candidates.items():
        if stage not in entries:
            continue
        digest = lock_entry_digest(entries[stage])
        matching = [r for r in records if isinstance(r, dict)]
        matching = [r for r in matching if r.get("lock_entry_sha256") == digest]
        if matching:  # a real run beats a restore; then the latest
            chosen[stage] = max(
                matching, key=lambda r: (r.get("status") == "ran", str(r.get("finished_at", "")))
            )
    return chosen


def _records(root: Root, files: _Files, rev: Revision) -> dict[str, Any]:
    if rev.sha is None:
        return _workspace_records(root, files)
    return _note_records(root, rev.sha)


def _compute(root: Root, files: _Files, base: Revision, head: Revision) -> Compute:
    try:
        old = _records(root, files, base)
        new = _records(root, files, head)
    except RatchetError as exc:
        return Compute((), note=str(exc))
    if not old and not new:
        return Compute(
            (),
            note="no compute records for base or head: `ratchet repro` writes them to git "
            "notes (fetch them with `git fetch origin refs/notes/mlratchet:refs/notes/mlratchet`)",
        )
    order = list(raw_stages(files.read(head, LOCK_FILE)))
    order += [s for s in raw_stages(files.read(base, LOCK_FILE)) if s not in order]
    order += sorted(s for s in {*old, *new} if s not in order)
    rows = tuple(
        ComputeRow(stage, _cost(old.get(stage)), _cost(new.get(stage)))
        for stage in order
        if stage in old or stage in new
    )
    missing = [describe(rev) for rev, recs in ((base, old), (head, new)) if not recs]
    if missing:
        note: str | None = f"no compute record for {missing[0]}"
    elif any(row.base is None or row.head is None for row in rows):
        note = (
            "`-`: no `repro` record of the stage on that side (it did not run under "
            "`ratchet repro` there; an up-to-date stage's record is on the commit where it ran)"
        )
    else:
        note = None
    return Compute(rows, note=note)


# -- charts --------------------------------------------------------------------------------
def _history(
    repo: Path | str, head: Revision, rules: _Rules
) -> tuple[History | None, list[Column]]:
    """The first-parent history up to head (with the work tree as its newest point when head is
    the workspace), and the columns to draw: the declared metrics, or the first few."""
    from mlratchet import gitio
    from mlratchet.metrics import history, read_metrics
    from mlratchet.metrics.history import Point

    start = head.sha or gitio.head(repo)
    if start is None:
        return None, []
    try:
        hist = history(repo, start, last=PNG_HISTORY_COMMITS)
    except RatchetError:
        return None, []
    if head.sha is None:
        try:
            # Labelled "workspace" (charts label a point by its first tag): it is not a commit.
            # A work tree whose metrics are HEAD's adds nothing to the chart.
            now = Point("workspace", 0, ("workspace",), read_metrics(repo, head))
            if not hist.points or hist.points[0].metrics != now.metrics:
                hist = dataclasses.replace(hist, points=(now, *hist.points))
        except RatchetError:
            pass
    if not hist.points:
        return None, []
    numeric = hist.numeric()
    if rules.rules:
        chosen = [c for key in rules.rules for c in numeric if key in (c.key, c.name)]
    else:
        chosen = numeric[:3]
    return hist, chosen[:MAX_HISTORY_CHARTS]


def _label(point: Point, base: Revision) -> str:
    """A commit's short name in a chart: its first tag that is not a registry stage assignment
    (``v1.2``, ``flight-delay@v0.0.1``; ``NAME#STAGE#N`` tags are long and change), else its
    short sha."""
    names = [t for t in point.tags if "#" not in t]
    label = names[0] if names else point.sha[:7]
    return f"{label} (base)" if base.sha is not None and point.sha == base.sha else label


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _series(hist: History, chosen: list[Column], base: Revision) -> tuple[Series, ...]:
    points = list(reversed(hist.points[:HISTORY_COMMITS]))  # oldest first
    out = []
    for column in chosen:
        kept = [p for p in points if _finite(p.value(column))]
        if kept:
            out.append(
                Series(
                    metric=column.name,
                    labels=tuple(_label(p, base) for p in kept),
                    values=tuple(float(p.value(column)) for p in kept),
                )
            )
    return tuple(out)


def _history_note(hist: History | None, chosen: list[Column]) -> str | None:
    if hist is None:
        return "no metrics history to draw (no commits with metrics yet)"
    if not chosen:
        return "no numeric metric in the history to draw"
    return None


def _png_history(hist: History | None, chosen: list[Column]) -> History | None:
    if hist is None or not chosen:
        return None
    return dataclasses.replace(hist, columns=tuple(chosen), selected=True)


_Points = tuple[list[tuple[float, float]] | None, str | None]


def _points(files: _Files, rev: Revision, plot: PlotDef) -> _Points:
    from mlratchet.report.dvcplots import parse_points

    data = files.read(rev, plot.file)
    if data is None:
        return None, f"no {plot.file} at {describe(rev)}"
    try:
        return parse_points(data, f"{plot.file} at {describe(rev)}", plot), None
    except RatchetError as exc:
        return None, str(exc)


def _plot_curves(
    files: _Files, base: Revision, head: Revision
) -> tuple[list[tuple[PlotDef, _Points, _Points]], str | None]:
    """The first few plots ``dvc.yaml`` declares (at head; at base if head has no readable
    ``dvc.yaml``), with their points at head and at base."""
    from mlratchet.report.dvcplots import plot_defs
    from mlratchet.yamlio import parse_yaml

    defs: list[PlotDef] = []
    for rev in (head, base):
        data = files.read(rev, DVC_YAML)
        if data is None:
            continue
        try:
            defs = plot_defs(parse_yaml(data.decode("utf-8", "replace"), DVC_YAML))
        except RatchetError:
            continue
        break  # the head's dvc.yaml decides; the base's only when the head has none
    if not defs:
        return [], (
            f"{DVC_YAML} declares no plot with x and y fields over a JSON, CSV or TSV file "
            "(`plots:`), so there is no plot to draw"
        )
    chosen = defs[:MAX_PLOTS]
    note = None
    if len(defs) > MAX_PLOTS:
        note = f"{len(defs) - MAX_PLOTS} more plots in {DVC_YAML} not drawn (`dvc plots diff`)"
    return [(d, _points(files, head, d), _points(files, base, d)) for d in chosen], note


def _plot(plot: PlotDef, head: _Points, base: _Points) -> Plot:
    from mlratchet.report.dvcplots import grid

    notes = [n for n in (head[1], base[1]) if n]
    present = [c for c in (head[0], base[0]) if c is not None]
    xs = grid(present) if present else ()
    return Plot(
        id=plot.id,
        file=plot.file,
        x=plot.x,
        y=plot.y,
        grid=xs,
        head=None if head[0] is None else resample(head[0], xs),
        base=None if base[0] is None else resample(base[0], xs),
        note="; ".join(notes) or None,
    )
