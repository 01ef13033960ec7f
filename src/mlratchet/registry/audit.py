"""Registry audit: the tags that make the registry's answer unreliable or not what it seems.

GTO decides the version in a stage by tag dates, ignores lightweight tags (but counts their
``#N``), keeps reading a tag that was moved or re-dated, and reads the name written inside a
tag object rather than the ref's. The audit reports, per tag:

- ``lightweight``: a tag in GTO's format that is not annotated (GTO skips it);
- ``future-dated``: a tag dated after now (beyond a small clock skew);
- ``date-order``: a tag dated after a tag of the same artifact with a higher counter (a moved,
  re-created or back/forward-dated tag: the stage it assigns may not be what it seems);
- ``duplicate-counter``: two tags of one artifact with the same ``#N``;
- ``unknown-version``: an assignment to a commit where no version is registered;
- ``renamed``: an annotated tag whose inner name differs from its ref name;
- ``not-a-commit``: a registry tag pointing at something other than a commit;
- ``malformed``: a tag in an artifact's namespace (``NAME@...``, ``NAME#...``) that is not GTO's
  format, so GTO ignores it.

The :data:`BLOCKING` findings can change which version GTO says is in a stage. Everything that
resolves a stage applies them, through :func:`check_stage`: promotion, ``registry get``,
``registry show`` and the revision ``NAME#STAGE`` refuse a stage that a blocking finding
concerns (a stage named by one of the tags involved; a tag that is no stage assignment --
a registration, deregistration or deprecation -- concerns every stage). Where the audit cannot
tell which of two tags was moved (``date-order``, ``duplicate-counter``), it blames both.
"""

from __future__ import annotations

import math
import time as clock
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict

from mlratchet.errors import IntegrityError
from mlratchet.registry.state import RegistryState, TagRecord, iso_time, load_state
from mlratchet.registry.tags import artifact_in_tag, parse_tag_name

#: The findings that can change which version GTO says is in a stage: promotion refuses them.
BLOCKING: frozenset[str] = frozenset(
    {"future-dated", "date-order", "duplicate-counter", "renamed", "not-a-commit"}
)

#: How far in the future a tag may be dated before it counts as future-dated (clock skew).
FUTURE_SKEW_SECONDS = 300

Kind = Literal[
    "lightweight",
    "future-dated",
    "date-order",
    "duplicate-counter",
    "unknown-version",
    "renamed",
    "not-a-commit",
    "malformed",
]


class FindingJSON(TypedDict):
    """One finding as ``--json`` prints it."""

    kind: Kind
    tag: str
    artifact: str
    detail: str
    related: list[str]  # the other tags involved (the other side of an order, a duplicate...)


@dataclass(frozen=True)
class Finding:
    """A tag that makes the registry unreliable, and why."""

    kind: Kind
    tag: str
    artifact: str
    detail: str
    related: tuple[str, ...] = ()  # the other tags involved: either may be the culprit

    @property
    def blocking(self) -> bool:
        """Whether the finding can change which version GTO says is in a stage."""
        return self.kind in BLOCKING

    def stages(self) -> frozenset[str] | None:
        """The stages whose answer the finding makes unreliable; None: every stage."""
        stages: set[str] = set()
        for name in (self.tag, *self.related):
            parsed = parse_tag_name(name)
            if parsed is None or parsed.stage is None:
                return None  # a (de)registration or deprecation: which versions are active
            stages.add(parsed.stage)
        return frozenset(stages)

    def concerns(self, stage: str) -> bool:
        """Whether the finding can change which version is in ``stage``."""
        stages = self.stages()
        return self.blocking and (stages is None or stage in stages)

    def to_json(self) -> FindingJSON:
        """The finding as a JSON object."""
        return {
            "kind": self.kind,
            "tag": self.tag,
            "artifact": self.artifact,
            "detail": self.detail,
            "related": list(self.related),
        }


