"""`ratchet verify` on the reference pipeline: the committed dvc.lock reproduces bit for bit."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from helpers import copy_project, git, run, snapshot

pytestmark = pytest.mark.slow


def test_reference_pipeline_reproduces_its_committed_lock(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Every output of the project's dvc.lock is re-made identical from an empty cache."""
    project = copy_project(tmp_path_factory.mktemp("verify-ref") / "project")
    # The ratchet process imports the copy's own src/; without this, Python's bytecode cache
    # would appear under it whatever verify does (CI and developers may or may not set it).
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    before = snapshot(project)
    ratchet = str(Path(sys.executable).with_name("ratchet"))
    proc = run([ratchet, "verify", "--json"], project, env=env, check=False, timeout=1800)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] and data["rev"] == git(project, "rev-parse", "HEAD")
    stages = {s["stage"]: s for s in data["stages"]}
    from mlratchet.yamlio import load_yaml

    assert sorted(stages) == sorted(load_yaml(project / "dvc.yaml")["stages"])
    assert all(s["status"] == "identical" and s["run"]["status"] == "ran" for s in stages.values())
    assert "models/model.skops" in {o["path"] for o in stages["train"]["outputs"]}
    after = snapshot(project)

    def user_visible(snap: dict[str, str]) -> dict[str, str]:
        refs = [r for r in snap["<refs>"].splitlines() if "refs/notes/" not in r]
        files = {k: v for k, v in snap.items() if not k.startswith((".git/", "<refs>"))}
        return {**files, "<refs>": "\n".join(refs)}

    assert user_visible(after) == user_visible(before)


def test_reference_forged_metrics_are_refused_before_running(
    reproduced_project: Path, tmp_path: Path
) -> None:
    """The reference project with skill.val.roc_auc_lift forged to 0.9 in the committed
    metrics/metrics.json: verify is exit 3 before running anything, and neither promotion
    nor `metrics diff --check` accepts the numbers."""
    project = tmp_path / "project"
    git(tmp_path, "clone", "-q", str(reproduced_project), str(project))
    # The DVC cache is shared read-only (the lock check needs no outputs, only git).
    metrics_path = project / "metrics" / "metrics.json"
    data = json.loads(metrics_path.read_text())
    data["skill"]["val"]["roc_auc_lift"] = 0.9
    metrics_path.write_text(json.dumps(data, indent=2) + "\n")
    git(project, "commit", "-qam", "better numbers")
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    ratchet = str(Path(sys.executable).with_name("ratchet"))
    proc = run([ratchet, "verify"], project, env=env, check=False, timeout=600)
    assert proc.returncode == 3, proc.stderr
    assert "metrics/metrics.json" in proc.stderr and "edited after the pipeline ran" in proc.stderr
    proc = run(
        [ratchet, "metrics", "diff", "HEAD~1", "HEAD", "--check"], project, env=env, check=False
    )
    assert proc.returncode == 3, proc.stderr
    proc = run(
        [ratchet, "promote", "flight-delay", "--to", "staging", "--dry-run"],
        project,
        env=env,
        check=False,
    )
    assert proc.returncode == 3, proc.stderr
    assert "metrics/metrics.json" in proc.stderr
