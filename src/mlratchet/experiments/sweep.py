"""``ratchet exp run``: run the points of a sweep as DVC experiments, each in its own workspace.

Each experiment (:func:`run_one`):

1. a ``git clone --shared`` of the baseline commit in a temporary directory (the user's work
   tree and index are never touched), DVC pointed at the user's DVC cache (outputs land there,
   as ``dvc exp run`` puts them) and the user's remotes;
2. ``dvc checkout`` of the baseline's outputs from that cache (unchanged stages are not re-run);
3. the point written into the params file(s);
4. ``ratchet repro`` in a subprocess: DVC runs what changed, measured (the compute record);
5. a commit of the result (params, ``dvc.lock``, uncached metrics) whose parent is the baseline,
   fetched into the user's repository under ``refs/exps/<baseline>/<name>`` (DVC's layout, so
   ``dvc exp show`` / ``apply`` / ``push`` see it), and its compute record in the git note
   ``repro`` on that commit, the same record ``ratchet repro`` keeps.

A failed experiment has no ref: it is recorded with its error in the baseline's git note (key
``exp``, ``{"failed": {name: ...}}``) and the sweep goes on. Ctrl-C stops the running
experiments (SIGINT to their process groups), records nothing for them, removes their
workspaces, and raises KeyboardInterrupt. A point whose params equal an existing experiment's
(of the same baseline) is not run again: the existing one is reused, and said so.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from mlratchet.errors import BadInputError, ConflictError
from mlratchet.experiments import points as pts
from mlratchet.experiments import refs

PREFIX = "ratchet-exp-"
NOTE_KEY = "exp"
Status = Literal["success", "failed", "reused", "interrupted"]


@dataclass(frozen=True)
class Job:
    """One experiment to run: plain data, so it can travel to another process."""

    name: str
    point: pts.Point
    baseline: str
    git_root: str  # the user's repository
    dvc_rel: str  # the DVC project inside it ("." or a subfolder)
    ident: tuple[str, str]  # (name, email) the experiment commit is made with


@dataclass(frozen=True)
class Outcome:
    """What became of one experiment."""

    name: str
    point: pts.Point
    status: Status
    sha: str | None = None
    error: str | None = None
    seconds: float = 0.0
    stages: tuple[dict[str, Any], ...] = ()
    records: dict[str, Any] = field(default_factory=dict)  # stage -> compute record
    reused_from: str | None = None

    def to_json(self) -> dict[str, Any]:
        """One experiment in ``ratchet exp run --json``."""
        return {
            "name": self.name,
            "params": [[a.file, a.key, a.value] for a in self.point],
            "status": self.status,
            "rev": self.sha,
            "error": self.error,
            "seconds": round(self.seconds, 3),
            "stages": list(self.stages),
        }


@dataclass(frozen=True)
class SweepReport:
    """The result of ``ratchet exp run``."""

    baseline: str
    outcomes: tuple[Outcome, ...]

    @property
    def ok(self) -> bool:
        """Whether every experiment succeeded (or was reused)."""
        return all(o.status in ("success", "reused") for o in self.outcomes)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o.status] = counts.get(o.status, 0) + 1
        return {
            "baseline": self.baseline,
            "counts": counts,
            "experiments": [o.to_json() for o in self.outcomes],
        }


@dataclass(frozen=True)
class Event:
    """Progress: an experiment started or finished; counts so far."""

    kind: Literal["started", "finished"]
    name: str
    outcome: Outcome | None
    done: int
    running: int
    failed: int
    total: int
    elapsed: float


OnEvent = Callable[[Event], None]


# -- naming and duplicates ------------------------------------------------------------------
def default_name(baseline: str, point: pts.Point) -> str:
    """``exp-<7 hex>``: a digest of the baseline and the point (the same point, the same name)."""
    text = json.dumps([baseline, [[a.file, a.key, a.value] for a in point]], sort_keys=True)
    return "exp-" + hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:7]


def _params_data(blob: bytes | None, source: str) -> Any:
    from mlratchet.yamlio import parse_yaml

    return None if blob is None else parse_yaml(blob.decode("utf-8", "replace"), source)


def _applied(base: dict[str, bytes | None], point: pts.Point) -> dict[str, Any]:
    """Each params file the sweep writes, parsed, after the point is applied."""
    out = {}
    for file in pts.files([point]) or sorted(base):
        text = (base.get(file) or b"").decode("utf-8", "replace")
        mine = [a for a in point if a.file == file]
        out[file] = _params_data(pts.apply(text, mine, file).encode(), file)
    return out


# -- one experiment -------------------------------------------------------------------------
_DELIVER = threading.Lock()


def _git(cwd: Path | str, *args: str, ident: tuple[str, str] | None = None) -> str:
    from mlratchet.gitio import run

    extra: list[str] = []
    if ident:
        extra = ["-c", f"user.name={ident[0]}", "-c", f"user.email={ident[1]}"]
    return run(cwd, *extra, *args).stdout.decode().strip()


def _python_env(user_root: Path, clone: Path) -> dict[str, str]:
    from mlratchet.reproduce.sandbox import Sandbox, python_path

    env = dict(os.environ)
    env["PYTHONPATH"] = python_path(user_root, Sandbox(clone.parent, clone, clone))
    env.pop("RATCHET_TRACEBACK", None)
    return env


def _wait(proc: subprocess.Popen[bytes], cancel: threading.Event) -> tuple[bytes, bytes, bool]:
    """Wait for ``proc``; on ``cancel``, SIGINT its group, then kill it after 30 s."""
    interrupted = False
    deadline = 0.0
    while True:
        try:
            out, err = proc.communicate(timeout=0.2)
            return out, err, interrupted
        except subprocess.TimeoutExpired:
            if cancel.is_set() and not interrupted:
                interrupted = True
                deadline = time.monotonic() + 30
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGINT)
            if interrupted and time.monotonic() > deadline:
                proc.kill()


def _tail(text: bytes, lines: int = 5) -> str:
    return "\n".join(text.decode("utf-8", "replace").strip().splitlines()[-lines:])


def run_one(job: Job, cancel: threading.Event | None = None) -> Outcome:
    """Run one experiment in its own workspace and record it (see the module docstring)."""
    from mlratchet.reproduce import compute
    from mlratchet.reproduce.sandbox import (
        Sandbox,
        configure_dvc,
        owned_tempdir,
        user_cache_dir,
        user_dvc_config,
    )

    cancel = cancel or threading.Event()
    started = time.monotonic()
    user_root = Path(job.git_root)
    directory = owned_tempdir(PREFIX)
    try:
        clone = directory / "repo"
        _git(
            directory,
            "clone",
            "--quiet",
            "--shared",
            "--no-checkout",
            "--",
            str(user_root),
            str(clone),
        )
        _git(
            clone,
            "-c",
            "advice.detachedHead=false",
            "checkout",
            "--quiet",
            "--detach",
            job.baseline,
        )
        dvc_root = clone / job.dvc_rel
        user_config = user_dvc_config(user_root / job.dvc_rel)
        sandbox = Sandbox(directory, clone, dvc_root)
        configure_dvc(sandbox, user_config, user_cache_dir(user_root / job.dvc_rel, user_config))
        _point_cache_at_user(sandbox, user_cache_dir(user_root / job.dvc_rel, user_config))
        env = _python_env(user_root, clone)
        dvc = [sys.executable, "-m", "dvc"]
        subprocess.run(  # unchanged stages come from the cache, not from a re-run
            [*dvc, "checkout", "--quiet", "--allow-missing"],
            cwd=dvc_root,
            env=env,
            capture_output=True,
            check=False,
        )
        for file in pts.files([job.point]):
            path = dvc_root / file
            text = path.read_text(encoding="utf-8") if path.is_file() else ""
            mine = [a for a in job.point if a.file == file]
            path.write_text(pts.apply(text, mine, file), encoding="utf-8")
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlratchet", "repro", "--json"],
            cwd=dvc_root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        out, err, interrupted = _wait(proc, cancel)
        seconds = time.monotonic() - started
        if interrupted or proc.returncode == 130:
            return Outcome(job.name, job.point, "interrupted", seconds=seconds)
        try:
            report = json.loads(out.decode("utf-8") or "{}")
        except ValueError:
            report = {}
        stages = tuple(report.get("stages") or ())
        if proc.returncode != 0:
            failed = report.get("failed") or {}
            error = (
                f"stage {failed.get('stage')} failed: {failed.get('error')}"
                if failed
                else (report.get("error") or {}).get("message") or _tail(err)
            )
            if failed.get("stderr_tail"):
                error += "\n" + failed["stderr_tail"]
            return Outcome(
                job.name, job.point, "failed", error=error, seconds=seconds, stages=stages
            )
        _git(clone, "add", "-A")
        message = f"ratchet exp {job.name}: {pts.point_text(job.point)}"
        _git(
            clone,
            "commit",
            "--quiet",
            "--allow-empty",
            "--no-verify",
            "-m",
            message,
            ident=job.ident,
        )
        sha = _git(clone, "rev-parse", "HEAD")
        pending = compute.pending_records(dvc_root)
        rel = Path(job.dvc_rel)
        records = compute._match_head(clone, sha, rel, pending) if pending else {}
        with _DELIVER:
            _git(
                user_root,
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                str(clone),
                "HEAD",
            )
            refs.create(user_root, refs.ExpRef(job.baseline, job.name), sha)
        return Outcome(
            job.name,
            job.point,
            "success",
            sha=sha,
            seconds=time.monotonic() - started,
            stages=stages,
            records=records,
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _point_cache_at_user(sandbox: Any, cache: Path) -> None:
    """The experiment writes its outputs into the user's DVC cache, as ``dvc exp run`` does."""
    from dvc.config import Config

    config = Config(dvc_dir=str(sandbox.dvc_root / ".dvc"), validate=False)
    with config.edit("local") as conf:
        conf["cache"]["dir"] = str(cache)


