"""Continuous training for any DVC project: new data in, retrain, verify, commit, push, promote.

:func:`run_ct` is ``ratchet ct``. The project says how new data comes in, in the ``ct:`` section
of its ``ratchet.yaml`` (:class:`~mlratchet.policy.CtPolicy`); everything else is the toolkit's
own commands, called as a library:

1. the work tree must be clean (tracked files): :class:`DirtyWorktreeError`, exit 4;
2. each ``ct.refresh`` command runs in the DVC root (a shell command; failing: exit 2);
3. ``ratchet repro`` of the whole pipeline; if ``dvc.lock``, the pipeline's git-tracked outputs
   (``cache: false``) and the ``ct.commit`` paths are as at HEAD: "nothing new";
4. one commit of those paths (``ct: ...``), and the compute record stored on it;
5. ``ratchet verify`` of the commit (its verdict in the git note): "not reproducible" if not;
6. ``dvc push``, then ``git push`` of the commit and the notes to ``ct.remote``;
7. ``ratchet promote`` of ``ct.artifact`` to ``ct.stage`` through its gates (``--push``);
   with ``registry.NAME.evaluate`` the holder of the stage and the new model are scored on the
   same rows (champion/challenger), and the run's ``comparison`` carries both scores, promoted
   or refused.

State left behind. Before the commit, any failure (a refresh or a stage failing, a refresh that
changed a tracked file ``ct.commit`` does not list) restores every tracked file of the work tree
to HEAD and the DVC outputs to HEAD's ``dvc.lock`` (``dvc checkout``); untracked files a refresh
created stay (they do not make the tree dirty). After the commit, the commit stays, the tree is
clean: "not reproducible" leaves it unpushed and unpromoted; a push that fails leaves it local
(exit 4 or 2; rerun ``git push``); "gates refused" leaves it pushed and untagged.
"""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from mlratchet.errors import BadInputError, CheckFailedError, ConflictError
from mlratchet.policy import POLICY_FILE, CtPolicy, Policy

if TYPE_CHECKING:
    from mlratchet.registry.champion import ComparisonJSON

__all__ = ["CtJson", "CtRun", "Step", "run_ct"]

Outcome = Literal["promoted", "nothing new", "committed", "gates refused", "not reproducible"]
StepResult = Literal["ok", "nothing new", "skipped", "refused", "failed"]

#: Pathspecs of the .gitignore files DVC edits when a stage gets a new output.
GITIGNORES = (".gitignore", "*/.gitignore")

#: The subject line of a CT commit.
COMMIT_SUBJECT = "ct: retrain on new data (ratchet ct)"


class StepJson(TypedDict):
    step: str
    result: str
    detail: str


class CtJson(TypedDict):
    outcome: str
    artifact: str | None
    stage: str | None
    commit: str | None
    tag: str | None
    pushed: bool
    committed: list[str]
    steps: list[StepJson]
    comparison: ComparisonJSON | None


@dataclass(frozen=True)
class Step:
    """One row of the run's summary."""

    step: str  # refresh, repro, commit, verify, push, promote
    result: StepResult
    detail: str


@dataclass(frozen=True)
class CtRun:
    """What one ``ratchet ct`` run did."""

    outcome: Outcome
    artifact: str | None
    stage: str | None
    commit: str | None  # the CT commit, if one was made
    tag: str | None  # the assignment tag a promotion created
    pushed: bool  # the commit and notes (and, on promotion, the tags) went to the remote
    committed: tuple[str, ...]  # the paths the commit changed (relative to the DVC root)
    steps: tuple[Step, ...]
    #: The promotion's champion/challenger scores on the same rows (None: not scored).
    comparison: ComparisonJSON | None = None

    @property
    def ok(self) -> bool:
        """Whether the run ended well ("promoted", "nothing new", or "committed")."""
        return self.outcome in ("promoted", "nothing new", "committed")

    def to_json(self) -> CtJson:
        """The ``--json`` shape."""
        return CtJson(
            outcome=self.outcome,
            artifact=self.artifact,
            stage=self.stage,
            commit=self.commit,
            tag=self.tag,
            pushed=self.pushed,
            committed=list(self.committed),
            steps=[StepJson(step=s.step, result=s.result, detail=s.detail) for s in self.steps],
            comparison=self.comparison,
        )


