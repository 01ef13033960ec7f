"""``ratchet repro``: run the pipeline with DVC, measure each stage, record the cost.

DVC does the work (:func:`mlratchet.reproduce.engine.run_dvc`); this module adds the compute
record (:mod:`mlratchet.reproduce.compute`) and the report. ``dvc.lock`` and the outputs are
DVC's alone: nothing of ours is written into them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from mlratchet.reproduce.compute import Stored, records, store
from mlratchet.reproduce.engine import (
    OnEvent,
    Session,
    StageFailedError,
    StageRun,
    find_dvc_root,
    run_dvc,
)
from mlratchet.reproduce.environment import Environment, stage_environment


class StageJson(TypedDict):
    """One stage in ``ratchet repro --json`` and ``ratchet verify --json``."""

    stage: str
    status: str
    seconds: float
    command_s: float | None
    cpu_s: float | None
    peak_rss_mib: float | None


class FailureJson(TypedDict):
    """The failing stage in ``--json``."""

    stage: str
    cmd: str
    error: str
    stderr_tail: str


class RecordJson(TypedDict):
    """Where the compute record went."""

    commit: str | None
    note: list[str]
    pending: list[str]


class ReproJson(TypedDict):
    """``ratchet repro --json``."""

    stages: list[StageJson]
    failed: FailureJson | None
    record: RecordJson


def stage_json(run: StageRun) -> StageJson:
    """A stage run as JSON (figures rounded for people; the note keeps the same precision)."""
    return StageJson(
        stage=run.stage,
        status=run.status,
        seconds=round(run.seconds, 3),
        command_s=None if run.command_s is None else round(run.command_s, 3),
        cpu_s=None if run.cpu_s is None else round(run.cpu_s, 3),
        peak_rss_mib=None if run.peak_rss_mib is None else round(run.peak_rss_mib, 1),
    )


def failure_json(run: StageRun) -> FailureJson:
    """A failed stage as JSON."""
    return FailureJson(
        stage=run.stage, cmd=run.cmd, error=run.error or "", stderr_tail=run.stderr_tail
    )


@dataclass(frozen=True)
class ReproReport:
    """The result of ``ratchet repro``: every stage DVC looked at, the failure, the record."""

    stages: tuple[StageRun, ...]
    failed: StageRun | None
    stored: Stored

    @property
    def ok(self) -> bool:
        """Whether every stage succeeded."""
        return self.failed is None

    def to_json(self) -> ReproJson:
        """The ``--json`` shape."""
        return ReproJson(
            stages=[stage_json(run) for run in self.stages],
            failed=None if self.failed is None else failure_json(self.failed),
            record=RecordJson(
                commit=self.stored.commit,
                note=list(self.stored.note),
                pending=list(self.stored.pending),
            ),
        )


def repro(
    repo: Path | str = ".",
    targets: Sequence[str] = (),
    *,
    force: bool = False,
    pull: bool = False,
    on_event: OnEvent | None = None,
) -> ReproReport:
    """Reproduce ``targets`` (default: every stage) as ``dvc repro`` would, measured and recorded.

    A failing stage is a result (``report.failed``), not an exception; Ctrl-C raises
    KeyboardInterrupt with ``dvc.lock`` whole. DVC errors before any stage ran (a broken
    ``dvc.yaml``, the lock held, a ``dvc.lock`` whose hash is not a string) raise
    :class:`~mlratchet.errors.RatchetError` subclasses.
    """
    from mlratchet import dvclock

    root = find_dvc_root(repo)
    if (root / dvclock.LOCK_FILE).is_file():
        dvclock.load_lock(root)  # a corrupt record is refused before DVC crashes on it
    failed: StageRun | None = None
    with Session(on_event=on_event) as session:
        try:
            runs = run_dvc(Path(repo), targets, session=session, force=force, pull=pull)
        except StageFailedError as exc:
            runs = list(exc.runs)
            failed = runs[-1]
    try:
        envs: dict[str, Environment] = {
            run.stage: stage_environment(root, run.deps, run.cmd)
            for run in runs
            if run.status == "ran"
        }
        stored = store(root, records(root, runs, envs))
    except OSError as exc:
        if failed is None:
            raise
        # e.g. the disk filled up: the stage's own failure is what the user must see
        stored = Stored(warning=f"could not store the compute record: {exc}")
    return ReproReport(tuple(runs), failed, stored)
