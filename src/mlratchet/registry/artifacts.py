"""The artifacts a project declares: the ``artifacts:`` section of ``dvc.yaml``.

DVC and GTO name a model by its entry there (``flight-delay: {path: models/model.skops, type:
model}``). The registry reads it at the revision being registered, so a version's path is the
one that revision declared, and finds the output's hash in that revision's ``dvc.lock``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from mlratchet.dvclock import Entry, load_lock, outputs
from mlratchet.errors import BadInputError
from mlratchet.gitio import read_blob

DVC_YAML = "dvc.yaml"


@dataclass(frozen=True)
class DeclaredArtifact:
    """One entry of ``artifacts:`` in ``dvc.yaml``."""

    name: str
    path: str
    type: str | None
    desc: str | None


def parse_artifacts(data: object, source: str) -> dict[str, DeclaredArtifact]:
    """The ``artifacts:`` section of parsed ``dvc.yaml`` data ({} if there is none)."""
    section = data.get("artifacts") if isinstance(data, dict) else None
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise BadInputError(f"{source}: artifacts must be a mapping of name -> {{path: ...}}")
    found = {}
    for name, entry in section.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise BadInputError(f"{source}: artifacts.{name}: needs a `path`")
        found[str(name)] = DeclaredArtifact(
            name=str(name),
            path=entry["path"],
            type=entry.get("type") if isinstance(entry.get("type"), str) else None,
            desc=entry.get("desc") if isinstance(entry.get("desc"), str) else None,
        )
    return found


def declared_artifacts(repo: Path | str, rev: str | None = None) -> dict[str, DeclaredArtifact]:
    """The artifacts ``dvc.yaml`` declares in the work tree (``rev=None``) or at ``rev``."""
    from mlratchet.yamlio import parse_yaml

    if rev is None:
        path = Path(repo) / DVC_YAML
        if not path.is_file():
            return {}
        return parse_artifacts(parse_yaml(path.read_text(encoding="utf-8"), DVC_YAML), DVC_YAML)
    data = read_blob(repo, rev, DVC_YAML)
    if data is None:
        return {}
    source = f"{DVC_YAML} at {rev[:12]}"
    return parse_artifacts(parse_yaml(data.decode("utf-8"), source), source)


def declared_artifact(repo: Path | str, name: str, rev: str) -> DeclaredArtifact:
    """Artifact ``name`` as ``dvc.yaml`` declares it at ``rev``; bad input if it does not."""
    found = declared_artifacts(repo, rev)
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise BadInputError(
            f"{DVC_YAML} at {rev[:12]} declares no artifact {name!r} (declared: {known}); "
            "add it under `artifacts:`"
        )
    return found[name]


def artifact_entry(repo: Path | str, artifact: DeclaredArtifact, rev: str) -> Entry:
    """The ``dvc.lock`` record of the artifact's path at ``rev`` (its md5 and size)."""
    wanted = PurePosixPath(artifact.path).as_posix().removeprefix("./")
    outs = outputs(load_lock(repo, rev))
    entry = outs.get(wanted)
    if entry is None or entry.md5 is None:
        raise BadInputError(
            f"{artifact.name}: {wanted} is not a pipeline output with a hash in dvc.lock at "
            f"{rev[:12]}; the registry pins a model by the hash dvc.lock records (dvc repro, "
            "then commit dvc.lock)"
        )
    return entry
