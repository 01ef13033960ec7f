"""Builders for a second, non-flights project: another team's DVC repository using mlratchet.

The project knows nothing of the reference project: its data is scikit-learn's bundled wine (or
diabetes) table, its model a tree ensemble (gradient boosting, or a random forest), its metrics
``test.*`` in a nested JSON file, its artifact ``wine-model`` (or ``diabetes-model``), its
registry stages ``staging`` and ``prod``. Its stages are small scripts that import only
``mlratchet``'s public API, scikit-learn and pandas. It has a local DVC remote (a directory
outside the repository) and, in one variant, the DVC project sits in ``ml/`` below the git top
(``dvc init --subdir``).

:func:`build` makes the repository with everything committed and only ``prepare`` run (so that
the contract is inferred from real rows); :func:`reproduce` runs the rest, pushes, commits.
Tests build once per session and copy per test (:func:`copy`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from helpers import commit_all, dvc, gen, git, run

#: The exit status of an internal error: no command of the lifecycle may end with it.
INTERNAL = 70


@dataclass(frozen=True)
class Flavour:
    """What differs between the classifier and the regressor project."""

    artifact: str
    dataset: str  # the sklearn.datasets loader
    estimator: str  # the sklearn.ensemble class; n_estimators is its max_iter if it has one
    stratify: bool
    evaluate: str  # the body of the evaluate stage's metrics/plots code
    rules: str  # ratchet.yaml's metrics section
    higher: str  # a metric that is better higher
    lower: str  # a metric that is better lower


CLASSIFIER = Flavour(
    artifact="wine-model",
    dataset="load_wine",
    estimator="HistGradientBoostingClassifier",
    stratify=True,
    evaluate="""\
    proba = model.predict_proba(features)
    predicted = model.classes_[proba.argmax(axis=1)]
    metrics = {
        "test": {
            "accuracy": round(float(accuracy_score(target, predicted)), 6),
            "f1_macro": round(float(f1_score(target, predicted, average="macro")), 6),
            "log_loss": round(float(log_loss(target, proba, labels=model.classes_)), 6),
        },
        "rows": int(len(target)),
    }
    labels = [int(c) for c in model.classes_]
    matrix = confusion_matrix(target, predicted, labels=labels)
    lines = ["actual,predicted,count"]
    for i, actual in enumerate(labels):
        lines += [f"{actual},{p},{int(matrix[i, j])}" for j, p in enumerate(labels)]
    write_text("eval/plots/confusion.csv", "\\n".join(lines) + "\\n")
""",
    rules="""\
metrics:
  test.accuracy: {direction: higher, tolerance: 0.0}
  test.log_loss: {direction: lower, tolerance: 0.0}
""",
    higher="test.accuracy",
    lower="test.log_loss",
)

REGRESSOR = Flavour(
    artifact="diabetes-model",
    dataset="load_diabetes",
    estimator="HistGradientBoostingRegressor",
    stratify=False,
    evaluate="""\
    predicted = model.predict(features)
    metrics = {
        "test": {
            "rmse": round(float(mean_squared_error(target, predicted) ** 0.5), 6),
            "mae": round(float(mean_absolute_error(target, predicted)), 6),
            "r2": round(float(r2_score(target, predicted)), 6),
        },
        "rows": int(len(target)),
    }
    lines = ["actual,predicted"]
    lines += [f"{a:.6f},{p:.6f}" for a, p in zip(target, predicted, strict=True)]
    write_text("eval/plots/residuals.csv", "\\n".join(lines) + "\\n")
""",
    rules="""\
metrics:
  test.rmse: {direction: lower, tolerance: 0.0}
  test.r2: {direction: higher, tolerance: 0.0}
