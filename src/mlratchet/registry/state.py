"""The registry's state, read from ONE ``git for-each-ref`` call, decided as GTO decides it.

GTO (``gto show``, ``gto history``) builds its state from the annotated tags whose names parse
in its format (lightweight tags are skipped), applied in order of the tags' dates:

- a version is *active* if its newest registration/deregistration is a registration (or, for
  a commit assigned a stage without being registered, always); deregistered versions and their
  stages drop out;
- a version *holds* a stage if its newest assignment/unassignment of that stage is an
  assignment; the version *in* a stage is the active holder whose newest assignment is the most
  recent (``gto show``'s default: ``--sort timestamp``, one version per stage);
- the *latest* version is the greatest registered, active semantic version;
- an artifact is deprecated if a deprecation is its newest event.

Where GTO's answer depends on the order of tags that carry the same second (its sort is stable
over an unspecified listing order), we break the tie by the tag's counter, then its name; the
commands that write tags never create such a tie (see :mod:`mlratchet.registry.promote`) and
``ratchet registry audit`` reports the tags whose dates disagree with their counters.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass, field
from pathlib import Path

from mlratchet.errors import BadInputError
from mlratchet.gitio import run
from mlratchet.registry.tags import (
    PRIORITY,
    SHORTCUT_RE,
    TAGS_PREFIX,
    Action,
    ParsedTag,
    SemVer,
    parse_tag_name,
)

_FIELDS = (
    "refname",
    "objecttype",
    "objectname",
    "*objectname",
    "*objecttype",
    "tag",
    "taggername",
    "taggeremail",
    "taggerdate:raw",
    "*committerdate:unix",
)


@dataclass(frozen=True)
class TagRecord:
    """One tag under ``refs/tags/`` as ``git for-each-ref`` reports it."""

    name: str  # the ref name, without refs/tags/
    object: str  # what the ref points to
    object_type: str  # "tag" for an annotated tag, else the type of what it names
    target: str | None  # annotated: the object the tag object points to
    target_type: str | None
    tag_name: str | None  # annotated: the name written inside the tag object
    tagger_name: str
    tagger_email: str
    time: int | None  # annotated: the tagger date, epoch seconds
    offset: int  # the tagger's UTC offset, seconds
    target_time: int | None  # the committer date of the commit it points to
    message: str | None  # the full message (only when read with messages)
    parsed: ParsedTag | None  # what the ref name says, if it is GTO's format

    @property
    def annotated(self) -> bool:
        """Whether the ref names a tag object (GTO ignores lightweight tags)."""
        return self.object_type == "tag"

    @property
    def commit(self) -> str:
        """The object the tag finally names (the commit, for a well-formed tag)."""
        return self.target if self.annotated and self.target else self.object


def _parse_date(raw: str) -> tuple[int | None, int]:
    parts = raw.split()
    if len(parts) != 2:
        return None, 0
    try:
        seconds = int(parts[0])
    except ValueError:
        return None, 0
    tz = parts[1]
    sign = -1 if tz.startswith("-") else 1
    digits = tz.lstrip("+-")
    offset = sign * (int(digits[:2]) * 3600 + int(digits[2:4]) * 60) if len(digits) == 4 else 0
    return seconds, offset


def _annotated_field(value: str, annotated: bool) -> str | None:
    return value if annotated and value else None


def read_tags(repo: Path | str, *, messages: bool = False) -> tuple[TagRecord, ...]:
    """Every tag of the repository, in ref-name order, from one ``git for-each-ref``."""
    fields = [*_FIELDS, "contents"] if messages else list(_FIELDS)
    fmt = "".join(f"%({name})%00" for name in fields)
    proc = run(repo, "for-each-ref", f"--format={fmt}", TAGS_PREFIX)
    tokens = proc.stdout.decode("utf-8", errors="replace").split("\0")
    width = len(fields)
    records = []
    for start in range(0, len(tokens) - width + 1, width):
        row = tokens[start : start + width]
        refname = row[0].lstrip("\n")
        if not refname.startswith(TAGS_PREFIX):
            continue
        name = refname[len(TAGS_PREFIX) :]
        annotated = row[1] == "tag"
        time, offset = _parse_date(row[8]) if annotated else (None, 0)
        target_time = row[9].strip()
        email = row[7]
        if email.startswith("<") and email.endswith(">"):
            email = email[1:-1]
        records.append(
            TagRecord(
                name=name,
                object=row[2],
                object_type=row[1],
                target=_annotated_field(row[3], annotated),
                target_type=_annotated_field(row[4], annotated),
                tag_name=_annotated_field(row[5], annotated),
                tagger_name=row[6],
                tagger_email=email,
                time=time,
                offset=offset,
                target_time=int(target_time) if target_time.isdigit() else None,
                message=row[10] if messages and annotated else None,
                parsed=parse_tag_name(name),
            )
        )
    return tuple(records)


def iso_time(seconds: int, offset: int) -> str:
    """A tag date as GTO prints it: ISO 8601 in the tagger's own UTC offset."""
    tz = datetime.timezone(datetime.timedelta(seconds=offset))
    return datetime.datetime.fromtimestamp(seconds, tz).isoformat()


