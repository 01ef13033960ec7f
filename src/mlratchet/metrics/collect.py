"""Which files are metrics and params at a revision, and their contents, as DVC finds them.

Metrics are the ``metrics:`` outputs of every stage of every ``dvc.yaml`` (in stage order,
paths relative to the stage's ``wdir``), then each ``dvc.yaml``'s top-level ``metrics:``; a
directory stands for every file below it. Params are every stage's ``params:`` (bare keys
belong to ``params.yaml`` next to the stage; ``{file: [keys]}`` picks keys, ``{file:}`` the
whole file), each ``dvc.yaml``'s top-level ``params:`` (whole files), and ``params.yaml`` at
the root whenever it exists (whole). A file named whole anywhere is shown whole.

A file is read from the revision's tree (or the work tree). A DVC-cached output, which git does
not hold, is read from the local DVC cache by the hash that revision's ``dvc.lock`` records.
Unlike DVC, which prints a warning and shows ``-``, a declared file that cannot be read is an
error (exit 2) naming the file and the revision.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlratchet.dvclock import Entry, cache_path, parse_lock
from mlratchet.errors import BadInputError, IntegrityError, RefusedError
from mlratchet.metrics.parse import MetricsFileError, extract_metrics, parse_text, suffix
from mlratchet.metrics.source import LOCK_FILE, Snapshot

PARAMS_FILE = "params.yaml"

#: A parse cache shared between snapshots: (bytes key, path suffix, kind) -> parsed data.
ParseCache = dict[tuple[str, str, str], Any]


def fetch_hint(sha: str | None) -> str:
    """How to bring a revision's DVC-cached data into the local cache: ``dvc pull`` for the
    work tree; for a commit, at that commit (``dvc fetch`` has no ``--rev``) or for them all."""
    if sha is None:
        return "run `dvc pull`"
    return f"run `dvc pull` after `git checkout {sha[:7]}`, or `dvc fetch --all-commits`"


class NotInCacheError(BadInputError):
    """A DVC-cached metrics or params file whose bytes are not in the local cache (exit 2)."""

    def __init__(
        self, path: str, where: str, *, sha: str | None = None, directory: str | None = None
    ) -> None:
        what = (
            f"is in the DVC-cached directory output {directory}, which is"
            if directory and directory != path
            else "is DVC-cached and"
        )
        super().__init__(f"{path} at {where} {what} not in the local cache; {fetch_hint(sha)}")
        self.path = path
        self.where = where
        self.directory = directory


class MissingFileError(BadInputError):
    """A declared metrics or params file that does not exist at a revision (exit 2)."""

    def __init__(self, path: str, where: str, hint: str) -> None:
        super().__init__(f"{path} at {where}: no such file; {hint}")
        self.path = path
        self.where = where


@dataclass(frozen=True)
class Declared:
    """What the ``dvc.yaml`` files of one revision declare."""

    metrics: tuple[str, ...]  # repo-relative paths, in DVC's order, without duplicates
    params: dict[str, tuple[str, ...]]  # params file -> key paths (none: the whole file)
    locks: tuple[str, ...] = field(default=())  # the dvc.lock next to each dvc.yaml
    uncached: frozenset[str] = field(default=frozenset())  # outputs with `cache: false` (git's)


def _norm(*parts: str) -> str:
    path = posixpath.normpath(posixpath.join(*parts))
    return "" if path == "." else path


def _uncached_hint(path: str, sha: str | None) -> str:
    if sha is None:
        return (
            "it is missing from the work tree, and it is git-tracked (`cache: false`), not "
            f"DVC-cached, so `dvc pull` cannot bring it; run `ratchet repro` "
            f"(or `git checkout -- {path}`)"
        )
    return "it is git-tracked (`cache: false`), not DVC-cached, and was not committed there"


class EscapingPathError(RefusedError):
    """A path in ``dvc.yaml`` that leads out of the project (exit 5)."""

    def __init__(self, dvcfile: str, where: str, path: str) -> None:
        super().__init__(
            f"{dvcfile} at {where}: {path!r} is outside the project; refusing to read it"
        )


def _inside(path: str, dvcfile: str, where: str) -> str:
    if path.startswith(("/", "../")) or path == "..":
        raise EscapingPathError(dvcfile, where, path)
    return path


def _bad(dvcfile: str, where: str, problem: str) -> BadInputError:
    return BadInputError(f"{dvcfile} at {where}: {problem}")


def _has_template(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(_has_template(k) or _has_template(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    return False


def _stage_metrics(
    dvcfile: str, where: str, name: str, stage: dict[str, Any]
) -> list[tuple[str, bool]]:
    """A stage's metrics outputs as (path relative to wdir, whether DVC caches it)."""
    items = stage.get("metrics") or []
    if not isinstance(items, list):
        raise _bad(dvcfile, where, f"stage {name!r}: `metrics` must be a list")
    out = []
    for item in items:
        if isinstance(item, str):
            out.append((item, True))
        elif isinstance(item, dict) and len(item) == 1 and isinstance(next(iter(item)), str):
            path, flags = next(iter(item.items()))
            out.append((path, not (isinstance(flags, dict) and flags.get("cache") is False)))
        else:
            raise _bad(dvcfile, where, f"stage {name!r}: bad `metrics` entry {item!r}")
    return out