class RefreshFailedError(BadInputError):
    """A ``ct.refresh`` command exited non-zero (exit 2); the tree was restored."""


class CtStageFailedError(CheckFailedError):
    """A pipeline stage failed on the refreshed data (exit 1); the tree was restored."""


class GitPushError(ConflictError):
    """``git push`` of the CT commit failed (exit 4); the commit stays local."""


# --- policy -----------------------------------------------------------------------------------


def _target(policy: Policy, ct: CtPolicy, source: str) -> tuple[str, str]:
    """The artifact and stage CT promotes to, from the policy (bad input if it cannot tell)."""
    if ct.artifact is not None:
        artifact = ct.artifact
        declared = policy.registry.get(artifact)
        if declared is None:
            raise BadInputError(
                f"{source}: ct.artifact {artifact!r} has no stages under registry: "
                f"declare registry.{artifact}.stages"
            )
    else:
        names = sorted(policy.registry)
        if len(names) != 1:
            found = ", ".join(names) if names else "none"
            raise BadInputError(
                f"{source}: set ct.artifact: the artifact to promote (artifacts with "
                f"registry stages: {found})"
            )
        artifact = names[0]
        declared = policy.registry[artifact]
    stage = ct.stage or declared.stages[0].name
    if declared.stage(stage) is None:
        raise BadInputError(
            f"{source}: ct.stage {stage!r} is not a stage of registry.{artifact} "
            f"({', '.join(s.name for s in declared.stages)})"
        )
    return artifact, stage


def _no_refresh(source: str) -> BadInputError:
    return BadInputError(
        f"{source}: no ct.refresh: say how new data comes in, e.g. "
        '`ct: {refresh: ["dvc update data/raw.dvc"], commit: [data/raw.dvc]}` in '
        f"{POLICY_FILE}"
    )


# --- the work tree ----------------------------------------------------------------------------


def git_tracked_outputs(dvc_root: Path) -> tuple[str, ...]:
    """The outputs, metrics and plots of ``dvc.yaml`` with ``cache: false`` (git keeps them).

    Stages written with ``foreach``/``matrix`` are not expanded: list their git-tracked
    outputs under ``ct.commit``.
    """
    from mlratchet.yamlio import load_yaml

    path = dvc_root / "dvc.yaml"
    data = load_yaml(path) if path.is_file() else None
    found: list[str] = []
    stages = data.get("stages") if isinstance(data, dict) else None
    for stage in (stages or {}).values():
        if not isinstance(stage, dict):
            continue
        for kind in ("outs", "metrics", "plots"):
            for item in stage.get(kind) or ():
                if isinstance(item, dict):
                    for out, flags in item.items():
                        if isinstance(flags, dict) and flags.get("cache") is False:
                            found.append(str(out))
    return tuple(dict.fromkeys(found))


