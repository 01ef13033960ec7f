"""A second, non-flights project taken through the lifecycle with the real CLI.

Another team's DVC repository (tests/second_project.py): wine or diabetes data, its own metric
and stage names, registry stages ``staging`` and ``prod``, a DVC directory output, a local DVC
remote, and a variant with the DVC project in ``ml/`` below the git top. Every command runs as
a separate process and must never exit 70 (an internal error).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import second_project as sp
from helpers import commit_all, git
from second_project import Project, ratchet

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def wine_built(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Project:
    """The classifier project, committed with only ``prepare`` run (built once per session)."""
    return sp.build(tmp_path_factory.mktemp("wine") / "repo", sp.CLASSIFIER)


@pytest.fixture(scope="session")
def diabetes_built(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Project:
    """The regressor project (built once per session)."""
    return sp.build(tmp_path_factory.mktemp("diabetes") / "repo", sp.REGRESSOR)


@pytest.fixture(scope="session")
def subdir_built(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Project:
    """The classifier project with its DVC project in ``ml/`` (built once per session)."""
    return sp.build(tmp_path_factory.mktemp("wine-subdir") / "repo", sp.CLASSIFIER, subdir="ml")


@pytest.fixture(scope="session")
def forest_built(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Project:
    """The classifier project with a random forest (built once per session)."""
    return sp.build(tmp_path_factory.mktemp("wine-forest") / "repo", sp.FOREST)


@pytest.fixture
def wine(wine_built: Project, tmp_path: Path) -> Project:
    """A fresh copy of the classifier project."""
    return sp.copy(wine_built, tmp_path)


def metrics(project: Project) -> dict[str, float]:
    """The work tree's eval/metrics.json ``test`` section."""
    text = (project.dvc_root / "eval/metrics.json").read_text(encoding="utf-8")
    return dict(json.loads(text)["test"])


def set_size(project: Project, n_estimators: int) -> None:
    """Change train.n_estimators in params.yaml."""
    (project.dvc_root / "params.yaml").write_text(sp.params_yaml(n_estimators), encoding="utf-8")


def regressed(flavour: sp.Flavour, old: dict[str, float], new: dict[str, float]) -> bool:
    """Whether a declared metric moved the wrong way (the policy's tolerances are 0)."""
    higher, lower = (key.removeprefix("test.") for key in (flavour.higher, flavour.lower))
    return new[higher] < old[higher] or new[lower] > old[lower]


def test_lifecycle(wine: Project) -> None:
    """params check, repro, verify, diff, register, promote to staging then prod, get, report."""
    root, name = wine.dvc_root, wine.flavour.artifact
    ratchet(root, "params", "check")
    ratchet(root, "repro")
    commit_all(wine.git_root, "reproduce")
    out = ratchet(root, "verify")
    assert "reproduced bit for bit" in out.stderr

    before = metrics(wine)
    set_size(wine, 5)
    ratchet(root, "repro")
    after = metrics(wine)
    assert after != before
    worse = regressed(wine.flavour, before, after)
    diff = ratchet(root, "metrics", "diff", "HEAD", "workspace", "--check", "--md", expect=None)
    assert diff.returncode == (1 if worse else 0), diff.stderr
    assert "| test.accuracy |" in diff.stdout.replace("  ", " ")
    assert ("regressed" in diff.stdout) == worse
    commit_all(wine.git_root, "a smaller model")

    out = ratchet(root, "register", name)
    assert f"tag {name}@v0.0.1" in out.stderr
    ratchet(root, "promote", name, "--to", "staging")
    assert f"{name}#staging#1" in git(wine.git_root, "tag").split()
    ratchet(root, "verify")
    out = ratchet(root, "promote", name, "--to", "prod", "--rev", f"{name}#staging")
    assert "verified" in out.stdout and "data contract" in out.stdout
    assert f"{name}#prod#2" in git(wine.git_root, "tag").split()

    shown = json.loads(ratchet(root, "registry", "show", "--json").stdout)
    (artifact,) = shown["artifacts"]
    head = git(wine.git_root, "rev-parse", "HEAD")
    assert artifact["name"] == name
    assert artifact["stages"]["prod"]["version"] == "v0.0.1"
    assert artifact["stages"]["prod"]["commit"] == head
    assert "production" not in artifact["stages"]

    ratchet(root, "registry", "get", f"{name}#prod", "-o", "out/model.skops")
    model = (root / "models/model.skops").read_bytes()
    assert (root / "out/model.skops").read_bytes() == model

    report = ratchet(root, "report", "--base", "HEAD~1")
    assert report.stdout.startswith("<!-- mlratchet-report -->")
    assert "train.n_estimators" in report.stdout

    gto = sp.gto(wine.git_root, "show").stdout
    (row,) = [line for line in gto.splitlines() if name in line]
    assert row.count("v0.0.1") == 3  # latest, #prod, #staging
    assert "#prod" in gto and "#staging" in gto


