"""Before registry tags are pushed: can everyone else get what they will name?

A pushed tag is a promise to every clone: ``git checkout NAME#prod`` and ``ratchet registry get
NAME#prod`` work there. So ``register --push`` and ``promote --push`` refuse (exit 5) when

- the commit is on no branch of the git remote (a tag pushed alone would drag a commit nobody
  reviewed onto the remote, or point at one that a force-push may drop), or
- the model's bytes are not on the DVC remote (every other clone would fail to fetch them).
"""

from __future__ import annotations

from pathlib import Path

from mlratchet.errors import BadInputError, RefusedError
from mlratchet.gitio import run


class NotPublishedError(RefusedError):
    """What the pushed tags would name is not where other clones can get it (exit 5)."""


def _remote_heads(root: Path, remote: str) -> dict[str, str]:
    proc = run(root, "ls-remote", "--heads", remote, check=False)
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        raise BadInputError(
            f"cannot list the branches of git remote {remote!r}: "
            f"{lines[-1] if lines else 'git ls-remote failed'}"
        )
    heads = {}
    for line in proc.stdout.decode(errors="replace").splitlines():
        sha, _, ref = line.partition("\t")
        heads[ref.removeprefix("refs/heads/")] = sha
    return heads


def check_commit_on_remote(root: Path, remote: str, commit: str) -> str:
    """The branch of ``remote`` that contains ``commit`` (first by name); exit 5 if none."""
    heads = _remote_heads(root, remote)
    unknown = []
    for branch, sha in sorted(heads.items()):
        if run(root, "cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode != 0:
            unknown.append(branch)
            continue
        if sha == commit or (
            run(root, "merge-base", "--is-ancestor", commit, sha, check=False).returncode == 0
        ):
            return branch
    hint = (
        f"; this clone lacks the tips of {', '.join(unknown[:3])}: run `git fetch {remote}`"
        if unknown
        else f"; push it first (git push {remote} HEAD:BRANCH) and merge it as usual"
    )
    raise NotPublishedError(
        f"commit {commit[:12]} is on no branch of git remote {remote!r}, so the tags would name "
        f"a commit other clones cannot fetch{hint}"
    )


def check_model_on_remote(root: Path, commit: str, path: str) -> str:
    """The DVC remote holding ``path``'s bytes as ``dvc.lock`` at ``commit`` records them."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    from mlratchet.dvclock import load_lock, outputs

    entry = outputs(load_lock(root, commit)).get(path)
    if entry is None or entry.md5 is None:
        raise BadInputError(f"{path}: dvc.lock at {commit[:7]} records no hash for it")
    try:
        with Repo(str(root)) as repo:
            name = (repo.config.get("core") or {}).get("remote")
            if not name:
                raise NotPublishedError(
                    f"{path}: the project has no default DVC remote, so other clones cannot "
                    "fetch the model; add one (dvc remote add -d NAME URL) and `dvc push`"
                )
            hash_name = "md5" if entry.hash_name == "md5" else "md5-dos2unix"
            odb = repo.cloud.get_remote_odb(name, hash_name=hash_name)
            present = odb.exists(entry.md5.removesuffix(".dir") + (".dir" if entry.is_dir else ""))
    except DvcException as exc:
        raise BadInputError(f"DVC remote: cannot check it for {path}: {exc}") from None
    except OSError as exc:
        raise BadInputError(
            f"DVC remote {name!r} could not be reached to check {path}: {exc}"
        ) from None
    if not present:
        raise NotPublishedError(
            f"{path} (md5 {entry.md5}) is not on DVC remote {name!r}; run `dvc push` first, "
            "or other clones could not fetch the model the tags name"
        )
    return str(name)


def check_published(root: Path, remote: str, commit: str, path: str) -> None:
    """Both checks, git first (it is the cheaper)."""
    check_commit_on_remote(root, remote, commit)
    check_model_on_remote(root, commit, path)