@dataclass(frozen=True)
class Event:
    """One registry event: a registration, an assignment... (one annotated tag)."""

    event: Action
    artifact: str
    version: str | None
    stage: str | None
    commit: str
    time: int
    offset: int
    author: str
    author_email: str
    message: str | None  # the tag message, stripped (None when read without messages)
    tag: str
    counter: int | None

    @property
    def priority(self) -> int:
        """GTO's order among events of the same second."""
        return PRIORITY[self.event]

    @property
    def timestamp(self) -> str:
        """The tag's date in ISO 8601, as GTO prints it."""
        return iso_time(self.time, self.offset)

    def sort_key(self) -> tuple[int, int, int, str]:
        """Chronological order: date, GTO's priority, then counter and name for ties."""
        return (self.time, self.priority, -1 if self.counter is None else self.counter, self.tag)


@dataclass(frozen=True)
class StageHold:
    """A version's standing in one stage (GTO's ``VStage``)."""

    stage: str
    active: bool  # the newest event is an assignment
    assigned: Event  # the newest assignment
    events: tuple[Event, ...]


@dataclass(frozen=True)
class VersionState:
    """One version of an artifact: a registered ``vX.Y.Z``, or a commit assigned unregistered."""

    artifact: str
    version: str  # vX.Y.Z, or the commit sha for an unregistered assignment
    commit: str
    registered: bool
    active: bool
    registration: Event | None  # the newest registration
    events: tuple[Event, ...]  # its own events and its stage events, chronological
    holds: dict[str, StageHold]

    def holding(self) -> list[str]:
        """The stages this version holds (active assignments), in order of assignment."""
        active = [h for h in self.holds.values() if h.active]
        return [h.stage for h in sorted(active, key=lambda h: h.assigned.sort_key())]


@dataclass(frozen=True)
class ArtifactState:
    """An artifact: its versions, the version in each stage, the latest version."""

    name: str
    versions: tuple[VersionState, ...]  # greatest semantic version first, then unregistered
    events: tuple[Event, ...]  # chronological
    stages: dict[str, VersionState]  # stage -> the version in it
    stage_events: dict[str, Event]  # stage -> the assignment that put it there
    latest: VersionState | None
    deprecated: bool

    def find(self, version: str) -> VersionState | None:
        """The version named ``version`` (registered or not), or None."""
        for candidate in self.versions:
            if candidate.version == version:
                return candidate
        return None

    def at_commit(self, commit: str) -> VersionState | None:
        """The registered version at ``commit`` (active ones first), or None."""
        found = [v for v in self.versions if v.commit == commit and v.registered]
        found.sort(key=lambda v: not v.active)
        return found[0] if found else None


