"""Metrics along the first-parent history: one ``git log``, one ``git ls-tree``, one blob reader.

``git log --first-parent --raw`` lists every commit with the blobs it changed (against its first
parent) and the tags that point at it. The tree of the oldest listed commit comes from one
``git ls-tree -r``; walking forward, each commit's tree is the previous one plus its changes.
A file is read and parsed only when its blob is one not seen before, and the ``dvc.yaml`` and
``dvc.lock`` files are re-read only when they change.

A metrics file that is absent at a commit gives no values there (the stage had not run yet); one
that is malformed, or DVC-cached and not in the local cache, is reported for that commit.

What a commit's metrics are is kept in an index (:mod:`mlratchet.index`) keyed by commit sha:
the commit's tree id, the blob id of each of its metrics files, and each blob's values by blob
id. Once a history has been read, the next read lists the commits with a plain ``git log``
(no tree diffs), uses every entry whose tree id is the one git gives for that commit, and walks
only the commits that have none (the new ones). A commit with a file that could not be read, or
one read from the DVC cache, is never indexed: git does not hold those bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mlratchet import index
from mlratchet.dvcroot import Root, find_root
from mlratchet.errors import BadInputError
from mlratchet.gitio import (
    SHALLOW_HINT,
    BlobReader,
    object_ids,
    shallow_boundary,
    spawn,
    stream,
)
from mlratchet.metrics.collect import PARAMS_FILE, Declared, LazyOutputs, MissingFileError, Reader
from mlratchet.metrics.parse import metrics_flat, parse_text
from mlratchet.metrics.source import (
    SYMLINK_MODE,
    TreeSnapshot,
    is_dvcfile,
    ls_tree,
)
from mlratchet.revs import Revision, resolve

if TYPE_CHECKING:
    from array import array

    from mlratchet.metrics.chain import Found, Memo

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

    points: Sequence[Point]
    columns: tuple[Column, ...]  # the selected metrics, by name
    selected: bool = False  # whether columns were chosen (else: every metric of the history)
    cut_at: str | None = None  # the oldest commit listed, when a shallow clone cut history there
    #: :func:`~mlratchet.metrics.render.history_json` as ``strict_json(..., indent=None)``
    #: writes it (every metric), when the history was read from or saved to the memo; not
    #: copied by :func:`dataclasses.replace` (other points, other JSON).
    json_text: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def note(self) -> str | None:
        """What to tell about the history's extent: where a shallow clone cut it."""
        if self.cut_at is None:
            return None
        return f"history stops at {self.cut_at[:7]}: {SHALLOW_HINT}"

    @property
    def errors(self) -> list[tuple[str, str, str]]:
        """(commit, path, message) for every file that could not be read."""
        known = getattr(self.points, "errors", None)  # a memo's (LazyPoints): without a read
        if known is not None:
            return list(known)
        return [(p.sha, path, msg) for p in self.points for path, msg in p.errors.items()]

    def numeric(self) -> list[Column]:
        """The columns that hold at least one finite number (what a chart can draw)."""
        return [c for c in self.columns if any(_finite_number(p.value(c)) for p in self.points)]


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class _Commit(NamedTuple):
    sha: str
    tree: str
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
        sha, tree, time, decorations = head.rstrip(b"\n").split(_FIELD)
        tags = _tags(decorations) if decorations else ()
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
        commits.append(_Commit(sha.decode(), tree.decode(), int(time), tags, tuple(changes)))
    return commits


def _tags(decorations: bytes) -> tuple[str, ...]:
    return tuple(
        sorted(
            d[5:].decode("utf-8", "surrogateescape")
            for d in decorations.split(b", ")
            if d.startswith(b"tag: ")
        )
    )


_FORMAT = "--format=%x1e%H%x1f%T%x1f%ct%x1f%D"


def _log(root: Root, args: list[str], last: int | None) -> list[_Commit]:
    """The commits, newest first, with the blobs each changed (``git log --raw``), parsed as
    git writes them."""
    limit = ["-n", str(last)] if last else []
    pieces = stream(
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
        _FORMAT,
        *limit,
        *args,
        "--",
    )
    commits: list[_Commit] = []
    rest = b""
    for piece in pieces:
        cut = piece.rfind(_COMMIT)
        if cut < 0:
            rest += piece
            continue
        commits += _parse_log(rest + piece[:cut], root.prefix)
        rest = piece[cut:]
    commits += _parse_log(rest, root.prefix)
    return commits