""",
    higher="test.r2",
    lower="test.rmse",
)

#: The same projects with a random forest: its trees (``sklearn.tree._tree.Tree``) are not on
#: skops' default trusted list, so ratchet.yaml trusts them under ``models.trusted_types``.
FOREST = replace(CLASSIFIER, estimator="RandomForestClassifier")
FOREST_REGRESSOR = replace(REGRESSOR, estimator="RandomForestRegressor")

PARAMS_CODE = '''\
def params(section, cls):
    """One section of params.yaml as the frozen dataclass ``cls`` (unknown keys refused)."""
    return from_data(cls, read_yaml("params.yaml")[section], source="params.yaml", key=section)
'''


def prepare_script(flavour: Flavour) -> str:
    """stages/prepare.py: the bundled table, split deterministically by the seed of params."""
    stratify = 'frame["target"]' if flavour.stratify else "None"
    return f'''\
"""Stage prepare: scikit-learn's bundled table, split by params.yaml's seed."""

from dataclasses import dataclass

from sklearn.datasets import {flavour.dataset}
from sklearn.model_selection import train_test_split

from mlratchet import from_data, read_yaml, run_stage, write_table


@dataclass(frozen=True)
class Prepare:
    seed: int
    test_size: float


{PARAMS_CODE}

def main() -> None:
    p = params("prepare", Prepare)
    frame = {flavour.dataset}(as_frame=True).frame
    train, test = train_test_split(
        frame, test_size=p.test_size, random_state=p.seed, stratify={stratify}
    )
    write_table(train.sort_index().reset_index(drop=True), "data/train.parquet")
    write_table(test.sort_index().reset_index(drop=True), "data/test.parquet")


if __name__ == "__main__":
    run_stage("prepare", main)
'''


VALIDATE = '''\
"""Stage validate: both splits against the committed contract; stops the pipeline if broken."""

from pathlib import Path

from mlratchet import run_stage, validate_tables, write_json


def main() -> None:
    contract = Path("contracts/table.yaml")
    tables = {
        "train": (Path("data/train.parquet"), contract),
        "test": (Path("data/test.parquet"), contract),
    }
    record, error = validate_tables(tables, "eval/validation.json")
    write_json("eval/validation.json", record)
    if error is not None:
        raise error


if __name__ == "__main__":
    run_stage("validate", main)
'''


def train_script(flavour: Flavour) -> str:
    """stages/train.py: a tree ensemble, its size and seed from params, saved with skops."""
    if flavour.estimator.startswith("HistGradientBoosting"):
        size = "max_iter=p.n_estimators, max_depth=p.max_depth, random_state=p.seed"
    else:
        size = "n_estimators=p.n_estimators, max_depth=p.max_depth, random_state=p.seed, n_jobs=1"
    return f'''\
"""Stage train: a tree ensemble on the training split, saved with mlratchet.save_model."""

from dataclasses import dataclass

from sklearn.ensemble import {flavour.estimator}

from mlratchet import from_data, read_table, read_yaml, run_stage, save_model


@dataclass(frozen=True)
class Train:
    seed: int
    n_estimators: int
    max_depth: int | None


{PARAMS_CODE}

def main() -> None:
    p = params("train", Train)
    frame = read_table("data/train.parquet")
    model = {flavour.estimator}({size})
    model.fit(frame.drop(columns="target"), frame["target"])
    save_model(model, "models/model.skops")


if __name__ == "__main__":
    run_stage("train", main)
'''


def evaluate_script(flavour: Flavour) -> str:
    """stages/evaluate.py: nested metrics in eval/metrics.json and a CSV in eval/plots/."""
    return f'''\
"""Stage evaluate: metrics on the test split (eval/metrics.json) and a CSV in eval/plots/."""

from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
)

from mlratchet import load_model, read_table, run_stage, write_json, write_text


def main() -> None:
    model = load_model("models/model.skops")
    frame = read_table("data/test.parquet")
    features, target = frame.drop(columns="target"), frame["target"]
{flavour.evaluate}    write_json("eval/metrics.json", metrics)


if __name__ == "__main__":
    run_stage("evaluate", main)
'''


def dvc_yaml(flavour: Flavour) -> str:
    """The pipeline: prepare -> validate -> train -> evaluate, and the model artifact."""
    return f"""\
stages:
  prepare:
    cmd: python stages/prepare.py
    deps: [stages/prepare.py]
    params: [prepare.seed, prepare.test_size]
    outs: [data/train.parquet, data/test.parquet]
  validate:
    cmd: python stages/validate.py
    deps: [stages/validate.py, contracts/table.yaml, data/train.parquet, data/test.parquet]
    metrics:
      - eval/validation.json:
          cache: false
  train:
    cmd: python stages/train.py
    deps: [stages/train.py, data/train.parquet, eval/validation.json]
    params: [train.seed, train.n_estimators, train.max_depth]
    outs: [models/model.skops]
  evaluate:
    cmd: python stages/evaluate.py
    deps: [stages/evaluate.py, models/model.skops, data/test.parquet]
    outs: [eval/plots]
    metrics:
      - eval/metrics.json:
          cache: false
artifacts:
  {flavour.artifact}:
    path: models/model.skops
    type: model
