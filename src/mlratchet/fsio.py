"""Atomic, deterministic file output.

Every file mlratchet writes goes to a temporary file in the same directory and is renamed into
place, so a crash or Ctrl-C never leaves a half-written output behind. JSON is written with
sorted keys, no NaN/Infinity tokens and a trailing newline, so the same data gives the same bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        tmp.chmod(0o644)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path | str, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"))


def dumps_json(data: Any) -> str:
    """Canonical JSON: sorted keys, two-space indent, strict (NaN and Infinity are errors)."""
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False, ensure_ascii=False) + "\n"


def write_json(path: Path | str, data: Any) -> None:
    """Write ``data`` as canonical JSON, atomically."""
    write_text(path, dumps_json(data))


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    """The hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def md5_file(path: Path | str, chunk: int = 1 << 20) -> str:
    """The hex md5 of a file's bytes: what DVC records in dvc.lock for a file output."""
    digest = hashlib.md5()  # noqa: S324 - DVC's content address, not a security hash
    with Path(path).open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def lock_within(fd: int, seconds: float, *, poll: float = 0.02) -> bool:
    """Take an exclusive ``flock`` on ``fd``, retrying for up to ``seconds``; False when
    another process still holds it then (the caller says who and what to do)."""
    import fcntl
    import time

    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(poll)
