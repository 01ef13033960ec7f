"""Continuous training simulated month by month against a real bare remote (scripts/ct_year.py).

The same commands the CT and monitor workflows run: monitor the new month against the
production model, retrain on an alert or on schedule, verify, push, promote through the gates.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, git
from mlratchet import notes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Months 10-12 of 2013 with a small model (the loop is the point, not the model)."""
    work = tmp_path_factory.mktemp("ct-year")
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "flightdelay/scripts/ct_year.py"),
            "--fast",
            "--start-month",
            "10",
            "--schedule-every",
            "2",
            "--workdir",
            str(work / "work"),
            "--json",
            str(work / "year.json"),
            "--out",
            str(work / "year.md"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads((work / "year.json").read_text())
    record["work"] = work / "work"
    record["markdown"] = (work / "year.md").read_text()
    return record


def test_no_tag_moved_and_the_remote_holds_every_tag(year: dict) -> None:
    """Across the year no tag changed target, the audit is clean, and the remote has them all."""
    assert year["moved"] == []
    assert year["audit_ok"]
    assert year["remote_tags"] == year["local_tags"]
    assert any("#production#" in tag for tag in year["local_tags"])


def test_every_retrain_went_through_the_gates(year: dict) -> None:
    """A retrain ends in staging or a named refusal; production only after staging."""
    months = year["months"]
    assert months[0]["action"] == "retrain (initial)"
    for month in months:
        if month["action"] == "-":
            assert month["monitor"] == "ok" and month["tags"] == []
            continue
        assert month["staging"].startswith(("promoted", "refused ("))
        if month["staging"].startswith("refused"):
            assert month["production"] == "-" and month["tags"] == []
        assert month["window"].endswith(f"test {month['month'] - 1}-{month['month']}")
    retrain_reasons = {m["action"] for m in months[1:] if m["action"] != "-"}
    assert retrain_reasons <= {"retrain (alert)", "retrain (schedule)"}


def test_gto_agrees_with_the_registry_at_the_end(year: dict) -> None:
    """`gto show` reads the year's tags as `ratchet registry show` does."""
    checkout = year["work"] / "ci"
    gto = subprocess.run(
        [str(Path(sys.executable).with_name("gto")), "show", "--json"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = json.loads(gto.stdout)["flight-delay"]
    ours = json.loads(
        subprocess.run(
            [str(Path(sys.executable).with_name("ratchet")), "registry", "show", "--json"],
            cwd=checkout,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    art = next(a for a in ours["artifacts"] if a["name"] == "flight-delay")
    assert theirs["version"] == art["latest"]["version"]
    for stage in ("staging", "production"):
        ours_stage = (art["stages"][stage] or {}).get("version")
        theirs_stage = (theirs.get("stage", {}) or {}).get(stage)
        assert theirs_stage == ours_stage, stage


def test_each_ct_commit_says_why_and_carries_its_notes(year: dict) -> None:
    """Every CT commit names its reason, and its verify and compute records travel with it."""
    remote = year["work"] / "remote.git"
    log = git(remote, "log", "--format=%H %s", "main").splitlines()
    ct_commits = [line.split(" ", 1) for line in log if " ct: " in f" {line.split(' ', 1)[1]}"]
    assert ct_commits
    for sha, subject in ct_commits:
        note = notes.read(remote, sha)
        assert note["verify"]["ok"] is True, subject
        assert note["repro"], subject
