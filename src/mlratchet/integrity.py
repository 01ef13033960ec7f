"""Integrity on read: re-hash an output and compare it with ``dvc.lock`` before anything uses it.

DVC trusts a cache file whose size and mtime look right without re-hashing it, so a flipped
byte in a model goes unnoticed by ``dvc status``. Everything downstream that uses a model or
dataset output (verify, promotion, serving) goes through this module first.

The API, smallest first:

- :func:`md5_of` -- DVC's hash of a file or directory (``md5``, or ``md5-dos2unix`` for the
  entries of DVC 2 lock files).
- :func:`check_entry` / :func:`verify_entry` -- re-hash one ``dvc.lock`` entry in a work tree;
  the first returns a :class:`Mismatch`, the second raises :class:`OutputCorruptedError` (exit 3).
- :func:`verify_output` -- the one call for later users: "give me the verified bytes of output
  ``models/model.skops`` as revision ``v1.2.0`` records it". It looks in the work tree first
  (when the file there is the one the revision records) and otherwise in the local DVC cache,
  re-hashes what it found, and returns where the verified bytes are.

Directory outputs are hashed as DVC does: the md5 of the JSON list of ``{"md5", "relpath"}``
of every file below it, sorted by relative path, with ``.dir`` appended. Unlike DVC we do not
apply ``.dvcignore`` inside an output directory: an ignored file inside an output is reported.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlratchet.dvclock import Entry
from mlratchet.errors import BadInputError, IntegrityError
from mlratchet.fsio import md5_file

#: The hash names DVC writes into ``dvc.lock``: DVC 3 (``hash: md5``) and DVC 2 (no key).
HASH_NAMES = ("md5", "md5-dos2unix")


@dataclass(frozen=True)
class Mismatch:
    """An output whose bytes do not hash to the value ``dvc.lock`` records."""

    path: str
    expected: str
    actual: str


@dataclass(frozen=True)
class VerifiedOutput:
    """An output whose bytes were re-hashed and match the record of its revision.

    ``source`` is the file (or directory) holding those bytes: the work-tree path when it
    matches, otherwise the object in the local DVC cache (for a directory output, the work-tree
    directory only: the cache keeps a directory as separate file objects).
    """

    path: str
    md5: str
    source: Path
    in_workspace: bool


class OutputCorruptedError(IntegrityError):
    """An output's bytes do not hash to what ``dvc.lock`` records (exit 3)."""

    def __init__(self, mismatch: Mismatch, *, where: str = "the file", fix: str = "") -> None:
        super().__init__(
            f"{mismatch.path}: dvc.lock records md5 {mismatch.expected} but {where} hashes to "
            f"{mismatch.actual}; it was modified or corrupted" + (f" ({fix})" if fix else "")
        )
        self.mismatch = mismatch


def _file_hasher(hash_name: str) -> Callable[[Path], str]:
    if hash_name == "md5":
        return md5_file
    if hash_name == "md5-dos2unix":
        return _md5_dos2unix
    raise BadInputError(f"unsupported hash {hash_name!r} in dvc.lock (known: {HASH_NAMES})")


def _md5_dos2unix(path: Path) -> str:
    """DVC 2's file hash: text files are hashed with CRLF read as LF (dvc-data's own code)."""
    from dvc_data.hashfile.hash import fobj_md5

    with path.open("rb") as fobj:
        return str(fobj_md5(fobj, name="md5-dos2unix"))


def dir_md5(path: Path, hash_name: str = "md5") -> str:
    """DVC's hash of a directory: md5 of its sorted ``{"md5", "relpath"}`` listing + ``.dir``."""
    file_md5 = _file_hasher(hash_name)
    listing = sorted(
        (
            {"md5": file_md5(file), "relpath": file.relative_to(path).as_posix()}
            for file in path.rglob("*")
            if file.is_file()
        ),
        key=lambda item: item["relpath"],
    )
    payload = json.dumps(listing, sort_keys=True).encode("utf-8")
    return hashlib.md5(payload).hexdigest() + ".dir"  # noqa: S324 - DVC's content address