@dataclass(frozen=True)
class RegistryState:
    """Every artifact in the registry, and the tags it was read from."""

    artifacts: dict[str, ArtifactState]
    tags: tuple[TagRecord, ...] = field(repr=False)

    def artifact(self, name: str) -> ArtifactState | None:
        """The artifact named ``name``, or None if no tag names it."""
        return self.artifacts.get(name)

    def artifact_tags(self, name: str) -> tuple[TagRecord, ...]:
        """Every tag whose ref name is GTO's format for ``name``, lightweight ones included."""
        return tuple(t for t in self.tags if t.parsed and t.parsed.artifact == name)

    def max_counter(self, name: str) -> int:
        """The largest ``#N`` counter among ``name``'s tags (0 if none), as ``gto`` counts."""
        counters = [t.parsed.counter for t in self.artifact_tags(name) if t.parsed]
        return max((c for c in counters if c is not None), default=0)

    def fingerprint(self, name: str) -> frozenset[tuple[str, str]]:
        """The (tag, object) pairs of ``name``: it changes whenever anyone tags the artifact."""
        return frozenset((t.name, t.object) for t in self.artifact_tags(name))


class _Version:
    """Mutable accumulator for one version while the state is built."""

    def __init__(self, version: str, commit: str, registered_key: bool) -> None:
        self.version = version
        self.commit = commit
        self.direct: list[Event] = []  # registrations and deregistrations
        self.stage_events: dict[str, list[Event]] = {}
        self.registered_key = registered_key


def _events_of(record: TagRecord) -> Event | None:
    """The event an annotated tag records, named by the name inside the tag object (as GTO)."""
    if not record.annotated or record.parsed is None or record.time is None:
        return None
    inner = parse_tag_name(record.tag_name or "")
    if inner is None or inner.action == "creation" or record.target is None:
        return None
    message = None
    if record.message is not None:
        message = record.message.strip()
    return Event(
        event=inner.action,
        artifact=inner.artifact,
        version=inner.version,
        stage=inner.stage,
        commit=record.target,
        time=record.time,
        offset=record.offset,
        author=record.tagger_name,
        author_email=record.tagger_email,
        message=message,
        tag=record.tag_name or record.name,
        counter=inner.counter,
    )


def _collect(events: list[Event]) -> tuple[dict[tuple[str, str], _Version], list[Event]]:
    """Versions from registrations, then stage events bound to the version at their commit."""
    versions: dict[tuple[str, str], _Version] = {}
    for event in events:
        if event.event in ("registration", "deregistration") and event.version:
            key = (event.version, event.commit)
            versions.setdefault(key, _Version(event.version, event.commit, True))
            versions[key].direct.append(event)
    registered: dict[str, list[_Version]] = {}  # commit -> its registered versions
    for version in versions.values():
        registered.setdefault(version.commit, []).append(version)
    for event in events:
        if event.event not in ("assignment", "unassignment") or not event.stage:
            continue
        at_commit = registered.get(event.commit, [])
        if at_commit:
            # GTO fails on a commit with two registered versions; we take the active, newest.
            target = max(at_commit, key=lambda v: _direct_active_key(v.direct))
        else:
            key = (event.commit, event.commit)
            target = versions.setdefault(key, _Version(event.commit, event.commit, False))
        bound = dataclasses.replace(event, version=target.version)
        target.stage_events.setdefault(event.stage, []).append(bound)
    deprecations = [e for e in events if e.event == "deprecation"]
    return versions, deprecations


def _freeze(name: str, acc: _Version) -> VersionState:
    direct = sorted(acc.direct, key=Event.sort_key)
    holds = {}
    for stage, stage_events in acc.stage_events.items():
        ordered = sorted(stage_events, key=Event.sort_key)
        assignments = [e for e in ordered if e.event == "assignment"]
        if assignments:
            holds[stage] = StageHold(
                stage=stage,
                active=ordered[-1].event == "assignment",
                assigned=assignments[-1],
                events=tuple(ordered),
            )
    # GTO: the newest registration/deregistration decides; unregistered: active if assigned
    active = direct[-1].event == "registration" if direct else bool(acc.stage_events)
    registrations = [e for e in direct if e.event == "registration"]
    assigned = [e for es in acc.stage_events.values() for e in es]
    return VersionState(
        artifact=name,
        version=acc.version,
        commit=acc.commit,
        registered=bool(registrations),
        active=active,
        registration=registrations[-1] if registrations else None,
        events=tuple(sorted([*direct, *assigned], key=Event.sort_key)),
        holds=holds,
    )


