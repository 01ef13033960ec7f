"""Register and promote on a real git+DVC project: gates, stage order, safety, idempotence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from registry_project import commits, files, set_policy, tags

from helpers import gen, git
from mlratchet import notes, revs
from mlratchet.cli.group import cli
from mlratchet.errors import BadInputError, ConflictError, IntegrityError
from mlratchet.registry import promote as registry
from mlratchet.registry.card import split_message
from mlratchet.registry.state import load_state


def invoke(project: Path, *args: str) -> tuple[int, str, str]:
    """Run a ratchet command in-process on ``project``: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, [*args, "-R", str(project)])
    return result.exit_code, result.stdout, result.stderr


def test_register_bumps_like_gto(project: Path) -> None:
    """Versions start at v0.0.1 and bump patch by default, or the part asked for."""
    v1, v2, v3 = commits(project)
    assert registry.register(project, "fd", rev=v1).version == "v0.0.1"
    assert registry.register(project, "fd", rev=v2, bump="minor").version == "v0.1.0"
    assert registry.register(project, "fd", rev=v3).version == "v0.1.1"
    assert set(tags(project)) == {"fd@v0.0.1", "fd@v0.1.0", "fd@v0.1.1"}
    message = git(project, "tag", "-l", "--format=%(contents)", "fd@v0.1.0").strip()
    assert message == "Registering artifact fd version v0.1.0"


def test_same_version_same_commit_is_idempotent(project: Path) -> None:
    """Registering the same version at the same commit again succeeds and writes nothing."""
    v1 = commits(project)[0]
    first = registry.register(project, "fd", rev=v1, version="v1.0.0")
    before = files(project)
    again = registry.register(project, "fd", rev=v1, version="v1.0.0")
    assert first.created and not again.created
    assert files(project) == before


def test_existing_version_elsewhere_is_a_conflict_and_nothing_moves(project: Path) -> None:
    """A version already registered at another commit: exit 4, the tag is not moved."""
    v1, v2, _ = commits(project)
    registry.register(project, "fd", rev=v1, version="v1.0.0")
    before = tags(project)
    code, _, err = invoke(project, "register", "fd", "--rev", v2, "--version", "v1.0.0")
    assert code == 4
    assert "already registered at" in err
    assert tags(project) == before


def test_a_commit_holds_one_version(project: Path) -> None:
    """Registering another version at an already registered commit is refused (exit 4)."""
    v1 = commits(project)[0]
    registry.register(project, "fd", rev=v1, version="v1.0.0")
    with pytest.raises(ConflictError, match=r"already registered as v1\.0\.0"):
        registry.register(project, "fd", rev=v1, version="v2.0.0")


def test_create_only_tag_never_overwrites(project: Path) -> None:
    """A tag name taken (even by a tag made outside ratchet) to another commit: exit 4."""
    v1, v2, _ = commits(project)
    git(project, "tag", "-a", "fd@v3.0.0", v2, "-m", "made by hand")
    before = tags(project)
    with pytest.raises(ConflictError, match="already exists and points to"):
        from mlratchet.registry.tags import create_tag, tagger_ident

        create_tag(project, "fd@v3.0.0", v1, "x", tagger_ident(project)[0])
    assert tags(project) == before


def test_dirty_worktree_is_refused_with_exit_4(project: Path) -> None:
    """Uncommitted changes to a tracked file: register and promote exit 4, nothing written."""
    gen(project, {"train.py": "# edited\n"})
    before = files(project)
    for args in (["register", "fd"], ["promote", "fd", "--to", "staging"]):
        code, _, err = invoke(project, *args)
        assert code == 4, err
        assert "uncommitted changes (train.py)" in err
    assert files(project) == before


def test_model_bytes_not_matching_dvc_lock_is_exit_3(project: Path) -> None:
    """A model whose bytes differ from dvc.lock's md5: exit 3 naming the file, nothing written."""
    (project / "models" / "model.bin").write_text("tampered\n")
    before = tags(project)
    code, _, err = invoke(project, "promote", "fd", "--to", "staging")
    assert code == 3
    assert "models/model.bin: dvc.lock records md5" in err
    assert tags(project) == before