def md5_of(path: Path, hash_name: str = "md5") -> str:
    """The DVC hash of a file or directory (``hash_name`` as ``dvc.lock`` names it)."""
    path = Path(path)
    return dir_md5(path, hash_name) if path.is_dir() else _file_hasher(hash_name)(path)


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
    actual = md5_of(path, entry.hash_name)
    return None if actual == entry.md5 else Mismatch(entry.path, entry.md5, actual)


def verify_entry(root: Path | str, entry: Entry) -> None:
    """Raise :class:`OutputCorruptedError` (exit 3), naming the file and both hashes."""
    mismatch = check_entry(root, entry)
    if mismatch is not None:
        raise OutputCorruptedError(mismatch, fix="restore it: dvc checkout --force")


def verify_output(repo: Path | str, path: str, rev: str | None = None) -> VerifiedOutput:
    """Find output ``path`` as ``dvc.lock`` at ``rev`` (None: the work tree) records it; re-hash it.

    The work-tree copy is used when it hashes to the recorded value; otherwise the object in
    the local DVC cache is re-hashed (a file output only). Raises :class:`OutputCorruptedError`
    (exit 3) when the bytes found do not match, :class:`BadInputError` (exit 2) when ``path``
    is not an output at ``rev`` or its bytes are neither in the work tree nor in the cache.
    """
    from mlratchet.dvclock import cache_path, load_lock, outputs

    root = Path(repo)
    where = "the work tree" if rev is None else rev
    entry = outputs(load_lock(root, rev)).get(Path(path).as_posix())
    if entry is None:
        raise BadInputError(f"{path}: not an output recorded in dvc.lock at {where}")
    if entry.md5 is None:
        raise BadInputError(f"{path}: dvc.lock at {where} records no hash for it")
    local = root / entry.path
    workspace_mismatch: Mismatch | None = None
    if local.exists():
        workspace_mismatch = check_entry(root, entry)
        if workspace_mismatch is None:
            return VerifiedOutput(entry.path, entry.md5, local, in_workspace=True)
        if rev is None:
            raise OutputCorruptedError(
                workspace_mismatch, fix="restore it: dvc checkout --force " + entry.path
            )
    if entry.is_dir:
        raise BadInputError(
            f"{path}: the work tree does not hold the directory {where} records "
            f"({entry.md5}); check that revision out (git checkout {rev} && dvc checkout)"
        )
    cached = cache_path(root, entry)
    if not cached.is_file():
        raise BadInputError(
            f"{path} as {where} records it (md5 {entry.md5}) is not in the local DVC cache; "
            "run `dvc pull` or `dvc fetch` for that revision"
        )
    actual = md5_of(cached, entry.hash_name)
    if actual != entry.md5:
        raise OutputCorruptedError(
            Mismatch(entry.path, entry.md5, actual),
            where=f"its DVC cache object {cached}",
            fix="the cache is corrupted: delete that object and run `dvc pull`",
        )
    return VerifiedOutput(entry.path, entry.md5, cached, in_workspace=False)


def unreachable_remote(dvc_repo: Any, remote: str | None = None) -> str | None:
    """Why the DVC remote ``remote`` (the default one when None) cannot be reached, or None when
    it answers; a fetch that brought nothing then says "unreachable", not "not on the remote".

    ``dvc_repo`` is an open :class:`dvc.repo.Repo`. A remote answers when listing its root does
    not fail; a local remote whose directory does not exist (an unmounted share) does not.
    """
    config = dvc_repo.config
    name = remote or (config.get("core") or {}).get("remote")
    if not name:
        return "no DVC remote is configured; add one: dvc remote add -d NAME URL"
    url = ((config.get("remote") or {}).get(name) or {}).get("url", "?")
    try:
        store = dvc_repo.cloud.get_remote(name)
        if not store.fs.exists(store.path) and store.fs.protocol == "local":
            reason = "no such directory"
        else:
            return None
    except Exception as exc:  # any failure to list the remote is "unreachable"
        lines = str(exc).strip().splitlines()
        reason = lines[0] if lines else type(exc).__name__
    return (
        f"the DVC remote {name!r} ({url}) could not be reached: {reason}; check its URL, the "
        "network and the credentials (dvc remote list; dvc remote modify)"
    )