# -- the sweep ------------------------------------------------------------------------------
def _ident(git_root: Path) -> tuple[str, str]:
    from mlratchet.gitio import run

    proc = run(git_root, "var", "GIT_COMMITTER_IDENT", check=False)
    text = proc.stdout.decode().strip()
    if proc.returncode == 0 and "<" in text:
        name, _, rest = text.partition(" <")
        return name, rest.partition(">")[0]
    return "mlratchet", "mlratchet@localhost"


def _existing(git_root: Path, dvc_rel: str, baseline: str, files: list[str]) -> dict[str, Any]:
    """name -> {file: parsed params} of the baseline's experiments."""
    from mlratchet.gitio import BlobReader

    found: dict[str, Any] = {}
    exps = refs.list_refs(git_root, baseline)
    if not exps:
        return found
    with BlobReader(git_root) as blobs:
        for exp in exps:
            found[exp.name] = {
                f: _params_data(blobs.read(exp.sha or exp.ref, _rel(dvc_rel, f)), f) for f in files
            }
    return found


def _rel(dvc_rel: str, file: str) -> str:
    return file if dvc_rel in ("", ".") else f"{dvc_rel}/{file}"


def _record(git_root: Path, baseline: str, outcomes: Sequence[Outcome]) -> None:
    from mlratchet import notes

    for o in outcomes:
        if o.status == "success" and o.sha and o.records:
            notes.update(git_root, o.sha, "repro", {"stages": o.records})
    failed = [o for o in outcomes if o.status == "failed"]
    ok = {o.name for o in outcomes if o.status == "success"}
    current = notes.read(git_root, baseline).get(NOTE_KEY)
    record = dict(current) if isinstance(current, dict) else {}
    known = dict(record.get("failed") or {})
    changed = bool(ok & set(known))
    for name in ok:
        known.pop(name, None)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for o in failed:
        known[o.name] = {
            "params": [[a.file, a.key, a.value] for a in o.point],
            "error": o.error or "",
            "at": now,
        }
    if failed or changed:
        notes.update(git_root, baseline, NOTE_KEY, {**record, "failed": known})


