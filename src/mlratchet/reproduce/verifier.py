"""``ratchet verify``: prove that a commit's pipeline reproduces its ``dvc.lock`` bit for bit.

``dvc repro --force`` silently rewrites ``dvc.lock`` when a stage is nondeterministic, and
``dvc status`` then says all is well. ``verify`` re-runs the commit's pipeline from scratch in
an isolated sandbox (:mod:`mlratchet.reproduce.sandbox`: its own empty DVC cache, no
run-cache, so nothing is restored instead of recomputed) and compares every output's hash
with the commit's committed ``dvc.lock``.

Order of work, cheapest refusal first:

1. the revision and its ``dvc.lock`` (unknown revision, no lock: exit 2);
2. the lock against its own ``dvc.yaml``, params and git-tracked dependencies, with DVC's
   own loader in the sandbox, and the committed outputs (metrics, plots data) against the
   lock's hashes (a stale or hand-edited lock, or an output edited after the run: exit 3,
   before running anything; :mod:`mlratchet.reproduce.lockcheck`);
3. inputs the pipeline does not produce (``dvc add``-ed data, imports, frozen stages' outputs)
   are fetched read-only from the user's DVC cache, else from the DVC remote, and re-hashed
   (integrity on read);
4. proofs by record (:mod:`mlratchet.reproduce.proofs`; not with ``full``): a stage an
   earlier verify re-ran with the same command, dependency hashes, params, environment and
   output hashes is proven by that record; its outputs are copied from the user's DVC cache
   (else pulled from the remote) and re-hashed, and it is not run;
5. the run of the other stages: DVC, forced, ``--no-commit`` (hashes, no copies into the
   throwaway cache);
6. each output re-hashed with :func:`mlratchet.integrity.check_entry` against the commit's
   record: identical, differs (both hashes) or missing.

The verdict goes into the commit's git note (key ``verify``), with ``ok``, ``rev`` (full sha)
and ``lock_md5`` (md5 of the ``dvc.lock`` verified), so promotion can require it, and
``proofs``: what this verify proved, per stage, for later verifies to reuse.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict

from mlratchet import __version__
from mlratchet.dvclock import Entry, StageLock, parse_lock
from mlratchet.errors import BadInputError, RatchetError
from mlratchet.reproduce.engine import (
    OnEvent,
    Session,
    StageFailedError,
    StageRun,
    run_dvc,
    run_dvc_parallel,
)
from mlratchet.reproduce.environment import Environment
from mlratchet.reproduce.proofs import ProofIndex, ProofJson, ProvenBy, ProvenByJson
from mlratchet.reproduce.runner import FailureJson, StageJson, failure_json, stage_json

NOTE_KEY = "verify"
OutputStatus = Literal["identical", "differs", "missing"]
Verdict = Literal["reproduced", "not-reproduced", "stale"]


class OutputJson(TypedDict):
    """One output's comparison."""

    path: str
    status: str
    expected: str | None
    actual: str | None


class StageCheckJson(TypedDict):
    """One stage's comparison (and what running it cost)."""

    stage: str
    status: str
    outputs: list[OutputJson]
    run: StageJson | None
    failure: FailureJson | None
    proven_by: ProvenByJson | None  # the earlier verify whose re-run proves it (not re-run)


class VerifyJson(TypedDict):
    """``ratchet verify --json``, and the git note's ``verify`` value."""

    ok: bool
    verdict: str
    rev: str
    rev_name: str
    lock_md5: str
    stages: list[StageCheckJson]
    stale: list[str]
    seconds: float
    jobs: int
    workdir: str | None
    verified_at: str
    versions: dict[str, str]
    full: bool
    warnings: list[str]
    proofs: dict[str, ProofJson]


@dataclass(frozen=True)
class OutputCheck:
    """One output of the commit's ``dvc.lock``, re-made and re-hashed."""

    path: str
    status: OutputStatus
    expected: str | None
    actual: str | None


