"""GTO's tag format: names, parsing, semantic versions, and create-only tag creation.

A registry is a set of annotated git tags, named as GTO names them:

- ``NAME@vX.Y.Z`` registers version ``vX.Y.Z`` of artifact ``NAME`` at the tagged commit
  (``NAME@vX.Y.Z!`` deregisters it);
- ``NAME#STAGE#N`` assigns ``STAGE`` to the version at the tagged commit (``NAME#STAGE!#N``
  unassigns it); ``N`` counts the tags of the artifact: one more than the largest counter of any
  tag of the artifact, lightweight tags included, as ``gto assign`` computes it;
- ``NAME@deprecated`` deprecates the artifact.

An artifact named ``dir:name`` (a ``dvc.yaml`` in a sub-directory) is written ``dir=name`` in a
tag. The messages are GTO's, word for word, so ``gto`` reads our tags as its own.

Tags are created create-only: the tag object is made with ``git mktag`` and the ref with
``git update-ref refs/tags/NAME OBJECT ""`` (the empty old value means "must not exist"), so an
existing tag is never moved, whoever else is writing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering
from pathlib import Path
from typing import Literal

from mlratchet.errors import BadInputError, ConflictError
from mlratchet.gitio import git, run

TAGS_PREFIX = "refs/tags/"

# The building blocks of GTO's regular expressions (gto/constants.py), rewritten here.
_NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9_/-]*[a-zA-Z0-9])?"
_DIRNAME = r"[a-zA-Z0-9_./-]+"
_SEMVER = (
    r"(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<prerelease>(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+(?P<buildmetadata>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
NAME_RE = re.compile(rf"^{_NAME}$")
FULLNAME_RE = re.compile(rf"^(?:{_DIRNAME}:)?{_NAME}$")
SEMVER_RE = re.compile(rf"^v{_SEMVER}$")
TAG_RE = re.compile(
    rf"^(?P<artifact>(?:{_DIRNAME}=)?{_NAME})"
    rf"(?:(?:#(?P<stage>{_NAME})|@(?P<version>v{_SEMVER}))(?P<cancel>!?)"
    r"|@(?:(?P<deprecated>deprecated)|(?P<created>created)))"
    r"(?:#(?P<counter>[0-9]+))?$"
)
SHORTCUT_RE = re.compile(
    rf"^(?P<artifact>(?:{_DIRNAME}:)?{_NAME})"
    rf"(?:#(?P<stage>{_NAME})|@(?P<version>latest|greatest|v{_SEMVER}))$"
)

Action = Literal[
    "registration", "deregistration", "assignment", "unassignment", "deprecation", "creation"
]

#: GTO's order of events that share a timestamp (gto/base.py ``priority``).
PRIORITY: dict[str, int] = {
    "creation": 1,
    "deprecation": 2,
    "registration": 3,
    "deregistration": 4,
    "assignment": 5,
    "unassignment": 6,
}


class TagExistsError(ConflictError):
    """A tag of that name exists and points elsewhere (exit 4); tags are never moved."""

    def __init__(self, name: str, existing: str, wanted: str) -> None:
        super().__init__(
            f"tag {name} already exists and points to {existing[:12]}, not {wanted[:12]}; "
            "registry tags are never moved (choose another version, or fetch and rerun)"
        )
        self.name = name


class TagBusyError(ConflictError):
    """Another process holds the lock on the tag's ref (exit 4)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"tag {name} is being written by another process; rerun")


@dataclass(frozen=True)
class ParsedTag:
    """What a tag name says, as GTO's ``parse_name`` reads it."""

    artifact: str  # in name form: ``dir:name``
    action: Action
    version: str | None = None
    stage: str | None = None
    counter: int | None = None


def parse_tag_name(name: str) -> ParsedTag | None:
    """Parse a tag name in GTO's format, or None if it is not one."""
    match = TAG_RE.search(name)
    if not match:
        return None
    artifact = match["artifact"].replace("=", ":")
    counter = int(match["counter"]) if match["counter"] else None
    cancel = match["cancel"] == "!"
    action: Action
    if match["version"]:
        action = "deregistration" if cancel else "registration"
    elif match["stage"]:
        action = "unassignment" if cancel else "assignment"
    elif match["deprecated"]:
        action = "deprecation"
    else:
        action = "creation"
    return ParsedTag(artifact, action, match["version"], match["stage"], counter)