def test_corrupt_cache_object_of_an_older_revision_is_exit_3(project: Path) -> None:
    """For a revision other than HEAD the DVC cache object is re-hashed."""
    from mlratchet import dvclock

    v1 = commits(project)[0]
    entry = dvclock.outputs(dvclock.load_lock(project, v1))["models/model.bin"]
    obj = dvclock.cache_path(project, entry)
    obj.chmod(0o644)
    obj.write_text("flipped\n")
    with pytest.raises(IntegrityError, match=r"its DVC cache object .* hashes to"):
        registry.register(project, "fd", rev=v1)
    obj.unlink()
    with pytest.raises(BadInputError, match="is not in the local DVC cache; run `dvc pull`"):
        registry.register(project, "fd", rev=v1)
    assert tags(project) == {}


def test_stage_order_requires_the_previous_stage(project: Path) -> None:
    """Production requires staging first: exit 1 and no tag; after staging it passes."""
    code, out, err = invoke(project, "promote", "fd", "--to", "production")
    assert code == 1
    assert "does not hold staging" in out and "no tag created" in err
    assert tags(project) == {}
    assert invoke(project, "promote", "fd", "--to", "staging")[0] == 0
    code, out, _ = invoke(project, "promote", "fd", "--to", "production")
    assert code == 0, out
    assert "holds staging (fd#staging#1)" in out
    assert set(tags(project)) == {"fd@v0.0.1", "fd#staging#1", "fd#production#2"}


def test_policy_can_allow_skipping_a_stage(project: Path) -> None:
    """`requires: []` lets a version go straight to production."""
    set_policy(
        project,
        "registry:\n  fd:\n    stages:\n"
        "      - {name: staging, verified: false, contract: false, finite_metrics: false}\n"
        "      - {name: production, requires: [], verified: false, contract: false,"
        " finite_metrics: false}\n",
    )
    result = registry.promote(project, "fd", "production", rev=commits(project)[2])
    assert result.outcome == "promoted"


def test_promoting_the_version_in_the_stage_again_is_a_no_op(project: Path) -> None:
    """The version already in the stage: exit 0, no new tag."""
    registry.promote(project, "fd", "staging")
    before = tags(project)
    code, _, err = invoke(project, "promote", "fd", "--to", "staging")
    assert code == 0
    assert "already in staging" in err
    assert tags(project) == before


def test_no_policy_for_the_artifact_or_stage_is_bad_input(project: Path) -> None:
    """Promotion happens only through committed gates: no policy, no promotion (exit 2)."""
    set_policy(project, "")
    code, _, err = invoke(project, "promote", "fd", "--to", "staging")
    assert code == 2
    assert "ratchet.registry declares no stages for 'fd'" in err
    code, _, err = invoke(project, "promote", "fd", "--to", "canary")
    assert code == 2


def test_policy_comes_from_head_not_the_work_tree(project: Path) -> None:
    """An uncommitted, laxer policy is never used: --dry-run refuses the dirty tree (exit 4)
    as the real run does, and once it is stashed the committed gates apply."""
    set_policy(
        project,
        "registry:\n  fd:\n    stages:\n"
        "      - {name: staging, verified: true, contract: false, finite_metrics: false}\n",
    )
    gen(project, {"ratchet.yaml": (project / "ratchet.yaml").read_text().replace("true", "false")})
    code, _, err = invoke(project, "promote", "fd", "--to", "staging", "--dry-run")
    assert code == 4
    assert "uncommitted changes (ratchet.yaml)" in err
    git(project, "stash")
    code, out, _ = invoke(project, "promote", "fd", "--to", "staging", "--dry-run")
    assert code == 1
    assert "no verify record" in out


def _strict(project: Path) -> None:
    set_policy(
        project,
        "registry:\n  fd:\n    contract: metrics/validation.json\n    stages:\n"
        "      - {name: staging, verified: true, contract: true, finite_metrics: false}\n",
    )


