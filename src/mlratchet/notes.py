"""Records attached to commits in git notes, under ``refs/notes/mlratchet``.

What mlratchet learns about a commit but must not write into the commit itself (compute cost of
each stage, the verify verdict, ...) goes into one JSON object per commit in a git note. Notes
travel with ``git push origin refs/notes/mlratchet`` and ``git fetch origin
refs/notes/mlratchet:refs/notes/mlratchet``, and never change the commit's hash.

Each top-level key belongs to one writer (``repro``, ``verify``, ...); :func:`update` replaces one
key and keeps the others.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlratchet.errors import ConflictError, IntegrityError
from mlratchet.gitio import GitError, run

NOTES_REF = "refs/notes/mlratchet"


def read(repo: Path | str, commit: str) -> dict[str, Any]:
    """The JSON record attached to ``commit`` ({} when there is none)."""
    proc = run(repo, "notes", "--ref", NOTES_REF, "show", commit, check=False)
    if proc.returncode != 0:
        return {}
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise IntegrityError(f"git note {NOTES_REF} on {commit[:12]} is not JSON") from None
    if not isinstance(data, dict):
        raise IntegrityError(f"git note {NOTES_REF} on {commit[:12]} is not a JSON object")
    return data


def update(repo: Path | str, commit: str, key: str, value: Any) -> dict[str, Any]:
    """Set ``key`` in the note on ``commit`` (other keys kept); return the whole record."""
    record = read(repo, commit)
    record[key] = value
    text = json.dumps(record, indent=2, sort_keys=True, allow_nan=False) + "\n"
    try:
        run(
            repo,
            "notes",
            "--ref",
            NOTES_REF,
            "add",
            "--force",
            "--file=-",
            commit,
            input=text.encode("utf-8"),
        )
    except GitError as exc:
        if "lock" in str(exc):
            raise ConflictError(f"{NOTES_REF} is being updated by another process; retry") from None
        raise
    return record
