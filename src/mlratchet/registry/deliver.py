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

:func:`verify` is all of that but the writing: the one home of "the model this reference names,
proven", used by ``registry get`` and by ``ratchet serve`` (which also takes a git revision).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlratchet.errors import BadInputError, IntegrityError
from mlratchet.fsio import atomic_path, md5_file

if TYPE_CHECKING:
    from mlratchet.registry.card import ModelCard
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


def _fetch(repo: Path, path: str, commit: str, remote: str | None, cached: Path) -> str | None:
    """Fetch ``path`` at ``commit`` into the cache; None, or why the remote was unreachable
    when ``cached`` is still missing (what is missing is told by the caller)."""
    import contextlib

    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    from mlratchet.integrity import unreachable_remote
    from mlratchet.reproduce.sandbox import user_dvc_config

    # The remotes as the work tree's config has them, local paths made absolute: fetching at
    # another revision, DVC would resolve a relative remote path (``url = ../remote``) inside
    # that revision's git tree, where it names nothing, and report the model missing.
    remotes = {"remote": user_dvc_config(repo).get("remote") or {}}
    with Repo(str(repo), config=remotes) as dvc_repo:
        with contextlib.suppress(DvcException):
            dvc_repo.fetch(targets=[path], revs=[commit], remote=remote, workspace=False)
        return None if cached.is_file() else unreachable_remote(dvc_repo, remote)


@dataclass(frozen=True)
class Verified:
    """A model's bytes, found in the DVC cache and re-hashed against the registry's record."""

    artifact: str
    version: str  # vX.Y.Z, or the commit for a revision that is no registered version
    stage: str | None
    commit: str
    path: str  # the artifact's path in dvc.yaml at that commit
    md5: str
    source: str  # "cache" (already local) or "remote" (fetched now)
    cached: Path  # the verified bytes, in the DVC cache
    card_checked: bool  # a stage's promotion card recorded the same md5
    card: ModelCard | None  # the promotion's model card, for a stage that has one


def _card(state: RegistryState, artifact: str, stage: str) -> ModelCard | None:
    """The model card the promotion to ``stage`` stored in its tag, if any."""
    from mlratchet.registry.card import split_message

    event = state.artifacts[artifact].stage_events.get(stage)
    if event is None or not event.message:
        return None
    return split_message(event.message)[1]


def _only_model(root: Path, commit: str) -> str:
    """The one model artifact ``dvc.yaml`` declares at ``commit`` (bad input otherwise)."""
    from mlratchet.registry.artifacts import declared_artifacts

    models = sorted(n for n, a in declared_artifacts(root, commit).items() if a.type == "model")
    if len(models) != 1:
        raise BadInputError(
            f"dvc.yaml at {commit[:12]} declares {len(models)} model artifacts "
            f"({', '.join(models) or 'none'}); name one as NAME#STAGE or NAME@vX.Y.Z"
        )
    return models[0]


def verify(
    repo: Path | str, reference: str, *, remote: str | None = None, revisions: bool = False
) -> Verified:
    """Find and re-hash the model ``reference`` names (``NAME#STAGE`` or ``NAME@vX.Y.Z``).

    ``revisions``: also accept a git revision (the one model artifact ``dvc.yaml`` declares
    there, checked against that commit's ``dvc.lock``). Nothing is written.
    """
    from mlratchet.dvclock import cache_path
    from mlratchet.dvcroot import find_root
    from mlratchet.registry.artifacts import artifact_entry, declared_artifact
    from mlratchet.registry.state import find_shortcut, load_state, parse_shortcut

    root = find_root(repo).path  # the DVC root, which may be below the git top
    shortcut = parse_shortcut(reference)
    card: ModelCard | None = None
    stage: str | None = None
    if shortcut is not None:
        state = load_state(root, messages=True)
        version = find_shortcut(state, shortcut)
        name, label, commit = shortcut.artifact, version.version, version.commit
        stage = shortcut.stage
        card = _card(state, name, stage) if stage else None
    elif revisions:
        from mlratchet.gitio import rev_parse

        commit = rev_parse(root, reference)
        name = _only_model(root, commit)
        label = commit
        registered = load_state(root).artifact(name)
        found = registered.at_commit(commit) if registered else None
        if found is not None:
            label = found.version
    else:
        raise BadInputError(f"{reference!r} is not a registry reference (NAME#STAGE, NAME@vX.Y.Z)")
    declared = declared_artifact(root, name, commit)
    entry = artifact_entry(root, declared, commit)
    if entry.is_dir or entry.md5 is None:
        raise BadInputError(f"{reference}: {declared.path} is a directory; use dvc artifacts get")
    recorded = str(card.get("model_md5") or "") or None if card is not None else None
    if recorded is not None and recorded != entry.md5:
        raise IntegrityError(
            f"{reference}: the promotion's model card records md5 {recorded} but dvc.lock at "
            f"{commit[:12]} records {entry.md5}; the registry is inconsistent"
        )
    cached = cache_path(root, entry)
    source = "cache"
    if not cached.is_file():
        problem = _fetch(root, declared.path, commit, remote, cached)
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
            f"registry's record (dvc.lock at {commit[:12]}) is {entry.md5}; refused"
        )
    return Verified(
        artifact=name,
        version=label,
        stage=stage,
        commit=commit,
        path=declared.path,
        md5=entry.md5,
        source=source,
        cached=cached,
        card_checked=recorded is not None,
        card=card,
    )


def get(
    repo: Path | str, reference: str, out: Path | None = None, *, remote: str | None = None
) -> Delivered:
    """Fetch, verify and write the model ``reference`` (``NAME#STAGE`` or ``NAME@vX.Y.Z``)."""
    found = verify(repo, reference, remote=remote)
    target = out if out is not None else Path(Path(found.path).name)
    with atomic_path(target) as tmp:
        shutil.copyfile(found.cached, tmp)
    return Delivered(
        artifact=found.artifact,
        version=found.version,
        stage=found.stage,
        commit=found.commit,
        md5=found.md5,
        source=found.source,
        out=target,
        card_checked=found.card_checked,
    )
