"""Continuous delivery: the model a registry reference names, checked, then handed over.

``get(repo, "flight-delay#production", out)`` finds the version in the stage (or a registered
version), reads the model's md5 from that commit's ``dvc.lock`` and, for a stage, from the model
card the promotion stored in its tag; the two must agree. The bytes come from the local DVC cache,
or are fetched from the DVC remote (credentials from the environment), then re-hashed: only bytes
that match the registry's record are written, atomically. Anything else is exit 3 and no file.

This is what ``dvc artifacts get . NAME --stage STAGE`` does, plus the checks it leaves out (it
trusts the remote's bytes and knows nothing of the promotion's record). A stage whose tags the
audit finds inconsistent (a moved or future-dated assignment) is refused before anything is read
(exit 3): see :func:`mlratchet.registry.audit.check_stage`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlratchet.errors import BadInputError, IntegrityError
from mlratchet.fsio import atomic_path, md5_file

if TYPE_CHECKING:
    from mlratchet.registry.state import RegistryState


@dataclass(frozen=True)
class Delivered:
    """The model handed over: which version, where it came from, where it went."""

    artifact: str
    version: str
    stage: str | None
    commit: str
    md5: str
    source: str  # "cache" (already local) or "remote" (fetched now)
    out: Path
    card_checked: bool  # a stage's promotion card recorded the same md5


def _card_md5(state: RegistryState, artifact: str, stage: str) -> str | None:
    """The model md5 the promotion to ``stage`` recorded in its tag's model card, if any."""
    from mlratchet.registry.card import split_message

    event = state.artifacts[artifact].stage_events.get(stage)
    if event is None or not event.message:
        return None
    _headline, card = split_message(event.message)
    return None if card is None else str(card.get("model_md5") or "") or None


def _fetch(repo: Path, path: str, commit: str, remote: str | None, cached: Path) -> str | None:
    """Fetch ``path`` at ``commit`` into the cache; None, or why the remote was unreachable
    when ``cached`` is still missing (what is missing is told by the caller)."""
    import contextlib

    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    from mlratchet.integrity import unreachable_remote

    with Repo(str(repo)) as dvc_repo:
        with contextlib.suppress(DvcException):
            dvc_repo.fetch(targets=[path], revs=[commit], remote=remote, workspace=False)
        return None if cached.is_file() else unreachable_remote(dvc_repo, remote)


def get(
    repo: Path | str, reference: str, out: Path | None = None, *, remote: str | None = None
) -> Delivered:
    """Fetch, verify and write the model ``reference`` (``NAME#STAGE`` or ``NAME@vX.Y.Z``)."""
    from mlratchet.dvclock import cache_path
    from mlratchet.dvcroot import find_root
    from mlratchet.registry.artifacts import artifact_entry, declared_artifact
    from mlratchet.registry.state import find_shortcut, load_state, parse_shortcut

    root = find_root(repo).path  # the DVC root, which may be below the git top
    shortcut = parse_shortcut(reference)
    if shortcut is None:
        raise BadInputError(f"{reference!r} is not a registry reference (NAME#STAGE, NAME@vX.Y.Z)")
    state = load_state(root, messages=True)
    version = find_shortcut(state, shortcut)
    declared = declared_artifact(root, shortcut.artifact, version.commit)
    entry = artifact_entry(root, declared, version.commit)
    if entry.is_dir or entry.md5 is None:
        raise BadInputError(f"{reference}: {declared.path} is a directory; use dvc artifacts get")
    recorded = _card_md5(state, shortcut.artifact, shortcut.stage) if shortcut.stage else None
    if recorded is not None and recorded != entry.md5:
        raise IntegrityError(
            f"{reference}: the promotion's model card records md5 {recorded} but dvc.lock at "
            f"{version.commit[:12]} records {entry.md5}; the registry is inconsistent"
        )
    cached = cache_path(root, entry)
    source = "cache"
    if not cached.is_file():
        problem = _fetch(root, declared.path, version.commit, remote, cached)
        source = "remote"
        if not cached.is_file() and problem is not None:
            raise BadInputError(
                f"{reference}: {declared.path} ({entry.md5}) is not in the local DVC cache, "
                f"and {problem}"
            )
        if not cached.is_file():
            raise BadInputError(
                f"{reference}: {declared.path} ({entry.md5}) is neither in the local DVC cache "
                "nor on the DVC remote; push it from where it was trained (dvc push)"
            )
    actual = md5_file(cached)
    if actual != entry.md5:
        raise IntegrityError(
            f"{reference}: {declared.path} from the DVC {source} hashes to {actual}, but the "
            f"registry's record (dvc.lock at {version.commit[:12]}) is {entry.md5}; not written"
        )
    target = out if out is not None else Path(Path(declared.path).name)
    with atomic_path(target) as tmp:
        shutil.copyfile(cached, tmp)
    return Delivered(
        artifact=shortcut.artifact,
        version=version.version,
        stage=shortcut.stage,
        commit=version.commit,
        md5=entry.md5,
        source=source,
        out=target,
        card_checked=recorded is not None,
    )
