"""The on-disk index: what was computed from git once, kept so it need not be computed again.

Each index is a few files (segments: the first computation, then what each later command
added) under ``<git common dir>/mlratchet/index/`` (shared by a repository's worktrees, never
committed). Nothing in it is trusted over git: every record names
the git objects it was computed from (commit and tree ids, blob ids, the refs' object ids), and
its reader uses a record only when git still says the same; the file itself carries a sha256 of
its body, so a torn or edited file is ignored. Deleting the directory is always safe: the next
command rebuilds what it needs.

Writers take an ``flock`` on ``index.lock`` in that directory, write a temporary file and rename
it into place (past a few segments, one merged segment replaces them all); readers never lock
(a rename is atomic: a reader sees a whole segment or none). A writer that finds the lock held
does not wait: the other writer is saving the same kind of work.

A segment is a checksum line, then :mod:`marshal` data (plain dicts, lists, strings and
numbers: ten times faster to write than JSON, which matters at 100,000 commits). Like every
file under ``.git``, it is trusted as far as the repository is: whoever can write there can
already make git run code (hooks), so the checksum is against accidents, not adversaries.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

#: Where the indexes live, relative to the git common directory.
INDEX_DIR = ("mlratchet", "index")
_LOCK = "index.lock"
_MAGIC = b"mlratchet-index 1 sha256="
#: Segments an index may have before a writer folds them into one.
MAX_SEGMENTS = 8


#: directory -> the index directory of its repository (asked of git once per process).
_DIRS: dict[str, Path] = {}


def remember(directories: Iterable[Path | str], common: Path) -> None:
    """Note that ``directories`` are in the repository whose git common dir is ``common``
    (:func:`mlratchet.dvcroot.find_root` knows it, from the git call it makes anyway)."""
    for directory in directories:
        _DIRS[str(directory)] = common.joinpath(*INDEX_DIR)


def index_dir(git_top: Path | str) -> Path | None:
    """The index directory of the repository at ``git_top`` (None if git cannot say)."""
    from mlratchet.gitio import run

    known = _DIRS.get(str(git_top))
    if known is not None:
        return known
    proc = run(git_top, "rev-parse", "--git-common-dir", check=False)
    if proc.returncode != 0:
        return None
    common = Path(proc.stdout.decode("utf-8", "surrogateescape").strip())
    if not common.is_absolute():
        common = Path(git_top) / common
    remember((git_top,), common)
    return common.joinpath(*INDEX_DIR)


def _read(path: Path) -> dict[str, Any] | None:
    # Mapped, not read: the body is only hashed and unmarshalled (copied into objects), so
    # its pages come from the page cache in one go instead of being faulted in fresh, tens of
    # MB of them for a memo (a page fault costs microseconds on a virtual machine).
    import mmap

    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                return None
            flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
            mapped = mmap.mmap(handle.fileno(), size, flags=flags, prot=mmap.PROT_READ)
    except (OSError, ValueError):  # absent, or removed by a writer's compaction since listed
        return None
    with mapped, memoryview(mapped) as raw:
        cut = mapped.find(b"\n", 0, 256)
        with raw[cut + 1 :] as body:
            if cut < 0 or raw[:cut] != _MAGIC + hashlib.sha256(body).hexdigest().encode("ascii"):
                return None  # torn or altered
            try:
                data = marshal.loads(body)  # noqa: S302 - checksummed, in .git (see the docstring)
            except (EOFError, ValueError, TypeError):  # another Python's format, say
                return None
    return data if isinstance(data, dict) else None


def _segments(directory: Path, name: str) -> list[Path]:
    try:
        return sorted(directory.glob(f"{name}.*.idx"))
    except OSError:
        return []


def load(directory: Path | None, name: str) -> list[dict[str, Any]]:
    """The segments of index ``name`` as they were saved, oldest first; a torn or altered
    segment is left out (what it held is computed again)."""
    if directory is None:
        return []
    found = (_read(path) for path in _segments(directory, name))
    return [data for data in found if data is not None]


def load_newest(directory: Path | None, name: str) -> dict[str, Any] | None:
    """The newest whole segment of index ``name`` (for an index each save replaces)."""
    if directory is None:
        return None
    for path in reversed(_segments(directory, name)):
        data = _read(path)
        if data is not None:
            return data
    return None


def exists(directory: Path | None, name: str) -> bool:
    """Whether index ``name`` has any segment (without reading it)."""
    return directory is not None and bool(_segments(directory, name))


def _write(path: Path, data: dict[str, Any]) -> None:
    from mlratchet.fsio import atomic_path

    body = marshal.dumps(data, 4)
    head = _MAGIC + hashlib.sha256(body).hexdigest().encode("ascii") + b"\n"
    with atomic_path(path) as tmp, tmp.open("wb") as out:
        out.write(head)
        out.write(body)


@contextlib.contextmanager
def _writer(directory: Path | None) -> Iterator[bool]:
    """The writers' lock of ``directory``, taken without waiting: True when held (False when
    another writer holds it or the directory cannot be written)."""
    import fcntl

    if directory is None:
        yield False
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _stamp() -> str:
    import time

    return f"{time.time_ns():020d}"


def save(
    directory: Path | None,
    name: str,
    data: dict[str, Any],
    merge: Callable[[list[dict[str, Any]]], dict[str, Any]],
) -> bool:
    """Add ``data`` to index ``name`` as a new segment, under the writers' lock, atomically;
    past :data:`MAX_SEGMENTS`, ``merge`` folds every segment into one. False (and nothing
    written) when another writer holds the lock or the directory cannot be written: an index
    is only ever a saving, never a requirement."""
    with _writer(directory) as held:
        if not held or directory is None:
            return False
        try:
            old = _segments(directory, name)
            path = directory / f"{name}.{_stamp()}.idx"
            if len(old) < MAX_SEGMENTS:
                _write(path, data)
                return True
            merged = merge([*(d for d in map(_read, old) if d is not None), data])
            _write(path, merged)
            for done in old:  # a reader that listed these and opens one now just recomputes
                done.unlink(missing_ok=True)
            return True
        except OSError:
            return False


def replace(
    directory: Path | None, name: str, data: dict[str, Any], raw: bytes | None = None
) -> bool:
    """Make ``data`` the one segment of index ``name`` (an index saved whole each time, read
    with :func:`load_newest` or :func:`newest`), with ``raw`` bytes beside it in a file of the
    same stem (:func:`raw_path`; written first: a reader that finds the segment finds it),
    under the writers' lock, atomically. False as for :func:`save`."""
    with _writer(directory) as held:
        if not held or directory is None:
            return False
        try:
            old = [*_segments(directory, name), *sorted(directory.glob(f"{name}.*.raw"))]
            path = directory / f"{name}.{_stamp()}.idx"
            if raw is not None:
                from mlratchet.fsio import write_bytes

                write_bytes(raw_path(path), raw)
            _write(path, data)
            for done in old:
                done.unlink(missing_ok=True)
            return True
        except OSError:
            return False


