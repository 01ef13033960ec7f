"""Continuous training simulated month by month against a real bare remote (scripts/ct_year.py).

The same commands the CT and monitor workflows run: monitor the new, labelled month against the
production model (drift and realized performance) and against the first model never retrained,
retrain on an alert or on schedule, verify, push, promote through the gates (champion against
challenger on the same rows).
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
    """A first model on months 1-9, then months 10-12 of 2013 with a small model (the loop is the
    point, not the model): the window ends at 11, so CT can only run in December."""
    work = tmp_path_factory.mktemp("ct-year")
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "flightdelay/scripts/ct_year.py"),
            "--fast",
            "--start-month",
            "9",
            "--schedule-every",
            "2",
            "--workdir",
            str(work / "work"),
            "--json",
            str(work / "year.json"),
            "--out",
            str(work / "year.md"),
            "--png",
            str(work / "year.png"),
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
    record["png"] = work / "year.png"
    record["reports"] = work  # the folder of --out: the monitor's history and last report
    return record


def test_no_tag_moved_and_the_remote_holds_every_tag(year: dict) -> None:
    """Across the year no tag changed target, the audit is clean, and the remote has them all."""
    assert year["moved"] == []
    assert year["audit_ok"]
    assert year["remote_tags"] == year["local_tags"]
    assert any("#production#" in tag for tag in year["local_tags"])


def test_every_retrain_went_through_the_gates(year: dict) -> None:
    """A retrain ends in staging or a named refusal; production only after staging."""
    assert year["first"]["ct_ran"] and year["first"]["production"].startswith("promoted")
    for month in year["months"]:
        if not month["ct_ran"]:
            assert month["tags"] == [] and month["staging"] == "-"
            assert month["ct_due"] == "-" or month["decision"].startswith("no CT: the window")
            continue
        assert month["ct_due"] in {"alert", "schedule"}
        assert month["staging"].startswith(("promoted", "refused ("))
        if month["staging"].startswith("refused"):
            assert month["production"] == "-" and month["tags"] == []
        assert month["window"].endswith(f"test {month['month']}")
    assert any(month["ct_ran"] for month in year["months"])


def test_each_month_is_judged_for_production_and_never_retrained(year: dict) -> None:
    """Every month carries the realized figures of the model in production and of the first
    model never retrained, as {name: value} maps; they agree while the first model serves."""
    assert [m["month"] for m in year["months"]] == [10, 11, 12]
    for month in year["months"]:
        assert month["production_version"]
        for side in ("realized", "never_retrained"):
            figures = month[side]
            assert 0.5 < figures["roc_auc"] < 1.0, (month["month"], side)
            assert figures["cost_per_row"] >= 0 and figures["rows"] > 0
            assert figures["cost_total"] == round(figures["cost_per_row"] * figures["rows"], 2)
        if month["production_version"] == year["first_version"]:
            assert month["realized"] == month["never_retrained"]
    assert year["summary"]["months"] == [10, 11, 12]
    assert "What retraining bought" in year["markdown"]
    assert year["png"].read_bytes().startswith(b"\x89PNG")


def test_champion_and_challenger_were_scored_on_the_same_rows(year: dict) -> None:
    """Each retrain records both sides' scores on one rows_md5, the one in the model card."""
    checkout, ratchet = year["work"] / "ci", str(Path(sys.executable).with_name("ratchet"))
    for month in (m for m in year["months"] if m["ct_ran"]):
        champion, challenger = month["champion"], month["challenger"]
        assert champion["rows_md5"] == challenger["rows_md5"]
        assert champion["scores"]["model.test.roc_auc"] > 0.5
        assert challenger["scores"]["model.test.roc_auc"] > 0.5
        if not month["staging"].startswith("promoted"):
            continue
        version = month["staging"].removeprefix("promoted ")
        view = json.loads(
            subprocess.run(
                [ratchet, "registry", "show", f"flight-delay@{version}", "--json"],
                cwd=checkout,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        cards = [c["comparison"] for c in view["cards"] if c.get("comparison")]
        assert cards and all(c["rows_md5"] == challenger["rows_md5"] for c in cards[:1])


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


def test_the_monitor_history_charts_both_models_month_by_month(year: dict) -> None:
    """Each month's two monitor runs left one history line each (batch 2013-MM, the model as
    named), equal to the year's record; December's monitor report charts them."""
    lines = [
        json.loads(line)
        for line in (year["reports"] / "realized-history.jsonl").read_text().splitlines()
    ]
    never, production = f"flight-delay@{year['first_version']}", "flight-delay#production"
    assert [(e["batch"], e["model"]) for e in lines] == [
        (f"2013-{m:02d}", model) for m in (10, 11, 12) for model in (never, production)
    ]
    pairs = zip(lines[::2], lines[1::2], strict=True)
    for month, (fixed, served) in zip(year["months"], pairs, strict=True):
        assert served["version"] == month["production_version"]
        assert fixed["version"] == year["first_version"]
        assert served["realized"]["roc_auc"] == month["realized"]["roc_auc"]
        assert fixed["realized"]["roc_auc"] == month["never_retrained"]["roc_auc"]
    page = (year["reports"] / "monitor" / "report.html").read_text(encoding="utf-8")
    assert "2013-12" in page  # the last month's report
    assert "Realized performance over time" in page
    assert "over 3 batches" in page and "2 model series" in page
