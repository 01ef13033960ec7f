"""`ratchet init` on real git+dvc repos: a policy load_policy accepts, audited workflows."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import commit_all, dvc, gen, git, snapshot
from mlratchet.cli.group import cli
from mlratchet.policy import load_policy
from mlratchet.yamlio import load_yaml
from unit.test_workflows import assert_hardened, schema_check, zizmor

TRAIN = (
    "import json, pathlib\n"
    "pathlib.Path('model.pkl').write_bytes(b'model')\n"
    "json.dump({'acc': 0.91, 'loss': 0.23, 'n_rows': 100, 'val': {'f1': 0.8}},\n"
    "          open('metrics.json', 'w'), sort_keys=True)\n"
)
DVC_YAML = (
    "stages:\n"
    "  train:\n"
    "    cmd: python train.py\n"
    "    deps: [train.py]\n"
    "    outs: [model.pkl]\n"
    "    metrics:\n"
    "      - metrics.json: {cache: false}\n"
    "artifacts:\n"
    "  classifier: {path: model.pkl, type: model}\n"
)
WORKFLOWS = [f".github/workflows/{name}" for name in ("ci.yml", "ct.yml", "monitor.yml")]


def _project(root: Path) -> Path:
    """A DVC project in ``root`` with a train stage, run once: metrics.json and a model."""
    gen(root, {"train.py": TRAIN, "dvc.yaml": DVC_YAML})
    dvc(root, "repro", "-q")
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, template_repo: Path) -> Path:
    """The project at the git top level, built once for the module."""
    root = tmp_path_factory.mktemp("init") / "repo"
    shutil.copytree(template_repo, root, symlinks=True)
    _project(root)
    commit_all(root, "train")
    return root


@pytest.fixture
def project(built: Path, tmp_path: Path) -> Path:
    """A fresh copy of the built project for this test."""
    dest = tmp_path / "repo"
    shutil.copytree(built, dest, symlinks=True)
    return dest


def _init(root: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["init", "-R", str(root), *args])


def test_init_drafts_a_policy_load_policy_accepts(project: Path) -> None:
    """The drafted ratchet.yaml is valid: acc higher, loss lower, staging then production."""
    result = _init(project)
    assert result.exit_code == 0, result.output
    policy = load_policy(project / "ratchet.yaml")
    assert policy.metrics["acc"].direction == "higher"
    assert policy.metrics["loss"].direction == "lower"
    assert policy.metrics["val.f1"].direction == "higher"
    assert "n_rows" not in policy.metrics
    gates = policy.registry["classifier"]
    assert [s.name for s in gates.stages] == ["staging", "production"]
    assert [s.verified for s in gates.stages] == [False, True]
    assert all(s.finite_metrics and s.compare for s in gates.stages)
    assert gates.contract is None
    text = (project / "ratchet.yaml").read_text()
    assert "# guessed from the name: review" in text
    assert "n_rows" in text  # unknown direction: listed in a comment
    assert "# monitor:" in text and "# ct:" in text


def test_init_reports_each_file_on_stderr_and_json_on_stdout(project: Path) -> None:
    """One line per written file on stderr; --json puts the result on stdout."""
    result = _init(project, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["written"] is True
    assert [f["path"] for f in data["files"]] == ["ratchet.yaml", *WORKFLOWS]
    assert data["metrics"]["acc"] == "higher" and data["metrics"]["n_rows"] is None
    assert result.stderr.splitlines() == [f"wrote {p}" for p in ["ratchet.yaml", *WORKFLOWS]]


def test_drafted_workflows_pass_zizmor_and_the_schema(project: Path) -> None:
    """The drafted workflows are hardened as ours are: zizmor clean, schema valid, pinned."""
    assert _init(project).exit_code == 0
    proc = zizmor(project / ".github/workflows")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr
    paths = [project / p for p in WORKFLOWS]
    proc = schema_check(paths)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for path in paths:
        assert_hardened(path)


def test_drafted_workflows_run_only_ratchet_and_pip(project: Path) -> None:
    """Every run step is the install or a generic ratchet command naming the artifact."""
    assert _init(project).exit_code == 0
    steps = [
        step["run"]
        for p in WORKFLOWS
        for job in load_yaml(project / p)["jobs"].values()
        for step in job["steps"]
        if "run" in step
    ]
    assert all(s.startswith(("ratchet ", "pip install ")) for s in steps), steps
    assert any("--model 'classifier#production'" in s for s in steps)
    assert "ratchet repro --pull" in steps and "ratchet verify" in steps
    for step in steps:
        words = shlex.split(step)
        if words[0] == "ratchet":
            cli.make_context("ratchet", words[1:], resilient_parsing=True)


def test_install_spec_comes_from_the_projects_requirements(project: Path) -> None:
    """A requirements file naming mlratchet sets the install step; --install overrides it."""
    gen(project, {"requirements.txt": "scikit-learn==1.5\nmlratchet[all]==0.1.0  # pinned\n"})
    assert _init(project).exit_code == 0
    assert "pip install 'mlratchet[all]==0.1.0'" in (project / WORKFLOWS[0]).read_text()
    assert _init(project, "--force", "--install", "mlratchet==9.9").exit_code == 0
    assert "pip install mlratchet==9.9" in (project / WORKFLOWS[0]).read_text()


def test_second_run_is_a_conflict_and_changes_nothing(project: Path) -> None:
    """Without --force an existing file is exit 4 naming it, and every file stays byte-identical."""
    assert _init(project).exit_code == 0
    (project / WORKFLOWS[1]).unlink()  # one target missing: still nothing is written
    before = snapshot(project)
    result = _init(project)
    assert result.exit_code == 4, result.output
    assert "ratchet.yaml" in result.stderr and "--force" in result.stderr
    assert snapshot(project) == before


def test_force_overwrites(project: Path) -> None:
    """--force replaces an edited file with a fresh draft."""
    assert _init(project).exit_code == 0
    (project / "ratchet.yaml").write_text("metrics: {}\n")
    result = _init(project, "--force")
    assert result.exit_code == 0, result.output
    assert "acc:" in (project / "ratchet.yaml").read_text()
    assert "wrote ratchet.yaml (overwrote)" in result.stderr


def test_dry_run_writes_nothing(project: Path) -> None:
    """--dry-run prints every file's contents and writes none."""
    before = snapshot(project)
    result = _init(project, "--dry-run")
    assert result.exit_code == 0, result.output
    assert snapshot(project) == before
    assert "--- ratchet.yaml" in result.stdout and "--- .github/workflows/ci.yml" in result.stdout
    assert "would write ratchet.yaml" in result.stderr


