"""The history memo: a whole first-parent history's metrics, kept so a warm read is one check.

The history index (:mod:`mlratchet.metrics.history`) keeps each commit's metrics by commit, and
a read still visits every commit. Once a whole history has been read (from a revision, with no
``A..B`` range and no ``--last``), this memo keeps it as it was answered: the commits newest
first with their times and metrics, each commit's JSON (as ``--json`` prints it, up to its tags),
and what git said about them. It is one file, replaced at each save, under the same directory
and rules as the index (:mod:`mlratchet.index`).

A memo is used only when git still says the same, both checked by git at each read, on two
processes at once:

- ``git log --first-parent --format='%H %T' REV``: its output ends with the memo's listing
  (the same commits, with the same trees); whatever comes before are commits made since;
- ``git cat-file --batch-check`` of ``tree:path`` for each metrics file of each commit: the
  same blob ids the memo's values were parsed from.

Tags are never memoised (they move): one ``git for-each-ref`` gives them at each read. The new
commits are read through the index and a new memo is saved. Anything else (another revision,
a memo from another version, a blob that differs, a nested tag) is no memo: the caller reads
the history the ordinary way, and saves a memo for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import threading
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from mlratchet import index
from mlratchet.dvcroot import Root
from mlratchet.gitio import object_ids_raw, run, spawn
from mlratchet.metrics.render import tags_json

#: Bump when what the memo holds, or how a commit's metrics or JSON are made, changes.
VERSION = 1
LISTING = "--format=%H %T"


#: How a commit's JSON object ends when it has no tags (the memo keeps them so).
UNTAGGED = tags_json(())
_SEP = ", "


@dataclass(frozen=True)
class Memo:
    """A memoised history (newest first) and what git said of it when it was saved."""

    tip: str
    listing: bytes  # `git log --first-parent --format='%H %T' tip` as git printed it
    specs: Path  # a file of "tree:path\n" for each metrics file of each commit (git reads it)
    specs_sha256: str
    expect: bytes  # "blob\n" for each line of specs (git's answer then)
    shas: list[str]
    times: list[int]
    text: str  # the commits' JSON objects (as --json prints them, untagged), joined by ", "
    offsets: bytes  # array("q"): where each object starts in text, then len(text) + 2
    metrics: list[bytes]  # chunks of [commit's {path: {key: value}}] (read when points are)
    pairs: list[tuple[str, str]]  # every (path, key) of the history

    def spec_bytes(self) -> bytes | None:
        """The specs file's bytes, if they are still the memo's."""
        try:
            data = self.specs.read_bytes()
        except OSError:
            return None
        return data if hashlib.sha256(data).hexdigest() == self.specs_sha256 else None

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
    if segment is None:
        return None
    specs = index.raw_path(segment)
    checked: list[bytes] = []

    def check_blobs() -> None:  # git reads the specs file while the memo loads
        with contextlib.suppress(OSError):  # replaced by a writer since it was listed
            checked.append(object_ids_raw(root.git_top, specs))

    check = threading.Thread(target=check_blobs, daemon=True)
    check.start()
    listing = spawn(root.git_top, "log", "--first-parent", "--no-color", LISTING, rev, "--")
    try:
        memo = _load(segment, specs)
        tags = _tags(root)
        ok = memo is not None and memo.spec_bytes() is not None
        out = listing.communicate()[0]
        check.join()
    finally:
        if listing.poll() is None:
            listing.kill()
            listing.wait()
    if memo is None or not ok or listing.returncode != 0 or tags is None:
        return None
    if not checked or checked[0] != memo.expect or not out.endswith(memo.listing):
        return None
    fresh = out[: len(out) - len(memo.listing)]
    newer = [line.split(b" ", 1)[0].decode("ascii") for line in fresh.splitlines()]
    return Found(memo, newer, tags)


def _load(segment: Path, specs: Path) -> Memo | None:
    data = index.read(segment)
    if data is None or data.get("version") != VERSION:
        return None
    try:
        memo = Memo(
            tip=data["tip"],
            listing=data["listing"],
            specs=specs,
            specs_sha256=data["specs_sha256"],
            expect=data["expect"],
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
        isinstance(memo.listing, bytes)
        and isinstance(memo.specs_sha256, str)
        and isinstance(memo.expect, bytes)
        and all(isinstance(chunk, bytes) for chunk in memo.metrics)
        and isinstance(memo.text, str)
        and isinstance(memo.offsets, bytes)
        and len(memo.times) == len(memo.shas) == len(memo.offsets) // 8 - 1
        and (not memo.shas or memo.shas[0] == memo.tip)
        and memo.listing.startswith(memo.tip.encode("ascii"))
    )
    return memo if ok else None


def _tags(root: Root) -> dict[str, tuple[str, ...]] | None:
    """commit -> the tags that point at it (through one annotated tag), as ``git log
    --decorate`` names them; None when a tag points at a tag (the caller asks git log)."""
    out = run(
        root.git_top,
        "for-each-ref",
        "--format=%(objectname) %(*objectname) %(*objecttype) %(refname)",
        "refs/tags/",
    ).stdout
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        sha, peeled, kind, ref = line.split(b" ", 3)
        if kind == b"tag":
            return None
        name = ref[len(b"refs/tags/") :].decode("utf-8", "surrogateescape")
        found.setdefault(sha.decode("ascii"), []).append(name)
        if peeled:
            found.setdefault(peeled.decode("ascii"), []).append(name)
    return {sha: tuple(sorted(names)) for sha, names in found.items()}


def save(
    root: Root,
    *,
    listing: bytes,
    specs: bytes,
    expect: bytes,
    shas: list[str],
    times: list[int],
    text: str,
    offsets: bytes,
    metrics: list[bytes],
    pairs: list[tuple[str, str]],
) -> bool:
    """Replace the memo of ``root``'s project (the fields of :class:`Memo`, newest commit
    first; ``specs`` the bytes of its specs file). False if it could not be written."""
    data = {
        "version": VERSION,
        "tip": shas[0],
        "listing": listing,
        "specs_sha256": hashlib.sha256(specs).hexdigest(),
        "expect": expect,
        "shas": shas,
        "times": times,
        "text": text,
        "offsets": offsets,
        "metrics": metrics,
        "pairs": [list(pair) for pair in pairs],
    }
    return index.replace(index.index_dir(root.git_top), _name(root), data, specs)


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
