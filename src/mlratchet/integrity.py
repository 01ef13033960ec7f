"""Integrity on read: re-hash an output and compare it with ``dvc.lock`` before anything uses it.

DVC trusts a cache file whose size and mtime look right without re-hashing it, so a flipped
byte in a model goes unnoticed by ``dvc status``. Everything downstream that uses a model or
dataset output (verify, promotion, serving) calls :func:`verify_entry` first.

Directory outputs are hashed as DVC does: the md5 of the JSON list of ``{"md5", "relpath"}``
of every file below it, sorted by relative path, with ``.dir`` appended.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from mlratchet.dvclock import Entry
from mlratchet.errors import BadInputError, IntegrityError
from mlratchet.fsio import md5_file


@dataclass(frozen=True)
class Mismatch:
    """An output whose bytes do not hash to the value ``dvc.lock`` records."""

    path: str
    expected: str
    actual: str


def dir_md5(path: Path) -> str:
    """DVC's hash of a directory: md5 of its sorted ``{"md5", "relpath"}`` listing + ``.dir``."""
    listing = sorted(
        (
            {"md5": md5_file(file), "relpath": file.relative_to(path).as_posix()}
            for file in path.rglob("*")
            if file.is_file()
        ),
        key=lambda item: item["relpath"],
    )
    payload = json.dumps(listing, sort_keys=True).encode("utf-8")
    return hashlib.md5(payload).hexdigest() + ".dir"  # noqa: S324 - DVC's content address


def md5_of(path: Path) -> str:
    """The DVC hash of a file or directory."""
    return dir_md5(path) if path.is_dir() else md5_file(path)


def check_entry(root: Path | str, entry: Entry) -> Mismatch | None:
    """Re-hash ``entry`` under ``root``; a :class:`Mismatch` if it differs from its record.

    A missing path or an entry recorded without a hash is bad input (exit 2), not a mismatch.
    """
    path = Path(root) / entry.path
    if entry.md5 is None:
        raise BadInputError(f"{entry.path}: dvc.lock records no hash for it")
    if not path.exists():
        raise BadInputError(
            f"{entry.path}: not in the workspace; run `dvc checkout` or `dvc pull` first"
        )
    actual = md5_of(path)
    return None if actual == entry.md5 else Mismatch(entry.path, entry.md5, actual)


def verify_entry(root: Path | str, entry: Entry) -> None:
    """Raise :class:`IntegrityError` (exit 3) naming the file and both hashes on a mismatch."""
    mismatch = check_entry(root, entry)
    if mismatch is not None:
        raise IntegrityError(
            f"{mismatch.path}: dvc.lock records md5 {mismatch.expected} but the file hashes to "
            f"{mismatch.actual}; it was modified or corrupted (restore it: dvc checkout --force)"
        )


# --- outputs of a committed revision (issue 5: registry promotion) --------------------------


def check_cached(repo: Path | str, entry: Entry) -> Mismatch | None:
    """Re-hash ``entry``'s object in the local DVC cache (a ``.dir`` and every file in it).

    An object that is not in the cache is bad input (exit 2) telling how to fetch it.
    """
    from mlratchet.dvclock import cache_path

    path = cache_path(repo, entry)
    if not path.is_file():
        raise BadInputError(
            f"{entry.path}: its object {entry.md5} is not in the local DVC cache; "
            "run `dvc fetch` (or `dvc pull`) first"
        )
    actual = md5_file(path)
    if not entry.is_dir:
        return None if actual == entry.md5 else Mismatch(entry.path, str(entry.md5), actual)
    if f"{actual}.dir" != entry.md5:
        return Mismatch(entry.path, str(entry.md5), f"{actual}.dir")
    try:
        listing = json.loads(path.read_bytes())
    except ValueError:
        return Mismatch(entry.path, str(entry.md5), "an unreadable .dir listing")
    for item in listing:
        member = Entry(
            path=f"{entry.path}/{item['relpath']}",
            md5=str(item["md5"]),
            size=None,
            nfiles=None,
            hash_name=entry.hash_name,
        )
        mismatch = check_cached(repo, member)
        if mismatch is not None:
            return mismatch
    return None


def verify_committed(repo: Path | str, entry: Entry, *, in_workspace: bool) -> str:
    """Re-hash a committed output: the workspace copy if asked and present, else the cache.

    Returns where the bytes were read ("workspace" or "cache"); a mismatch is
    :class:`IntegrityError` (exit 3) naming the file and both hashes.
    """
    if in_workspace and (Path(repo) / entry.path).exists():
        verify_entry(repo, entry)
        return "workspace"
    mismatch = check_cached(repo, entry)
    if mismatch is not None:
        raise IntegrityError(
            f"{mismatch.path}: dvc.lock records md5 {mismatch.expected} but its DVC cache "
            f"object hashes to {mismatch.actual}; the cache is corrupted (remove the object "
            "and run `dvc fetch`)"
        )
    return "cache"
