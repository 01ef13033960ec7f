"""An isolated copy of one commit, for ``ratchet verify``: nothing of the user's is written.

- The code: ``git clone --shared --no-checkout`` into a temporary directory, then a detached
  checkout of the commit. The clone reads the user's objects through ``alternates``; the
  user's repository is only read (``git worktree add`` would write into the user's ``.git``).
- DVC: the clone's ``.dvc/config.local`` points its cache and DVC's site cache (state and
  index databases) into the temporary directory, so the run starts from an empty cache and an
  empty run-cache, and gets the user's remotes (relative local paths made absolute) plus one
  more, ``ratchet-user-cache``: the user's DVC cache, read like a remote.
- Python: entries of ``sys.path`` and ``PYTHONPATH`` inside the user's repository (an
  editable install's ``src/``) are pointed at the clone, so the stages import the commit's
  code, not the work tree's.
- Cleanup: removed at the end, also on failure and Ctrl-C (unless kept on request). A
  directory left by a ratchet that was killed (``kill -9``) is removed by the next verify.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlratchet.gitio import run

PREFIX = "ratchet-verify-"
OWNER_FILE = "ratchet-owner.json"
USER_CACHE_REMOTE = "ratchet-user-cache"


@dataclass(frozen=True)
class Sandbox:
    """A temporary checkout of one commit."""

    directory: Path  # the temporary directory (removed at the end)
    git_root: Path  # the clone's work tree
    dvc_root: Path  # the DVC project inside it (same relative place as in the user's repo)

    @property
    def cache(self) -> Path:
        """The sandbox's own DVC cache."""
        return self.directory / "cache"


def _process_start(pid: int) -> float | None:
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def owned_tempdir(prefix: str) -> Path:
    """A new temporary directory that records its owner (this process's pid and start time)."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    (directory / OWNER_FILE).write_text(
        json.dumps({"pid": os.getpid(), "started": _process_start(os.getpid())}),
        encoding="utf-8",
    )
    return directory


def sweep_abandoned(prefix: str = PREFIX, tmp_dir: Path | None = None) -> list[Path]:
    """Remove ``prefix*`` temporary directories whose owner process is gone (``kill -9``)."""
    removed = []
    base = Path(tmp_dir or tempfile.gettempdir())
    for candidate in base.glob(f"{prefix}*"):
        owner = candidate / OWNER_FILE
        try:
            info = json.loads(owner.read_text(encoding="utf-8"))
            pid, started = int(info["pid"]), float(info["started"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not ours, or being created right now
        alive = _process_start(pid)
        if alive is None or abs(alive - started) > 1.0:
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


@contextlib.contextmanager
def checkout(git_root: Path, sha: str, dvc_rel: Path, *, keep: bool = False) -> Iterator[Sandbox]:
    """A sandbox holding commit ``sha`` of ``git_root``; removed on exit unless ``keep``."""
    sweep_abandoned(PREFIX)
    directory = owned_tempdir(PREFIX)
    try:
        clone = directory / "repo"
        run(
            directory,
            "clone",
            "--quiet",
            "--shared",
            "--no-checkout",
            "--",
            str(git_root),
            str(clone),
        )
        run(clone, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", sha)
        yield Sandbox(directory, clone, clone / dvc_rel)
    finally:
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)


def user_dvc_config(dvc_root: Path) -> dict[str, Any]:
    """The user's merged DVC config (system, global, repo, local), paths made absolute."""
    from dvc.config import Config

    return dict(Config(dvc_dir=str(dvc_root / ".dvc")))


def user_cache_dir(dvc_root: Path, config: dict[str, Any]) -> Path:
    """The user's DVC cache directory."""
    configured = (config.get("cache") or {}).get("dir")
    return Path(configured) if configured else dvc_root / ".dvc" / "cache"


def configure_dvc(
    sandbox: Sandbox, user_config: dict[str, Any], cache_of_user: Path | None
) -> None:
    """Point the sandbox's DVC at its own cache, its own site cache, and the user's remotes
    (plus the user's cache, read as a remote, when there is one on this machine)."""
    from dvc.config import Config

    config = Config(dvc_dir=str(sandbox.dvc_root / ".dvc"), validate=False)
    with config.edit("local") as conf:
        conf["cache"]["dir"] = str(sandbox.cache)
        conf["core"]["site_cache_dir"] = str(sandbox.directory / "site-cache")
        conf["core"]["check_update"] = False
        conf["core"]["analytics"] = False
        for name, options in (user_config.get("remote") or {}).items():
            conf["remote"][name] = dict(options)
        if cache_of_user is not None:
            conf["remote"][USER_CACHE_REMOTE] = {"url": str(cache_of_user)}
        default = (user_config.get("core") or {}).get("remote")
        if default:
            conf["core"]["remote"] = default


def python_path(user_root: Path, sandbox: Sandbox) -> str:
    """``PYTHONPATH`` for the stages: the user's repo paths on the Python path, in the clone."""
    top = user_root.resolve()
    entries: list[str] = []

    def remap(entry: str) -> str | None:
        if not entry:
            return None
        path = Path(entry).resolve()
        if not path.is_relative_to(top):
            return entry
        inside = sandbox.git_root / path.relative_to(top)
        return str(inside) if inside.is_dir() else None

    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        mapped = remap(entry)
        if mapped and mapped not in entries:
            entries.append(mapped)
    for entry in sys.path[1:]:
        if entry and Path(entry).resolve().is_relative_to(top):
            mapped = remap(entry)
            if mapped and mapped not in entries:
                entries.append(mapped)
    return os.pathsep.join(entries)