def _changed(dvc_root: Path, paths: tuple[str, ...]) -> list[str]:
    """Which of ``paths`` (relative to the DVC root) differ from HEAD, untracked ones included."""
    from mlratchet.gitio import git

    if not paths:
        return []
    out = git(dvc_root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", *paths)
    return sorted(entry[3:] for entry in out.split("\0") if len(entry) > 3)


def _outside(changed_top: list[str], allowed_top: tuple[str, ...]) -> list[str]:
    """The changed tracked paths (git top relative) that no allowed path covers."""
    return [
        path
        for path in changed_top
        if not any(path == a or path.startswith(a.rstrip("/") + "/") for a in allowed_top)
    ]


def _restore(git_root: Path, dvc_root: Path) -> None:
    """Tracked files back to HEAD, DVC outputs back to HEAD's dvc.lock (best effort for DVC)."""
    from mlratchet.gitio import dirty_paths, run

    dirty = dirty_paths(git_root)
    if dirty:
        run(git_root, "checkout", "HEAD", "--", *dirty)
    if (dvc_root / "dvc.lock").is_file():
        from dvc.exceptions import DvcException
        from dvc.repo import Repo

        with (
            contextlib.suppress(DvcException),
            contextlib.chdir(dvc_root),
            Repo(str(dvc_root)) as repo,
        ):
            repo.checkout(force=True)


@contextlib.contextmanager
def _restoring(git_root: Path, dvc_root: Path) -> Any:
    """Undo the refresh and the re-run if the block fails (nothing was committed yet)."""
    try:
        yield
    except BaseException:
        _restore(git_root, dvc_root)
        raise


# --- the steps --------------------------------------------------------------------------------


def _refresh(dvc_root: Path, commands: tuple[str, ...]) -> Step:
    for command in commands:
        proc = subprocess.run(  # noqa: S602 - the project's own command, from its committed policy
            command, shell=True, cwd=dvc_root, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            why = f": {lines[-1]}" if lines else ""
            raise RefreshFailedError(
                f"ct.refresh command {command!r} exited {proc.returncode}{why}; "
                "the work tree was restored to HEAD"
            )
    return Step("refresh", "ok", f"{len(commands)} command(s): " + "; ".join(commands))


def _repro(dvc_root: Path, pull: bool) -> Step:
    from mlratchet.reproduce import repro

    report = repro(dvc_root, pull=pull)
    if report.failed is not None:
        failed = report.failed
        raise CtStageFailedError(
            f"stage '{failed.stage}' failed on the new data: {failed.error}; "
            "the work tree was restored to HEAD"
        )
    ran = [run.stage for run in report.stages if run.status == "ran"]
    return Step("repro", "ok", f"ran {', '.join(ran)}" if ran else "every stage up to date")


def _commit(git_root: Path, paths: list[str], refresh: tuple[str, ...]) -> str:
    """Commit ``paths`` (relative to the git top level, as ``git status`` names them)."""
    from mlratchet.gitio import git, rev_parse

    git(git_root, "add", "-A", "--", *paths)
    body = "\n".join(f"refresh: {command}" for command in refresh)
    git(git_root, "commit", "-q", "--no-verify", "-m", COMMIT_SUBJECT, "-m", body, "--")
    return rev_parse(git_root, "HEAD")


def _git_push(git_root: Path, remote: str) -> None:
    """The commit, then the notes through :func:`mlratchet.notes.push` (merged with the
    remote's first, so another clone's records never make the push fail)."""
    from mlratchet import notes
    from mlratchet.gitio import run

    proc = run(git_root, "push", "--porcelain", remote, "HEAD", check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise GitPushError(
            f"git push {remote} HEAD failed ({err[-1] if err else 'no message'}); "
            "the CT commit stays local: pull, then rerun `git push` and `ratchet promote`"
        )
    notes.push(git_root, remote)


def _dvc_push(dvc_root: Path) -> int:
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    from mlratchet.reproduce.engine import translate_dvc_error

    try:
        with contextlib.chdir(dvc_root), Repo(str(dvc_root)) as repo:
            return int(repo.push())
    except DvcException as exc:
        raise translate_dvc_error(exc) from exc


def _retrain(
    git_root: Path, dvc_root: Path, ct: CtPolicy, pull: bool, steps: list[Step]
) -> tuple[str, list[str]] | None:
    """Refresh, re-run, commit: the new commit and the paths it changed (None: nothing new)."""
    from mlratchet.gitio import dirty_paths

    rel = dvc_root.resolve().relative_to(git_root.resolve())
    # DVC's own .gitignore entries for new outputs go with the commit too.
    tracked = ("dvc.lock", *GITIGNORES, *git_tracked_outputs(dvc_root), *ct.commit)
    candidates = tuple(dict.fromkeys(tracked))
    with _restoring(git_root, dvc_root):
        steps.append(_refresh(dvc_root, ct.refresh))
        steps.append(_repro(dvc_root, pull))
        changed = _changed(dvc_root, candidates)
        outside = _outside(dirty_paths(git_root), tuple((rel / c).as_posix() for c in candidates))
        if outside:
            raise BadInputError(
                f"the refresh or the pipeline changed {', '.join(outside[:5])}, which ct "
                f"commits only if listed: add it to ct.commit in {POLICY_FILE}; the work "
                "tree was restored to HEAD"
            )
        if not changed:
            steps.append(Step("commit", "nothing new", "dvc.lock and tracked outputs as at HEAD"))
            return None
        commit = _commit(git_root, changed, ct.refresh)
    committed = [p if str(rel) == "." else Path(p).relative_to(rel).as_posix() for p in changed]
    # The re-run's compute record waits for the commit: store it now (nothing runs).
    from mlratchet.reproduce import repro

    repro(dvc_root)
    steps.append(Step("commit", "ok", f"{commit[:7]}: {', '.join(committed)}"))
    return commit, committed


def _verify(dvc_root: Path, commit: str) -> Step:
    """``ratchet verify`` of the CT commit (the verdict goes to its git note)."""
    from mlratchet.reproduce import verify

    report = verify(dvc_root, commit)
    if not report.ok:
        bad = [
            f"{c.stage}: {o.path} {o.status}"
            for c in report.stages
            for o in c.outputs
            if o.status != "identical"
        ] or list(report.stale)
        return Step("verify", "failed", f"{report.verdict}: {'; '.join(bad[:3])}")
    stored = "" if report.note_error is None else f" (note not stored: {report.note_error})"
    return Step("verify", "ok", f"every output reproduced bit for bit{stored}")


def _push(git_root: Path, dvc_root: Path, remote: str) -> Step:
    """``dvc push`` first, so the remote never has a commit whose data it lacks; then git."""
    pushed_files = _dvc_push(dvc_root)
    _git_push(git_root, remote)
    return Step("push", "ok", f"{remote}: commit and notes; dvc push: {pushed_files} file(s)")


def run_ct(
    repo: Path | str = ".",
    *,
    policy_file: Path | str | None = None,
    push: bool = True,
    promote: bool = True,
    pull: bool = False,
) -> CtRun:
    """One continuous-training run (see the module doc for the steps and the state left).

    ``policy_file`` (``--policy FILE``) replaces the committed ``ratchet.yaml`` for the whole
    run: the ``ct:`` section and the promotion's gates alike.
    """
    from mlratchet.gitio import dirty_paths, toplevel
    from mlratchet.policy import policy_at
    from mlratchet.registry.promote import DirtyWorktreeError
    from mlratchet.registry.promote import promote as promote_version
    from mlratchet.reproduce.engine import find_dvc_root

    dvc_root = find_dvc_root(repo)
    git_root = toplevel(dvc_root)
    dirty = dirty_paths(git_root)
    if dirty:
        raise DirtyWorktreeError(dirty)
    policy, source = policy_at(dvc_root, "HEAD", policy_file)
    ct = policy.ct
    if not ct.refresh:
        raise _no_refresh(source)
    artifact, stage = _target(policy, ct, source) if promote else (None, None)
    steps: list[Step] = []

    def done(outcome: Outcome, **kw: Any) -> CtRun:
        return CtRun(
            outcome=outcome,
            artifact=artifact,
            stage=stage,
            commit=kw.get("commit"),
            tag=kw.get("tag"),
            pushed=bool(kw.get("pushed")),
            committed=tuple(kw.get("committed", ())),
            steps=tuple(steps),
            comparison=kw.get("comparison"),
        )

    made = _retrain(git_root, dvc_root, ct, pull, steps)
    if made is None:
        return done("nothing new")
    commit, committed = made
    steps.append(_verify(dvc_root, commit))
    if steps[-1].result != "ok":
        return done("not reproducible", commit=commit, committed=committed)
    steps.append(
        _push(git_root, dvc_root, ct.remote) if push else Step("push", "skipped", "--no-push")
    )
    if artifact is None or stage is None:
        steps.append(Step("promote", "skipped", "--no-promote"))
        return done("committed", commit=commit, committed=committed, pushed=push)
    promotion = promote_version(
        git_root, artifact, stage, rev=commit, push=push, remote=ct.remote, policy_file=policy_file
    )
    if promotion.outcome == "refused":
        failed = [g.gate for g in promotion.gates if g.failed]
        steps.append(Step("promote", "refused", f"{stage}: gates failed: {', '.join(failed)}"))
        return done(
            "gates refused",
            commit=commit,
            committed=committed,
            pushed=push,
            comparison=promotion.comparison,
        )
    steps.append(
        Step("promote", "ok", f"{artifact} {promotion.version} -> {stage} ({promotion.tag})")
    )
    return done(
        "promoted",
        commit=commit,
        committed=committed,
        tag=promotion.tag,
        pushed=push,
        comparison=promotion.comparison,
    )
