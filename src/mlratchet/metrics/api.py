"""One call per command: read, compare and judge metrics and params at revisions.

Revisions are resolved by :func:`mlratchet.revs.resolve` only (``workspace``, any git revision,
and whatever that module learns to resolve). Committed files are read straight from git through
one ``git cat-file --batch`` process; nothing is checked out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlratchet.dvcroot import Root, find_root
from mlratchet.gitio import BlobReader
from mlratchet.metrics.collect import Reader
from mlratchet.metrics.diff import Change, DiffResult, diff, diff_values
from mlratchet.metrics.parse import flat_view
from mlratchet.metrics.source import Snapshot, TreeSnapshot, WorkspaceSnapshot
from mlratchet.revs import Revision, resolve

if TYPE_CHECKING:  # the verdict's imports are paid only by --check
    from mlratchet.metrics.verdict import Verdict
    from mlratchet.policy import MetricRule, Policy

FILL = "-"
Kind = Literal["metrics", "params"]


def label(rev: Revision) -> str:
    """How messages name a revision: ``workspace``, ``HEAD~1 (a1b2c3d)``, ``a1b2c3d``."""
    if rev.sha is None:
        return rev.name
    if rev.sha.startswith(rev.name):
        return rev.short
    return f"{rev.name} ({rev.short})"


@contextmanager
def snapshots(repo: Path | str, revisions: list[Revision]) -> Iterator[list[Snapshot]]:
    """Snapshots of ``revisions``, sharing one blob reader (none for the work tree alone)."""
    root = find_root(repo)
    if all(rev.sha is None for rev in revisions):
        yield [WorkspaceSnapshot(root) for _ in revisions]
        return
    with BlobReader(root.git_top) as blobs:
        yield [_snapshot(root, rev, blobs) for rev in revisions]


def _snapshot(root: Root, rev: Revision, blobs: BlobReader) -> Snapshot:
    if rev.sha is None:
        return WorkspaceSnapshot(root)
    return TreeSnapshot.of_commit(root, rev.sha, label(rev), blobs)


def _as_revision(repo: Path | str, rev: str | Revision) -> Revision:
    return rev if isinstance(rev, Revision) else resolve(repo, rev)


def _load(reader: Reader, snap: Snapshot, kind: Kind) -> dict[str, Any]:
    return reader.metrics(snap) if kind == "metrics" else reader.params(snap)


def _flat(files: Mapping[str, Any], where: str) -> dict[str, dict[str, Any]]:
    return {path: flat_view(data, path, where) for path, data in files.items()}


# -- reading -------------------------------------------------------------------------------
def read_files(repo: Path | str, rev: str | Revision, kind: Kind = "metrics") -> dict[str, Any]:
    """``{path: data}`` of every metrics (or params) file at ``rev``, nested as in the file."""
    revision = _as_revision(repo, rev)
    with snapshots(repo, [revision]) as (snap,):
        return _load(Reader(), snap, kind)


def read_metrics(repo: Path | str, rev: str | Revision = "workspace") -> dict[str, dict[str, Any]]:
    """The metrics at ``rev`` as ``{path: {flat_key: value}}``, keys flattened as DVC does.

    ``rev`` is anything :func:`mlratchet.revs.resolve` accepts (or a resolved
    :class:`~mlratchet.revs.Revision`). A declared metrics file that is missing or malformed
    at ``rev`` raises :class:`~mlratchet.errors.BadInputError` (exit 2) naming file and revision.
    """
    revision = _as_revision(repo, rev)
    return _flat(read_files(repo, revision, "metrics"), label(revision))


def read_params(repo: Path | str, rev: str | Revision = "workspace") -> dict[str, dict[str, Any]]:
    """The params at ``rev`` as ``{path: {flat_key: value}}`` (lists as their Python text)."""
    revision = _as_revision(repo, rev)
    return _flat(read_files(repo, revision, "params"), label(revision))


# -- show ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shown:
    """The metrics of one revision."""

    rev: Revision
    files: dict[str, Any]  # path -> nested data, as DVC's "data"

    @property
    def flat(self) -> dict[str, dict[str, Any]]:
        """``{path: {flat_key: value}}``."""
        return _flat(self.files, label(self.rev))


def show(repo: Path | str, rev: str = "workspace") -> Shown:
    """``ratchet metrics show``: every metrics file at ``rev``."""
    revision = resolve(repo, rev)
    return Shown(revision, read_files(repo, revision, "metrics"))


# -- diff ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """Two revisions' metrics (or params) and their DVC-shaped difference."""

    kind: Kind
    a: Revision
    b: Revision
    old: dict[str, Any]  # path -> nested data at a
    new: dict[str, Any]  # path -> nested data at b
    diff: DiffResult
    verdicts: tuple[Verdict, ...] | None = None  # with a policy: one per declared key and file

    @property
    def failed(self) -> list[Verdict]:
        """The verdicts that make the check say no (empty without a policy)."""
        return [v for v in self.verdicts or () if v.failed]

    def checked(self) -> tuple[DiffResult, dict[tuple[str, str], str]]:
        """The diff with a row for every declared metric, and each row's status.

        A declared metric that did not change is added (as with ``--all``); one that is in no
        file on either side is listed under the path ``-``.
        """
        result: DiffResult = {path: dict(changes) for path, changes in self.diff.items()}
        status: dict[tuple[str, str], str] = {}
        for verdict in self.verdicts or ():
            path = verdict.path or FILL
            changes = result.setdefault(path, {})
            if verdict.key not in changes:
                change = diff_values(verdict.old, verdict.new, with_unchanged=True)
                changes[verdict.key] = change if change is not None else Change()
            status[(path, verdict.key)] = str(verdict.status)
        return result, status