def test_verified_gate_reads_the_verify_note(project: Path) -> None:
    """`verified` passes only with verify.ok true for the commit and its dvc.lock."""
    import hashlib

    _strict(project)
    head = git(project, "rev-parse", "HEAD")
    lock_md5 = hashlib.md5((project / "dvc.lock").read_bytes()).hexdigest()  # noqa: S324
    record = {"ok": False, "verdict": "not-reproduced", "rev": head, "lock_md5": lock_md5}
    notes.update(project, head, "verify", record)
    refused = registry.promote(project, "fd", "staging")
    assert refused.outcome == "refused"
    assert [g.actual for g in refused.gates if g.gate == "verified"] == [
        "ratchet verify said: not-reproduced"
    ]
    notes.update(project, head, "verify", {"ok": True, "rev": head, "lock_md5": "0" * 32})
    stale = registry.promote(project, "fd", "staging")
    assert "verified another dvc.lock" in next(
        g.actual for g in stale.gates if g.gate == "verified"
    )
    notes.update(project, head, "verify", {"ok": True, "rev": head, "lock_md5": lock_md5})
    assert registry.promote(project, "fd", "staging").outcome == "promoted"


def test_contract_gate_reads_validation_json_at_the_commit(project: Path) -> None:
    """`data contract` fails when metrics/validation.json at the commit is not valid."""
    set_policy(
        project,
        "registry:\n  fd:\n    contract: metrics/validation.json\n    stages:\n"
        "      - {name: staging, verified: false, contract: true, finite_metrics: false}\n",
    )
    gen(project, {"metrics/validation.json": '{"valid": false}\n'})
    git(project, "commit", "-qam", "invalid data")
    result = registry.promote(project, "fd", "staging")
    assert result.outcome == "refused"
    assert [g.actual for g in result.gates if g.gate == "data contract"] == ['"valid": false']
    # the commit before, with the same model, still has valid data: the gate reads each commit
    assert registry.promote(project, "fd", "staging", rev="HEAD~1").outcome == "promoted"


def test_force_needs_a_reason_and_records_it(project: Path) -> None:
    """--force without --reason is a usage error; with it the reason is in the tag message."""
    _strict(project)
    code, _, err = invoke(project, "promote", "fd", "--to", "staging", "--force")
    assert code == 2 and "--reason" in err
    code, _, err = invoke(
        project, "promote", "fd", "--to", "staging", "--force", "--reason", "hotfix: CVE-1"
    )
    assert code == 0, err
    message = git(project, "tag", "-l", "--format=%(contents)", "fd#staging#1")
    assert "Forced past 1 failing gate(s) by Ratchet Test: hotfix: CVE-1" in message
    _, card = split_message(message)
    assert card is not None and card["forced"] and card["reason"] == "hotfix: CVE-1"


