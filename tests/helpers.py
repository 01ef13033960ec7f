"""Helpers shared by the tests: run git and dvc, write files, snapshot a tree."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(
    cmd: list[str],
    cwd: Path,
    *,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run a command, capture text output; on failure show it in the assertion message."""
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        capture_output=True,
        text=True,
        env=None if env is None else dict(env),
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git in ``cwd`` and return its stripped stdout."""
    return run(["git", *args], cwd, check=check).stdout.strip()


def dvc(
    cwd: Path, *args: str, check: bool = True, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed DVC (this interpreter's) in ``cwd``."""
    return run([sys.executable, "-m", "dvc", *args], cwd, check=check, env=env)


def gen(root: Path, files: Mapping[str, str | bytes]) -> None:
    """Write files under ``root`` (parents created), as DVC's test helper ``tmp_dir.gen`` does."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def commit_all(root: Path, message: str) -> str:
    """Stage everything and commit; return the new commit's sha."""
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (symlinks by target), plus every git ref."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = f"link:{path.readlink()}"
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    if (root / ".git").exists():
        out["<refs>"] = git(root, "for-each-ref", "--format=%(refname) %(objectname)")
    return out


def copy_project(dest: Path) -> Path:
    """Copy the working-tree version of every file git tracks here into a fresh git repo."""
    files = git(ROOT, "ls-files", "-z").split("\0")
    dest.mkdir(parents=True, exist_ok=True)
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    git(dest, "init", "-q")
    commit_all(dest, "copy of the project")
    return dest


def count_walks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many commits each ``metrics history`` read walks (reads from git, not from
    the index or the memo): a list that grows by one count per walk."""
    import importlib

    module = importlib.import_module("mlratchet.metrics.history")  # not the function
    counts: list[int] = []
    original = module._plan

    def spy(root, reader, commits):  # type: ignore[no-untyped-def]
        counts.append(len(commits))
        return original(root, reader, commits)

    monkeypatch.setattr(module, "_plan", spy)
    return counts
