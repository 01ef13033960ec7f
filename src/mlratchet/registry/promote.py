"""Register a version and promote it through the gates: safe under races, never moving a tag.

Both commands refuse a dirty work tree (exit 4) and a commit whose model bytes do not hash to
what its ``dvc.lock`` records (exit 3), before anything is written. Then, holding the
repository's registry lock (``flock`` on ``<git dir>/mlratchet-registry.lock``, released by the
kernel if the process dies):

1. the artifact's tags are read again; if anyone tagged the artifact since the gates were
   evaluated, the command stops with exit 4 and asks for a rerun (the gates compared with a
   stage that has changed);
2. the new tag is dated strictly after every dated tag of the artifact (waiting for the clock
   to pass that second, at most a second or two; a tag dated further ahead is refused as an
   inconsistent registry, exit 3), so GTO's date order and the counters agree;
3. each tag is created create-only (:func:`mlratchet.registry.tags.create_tag`).

Two promotions racing in one repository: one creates ``NAME#STAGE#N``, the other exits 4
("the registry changed ... rerun"). With ``--push`` the tags go in one atomic push; if the
remote refuses (another clone pushed first), the tags this command created, and only those,
are deleted locally and the command exits 4 asking to fetch and retry.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from mlratchet import revs
from mlratchet.dvcroot import find_root
from mlratchet.errors import (
    BadInputError,
    ConflictError,
    IntegrityError,
    RatchetError,
    RefusedError,
)
from mlratchet.fsio import lock_within
from mlratchet.gitio import dirty_paths, git, head, read_blob, run
from mlratchet.policy import Policy, policy_at
from mlratchet.registry import card as cards
from mlratchet.registry.artifacts import artifact_entry, declared_artifact
from mlratchet.registry.audit import audit_tags, findings_for
from mlratchet.registry.champion import Comparison, ComparisonJSON
from mlratchet.registry.gates import (
    Evidence,
    GateJSON,
    GateRow,
    Subject,
    evaluate,
    flat_metrics,
    stage_policy,
)
from mlratchet.registry.published import check_published
from mlratchet.registry.state import (
    ArtifactState,
    RegistryState,
    VersionState,
    iso_time,
    load_state,
)
from mlratchet.registry.tags import (
    TAGS_PREFIX,
    CreatedTag,
    SemVer,
    assignment_message,
    assignment_tag,
    check_artifact_name,
    check_stage_name,
    create_tag,
    delete_own_tag,
    parse_tag_name,
    registration_message,
    registration_tag,
    remote_tags,
    tagger_ident,
)
from mlratchet.reproduce.lockcheck import require_lock

LOCK_FILE = "mlratchet-registry.lock"
LOCK_TIMEOUT_SECONDS = 30.0
#: The longest we wait for the clock to pass the newest tag's second before calling it future.
MAX_CLOCK_WAIT_SECONDS = 2

Bump = Literal["major", "minor", "patch"]
#: Reads the metrics of a commit as ``{path: {flat_key: value}}``: by default
#: :func:`mlratchet.metrics.read_metrics`, the one reader of metrics as DVC reads them.
MetricsReader = Callable[[Path, str], Mapping[str, Mapping[str, Any]]]


class DirtyWorktreeError(ConflictError):
    """The work tree has uncommitted changes to tracked files (exit 4)."""

    def __init__(self, paths: list[str]) -> None:
        shown = ", ".join(paths[:5]) + (f" (+{len(paths) - 5} more)" if len(paths) > 5 else "")
        super().__init__(
            f"the work tree has uncommitted changes ({shown}); commit or stash them first: "
            "the registry pins committed bytes only"
        )


class RegistryChangedError(ConflictError):
    """Someone tagged the artifact while this command evaluated (exit 4)."""

    def __init__(self, artifact: str, new: list[str]) -> None:
        what = ", ".join(sorted(new)[:3]) or "a tag was removed"
        super().__init__(
            f"{artifact}: the registry changed while this command ran ({what}); "
            "another promotion won the race: rerun to evaluate against the new state"
        )


class RegistryBusyError(ConflictError):
    """The registry lock stayed held (exit 4)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path}: another registry command holds the lock; retry shortly")