def artifact_in_tag(artifact: str) -> str:
    """The artifact's name as written in a tag (``dir:name`` -> ``dir=name``)."""
    return artifact.replace(":", "=")


def check_artifact_name(name: str) -> str:
    """``name`` if GTO accepts it as an artifact name; else bad input naming the rule."""
    if not FULLNAME_RE.search(name) or "\n" in name:
        raise BadInputError(
            f"invalid artifact name {name!r}: use letters, digits, '-', '_' and '/', "
            "starting and ending with a letter or digit (GTO's rule)"
        )
    return name


def check_stage_name(stage: str) -> str:
    """``stage`` if GTO accepts it as a stage name; else bad input naming the rule."""
    if not NAME_RE.search(stage) or "\n" in stage:
        raise BadInputError(
            f"invalid stage name {stage!r}: use letters, digits, '-', '_' and '/', "
            "starting and ending with a letter or digit (GTO's rule)"
        )
    return stage


def registration_tag(artifact: str, version: str) -> str:
    """``NAME@vX.Y.Z``: GTO's registration tag (``gto register`` writes it without a counter)."""
    return f"{artifact_in_tag(artifact)}@{version}"


def assignment_tag(artifact: str, stage: str, counter: int) -> str:
    """``NAME#STAGE#N``: GTO's stage assignment tag."""
    return f"{artifact_in_tag(artifact)}#{stage}#{counter}"


def registration_message(artifact: str, version: str) -> str:
    """The message ``gto register`` writes."""
    return f"Registering artifact {artifact} version {version}"


def assignment_message(artifact: str, stage: str, version: str) -> str:
    """The message ``gto assign`` writes."""
    return f"Assigning stage {stage} to artifact {artifact} version {version}"


# --- semantic versions ---------------------------------------------------------------------


@total_ordering
@dataclass(frozen=True)
class SemVer:
    """A ``vX.Y.Z[-pre][+build]`` version, ordered by semver.org precedence."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: str | None = None

    @classmethod
    def parse(cls, text: str) -> SemVer:
        """Parse ``vX.Y.Z...``; bad input (exit 2) if it is not a GTO version."""
        match = SEMVER_RE.search(text) if isinstance(text, str) else None
        if not match or "\n" in text:
            raise BadInputError(
                f"invalid version {text!r}: expected v<major>.<minor>.<patch>, e.g. v1.0.0"
            )
        pre = match["prerelease"]
        return cls(
            int(match["major"]),
            int(match["minor"]),
            int(match["patch"]),
            tuple(pre.split(".")) if pre else (),
            match["buildmetadata"],
        )

    @staticmethod
    def is_valid(text: str) -> bool:
        """Whether ``text`` is a version GTO accepts."""
        return bool(SEMVER_RE.search(text)) and "\n" not in text

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        # A release ranks above its pre-releases; numeric identifiers rank below alphanumeric
        # ones and compare as numbers; a longer list of equal identifiers ranks higher.
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key() < other._key()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def bump(self, part: Literal["major", "minor", "patch"]) -> SemVer:
        """The next version (pre-release and build dropped), as ``gto register --bump-*``."""
        if part == "major":
            return SemVer(self.major + 1, 0, 0)
        if part == "minor":
            return SemVer(self.major, self.minor + 1, 0)
        return SemVer(self.major, self.minor, self.patch + 1)  # as the semver package does

    def __str__(self) -> str:
        text = f"v{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + self.build
        return text


# --- writing tags --------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedTag:
    """A tag this process wrote (``created``), or found already there with the same target."""

    name: str
    object: str  # the tag object's sha
    target: str  # the commit it points to
    created: bool


def tagger_ident(repo: Path | str) -> tuple[str, int]:
    """git's tagger identity line ``Name <email> EPOCH TZ`` and its epoch seconds."""
    ident = git(repo, "var", "GIT_COMMITTER_IDENT")
    try:
        epoch = int(ident.rsplit(" ", 2)[1])
    except (IndexError, ValueError):
        raise BadInputError(f"git var GIT_COMMITTER_IDENT gave {ident!r}") from None
    return ident, epoch