"""


def params_yaml(n_estimators: int = 30, *, seed: int = 7) -> str:
    """params.yaml: one section per stage, seeds included."""
    return (
        f"prepare:\n  seed: {seed}\n  test_size: 0.3\n"
        f"train:\n  seed: {seed}\n  n_estimators: {n_estimators}\n  max_depth: 6\n"
    )


def ratchet_yaml(flavour: Flavour) -> str:
    """The policy: metric rules, registry stages staging then prod, the monitor's reference."""
    forest = flavour.estimator.startswith("RandomForest")
    trusted = "models:\n  trusted_types: [sklearn.tree._tree.Tree]\n" if forest else ""
    return f"""\
{flavour.rules}registry:
  {flavour.artifact}:
    contract: eval/validation.json
    evaluation_data: [data/test.parquet]
    stages:
      - name: staging
        verified: false
        contract: false
      - name: prod
        verified: true
monitor:
  reference: data/train.parquet
{trusted}"""


@dataclass(frozen=True)
class Project:
    """A built project: the git top, the DVC root (the same, or ``ml/`` below), its remote."""

    git_root: Path
    dvc_root: Path
    remote: Path
    flavour: Flavour


def build(dest: Path, flavour: Flavour = CLASSIFIER, *, subdir: str | None = None) -> Project:
    """Create the project at ``dest``: committed, ``prepare`` run, the contract inferred.

    The DVC remote is ``dest.parent / "remote"``; with ``subdir`` the DVC project is
    ``dest / subdir`` (``dvc init --subdir``).
    """
    dest.mkdir(parents=True)
    remote = dest.parent / "remote"
    remote.mkdir()
    git(dest, "init", "-q")
    root = dest / subdir if subdir else dest
    root.mkdir(exist_ok=True)
    dvc(root, "init", "-q", *(["--subdir"] if subdir else []))
    dvc(root, "config", "core.autostage", "false")
    # Relative, so that a copy of the repository next to a copy of the remote uses the copy.
    dvc(root, "remote", "add", "-d", "local", os.path.relpath(remote, root))
    gen(
        root,
        {
            "stages/prepare.py": prepare_script(flavour),
            "stages/validate.py": VALIDATE,
            "stages/train.py": train_script(flavour),
            "stages/evaluate.py": evaluate_script(flavour),
            "dvc.yaml": dvc_yaml(flavour),
            "params.yaml": params_yaml(),
            "ratchet.yaml": ratchet_yaml(flavour),
            ".gitignore": "/contracts/check.yaml\n/out/\n",
        },
    )
    dvc(root, "repro", "-q", "prepare")
    ratchet(
        root,
        "contract",
        "infer",
        "data/train.parquet",
        "-o",
        "contracts/table.yaml",
        "--margin",
        "0.5",
    )
    commit_all(dest, f"a {flavour.artifact} project, prepared")
    return Project(dest, root, remote, flavour)


def reproduce(project: Project, message: str = "reproduce") -> str:
    """Run the whole pipeline with DVC, push to the remote, commit; return the commit."""
    dvc(project.dvc_root, "repro", "-q")
    dvc(project.dvc_root, "push", "-q")
    return commit_all(project.git_root, message)


def copy(project: Project, dest: Path) -> Project:
    """A copy of ``project`` (and its remote) under ``dest``, for one test to change."""
    dest.mkdir(parents=True, exist_ok=True)
    git_root = dest / project.git_root.name
    shutil.copytree(project.git_root, git_root, symlinks=True)
    remote = dest / "remote"
    shutil.copytree(project.remote, remote, symlinks=True)
    dvc_root = git_root / project.dvc_root.relative_to(project.git_root)
    return Project(git_root, dvc_root, remote, project.flavour)


def ratchet(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None, expect: int | None = 0
) -> subprocess.CompletedProcess[str]:
    """Run the real ``ratchet`` CLI in ``cwd``; never exit 70, else exit ``expect`` if given."""
    proc = run([sys.executable, "-m", "mlratchet", *args], cwd, check=False, env=env)
    shown = (
        f"ratchet {' '.join(args)} exited {proc.returncode}\n"
        f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    assert proc.returncode != INTERNAL, shown
    if expect is not None:
        assert proc.returncode == expect, shown
    return proc


def gto(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``gto`` (the registry's oracle) in ``cwd``."""
    return run([str(Path(sys.executable).parent / "gto"), *args], cwd)