class AuditJSON(TypedDict):
    """The audit report's JSON contract."""

    ok: bool
    tags: int
    findings: list[FindingJSON]


@dataclass(frozen=True)
class AuditReport:
    """Every finding, and how many registry tags were examined."""

    tags: int
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """Whether nothing was found."""
        return not self.findings

    def to_json(self) -> AuditJSON:
        """The report as a JSON object."""
        return {
            "ok": self.ok,
            "tags": self.tags,
            "findings": [f.to_json() for f in self.findings],
        }


def _when(record: TagRecord) -> str:
    return iso_time(record.time, record.offset) if record.time is not None else "undated"


def _date_order(artifact: str, records: list[TagRecord]) -> Iterable[Finding]:
    dated = [
        (r.parsed.counter, r.time, r)
        for r in records
        if r.annotated and r.time is not None and r.parsed and r.parsed.counter is not None
    ]
    by_counter: dict[int, list[tuple[int, int, TagRecord]]] = {}
    for item in dated:
        by_counter.setdefault(item[0], []).append(item)
    # The earliest date among the tags of a higher counter: most tags have none earlier than
    # their own, and only those that do are compared with every other (linear, not quadratic).
    earliest_above: dict[int, float] = {}
    running = math.inf
    for counter in sorted({c for c, _t, _r in dated}, reverse=True):
        earliest_above[counter] = running
        running = min(running, *(t for c, t, _r in by_counter[counter]))
    for counter, time, record in dated:
        if earliest_above[counter] >= time:
            continue
        later = sorted((t, o.name, o) for c, t, o in dated if c > counter and t < time)
        if later:
            first = later[0][2]
            yield Finding(
                "date-order",
                record.name,
                artifact,
                f"counter {counter} but dated {_when(record)}, after {first.name} "
                f"(a higher counter, dated {_when(first)}); was it moved or re-dated?",
                tuple(name for _t, name, _o in later),
            )


def _tag_findings(record: TagRecord, artifact: str, now: float) -> Iterable[Finding]:
    """What is wrong with one tag in GTO's format, on its own."""
    if not record.annotated:
        yield Finding(
            "lightweight",
            record.name,
            artifact,
            "a lightweight tag: GTO skips it (yet counts its #N); registry tags must be annotated",
        )
        return
    if record.tag_name != record.name:
        yield Finding(
            "renamed",
            record.name,
            artifact,
            f"the tag object is named {record.tag_name!r}; GTO reads that name",
            (record.tag_name or "",),
        )
    if record.target_type != "commit":
        yield Finding(
            "not-a-commit", record.name, artifact, f"points to a {record.target_type}, not a commit"
        )
    if record.time is not None and record.time > now + FUTURE_SKEW_SECONDS:
        yield Finding(
            "future-dated",
            record.name,
            artifact,
            f"dated {_when(record)}, in the future: it would decide the stage until then",
        )


def _duplicates(artifact: str, records: list[TagRecord]) -> Iterable[Finding]:
    seen: dict[int, str] = {}
    for record in sorted(records, key=lambda r: r.name):
        counter = record.parsed.counter if record.parsed else None
        if counter is None:
            continue
        if counter in seen:
            yield Finding(
                "duplicate-counter",
                record.name,
                artifact,
                f"counter {counter} is also used by {seen[counter]}",
                (seen[counter],),
            )
        else:
            seen[counter] = record.name


def _unknown_versions(state: RegistryState) -> Iterable[Finding]:
    for artifact in state.artifacts.values():
        for version in artifact.versions:
            if version.registered:
                continue
            for event in version.events:
                if event.event == "assignment":
                    yield Finding(
                        "unknown-version",
                        event.tag,
                        artifact.name,
                        f"assigns {event.stage} to commit {event.commit[:12]}, where no "
                        "version is registered",
                    )


