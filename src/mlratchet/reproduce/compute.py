"""The compute record: what each stage cost, kept with the commit whose ``dvc.lock`` it produced.

Timings are not deterministic, so they go neither into ``dvc.lock`` (DVC rejects extra keys)
nor into tracked outputs, but into the commit's git note (``refs/notes/mlratchet``, key
``repro``), which travels with ``git push origin refs/notes/mlratchet``.

A run usually happens *before* its commit exists (edit params, ``ratchet repro``, commit), so
each stage's record first goes to a pending file, ``.dvc/tmp/ratchet/repro-pending.json``
(DVC's git-ignored temporary directory), tagged with the sha256 of the stage's entry in the
``dvc.lock`` the run produced. Whenever ``ratchet repro`` ends (even a no-op), pending records
whose tag equals the stage's entry in HEAD's committed ``dvc.lock`` move to HEAD's note: the
record lands on the commit that records exactly those outputs, whatever the order of runs and
commits. Records that never get committed are dropped after :data:`PENDING_DAYS`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from mlratchet.dvclock import raw_stages
from mlratchet.reproduce.engine import StageRun
from mlratchet.reproduce.environment import Environment

PENDING_FILE = Path(".dvc") / "tmp" / "ratchet" / "repro-pending.json"
PENDING_DAYS = 30
NOTE_KEY = "repro"


class StageRecord(TypedDict):
    """One stage's compute record (the JSON shape in the note)."""

    status: str  # ran | restored | pulled
    seconds: float  # everything DVC did for the stage
    command_s: float | None  # wall time of its command(s)
    cpu_s: float | None  # user + system CPU of its command(s)
    peak_rss_mib: float | None  # peak RSS of the largest process of its command(s)
    finished_at: str  # UTC, ISO 8601
    lock_entry_sha256: str  # sha256 of the stage's dvc.lock entry this run produced
    env: Environment | None  # None when the stage's command did not run here


@dataclass(frozen=True)
class Stored:
    """Where compute records went at the end of a run.

    ``note``: stages (of this run or of earlier ones) whose record is now in ``commit``'s note;
    ``pending``: stages of this run whose record waits for a commit of its ``dvc.lock`` entry.
    """

    commit: str | None = None
    note: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    warning: str | None = None  # why records could not be stored on a commit (kept pending)