def _winners(
    versions: tuple[VersionState, ...],
) -> tuple[dict[str, VersionState], dict[str, Event]]:
    """Per stage, the active holder whose newest assignment is the most recent."""
    winners: dict[str, VersionState] = {}
    events: dict[str, Event] = {}
    for version in versions:
        if not version.active:
            continue
        for stage, hold in version.holds.items():
            best = events.get(stage)
            if hold.active and (best is None or hold.assigned.sort_key() > best.sort_key()):
                winners[stage] = version
                events[stage] = hold.assigned
    return dict(sorted(winners.items())), dict(sorted(events.items()))


def _build_artifact(name: str, events: list[Event], commit_times: dict[str, int]) -> ArtifactState:
    accumulated, deprecations = _collect(events)
    states = [_freeze(name, acc) for acc in accumulated.values()]
    semver = sorted(
        (v for v in states if SemVer.is_valid(v.version)),
        key=lambda v: SemVer.parse(v.version),
        reverse=True,
    )
    other = sorted((v for v in states if not SemVer.is_valid(v.version)), key=lambda v: v.version)
    versions = (*semver, *other)
    winners, winner_events = _winners(versions)
    all_events = sorted([*deprecations, *(e for v in states for e in v.events)], key=Event.sort_key)
    deprecated = False
    if deprecations:
        # GTO: deprecated if a deprecation is newer than every other event, commit dates included
        newest = max(e.time for e in deprecations)
        others = [e.time for e in all_events if e.event != "deprecation"]
        others += [commit_times[v.commit] for v in states if v.commit in commit_times]
        deprecated = all(newest > t for t in others)
    return ArtifactState(
        name=name,
        versions=versions,
        events=tuple(all_events),
        stages=winners,
        stage_events=winner_events,
        latest=next((v for v in semver if v.active and v.registered), None),
        deprecated=deprecated,
    )


def _direct_active_key(direct: list[Event]) -> tuple[bool, tuple[int, int, int, str]]:
    newest = max(direct, key=Event.sort_key)
    return (newest.event == "registration", newest.sort_key())


def build_state(tags: tuple[TagRecord, ...]) -> RegistryState:
    """The registry state the tags describe."""
    by_artifact: dict[str, list[Event]] = {}
    commit_times: dict[str, int] = {}
    for record in tags:
        event = _events_of(record)
        if event is None:
            continue
        by_artifact.setdefault(event.artifact, []).append(event)
        if record.target_time is not None and record.target:
            commit_times[record.target] = record.target_time
    artifacts = {
        name: _build_artifact(name, sorted(events, key=Event.sort_key), commit_times)
        for name, events in sorted(by_artifact.items())
    }
    return RegistryState(artifacts=artifacts, tags=tags)


#: Bump when what a listing becomes (this module's rules, its dataclasses) changes.
_CACHE_VERSION = 1