def test_contract_infer_and_validate(wine: Project) -> None:
    """A contract inferred from the training rows accepts the test rows (with a margin)."""
    root = wine.dvc_root
    out = ratchet(root, "contract", "infer", "data/train.parquet", "-o", "contracts/check.yaml")
    assert "contracts/check.yaml" in out.stderr
    assert "alcohol:" in (root / "contracts/check.yaml").read_text(encoding="utf-8")
    ratchet(root, "validate", "data/train.parquet", "-c", "contracts/check.yaml")
    ratchet(root, "validate", "data/test.parquet", "-c", "contracts/table.yaml")


def test_regressor_metrics_verdict(diabetes_built: Project, tmp_path: Path) -> None:
    """The regressor's rmse/r2 rules: --check says no exactly when a metric moved the wrong way."""
    project = sp.copy(diabetes_built, tmp_path)
    root = project.dvc_root
    ratchet(root, "params", "check")
    ratchet(root, "repro")
    commit_all(project.git_root, "reproduce")
    ratchet(root, "verify")
    before = metrics(project)
    set_size(project, 80)
    ratchet(root, "repro")
    after = metrics(project)
    assert after != before
    diff = ratchet(root, "metrics", "diff", "--check", "--json", expect=None)
    assert diff.returncode == (1 if regressed(project.flavour, before, after) else 0), diff.stderr
    assert "test.rmse" in diff.stdout and "test.r2" in diff.stdout


def promoted_to_prod(project: Project) -> None:
    """Reproduce, commit, verify, register and promote HEAD to staging then prod."""
    root, name = project.dvc_root, project.flavour.artifact
    ratchet(root, "repro")
    commit_all(project.git_root, "reproduce")
    ratchet(root, "verify")
    ratchet(root, "promote", name, "--to", "staging")
    ratchet(root, "promote", name, "--to", "prod")


def test_report_compares_with_the_prod_holder(wine: Project) -> None:
    """The report's "vs production" section finds the version the policy's last stage holds."""
    promoted_to_prod(wine)
    set_size(wine, 5)
    ratchet(wine.dvc_root, "repro")
    report = ratchet(wine.dvc_root, "report", "--base", "HEAD").stdout
    assert "is in production yet" not in report
    assert "#prod" in report or "`prod`" in report


def test_report_reads_the_policys_contract_record(wine: Project) -> None:
    """The report's data-contract check reads eval/validation.json, as ratchet.yaml says."""
    ratchet(wine.dvc_root, "repro")
    commit_all(wine.git_root, "reproduce")
    report = ratchet(wine.dvc_root, "report", "--base", "HEAD").stdout
    assert "no metrics/validation.json" not in report
    assert "eval/validation.json" in report


def test_random_forest_with_trusted_types(forest_built: Project, tmp_path: Path) -> None:
    """A random forest, its Tree type trusted in ratchet.yaml, reproduces and verifies."""
    project = sp.copy(forest_built, tmp_path)
    ratchet(project.dvc_root, "repro")
    commit_all(project.git_root, "reproduce")
    ratchet(project.dvc_root, "verify")


def test_subdir_repro_and_verify(subdir_built: Project, tmp_path: Path) -> None:
    """With the DVC project in ml/: params check, repro and verify work from ml/."""
    project = sp.copy(subdir_built, tmp_path)
    assert project.dvc_root != project.git_root
    ratchet(project.dvc_root, "params", "check")
    ratchet(project.dvc_root, "repro")
    commit_all(project.git_root, "reproduce")
    out = ratchet(project.dvc_root, "verify")
    assert "reproduced bit for bit" in out.stderr


def test_subdir_registry(subdir_built: Project, tmp_path: Path) -> None:
    """With the DVC project in ml/: register, promote to staging and registry show work."""
    project = sp.copy(subdir_built, tmp_path)
    root, name = project.dvc_root, project.flavour.artifact
    ratchet(root, "repro")
    commit_all(project.git_root, "reproduce")
    ratchet(root, "register", name)
    ratchet(root, "promote", name, "--to", "staging")
    assert f"{name}#staging#1" in git(project.git_root, "tag").split()
    shown = json.loads(ratchet(root, "registry", "show", "--json").stdout)
    (artifact,) = shown["artifacts"]
    assert artifact["stages"]["staging"]["version"] == "v0.0.1"
    ratchet(root, "registry", "get", f"{name}#staging", "-o", "out/model.skops")
    assert (root / "out/model.skops").read_bytes() == (root / "models/model.skops").read_bytes()