class RegistryInconsistentError(IntegrityError):
    """The artifact's tags contradict each other (exit 3): see ``ratchet registry audit``."""


class VersionConflictError(ConflictError):
    """The version or commit is already registered otherwise (exit 4)."""


class PushRejectedError(ConflictError):
    """The remote refused the tags: another clone got there first (exit 4)."""


class PushFailedError(BadInputError):
    """The push failed for another reason: no such remote, unreachable... (exit 2)."""


# --- plumbing ------------------------------------------------------------------------------


@contextlib.contextmanager
def registry_lock(root: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold the repository's registry lock (shared by its worktrees) for the block."""
    common = Path(git(root, "rev-parse", "--git-common-dir"))
    path = (common if common.is_absolute() else root / common) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not lock_within(fd, timeout):
            raise RegistryBusyError(path)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _unchanged(
    root: Path, state: RegistryState, name: str, push: bool, remote: str
) -> Iterator[RegistryState]:
    """Hold the registry lock for the block, and give the registry as re-read under it: if
    ``name``'s tags changed since ``state`` was read (another promotion won the race), or with
    ``push`` the remote holds tags we lack, nothing is created."""
    with registry_lock(root):
        fresh = load_state(root)
        if fresh.fingerprint(name) != state.fingerprint(name):
            raise RegistryChangedError(name, _new_tags(state, fresh, name))
        if push:
            _check_remote(root, remote, name, fresh)
        yield fresh


def _check_clean(root: Path) -> None:
    dirty = dirty_paths(root)
    if dirty:
        raise DirtyWorktreeError(dirty)


def _check_consistent(state: RegistryState, artifact: str) -> None:
    report = audit_tags(state, (artifact,))
    found = findings_for(report, artifact, blocking_only=True)
    if found:
        first = found[0]
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        raise RegistryInconsistentError(
            f"{artifact}: the registry is inconsistent: {first.tag}: {first.kind}: "
            f"{first.detail}{more}; see `ratchet registry audit`"
        )


def _resolve_commit(root: Path, rev: str) -> str:
    resolved = revs.resolve(root, rev)
    if resolved.sha is None:
        raise BadInputError("the work tree cannot be registered: commit it and give a revision")
    from mlratchet.experiments.refs import list_refs, reachable_from_branch

    if not reachable_from_branch(root, resolved.sha):
        exps = [e.name for e in list_refs(root) if e.sha == resolved.sha]
        if exps:
            raise RefusedError(
                f"{rev!r} is experiment {exps[0]!r}, on no branch: no promotion straight from an "
                f"experiment; `ratchet exp branch {exps[0]}`, open a pull request, merge it"
            )
    return resolved.sha


def _verify_model(root: Path, artifact: str, commit: str, what: str) -> tuple[str, str, str]:
    """Re-hash the artifact at ``commit``: (path, md5, where its bytes were read).

    First, the commit's ``dvc.lock`` must hold (:func:`~mlratchet.reproduce.lockcheck.
    require_lock`: not stale, not cut short, its committed outputs unedited), else exit 3 and
    ``what`` is refused.

    At HEAD with the file in the work tree, the work-tree file must match (a modified model is
    exit 3 even if the cache is intact); otherwise the bytes are found and re-hashed by
    :func:`mlratchet.integrity.verify_output` (the work tree if it holds that revision's
    bytes, else the DVC cache).
    """
    from mlratchet.integrity import verify_entry, verify_output

    require_lock(root, commit, what)
    declared = declared_artifact(root, artifact, commit)
    entry = artifact_entry(root, declared, commit)
    if commit == head(root) and (root / entry.path).exists():
        verify_entry(root, entry)
        return entry.path, str(entry.md5), "workspace"
    verified = verify_output(root, entry.path, commit)
    return entry.path, verified.md5, "workspace" if verified.in_workspace else "cache"


def _wait_for_clock(root: Path, state: RegistryState, artifact: str) -> tuple[str, int]:
    """The tagger identity, dated strictly after every dated tag of the artifact that counts."""
    dated = [
        (t.time, t.name)
        for t in state.artifact_tags(artifact)
        if t.annotated
        and t.time is not None
        and t.parsed is not None
        and (t.parsed.counter is not None or t.parsed.action in ("assignment", "unassignment"))
    ]
    ident, now = tagger_ident(root)
    if not dated or now > max(dated)[0]:
        return ident, now
    newest, tag = max(dated)
    if newest - now > MAX_CLOCK_WAIT_SECONDS:
        raise RegistryInconsistentError(
            f"{artifact}: tag {tag} is dated {iso_time(newest, 0)}, {newest - now} s after this "
            "clock; a new tag would sort before it (fix the clock, or see "
            "`ratchet registry audit`)"
        )
    time.sleep(newest + 1 - now)
    while True:
        ident, now = tagger_ident(root)
        if now > newest:
            return ident, now
        if "GIT_COMMITTER_DATE" in os.environ:
            raise ConflictError(
                f"{artifact}: GIT_COMMITTER_DATE dates the new tag at or before {tag}; unset it"
            )
        time.sleep(0.05)


def _check_remote(root: Path, remote: str, artifact: str, state: RegistryState) -> None:
    try:
        listed = remote_tags(root, remote)
    except BadInputError as exc:
        raise PushFailedError(str(exc)) from None
    local = {t.name: t.object for t in state.artifact_tags(artifact)}
    unseen = []
    for name, sha in listed.items():
        parsed = parse_tag_name(name)
        if parsed and parsed.artifact == artifact and local.get(name) != sha:
            unseen.append(name)
    if unseen:
        raise PushRejectedError(
            f"{remote} has registry tags of {artifact} this clone has not fetched "
            f"({', '.join(sorted(unseen)[:3])}); run `git fetch --tags {remote}` and retry"
        )


def _push(root: Path, remote: str, created: list[CreatedTag]) -> None:
    """Push the tags atomically; on failure delete the ones this run created, then raise."""
    refspecs = [f"{TAGS_PREFIX}{t.name}:{TAGS_PREFIX}{t.name}" for t in created]
    proc = run(root, "push", "--atomic", "--porcelain", remote, *refspecs, check=False)
    if proc.returncode == 0:
        return
    for tag in created:
        delete_own_tag(root, tag)
    out = proc.stdout.decode(errors="replace")
    err = proc.stderr.decode(errors="replace").strip().splitlines()
    names = ", ".join(t.name for t in created)
    if any(line.startswith("!") for line in out.splitlines()):
        raise PushRejectedError(
            f"{remote} rejected {names}: another clone pushed first; the local tag(s) were "
            f"removed; run `git fetch --tags {remote}` and retry"
        )
    raise PushFailedError(
        f"git push {remote} failed ({err[-1] if err else 'no message'}); the local tag(s) "
        f"{names} were removed"
    )


def _lock_md5(root: Path, commit: str) -> str:
    data = read_blob(root, commit, "dvc.lock") or b""
    return hashlib.md5(data).hexdigest()  # noqa: S324 - the md5 `ratchet verify` records


def _policy(root: Path, policy_file: Path | str | None = None) -> tuple[Policy, str]:
    """The committed policy (ratchet.yaml at HEAD): the gates come from history, not edits.

    ``policy_file`` (``--policy FILE``) replaces it, and says so in every gate table's source.
    """
    return policy_at(root, "HEAD", policy_file)


def _next_version(artifact: ArtifactState | None, bump: Bump | None) -> str:
    registered = [
        SemVer.parse(v.version)
        for v in (artifact.versions if artifact else ())
        if v.registered and v.active
    ]
    if not registered:
        return str(SemVer(0, 0, 0).bump(bump)) if bump else "v0.0.1"
    return str(max(registered).bump(bump or "patch"))


# --- register ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    """The outcome of ``ratchet register``."""

    artifact: str
    version: str
    commit: str
    tag: str
    created: bool  # False: the same version was already registered at that commit
    pushed: bool
    #: The version already holds these bytes (at another commit): nothing was registered.
    same_bytes: bool = False
    model_md5: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"artifact", "version", "commit", "tag", "created", "pushed", "same_bytes",
        "model_md5"}``."""
        return {
            "artifact": self.artifact,
            "version": self.version,
            "commit": self.commit,
            "tag": self.tag,
            "created": self.created,
            "pushed": self.pushed,
            "same_bytes": self.same_bytes,
            "model_md5": self.model_md5,
        }


def _model_md5_at(root: Path, name: str, commit: str) -> str | None:
    """The md5 dvc.lock records for artifact ``name`` at ``commit`` (None: unreadable there)."""
    try:
        return str(artifact_entry(root, declared_artifact(root, name, commit), commit).md5)
    except RatchetError:
        return None


def same_bytes(
    root: Path, state: RegistryState, name: str, md5: str, commit: str
) -> VersionState | None:
    """The oldest active registered version (at another commit) whose model has these bytes.

    A model's identity is its content: the md5 ``dvc.lock`` records at the version's commit.
    """
    artifact = state.artifact(name)
    found = [
        v
        for v in (artifact.versions if artifact else ())
        if v.registered
        and v.active
        and v.commit != commit
        and _model_md5_at(root, name, v.commit) == md5
    ]
    return min(found, key=lambda v: SemVer.parse(v.version)) if found else None


def _plan_version(
    state: RegistryState, name: str, commit: str, version: str | None, bump: Bump | None
) -> tuple[str, bool]:
    """(version, already registered at this commit) for registering ``commit``."""
    artifact = state.artifact(name)
    existing = artifact.at_commit(commit) if artifact else None
    if existing is not None:
        if version is not None and version != existing.version:
            raise VersionConflictError(
                f"{name}: commit {commit[:12]} is already registered as {existing.version}; "
                "one commit holds one version"
            )
        if not existing.active:
            raise VersionConflictError(
                f"{name}: {existing.version} at commit {commit[:12]} was deregistered; its tag "
                "cannot be created again (GTO reads one version per commit)"
            )
        return existing.version, True
    if version is None:
        version = _next_version(artifact, bump)
    else:
        SemVer.parse(version)
    other = artifact.find(version) if artifact else None
    if other is not None:
        raise VersionConflictError(
            f"{name}: version {version} is already registered at {other.commit[:12]}; "
            "choose another version (or --bump)"
        )
    return version, False


def register(
    repo: Path | str,
    name: str,
    *,
    rev: str = "HEAD",
    version: str | None = None,
    bump: Bump | None = None,
    push: bool = False,
    remote: str = "origin",
) -> Registration:
    """Register a version of artifact ``name`` at ``rev`` (``NAME@vX.Y.Z``, create-only)."""
    if version is not None and bump is not None:
        raise BadInputError("give --version or --bump, not both")
    root = find_root(repo).path  # the DVC root (tags are repo-wide; git works from there)
    check_artifact_name(name)
    _check_clean(root)
    commit = _resolve_commit(root, rev)
    path, md5, _where = _verify_model(root, name, commit, f"registering {name}")
    if push:
        check_published(root, remote, commit, path)
    state = load_state(root)
    _check_consistent(state, name)
    artifact = state.artifact(name)
    if artifact is None or artifact.at_commit(commit) is None:
        twin = same_bytes(root, state, name, md5, commit)
        if twin is not None:
            if version is not None and version != twin.version:
                raise VersionConflictError(
                    f"{name}: {twin.version} (commit {twin.commit[:12]}) already holds these "
                    f"bytes (md5 {md5}); one model is one version, so {version} is refused"
                )
            twin_tag = registration_tag(name, twin.version)
            return Registration(name, twin.version, twin.commit, twin_tag, False, False, True, md5)
    version, existing = _plan_version(state, name, commit, version, bump)
    tag_name = registration_tag(name, version)
    with _unchanged(root, state, name, push, remote):
        ident, _ = tagger_ident(root)
        tag = create_tag(root, tag_name, commit, registration_message(name, version), ident)
    if push:
        _push(root, remote, [tag])
    created = tag.created and not existing
    return Registration(name, version, commit, tag_name, created, push, model_md5=md5)


def _new_tags(old: RegistryState, new: RegistryState, name: str) -> list[str]:
    before = {t.name for t in old.artifact_tags(name)}
    return [t.name for t in new.artifact_tags(name) if t.name not in before]


# --- promote -------------------------------------------------------------------------------

Outcome = Literal["promoted", "already", "refused", "planned"]


@dataclass(frozen=True)
class Promotion:
    """The outcome of ``ratchet promote``: the gates, and the tags created or planned."""

    artifact: str
    stage: str
    version: str
    commit: str
    outcome: Outcome
    gates: tuple[GateRow, ...]
    registration_tag: str | None  # the version's registration this run created or would create
    tag: str | None  # the assignment tag created (or planned, in a dry run)
    incumbent: str | None  # the version that was in the stage
    forced: bool
    reason: str | None
    pushed: bool
    card: cards.ModelCard | None
    #: Champion and challenger on the same rows, promoted or refused (None: not scored).
    comparison: ComparisonJSON | None = None

    @property
    def passed(self) -> bool:
        """Whether every gate passed (skipped ones do not fail)."""
        return not any(g.failed for g in self.gates)

    def to_json(self) -> dict[str, Any]:
        """What ``ratchet promote --json`` prints: the outcome, the gates, the tags, the card,
        and the champion/challenger comparison (also when refused, when there is no card)."""
        return {
            "artifact": self.artifact,
            "stage": self.stage,
            "version": self.version,
            "commit": self.commit,
            "outcome": self.outcome,
            "passed": self.passed,
            "gates": [g.to_json() for g in self.gates],
            "registration_tag": self.registration_tag,
            "tag": self.tag,
            "incumbent": self.incumbent,
            "forced": self.forced,
            "reason": self.reason,
            "pushed": self.pushed,
            "card": self.card,
            "comparison": self.comparison,
        }


def _subject(
    read_metrics: MetricsReader | None,
    root: Path,
    version: str,
    commit: str,
    *,
    check_records: bool,
) -> tuple[Subject, Mapping[str, Mapping[str, Any]] | None]:
    """The version's metrics for the gates (a file that cannot be read fails them, reported).

    ``check_records``: the metrics files must be the bytes the commit's ``dvc.lock`` records
    (for the incumbent; the candidate's whole lock was checked when it was chosen).
    """
    from mlratchet.dvclock import load_lock, outputs
    from mlratchet.integrity import check_committed
    from mlratchet.metrics import read_metrics as default_reader

    reader = read_metrics or default_reader
    try:
        stages = load_lock(root, commit)
    except BadInputError:
        stages = None
    lineage = {} if stages is None else {p: e.md5 for p, e in outputs(stages).items()}
    try:
        metrics = reader(root, commit)
        if check_records and stages is not None:
            check_committed(root, commit, commit[:7], stages, only=metrics)
    except (BadInputError, IntegrityError) as exc:
        return Subject(version, commit, None, str(exc), lineage), None
    return Subject(version, commit, flat_metrics(metrics), outputs=lineage), metrics


@dataclass(frozen=True)
class _Candidate:
    """The version to promote: registered already (``state``) or to register now."""

    version: str
    commit: str
    state: VersionState | None
    path: str
    model_md5: str
    checked_in: str


def _choose(
    root: Path,
    state: RegistryState,
    name: str,
    version: str | None,
    rev: str | None,
    *,
    what: str,
) -> _Candidate:
    """The candidate, its model re-hashed against dvc.lock (exit 3 on a mismatch)."""
    artifact = state.artifact(name)
    found: VersionState | None
    if version is not None:
        SemVer.parse(version)
        found = artifact.find(version) if artifact else None
        if found is None or not found.registered:
            raise BadInputError(
                f"{name}: version {version} is not registered (ratchet register {name} "
                f"--version {version} --rev REV, or promote --rev REV)"
            )
        commit = found.commit
    else:
        commit = _resolve_commit(root, rev or "HEAD")
        found = artifact.at_commit(commit) if artifact else None
    verified = _verify_model(root, name, commit, what)
    if found is None and artifact is not None:
        found = same_bytes(root, state, name, verified[1], commit)  # these bytes are that version
        if found is not None:  # judged at that version's own commit, re-hashed there
            commit = found.commit
            verified = _verify_model(root, name, commit, what)
    if found is not None and not found.active:
        raise BadInputError(f"{name}: version {found.version} was deregistered")
    path, model_md5, checked_in = verified
    planned = found.version if found else _plan_version(state, name, commit, None, None)[0]
    return _Candidate(planned, commit, found, path, model_md5, checked_in)


def _evidence(
    root: Path,
    candidate: _Candidate,
    incumbent: VersionState | None,
    read_metrics: MetricsReader | None,
    contract: str | None = None,
) -> tuple[Evidence, Mapping[str, Mapping[str, Any]] | None]:
    """Everything the gates look at, read from git (and the metrics reader)."""
    from mlratchet import notes

    subject, metrics = _subject(
        read_metrics, root, candidate.version, candidate.commit, check_records=False
    )
    holds = {}
    if candidate.state is not None:
        holds = {s: h.assigned.tag for s, h in candidate.state.holds.items() if h.active}
    other = None
    if incumbent is not None:
        other, _ = _subject(
            read_metrics, root, incumbent.version, incumbent.commit, check_records=True
        )
    evidence = Evidence(
        candidate=subject,
        holds=holds,
        verify=notes.read(root, candidate.commit).get("verify"),
        lock_md5=_lock_md5(root, candidate.commit),
        validation=None if contract is None else read_blob(root, candidate.commit, contract),
        incumbent=other,
    )
    return evidence, metrics


@dataclass(frozen=True)
class _Judged:
    """A candidate, the stage's incumbent, and the gates' verdict."""

    name: str
    stage: str
    candidate: _Candidate
    incumbent: VersionState | None
    gates: tuple[GateRow, ...]
    metrics: Mapping[str, Mapping[str, Any]] | None
    forced: bool
    reason: str | None
    comparison: Comparison | None = None

    @property
    def failed(self) -> bool:
        return any(g.failed for g in self.gates)


def _card(root: Path, judged: _Judged, tag: str, ident: str, epoch: int) -> cards.ModelCard:
    from mlratchet.dvclock import load_lock

    candidate, incumbent = judged.candidate, judged.incumbent
    outputs, params = cards.lineage(load_lock(root, candidate.commit))
    who, _, rest = ident.partition(" <")
    gate_json: list[GateJSON] = [g.to_json() for g in judged.gates]
    return {
        "schema": cards.SCHEMA,
        "artifact": judged.name,
        "version": candidate.version,
        "stage": judged.stage,
        "tag": tag,
        "commit": candidate.commit,
        "path": candidate.path,
        "model_md5": candidate.model_md5,
        "model_checked_in": candidate.checked_in,
        "outputs": outputs,
        "params": params,
        "metrics": cards.safe_metrics(judged.metrics),
        "gates": gate_json,
        "passed": not judged.failed,
        "forced": judged.forced,
        "reason": judged.reason,
        "compared_with": (
            {"version": incumbent.version, "commit": incumbent.commit} if incumbent else None
        ),
        "comparison": judged.comparison.to_json() if judged.comparison else None,
        "environment": cards.environment(),
        "promoted_by": {"name": who, "email": rest.partition(">")[0]},
        "promoted_at": iso_time(epoch, _ident_offset(ident)),
    }


def _write(
    root: Path, state: RegistryState, judged: _Judged, push: bool, remote: str
) -> tuple[str, cards.ModelCard, list[CreatedTag]]:
    """Create the registration (if needed) and assignment tags under the registry lock."""
    name, stage, candidate = judged.name, judged.stage, judged.candidate
    created: list[CreatedTag] = []
    with _unchanged(root, state, name, push, remote) as fresh:
        try:
            if candidate.state is None:
                ident, _ = tagger_ident(root)
                message = registration_message(name, candidate.version)
                reg = registration_tag(name, candidate.version)
                created.append(create_tag(root, reg, candidate.commit, message, ident))
            tag_name = assignment_tag(name, stage, fresh.max_counter(name) + 1)
            ident, epoch = _wait_for_clock(root, fresh, name)
            card = _card(root, judged, tag_name, ident, epoch)
            message = cards.tag_message(assignment_message(name, stage, candidate.version), card)
            created.append(create_tag(root, tag_name, candidate.commit, message, ident))
        except BaseException:
            for tag in created:
                delete_own_tag(root, tag)
            raise
    return tag_name, card, created


def _champion_challenger(
    root: Path,
    policy: Policy,
    *,
    name: str,
    stage: str,
    candidate: _Candidate,
    incumbent: VersionState | None,
) -> Comparison | None:
    """Both models scored on the candidate's rows, when the policy names its evaluation and
    the stage has a holder and compare gates (:mod:`mlratchet.registry.champion`)."""
    from mlratchet.registry.champion import compare

    declared = policy.registry.get(name)
    gates = declared.stage(stage) if declared is not None else None
    if declared is None or declared.evaluate is None or incumbent is None or not gates:
        return None
    if not gates.compare:
        return None
    return compare(
        root,
        artifact=name,
        stage=stage,
        evaluate=declared.evaluate,
        evaluation_data=declared.evaluation_data,
        trusted=policy.models.trusted_types,
        challenger=(candidate.version, candidate.commit, candidate.path),
        champion=(incumbent.version, incumbent.commit),
    )


def promote(
    repo: Path | str,
    name: str,
    stage: str,
    *,
    version: str | None = None,
    rev: str | None = None,
    dry_run: bool = False,
    push: bool = False,
    force: bool = False,
    reason: str | None = None,
    remote: str = "origin",
    read_metrics: MetricsReader | None = None,
    policy_file: Path | str | None = None,
) -> Promotion:
    """Promote a version of ``name`` to ``stage`` if the gates pass (see the module doc)."""
    if version is not None and rev is not None:
        raise BadInputError("give --version or --rev, not both")
    reason = reason.strip() if reason and reason.strip() else None
    if force and reason is None:
        raise BadInputError("--force needs --reason TEXT: the reason is recorded in the tag")
    root = find_root(repo).path  # the DVC root (tags are repo-wide; git works from there)
    check_artifact_name(name)
    check_stage_name(stage)
    policy, source = _policy(root, policy_file)
    stage_policy(policy, name, stage, source)
    _check_clean(root)  # a dry run gives the real verdict, so it refuses what the run refuses
    state = load_state(root)
    _check_consistent(state, name)
    artifact = state.artifact(name)
    candidate = _choose(root, state, name, version, rev, what=f"promoting {name} to {stage}")
    incumbent = artifact.stages.get(stage) if artifact else None
    reg_tag = None if candidate.state else registration_tag(name, candidate.version)

    def result(outcome: Outcome, judged: _Judged | None, **kw: Any) -> Promotion:
        return Promotion(
            artifact=name,
            stage=stage,
            version=candidate.version,
            commit=candidate.commit,
            outcome=outcome,
            gates=judged.gates if judged else (),
            registration_tag=kw.get("registration_tag"),
            tag=kw.get("tag"),
            incumbent=incumbent.version if incumbent else None,
            forced=bool(judged and judged.forced),
            reason=reason,
            pushed=bool(kw.get("pushed")),
            card=kw.get("card"),
            comparison=(
                judged.comparison.to_json() if judged is not None and judged.comparison else None
            ),
        )

    if incumbent is not None and candidate.state is incumbent:
        event = artifact.stage_events[stage] if artifact else None
        return result("already", None, tag=event.tag if event else None)

    if push:
        check_published(root, remote, candidate.commit, candidate.path)
    declared = policy.registry.get(name)
    contract = declared.contract if declared is not None else None
    evidence, metrics = _evidence(root, candidate, incumbent, read_metrics, contract)
    comparison = _champion_challenger(
        root, policy, name=name, stage=stage, candidate=candidate, incumbent=incumbent
    )
    evidence = replace(evidence, comparison=comparison)
    gates = evaluate(policy, name, stage, evidence, source=source)
    failed = any(g.failed for g in gates)
    judged = _Judged(
        name, stage, candidate, incumbent, gates, metrics, force and failed, reason, comparison
    )
    if dry_run:
        planned = assignment_tag(name, stage, state.max_counter(name) + 1)
        ident, epoch = tagger_ident(root)
        card = _card(root, judged, planned, ident, epoch)
        return result("planned", judged, registration_tag=reg_tag, tag=planned, card=card)
    if failed and not force:
        return result("refused", judged)
    tag_name, card, created = _write(root, state, judged, push, remote)
    if push:
        _push(root, remote, created)
    return result(
        "promoted", judged, registration_tag=reg_tag, tag=tag_name, card=card, pushed=push
    )


def _ident_offset(ident: str) -> int:
    tz = ident.rsplit(" ", 1)[-1]
    sign = -1 if tz.startswith("-") else 1
    digits = tz.lstrip("+-")
    if len(digits) != 4 or not digits.isdigit():
        return 0
    return sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