def _utc(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def lock_entry_digest(entry: Any) -> str:
    """sha256 of a stage's ``dvc.lock`` entry (canonical JSON of the parsed YAML)."""
    text = json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _split(addressing: str) -> tuple[str, str]:
    """``sub/dvc.yaml:stage`` -> (``sub/dvc.lock``, ``stage``); a bare name is in ``dvc.lock``."""
    if ":" in addressing:
        path, name = addressing.rsplit(":", 1)
        return str(Path(path).with_suffix(".lock")), name
    return "dvc.lock", addressing


def stage_record(run: StageRun, lock_entry_sha256: str, env: Environment | None) -> StageRecord:
    """The record of one stage run."""
    return StageRecord(
        status=run.status,
        seconds=round(run.seconds, 3),
        command_s=None if run.command_s is None else round(run.command_s, 3),
        cpu_s=None if run.cpu_s is None else round(run.cpu_s, 3),
        peak_rss_mib=None if run.peak_rss_mib is None else round(run.peak_rss_mib, 1),
        finished_at=_utc(time.time()),
        lock_entry_sha256=lock_entry_sha256,
        env=env,
    )


def records(
    dvc_root: Path, runs: list[StageRun], envs: Mapping[str, Environment]
) -> dict[str, StageRecord]:
    """Records for the stages whose outputs this run produced or restored, tagged by lock entry."""
    out: dict[str, StageRecord] = {}
    entries_by_lock: dict[str, dict[str, Any]] = {}
    for run in runs:
        if run.status not in ("ran", "restored", "pulled"):
            continue
        lock_rel, name = _split(run.stage)
        if lock_rel not in entries_by_lock:
            path = dvc_root / lock_rel
            data = path.read_bytes() if path.is_file() else None
            entries_by_lock[lock_rel] = raw_stages(data, lock_rel)
        entry = entries_by_lock[lock_rel].get(name)
        if entry is None:
            continue
        out[run.stage] = stage_record(run, lock_entry_digest(entry), envs.get(run.stage))
    return out


def _better(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether ``new`` should replace ``old``: a real run beats a restore of the same outputs."""
    if old is None or old.get("lock_entry_sha256") != new.get("lock_entry_sha256"):
        return True
    return new.get("status") == "ran" or old.get("status") != "ran"


def _load_pending(path: Path) -> dict[str, list[dict[str, Any]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    stages = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(stages, dict):
        return {}
    return {
        k: [r for r in v if isinstance(r, dict)] for k, v in stages.items() if isinstance(v, list)
    }


def pending_records(dvc_root: Path | str) -> dict[str, list[dict[str, Any]]]:
    """The records still waiting for a commit of their ``dvc.lock`` entry (stage -> records,
    oldest first): what ``ratchet report`` shows for the work tree."""
    return _load_pending(Path(dvc_root) / PENDING_FILE)


def _prune(pending: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    horizon = _utc(time.time() - PENDING_DAYS * 86400)
    kept = {
        stage: [r for r in recs if str(r.get("finished_at", "")) >= horizon][-10:]
        for stage, recs in pending.items()
    }
    return {stage: recs for stage, recs in kept.items() if recs}


def _match_head(
    git_root: Path, head: str, rel: Path, pending: dict[str, list[dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    """Take from ``pending`` the best record of each stage whose tag matches HEAD's lock entry."""
    from mlratchet import gitio

    attached: dict[str, dict[str, Any]] = {}
    locks: dict[str, dict[str, Any]] = {}
    for stage, recs in pending.items():
        lock_rel, name = _split(stage)
        if lock_rel not in locks:
            blob = gitio.read_blob(git_root, head, (rel / lock_rel).as_posix())
            locks[lock_rel] = raw_stages(blob, f"{lock_rel} at HEAD")
        entry = locks[lock_rel].get(name)
        if entry is None:
            continue
        digest = lock_entry_digest(entry)
        matching = [r for r in recs if r.get("lock_entry_sha256") == digest]
        if matching:
            best = matching[0]
            for rec in matching[1:]:
                best = rec if _better(best, rec) else best
            attached[stage] = best
            pending[stage] = [r for r in recs if r.get("lock_entry_sha256") != digest]
    return attached


def store(dvc_root: Path | str, new: Mapping[str, StageRecord]) -> Stored:
    """Add ``new`` to the pending records, then move what HEAD's ``dvc.lock`` matches to its note.

    Costs nothing (no git call) for a no-op run with no pending records.
    """
    from mlratchet import gitio, notes
    from mlratchet.errors import RatchetError
    from mlratchet.fsio import write_json
    from mlratchet.reproduce.engine import deferred_sigint

    root = Path(dvc_root)
    pending_path = root / PENDING_FILE
    if not new and not pending_path.is_file():
        return Stored()
    pending = _load_pending(pending_path)
    for stage, record in new.items():
        recs = pending.get(stage, [])
        same = [r for r in recs if r.get("lock_entry_sha256") == record["lock_entry_sha256"]]
        if same and not _better(same[-1], record):
            continue
        pending[stage] = [*(r for r in recs if r not in same), {**record}]
    pending = _prune(pending)

    try:
        git_root = gitio.toplevel(root)
        head = gitio.head(git_root)
    except RatchetError:  # DVC without git (`dvc init --no-scm`): records stay pending
        git_root, head = root, None
    rel = root.resolve().relative_to(git_root.resolve())
    attached = {} if head is None else _match_head(git_root, head, rel, pending)
    warning = None
    with deferred_sigint():
        if attached and head is not None:
            try:
                note = notes.read(git_root, head).get(NOTE_KEY)
                stages = dict(note.get("stages", {})) if isinstance(note, dict) else {}
                for stage, attached_record in attached.items():
                    if _better(stages.get(stage), attached_record):
                        stages[stage] = attached_record
                notes.update(git_root, head, NOTE_KEY, {"stages": stages})
            except RatchetError as exc:  # e.g. no git identity to write the note with
                warning = f"could not write the git note on {head[:7]}: {exc}"
                for stage, attached_record in attached.items():
                    pending.setdefault(stage, []).append(attached_record)
                attached = {}
        pending = {stage: recs for stage, recs in pending.items() if recs}
        if pending:
            write_json(pending_path, {"stages": pending})
        else:
            pending_path.unlink(missing_ok=True)
    return Stored(
        commit=head if attached else None,
        note=tuple(sorted(attached)),
        pending=tuple(
            sorted(
                stage
                for stage, record in new.items()
                if attached.get(stage, {}).get("lock_entry_sha256") != record["lock_entry_sha256"]
            )
        ),
        warning=warning,
    )
