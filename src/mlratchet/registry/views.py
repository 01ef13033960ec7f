"""What ``ratchet registry show`` and ``ratchet registry history`` report (JSON contracts).

``show`` without a name: every artifact (in the registry or declared in ``dvc.yaml``), its
latest version and the version in each stage. With an artifact name: its versions. With a
registry reference (``NAME@vX.Y.Z``, ``NAME#STAGE``): that version, its events and the model
cards of its promotions. ``history``: every event, oldest first.

Each artifact carries ``inconsistent``: the stages whose version the audit's blocking findings
make unreliable (a moved, re-dated or future-dated assignment...), each with those findings.
The CLI marks them and exits 3; ``show NAME#STAGE`` of such a stage is refused (exit 3).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypedDict

from mlratchet.dvcroot import find_root
from mlratchet.errors import BadInputError
from mlratchet.registry.audit import AuditReport, FindingJSON, audit_tags, stage_findings
from mlratchet.registry.state import (
    ArtifactState,
    Event,
    RegistryState,
    VersionState,
    find_shortcut,
    load_state,
    parse_shortcut,
)
from mlratchet.registry.tags import FULLNAME_RE

if TYPE_CHECKING:
    from mlratchet.registry.card import ModelCard


class VersionRef(TypedDict):
    """A version and its commit."""

    version: str
    commit: str


class StageRef(TypedDict):
    """The version in a stage and the assignment that put it there."""

    version: str
    commit: str
    tag: str
    since: str


class ArtifactSummary(TypedDict):
    """One artifact in ``registry show``."""

    name: str
    declared: bool  # in dvc.yaml's artifacts
    registered: bool  # has registry tags
    deprecated: bool
    latest: VersionRef | None
    stages: dict[str, StageRef | None]
    inconsistent: dict[str, list[FindingJSON]]  # stage -> the findings that make it unreliable


class VersionSummary(TypedDict):
    """One version of an artifact."""

    version: str
    commit: str
    registered: bool
    active: bool
    registered_at: str | None
    stages: list[str]  # the stages it is the version in
    holds: list[str]  # the stages it holds (assigned and not unassigned)


class EventJSON(TypedDict):
    """One registry event (one tag)."""

    timestamp: str
    artifact: str
    event: str
    version: str | None
    stage: str | None
    commit: str
    author: str
    author_email: str
    message: str | None
    tag: str
    counter: int | None
    card: bool  # whether the tag carries a model card


class RegistryView(TypedDict):
    """``ratchet registry show``."""

    kind: Literal["registry"]
    artifacts: list[ArtifactSummary]


class ArtifactView(TypedDict):
    """``ratchet registry show NAME``."""

    kind: Literal["artifact"]
    artifact: ArtifactSummary
    versions: list[VersionSummary]


class VersionView(TypedDict):
    """``ratchet registry show NAME@vX.Y.Z`` (or ``NAME#STAGE``)."""

    kind: Literal["version"]
    artifact: str
    version: VersionSummary
    inconsistent: dict[str, list[FindingJSON]]  # of the stages it is in or holds
    events: list[EventJSON]
    cards: list[ModelCard]  # newest promotion first


class HistoryView(TypedDict):
    """``ratchet registry history``."""

    events: list[EventJSON]


def _declared(root: Path) -> tuple[list[str], dict[str, list[str]]]:
    """Artifacts declared in dvc.yaml, and each one's stages in the committed policy's order.

    Kept in the index (:mod:`mlratchet.index`) by a digest of the two files' bytes: parsing
    their YAML costs more than the rest of ``registry show``.
    """
    import hashlib

    from mlratchet import index

    digest = hashlib.sha256(b"declared 1")
    for name in ("dvc.yaml", "ratchet.yaml"):
        try:
            data = (root / name).read_bytes()
        except FileNotFoundError:
            data = b"absent"
        except OSError:  # unreadable, a directory...: the parse below says what is wrong
            return _parse_declared(root)
        digest.update(hashlib.sha256(data).digest())
    key = digest.hexdigest()
    directory = index.index_dir(root)
    cached = index.load_newest(directory, "registry-declared")
    if cached is not None and cached.get("key") == key:
        names, stages = cached.get("names"), cached.get("stages")
        if isinstance(names, list) and isinstance(stages, dict):
            return names, stages
    names, stages = _parse_declared(root)
    payload = {"key": key, "names": names, "stages": stages}
    index.save(directory, "registry-declared", payload, lambda segments: segments[-1])
    return names, stages


def _parse_declared(root: Path) -> tuple[list[str], dict[str, list[str]]]:
    from mlratchet.policy import policy_at
    from mlratchet.registry.artifacts import declared_artifacts

    names = list(declared_artifacts(root))
    policy, _source = policy_at(root, None)
    stages = {name: [s.name for s in p.stages] for name, p in policy.registry.items()}
    return names, stages


def _stage_ref(artifact: ArtifactState, stage: str) -> StageRef | None:
    version = artifact.stages.get(stage)
    event = artifact.stage_events.get(stage)
    if version is None or event is None:
        return None
    return {
        "version": version.version,
        "commit": version.commit,
        "tag": event.tag,
        "since": event.timestamp,
    }


def _inconsistent(
    report: AuditReport, name: str, stages: list[str]
) -> dict[str, list[FindingJSON]]:
    """The stages (those listed, and those the findings name) the audit finds unreliable."""
    named = [s for f in report.findings if f.artifact == name for s in f.stages() or ()]
    found = {}
    for stage in sorted({*stages, *named}):
        findings = stage_findings(report, name, stage)
        if findings:
            found[stage] = [f.to_json() for f in findings]
    return found


def _summary(
    name: str,
    artifact: ArtifactState | None,
    declared: bool,
    stage_order: list[str],
    report: AuditReport,
) -> ArtifactSummary:
    stages = list(stage_order)
    if artifact is not None:
        stages += [s for s in artifact.stages if s not in stages]
    latest = artifact.latest if artifact else None
    return {
        "name": name,
        "declared": declared,
        "registered": artifact is not None,
        "deprecated": bool(artifact and artifact.deprecated),
        "latest": {"version": latest.version, "commit": latest.commit} if latest else None,
        "stages": {s: _stage_ref(artifact, s) if artifact else None for s in stages},
        "inconsistent": _inconsistent(report, name, stages),
    }


def _version_summary(artifact: ArtifactState, version: VersionState) -> VersionSummary:
    return {
        "version": version.version,
        "commit": version.commit,
        "registered": version.registered,
        "active": version.active,
        "registered_at": version.registration.timestamp if version.registration else None,
        "stages": [s for s, v in artifact.stages.items() if v is version],
        "holds": version.holding(),
    }


def event_json(event: Event) -> EventJSON:
    """An event as JSON; the message without the model card."""
    from mlratchet.registry.card import split_message

    message, card = split_message(event.message) if event.message is not None else (None, None)
    return {
        "timestamp": event.timestamp,
        "artifact": event.artifact,
        "event": event.event,
        "version": event.version,
        "stage": event.stage,
        "commit": event.commit,
        "author": event.author,
        "author_email": event.author_email,
        "message": message,
        "tag": event.tag,
        "counter": event.counter,
        "card": card is not None,
    }


def _overview(root: Path, state: RegistryState) -> RegistryView:
    declared, stage_order = _declared(root)
    names = sorted(set(state.artifacts) | set(declared))
    report = audit_tags(state, declared)
    return {
        "kind": "registry",
        "artifacts": [
            _summary(n, state.artifact(n), n in declared, stage_order.get(n, []), report)
            for n in names
        ],
    }


def show(repo: Path | str, ref: str | None = None) -> RegistryView | ArtifactView | VersionView:
    """The registry, one artifact, or one version (with its model cards)."""
    root = find_root(repo).path  # the DVC root: dvc.yaml and ratchet.yaml live there
    if ref is None:
        return _overview(root, load_state(root))
    shortcut = parse_shortcut(ref)
    if shortcut is None:
        if not FULLNAME_RE.search(ref):
            raise BadInputError(
                f"{ref!r} is neither an artifact name nor a registry reference "
                "(NAME, NAME@vX.Y.Z, NAME#STAGE)"
            )
        state = load_state(root)
        declared, stage_order = _declared(root)
        artifact = state.artifact(ref)
        if artifact is None and ref not in declared:
            raise BadInputError(f"{ref}: no such artifact in the registry or in dvc.yaml")
        versions = [_version_summary(artifact, v) for v in artifact.versions] if artifact else []
        report = audit_tags(state, declared)
        return {
            "kind": "artifact",
            "artifact": _summary(ref, artifact, ref in declared, stage_order.get(ref, []), report),
            "versions": versions,
        }
    state = load_state(root, messages=True)
    version = find_shortcut(state, shortcut)  # an inconsistent NAME#STAGE: exit 3 here
    artifact = state.artifacts[shortcut.artifact]
    cards = []
    for event in reversed(version.events):
        if event.event == "assignment" and event.message is not None:
            from mlratchet.registry.card import split_message

            _, card = split_message(event.message)
            if card is not None:
                cards.append(card)
    summary = _version_summary(artifact, version)
    own = [*summary["stages"], *summary["holds"]]
    inconsistent = _inconsistent(audit_tags(state), artifact.name, own)
    return {
        "kind": "version",
        "artifact": artifact.name,
        "version": summary,
        "inconsistent": {s: f for s, f in inconsistent.items() if s in own},
        "events": [event_json(e) for e in version.events],
        "cards": cards,
    }


def history(repo: Path | str, name: str | None = None) -> HistoryView:
    """Every registry event (of one artifact, if named), oldest first."""
    root = find_root(repo).path  # the DVC root: dvc.yaml and ratchet.yaml live there
    state = load_state(root, messages=True)
    if name is not None and state.artifact(name) is None:
        raise BadInputError(f"{name}: no such artifact in the registry")
    artifacts = [state.artifacts[name]] if name else list(state.artifacts.values())
    events = sorted((e for a in artifacts for e in a.events), key=Event.sort_key)
    return {"events": [event_json(e) for e in events]}