def test_dry_run_prints_the_gates_and_creates_nothing(project: Path) -> None:
    """--dry-run: the gate table and the tags it would create, nothing written."""
    before = files(project)
    code, out, err = invoke(project, "promote", "fd", "--to", "staging", "--dry-run", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["outcome"] == "planned"
    assert (data["registration_tag"], data["tag"]) == ("fd@v0.0.1", "fd#staging#1")
    assert files(project) == before


def test_card_is_stored_in_the_tag_and_shown(project: Path) -> None:
    """The model card (commit, output md5s, params, gates, who) travels in the tag."""
    v1 = commits(project)[0]
    registry.promote(project, "fd", "staging", rev=v1)
    code, out, _ = invoke(project, "registry", "show", "fd@v0.0.1", "--json")
    assert code == 0
    view = json.loads(out)
    (card,) = view["cards"]
    from mlratchet import dvclock

    lock = dvclock.outputs(dvclock.load_lock(project, v1))
    assert card["commit"] == v1
    assert card["outputs"]["data/features.csv"]["md5"] == lock["data/features.csv"].md5
    assert card["model_md5"] == lock["models/model.bin"].md5
    assert card["params"] == {"params.yaml": {"train.quality": 0.7}}
    assert card["promoted_by"] == {"name": "Ratchet Test", "email": "test@example.com"}
    assert card["gates"][0]["gate"] == "stage order"
    code, md, _ = invoke(project, "registry", "show", "fd#staging", "--md")
    assert md.startswith("# Model card: fd v0.0.1 -> staging")


def test_registry_references_resolve_as_revisions(project: Path) -> None:
    """NAME#STAGE, NAME@vX.Y.Z, NAME@latest and NAME#STAGE#N resolve to the right commits."""
    v1, v2, v3 = commits(project)
    registry.promote(project, "fd", "staging", rev=v1)
    registry.promote(project, "fd", "staging", rev=v2)
    registry.register(project, "fd", rev=v3)
    assert revs.resolve(project, "fd#staging").sha == v2
    assert revs.resolve(project, "fd@v0.0.1").sha == v1
    assert revs.resolve(project, "fd@latest").sha == v3
    assert revs.resolve(project, "fd#staging#1").sha == v1
    with pytest.raises(BadInputError, match="no version of fd is in stage 'production'"):
        revs.resolve(project, "fd#production")
    with pytest.raises(BadInputError, match=r"version v9\.9\.9 of fd is not registered"):
        revs.resolve(project, "fd@v9.9.9")


def test_promote_by_version_and_rollback(project: Path) -> None:
    """A version promoted again after another took the stage is a new assignment (rollback)."""
    v1, v2, _ = commits(project)
    registry.promote(project, "fd", "staging", rev=v1)
    registry.promote(project, "fd", "staging", rev=v2)
    result = registry.promote(project, "fd", "staging", version="v0.0.1")
    assert (result.outcome, result.tag, result.incumbent) == ("promoted", "fd#staging#3", "v0.0.2")
    assert load_state(project).artifacts["fd"].stages["staging"].version == "v0.0.1"


def test_same_tag_to_the_same_target_is_idempotent(project: Path) -> None:
    """Creating an existing tag again with the same target succeeds and changes nothing."""
    from mlratchet.registry.tags import create_tag, tagger_ident

    v1 = commits(project)[0]
    ident = tagger_ident(project)[0]
    first = create_tag(project, "fd@v5.0.0", v1, "Registering artifact fd version v5.0.0", ident)
    again = create_tag(project, "fd@v5.0.0", v1, "another message", ident)
    assert first.created and not again.created
    assert again.object == first.object == tags(project)["fd@v5.0.0"]


METRIC_POLICY = """\
metrics:
  model.val.auc: {direction: higher, tolerance: 0.005}
registry:
  fd:
    stages:
      - name: staging
        verified: false
        contract: false
        thresholds: {model.val.auc: {min: 0.71}}
        compare: {model.val.auc: {}}
"""


def test_metric_gates_read_each_commits_metrics(project: Path) -> None:
    """Thresholds and the comparison read the metrics each commit records (mlratchet.metrics)."""
    v1, v2, v3 = commits(project)
    set_policy(project, METRIC_POLICY)
    low = registry.promote(project, "fd", "staging", rev=v1)
    assert low.outcome == "refused"
    assert [(g.gate, g.actual, g.result) for g in low.gates if g.gate == "model.val.auc"] == [
        ("model.val.auc", "0.7", "fail")
    ]
    first = registry.promote(project, "fd", "staging", rev=v2)
    assert first.outcome == "promoted"
    assert [g.result for g in first.gates if g.gate == "vs staging"] == ["skip"]
    better = registry.promote(project, "fd", "staging", rev=v3)
    assert better.outcome == "promoted"
    row = next(g for g in better.gates if g.gate == "model.val.auc vs staging")
    assert (row.actual, row.result) == ("+0.03: 0.72 (v0.0.1) -> 0.75, improved", "pass")
    assert better.card is not None
    assert better.card["metrics"] == {
        "metrics/metrics.json": {"model.val.auc": 0.75, "model.val.loss": 0.25}
    }
    back = registry.promote(project, "fd", "staging", version="v0.0.1")
    assert back.outcome == "refused"
    row = next(g for g in back.gates if g.gate == "model.val.auc vs staging")
    assert row.actual == "-0.03: 0.75 (v0.0.2) -> 0.72, regressed"


def test_a_nan_metric_fails_the_finite_gate(project: Path) -> None:
    """A commit whose metrics contain NaN cannot be promoted (finite metrics gate)."""

    from helpers import commit_all, dvc

    # A NaN in the metrics (a NaN *param* would always look changed to DVC: NaN != NaN).
    train = (project / "train.py").read_text()
    gen(project, {"train.py": train.replace('{"auc": quality', '{"auc": float("nan")')})
    dvc(project, "repro", "-q")
    commit_all(project, "a broken model")
    set_policy(project, METRIC_POLICY)
    result = registry.promote(project, "fd", "staging")
    assert result.outcome == "refused"
    finite = next(g for g in result.gates if g.gate == "finite metrics")
    assert finite.result == "fail"
    assert "model.val.auc = NaN" in finite.actual