def newest(directory: Path | None, name: str) -> Path | None:
    """The newest segment file of index ``name`` (None if it has none)."""
    found = [] if directory is None else _segments(directory, name)
    return found[-1] if found else None


def read(path: Path) -> dict[str, Any] | None:
    """One segment file's data (None when absent, torn or altered)."""
    return _read(path)


def raw_path(segment: Path) -> Path:
    """Where :func:`replace` keeps the raw bytes that go with ``segment``."""
    return segment.with_suffix(".raw")


def key_of(*parts: str) -> str:
    """A short, file-name-safe digest of ``parts`` (e.g. which project of a repository)."""
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def pack(root: object) -> tuple[list[str], list[tuple[int, list[Any], list[int]]], Any]:
    """A graph of dataclass instances as plain data :func:`unpack` rebuilds, an object shared
    in the graph (the same version in two places) shared again: (class names, objects, root).
    Values are dataclasses, tuples, lists, dicts, frozensets, str, int, float, bool or None."""
    import dataclasses

    names: list[str] = []
    class_of: dict[type, int] = {}
    table: list[tuple[int, list[Any], list[int]]] = []
    memo: dict[int, int] = {}

    def enc(value: Any) -> Any:
        if isinstance(value, str | int | float | None):
            return value
        kind = type(value)
        if kind is tuple:
            return ("t", [enc(v) for v in value])
        if kind is list:
            return ("l", [enc(v) for v in value])
        if kind is dict:
            return ("d", [enc(k) for k in value], [enc(v) for v in value.values()])
        if kind is frozenset:
            return ("f", [enc(v) for v in value])
        if dataclasses.is_dataclass(value):
            at = memo.get(id(value))
            if at is None:
                fields = [enc(getattr(value, f.name)) for f in dataclasses.fields(value)]
                if kind not in class_of:
                    class_of[kind] = len(names)
                    names.append(f"{kind.__module__}:{kind.__qualname__}")
                nested = [i for i, f in enumerate(fields) if type(f) is tuple]
                table.append((class_of[kind], fields, nested))
                at = memo[id(value)] = len(table) - 1
            return ("r", at)
        raise TypeError(f"cannot pack {kind.__name__}")

    top = enc(root)
    return names, table, top


def unpack(data: Any, classes: dict[str, type]) -> Any:
    """What :func:`pack` packed; ``classes`` maps each class name it recorded to the class
    (anything else is :class:`ValueError`: the data is not of this program)."""
    import dataclasses

    names, table, top = data
    kinds = []
    for name in names:
        if name not in classes:
            raise ValueError(f"unknown class {name}")
        cls = classes[name]
        kinds.append((cls, [f.name for f in dataclasses.fields(cls)]))
    objects: list[Any] = []

    def dec(value: Any) -> Any:
        if type(value) is not tuple:
            return value
        tag = value[0]
        if tag == "r":
            return objects[value[1]]
        if tag == "t":
            return tuple(dec(v) for v in value[1])
        if tag == "l":
            return [dec(v) for v in value[1]]
        if tag == "d":
            return dict(zip([dec(k) for k in value[1]], [dec(v) for v in value[2]], strict=True))
        if tag == "f":
            return frozenset(dec(v) for v in value[1])
        raise ValueError(f"unknown tag {tag!r}")

    new = object.__new__
    for at, fields, nested in table:
        cls, field_names = kinds[at]
        for i in nested:  # the fields that are not plain values
            fields[i] = dec(fields[i])
        obj = new(cls)
        # frozen dataclasses without slots: their fields live in __dict__ (no __init__ checks
        # to repeat: these values were the fields of such an object)
        obj.__dict__.update(zip(field_names, fields, strict=True))
        objects.append(obj)
    return dec(top)
