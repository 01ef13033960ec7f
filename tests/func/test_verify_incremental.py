"""Incremental `ratchet verify`: stages an earlier verify re-ran are proven by its record.

The second project (prepare -> validate -> train -> evaluate, a local DVC remote): commit A is
verified in full; commit B changes only the evaluate stage's code. Verifying B re-runs only
evaluate; the other stages are proven by A's verify, their outputs fetched and re-hashed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import second_project as sp
from helpers import commit_all, dvc, gen, git
from mlratchet import notes
from mlratchet.reproduce import verify
from second_project import Project, ratchet

pytestmark = pytest.mark.slow

UPSTREAM = ("prepare", "validate", "train")


@pytest.fixture(scope="session")
def verified_a(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Project:
    """The classifier project, reproduced, pushed, committed (A) and verified in full."""
    project = sp.build(tmp_path_factory.mktemp("incremental") / "repo", sp.CLASSIFIER)
    sp.reproduce(project, "A")
    assert verify(project.dvc_root, full=True).ok
    return project


def change_evaluate(project: Project) -> str:
    """Commit B: only the evaluate stage's code changes; reproduced, pushed, committed."""
    script = project.dvc_root / "stages" / "evaluate.py"
    text = script.read_text().replace('"rows": int(len(target)),', '"rows": int(len(target)) + 0,')
    gen(project.dvc_root, {"stages/evaluate.py": text + "# evaluate, revised\n"})
    dvc(project.dvc_root, "repro", "-q")
    dvc(project.dvc_root, "push", "-q")
    return commit_all(project.git_root, "B: evaluate revised")


@pytest.fixture
def b_project(verified_a: Project, tmp_path: Path) -> Project:
    """A copy of the verified project with commit B on top of A."""
    project = sp.copy(verified_a, tmp_path)
    change_evaluate(project)
    return project


def a_verify(project: Project) -> dict[str, Any]:
    """The verify record of commit A (B's parent)."""
    a = git(project.git_root, "rev-parse", "HEAD~1")
    return dict(notes.read(project.git_root, a)["verify"])


