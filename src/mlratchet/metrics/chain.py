"""The history memo: a whole first-parent history's metrics, kept so a warm read is one check.

The history index (:mod:`mlratchet.metrics.history`) keeps each commit's metrics by commit, and
a read still visits every commit. Once a whole history has been read (from a revision, with no
``A..B`` range and no ``--last``), this memo keeps it as it was answered: the commits newest
first with their times and metrics, and each commit's JSON (as ``--json`` prints it, up to its
tags). It is one file, replaced at each save, under the same directory and rules as the index
(:mod:`mlratchet.index`), with its tip commit's id in the raw file beside it.

What a first-parent history holds is fixed by its tip commit's id: a commit id is the hash of
the commit, which names its tree and its first parent by their hashes, down to every blob. So a
memo is checked by asking git where the tip is, not by asking again for what it fixes:

- ``git log --first-parent --format='%H %P' REV ^TIP`` lists the commits made on top of the
  memo's tip; the oldest of them must have the tip as its first parent (else the tip is not on
  REV's first-parent history: a rebase, a reset, another branch), and with none listed REV must
  be the tip itself (not one of its ancestors);
- nothing may change what a commit id reads as: replace refs (``refs/replace/``), a grafts file
  or a shallow clone mean no memo.

Tags are never memoised (they move): one ``git for-each-ref`` gives them at each read. The new
commits are read through the index and a new memo is saved. Anything else (another revision,
a memo from another version, a nested tag) is no memo: the caller reads the history the
ordinary way, and saves a memo for it.
"""

from __future__ import annotations

import marshal
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from mlratchet import index
from mlratchet.dvcroot import Root
from mlratchet.errors import BadInputError
from mlratchet.gitio import is_shallow, rev_parse, run, spawn
from mlratchet.metrics.render import tags_json

#: Bump when what the memo holds, or how a commit's metrics or JSON are made, changes.
VERSION = 2


#: How a commit's JSON object ends when it has no tags (the memo keeps them so).
UNTAGGED = tags_json(())
_SEP = ", "


@dataclass(frozen=True)
class Memo:
    """A memoised history (newest first), from its tip commit down."""

    tip: str
    shas: list[str]
    times: list[int]
    text: str  # the commits' JSON objects (as --json prints them, untagged), joined by ", "
    offsets: bytes  # array("q"): where each object starts in text, then len(text) + 2
    metrics: list[bytes]  # chunks of [commit's {path: {key: value}}] (read when points are)
    pairs: list[tuple[str, str]]  # every (path, key) of the history

    def starts(self) -> array[int]:
        """:attr:`offsets` as numbers."""
        found = array("q")
        found.frombytes(self.offsets)
        return found

    def json(self, tags: dict[str, tuple[str, ...]]) -> list[str]:
        """:attr:`text` with each tagged commit's object closed by its tags, in pieces."""
        return tagged(self.text, self.starts, self.shas, tags)


def tagged(
    text: str,
    starts: Any,
    shas: list[str],
    tags: dict[str, tuple[str, ...]],
) -> list[str]:
    """``text`` (objects as :func:`joined` joins them) with each tagged commit's object closed
    by its tags (:func:`~mlratchet.metrics.render.tags_json`), in pieces to join (no copy
    of the whole text here); ``starts`` gives the offsets (called only if needed)."""
    if not tags or not shas:
        return [text]
    at = {sha: i for i, sha in enumerate(shas)} if len(tags) < len(shas) else None
    if at is None:
        found = [(i, tags[sha]) for i, sha in enumerate(shas) if sha in tags]
    else:
        found = sorted((at[sha], names) for sha, names in tags.items() if sha in at)
    if not found:
        return [text]
    offsets = starts() if callable(starts) else starts
    pieces, done, cut = [], 0, len(UNTAGGED)
    for i, names in found:
        end = offsets[i + 1] - len(_SEP)
        pieces += [text[done : end - cut], tags_json(names)]
        done = end
    pieces.append(text[done:])
    return pieces


def joined(heads: list[str]) -> tuple[str, array[int]]:
    """Objects begun by ``heads`` (each closed untagged), joined by ", " as :attr:`Memo.text`
    is, and their :attr:`Memo.offsets`."""
    starts, at, extra = array("q"), 0, len(UNTAGGED) + len(_SEP)
    for head in heads:
        starts.append(at)
        at += len(head) + extra
    starts.append(at)
    if not heads:
        return "", starts
    return (UNTAGGED + _SEP).join(heads) + UNTAGGED, starts


def stacked(first: str, first_starts: array[int], memo: Memo) -> tuple[str, bytes]:
    """Objects (:func:`joined`) put before a memo's: the text and offsets of both."""
    if not first:
        return memo.text, memo.offsets
    if not memo.text:
        return first, first_starts.tobytes()
    shift = first_starts[-1]
    rest = memo.starts()
    out = first_starts[:-1]
    out.extend(at + shift for at in rest)
    return first + _SEP + memo.text, out.tobytes()


@dataclass(frozen=True)
class Found:
    """A memo that git confirmed, and the commits made on top of it since (newest first)."""

    memo: Memo
    newer: list[str]  # the new commits' shas
    tags: dict[str, tuple[str, ...]]  # commit -> its tags, sorted


def _name(root: Root) -> str:
    return f"metrics-chain-{index.key_of(root.prefix)}"


