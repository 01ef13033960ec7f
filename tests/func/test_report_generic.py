"""`ratchet report` on a project that is not the reference one: its own names, everywhere.

The project's policy (``ratchet.yaml``) names its registry stages ``candidate`` then ``prod``
and declares its data-contract record; ``dvc.yaml`` declares a DVC plot ``pr_curve`` over
``plots/pr.json`` (x: recall, y: precision). Nothing is called ``production``, nothing is a
ROC curve. Two commits train quality 0.70 and 0.75 (HEAD), reproduced with real DVC.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from helpers import commit_all, dvc, gen, git, run

TRAIN = """\
import json
from pathlib import Path

from ruamel.yaml import YAML

q = YAML(typ="safe").load(Path("params.yaml").read_text())["train"]["quality"]
Path("models").mkdir(exist_ok=True)
Path("models/model.bin").write_text(f"model of quality {q}\\n")
Path("plots").mkdir(exist_ok=True)
pr = [{"recall": i / 10, "precision": round(1 - (i / 10) * (1 - q), 6)} for i in range(11)]
Path("plots/pr.json").write_text(json.dumps(pr, indent=2) + "\\n")
Path("metrics").mkdir(exist_ok=True)
metrics = {"val": {"auc": q}}
Path("metrics/metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\\n")
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train.quality]
    outs: [models/model.bin]
    metrics:
      - metrics/metrics.json:
          cache: false
    plots:
      - plots/pr.json:
          cache: false
plots:
  - pr_curve:
      x: recall
      y:
        plots/pr.json: precision
artifacts:
  fd:
    path: models/model.bin
    type: model
"""

POLICY = """\
metrics:
  val.auc: {direction: higher, tolerance: 0.001}
registry:
  fd:
    contract: checks/contract.json
    stages:
      - name: candidate
        verified: false
        contract: false
        finite_metrics: false
      - name: prod
        verified: false
        contract: false
        finite_metrics: false
"""


def ratchet(cwd: Path, *args: str) -> str:
    """The real `ratchet` CLI in ``cwd``; it must exit 0; its stdout."""
    proc = run([sys.executable, "-m", "mlratchet", *args], cwd, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def build(top: Path, sub: str | None) -> Path:
    """A git repo at ``top`` with the project in ``top/sub`` (``dvc init --subdir``) or at the
    top; two reproduced commits. Returns the DVC root."""
    top.mkdir(parents=True)
    git(top, "init", "-q")
    root = top / sub if sub else top
    root.mkdir(exist_ok=True)
    dvc(root, "init", "-q", *(["--subdir"] if sub else []))
    dvc(root, "config", "core.autostage", "false")
    gen(root, {"train.py": TRAIN, "dvc.yaml": DVC_YAML, "ratchet.yaml": POLICY})
    for quality in (0.70, 0.75):
        gen(root, {"params.yaml": f"train:\n  quality: {quality}\n"})
        dvc(root, "repro", "-q")
        commit_all(top, f"train quality {quality}")
    return root


@pytest.fixture(scope="session")
def generic_template(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Path:
    """The project at the git top, built once per session."""
    return build(tmp_path_factory.mktemp("generic") / "repo", None)


@pytest.fixture
def project(generic_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the project for one test."""
    dest = tmp_path / "project"
    shutil.copytree(generic_template, dest, symlinks=True)
    return dest


def gto(repo: Path, *args: str) -> None:
    """The real `gto`, writing GTO-format registry tags."""
    run([str(Path(sys.executable).parent / "gto"), *args], repo)


def test_metrics_vs_the_policys_last_stage_whatever_its_name(project: Path) -> None:
    """Stages `candidate` then `prod`: the section is "Metrics vs `prod`" and shows the version
    `prod` holds against head; before any promotion it says no version is in prod yet."""
    text = ratchet(project, "report", "--base", "HEAD~1", "--head", "HEAD")
    assert "### Metrics vs `prod`" in text
    assert "no version of fd is in prod yet" in text
    assert "production" not in text
    first = git(project, "rev-parse", "HEAD~1")
    gto(project, "register", "fd", first)
    gto(project, "assign", "fd", "--version", "v0.0.1", "--stage", "prod")
    text = ratchet(project, "report", "--base", "HEAD", "--head", "workspace")
    assert f"**fd** v0.0.1 in `prod` (commit `{first[:7]}`, tag `fd#prod#1`):" in text
    assert "| 0.7 " in text and "| 0.75 " in text
    data = json.loads(ratchet(project, "report", "--base", "HEAD", "--json"))
    assert data["production"][0]["stage"] == "prod"
    assert data["production"][0]["version"] == "v0.0.1"