def load_state(repo: Path | str, *, messages: bool = False) -> RegistryState:
    """Read the registry of ``repo``.

    The state is kept in the index (:mod:`mlratchet.index`), keyed by a digest of every tag's
    name and object id (one cheap ``git for-each-ref``): a tag object's id fixes its name,
    tagger, date, message and target, so an unchanged listing means an unchanged state, and any
    tag added, moved or deleted means one ``git for-each-ref`` of every field and a new state.
    """
    import hashlib

    from mlratchet import index
    from mlratchet.gitio import spawn

    listing = spawn(repo, "for-each-ref", "--format=%(refname) %(objectname)", TAGS_PREFIX)
    directory = index.index_dir(repo)
    refs = listing.communicate()[0]
    if listing.returncode != 0:
        return build_state(read_tags(repo, messages=messages))  # git's error, from run()
    key = hashlib.sha256(refs).hexdigest()
    name = f"registry-state-{'messages' if messages else 'plain'}"
    cached = index.load_newest(directory, name)
    if cached is not None and cached.get("version") == _CACHE_VERSION and cached["key"] == key:
        try:
            state = index.unpack(cached["state"], _CLASSES)
            if isinstance(state, RegistryState):
                return state
        except (KeyError, TypeError, ValueError, IndexError):
            pass  # not what this program writes: built again below
    state = build_state(read_tags(repo, messages=messages))
    if refs == _names_and_ids(state.tags):  # no tag moved between the two listings
        payload = {"version": _CACHE_VERSION, "key": key, "state": index.pack(state)}
        index.save(directory, name, payload, lambda segments: segments[-1])
    return state


def _names_and_ids(tags: tuple[TagRecord, ...]) -> bytes:
    """The cheap listing (``%(refname) %(objectname)``) that ``tags`` were read from."""
    return "".join(f"{TAGS_PREFIX}{t.name} {t.object}\n" for t in tags).encode(
        "utf-8", "surrogateescape"
    )


@dataclass(frozen=True)
class Shortcut:
    """A registry reference: ``NAME#STAGE``, ``NAME@vX.Y.Z`` or ``NAME@latest``."""

    artifact: str
    stage: str | None
    version: str | None  # vX.Y.Z, or None with latest
    latest: bool

    def __str__(self) -> str:
        if self.stage:
            return f"{self.artifact}#{self.stage}"
        return f"{self.artifact}@{'latest' if self.latest else self.version}"


def parse_shortcut(text: str) -> Shortcut | None:
    """Parse a registry reference as GTO's ``parse_shortcut`` does, or None if it is not one."""
    match = SHORTCUT_RE.search(text)
    if not match or "\n" in text:
        return None
    version = match["version"]
    latest = version in ("latest", "greatest")
    return Shortcut(match["artifact"], match["stage"], None if latest else version, latest)


def find_shortcut(state: RegistryState, shortcut: Shortcut) -> VersionState:
    """The version a registry reference names; bad input (exit 2) saying why if none.

    A stage whose assignment history the audit finds inconsistent (a moved, re-dated or
    future-dated tag...) is refused: :class:`~mlratchet.registry.audit.StageInconsistentError`
    (exit 3), as ``ratchet registry audit`` and ``ratchet promote`` refuse it. Every command that
    resolves ``NAME#STAGE`` comes through here.
    """
    artifact = state.artifact(shortcut.artifact)
    if artifact is None:
        raise BadInputError(
            f"{shortcut}: no artifact {shortcut.artifact!r} in the registry "
            "(ratchet registry show lists them)"
        )
    if shortcut.stage:
        from mlratchet.registry.audit import check_stage  # audit builds on this module

        check_stage(state, artifact.name, shortcut.stage)
        found = artifact.stages.get(shortcut.stage)
        if found is None:
            raise BadInputError(
                f"{shortcut}: no version of {artifact.name} is in stage {shortcut.stage!r} "
                f"(ratchet registry show {artifact.name})"
            )
        return found
    if shortcut.latest:
        if artifact.latest is None:
            raise BadInputError(f"{shortcut}: {artifact.name} has no registered version")
        return artifact.latest
    found = artifact.find(shortcut.version or "")
    if found is None or not found.registered:
        raise BadInputError(
            f"{shortcut}: version {shortcut.version} of {artifact.name} is not registered "
            f"(ratchet registry show {artifact.name})"
        )
    return found


#: The classes a cached state is made of (see :func:`mlratchet.index.unpack`).
_CLASSES: dict[str, type] = {
    f"{cls.__module__}:{cls.__qualname__}": cls
    for cls in (
        RegistryState,
        ArtifactState,
        VersionState,
        StageHold,
        Event,
        TagRecord,
        ParsedTag,
    )
}