@dataclass(frozen=True)
class StageCheck:
    """One stage: ``identical`` if every output is, else ``differs``, else ``missing``.

    ``proven_by``: the earlier verify whose re-run of the same command, dependency hashes,
    params and environment proves this stage (then ``run`` is None: it was not re-run, its
    outputs were fetched and re-hashed).
    """

    stage: str
    outputs: tuple[OutputCheck, ...]
    run: StageRun | None
    proven_by: ProvenBy | None = None

    @property
    def status(self) -> OutputStatus:
        """The stage's verdict: missing beats differs beats identical."""
        statuses = {out.status for out in self.outputs}
        if "missing" in statuses:
            return "missing"
        return "differs" if "differs" in statuses else "identical"


@dataclass(frozen=True)
class VerifyReport:
    """The verdict on one commit."""

    rev_name: str
    sha: str
    lock_md5: str
    verdict: Verdict
    stages: tuple[StageCheck, ...]
    stale: tuple[str, ...]  # why the lock is stale (verdict "stale")
    seconds: float
    jobs: int
    workdir: str | None  # the sandbox, when kept
    note_error: str | None = None  # why the verdict could not be stored in the git note
    full: bool = False  # every stage re-run, no proof by record used
    warnings: tuple[str, ...] = ()  # e.g. a proof not used because its outputs were not found
    proofs: Mapping[str, ProofJson] = field(default_factory=dict)  # what this verify proved
    verified_at: str = ""

    @property
    def proven(self) -> tuple[StageCheck, ...]:
        """The stages proven by an earlier verify's record (not re-run)."""
        return tuple(check for check in self.stages if check.proven_by is not None)

    @property
    def ok(self) -> bool:
        """Whether every output reproduced bit for bit."""
        return self.verdict == "reproduced"

    def to_json(self) -> VerifyJson:
        """The ``--json`` shape, also stored in the git note."""
        import dvc

        return VerifyJson(
            ok=self.ok,
            verdict=self.verdict,
            rev=self.sha,
            rev_name=self.rev_name,
            lock_md5=self.lock_md5,
            stages=[
                StageCheckJson(
                    stage=check.stage,
                    status=check.status,
                    outputs=[
                        OutputJson(
                            path=o.path, status=o.status, expected=o.expected, actual=o.actual
                        )
                        for o in check.outputs
                    ],
                    run=None if check.run is None else stage_json(check.run),
                    failure=(
                        failure_json(check.run)
                        if check.run is not None and check.run.status in ("failed", "not-run")
                        else None
                    ),
                    proven_by=None if check.proven_by is None else check.proven_by.to_json(),
                )
                for check in self.stages
            ],
            stale=list(self.stale),
            seconds=round(self.seconds, 3),
            jobs=self.jobs,
            workdir=self.workdir,
            verified_at=self.verified_at or _now(),
            versions={
                "mlratchet": __version__,
                "dvc": str(dvc.__version__),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            full=self.full,
            warnings=list(self.warnings),
            proofs=dict(self.proofs),
        )


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# -- stale lock --------------------------------------------------------------------------------


def _rel(repo: Any, fs_path: str) -> str:
    return os.path.relpath(fs_path, repo.root_dir)


def _hash(item: Any) -> str | None:
    info = getattr(item, "hash_info", None)
    return None if not info or info.value is None else str(info.value)


def _stale_deps(repo: Any, stage: Any, produced: dict[str, tuple[Any, Any]]) -> list[str]:
    from dvc.dependency import ParamsDependency

    where = f"stage '{stage.addressing}'"
    problems = []
    for dep in stage.deps:
        path = _rel(repo, dep.fs_path)
        if isinstance(dep, ParamsDependency):
            status = dep.workspace_status().get(str(dep), {})
            if isinstance(status, dict):
                problems += [
                    f"{where}: param {path}:{key} is {state} since dvc.lock"
                    for key, state in status.items()
                ]
            elif status:
                problems.append(f"{where}: params file {path} is {status}")
            continue
        recorded = _hash(dep)
        if recorded is None:
            problems.append(f"{where}: dvc.lock records no hash for dependency {path}")
        elif dep.fs_path in produced:
            producer, out = produced[dep.fs_path]
            made = _hash(out)
            if made is not None and made != recorded:
                problems.append(
                    f"{where}: dvc.lock records dependency {path} as {recorded}, but "
                    f"'{producer.addressing}' records its output {path} as {made}"
                )
        elif dep.exists and dep.workspace_status():
            problems.append(
                f"{where}: dvc.lock records dependency {path} as {recorded}, but the "
                f"commit's file hashes to {dep.get_hash().value}"
            )
    return problems


def malformed_hashes(lock_text: bytes) -> list[str]:
    """Entries of a ``dvc.lock`` whose ``md5`` is not a hex string (hand edits DVC crashes on)."""
    import re

    from mlratchet.yamlio import parse_yaml

    data = parse_yaml(lock_text.decode("utf-8"), "dvc.lock") or {}
    problems = []
    for name, stage in (data.get("stages") or {}).items():
        for kind in ("deps", "outs"):
            for item in (stage or {}).get(kind) or []:
                md5 = item.get("md5") if isinstance(item, dict) else None
                if md5 is not None and not (
                    isinstance(md5, str) and re.fullmatch(r"[0-9a-f]{32}(\.dir)?", md5)
                ):
                    problems.append(
                        f"stage '{name}': dvc.lock records {kind[:-1]} {item.get('path')} "
                        f"with md5 {md5!r}, which is not an md5 hash"
                    )
    return problems


def find_stale(repo: Any, committed: dict[str, StageLock]) -> list[str]:
    """Why ``dvc.lock`` disagrees with its own ``dvc.yaml``, params and tracked files ([] if not).

    ``repo`` is DVC's Repo of the sandbox: DVC's loader reads ``dvc.yaml`` (templating and all)
    and fills each stage from the lock. Outputs are not on disk yet; dependencies that are
    files of the commit are, and are re-hashed; a dependency another stage (or a ``.dvc``
    file) produces must carry the hash that stage's output records.
    """
    from dvc.stage import PipelineStage

    stages = list(repo.index.stages)
    produced = {out.fs_path: (stage, out) for stage in stages for out in stage.outs}
    pipeline = [s for s in stages if isinstance(s, PipelineStage)]
    in_root = {s.name: s for s in pipeline if _rel(repo, s.dvcfile.path) == "dvc.yaml"}
    problems = [
        f"dvc.lock has stage '{name}', which dvc.yaml does not define"
        for name in committed
        if name not in in_root
    ]
    for stage in pipeline:
        where = f"stage '{stage.addressing}'"
        if stage.name in in_root and in_root[stage.name] is stage:
            lock = committed.get(stage.name)
            if lock is None:
                problems.append(f"{where} is not in dvc.lock (run `dvc repro` and commit)")
                continue
            declared = {_rel(repo, out.fs_path) for out in stage.outs}
            problems += [
                f"{where}: dvc.lock records output {extra}, dvc.yaml does not"
                for extra in sorted({out.path for out in lock.outs} - declared)
            ]
        if stage.cmd_changed:
            problems.append(f"{where}: its command in dvc.yaml differs from dvc.lock's")
        problems += _stale_deps(repo, stage, produced)
        problems += [
            f"{where}: dvc.lock records no hash for output {_rel(repo, out.fs_path)}"
            for out in stage.outs
            if _hash(out) is None and not stage.frozen
        ]
    return problems


# -- inputs ------------------------------------------------------------------------------------


def _inputs(repo: Any) -> list[Any]:
    """Outputs the run needs but does not make: of ``.dvc`` files and of frozen stages."""
    from dvc.stage import PipelineStage

    stages = list(repo.index.stages)
    runnable = [s for s in stages if isinstance(s, PipelineStage) and not s.frozen and s.cmd]
    needed = {dep.fs_path for s in runnable for dep in s.deps}
    found = []
    for stage in stages:
        if stage in runnable:
            continue
        for out in stage.outs:
            if any(
                n == out.fs_path
                or n.startswith(out.fs_path + os.sep)
                or out.fs_path.startswith(n + os.sep)
                for n in needed
            ):
                found.append(out)
    return found


def _pull(
    repo: Any, targets: Sequence[str], remotes: Sequence[str], *, stages: bool = False
) -> None:
    """Check ``targets`` out into the sandbox from the first of ``remotes`` that holds each.

    ``targets`` are output paths, or with ``stages``, stage names (all their outputs).
    One ``pull`` per remote; when it fails (one target absent there), one per target, so
    that the others still arrive. What arrives is re-hashed by the caller.
    """
    from dvc.exceptions import DvcException

    def absent(target: str) -> bool:
        if not stages:
            return not (Path(repo.root_dir) / target).exists()
        return any(
            not Path(out.fs_path).exists()
            for stage in repo.stage.collect(target)
            for out in stage.outs
        )

    for remote in remotes:
        missing = [t for t in targets if absent(t)]
        if not missing:
            return
        try:
            repo.pull(targets=missing, remote=remote)
        except DvcException:
            for target in missing:
                with contextlib.suppress(DvcException):
                    repo.pull(targets=[target], remote=remote)


def _remotes(default_remote: str | None) -> list[str]:
    from mlratchet.reproduce.sandbox import USER_CACHE_REMOTE

    return [USER_CACHE_REMOTE] + ([default_remote] if default_remote else [])


def fetch_inputs(repo: Any, default_remote: str | None) -> list[str]:
    """Pull the run's inputs (user's cache first, then the remote); re-hash them. Paths fetched."""
    from mlratchet.integrity import unreachable_remote, verify_entry

    outs = _inputs(repo)
    if not outs:
        return []
    targets = [_rel(repo, out.fs_path) for out in outs]
    _pull(repo, targets, _remotes(default_remote))
    for target, out in zip(targets, outs, strict=True):
        if not Path(out.fs_path).exists():
            problem = unreachable_remote(repo, default_remote) if default_remote else None
            if problem is not None:
                raise BadInputError(
                    f"{target}: the commit needs it as an input, it is not in your DVC cache, "
                    f"and {problem}"
                )
            raise BadInputError(
                f"{target}: the commit needs it as an input, and it is neither in your DVC "
                f"cache nor on the remote{f' {default_remote!r}' if default_remote else ''}; "
                "run `dvc pull` (or `dvc push` from where it was made) and retry"
            )
        recorded = _hash(out)
        if recorded is not None:
            verify_entry(
                repo.root_dir,
                Entry(target, recorded, None, None, str(out.hash_info.name or "md5")),
            )
    return targets


# -- proofs by record --------------------------------------------------------------------------


def _environments(repo: Any, committed: Mapping[str, StageLock]) -> dict[str, Environment]:
    """The environment of each stage of the root ``dvc.lock``, as ``ratchet repro`` records it."""
    from dvc.stage import PipelineStage

    from mlratchet.reproduce.engine import stage_cmd, stage_deps
    from mlratchet.reproduce.environment import stage_environment

    envs = {}
    for stage in repo.index.stages:
        if (
            isinstance(stage, PipelineStage)
            and stage.name in committed
            and _rel(repo, stage.dvcfile.path) == "dvc.yaml"
        ):
            envs[stage.name] = stage_environment(repo.root_dir, stage_deps(stage), stage_cmd(stage))
    return envs


def _fetch_proven(
    repo: Any,
    committed: Mapping[str, StageLock],
    candidates: Mapping[str, ProvenBy],
    default_remote: str | None,
    user_cache: Path | None,
) -> tuple[dict[str, ProvenBy], list[str]]:
    """Fetch the outputs of the stages a record proves, and re-hash them against ``dvc.lock``.

    A stage whose outputs cannot be found, or whose fetched bytes do not hash to the lock's
    record, is not proven (it is re-run) and a warning says why. Returns the stages proven.
    """
    import shutil

    from mlratchet.integrity import check_entry, restore_entry

    root = Path(repo.root_dir)
    problems: dict[str, str] = {}

    def holds(name: str, entry: Entry) -> bool:
        """Whether the sandbox holds ``entry``'s recorded bytes (re-hashed); else drop them."""
        path = root / entry.path
        if not path.exists():
            problems[name] = f"{entry.path} is neither in your DVC cache nor on the remote"
            return False
        mismatch = check_entry(root, entry)
        if mismatch is None:
            return True
        problems[name] = (
            f"{entry.path} was fetched but hashes to {mismatch.actual}, not "
            f"{mismatch.expected} as dvc.lock records (a corrupted cache object?)"
        )
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
        return False

    # The user's cache first, copied directly (a DVC pull costs seconds of pipeline loading);
    # what it lacks or holds corrupted, DVC pulls by stage from the remote.
    pending: dict[str, list[Entry]] = {}
    for name in candidates:
        for entry in committed[name].outs:
            if (root / entry.path).exists():  # git holds it (cache: false)
                ok = holds(name, entry)
            else:
                ok = user_cache is not None and restore_entry(user_cache, root, entry)
                ok = ok and holds(name, entry)
            if not ok:
                pending.setdefault(name, []).append(entry)
    if pending:
        _pull(repo, sorted(pending), _remotes(default_remote), stages=True)
    proven: dict[str, ProvenBy] = {}
    warnings: list[str] = []
    for name, by in candidates.items():
        if all(holds(name, entry) for entry in pending.get(name, ())):
            proven[name] = by
        else:
            warnings.append(
                f"stage '{name}' is proven by the verify of {by.rev[:7]} ({by.verified_at}) "
                f"but re-run: {problems[name]}"
            )
    return proven, warnings


def _producers(committed: Mapping[str, StageLock]) -> dict[str, set[str]]:
    """Stage -> the stages whose outputs it depends on (by path, a directory either way)."""
    outs = [(name, out.path) for name, lock in committed.items() for out in lock.outs]
    found: dict[str, set[str]] = {}
    for name, lock in committed.items():
        found[name] = {
            producer
            for dep in lock.deps
            for producer, path in outs
            if producer != name
            and (
                dep.path == path
                or dep.path.startswith(path + "/")
                or path.startswith(dep.path + "/")
            )
        }
    return found


def record_proofs(
    committed: Mapping[str, StageLock],
    checks: Sequence[StageCheck],
    envs: Mapping[str, Environment],
    cpu: str,
    this: ProvenBy,
) -> dict[str, ProofJson]:
    """What a verify proved, per stage: a stage re-run (or proven by record) with outputs
    identical to the lock, whose upstream stages all are identical too (so it ran on the
    inputs the lock records). A stage re-run here is proven by ``this`` verify."""
    from mlratchet.reproduce.proofs import proof

    status = {check.stage: check.status for check in checks}
    upstream = _producers(committed)
    recorded: dict[str, ProofJson] = {}
    for check in checks:
        ran = check.run is not None and check.run.status == "ran"
        if (
            check.status != "identical"
            or check.stage not in committed
            or check.stage not in envs
            or not (ran or check.proven_by is not None)
            or any(status.get(up) != "identical" for up in upstream.get(check.stage, ()))
        ):
            continue
        by = check.proven_by if check.proven_by is not None else this
        recorded[check.stage] = proof(committed[check.stage], envs[check.stage], cpu, by)
    return recorded


# -- the run -----------------------------------------------------------------------------------


def _plan(repo: Any) -> list[tuple[str, list[str]]]:
    """Runnable stages in DVC's order, each with the runnable stages it depends on."""
    from dvc.repo.reproduce import get_active_graph, plan_repro
    from dvc.stage import PipelineStage

    graph = get_active_graph(repo.index.graph)
    runnable = {s for s in graph if isinstance(s, PipelineStage) and not s.frozen and s.cmd}
    order = [s for s in plan_repro(graph) if s in runnable]
    return [
        (s.addressing, [u.addressing for u in graph.successors(s) if u in runnable]) for s in order
    ]


def _is_chain(plan: Sequence[tuple[str, Sequence[str]]]) -> bool:
    """Whether the stages form one chain (nothing could run in parallel)."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(name for name, _ in plan)
    graph.add_edges_from((name, up) for name, ups in plan for up in ups)
    return len(plan) <= 1 or nx.dag_longest_path_length(graph) + 1 == len(plan)


def _compare(
    root: Path,
    committed: dict[str, StageLock],
    runs: dict[str, StageRun],
    order: Sequence[str],
    proven: Mapping[str, ProvenBy],
) -> list[StageCheck]:
    from mlratchet.integrity import check_entry

    checks = []
    # The order the pipeline runs in (dvc.lock keeps the order stages were first added).
    names = [n for n in order if n in committed] + [n for n in committed if n not in order]
    for name in names:
        lock = committed[name]
        if name in proven:  # re-hashed when fetched
            outputs = [OutputCheck(e.path, "identical", e.md5, e.md5) for e in lock.outs]
            checks.append(StageCheck(name, tuple(outputs), None, proven[name]))
            continue
        outputs = []
        for entry in lock.outs:
            if entry.md5 is None or not (root / entry.path).exists():
                outputs.append(OutputCheck(entry.path, "missing", entry.md5, None))
                continue
            mismatch = check_entry(root, entry)
            if mismatch is None:
                outputs.append(OutputCheck(entry.path, "identical", entry.md5, entry.md5))
            else:
                outputs.append(OutputCheck(entry.path, "differs", entry.md5, mismatch.actual))
        checks.append(StageCheck(name, tuple(outputs), runs.get(name)))
    return checks


@dataclass(frozen=True)
class _Outcome:
    stale: list[str]
    checks: list[StageCheck] = field(default_factory=list)
    envs: dict[str, Environment] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def verify(
    repo: Path | str = ".",
    rev: str = "HEAD",
    *,
    jobs: int = 1,
    keep: bool = False,
    full: bool = False,
    on_event: OnEvent | None = None,
) -> VerifyReport:
    """Prove that commit ``rev``'s pipeline reproduces its ``dvc.lock``, in a sandbox.

    A stage whose command, dependency hashes, params and environment are those of a stage an
    earlier verify re-ran with the same output hashes (on any commit: the ``proofs`` of the
    verify notes) is proven by that record: its outputs are fetched from the DVC cache or
    remote and re-hashed, not re-made. Every other stage is re-run from scratch. ``full``
    re-runs every stage. What this verify proved is stored in the commit's note with the
    verdict.

    Never writes to the user's work tree, index, refs (but the notes ref) or DVC cache.
    ``jobs`` > 1 runs up to that many independent stages at once (a pipeline that is one
    chain runs in this process either way). Raises :class:`BadInputError` (exit 2) for an
    unknown revision, a revision without ``dvc.lock``, or an input that cannot be fetched.
    """
    from mlratchet import notes
    from mlratchet.reproduce import sandbox as sb
    from mlratchet.reproduce.engine import deferred_sigint
    from mlratchet.reproduce.environment import cpu_signature
    from mlratchet.reproduce.lockcheck import committed_lock, quick_problems
    from mlratchet.reproduce.proofs import load_index

    start = time.perf_counter()
    found = committed_lock(repo, rev, what="verify")
    git_root, dvc_root, dvc_rel, sha = found.git_root, found.dvc_root, found.dvc_rel, found.sha
    lock_path, lock_bytes = found.lock_path, found.data
    if lock_bytes is None:
        raise BadInputError(
            f"{lock_path} does not exist at {rev} ({sha[:7]}): nothing to verify; "
            "run the pipeline and commit dvc.lock"
        )
    # Hashes DVC would crash on (before parsing: the reader refuses them), then committed
    # outputs edited after the run (a re-run cannot see those: it rewrites the file).
    stale = quick_problems(dvc_root, sha, lock_bytes, rev)
    committed = {} if stale else parse_lock(lock_bytes, f"{lock_path} at {rev}")
    outcome = _Outcome(stale)
    workdir: str | None = None
    if not stale:
        index = None if full else load_index(git_root, NOTE_KEY)
        with sb.checkout(git_root, sha, dvc_rel, keep=keep) as box:
            outcome = _check_in(
                box, git_root, dvc_root, committed, jobs=jobs, index=index, on_event=on_event
            )
            workdir = str(box.directory) if keep else None
    checks = outcome.checks
    if outcome.stale:
        verdict: Verdict = "stale"
    elif all(check.status == "identical" for check in checks):
        verdict = "reproduced"
    else:
        verdict = "not-reproduced"
    verified_at = _now()
    report = VerifyReport(
        rev_name=rev,
        sha=sha,
        lock_md5=hashlib.md5(lock_bytes).hexdigest(),  # noqa: S324 - an identity, as in DVC
        verdict=verdict,
        stages=tuple(checks),
        stale=tuple(outcome.stale),
        seconds=time.perf_counter() - start,
        jobs=jobs,
        workdir=workdir,
        full=full,
        warnings=tuple(outcome.warnings),
        proofs=record_proofs(
            committed, checks, outcome.envs, cpu_signature(), ProvenBy(sha, verified_at)
        ),
        verified_at=verified_at,
    )
    try:
        with deferred_sigint():
            notes.update(git_root, sha, NOTE_KEY, report.to_json())
    except RatchetError as exc:  # e.g. no git identity: the result stands, unrecorded
        return dataclasses.replace(report, note_error=str(exc))
    return report


def _check_in(
    box: Any,
    git_root: Path,
    dvc_root: Path,
    committed: dict[str, StageLock],
    *,
    jobs: int,
    index: ProofIndex | None,
    on_event: OnEvent | None,
) -> _Outcome:
    """In the sandbox: the stale-lock check, the inputs, the proofs by record, the run of the
    other stages, the comparison."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    from mlratchet.reproduce import preflight
    from mlratchet.reproduce import sandbox as sb
    from mlratchet.reproduce.engine import translate_dvc_error
    from mlratchet.reproduce.environment import cpu_signature

    user_config = sb.user_dvc_config(dvc_root)
    user_cache = sb.user_cache_dir(dvc_root, user_config)
    sb.configure_dvc(box, user_config, user_cache)
    env = {"PYTHONPATH": sb.python_path(git_root, box), "DVC_NO_ANALYTICS": "1"}
    remote = (user_config.get("core") or {}).get("remote")
    proven: dict[str, ProvenBy] = {}
    warnings: list[str] = []
    with Session(on_event=on_event, env=env) as session:
        try:
            with contextlib.chdir(box.dvc_root), Repo(str(box.dvc_root)) as sandbox_repo:
                preflight.check_interpolations(sandbox_repo)
                stale = find_stale(sandbox_repo, committed)
                if stale:
                    return _Outcome(stale)
                fetch_inputs(sandbox_repo, remote)
                plan = _plan(sandbox_repo)
                envs = _environments(sandbox_repo, committed)
                if index:
                    cpu = cpu_signature()
                    candidates = {
                        name: by
                        for name, _ in plan
                        if name in committed
                        and name in envs
                        and (by := index.find(committed[name], envs[name], cpu)) is not None
                    }
                    proven, warnings = _fetch_proven(
                        sandbox_repo, committed, candidates, remote, user_cache
                    )
        except DvcException as exc:
            raise BadInputError(f"at the commit verified, {translate_dvc_error(exc)}") from exc
        to_run = [
            (name, [u for u in ups if u not in proven]) for name, ups in plan if name not in proven
        ]
        try:
            if not to_run:
                done: list[StageRun] = []
            elif jobs > 1 and not _is_chain(to_run):
                logs = box.directory / "logs"
                done = run_dvc_parallel(box.dvc_root, to_run, session=session, jobs=jobs, logs=logs)
            else:
                done = run_dvc(
                    box.dvc_root,
                    session=session,
                    force=True,
                    no_commit=True,
                    run_cache=False,
                    skip=proven,
                )
        except StageFailedError as exc:
            done = list(exc.runs)
    runs = {run.stage: run for run in done}
    checks = _compare(box.dvc_root, committed, runs, [name for name, _ in plan], proven)
    return _Outcome([], checks, envs, warnings)