def test_an_artifact_without_registry_policy_is_skipped_saying_why(project: Path) -> None:
    """No registry section in ratchet.yaml: one line saying no stage is declared for fd."""
    gen(project, {"ratchet.yaml": "metrics:\n  val.auc: {direction: higher}\n"})
    commit_all(project, "no registry policy")
    text = ratchet(project, "report", "--base", "HEAD", "--head", "HEAD")
    assert "ratchet.yaml declares no registry stages for fd" in text


def test_the_projects_dvc_plot_is_charted_not_a_roc_curve(project: Path) -> None:
    """The `pr_curve` plot of dvc.yaml is drawn head against base, titled by its id, on its own
    axes (recall, precision); there is no ROC chart; --plots-dir writes its PNG."""
    text = ratchet(project, "report", "--base", "HEAD~1", "--head", "HEAD")
    assert 'title "pr_curve: blue = head' in text
    assert 'x-axis "recall"' in text and 'y-axis "precision"' in text
    assert "ROC" not in text and "roc" not in text
    data = json.loads(ratchet(project, "report", "--base", "HEAD~1", "--json"))
    (plot,) = data["charts"]["plots"]
    assert (plot["id"], plot["file"], plot["x"], plot["y"]) == (
        "pr_curve",
        "plots/pr.json",
        "recall",
        "precision",
    )
    assert plot["head"][-1] == pytest.approx(0.75) and plot["base"][-1] == pytest.approx(0.7)
    out = project.parent / "pngs"
    ratchet(project, "report", "--base", "HEAD~1", "--plots-dir", str(out))
    first = (out / "plot-pr_curve.png").read_bytes()
    ratchet(project, "report", "--base", "HEAD~1", "--plots-dir", str(out))
    assert (out / "plot-pr_curve.png").read_bytes() == first


def test_no_plots_in_dvc_yaml_is_a_note(project: Path) -> None:
    """A dvc.yaml without plots: the charts section says there is no plot to draw."""
    text = DVC_YAML.split("\nplots:\n", maxsplit=1)[0]
    text += "\nartifacts:\n  fd:\n    path: models/model.bin\n"
    text = text.replace("    plots:\n      - plots/pr.json:\n          cache: false\n", "")
    gen(project, {"dvc.yaml": text})
    out = ratchet(project, "report", "--base", "HEAD")
    assert "declares no plot with x and y fields" in out
    assert "pr_curve" not in out


def test_contract_record_comes_from_the_policy(project: Path) -> None:
    """The record ratchet.yaml declares is read (valid, then absent with its path named); a
    policy without one says no contract record is declared."""
    gen(project, {"checks/contract.json": '{"valid": true}\n'})
    assert "✅ `checks/contract.json`: valid." in ratchet(project, "report", "--base", "HEAD")
    (project / "checks/contract.json").unlink()
    assert "no checks/contract.json at workspace" in ratchet(project, "report", "--base", "HEAD")
    gen(project, {"ratchet.yaml": POLICY.replace("    contract: checks/contract.json\n", "")})
    commit_all(project, "no contract")
    text = ratchet(project, "report", "--base", "HEAD")
    assert "ratchet.yaml declares no data-contract record" in text


def test_report_on_a_dvc_project_in_a_subfolder(tmp_path: Path, hermetic_env: None) -> None:
    """`dvc init --subdir`: the report finds dvc.yaml, ratchet.yaml, the plot and the metrics in
    the subfolder, and the version in prod."""
    root = build(tmp_path / "top", "ml")
    gto(root, "register", "fd", git(root, "rev-parse", "HEAD~1"))
    gto(root, "assign", "fd", "--version", "v0.0.1", "--stage", "prod")
    text = ratchet(root, "report", "--base", "HEAD~1", "--head", "HEAD")
    assert "### Metrics vs `prod`" in text
    assert "**fd** v0.0.1 in `prod`" in text
    assert 'title "pr_curve: blue = head' in text
    assert "| val.auc " in text and "improved" in text
