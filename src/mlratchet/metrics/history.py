"""Metrics along the first-parent history: one ``git log``, one ``git ls-tree``, one blob reader.

``git log --first-parent --raw`` lists every commit with the blobs it changed (against its first
parent) and the tags that point at it. The tree of the oldest listed commit comes from one
``git ls-tree -r``; walking forward, each commit's tree is the previous one plus its changes.
A file is read and parsed only when its blob is one not seen before, and the ``dvc.yaml`` and
``dvc.lock`` files are re-read only when they change.

A metrics file that is absent at a commit gives no values there (the stage had not run yet); one
that is malformed, or DVC-cached and not in the local cache, is reported for that commit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlratchet.errors import BadInputError
from mlratchet.gitio import SHALLOW_HINT, BlobReader, run, shallow_boundary
from mlratchet.metrics.collect import LazyOutputs, MissingFileError, Reader
from mlratchet.metrics.parse import metrics_flat, parse_text
from mlratchet.metrics.source import (
    SYMLINK_MODE,
    Root,
    TreeSnapshot,
    find_root,
    is_dvcfile,
    ls_tree,
    read_blobs,
)
from mlratchet.revs import Revision, resolve

_COMMIT = b"\x1e"
_FIELD = b"\x1f"


@dataclass(frozen=True)
class Column:
    """A metric of the history: its flat key, the file it is in, and its column name."""

    name: str  # the key, or "path:key" when the key is in more than one file
    path: str
    key: str


@dataclass(frozen=True)
class Point:
    """One commit of the history and its metrics."""

    sha: str
    time: int  # committer time, seconds since the epoch
    tags: tuple[str, ...]
    metrics: dict[str, dict[str, Any]]  # path -> flat key -> value
    errors: dict[str, str] = field(default_factory=dict)  # path -> why it could not be read

    def value(self, column: Column) -> Any:
        """The value of ``column`` at this commit (None if absent)."""
        return self.metrics.get(column.path, {}).get(column.key)


@dataclass(frozen=True)
class History:
    """Metrics at each commit of a first-parent history, newest first."""

    points: tuple[Point, ...]
    columns: tuple[Column, ...]  # the selected metrics, by name
    selected: bool = False  # whether columns were chosen (else: every metric of the history)
    cut_at: str | None = None  # the oldest commit listed, when a shallow clone cut history there

    @property
    def note(self) -> str | None:
        """What to tell about the history's extent: where a shallow clone cut it."""
        if self.cut_at is None:
            return None
        return f"history stops at {self.cut_at[:7]}: {SHALLOW_HINT}"

    @property
    def errors(self) -> list[tuple[str, str, str]]:
        """(commit, path, message) for every file that could not be read."""
        return [(p.sha, path, msg) for p in self.points for path, msg in p.errors.items()]

    def numeric(self) -> list[Column]:
        """The columns that hold at least one finite number (what a chart can draw)."""
        return [c for c in self.columns if any(_finite_number(p.value(c)) for p in self.points)]


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class _Commit:
    sha: str
    time: int
    tags: tuple[str, ...]
    changes: tuple[tuple[str, str | None, bool], ...]  # (path, new blob or None, is a symlink)


def _log_args(repo: Path | str, rev_range: str | None) -> list[str]:
    """Commit arguments for git log; each end resolved by :func:`mlratchet.revs.resolve`."""
    text = rev_range or "HEAD"
    if "..." in text:
        raise BadInputError(f"--rev {text!r}: use A..B (a symmetric range has no first parent)")
    if ".." in text:
        left, right = text.split("..", 1)
        start, end = _commit(repo, left or "HEAD"), _commit(repo, right or "HEAD")
        return [end.sha or "", f"^{start.sha}"]
    return [_commit(repo, text).sha or ""]


def _commit(repo: Path | str, text: str) -> Revision:
    rev = resolve(repo, text)
    if rev.sha is None:
        raise BadInputError(f"--rev {text!r}: history needs commits, not the workspace")
    return rev


def _parse_log(out: bytes, prefix: str) -> list[_Commit]:
    commits = []
    for chunk in out.split(_COMMIT):
        if not chunk:
            continue
        head, _, rest = chunk.partition(b"\0")
        sha, time, decorations = head.split(_FIELD)
        tags = tuple(
            sorted(
                d[5:].decode("utf-8", "surrogateescape")
                for d in decorations.split(b", ")
                if d.startswith(b"tag: ")
            )
        )
        fields = rest.lstrip(b"\n").split(b"\0")
        changes = []
        for meta, name in zip(fields[::2], fields[1::2], strict=False):
            if not meta.startswith(b":"):
                continue
            _old_mode, new_mode, _old, new, status = meta[1:].split(b" ")
            path = name.decode("utf-8", "surrogateescape")
            if prefix:
                if not path.startswith(prefix):
                    continue
                path = path[len(prefix) :]
            gone = status.startswith(b"D") or new_mode in (b"160000", b"000000")
            changes.append((path, None if gone else new.decode(), new_mode == SYMLINK_MODE))
        commits.append(_Commit(sha.decode(), int(time), tags, tuple(changes)))
    return commits


def _log(root: Root, args: list[str], last: int | None) -> list[_Commit]:
    limit = ["-n", str(last)] if last else []
    out = run(
        root.git_top,
        "-c",
        "log.showSignature=false",
        "log",
        "--first-parent",
        "--no-color",
        "--raw",
        "--no-renames",
        "--no-abbrev",
        "-z",
        "--decorate-refs=refs/tags/",
        "--format=%x1e%H%x1f%ct%x1f%D",
        *limit,
        *args,
        "--",
    ).stdout
    return _parse_log(out, root.prefix)


