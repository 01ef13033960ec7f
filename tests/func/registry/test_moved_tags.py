"""Delivery does not follow a moved tag: whatever resolves NAME#STAGE applies the audit.

A stage assignment re-created out of order (``fd#staging#1`` re-made after ``fd#staging#2``) or
dated in the future changes what GTO says is in the stage; `ratchet registry audit` and
`ratchet promote` call the registry inconsistent (exit 3), and so must `registry get`, the
revision ``fd#staging`` (`metrics diff`, `report`, `verify`) and `registry show`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from registry_project import commits, env_with, gto, ratchet

from helpers import git, run
from mlratchet import revs
from mlratchet.cli.group import cli
from mlratchet.errors import IntegrityError
from mlratchet.registry import promote as registry


def invoke(project: Path, *args: str) -> tuple[int, str, str]:
    """Run a ratchet command in-process on ``project``: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, [*args, "-R", str(project)])
    return result.exit_code, result.stdout, result.stderr


def tag(project: Path, name: str, commit: str, *, date: str | None = None) -> None:
    """Create an annotated tag by hand (``git tag -a``), dated ``date`` if given."""
    env = env_with(GIT_COMMITTER_DATE=date) if date else None
    run(["git", "tag", "-a", name, commit, "-m", "Assigning stage staging"], project, env=env)


def moved(project: Path) -> tuple[str, str]:
    """fd: staging v1, production v1, staging v2, v3; then fd#staging#3 re-created later at v1."""
    v1, v2, v3 = commits(project)
    registry.promote(project, "fd", "staging", rev=v1)
    registry.promote(project, "fd", "production", version="v0.0.1")
    registry.promote(project, "fd", "staging", rev=v2)
    registry.promote(project, "fd", "staging", rev=v3)
    assert {"fd#production#2", "fd#staging#3", "fd#staging#4"} <= set(git(project, "tag").split())
    git(project, "tag", "-d", "fd#staging#3")  # someone deletes and re-creates it by hand
    time.sleep(1.1)  # tag dates are seconds: the re-created tag is newer than fd#staging#4
    tag(project, "fd#staging#3", v1)
    return v1, v3


def future_dated(project: Path) -> tuple[str, str]:
    """fd: staging v1 (ratchet), then fd#staging#2 at v2 dated 2099 (by hand)."""
    v1, v2, _ = commits(project)
    registry.promote(project, "fd", "staging", rev=v1)
    tag(project, "fd#staging#2", v2, date="2099-01-01T00:00:00+0000")
    return v1, v2


def assert_refusal(message: str, offending: str, kind: str) -> None:
    """One line naming the stage, the offending tag, the finding, and the audit."""
    assert message.count("\n") <= 1, message
    assert "fd#staging" in message and "stage staging of fd" in message
    assert offending in message and kind in message
    assert "ratchet registry audit" in message
    assert "Traceback" not in message


@pytest.mark.parametrize(
    ("build", "offending", "kind"),
    [(moved, "fd#staging#3", "date-order"), (future_dated, "fd#staging#2", "future-dated")],
    ids=["moved", "future-dated"],
)
def test_get_refuses_an_inconsistent_stage(
    project: Path, tmp_path: Path, build: object, offending: str, kind: str
) -> None:
    """`registry get fd#staging` of a moved or future-dated stage: exit 3, no file written."""
    v1, v2 = build(project)  # type: ignore[operator]  # one of the two builders above
    shown = json.loads(gto(project, "show", "fd#staging", "--json").stdout)
    # GTO follows the tag (it lists an unregistered commit twice)
    assert {v["commit_hexsha"] for v in shown} == {v1 if kind == "date-order" else v2}
    assert ratchet(project, "registry", "audit").returncode == 3
    out = tmp_path / "delivered" / "model.bin"
    out.parent.mkdir()
    code, stdout, stderr = invoke(project, "registry", "get", "fd#staging", "-o", str(out))
    assert code == 3, stderr
    assert_refusal(stderr, offending, kind)
    assert stdout == ""
    assert list(out.parent.iterdir()) == []


