"""``dvc.lock``, read-only: what each stage ran with and what it produced.

We never write ``dvc.lock`` (DVC owns it and rejects keys it does not know). This module parses
it, at any revision, into plain frozen records, and locates an output's bytes in the local DVC
cache by its recorded hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlratchet.errors import BadInputError, IntegrityError

LOCK_FILE = "dvc.lock"


@dataclass(frozen=True)
class Entry:
    """A dependency or output as ``dvc.lock`` records it."""

    path: str
    md5: str | None  # None for an entry recorded without a hash (e.g. a non-cached url)
    size: int | None
    nfiles: int | None
    hash_name: str  # "md5" (DVC 3) or "md5-dos2unix" (DVC 2 locks, no `hash:` key)

    @property
    def is_dir(self) -> bool:
        """Whether the entry is a directory (its hash ends in ``.dir``)."""
        return bool(self.md5 and self.md5.endswith(".dir"))


@dataclass(frozen=True)
class StageLock:
    """One stage of ``dvc.lock``."""

    name: str
    cmd: str
    deps: tuple[Entry, ...]
    params: dict[str, dict[str, Any]]  # params file -> key -> value
    outs: tuple[Entry, ...]


def _entry(raw: dict[str, Any], source: str, stage: str, kind: str) -> Entry:
    if not isinstance(raw, dict) or "path" not in raw:
        raise BadInputError(f"{source}: stage {stage!r} has an entry without a path")
    md5 = raw.get("md5")
    if md5 is not None and not isinstance(md5, str):
        # YAML reads an all-digit hash, or a hand edit, as a number: DVC crashes on it.
        raise IntegrityError(
            f"{source}: stage '{stage}': {kind} {raw['path']}: field md5 is "
            f"{md5!r} ({type(md5).__name__}), not a hash string; dvc.lock was edited or "
            "corrupted: restore it (`git checkout dvc.lock`) or delete that stage entry and rerun"
        )
    return Entry(
        path=str(raw["path"]),
        md5=str(md5) if md5 is not None else None,
        size=raw.get("size"),
        nfiles=raw.get("nfiles"),
        hash_name=str(raw.get("hash", "md5-dos2unix")),
    )


def parse_lock(text: str | bytes, source: str = LOCK_FILE) -> dict[str, StageLock]:
    """Parse ``dvc.lock`` text into stage name -> :class:`StageLock`.

    Unreadable YAML or a wrong shape is :class:`BadInputError`; an ``md5`` that is not a
    string (a number, a list) is :class:`IntegrityError`, naming the stage and the entry.
    """
    from mlratchet.yamlio import parse_yaml

    if isinstance(text, bytes):
        text = text.decode("utf-8")
    data = parse_yaml(text, source) or {}
    if not isinstance(data, dict) or not isinstance(data.get("stages", {}), dict):
        raise BadInputError(f"{source}: not a dvc.lock file (no `stages` mapping)")
    stages = {}
    for name, raw in data.get("stages", {}).items():
        if not isinstance(raw, dict):
            raise BadInputError(f"{source}: stage {name!r} is not a mapping")
        stages[name] = StageLock(
            name=name,
            cmd=str(raw.get("cmd", "")),
            deps=tuple(_entry(d, source, name, "dep") for d in raw.get("deps", []) or []),
            params={str(k): dict(v or {}) for k, v in (raw.get("params") or {}).items()},
            outs=tuple(_entry(o, source, name, "out") for o in raw.get("outs", []) or []),
        )
    return stages


def load_lock(repo: Path | str, rev: str | None = None) -> dict[str, StageLock]:
    """``dvc.lock`` of the work tree (``rev=None``) or of a committed revision."""
    if rev is None:
        path = Path(repo) / LOCK_FILE
        if not path.is_file():
            raise BadInputError(f"{path}: no such file; run the pipeline first (dvc repro)")
        return parse_lock(path.read_bytes(), str(LOCK_FILE))
    from mlratchet.gitio import read_blob

    data = read_blob(repo, rev, LOCK_FILE)
    if data is None:
        raise BadInputError(f"{LOCK_FILE} does not exist at {rev}")
    return parse_lock(data, f"{LOCK_FILE} at {rev}")


def outputs(stages: dict[str, StageLock]) -> dict[str, Entry]:
    """Every output of every stage, by path."""
    return {out.path: out for stage in stages.values() for out in stage.outs}


def cache_dir(repo: Path | str) -> Path:
    """The repository's DVC cache directory (``core`` config ``cache.dir`` is honoured)."""
    import configparser

    root = Path(repo)
    for name in ("config.local", "config"):
        config_path = root / ".dvc" / name
        if config_path.is_file():
            parser = configparser.ConfigParser()
            parser.read(config_path, encoding="utf-8")
            if parser.has_option("cache", "dir"):
                configured = Path(parser.get("cache", "dir"))
                return configured if configured.is_absolute() else (config_path.parent / configured)
    return root / ".dvc" / "cache"


def cache_path(repo: Path | str, entry: Entry) -> Path:
    """Where the local DVC cache keeps the object for ``entry`` (it may not be there)."""
    if not entry.md5:
        raise BadInputError(f"{entry.path}: dvc.lock records no hash for it")
    return object_path(cache_dir(repo), entry.md5, entry.hash_name)


def object_path(cache: Path, digest: str, hash_name: str = "md5") -> Path:
    """Where the DVC cache directory ``cache`` keeps the object ``digest`` (DVC 3 objects live
    under ``files/md5``, DVC 2 objects, ``md5-dos2unix``, at the top)."""
    base = cache / "files" / "md5" if hash_name == "md5" else cache
    return base / digest[:2] / digest[2:]


def raw_stages(data: bytes | None, source: str = LOCK_FILE) -> dict[str, Any]:
    """The raw stage entries of a ``dvc.lock`` (stage -> its parsed YAML), ``{}`` when the
    file is absent or unreadable: what compute records are matched against, entry by entry."""
    from mlratchet.errors import BadInputError
    from mlratchet.yamlio import parse_yaml

    if data is None:
        return {}
    try:
        parsed = parse_yaml(data.decode("utf-8"), source) or {}
    except (BadInputError, UnicodeDecodeError):
        return {}
    stages = parsed.get("stages") if isinstance(parsed, dict) else None
    return stages if isinstance(stages, dict) else {}