def _list_args(args: list[str], last: int | None) -> list[str]:
    """``git log`` listing the commits without their changes (no tree diffs: half the cost)."""
    limit = ["-n", str(last)] if last else []
    return [
        "-c",
        "log.showSignature=false",
        "log",
        "--first-parent",
        "--no-color",
        "--decorate-refs=refs/tags/",
        _FORMAT,
        *limit,
        *args,
        "--",
    ]


def _parse_list(out: bytes) -> list[_Commit]:
    commits = []
    for chunk in out.split(_COMMIT):
        if chunk:
            sha, tree, time, decorations = chunk.rstrip(b"\n").split(_FIELD)
            tags = _tags(decorations) if decorations else ()
            commits.append(_Commit(sha.decode(), tree.decode(), int(time), tags, ()))
    return commits


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

    A whole history (a revision, no ``--last``) is memoised (:mod:`mlratchet.metrics.chain`):
    the next read checks the memo with git and reads only the commits made since.
    """
    from mlratchet.metrics import chain

    root = find_root(repo)
    args = _log_args(repo, rev_range)
    whole = last is None and len(args) == 1
    found = chain.lookup(root, args[0]) if whole else None
    if found is not None and not found.newer:
        return _assemble(root, found, _Walk([], [], set()), metrics, cut_at=None, memoise=False)
    if found is not None:  # the commits made since the memo's
        walk = _read(root, [args[0], f"^{found.memo.tip}"], None)
        cut_at = None
    else:
        walk = _read(root, args, last)
        commits = walk.commits
        cut_at = (
            commits[-1].sha
            if commits and commits[-1].sha in shallow_boundary(root.git_top)
            else None
        )
    return _assemble(root, found, walk, metrics, cut_at=cut_at, memoise=whole and cut_at is None)


@dataclass
class _Walk:
    """Commits read through the index: newest first, and which of them can be indexed."""

    commits: list[_Commit]
    points: list[Point]
    indexable: set[str]  # the commits whose every file came from git and parsed
    save: Callable[[], None] = lambda: None  # index the walked commits


def _read(root: Root, args: list[str], last: int | None) -> _Walk:
    """The points of the commits ``git log args`` lists (index, then the walk of the rest)."""
    store = _Store(root)
    listing = None if store.cold else spawn(root.git_top, *_list_args(args, last))
    store.load()
    listed = None
    if listing is not None:
        if store.cold:
            listing.kill()
        out = listing.communicate()[0]
        if not store.cold and listing.returncode == 0:
            listed = _parse_list(out)
    if listed is not None:
        commits = listed
        walked = store.to_walk(root, commits, args, last)
    else:  # no index yet: one walk lists the commits and their changes
        commits = _log(root, args, last)
        walked = commits
    points: list[Point] = []
    indexable: set[str] = set()
    if commits:
        reader = Reader()
        plans = {c.sha: items for c, items in _plan(root, reader, walked)} if walked else {}
        flats = store.flats
        wanted = {
            key
            for items in plans.values()
            for path, key in items
            if isinstance(key, str) and (key, path) not in flats
        }
        contents = _parse_blobs(root, plans, wanted - set(reader.fetched), flats)
        contents.update(reader.fetched)
        for commit in reversed(commits):
            items = plans.get(commit.sha)
            if items is None:
                values = store.found[commit.sha]  # to_walk walked every commit not found
                points.append(Point(commit.sha, commit.time, commit.tags, values, {}))
                indexable.add(commit.sha)
            else:
                points.append(_point(commit, items, contents, flats))
        fresh = store.indexable(walked, plans, points)
        indexable.update(fresh)
    else:
        fresh = {}
    points.reverse()
    return _Walk(commits, points, indexable, lambda: store.save(fresh))


def _parse_blobs(
    root: Root,
    plans: dict[str, _Plan],
    blobs: set[str],
    flats: dict[tuple[str, str], dict[str, Any]],
) -> dict[str, bytes]:
    """Read ``blobs`` and parse each at the paths the plans have it (into ``flats``) as git
    answers, so git reads while Python parses; return those that did not parse (the commits
    that have them report why)."""
    paths_of: dict[str, list[str]] = {}
    for items in plans.values():
        for path, key in items:
            if isinstance(key, str) and key in blobs:
                known = paths_of.setdefault(key, [])
                if path not in known:
                    known.append(path)
    failed: dict[str, bytes] = {}
    with BlobReader(root.git_top) as reader:
        for sha, data in reader.iter_many(paths_of):
            for path in paths_of[sha]:
                try:
                    flats[(sha, path)] = metrics_flat(parse_text(data, path, ""), path, "")
                except BadInputError:
                    failed[sha] = data
    return failed


def _assemble(
    root: Root,
    found: Found | None,
    walk: _Walk,
    wanted: tuple[str, ...],
    *,
    cut_at: str | None,
    memoise: bool,
) -> History:
    """The history: the walked points, then the memo's (``found``); memoised if asked and
    every commit could be (no file failed, all from git)."""
    from mlratchet.metrics import chain
    from mlratchet.metrics.render import history_heads

    points = walk.points
    if found is None and not memoise:
        walk.save()
        return History(tuple(points), _select(_pairs(points), wanted), bool(wanted), cut_at)
    heads = history_heads(points)
    plain, starts = chain.joined(heads)  # untagged: as the memo keeps them
    del heads
    pairs = _pairs(points)
    every: Sequence[Point] = tuple(points)
    memo = None if found is None else found.memo
    tags = {} if found is None else found.tags
    if memo is not None:
        pairs.update(dict.fromkeys(memo.pairs))

        def build() -> list[Point]:
            made = list(points)
            values = [v for chunk in memo.metrics for v in chain.unpack_metrics(chunk)]
            new = object.__new__
            for sha, time, flat in zip(memo.shas, memo.times, values, strict=True):
                point = new(Point)
                point.__dict__.update(
                    sha=sha, time=time, tags=tags.get(sha, ()), metrics=flat, errors={}
                )
                made.append(point)
            return made

        problems = [(p.sha, path, msg) for p in points for path, msg in p.errors.items()]
        every = chain.LazyPoints(len(points) + len(memo.shas), build, problems)
    hist = History(every, _select(pairs, wanted), bool(wanted), cut_at)
    walk.save()
    if memoise:  # before the output's text is made: the memo's buffers are gone by then
        _memoise(root, memo, walk, (plain, starts), pairs)
    shas = [p.sha for p in points]
    parts = ["[", *chain.tagged(plain, starts, shas, _tags_of(points))]
    if memo is not None:
        if plain and memo.text:
            parts.append(", ")
        parts += memo.json(tags)
    parts.append("]\n")
    object.__setattr__(hist, "json_text", "".join(parts))
    return hist


def _tags_of(points: list[Point]) -> dict[str, tuple[str, ...]]:
    return {p.sha: p.tags for p in points if p.tags}


def _memoise(
    root: Root,
    memo: Memo | None,
    walk: _Walk,
    json: tuple[str, array[int]],
    pairs: dict[tuple[str, str], None],
) -> bool:
    """Save the memo of this history: the walked commits on top of ``memo`` (if any); False
    when it could not be (a file failed or came from the DVC cache, or no write)."""
    from mlratchet.metrics import chain

    if any(commit.sha not in walk.indexable for commit in walk.commits):
        return False  # a file that failed, or came from the DVC cache: no memo
    text, starts = json
    shas = [c.sha for c in walk.commits]
    times = [c.time for c in walk.commits]
    chunks = [chain.pack_metrics([p.metrics for p in walk.points])] if walk.points else []
    if memo is None:
        offsets = starts.tobytes()
    else:
        text, offsets = chain.stacked(text, starts, memo)
        shas, times, chunks = shas + memo.shas, times + memo.times, chunks + memo.metrics
    if not shas:
        return False
    return chain.save(
        root,
        shas=shas,
        times=times,
        text=text,
        offsets=offsets,
        metrics=chunks,
        pairs=list(pairs),
    )


def _pairs(points: Sequence[Point]) -> dict[tuple[str, str], None]:
    """Every (path, key) of ``points``, in the order first seen."""
    seen: dict[tuple[str, str], None] = {}
    for point in points:
        for path, flat in point.metrics.items():
            seen.update(dict.fromkeys((path, key) for key in flat))
    return seen


class _Store:
    """The history index of one DVC project.

    ``{"version", "commits": {"path\\0path...": {commit: [tree, blob, ...]}}, "values": {path:
    {blob: flat metrics}}}``: commits grouped by their metrics files' paths, each with its tree
    id and the blob id of each of those files; the parsed values of each (path, blob).
    """

    VERSION = 1  # bump when what a commit's metrics are (collect.py's rules) changes

    def __init__(self, root: Root) -> None:
        self.directory = index.index_dir(root.git_top)
        self.name = f"metrics-history-{index.key_of(root.prefix)}"
        self.cold = not index.exists(self.directory, self.name)
        self.entries: dict[str, tuple[list[str], list[str]]] = {}  # commit -> (paths, tree+blobs)
        self.flats: dict[tuple[str, str], dict[str, Any]] = {}  # (blob, path) -> new values
        self._by_path: dict[str, dict[str, dict[str, Any]]] = {}  # indexed values
        self.found: dict[str, dict[str, dict[str, Any]]] = {}  # commit -> its indexed metrics

    def load(self) -> None:
        """Read the index (cold: there is none, or none of this version, or it is torn)."""
        segments = [] if self.cold else index.load(self.directory, self.name)
        segments = [d for d in segments if d.get("version") == self.VERSION]
        self.cold = not segments
        try:
            for data in segments:
                for joined, group in data["commits"].items():
                    paths = joined.split("\0") if joined else []
                    for sha, ids in group.items():
                        self.entries[sha] = (paths, ids)
                for path, by_blob in data["values"].items():
                    self._by_path.setdefault(path, {}).update(by_blob)
        except (AttributeError, KeyError, TypeError, ValueError):  # not the shape we write
            self.entries, self._by_path, self.cold = {}, {}, True

    def values(self, commit: _Commit) -> dict[str, dict[str, Any]] | None:
        """The metrics of ``commit`` from its entry, when it is for the tree git gives."""
        entry = self.entries.get(commit.sha)
        if entry is None:
            return None
        paths, ids = entry
        if len(ids) != len(paths) + 1 or ids[0] != commit.tree:
            return None
        out = {}
        for path, blob in zip(paths, ids[1:], strict=True):
            flat = self._by_path.get(path, {}).get(blob)
            if not isinstance(flat, dict):
                return None
            out[path] = flat
        return out

    def to_walk(
        self, root: Root, commits: list[_Commit], args: list[str], last: int | None
    ) -> list[_Commit]:
        """The commits (newest first) to walk with their changes: from the newest to the
        oldest one without a usable entry; none when every commit has one.

        An entry is usable when it is for the tree git gives for the commit and git names the
        same blob at each of its paths in that tree (one ``git cat-file --batch-check``,
        which runs while the values are looked up).
        """
        import threading

        specs: list[str] = []
        start: dict[str, int] = {}  # commit -> where its paths begin in specs
        for commit in commits:
            entry = self.entries.get(commit.sha)
            if entry is not None and entry[1] and entry[1][0] == commit.tree:
                start[commit.sha] = len(specs)
                specs.extend(f"{commit.tree}:{root.prefix}{path}" for path in entry[0])
        checked: list[list[str | None]] = []
        check = threading.Thread(
            target=lambda: checked.append(object_ids(root.git_top, specs)), daemon=True
        )
        check.start()
        candidates = [(i, commit, self.values(commit)) for i, commit in enumerate(commits)]
        check.join()
        ids = checked[0] if checked else [None] * len(specs)
        missing = []
        for i, commit, values in candidates:
            if values is None:
                missing.append(i)
                continue
            recorded = self.entries[commit.sha][1][1:]
            at = start[commit.sha]
            if ids[at : at + len(recorded)] == recorded:
                self.found[commit.sha] = values
            else:  # not git's blob at that path: computed again
                missing.append(i)
        if not missing:
            return []
        oldest = missing[-1]
        if oldest + 1 == len(commits):
            return _log(root, args, last)
        return _log(root, [commits[0].sha, f"^{commits[oldest + 1].sha}"], None)

    def indexable(
        self, walked: list[_Commit], plans: dict[str, _Plan], points: list[Point]
    ) -> dict[str, tuple[list[str], list[str]]]:
        """The walked commits whose every file came from git and parsed, each with its files'
        paths and ``[tree, blob...]``: what :meth:`save` indexes."""
        failed = {p.sha for p in points if p.errors}
        indexed: dict[str, tuple[list[str], list[str]]] = {}
        for commit in walked:
            if commit.sha in failed:
                continue
            items = plans[commit.sha]
            ids = [commit.tree]
            for _path, key in items:
                if not isinstance(key, str) or key.startswith("md5:"):
                    break
                ids.append(key)
            else:
                indexed[commit.sha] = ([path for path, _key in items], ids)
        return indexed

    def save(self, indexed: dict[str, tuple[list[str], list[str]]]) -> None:
        """Add ``indexed`` (:meth:`indexable`) and the values of their blobs to the index."""
        if not indexed:
            return
        commits: dict[str, dict[str, list[str]]] = {}
        for sha, (paths, ids) in indexed.items():
            commits.setdefault("\0".join(paths), {})[sha] = ids
        values: dict[str, dict[str, dict[str, Any]]] = {}
        for (key, path), flat in self.flats.items():
            if not key.startswith("md5:"):
                values.setdefault(path, {})[key] = flat
        index.save(
            self.directory,
            self.name,
            {"version": self.VERSION, "commits": commits, "values": values},
            _merge,
        )


def _merge(segments: list[dict[str, Any]]) -> dict[str, Any]:
    """Segments of the history index as one (of this version; a newer entry wins)."""
    commits: dict[str, dict[str, list[str]]] = {}
    values: dict[str, dict[str, Any]] = {}
    for data in segments:
        if data.get("version") != _Store.VERSION:
            continue
        for joined, group in data["commits"].items():
            commits.setdefault(joined, {}).update(group)
        for path, by_blob in data["values"].items():
            values.setdefault(path, {}).update(by_blob)
    return {"version": _Store.VERSION, "commits": commits, "values": values}


#: A commit's metrics files: path -> the key of its bytes (blob sha, or "md5:..." for a file
#: from the DVC cache), or the error reading it.
_Plan = list[tuple[str, "str | BadInputError"]]


def _plan(root: Root, reader: Reader, commits: list[_Commit]) -> list[tuple[_Commit, _Plan]]:
    """Oldest first: which blob each commit's metrics files are, from its tree (no reads but
    the few ``dvc.yaml`` and ``dvc.lock`` versions).

    A commit that changes no ``dvc.yaml``, ``dvc.lock``, ``params.yaml`` or symlink, and no
    path a declared metrics path names or holds except the files the previous commit read from
    its tree, has the previous commit's files, with the changed blobs: no tree questions.
    """
    links: set[str] = set()
    state = ls_tree(root, commits[-1].sha, links)
    dvcfiles = {p for p in state if is_dvcfile(p)}
    plans = []
    reuse: _Reuse | None = None
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
                if reuse is not None and not links:
                    items = reuse.apply(commit.changes)
                    if items is not None:
                        plans.append((commit, items))
                        continue
            snap = TreeSnapshot(
                root,
                sha=commit.sha,
                label=commit.sha[:7],
                entries=state,
                blobs=blobs,
                dvcfiles=dvcfiles,
                links=links,
            )
            items, declared = _files_of(reader, snap)
            plans.append((commit, items))
            reuse = _Reuse.of(items, declared, dvcfiles, snap)
    return plans


class _Reuse:
    """What decides whether the next commit's metrics files are the previous commit's."""

    def __init__(self, items: _Plan, watched: tuple[str, ...], fixed: frozenset[str]) -> None:
        self.items = items
        self.where = {path: i for i, (path, _key) in enumerate(items)}
        self.watched = watched  # declared metrics paths (a change at or below one matters)
        self.fixed = fixed  # dvc.yaml, dvc.lock and params.yaml paths

    @classmethod
    def of(
        cls, items: _Plan, declared: Declared | None, dvcfiles: set[str], snap: TreeSnapshot
    ) -> _Reuse | None:
        """None unless every file came from the tree (no error, nothing from the DVC cache)."""
        if declared is None or snap.links:
            return None
        if not all(isinstance(key, str) and snap.entries.get(path) == key for path, key in items):
            return None
        return cls(items, declared.metrics, frozenset({*dvcfiles, *declared.locks, PARAMS_FILE}))

    def apply(self, changes: tuple[tuple[str, str | None, bool], ...]) -> _Plan | None:
        """The files after ``changes``, or None when the commit needs a full look."""
        items = self.items
        for path, sha, is_link in changes:
            if is_link or path in self.fixed or is_dvcfile(path):
                return None
            at = self.where.get(path)
            if at is not None:
                if sha is None:
                    return None  # removed: maybe from the DVC cache now, or gone
                if items is self.items:
                    items = list(items)
                items[at] = (path, sha)
            elif any(path == w or path.startswith(w + "/") for w in self.watched):
                return None  # a new file in a declared directory, or a declared file appearing
        if items is not self.items:
            self.items = items
        return items


def _files_of(reader: Reader, snap: TreeSnapshot) -> tuple[_Plan, Declared | None]:
    items: _Plan = []
    decl = None
    try:
        decl = found = reader.declared(snap)
        outs = LazyOutputs(lambda: reader.lock_outputs(snap, found))
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
        decl = None
    return items, decl


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


def _select(pairs: dict[tuple[str, str], None], wanted: tuple[str, ...]) -> tuple[Column, ...]:
    seen = list(pairs)
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