def _stage_params(
    dvcfile: str, where: str, name: str, stage: dict[str, Any]
) -> list[tuple[str, list[str]]]:
    """A stage's params as (file relative to wdir, keys); [] keys means the whole file."""
    items = stage.get("params") or []
    if not isinstance(items, list):
        raise _bad(dvcfile, where, f"stage {name!r}: `params` must be a list")
    files: list[tuple[str, list[str]]] = []
    for item in items:
        if isinstance(item, str):
            files.append((PARAMS_FILE, [item]))
        elif isinstance(item, dict):
            for file, keys in item.items():
                if keys is None or keys == []:
                    files.append((str(file), []))
                elif isinstance(keys, list) and all(isinstance(k, str) for k in keys):
                    files.append((str(file), list(keys)))
                else:
                    raise _bad(dvcfile, where, f"stage {name!r}: params of {file!r} must be a list")
        else:
            raise _bad(dvcfile, where, f"stage {name!r}: bad `params` entry {item!r}")
    return _merge_params(files)


def _merge_params(entries: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """Merge (file, keys) entries, DVC's way: a file named whole anywhere is whole."""
    whole = {file for file, keys in entries if not keys}
    merged: dict[str, list[str]] = {}
    for file, keys in entries:
        if file in whole:
            merged[file] = []
        else:
            merged.setdefault(file, []).extend(keys)
    return list(merged.items())


def declared(  # noqa: PLR0912 - one pass over dvc.yaml's few shapes reads best in one place
    snap: Snapshot, parse_dvcfile: Callable[[str], Any]
) -> Declared:
    """Collect the metrics and params files that ``snap``'s ``dvc.yaml`` files declare."""
    where = snap.label
    metrics: list[str] = []
    uncached: set[str] = set()
    top_metrics: list[str] = []
    params: list[tuple[str, list[str]]] = []
    top_params: list[tuple[str, list[str]]] = []
    locks = []
    for dvcfile in snap.dvcfiles():
        data = parse_dvcfile(dvcfile)
        if not isinstance(data, dict):
            raise _bad(dvcfile, where, "not a mapping")
        base = posixpath.dirname(dvcfile)
        locks.append(_norm(base, LOCK_FILE))
        stages = data.get("stages") or {}
        if not isinstance(stages, dict):
            raise _bad(dvcfile, where, "`stages` must be a mapping")
        for name, stage in stages.items():
            if not isinstance(stage, dict):
                raise _bad(dvcfile, where, f"stage {name!r} is not a mapping")
            body = stage.get("do", stage) if "foreach" in stage else stage
            uses = {k: body.get(k) for k in ("metrics", "params", "wdir") if k in body}
            if uses and ("foreach" in stage or "matrix" in stage or _has_template(uses)):
                raise _bad(
                    dvcfile,
                    where,
                    f"stage {name!r} declares metrics or params through templating "
                    "(${...}, foreach or matrix), which ratchet does not resolve",
                )
            wdir = stage.get("wdir") or "."
            if not isinstance(wdir, str):
                raise _bad(dvcfile, where, f"stage {name!r}: `wdir` must be a string")
            stage_dir = _norm(base, wdir)
            for rel, cached in _stage_metrics(dvcfile, where, name, stage):
                metrics.append(_inside(_norm(stage_dir, rel), dvcfile, where))
                if not cached:
                    uncached.add(metrics[-1])
            params.extend(
                (_inside(_norm(stage_dir, file), dvcfile, where), keys)
                for file, keys in _stage_params(dvcfile, where, name, stage)
            )
        for key in ("metrics", "params"):
            items = data.get(key) or []
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise _bad(dvcfile, where, f"top-level `{key}` must be a list of paths")
            if _has_template(items):
                raise _bad(dvcfile, where, f"top-level `{key}` uses templating (${{...}})")
            for item in items:
                path = _inside(_norm(base, item), dvcfile, where)
                if key == "metrics":
                    top_metrics.append(path)
                else:
                    top_params.append((path, []))
    # params.yaml at the root is always shown, whole, when it exists.
    defaults: list[tuple[str, list[str]]] = [(PARAMS_FILE, [])] if snap.exists(PARAMS_FILE) else []
    merged = _merge_params([*params, *top_params, *defaults])
    return Declared(
        metrics=tuple(dict.fromkeys([*metrics, *top_metrics])),
        params={file: tuple(keys) for file, keys in merged},
        locks=tuple(locks),
        uncached=frozenset(uncached),
    )


class LazyOutputs(Mapping[str, Entry]):
    """The outputs of the ``dvc.lock`` files, parsed on first use: a file found in the tree
    (every git-tracked metric) never pays for parsing a large lock file."""

    def __init__(self, load: Callable[[], dict[str, Entry]]) -> None:
        self._load = load
        self._data: dict[str, Entry] | None = None

    def _get(self) -> dict[str, Entry]:
        if self._data is None:
            self._data = self._load()
        return self._data

    def __getitem__(self, key: str) -> Entry:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


class Reader:
    """Reads and parses the declared files of snapshots.

    Parses are shared by blob sha (a committed file's bytes are read and parsed once however
    many revisions hold them), and so are the declarations of identical ``dvc.yaml`` files.
    """

    def __init__(self) -> None:
        self.cache: ParseCache = {}
        self._declared: dict[tuple[object, ...], Declared] = {}
        self._outs: dict[tuple[object, ...], dict[str, Entry]] = {}
        self.fetched: dict[str, bytes] = {}  # bytes read ahead of parsing, by key

    # -- parsing -----------------------------------------------------------------------------
    def _parse_file(
        self, snap: Snapshot, path: str, kind: str, outs: Mapping[str, Entry] | None
    ) -> Any:
        """Read and parse ``path`` (from the tree, else the DVC cache), once per blob."""
        key = snap.key(path)
        slot = (key, suffix(path), kind) if key else None
        if slot is not None and slot in self.cache:
            return self.cache[slot]
        if outs is None:
            got = snap.read(path)
            if got is None:
                raise MissingFileError(path, snap.label, "it is listed but absent")
            data = got[0]
        else:
            data, cache_key = self.raw(snap, path, outs)
            if slot is None and cache_key is not None:
                slot = (cache_key, suffix(path), kind)
                if slot in self.cache:
                    return self.cache[slot]
        value = parse_text(data, path, snap.label)
        if kind == "metrics":
            value = extract_metrics(value)
        if slot is not None:
            self.cache[slot] = value
        return value

    def dvcfile(self, snap: Snapshot, path: str) -> Any:
        """The parsed ``dvc.yaml`` at ``path``."""
        try:
            return self._parse_file(snap, path, "dvcfile", None)
        except MetricsFileError as exc:
            raise BadInputError(str(exc)) from None

    def declared(self, snap: Snapshot) -> Declared:
        """What ``snap``'s ``dvc.yaml`` files declare."""
        files = snap.dvcfiles()
        keys = tuple(snap.key(f) for f in files)
        signature = (tuple(files), keys, snap.exists(PARAMS_FILE))
        cacheable = all(keys)
        if cacheable and signature in self._declared:
            return self._declared[signature]
        decl = declared(snap, lambda p: self.dvcfile(snap, p))
        if cacheable:
            self._declared[signature] = decl
        return decl

    def lock_outputs(self, snap: Snapshot, decl: Declared) -> dict[str, Entry]:
        """Every output recorded in the revision's ``dvc.lock`` files, by repo-relative path."""
        keys = tuple(snap.key(lock) for lock in decl.locks)
        signature = (decl.locks, keys)
        cacheable = all(
            k is not None or not snap.exists(lock) for k, lock in zip(keys, decl.locks, strict=True)
        )
        if cacheable and signature in self._outs:
            return self._outs[signature]
        outs: dict[str, Entry] = {}
        for lock in decl.locks:
            got = snap.read(lock)
            if got is None:
                continue
            stages = parse_lock(got[0], f"{lock} at {snap.label}")
            base = posixpath.dirname(lock)
            for stage in stages.values():
                for out in stage.outs:
                    outs[_norm(base, out.path)] = out
        if cacheable:
            self._outs[signature] = outs
        return outs

    # -- files -------------------------------------------------------------------------------
    def expand(
        self, snap: Snapshot, paths: tuple[str, ...], outs: Mapping[str, Entry]
    ) -> list[str]:
        """Declared paths with every directory replaced by the files below it (DVC order)."""
        out: list[str] = []
        for path in paths:
            if snap.exists(path):
                out.append(path)
            elif snap.is_dir(path):
                out.extend(snap.files_under(path))
            elif path in outs and outs[path].is_dir:
                out.extend(f"{path}/{rel}" for rel in self._dir_listing(snap, path, outs[path]))
            else:
                out.append(path)
        return list(dict.fromkeys(out))

    def _manifest(
        self, snap: Snapshot, path: str, entry: Entry, file: str | None = None
    ) -> list[dict[str, Any]]:
        """The ``.dir`` listing of a DVC-cached directory: ``[{"md5", "relpath"}, ...]``
        (``file``: the file below it being read, which a cache miss names)."""
        try:
            listing = json.loads(self._cached_bytes(snap, path, entry, file))
            if not all(isinstance(i, dict) and "relpath" in i for i in listing):
                raise TypeError
        except (ValueError, TypeError):
            raise BadInputError(
                f"{path} at {snap.label}: the DVC cache's directory listing is corrupt"
            ) from None
        return list(listing)

    def _dir_listing(self, snap: Snapshot, path: str, entry: Entry) -> list[str]:
        return sorted(str(item["relpath"]) for item in self._manifest(snap, path, entry))

    def _cached_bytes(
        self, snap: Snapshot, path: str, entry: Entry, file: str | None = None
    ) -> bytes:
        if not entry.md5:
            raise MissingFileError(
                path, snap.label, "dvc.lock records no hash for it (run `dvc repro`)"
            )
        try:
            data = cache_path(snap.root.path, entry).read_bytes()
        except FileNotFoundError:
            if file is not None:
                raise NotInCacheError(file, snap.label, sha=snap.sha, directory=path) from None
            raise NotInCacheError(path, snap.label, sha=snap.sha) from None
        except OSError as exc:
            raise BadInputError(
                f"{path} at {snap.label}: cannot read the DVC cache: {exc.strerror}"
            ) from None
        if entry.hash_name == "md5" and not entry.is_dir:
            actual = hashlib.md5(data, usedforsecurity=False).hexdigest()
            if actual != entry.md5:
                raise IntegrityError(
                    f"{path} at {snap.label}: dvc.lock records md5 {entry.md5} but the DVC "
                    f"cache's copy hashes to {actual}; the cache is corrupt "
                    "(remove that cache file and run `dvc pull`)"
                )
        return data

    def _in_dir_output(
        self, snap: Snapshot, path: str, outs: Mapping[str, Entry]
    ) -> tuple[Entry, str] | None:
        """The entry of a file below a DVC-cached directory output, and that directory."""
        parent = posixpath.dirname(path)
        while parent:
            entry = outs.get(parent)
            if entry is not None and entry.is_dir:
                rel = path[len(parent) + 1 :]
                for item in self._manifest(snap, parent, entry, path):
                    if item.get("relpath") == rel:
                        return Entry(path, item.get("md5"), None, None, entry.hash_name), parent
                return None
            parent = posixpath.dirname(parent)
        return None

    def raw(self, snap: Snapshot, path: str, outs: Mapping[str, Entry]) -> tuple[bytes, str | None]:
        """The bytes of a declared file (and their blob sha or md5): the tree, else the cache."""
        got = snap.read(path)
        if got is not None:
            return got
        if path in self.declared(snap).uncached:
            raise MissingFileError(path, snap.label, _uncached_hint(path, snap.sha))
        entry, directory = outs.get(path), None
        if entry is None:
            found = self._in_dir_output(snap, path, outs)
            if found is not None:
                entry, directory = found
        if entry is not None and not entry.is_dir:
            try:
                return self._cached_bytes(snap, path, entry), f"md5:{entry.md5}"
            except NotInCacheError:
                if directory is None:
                    raise
                raise NotInCacheError(path, snap.label, sha=snap.sha, directory=directory) from None
        if snap.sha is None:
            hint = "run `dvc repro` (or `dvc pull`) to produce it"
        else:
            hint = "it is declared in dvc.yaml but was not committed (nor is it a DVC output)"
        raise MissingFileError(path, snap.label, hint)

    def each_metrics_file(self, snap: Snapshot) -> Iterator[tuple[str, Any]]:
        """(path, metrics or the :class:`BadInputError` reading it) for each metrics file."""
        decl = self.declared(snap)
        if not decl.metrics:
            return
        outs = LazyOutputs(lambda: self.lock_outputs(snap, decl))
        for path in self.expand(snap, decl.metrics, outs):
            try:
                yield path, self._parse_file(snap, path, "metrics", outs)
            except BadInputError as exc:
                yield path, exc

    def metrics(self, snap: Snapshot) -> dict[str, Any]:
        """Every metrics file of ``snap``: path -> its metrics, as DVC extracts them."""
        result = {}
        for path, data in self.each_metrics_file(snap):
            if isinstance(data, BadInputError):
                raise data
            result[path] = data
        return result

    def params(self, snap: Snapshot) -> dict[str, Any]:
        """Every params file of ``snap``: path -> its params (the declared keys, or whole)."""
        decl = self.declared(snap)
        if not decl.params:
            return {}
        outs = LazyOutputs(lambda: self.lock_outputs(snap, decl))
        result = {}
        for file, keys in decl.params.items():
            for path in self.expand(snap, (file,), outs):
                config = self._parse_file(snap, path, "params", outs)
                result[path] = select_keys(config, keys) if keys else config
        return result


def select_keys(config: Any, keys: tuple[str, ...]) -> Any:
    """The parts of ``config`` that ``keys`` name (dotted, with globs), as DVC selects them."""
    from copy import deepcopy

    import dpath

    out: dict[str, Any] = {}
    for key in dict.fromkeys(keys):
        dpath.merge(out, deepcopy(dpath.search(config, key, separator=".")), separator=".")
    return out


__all__ = [
    "Declared",
    "MetricsFileError",
    "MissingFileError",
    "NotInCacheError",
    "ParseCache",
    "Reader",
    "declared",
    "select_keys",
]
