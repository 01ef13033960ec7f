"""GTO's tag format: our parser, names and semantic versions agree with gto's own code."""

from __future__ import annotations

import pytest
import semver
from gto.constants import check_string_is_valid, fullname_re, name_re, parse_shortcut
from gto.tag import parse_name
from hypothesis import given
from hypothesis import strategies as st

from mlratchet.errors import BadInputError
from mlratchet.registry.state import parse_shortcut as our_shortcut
from mlratchet.registry.tags import (
    SemVer,
    assignment_message,
    assignment_tag,
    check_artifact_name,
    check_stage_name,
    parse_tag_name,
    registration_message,
    registration_tag,
)

TAG_CHARS = "ab0-_./=@#!v1.2+xz:"
GTO_ACTION = {
    "register": "registration",
    "deregister": "deregistration",
    "assign": "assignment",
    "unassign": "unassignment",
    "deprecate": "deprecation",
}

EXAMPLES = [
    "fd@v1.0.0",
    "fd@v1.0.0!",
    "fd@v1.0.0#3",
    "fd#staging#12",
    "fd#staging",
    "fd#staging!#4",
    "fd@deprecated",
    "fd@deprecated#9",
    "models/fd=rf@v0.0.1",
    "a.b/c-d=x_y#prod/eu#007",
    "fd@v1.2.3-rc.1+build.5",
    "fd@1.0.0",
    "fd@v01.0.0",
    "fd#-x#1",
    "-fd@v1.0.0",
    "fd#staging#",
    "fd",
    "x@v1.0.0-",
]


def _gto(name: str) -> dict[str, object]:
    parsed = parse_name(name, raise_on_fail=False)
    if "action" in parsed:
        parsed["action"] = GTO_ACTION[parsed["action"].value]
    return parsed


def _ours(name: str) -> dict[str, object]:
    parsed = parse_tag_name(name)
    if parsed is None or parsed.action == "creation":
        return {} if parsed is None else {"name": parsed.artifact}
    out: dict[str, object] = {"name": parsed.artifact, "action": parsed.action}
    for key in ("version", "stage", "counter"):
        if getattr(parsed, key) is not None:
            out[key] = getattr(parsed, key)
    return out


@pytest.mark.parametrize("name", EXAMPLES)
def test_tag_names_parse_as_gto_parses_them(name: str) -> None:
    """Each example tag name parses to what gto's parse_name says (or not at all)."""
    assert _ours(name) == _gto(name)


@given(st.text(alphabet=TAG_CHARS, max_size=24))
def test_any_tag_name_parses_as_gto_parses_it(name: str) -> None:
    """For any string of the format's characters, our parser agrees with gto's."""
    assert _ours(name) == _gto(name)


@given(st.text(alphabet="aZ09-_/.:x", max_size=12))
def test_name_rules_match_gto(name: str) -> None:
    """An artifact or stage name is valid for us exactly when it is for gto."""
    for ours, theirs in ((check_artifact_name, fullname_re), (check_stage_name, name_re)):
        try:
            ours(name)
            valid = True
        except BadInputError:
            valid = False
        assert valid == check_string_is_valid(name, regex=theirs)


@pytest.mark.parametrize(
    "text", ["fd#prod", "fd@v1.0.0", "fd@latest", "fd@greatest", "dir:fd#prod", "fd", "fd@1"]
)
def test_shortcuts_parse_as_gto_parses_them(text: str) -> None:
    """Registry references (NAME#STAGE, NAME@vX.Y.Z, NAME@latest) read as gto reads them."""
    theirs = parse_shortcut(text)
    ours = our_shortcut(text)
    if not theirs.shortcut:
        assert ours is None
        return
    assert ours is not None
    assert (ours.artifact, ours.stage, ours.version, ours.latest) == (
        theirs.name,
        theirs.stage,
        theirs.version,
        theirs.latest,
    )


def test_names_and_messages_are_gtos() -> None:
    """Tags and messages are written exactly as gto writes them."""
    assert registration_tag("dir:fd", "v1.0.0") == "dir=fd@v1.0.0"
    assert assignment_tag("fd", "prod", 3) == "fd#prod#3"
    assert registration_message("fd", "v1.0.0") == "Registering artifact fd version v1.0.0"
    assert (
        assignment_message("fd", "prod", "v1.0.0")
        == "Assigning stage prod to artifact fd version v1.0.0"
    )


SEMVER = st.builds(
    lambda a, b, c, pre: f"{a}.{b}.{c}" + (f"-{'.'.join(pre)}" if pre else ""),
    st.integers(0, 3),
    st.integers(0, 3),
    st.integers(0, 3),
    st.lists(st.sampled_from(["0", "1", "2", "10", "a", "b", "rc", "alpha", "x-y"]), max_size=3),
)


@given(SEMVER, SEMVER)
def test_version_order_is_semver_precedence(a: str, b: str) -> None:
    """Versions compare as the semver package compares them."""
    ours = (SemVer.parse(f"v{a}") > SemVer.parse(f"v{b}")) - (
        SemVer.parse(f"v{a}") < SemVer.parse(f"v{b}")
    )
    assert ours == semver.Version.parse(a).compare(b)


@given(SEMVER)
def test_bump_matches_gto(version: str) -> None:
    """Bumping major, minor or patch gives what gto (the semver package) gives."""
    parsed = semver.Version.parse(version)
    ours = SemVer.parse(f"v{version}")
    assert str(ours.bump("major")) == f"v{parsed.bump_major()}"
    assert str(ours.bump("minor")) == f"v{parsed.bump_minor()}"
    assert str(ours.bump("patch")) == f"v{parsed.bump_patch()}"


@pytest.mark.parametrize("bad", ["1.0.0", "v1.0", "v01.0.0", "V1.0.0", "v1.0.0\n"])
def test_bad_versions_are_refused(bad: str) -> None:
    """A version that is not v<major>.<minor>.<patch> is bad input naming it."""
    with pytest.raises(BadInputError, match="invalid version"):
        SemVer.parse(bad)
