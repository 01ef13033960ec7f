"""Is a commit's ``dvc.lock`` the truth about its files? Verify's cheap check, with no run.

``ratchet verify`` asks this before it runs anything; ``ratchet register`` and ``ratchet
promote`` ask it too, so a commit whose lock is stale (params changed and committed without a
repro), cut short, hand-edited, or whose committed outputs (metrics, plots data, records) were
edited after the pipeline ran is refused before any gate reads its numbers (exit 3).

Three findings, cheapest first:

1. hashes in ``dvc.lock`` that are not md5 hashes (DVC itself crashes on them);
2. committed outputs whose bytes differ from the lock's record
   (:func:`mlratchet.integrity.committed_mismatches`);
3. the lock against its own ``dvc.yaml``, params and git-tracked dependencies, read by DVC's
   own loader in a throwaway clone of the commit (:func:`mlratchet.reproduce.verifier.find_stale`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from mlratchet.errors import BadInputError, IntegrityError


@dataclass(frozen=True)
class LockCheck:
    """What :func:`check_lock` found at one commit ([] problems: the lock holds)."""

    sha: str
    lock_path: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether ``dvc.lock`` agrees with the commit's ``dvc.yaml``, params and files."""
        return not self.problems


class StaleLockError(IntegrityError):
    """A commit's ``dvc.lock`` does not match its own ``dvc.yaml``, params or files (exit 3)."""

    def __init__(self, check: LockCheck, what: str) -> None:
        more = f" (+{len(check.problems) - 1} more)" if len(check.problems) > 1 else ""
        super().__init__(
            f"{check.lock_path} at {check.sha[:7]} does not hold: {check.problems[0]}{more}; "
            f"{what} refused (run `ratchet repro` and commit; `ratchet verify --rev "
            f"{check.sha[:7]}` lists every problem)"
        )
        self.check = check


def quick_problems(dvc_root: Path, sha: str, lock_bytes: bytes, where: str) -> list[str]:
    """Findings 1 and 2, read from git alone (milliseconds)."""
    from mlratchet.dvclock import parse_lock
    from mlratchet.integrity import committed_mismatches, describe
    from mlratchet.reproduce.verifier import malformed_hashes

    problems = malformed_hashes(lock_bytes)
    if problems:
        return problems
    stages = parse_lock(lock_bytes, f"dvc.lock at {where}")
    return [describe(m, where) for m in committed_mismatches(dvc_root, sha, stages)]


@dataclass(frozen=True)
class CommittedLock:
    """Where a commit's ``dvc.lock`` is, and its bytes (None: the commit has none)."""

    git_root: Path
    dvc_root: Path
    dvc_rel: Path  # the DVC root relative to the git top level
    sha: str
    lock_path: str  # relative to the git top level
    data: bytes | None


def committed_lock(repo: Path | str, rev: str, *, what: str) -> CommittedLock:
    """Resolve ``rev`` (a commit, not the work tree) and read its ``dvc.lock`` from git."""
    from mlratchet import gitio, revs
    from mlratchet.reproduce.engine import find_dvc_root

    git_root = gitio.toplevel(repo)
    dvc_root = find_dvc_root(repo)
    dvc_rel = dvc_root.resolve().relative_to(git_root.resolve())
    revision = revs.resolve(git_root, rev)
    if revision.sha is None:
        raise BadInputError(f"{what} checks a commit, not the work tree: commit, then {what}")
    lock_path = (dvc_rel / "dvc.lock").as_posix()
    data = gitio.read_blob(git_root, revision.sha, lock_path)
    return CommittedLock(git_root, dvc_root, dvc_rel, revision.sha, lock_path, data)


def check_lock(repo: Path | str, rev: str = "HEAD") -> LockCheck:
    """All three findings for commit ``rev`` (a second or two: one shared clone, no run)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    from mlratchet.dvclock import parse_lock
    from mlratchet.reproduce import sandbox as sb
    from mlratchet.reproduce.engine import translate_dvc_error
    from mlratchet.reproduce.verifier import find_stale

    found = committed_lock(repo, rev, what="a lock check")
    sha, lock_path, lock_bytes = found.sha, found.lock_path, found.data
    if lock_bytes is None:
        return LockCheck(sha, lock_path, (f"{lock_path} does not exist at {sha[:7]}",))
    problems = quick_problems(found.dvc_root, sha, lock_bytes, sha[:7])
    if problems:
        return LockCheck(sha, lock_path, tuple(problems))
    committed = parse_lock(lock_bytes, f"{lock_path} at {sha[:7]}")
    with sb.checkout(found.git_root, sha, found.dvc_rel) as box:
        user_config = sb.user_dvc_config(found.dvc_root)
        sb.configure_dvc(box, user_config, sb.user_cache_dir(found.dvc_root, user_config))
        try:
            with contextlib.chdir(box.dvc_root), Repo(str(box.dvc_root)) as sandbox_repo:
                problems = find_stale(sandbox_repo, committed)
        except DvcException as exc:
            problems = [f"DVC cannot load the pipeline: {translate_dvc_error(exc)}"]
    return LockCheck(sha, lock_path, tuple(problems))


def require_lock(repo: Path | str, rev: str, what: str) -> LockCheck:
    """:func:`check_lock`, raising :class:`StaleLockError` (exit 3) when the lock does not hold."""
    check = check_lock(repo, rev)
    if not check.ok:
        raise StaleLockError(check, what)
    return check