def history(
    repo: Path | str,
    rev_range: str | None = None,
    *,
    last: int | None = None,
    metrics: tuple[str, ...] = (),
) -> History:
    """``ratchet metrics history``: the metrics at each first-parent commit, newest first.

    ``rev_range`` is a revision (history back from it) or ``A..B``; ``last`` keeps the newest N
    commits; ``metrics`` selects columns by flat key or ``path:key`` (all when empty). A key
    that appears nowhere in the history is :class:`BadInputError` (exit 2).
    """
    root = find_root(repo)
    commits = _log(root, _log_args(repo, rev_range), last)
    points: list[Point] = []
    if commits:
        reader = Reader()
        plans = _plan(root, reader, commits)
        wanted = {key for _commit, items in plans for path, key in items if isinstance(key, str)}
        contents = read_blobs(root.git_top, wanted - set(reader.fetched))
        contents.update(reader.fetched)
        flats: dict[tuple[str, str], dict[str, Any]] = {}
        points = [_point(commit, items, contents, flats) for commit, items in plans]
    points.reverse()
    cut_at = (
        commits[-1].sha if commits and commits[-1].sha in shallow_boundary(root.git_top) else None
    )
    return History(tuple(points), _select(points, metrics), selected=bool(metrics), cut_at=cut_at)


#: A commit's metrics files: path -> the key of its bytes (blob sha, or "md5:..." for a file
#: from the DVC cache), or the error reading it.
_Plan = list[tuple[str, "str | BadInputError"]]


def _plan(root: Root, reader: Reader, commits: list[_Commit]) -> list[tuple[_Commit, _Plan]]:
    """Oldest first: which blob each commit's metrics files are, from its tree (no reads but
    the few ``dvc.yaml`` and ``dvc.lock`` versions)."""
    links: set[str] = set()
    state = ls_tree(root, commits[-1].sha, links)
    dvcfiles = {p for p in state if is_dvcfile(p)}
    plans = []
    with BlobReader(root.git_top) as blobs:
        for i, commit in enumerate(reversed(commits)):
            if i:
                for path, sha, is_link in commit.changes:
                    (links.add if is_link and sha else links.discard)(path)
                    if sha is None:
                        state.pop(path, None)
                        dvcfiles.discard(path)
                    else:
                        state[path] = sha
                        if is_dvcfile(path):
                            dvcfiles.add(path)
            snap = TreeSnapshot(
                root,
                sha=commit.sha,
                label=commit.sha[:7],
                entries=state,
                blobs=blobs,
                dvcfiles=dvcfiles,
                links=links,
            )
            plans.append((commit, _files_of(reader, snap)))
    return plans


def _files_of(reader: Reader, snap: TreeSnapshot) -> _Plan:
    items: _Plan = []
    try:
        decl = reader.declared(snap)
        outs = LazyOutputs(lambda: reader.lock_outputs(snap, decl))
        for path in reader.expand(snap, decl.metrics, outs):
            sha = snap.key(path)  # a symlink's target (one leaving the project is refused)
            if sha is not None:
                items.append((path, sha))
                continue
            try:
                data, key = reader.raw(snap, path, outs)  # a DVC-cached file: read it now
            except MissingFileError:
                continue  # not produced yet at this commit: no values
            except BadInputError as exc:
                items.append((path, exc))
                continue
            assert key is not None  # noqa: S101 - raw() keys every cache read
            reader.fetched[key] = data
            items.append((path, key))
    except BadInputError as exc:  # a malformed dvc.yaml or dvc.lock at this commit
        items.append((getattr(exc, "path", "dvc.yaml"), exc))
    return items


def _point(
    commit: _Commit,
    items: _Plan,
    contents: dict[str, bytes],
    flats: dict[tuple[str, str], dict[str, Any]],
) -> Point:
    values: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    where = commit.sha[:7]
    for path, key in items:
        if isinstance(key, BadInputError):
            errors[path] = str(key)
            continue
        if (key, path) not in flats:
            try:
                flats[(key, path)] = metrics_flat(
                    parse_text(contents[key], path, where), path, where
                )
            except BadInputError as exc:
                errors[path] = str(exc)
                continue
        values[path] = flats[(key, path)]
    return Point(commit.sha, commit.time, commit.tags, values, errors)


def _select(points: list[Point], wanted: tuple[str, ...]) -> tuple[Column, ...]:
    seen: dict[tuple[str, str], None] = {}
    for point in points:
        for path, flat in point.metrics.items():
            seen.update(dict.fromkeys((path, key) for key in flat))
    files_of: dict[str, set[str]] = {}
    for path, key in seen:
        files_of.setdefault(key, set()).add(path)
    columns = {}
    for path, key in seen:
        name = key if len(files_of[key]) == 1 else f"{path}:{key}"
        columns[name] = Column(name, path, key)
    if not wanted:
        return tuple(columns[name] for name in sorted(columns))
    chosen: dict[str, Column] = {}
    for want in wanted:
        matches = [c for c in columns.values() if want in (c.name, c.key, f"{c.path}:{c.key}")]
        if not matches:
            raise BadInputError(f"--metric {want!r}: no metrics file in this history has it")
        chosen.update((c.name, c) for c in sorted(matches, key=lambda c: c.name))
    return tuple(chosen.values())