def test_subdir_forged_outputs_and_stale_locks_are_refused(
    subdir_built: Project, tmp_path: Path
) -> None:
    """In ml/ below the git top: a forged committed metrics file or contract record, and
    params committed without a repro, are refused by verify, metrics diff --check, register
    and promote (exit 3, naming the file); restoring the file lets them through."""
    project = sp.copy(subdir_built, tmp_path)
    root, name = project.dvc_root, project.flavour.artifact
    ratchet(root, "repro")
    good = commit_all(project.git_root, "reproduce")
    for path in ("eval/metrics.json", "eval/validation.json"):
        original = (root / path).read_text()
        (root / path).write_text(original.replace("}", ', "rows_seen": 1}', 1))
        commit_all(project.git_root, f"edit {path} by hand")
        for args in (
            ("verify",),
            ("register", name),
            ("promote", name, "--to", "staging"),
        ):
            proc = ratchet(root, *args, expect=3)
            assert path in proc.stderr, (args, proc.stderr)
        if path == "eval/metrics.json":
            proc = ratchet(root, "metrics", "diff", good, "HEAD", "--check", expect=3)
            assert path in proc.stderr
        (root / path).write_text(original)
        commit_all(project.git_root, f"restore {path}")
    (root / "params.yaml").write_text(sp.params_yaml(7))
    commit_all(project.git_root, "params, no repro")
    proc = ratchet(root, "promote", name, "--to", "staging", expect=3)
    assert "train.n_estimators" in proc.stderr
    git(project.git_root, "revert", "--no-edit", "HEAD")
    ratchet(root, "promote", name, "--to", "staging")
    assert f"{name}#staging#1" in git(project.git_root, "tag").split()


def _drifted(project: Project) -> Path:
    """The test rows with half of the numeric columns moved by three standard deviations."""
    import pandas as pd

    frame = pd.read_parquet(project.dvc_root / "data/test.parquet")
    numeric = [c for c in frame.columns if c != "target" and frame[c].dtype.kind == "f"]
    for column in numeric[: max(1, len(numeric) // 2)]:
        frame[column] = frame[column] + 3 * frame[column].std()
    out = project.dvc_root / "out" / "drifted.parquet"
    out.parent.mkdir(exist_ok=True)
    frame.to_parquet(out, index=False)
    return out


@pytest.mark.parametrize("flavour", ["wine", "diabetes", "forest"])
def test_monitor_with_the_projects_own_model(
    flavour: str,
    wine_built: Project,
    diabetes_built: Project,
    forest_built: Project,
    tmp_path: Path,
) -> None:
    """`ratchet monitor --model` on any sklearn model: its own training rows are ok (exit 0),
    a batch with shifted features alerts (exit 1), and the JSON names the model's kind."""
    built = {"wine": wine_built, "diabetes": diabetes_built, "forest": forest_built}[flavour]
    project = sp.copy(built, tmp_path)
    root = project.dvc_root
    ratchet(root, "repro")
    commit_all(project.git_root, "reproduce")
    own = ratchet(root, "monitor", "data/train.parquet", "--model", "HEAD", "--json")
    report = json.loads(own.stdout)
    assert report["verdict"] == "ok", own.stderr
    assert report["prediction"] is not None
    drifted = ratchet(
        root, "monitor", str(_drifted(project)), "--model", "HEAD", "--json", expect=1
    )
    alerts = {a["kind"] for a in json.loads(drifted.stdout)["alerts"]}
    assert "dataset_drift" in alerts or "drift" in " ".join(alerts), drifted.stderr


def test_init_drafts_a_policy_the_project_can_use(wine: Project) -> None:
    """On this project without a policy, `ratchet init` drafts a ratchet.yaml that
    `ratchet params check` accepts, with directions guessed from its own metric names."""
    root = wine.dvc_root
    ratchet(root, "repro")
    (root / "ratchet.yaml").unlink()
    git(wine.git_root, "rm", "-q", "--cached", "ratchet.yaml")
    ratchet(root, "init")
    ratchet(root, "params", "check")
    from mlratchet.policy import load_policy

    policy = load_policy(root / "ratchet.yaml")
    assert policy.metrics["test.accuracy"].direction == "higher"
    assert policy.metrics["test.log_loss"].direction == "lower"
    assert [s.name for s in policy.registry[wine.flavour.artifact].stages] == [
        "staging",
        "production",
    ]
    assert (wine.git_root / ".github/workflows/ci.yml").is_file()