def test_revision_of_an_inconsistent_stage_is_refused(project: Path) -> None:
    """revs.resolve and `metrics diff fd#staging` refuse a moved stage (exit 3)."""
    moved(project)
    with pytest.raises(IntegrityError, match=r"date-order \(fd#staging#3"):
        revs.resolve(project, "fd#staging")
    code, stdout, stderr = invoke(project, "metrics", "diff", "fd#staging", "HEAD")
    assert code == 3, stderr
    assert_refusal(stderr, "fd#staging#3", "date-order")
    assert stdout == ""


def test_future_dated_revision_is_refused(project: Path) -> None:
    """revs.resolve of a stage whose newest assignment is future-dated: IntegrityError."""
    future_dated(project)
    with pytest.raises(IntegrityError, match=r"future-dated \(fd#staging#2"):
        revs.resolve(project, "fd#staging")


def test_show_marks_an_inconsistent_stage_and_exits_3(project: Path) -> None:
    """`registry show` marks the moved stage and exits 3; --json carries the finding."""
    moved(project)
    code, stdout, stderr = invoke(project, "registry", "show", "--json")
    assert code == 3
    (fd,) = json.loads(stdout)["artifacts"]
    assert list(fd["inconsistent"]) == ["staging"]  # production is not involved
    (finding,) = fd["inconsistent"]["staging"]
    assert (finding["kind"], finding["tag"], finding["related"]) == (
        "date-order",
        "fd#staging#3",
        ["fd#staging#4"],
    )
    assert_refusal(stderr.strip(), "fd#staging#3", "date-order")
    code, stdout, stderr = invoke(project, "registry", "show")
    assert code == 3
    (row,) = [line for line in stdout.splitlines() if line.startswith("fd")]
    assert "fd (inconsistent)" in row and "v0.0.1 (inconsistent)" in row
    code, stdout, _ = invoke(project, "registry", "show", "fd")
    assert code == 3
    assert "staging (inconsistent)" in stdout
    code, stdout, stderr = invoke(project, "registry", "show", "fd#staging")
    assert code == 3
    assert_refusal(stderr, "fd#staging#3", "date-order")
    code, stdout, stderr = invoke(project, "registry", "show", "fd@v0.0.1", "--json")
    assert code == 3  # v0.0.1 is what GTO says is in staging
    assert json.loads(stdout)["inconsistent"]["staging"][0]["tag"] == "fd#staging#3"
    assert "fd#staging#3" in stderr


def test_show_marks_a_future_dated_stage(project: Path) -> None:
    """A future-dated assignment: `registry show --json` exit 3, the stage carries it."""
    future_dated(project)
    code, stdout, _ = invoke(project, "registry", "show", "--json")
    assert code == 3
    (fd,) = json.loads(stdout)["artifacts"]
    assert [f["kind"] for f in fd["inconsistent"]["staging"]] == ["future-dated"]
    assert "production" not in fd["inconsistent"]


def test_other_stages_still_deliver(project: Path, tmp_path: Path) -> None:
    """A finding about staging's tags does not hold up production, which it cannot change."""
    v1, _ = moved(project)
    out = tmp_path / "model.bin"
    code, _, stderr = invoke(project, "registry", "get", "fd#production", "-o", str(out))
    assert code == 0, stderr
    assert out.read_text() == "model of quality 0.7\n"
    assert revs.resolve(project, "fd#production").sha == v1


def test_a_consistent_registry_delivers(project: Path, tmp_path: Path) -> None:
    """Control: promotions made by ratchet resolve, show and deliver with exit 0."""
    v1, v2, _ = commits(project)
    registry.promote(project, "fd", "staging", rev=v1)
    registry.promote(project, "fd", "staging", rev=v2)
    assert ratchet(project, "registry", "audit").returncode == 0
    out = tmp_path / "model.bin"
    code, _, stderr = invoke(project, "registry", "get", "fd#staging", "-o", str(out))
    assert code == 0, stderr
    assert out.read_text() == "model of quality 0.72\n"
    assert revs.resolve(project, "fd#staging").sha == v2
    code, stdout, stderr = invoke(project, "registry", "show", "--json")
    assert code == 0, stderr
    assert json.loads(stdout)["artifacts"][0]["inconsistent"] == {}
    code, _, stderr = invoke(project, "metrics", "diff", "fd#staging", "HEAD")
    assert code == 0, stderr