def make_tag_object(repo: Path | str, name: str, target: str, message: str, ident: str) -> str:
    """Write an annotated tag object (``git mktag``) and return its sha; no ref is touched."""
    text = message if message.endswith("\n") else message + "\n"
    body = f"object {target}\ntype commit\ntag {name}\ntagger {ident}\n\n{text}"
    return git(repo, "mktag", input=body.encode("utf-8"))


def peeled_target(repo: Path | str, name: str) -> str | None:
    """The commit tag ``name`` points to (None if there is no such tag)."""
    proc = run(
        repo, "rev-parse", "--verify", "--quiet", f"{TAGS_PREFIX}{name}^{{commit}}", check=False
    )
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().strip() or None


def create_ref(repo: Path | str, name: str, obj: str, target: str) -> CreatedTag:
    """Point ``refs/tags/name`` at ``obj`` only if the ref does not exist.

    An existing tag to the same commit is an idempotent success (``created=False``); one to
    another commit is :class:`TagExistsError` (exit 4). Nothing is ever overwritten.
    """
    ref = f"{TAGS_PREFIX}{name}"
    proc = run(repo, "update-ref", "-m", "ratchet: create registry tag", ref, obj, "", check=False)
    if proc.returncode == 0:
        return CreatedTag(name, obj, target, created=True)
    existing = peeled_target(repo, name)
    if existing is None:
        raise TagBusyError(name)
    if existing != target:
        raise TagExistsError(name, existing, target)
    existing_obj = git(repo, "rev-parse", "--verify", ref)
    return CreatedTag(name, existing_obj, target, created=False)


def create_tag(repo: Path | str, name: str, target: str, message: str, ident: str) -> CreatedTag:
    """Create annotated tag ``name`` -> ``target`` create-only (see :func:`create_ref`)."""
    existing = peeled_target(repo, name)
    if existing is not None:
        if existing != target:
            raise TagExistsError(name, existing, target)
        return CreatedTag(name, git(repo, "rev-parse", f"{TAGS_PREFIX}{name}"), target, False)
    obj = make_tag_object(repo, name, target, message, ident)
    return create_ref(repo, name, obj, target)


def delete_own_tag(repo: Path | str, tag: CreatedTag) -> bool:
    """Delete a tag this process created, only if the ref still holds our object exactly."""
    if not tag.created:
        return False
    proc = run(repo, "update-ref", "-d", f"{TAGS_PREFIX}{tag.name}", tag.object, check=False)
    return proc.returncode == 0


def remote_tags(repo: Path | str, remote: str) -> dict[str, str]:
    """Every tag of ``remote`` (``git ls-remote --tags --refs``): name -> the object it names.

    An annotated tag names its tag object, as :attr:`~mlratchet.registry.state.TagRecord.object`
    does locally, so the two compare directly. A remote that cannot be listed is bad input
    (exit 2) with git's last line.
    """
    proc = run(repo, "ls-remote", "--tags", "--refs", remote, check=False)
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        raise BadInputError(f"cannot list tags of {remote}: {lines[-1] if lines else 'failed'}")
    found = {}
    for line in proc.stdout.decode(errors="replace").splitlines():
        sha, _, ref = line.partition("\t")
        found[ref.removeprefix(TAGS_PREFIX)] = sha
    return found


def fetch_new_tags(repo: Path | str, remote: str, names: list[str]) -> None:
    """Fetch ``names`` from ``remote`` as new local tags, never moving one that exists.

    The refspecs have no ``+``: git refuses to clobber an existing tag (then this raises
    :class:`~mlratchet.gitio.GitError`), so a local tag is never moved nor deleted.
    """
    if names:
        refspecs = [f"{TAGS_PREFIX}{n}:{TAGS_PREFIX}{n}" for n in names]
        run(repo, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, *refspecs)
