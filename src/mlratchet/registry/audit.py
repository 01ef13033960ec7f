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
"""

from __future__ import annotations

import time as clock
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict

from mlratchet.registry.state import RegistryState, TagRecord, iso_time, load_state
from mlratchet.registry.tags import artifact_in_tag

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


@dataclass(frozen=True)
class Finding:
    """A tag that makes the registry unreliable, and why."""

    kind: Kind
    tag: str
    artifact: str
    detail: str

    def to_json(self) -> FindingJSON:
        """The finding as a JSON object."""
        return {
            "kind": self.kind,
            "tag": self.tag,
            "artifact": self.artifact,
            "detail": self.detail,
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
    for counter, time, record in dated:
        later = [(t, o.name, o) for c, t, o in dated if c > counter and t < time]
        if later:
            first = min(later)[2]
            yield Finding(
                "date-order",
                record.name,
                artifact,
                f"counter {counter} but dated {_when(record)}, after {first.name} "
                f"(a higher counter, dated {_when(first)}); was it moved or re-dated?",
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


__all__ = ["AuditReport", "Finding", "audit", "audit_tags", "findings_for"]