def plan(
    repo: Path | str, points: Sequence[pts.Point], *, name: str | None = None
) -> tuple[Path, str, str, list[Job], list[Outcome]]:
    """The jobs to run and the points reused, checked before anything runs."""
    from mlratchet.gitio import BlobReader, dirty_paths, rev_parse, toplevel
    from mlratchet.reproduce.engine import find_dvc_root

    if not points:
        raise BadInputError("no points to run: give -S KEY=VALUES or --sweep FILE")
    dvc_root = find_dvc_root(repo)
    git_root = toplevel(dvc_root)
    dvc_rel = dvc_root.resolve().relative_to(git_root.resolve()).as_posix()
    baseline = rev_parse(git_root, "HEAD")
    dirty = [p for p in dirty_paths(git_root) if not p.startswith(".dvc/tmp")]
    if dirty:
        raise ConflictError(
            f"the work tree has uncommitted changes ({', '.join(dirty[:3])}): "
            "an experiment's baseline is a commit; commit or stash them first"
        )
    files = pts.files(points)
    with BlobReader(git_root) as blobs:
        base = {f: blobs.read(baseline, _rel(dvc_rel, f)) for f in files}
    for f, blob in base.items():
        if blob is None:
            raise BadInputError(f"{f}: no such params file at HEAD ({baseline[:7]})")
    existing = _existing(git_root, dvc_rel, baseline, files)
    ident = _ident(git_root)
    jobs: list[Job] = []
    reused: list[Outcome] = []
    seen: dict[str, str] = {}
    for i, point in enumerate(points, 1):
        applied = json.dumps(_applied(base, point), sort_keys=True, default=str)
        if applied in seen:
            continue  # the same point twice in one sweep: run it once
        match = next(
            (
                n
                for n, d in existing.items()
                if json.dumps(d, sort_keys=True, default=str) == applied
            ),
            None,
        )
        exp_name = (
            refs.check_name(name if len(points) == 1 else f"{name}-{i}")
            if name
            else default_name(baseline, point)
        )
        seen[applied] = exp_name
        if match is not None:
            sha = next(e.sha for e in refs.list_refs(git_root, baseline) if e.name == match)
            reused.append(Outcome(match, point, "reused", sha=sha, reused_from=match))
            continue
        if exp_name in existing:
            raise ConflictError(
                f"experiment {exp_name!r} already exists on {baseline[:7]} with other params; "
                "choose another --name"
            )
        jobs.append(Job(exp_name, point, baseline, str(git_root), dvc_rel, ident))
    return git_root, dvc_rel, baseline, jobs, reused