def test_contract_record_is_named_when_found(project: Path) -> None:
    """A declared metrics file holding a `valid` record becomes the artifact's contract gate."""
    gen(project, {"validation.json": json.dumps({"valid": True, "rows": 3})})
    text = (
        (project / "dvc.yaml")
        .read_text()
        .replace("artifacts:", "metrics: [validation.json]\nartifacts:")
    )
    gen(project, {"dvc.yaml": text})
    assert _init(project).exit_code == 0
    assert load_policy(project / "ratchet.yaml").registry["classifier"].contract == (
        "validation.json"
    )


def test_subdir_project_policy_in_subfolder_workflows_at_git_top(tmp_path: Path) -> None:
    """`dvc init --subdir`: ratchet.yaml next to dvc.yaml, workflows at the git top, run there."""
    top = tmp_path / "mono"
    sub = top / "ml" / "churn"
    sub.mkdir(parents=True)
    git(top, "init", "-q")
    dvc(sub, "init", "--subdir", "-q")
    _project(sub)
    result = _init(sub)
    assert result.exit_code == 0, result.output
    policy = load_policy(sub / "ratchet.yaml")
    assert policy.metrics["acc"].direction == "higher"
    assert not (top / "ratchet.yaml").exists()
    for rel in WORKFLOWS:
        data = load_yaml(top / rel)
        assert data["defaults"]["run"]["working-directory"] == "ml/churn"
    assert not (sub / ".github").exists()
    assert zizmor(top / ".github/workflows").returncode == 0


def test_not_a_dvc_repository_is_exit_2(tmp_path: Path) -> None:
    """Outside a DVC project: exit 2, telling to run dvc init, nothing written."""
    git(tmp_path, "init", "-q")
    result = _init(tmp_path)
    assert result.exit_code == 2, result.output
    assert "not inside a DVC project (no .dvc directory); run `dvc init`" in result.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / ".git"]


def test_guessed_directions() -> None:
    """The rightmost telling token decides: log_loss_skill is higher, val.rmse lower, rows none."""
    from mlratchet.scaffold import guess_direction

    assert guess_direction("skill.val.log_loss_skill") == "higher"
    assert guess_direction("val.rmse") == "lower"
    assert guess_direction("test.roc_auc") == "higher"
    assert guess_direction("n_rows") is None
    assert sys.version_info >= (3, 11)


def test_metrics_not_yet_computed_still_drafts_a_valid_policy(tmp_repo: Path) -> None:
    """Before the first `dvc repro` (no metrics.json) init drafts gates without rules; says so."""
    project = tmp_repo
    gen(project, {"train.py": TRAIN, "dvc.yaml": DVC_YAML})
    result = _init(project)
    assert result.exit_code == 0, result.output
    policy = load_policy(project / "ratchet.yaml")
    assert policy.metrics == {}
    assert [s.name for s in policy.registry["classifier"].stages] == ["staging", "production"]
    assert "run `dvc repro` and rerun init" in (project / "ratchet.yaml").read_text()


def test_primary_metric_prefers_the_validation_split() -> None:
    """The compare gates use the best-ranked metric, measured on validation rows over test rows."""
    from mlratchet.scaffold import _rank

    keys = ["m.test.roc_auc", "m.val.f1", "m.val.roc_auc", "m.train.roc_auc", "m.val.loss"]
    assert min(keys, key=_rank) == "m.val.roc_auc"
