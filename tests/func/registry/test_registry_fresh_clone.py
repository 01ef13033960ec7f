"""Delivery from a fresh clone: the model is not in the clone's DVC cache, only on the DVC
remote, which the project's config names by a relative path (`url = ../../remote`, as the
second project and the reference project do). `registry get` and `serve --check` fetch it from
there and re-hash it, as a CD job on a new machine would."""

from __future__ import annotations

import hashlib
import json

import pytest

import second_project as sp
from helpers import git
from second_project import ratchet

pytestmark = pytest.mark.slow


def test_a_fresh_clone_fetches_the_model_from_a_relative_remote(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    project = sp.build(tmp_path_factory.mktemp("fresh") / "repo", sp.CLASSIFIER)
    sp.reproduce(project)
    ratchet(project.dvc_root, "register", project.flavour.artifact)
    clone = project.git_root.parent / "clone"
    git(project.git_root.parent, "clone", "-q", str(project.git_root), str(clone))
    assert "../" in (clone / ".dvc" / "config").read_text(encoding="utf-8")
    assert not (clone / ".dvc" / "cache").exists()
    out = clone / "got.skops"
    ratchet(clone, "registry", "get", f"{project.flavour.artifact}@v0.0.1", "-o", str(out))
    lock = git(clone, "show", "HEAD:dvc.lock")
    assert hashlib.md5(out.read_bytes(), usedforsecurity=False).hexdigest() in lock
    checked = json.loads(ratchet(clone, "serve", "HEAD", "--check", "--json").stdout)
    assert checked["model_md5"] in lock