def stages(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The --json report's stages by name."""
    return {s["stage"]: s for s in data["stages"]}


def test_only_the_changed_stage_runs_the_rest_is_proven_by_the_earlier_verify(
    b_project: Project,
) -> None:
    """B re-runs evaluate alone; prepare, validate and train are proven by A's verify (its sha
    and time in the report and the note); the verdict is reproduced, exit 0."""
    a = a_verify(b_project)
    proc = ratchet(b_project.dvc_root, "verify", "--json")
    data = json.loads(proc.stdout)
    by_name = stages(data)
    assert data["ok"] and data["full"] is False and list(by_name) == [*UPSTREAM, "evaluate"]
    assert (
        by_name["evaluate"]["run"]["status"] == "ran" and by_name["evaluate"]["proven_by"] is None
    )
    for name in UPSTREAM:
        assert by_name[name]["run"] is None and by_name[name]["status"] == "identical"
        assert by_name[name]["proven_by"] == {"rev": a["rev"], "verified_at": a["verified_at"]}
    b = git(b_project.git_root, "rev-parse", "HEAD")
    proofs = notes.read(b_project.git_root, b)["verify"]["proofs"]
    assert proofs["evaluate"]["ran"]["rev"] == b  # re-run here: B's verify proves it
    assert {proofs[name]["ran"]["rev"] for name in UPSTREAM} == {a["rev"]}
    # Verified again: every stage is proven by record, evaluate by B's own first verify.
    md = ratchet(b_project.dvc_root, "verify", "--md").stdout
    assert f"proven by the verify of {a['rev'][:7]} ({a['verified_at']}) |" in md
    first = proofs["evaluate"]["ran"]["verified_at"]
    assert f"proven by the verify of {b[:7]} ({first}) |" in md and "| re-run |" not in md


def test_a_proof_records_what_the_stage_ran_with(b_project: Project) -> None:
    """A's note holds, per stage, the lock entry's cmd, deps and outs md5s, params, and the
    environment (python, packages, platform) with the CPU signature."""
    from mlratchet.dvclock import load_lock

    a = a_verify(b_project)
    lock = load_lock(b_project.dvc_root, "HEAD~1")
    train = a["proofs"]["train"]
    assert train["cmd"] == lock["train"].cmd
    assert train["deps"] == {d.path: d.md5 for d in lock["train"].deps}
    assert train["outs"] == {o.path: o.md5 for o in lock["train"].outs}
    assert train["params"] == lock["train"].params
    assert train["env"]["python"] and "scikit-learn" in train["env"]["packages"]
    assert train["cpu"] and len(train["key"]) == 64


def test_full_reruns_every_stage(b_project: Project) -> None:
    """--full ignores the records: every stage runs, none is proven."""
    data = json.loads(ratchet(b_project.dvc_root, "verify", "--full", "--json").stdout)
    assert data["ok"] and data["full"] is True
    assert all(s["run"]["status"] == "ran" and s["proven_by"] is None for s in data["stages"])


def test_a_changed_environment_record_is_never_reused(b_project: Project) -> None:
    """A's proof of train recorded with another scikit-learn version, and of prepare with
    another CPU: both are re-run, not proven; validate still is."""
    root = b_project.git_root
    a = git(root, "rev-parse", "HEAD~1")
    record = notes.read(root, a)["verify"]
    record["proofs"]["train"]["env"]["packages"]["scikit-learn"] = "0.0.1"
    record["proofs"]["prepare"]["cpu"] = "x86_64:0000000000000000"
    notes.update(root, a, "verify", record)
    data = json.loads(ratchet(b_project.dvc_root, "verify", "--json").stdout)
    by_name = stages(data)
    assert data["ok"]
    assert by_name["validate"]["proven_by"] is not None
    for name in ("prepare", "train", "evaluate"):
        assert by_name[name]["proven_by"] is None and by_name[name]["run"]["status"] == "ran"


def test_a_forged_output_of_an_unchanged_stage_is_rerun_and_caught(b_project: Project) -> None:
    """B's lock with train's model hash forged (consistently, in evaluate's deps too): train's
    inputs match A's proof but its outputs do not, so it is re-run, and differs: exit 1."""
    lock_path = b_project.dvc_root / "dvc.lock"
    from mlratchet.dvclock import parse_lock

    real = parse_lock(lock_path.read_bytes())["train"].outs[0].md5
    assert real is not None
    forged = "ab" * 16
    gen(b_project.dvc_root, {"dvc.lock": lock_path.read_text().replace(real, forged)})
    commit_all(b_project.git_root, "a better model, by hand")
    proc = ratchet(b_project.dvc_root, "verify", "--json", expect=1)
    by_name = stages(json.loads(proc.stdout))
    assert by_name["train"]["proven_by"] is None and by_name["train"]["status"] == "differs"
    assert by_name["prepare"]["proven_by"] is not None
    proc = ratchet(b_project.dvc_root, "verify", expect=1)
    assert f"stage 'train' is not reproducible: models/model.skops was {forged}" in proc.stderr


def test_a_forged_output_of_the_changed_stage_still_fails(b_project: Project) -> None:
    """B's lock with evaluate's plots directory hash forged: evaluate re-runs, differs: exit 1."""
    lock_path = b_project.dvc_root / "dvc.lock"
    from mlratchet.dvclock import parse_lock

    plots = next(o for o in parse_lock(lock_path.read_bytes())["evaluate"].outs if o.is_dir)
    assert plots.md5 is not None
    gen(
        b_project.dvc_root,
        {"dvc.lock": lock_path.read_text().replace(plots.md5, "cd" * 16 + ".dir")},
    )
    commit_all(b_project.git_root, "forged plots")
    proc = ratchet(b_project.dvc_root, "verify", expect=1)
    assert "stage 'evaluate' is not reproducible: eval/plots" in proc.stderr


def test_a_corrupted_cache_object_is_not_trusted(b_project: Project) -> None:
    """The model in the user's cache with a flipped byte and the remote's copy gone: train is
    not proven by record but re-run (a warning says why), and B still verifies."""
    import shutil

    from mlratchet.dvclock import cache_path, load_lock

    model = load_lock(b_project.dvc_root, "HEAD")["train"].outs[0]
    cached = cache_path(b_project.dvc_root, model)
    cached.chmod(0o644)
    data = bytearray(cached.read_bytes())
    data[-1] ^= 1
    cached.write_bytes(bytes(data))
    shutil.rmtree(b_project.remote)
    b_project.remote.mkdir()
    proc = ratchet(b_project.dvc_root, "verify", "--json")
    report = json.loads(proc.stdout)
    assert report["ok"]
    assert stages(report)["train"]["proven_by"] is None
    assert any("'train'" in w and "models/model.skops" in w for w in report["warnings"])
    assert "warning: stage 'train'" in proc.stderr


def test_proofs_travel_with_notes_push_and_pull(b_project: Project, tmp_path: Path) -> None:
    """A clone that pulls the notes (and has an empty DVC cache) proves the upstream stages
    by A's verify, with their outputs fetched from the DVC remote."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    root = b_project.git_root
    git(root, "remote", "add", "origin", str(origin))
    git(root, "push", "-q", "origin", "HEAD:refs/heads/main")
    ratchet(root, "notes", "push")
    clone = tmp_path / "clone"  # next to ../remote, the relative DVC remote of the project
    git(tmp_path, "clone", "-q", "--branch", "main", str(origin), str(clone))
    ratchet(clone, "notes", "pull")
    assert not (clone / ".dvc" / "cache").exists()
    data = json.loads(ratchet(clone, "verify", "--json").stdout)
    a = a_verify(b_project)
    by_name = stages(data)
    assert data["ok"] and by_name["evaluate"]["run"]["status"] == "ran"
    assert all(by_name[name]["proven_by"]["rev"] == a["rev"] for name in UPSTREAM)
