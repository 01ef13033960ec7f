"""Helpers for registry tests: a small git+DVC project with a model and three versions.

The pipeline has one stage that "trains" a model whose bytes and metrics depend on
``train.quality``; ``dvc.yaml`` declares the model as artifact ``fd``. Three commits hold three
versions (quality 0.70, 0.72, 0.75, newest at HEAD), each reproduced with real DVC, so every
model is in the DVC cache and ``dvc.lock`` pins it. ``ratchet.yaml`` carries a registry policy
with stages ``staging`` then ``production`` and no checks; tests commit stricter policies.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from helpers import commit_all, gen, git, run

TRAIN = """\
import json
from pathlib import Path

from ruamel.yaml import YAML

quality = YAML(typ="safe").load(Path("params.yaml").read_text())["train"]["quality"]
Path("models").mkdir(exist_ok=True)
Path("models/model.bin").write_text(f"model of quality {quality}\\n")
Path("data").mkdir(exist_ok=True)
Path("data/features.csv").write_text(f"x,y\\n1,{quality}\\n")
Path("metrics").mkdir(exist_ok=True)
metrics = {"model": {"val": {"auc": quality, "loss": round(1 - quality, 6)}}}
Path("metrics/metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\\n")
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train.quality]
    outs: [models/model.bin, data/features.csv]
    metrics:
      - metrics/metrics.json:
          cache: false
artifacts:
  fd:
    path: models/model.bin
    type: model
"""

OPEN_POLICY = """\
registry:
  fd:
    stages:
      - name: staging
        verified: false
        contract: false
        finite_metrics: false
      - name: production
        verified: false
        contract: false
        finite_metrics: false
"""

QUALITIES = (0.70, 0.72, 0.75)


def params(quality: float) -> str:
    """params.yaml text with the given quality."""
    return f"train:\n  quality: {quality}\n"


def set_policy(repo: Path, policy: str) -> str:
    """Commit a new policy as ratchet.yaml; return the commit."""
    gen(repo, {"ratchet.yaml": policy})
    return commit_all(repo, "policy")


def commits(repo: Path) -> list[str]:
    """The three version commits, oldest first."""
    return git(repo, "rev-list", "--reverse", "HEAD").split()[1:4]


def ratchet(
    repo: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the real `ratchet` CLI (a separate process) in ``repo``."""
    return run([sys.executable, "-m", "mlratchet", *args], repo, check=check, env=env)


def gto(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real `gto` (the oracle) in ``repo``."""
    exe = str(Path(sys.executable).parent / "gto")
    return run([exe, *args], repo, check=check)


def tags(repo: Path) -> dict[str, str]:
    """Every tag -> the object its ref points to."""
    out = git(repo, "for-each-ref", "--format=%(refname:strip=2) %(objectname)", "refs/tags")
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


def env_with(**extra: str) -> dict[str, str]:
    """The current environment plus ``extra``."""
    return {**os.environ, **extra}


def files(repo: Path) -> dict[str, str]:
    """snapshot() without .git/index, which `git status` refreshes on its own, and mlratchet's
    index (.git/mlratchet/index/), a cache that any read may fill."""
    from helpers import snapshot

    return {
        k: v
        for k, v in snapshot(repo).items()
        if k != ".git/index" and not k.startswith(".git/mlratchet/index/")
    }
