"""DVC experiment refs: ``refs/exps/<baseline[:2]>/<baseline[2:]>/<name>``, read with plain git.

An experiment is one commit whose parent is its baseline commit, kept under a ref in DVC's
namespace, so ``dvc exp show``, ``dvc exp apply``, ``dvc exp push/pull`` and DVC's VS Code
extension see ours and we see theirs. DVC's own working refs (``refs/exps/exec/...``,
``refs/exps/celery/...``, stashes) are skipped, as DVC skips them. Names follow DVC's rule:
a valid ``git check-ref-format`` component, without ``/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mlratchet.errors import BadInputError, ConflictError
from mlratchet.gitio import GitError, run

NAMESPACE = "refs/exps"
#: DVC's working namespaces under refs/exps (never experiments).
_SKIP = ("apply", "celery", "exec", "temp", "stash")
_SHA = re.compile(r"[0-9a-f]{40}")
_ZERO = "0" * 40


@dataclass(frozen=True, order=True)
class ExpRef:
    """One experiment: its baseline commit, its name, and (when read from git) its commit."""

    baseline: str
    name: str
    sha: str | None = None  # the experiment's commit

    @property
    def ref(self) -> str:
        """The full ref name."""
        return f"{NAMESPACE}/{self.baseline[:2]}/{self.baseline[2:]}/{self.name}"

    @classmethod
    def parse(cls, ref: str, sha: str | None = None) -> ExpRef | None:
        """The experiment a ref names, or None for DVC's working refs and anything else."""
        parts = ref.split("/")
        if len(parts) != 5 or "/".join(parts[:2]) != NAMESPACE or parts[2] in _SKIP:
            return None
        baseline = parts[2] + parts[3]
        if not _SHA.fullmatch(baseline) or not parts[4]:
            return None
        return cls(baseline, parts[4], sha)


def check_name(name: str) -> str:
    """``name`` if it can name an experiment (DVC's rule), else :class:`BadInputError` (2)."""
    bad = (
        not name
        or "/" in name
        or name.startswith(("-", "."))
        or run(".", "check-ref-format", f"{NAMESPACE}/00/x/{name}", check=False).returncode != 0
    )
    if bad:
        raise BadInputError(
            f"invalid experiment name {name!r}: it must be one git ref component "
            "(no '/', spaces, '..', '~', '^', ':', '?', '*', '[', '\\' or control characters; "
            "see git check-ref-format)"
        )
    return name


def list_refs(repo: Path | str, baseline: str | None = None) -> list[ExpRef]:
    """Every experiment in ``repo`` (of ``baseline`` only, when given), sorted by baseline
    then name. One ``git for-each-ref`` call."""
    prefix = NAMESPACE if baseline is None else f"{NAMESPACE}/{baseline[:2]}/{baseline[2:]}"
    out = run(repo, "for-each-ref", "--format=%(objectname) %(refname)", prefix).stdout
    found = []
    for line in out.decode("utf-8", "replace").splitlines():
        sha, _, ref = line.partition(" ")
        exp = ExpRef.parse(ref, sha)
        if exp is not None:
            found.append(exp)
    return sorted(found)


def find(repo: Path | str, name: str, *, prefer: str | None = None) -> ExpRef | None:
    """The experiment called ``name`` (or given as its full ref): the one of baseline
    ``prefer`` (usually HEAD) if there is one, else the only one of that name. Two of that
    name and none of ``prefer``: :class:`BadInputError` listing them. None: no such experiment.
    """
    if name.startswith(NAMESPACE + "/"):
        exp = ExpRef.parse(name)
        if exp is None:
            return None
        matches = [e for e in list_refs(repo, exp.baseline) if e.name == exp.name]
        return matches[0] if matches else None
    if "/" in name or not name:
        return None
    matches = [e for e in list_refs(repo) if e.name == name]
    if prefer is not None:
        mine = [e for e in matches if e.baseline == prefer]
        if mine:
            return mine[0]
    if len(matches) > 1:
        where = ", ".join(e.baseline[:7] for e in matches)
        raise BadInputError(
            f"experiment name {name!r} is ambiguous: it exists on baselines {where}; "
            f"give the full ref, e.g. {matches[0].ref}"
        )
    return matches[0] if matches else None


def create(repo: Path | str, exp: ExpRef, sha: str) -> ExpRef:
    """Point a new ref at ``sha``; an existing ref of that name is :class:`ConflictError` (4),
    never moved."""
    try:
        run(repo, "update-ref", "-m", f"ratchet exp: {exp.name}", exp.ref, sha, _ZERO)
    except GitError as exc:
        raise ConflictError(f"experiment {exp.name!r} already exists ({exp.ref}): {exc}") from None
    return ExpRef(exp.baseline, exp.name, sha)


def reachable_from_branch(repo: Path | str, sha: str) -> bool:
    """Whether ``sha`` is on a local or remote-tracking branch (not only under refs/exps)."""
    out = run(
        repo,
        "for-each-ref",
        "--count=1",
        "--contains",
        sha,
        "--format=%(refname)",
        "refs/heads",
        "refs/remotes",
    ).stdout
    return bool(out.strip())


def names(refs: Iterable[ExpRef]) -> set[str]:
    """The names of ``refs``."""
    return {e.name for e in refs}


@dataclass(frozen=True)
class Branched:
    """``ratchet exp branch``: the experiment and the new branch at its commit."""

    exp: ExpRef
    branch: str

    def to_json(self) -> dict[str, str | None]:
        """The ``--json`` shape."""
        return {
            "experiment": self.exp.name,
            "ref": self.exp.ref,
            "rev": self.exp.sha,
            "baseline": self.exp.baseline,
            "branch": self.branch,
        }


def branch(repo: Path | str, name: str, new_branch: str | None = None) -> Branched:
    """A new branch at experiment ``name``'s commit (its parent is the baseline): open a pull
    request from it, and CI, verify and the promotion gates judge it as any change. An
    existing branch is :class:`ConflictError` (4), never moved."""
    from mlratchet.gitio import head

    exp = find(repo, name, prefer=head(repo))
    if exp is None or exp.sha is None:
        raise BadInputError(f"unknown experiment {name!r} (see `ratchet exp show --all`)")
    target = new_branch or f"exp/{exp.name}"
    if run(repo, "check-ref-format", "--branch", target, check=False).returncode != 0:
        raise BadInputError(f"invalid branch name {target!r}")
    try:
        run(
            repo,
            "update-ref",
            "-m",
            f"ratchet exp branch {exp.name}",
            f"refs/heads/{target}",
            exp.sha,
            _ZERO,
        )
    except GitError:
        raise ConflictError(f"branch {target!r} already exists; give another name") from None
    return Branched(exp, target)