def run(
    repo: Path | str,
    points: Sequence[pts.Point],
    *,
    jobs: int = 1,
    name: str | None = None,
    on_event: OnEvent | None = None,
) -> SweepReport:
    """``ratchet exp run``: run ``points`` as experiments of HEAD, ``jobs`` at a time."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    git_root, _rel_dir, baseline, todo, reused = plan(repo, points, name=name)
    outcomes: list[Outcome] = list(reused)
    cancel = threading.Event()
    started = time.monotonic()
    total = len(todo)
    failed = 0

    def emit(
        kind: Literal["started", "finished"], job_name: str, o: Outcome | None, running: int
    ) -> None:
        if on_event:
            done = len(outcomes) - len(reused)
            on_event(
                Event(kind, job_name, o, done, running, failed, total, time.monotonic() - started)
            )

    # SIGINT stops the sweep even when ratchet started with it ignored (a background job)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler) if main else None
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        pending = {}
        for job in todo:
            pending[pool.submit(run_one, job, cancel)] = job
        running = min(len(pending), max(1, jobs))
        for job in todo[:running]:
            emit("started", job.name, None, running)
        next_up = running
        while pending:
            finished, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                job = pending.pop(future)
                outcome = future.result()
                outcomes.append(outcome)
                failed += outcome.status == "failed"
                _record(git_root, baseline, [outcome])
                emit("finished", job.name, outcome, len(pending) and min(len(pending), jobs))
                if next_up < total:
                    emit("started", todo[next_up].name, None, min(len(pending), jobs))
                    next_up += 1
    except KeyboardInterrupt:
        cancel.set()
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        raise
    finally:
        pool.shutdown(wait=True)
        if main:
            signal.signal(signal.SIGINT, previous)
    return SweepReport(baseline, tuple(outcomes))
