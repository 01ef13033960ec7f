"""Where a DVC project lives in its git repository: one light module, so that a command that
only needs the project's directory (``ratchet registry show``) imports nothing of metrics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Root:
    """Where the DVC project lives: its directory, the git work tree, and the path between."""

    path: Path  # the DVC root (the directory holding .dvc/), or the git top level without one
    git_top: Path
    prefix: str  # the DVC root relative to the git top level, "" or "sub/dir/"


def find_root(start: Path | str) -> Root:
    """The DVC project containing ``start``: the nearest directory with ``.dvc/`` in git."""
    from mlratchet import index
    from mlratchet.gitio import not_a_repository, run

    # One git call for the work tree and the git directory (where mlratchet keeps its index).
    proc = run(start, "rev-parse", "--show-toplevel", "--git-common-dir", check=False)
    lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    if proc.returncode != 0 or len(lines) < 2:
        raise not_a_repository(start)
    top = Path(lines[0]).resolve()
    here = Path(start).resolve()
    index.remember((start, here, top), Path(start) / lines[1])
    candidate = here
    while True:
        if (candidate / ".dvc").is_dir():
            break
        if candidate in {top, candidate.parent}:
            candidate = top
            break
        candidate = candidate.parent
    index.remember((candidate,), Path(start) / lines[1])
    rel = candidate.relative_to(top).as_posix()
    return Root(path=candidate, git_top=top, prefix="" if rel == "." else rel + "/")


__all__ = ["Root", "find_root"]
