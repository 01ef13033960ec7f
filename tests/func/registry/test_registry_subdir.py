"""The registry on a DVC project in a subfolder (`dvc init --subdir`), commands run there.

dvc.yaml, dvc.lock and ratchet.yaml live in `ml/`; the git repository (and its tags) is the
folder above. Nothing should assume the DVC root is the git top level.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from registry_project import DVC_YAML, TRAIN

from helpers import commit_all, dvc, gen, git, run

POLICY = """\
registry:
  fd:
    stages:
      - name: staging
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
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr}"
    return proc.stdout


@pytest.fixture
def sub(tmp_path: Path, hermetic_env: None) -> Path:
    """A git repo whose DVC project is `ml/`, one reproduced commit; returns `ml/`."""
    top = tmp_path / "top"
    top.mkdir()
    git(top, "init", "-q")
    gen(top, {"README.md": "a repo with more than ML in it\n"})
    root = top / "ml"
    root.mkdir()
    dvc(root, "init", "-q", "--subdir")
    dvc(root, "config", "core.autostage", "false")
    gen(
        root,
        {
            "train.py": TRAIN,
            "dvc.yaml": DVC_YAML,
            "ratchet.yaml": POLICY,
            "params.yaml": "train:\n  quality: 0.7\n",
        },
    )
    dvc(root, "repro", "-q")
    commit_all(top, "train")
    return root


def test_register_promote_show_get_in_a_subfolder_project(sub: Path) -> None:
    """register, promote --to staging (the stages of ml/ratchet.yaml), registry show --json and
    registry get all exit 0, and get writes the model dvc.lock pins."""
    ratchet(sub, "register", "fd")
    ratchet(sub, "promote", "fd", "--to", "staging")
    shown = json.loads(ratchet(sub, "registry", "show", "--json"))
    (fd,) = [a for a in shown["artifacts"] if a["name"] == "fd"]
    assert fd["declared"] is True
    assert json.dumps(fd).count("staging") >= 1
    one = json.loads(ratchet(sub, "registry", "show", "fd", "--json"))
    assert one["artifact"]["name"] == "fd"
    out = sub.parent / "delivered.bin"
    ratchet(sub, "registry", "get", "fd#staging", "--out", str(out))
    assert out.read_text() == "model of quality 0.7\n"
    tags = git(sub, "tag", "--list")
    assert "fd@v0.0.1" in tags and "fd#staging#1" in tags