def audit_tags(
    state: RegistryState, declared: Iterable[str] = (), *, now: float | None = None
) -> AuditReport:
    """Audit the registry ``state``; ``declared`` adds artifact names whose namespace to check."""
    now = clock.time() if now is None else now
    names = set(state.artifacts) | set(declared)
    names |= {t.parsed.artifact for t in state.tags if t.parsed}
    prefixes = {artifact_in_tag(n) + sep: n for n in names for sep in ("@", "#")}
    findings: list[Finding] = []
    counted = 0
    by_artifact: dict[str, list[TagRecord]] = {}
    for record in state.tags:
        if record.parsed is None:
            owner = next((n for p, n in prefixes.items() if record.name.startswith(p)), None)
            if owner is not None:
                counted += 1
                findings.append(
                    Finding(
                        "malformed",
                        record.name,
                        owner,
                        "in the artifact's namespace but not GTO's format; GTO ignores it",
                    )
                )
            continue
        counted += 1
        by_artifact.setdefault(record.parsed.artifact, []).append(record)
        findings.extend(_tag_findings(record, record.parsed.artifact, now))
    for artifact, records in sorted(by_artifact.items()):
        findings.extend(_date_order(artifact, records))
        findings.extend(_duplicates(artifact, records))
    findings.extend(_unknown_versions(state))
    findings.sort(key=lambda f: (f.artifact, f.tag, f.kind))
    return AuditReport(tags=counted, findings=tuple(findings))


def audit(repo: Path | str) -> AuditReport:
    """Audit the registry of ``repo`` (the artifacts of its ``dvc.yaml`` included)."""
    from mlratchet.registry.artifacts import declared_artifacts

    return audit_tags(load_state(repo), declared_artifacts(repo))


def findings_for(
    report: AuditReport, artifact: str, *, blocking_only: bool = False
) -> tuple[Finding, ...]:
    """The findings about one artifact (only those that can change its answers, if asked)."""
    return tuple(
        f
        for f in report.findings
        if f.artifact == artifact and (f.kind in BLOCKING or not blocking_only)
    )


def stage_findings(report: AuditReport, artifact: str, stage: str) -> tuple[Finding, ...]:
    """The blocking findings that make the version in ``stage`` of ``artifact`` unreliable."""
    return tuple(f for f in report.findings if f.artifact == artifact and f.concerns(stage))


def describe_inconsistency(artifact: str, stage: str, findings: Sequence[FindingJSON]) -> str:
    """One line: the stage, the first offending tag(s), what is wrong, and where to look."""
    first = findings[0]
    tags = ", ".join([first["tag"], *first["related"][:2]])
    if len(first["related"]) > 2:  # name at most three tags
        tags += ", ..."
    more = f" (+{len(findings) - 1} more finding(s))" if len(findings) > 1 else ""
    return (
        f"{artifact}#{stage}: the registry is inconsistent for stage {stage} of {artifact}: "
        f"{first['kind']} ({tags}): {first['detail']}{more}; which version is in {stage} "
        "cannot be trusted: see `ratchet registry audit`"
    )


class StageInconsistentError(IntegrityError):
    """A stage's assignment history contradicts itself (exit 3): see ``ratchet registry audit``."""

    def __init__(self, artifact: str, stage: str, findings: Sequence[Finding]) -> None:
        super().__init__(describe_inconsistency(artifact, stage, [f.to_json() for f in findings]))
        self.artifact = artifact
        self.stage = stage
        self.findings = tuple(findings)


def check_stage(
    state: RegistryState, artifact: str, stage: str, *, now: float | None = None
) -> None:
    """Refuse (:class:`StageInconsistentError`, exit 3) a stage the audit finds unreliable.

    Cheap: it audits the tags already read into ``state`` and reads nothing more.
    """
    found = stage_findings(audit_tags(state, (artifact,), now=now), artifact, stage)
    if found:
        raise StageInconsistentError(artifact, stage, found)


__all__ = [
    "AuditReport",
    "Finding",
    "StageInconsistentError",
    "audit",
    "audit_tags",
    "check_stage",
    "describe_inconsistency",
    "findings_for",
    "stage_findings",
]
