"""Hermetic git and DVC for every test, and a template git+dvc repo copied per test.

As in DVC's own suite: the environment is fixed once per session (a temporary HOME, no system or
global git config, a fixed identity and default branch, DVC analytics off and its site cache in
the temporary directory), and one template repository, with ``git init`` and ``dvc init`` done,
is built once and copied for each test that asks for ``tmp_repo``.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import commit_all, dvc, git


@pytest.fixture(scope="session", autouse=True)
def hermetic_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Isolate git and DVC from the machine's configuration for the whole session."""
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Ratchet Test\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n"
        "[advice]\n\tdetachedHead = false\n",
        encoding="utf-8",
    )
    patch = pytest.MonkeyPatch()
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(gitconfig),
        "GIT_AUTHOR_NAME": "Ratchet Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Ratchet Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "DVC_NO_ANALYTICS": "1",
        "DVC_SITE_CACHE_DIR": str(home / "dvc-site-cache"),
        "DVC_GLOBAL_CONFIG_DIR": str(home / "dvc-global"),
        "DVC_SYSTEM_CONFIG_DIR": str(home / "dvc-system"),
        # Stage commands say `python`: make it this interpreter, whatever PATH the suite got.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    for key, value in env.items():
        patch.setenv(key, value)
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "RATCHET_REPO", "RATCHET_TRACEBACK"):
        patch.delenv(key, raising=False)
    yield
    patch.undo()


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Path:
    """A git repo with DVC initialised and one commit, built once per session."""
    root = tmp_path_factory.mktemp("template") / "repo"
    root.mkdir()
    git(root, "init", "-q")
    dvc(root, "init", "-q")
    dvc(root, "config", "core.autostage", "false")
    commit_all(root, "init dvc")
    return root


@pytest.fixture
def tmp_repo(template_repo: Path, tmp_path: Path) -> Path:
    """A fresh copy of the template repo for this test."""
    dest = tmp_path / "repo"
    shutil.copytree(template_repo, dest, symlinks=True)
    return dest


@pytest.fixture(scope="session")
def reproduced_project(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Path:
    """The reference project (its tracked files) as a fresh git repo, its pipeline run once.

    Shared by the slow tests of the session: treat it as read-only (clone it to change it).
    """
    import os

    from helpers import copy_project

    project = copy_project(tmp_path_factory.mktemp("reproduced") / "project")
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    dvc(project, "repro", env=env)
    return project