def compare(
    repo: Path | str,
    a_rev: str = "HEAD",
    b_rev: str = "workspace",
    *,
    kind: Kind = "metrics",
    with_unchanged: bool = False,
    check: bool = False,
    policy_file: Path | None = None,
    rules: Mapping[str, MetricRule] | None = None,
    check_records: bool | None = None,
) -> Comparison:
    """``ratchet metrics diff`` / ``ratchet params diff``, and the verdict with ``check``.

    The rules are ``rules`` if given, else read from ``policy_file``, else from ``params.yaml``
    at ``a_rev`` (the baseline: a change cannot loosen the rules it is judged by). With
    ``check`` and no rules, :class:`~mlratchet.errors.BadInputError` (exit 2).

    ``check_records`` (default: ``check``): a metrics file that ``dvc.lock`` records as an
    output but whose bytes at either side are not the recorded ones (edited after the run) is
    :class:`~mlratchet.integrity.CommittedOutputError` (exit 3): a verdict is never drawn from
    numbers the pipeline did not write.
    """
    a = resolve(repo, a_rev)
    b = resolve(repo, b_rev)
    reader = Reader()
    with snapshots(repo, [a, b]) as (old_snap, new_snap):
        old = _load(reader, old_snap, kind)
        new = _load(reader, new_snap, kind)
        if (check if check_records is None else check_records) and kind == "metrics":
            check_recorded(old_snap, old)
            check_recorded(new_snap, new)
        if check and rules is None:
            rules = _rules(old_snap, policy_file)
        masks = _masks(old_snap, new_snap, policy_file) if kind == "params" else None
    result = diff(old, new, with_unchanged=with_unchanged, where=(label(a), label(b)))
    if masks is not None:
        result = _masked(result, masks)
    verdicts = None
    if check and rules is not None:
        from mlratchet.metrics.verdict import judge

        verdicts = tuple(judge(_flat(old, label(a)), _flat(new, label(b)), rules))
    return Comparison(kind, a, b, old, new, result, verdicts)


def check_recorded(snap: Snapshot, files: Mapping[str, Any]) -> None:
    """Raise :class:`~mlratchet.integrity.CommittedOutputError` (exit 3) if a file of ``files``
    (read from ``snap``) is, or lies in, an output of ``snap``'s ``dvc.lock`` whose bytes are
    not the ones the lock records. A snapshot without ``dvc.lock`` has nothing to check."""
    from mlratchet.errors import BadInputError
    from mlratchet.integrity import check_committed

    if not files:
        return
    got = snap.read("dvc.lock")
    if got is None:
        return
    from mlratchet.dvclock import parse_lock

    try:
        stages = parse_lock(got[0], f"dvc.lock at {snap.label}")
    except BadInputError as exc:  # fail closed: nothing says these are the pipeline's numbers
        from mlratchet.errors import IntegrityError

        raise IntegrityError(
            f"{exc}; so nothing tells whether the metrics at {snap.label} are the ones the "
            "pipeline wrote"
        ) from None
    check_committed(snap.root.path, snap.sha, snap.label, stages, only=files)


def _policy(snap: Snapshot, policy_file: Path | None) -> tuple[Policy, str]:
    """The policy in ``policy_file``, else in ``ratchet.yaml`` at ``snap``; and its source."""
    from mlratchet.policy import POLICY_FILE, load_policy, parse_policy
    from mlratchet.yamlio import parse_yaml

    if policy_file is not None:
        return load_policy(policy_file), str(policy_file)
    source = f"{POLICY_FILE} at {snap.label}"
    got = snap.read(POLICY_FILE)
    data = parse_yaml(got[0].decode("utf-8", "replace"), source) if got else {}
    return parse_policy(data, source), source


def _masks(old: Snapshot, new: Snapshot, policy_file: Path | None) -> tuple[str, ...]:
    """The ``params.mask`` patterns of both sides' policies: masking more is the safe side."""
    patterns = [
        *_policy(old, policy_file)[0].params.mask,
        *_policy(new, policy_file)[0].params.mask,
    ]
    return tuple(dict.fromkeys(patterns))


def _masked(result: DiffResult, patterns: tuple[str, ...]) -> DiffResult:
    """``result`` with the values of secret-looking keys as ``***`` (and no numeric diff)."""
    from mlratchet.secrets import is_secret, mask

    out: DiffResult = {}
    for path, changes in result.items():
        out[path] = {}
        for key, change in changes.items():
            if not is_secret(key, patterns):
                out[path][key] = change
                continue
            hidden = Change()
            for side in ("old", "new"):
                if side in change:
                    hidden[side] = mask(key, change[side], patterns)
            out[path][key] = hidden
    return out


def _rules(snap: Snapshot, policy_file: Path | None) -> dict[str, MetricRule]:
    from mlratchet.errors import BadInputError

    policy, source = _policy(snap, policy_file)
    if not policy.metrics:
        raise BadInputError(
            f"--check: {source} declares no rules under metrics:; add them "
            "(e.g. `val.roc_auc: {direction: higher}`, or run `ratchet init`) or pass --policy FILE"
        )
    return policy.metrics
