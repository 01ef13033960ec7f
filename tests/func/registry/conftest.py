"""Fixtures: the registry test project (see registry_project.py), built once, copied per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from registry_project import DVC_YAML, OPEN_POLICY, QUALITIES, TRAIN, params

from helpers import commit_all, dvc, gen


@pytest.fixture(scope="session")
def project_template(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project with three committed, reproduced versions (built once per session)."""
    root = tmp_path_factory.mktemp("registry-project") / "repo"
    shutil.copytree(template_repo, root, symlinks=True)
    gen(
        root,
        {
            "train.py": TRAIN,
            "dvc.yaml": DVC_YAML,
            "ratchet.yaml": OPEN_POLICY,
            "metrics/validation.json": '{"valid": true}\n',
        },
    )
    for quality in QUALITIES:
        gen(root, {"params.yaml": params(quality)})
        dvc(root, "repro", "-q")
        commit_all(root, f"train quality {quality}")
    return root


@pytest.fixture
def project(project_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the project for one test."""
    dest = tmp_path / "project"
    shutil.copytree(project_template, dest, symlinks=True)
    return dest