def lookup(root: Root, rev: str) -> Found | None:
    """The memo for the history back from commit ``rev``, if git confirms it (see above)."""
    directory = index.index_dir(root.git_top)
    segment = index.newest(directory, _name(root))
    tip = None if segment is None else _tip(segment)
    if segment is None or tip is None or directory is None:
        return None
    # git walks down to the tip while the memo loads.
    above = spawn(
        root.git_top, "log", "--first-parent", "--no-color", "--format=%H %P", rev, f"^{tip}", "--"
    )
    try:
        memo = _load(segment)
        tags = _tags(root)
        out = above.communicate()[0]
    finally:
        if above.poll() is None:
            above.kill()
            above.wait()
    if memo is None or memo.tip != tip or above.returncode != 0 or tags is None:
        return None
    if _rewritable(root, directory.parent.parent):
        return None
    newer = _newer(root, rev, tip, out.splitlines())
    return None if newer is None else Found(memo, newer, tags)


def _tip(segment: Path) -> str | None:
    """The tip commit a memo segment was saved for (the raw file beside it)."""
    try:
        tip = index.raw_path(segment).read_bytes().decode("ascii").strip()
    except (OSError, UnicodeDecodeError):  # replaced by a writer since it was listed
        return None
    return tip if tip and all(c in "0123456789abcdef" for c in tip) else None


def _newer(root: Root, rev: str, tip: str, lines: list[bytes]) -> list[str] | None:
    """The commits above ``tip`` on ``rev``'s first-parent history (``git log --format='%H %P'
    rev ^tip``), newest first; None if ``tip`` is not on that history."""
    if lines:
        oldest = lines[-1].split(b" ")
        if len(oldest) < 2 or oldest[1].decode("ascii") != tip:
            return None  # the tip is not on this history's first parents
    elif _commit_of(root, rev) != tip:
        return None  # another revision: one of the tip's ancestors, say
    return [line.split(b" ", 1)[0].decode("ascii") for line in lines]


def _commit_of(root: Root, rev: str) -> str | None:
    """The commit ``rev`` names (None if none)."""
    try:
        return rev_parse(root.git_top, rev)
    except BadInputError:
        return None


def _rewritable(root: Root, common: Path) -> bool:
    """Whether the repository (``common``: its git common directory) cuts its history or
    grafts parents onto commits (replace refs are :func:`_tags`' to find)."""
    return (common / "info" / "grafts").exists() or is_shallow(root.git_top)


def _load(segment: Path) -> Memo | None:
    data = index.read(segment)
    if data is None or data.get("version") != VERSION:
        return None
    try:
        memo = Memo(
            tip=data["tip"],
            shas=data["shas"],
            times=data["times"],
            text=data["text"],
            offsets=data["offsets"],
            metrics=data["metrics"],
            pairs=[(pair[0], pair[1]) for pair in data["pairs"]],
        )
    except (KeyError, TypeError, IndexError):
        return None
    ok = (
        isinstance(memo.tip, str)
        and all(isinstance(chunk, bytes) for chunk in memo.metrics)
        and isinstance(memo.text, str)
        and isinstance(memo.offsets, bytes)
        and len(memo.times) == len(memo.shas) == len(memo.offsets) // 8 - 1
        and bool(memo.shas)
        and memo.shas[0] == memo.tip
    )
    return memo if ok else None


def _tags(root: Root) -> dict[str, tuple[str, ...]] | None:
    """commit -> the tags that point at it (through one annotated tag), as ``git log
    --decorate`` names them; None when a tag points at a tag (the caller asks git log), or when
    a replace ref changes what a commit id reads as (no memo holds then)."""
    out = run(
        root.git_top,
        "for-each-ref",
        "--format=%(objectname) %(*objectname) %(*objecttype) %(refname)",
        "refs/tags/",
        "refs/replace/",
    ).stdout
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        sha, peeled, kind, ref = line.split(b" ", 3)
        if kind == b"tag" or not ref.startswith(b"refs/tags/"):
            return None
        name = ref[len(b"refs/tags/") :].decode("utf-8", "surrogateescape")
        found.setdefault(sha.decode("ascii"), []).append(name)
        if peeled:
            found.setdefault(peeled.decode("ascii"), []).append(name)
    return {sha: tuple(sorted(names)) for sha, names in found.items()}


def save(
    root: Root,
    *,
    shas: list[str],
    times: list[int],
    text: str,
    offsets: bytes,
    metrics: list[bytes],
    pairs: list[tuple[str, str]],
) -> bool:
    """Replace the memo of ``root``'s project (the fields of :class:`Memo`, newest commit
    first). False if it could not be written."""
    data = {
        "version": VERSION,
        "tip": shas[0],
        "shas": shas,
        "times": times,
        "text": text,
        "offsets": offsets,
        "metrics": metrics,
        "pairs": [list(pair) for pair in pairs],
    }
    raw = (shas[0] + "\n").encode("ascii")
    return index.replace(index.index_dir(root.git_top), _name(root), data, raw)


def pack_metrics(metrics: list[dict[str, dict[str, Any]]]) -> bytes:
    """The commits' metrics as the memo keeps them (shared dicts stay shared)."""
    return marshal.dumps(metrics, 4)


class LazyPoints(Sequence[Any]):
    """A history's points, made on first use from the memo (a JSON read never needs them)."""

    def __init__(self, count: int, build: Any, errors: list[tuple[str, str, str]]) -> None:
        self.errors = errors  # (commit, path, message) of the points (a memo's have none)
        self._count = count
        self._build = build
        self._points: list[Any] | None = None

    def _all(self) -> list[Any]:
        if self._points is None:
            self._points = self._build()
            self._build = None
        return self._points

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, i: int) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Any]: ...
    def __getitem__(self, i: int | slice) -> Any:
        return self._all()[i]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LazyPoints({self._count} points)"


def unpack_metrics(raw: bytes) -> list[dict[str, dict[str, Any]]]:
    """What :func:`pack_metrics` packed."""
    data: list[dict[str, dict[str, Any]]] = marshal.loads(raw)  # noqa: S302 - see mlratchet.index
    return data
