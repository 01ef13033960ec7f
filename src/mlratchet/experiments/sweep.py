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

Where the experiments run is a :class:`Pool`: :class:`Threads` here, or the workers of a Dask
cluster (:mod:`mlratchet.experiments.cluster`), whose jobs carry a :class:`Remote` and clone,
pull and push through the shared git and DVC remotes instead of the user's repository.
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from mlratchet.errors import BadInputError, ConflictError
from mlratchet.experiments import points as pts
from mlratchet.experiments import refs

PREFIX = "ratchet-exp-"
NOTE_KEY = "exp"
Status = Literal["success", "failed", "reused", "interrupted"]


@dataclass(frozen=True)
class Remote:
    """Where the workers of a cluster meet the user: the git remote they clone the baseline
    from and push experiment refs to, and the DVC remote they pull and push outputs through."""

    git_url: str
    dvc_name: str
    dvc_options: tuple[tuple[str, Any], ...]  # the remote's DVC config, credentials left out

    @property
    def dvc_config(self) -> dict[str, Any]:
        """The DVC config a worker's clone gets: this remote, as its default."""
        return {
            "remote": {self.dvc_name: dict(self.dvc_options)},
            "core": {"remote": self.dvc_name},
        }


@dataclass(frozen=True)
class Job:
    """One experiment to run: plain data, so it can travel to another process or machine."""

    name: str
    point: pts.Point
    baseline: str
    git_root: str  # the user's repository
    dvc_rel: str  # the DVC project inside it ("." or a subfolder)
    ident: tuple[str, str]  # (name, email) the experiment commit is made with
    remote: Remote | None = None  # set when a cluster's worker runs it (not this machine)

    @property
    def ref(self) -> refs.ExpRef:
        """The experiment's ref, once it exists."""
        return refs.ExpRef(self.baseline, self.name)


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


class Cancel(Protocol):
    """What a running experiment polls to learn that the sweep was stopped (a
    ``threading.Event`` here; on a cluster, the scheduler's)."""

    def is_set(self) -> bool:
        """Whether the sweep was stopped."""


class Pool(Protocol):
    """Where experiments run: threads on this machine, or a cluster's workers."""

    slots: int  # experiments at once

    def submit(self, job: Job) -> Any:
        """Start ``job``; a future with ``done()`` and ``result()`` (an :class:`Outcome`)."""

    def outcome(self, job: Job, future: Any) -> Outcome:
        """The outcome of a finished ``future`` (a worker's crash becomes a failed one here)."""

    def stop(self) -> None:
        """Ctrl-C: ask the running experiments to stop, drop the queued ones."""

    def close(self) -> None:
        """Wait for what still runs, release the workers."""


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


def _python_env(
    user_root: Path, clone: Path, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    from mlratchet.reproduce.sandbox import Sandbox, python_path

    env = dict(os.environ if environ is None else environ)
    env["PYTHONPATH"] = python_path(user_root, Sandbox(clone.parent, clone, clone))
    env.pop("RATCHET_TRACEBACK", None)
    return env


def _wait(proc: subprocess.Popen[bytes], cancel: Cancel) -> tuple[bytes, bytes, bool]:
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


def _clone(directory: Path, job: Job) -> Path:
    """The baseline, checked out detached in ``directory/repo``: a ``--shared`` clone of the
    user's repository, or on a cluster's worker a clone of the git remote."""
    clone = directory / "repo"
    source = job.git_root if job.remote is None else job.remote.git_url
    shared = ["--shared"] if job.remote is None else []
    _git(directory, "clone", "--quiet", *shared, "--no-checkout", "--", source, str(clone))
    if job.remote is not None and not _has_commit(clone, job.baseline):
        from mlratchet.gitio import run

        run(clone, "fetch", "--quiet", "--no-tags", "origin", job.baseline, check=False)
        if not _has_commit(clone, job.baseline):
            raise BadInputError(
                f"baseline {job.baseline[:7]} is not on the git remote {source}: push it first"
            )
    _git(clone, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", job.baseline)
    return clone


def _has_commit(repo: Path, sha: str) -> bool:
    from mlratchet.gitio import run

    return run(repo, "cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0


def _configure(directory: Path, clone: Path, job: Job) -> Any:
    """DVC in the clone: the user's cache and remotes here; a cluster's DVC remote there."""
    from mlratchet.reproduce.sandbox import (
        Sandbox,
        configure_dvc,
        user_cache_dir,
        user_dvc_config,
    )

    sandbox = Sandbox(directory, clone, clone / job.dvc_rel)
    if job.remote is not None:  # the worker's own cache, in the workspace; the shared remote
        configure_dvc(sandbox, job.remote.dvc_config, None)
        return sandbox
    user_root = Path(job.git_root) / job.dvc_rel
    user_config = user_dvc_config(user_root)
    cache = user_cache_dir(user_root, user_config)
    configure_dvc(sandbox, user_config, cache)
    _point_cache_at_user(sandbox, cache)
    return sandbox


def _failed(job: Job, report: dict[str, Any], err: bytes, seconds: float) -> Outcome:
    failed = report.get("failed") or {}
    error = (
        f"stage {failed.get('stage')} failed: {failed.get('error')}"
        if failed
        else (report.get("error") or {}).get("message") or _tail(err)
    )
    if failed.get("stderr_tail"):
        error += "\n" + failed["stderr_tail"]
    stages = tuple(report.get("stages") or ())
    return Outcome(job.name, job.point, "failed", error=error, seconds=seconds, stages=stages)


def _publish(clone: Path, dvc_root: Path, job: Job, sha: str, env: dict[str, str]) -> None:
    """From a cluster's worker: the outputs to the DVC remote, then the experiment's ref to the
    git remote (created, never moved: an existing ref of that name refuses the push)."""
    from mlratchet.gitio import run

    assert job.remote is not None  # noqa: S101 - only called for a cluster's job
    pushed = subprocess.run(
        [sys.executable, "-m", "dvc", "push", "--quiet"],
        cwd=dvc_root,
        env=env,
        capture_output=True,
        check=False,
    )
    if pushed.returncode != 0:
        raise ConflictError(
            f"dvc push to remote {job.remote.dvc_name!r} failed: {_tail(pushed.stderr, 2)}"
        )
    ref = job.ref.ref
    proc = run(
        clone,
        "push",
        "--quiet",
        "--no-verify",
        f"--force-with-lease={ref}:",
        job.remote.git_url,
        f"{sha}:{ref}",
        check=False,
    )
    if proc.returncode != 0:
        raise ConflictError(
            f"git push of {ref} to {job.remote.git_url} refused: "
            f"{_tail(proc.stderr, 2)} (an experiment of that name exists there)"
        )


def run_one(
    job: Job, cancel: Cancel | None = None, *, environ: Mapping[str, str] | None = None
) -> Outcome:
    """Run one experiment in its own workspace and record it (see the module docstring).
    The pipeline runs in ``environ`` (default this process's environment)."""
    from mlratchet.reproduce import compute
    from mlratchet.reproduce.sandbox import owned_tempdir

    cancel = cancel or threading.Event()
    started = time.monotonic()
    directory = owned_tempdir(PREFIX)
    try:
        clone = _clone(directory, job)
        sandbox = _configure(directory, clone, job)
        dvc_root = sandbox.dvc_root
        env = _python_env(Path(job.git_root), clone, environ)
        if job.remote is None:  # unchanged stages come from the user's cache, not a re-run
            subprocess.run(
                [sys.executable, "-m", "dvc", "checkout", "--quiet", "--allow-missing"],
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
        pull = ["--pull"] if job.remote is not None else []  # a worker starts from the remote
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlratchet", "repro", "--json", *pull],
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
        if proc.returncode != 0:
            return _failed(job, report, err, seconds)
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
        if job.remote is not None:
            _publish(clone, dvc_root, job, sha, env)  # the submitter fetches the ref
        else:
            with _DELIVER:
                _fetch_ref(Path(job.git_root), str(clone), "HEAD", job, sha)
        return Outcome(
            job.name,
            job.point,
            "success",
            sha=sha,
            seconds=time.monotonic() - started,
            stages=tuple(report.get("stages") or ()),
            records=records,
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _fetch_ref(user_root: Path, source: str, what: str, job: Job, sha: str) -> None:
    """Bring the experiment commit ``what`` of ``source`` into the user's repository and
    create its ref there (never moved)."""
    _git(user_root, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", source, what)
    refs.create(user_root, job.ref, sha)


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
    repo: Path | str,
    points: Sequence[pts.Point],
    *,
    name: str | None = None,
    remote: Remote | None = None,
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
        jobs.append(Job(exp_name, point, baseline, str(git_root), dvc_rel, ident, remote))
    return git_root, dvc_rel, baseline, jobs, reused


class Threads:
    """The experiments run here, ``slots`` at a time, each in its own thread and workspace."""

    def __init__(self, slots: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.slots = max(1, slots)
        self._cancel = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=self.slots)
        self._futures: list[Any] = []

    def submit(self, job: Job) -> Any:
        """Start ``job`` in a thread."""
        future = self._pool.submit(run_one, job, self._cancel)
        self._futures.append(future)
        return future

    def outcome(self, job: Job, future: Any) -> Outcome:
        """The thread's outcome (an error here is ratchet's own: it propagates)."""
        result: Outcome = future.result()
        return result

    def stop(self) -> None:
        """Stop the running experiments (SIGINT), drop the queued ones."""
        self._cancel.set()
        for future in self._futures:
            future.cancel()

    def close(self) -> None:
        """Wait for the threads."""
        self._pool.shutdown(wait=True)


def run(
    repo: Path | str,
    points: Sequence[pts.Point],
    *,
    jobs: int | None = 1,
    name: str | None = None,
    on_event: OnEvent | None = None,
    cluster: Any | None = None,
) -> SweepReport:
    """``ratchet exp run``: run ``points`` as experiments of HEAD, ``jobs`` at a time, here or
    on ``cluster`` (a :class:`mlratchet.experiments.cluster.Cluster`: a Dask scheduler's
    address and the git and DVC remotes its workers share with us)."""
    remote = cluster.remote(repo) if cluster is not None else None
    git_root, _rel_dir, baseline, todo, reused = plan(repo, points, name=name, remote=remote)
    outcomes: list[Outcome] = list(reused)
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

    if not todo:
        return SweepReport(baseline, tuple(outcomes))
    # SIGINT stops the sweep even when ratchet started with it ignored (a background job)
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler) if main else None
    pool: Pool = cluster.connect(jobs) if cluster is not None else Threads(jobs or 1)
    try:
        slots = pool.slots
        pending = {pool.submit(job): job for job in todo}
        running = min(len(pending), slots)
        for job in todo[:running]:
            emit("started", job.name, None, running)
        next_up = running
        while pending:
            finished = [f for f in pending if f.done()]
            if not finished:
                time.sleep(0.2)
                continue
            for future in finished:
                job = pending.pop(future)
                outcome = pool.outcome(job, future)
                if outcome.status == "success" and job.remote is not None:
                    outcome = _deliver(git_root, job, outcome)
                outcomes.append(outcome)
                failed += outcome.status == "failed"
                _record(git_root, baseline, [outcome])
                emit("finished", job.name, outcome, len(pending) and min(len(pending), slots))
                if next_up < total:
                    emit("started", todo[next_up].name, None, min(len(pending), slots))
                    next_up += 1
    except KeyboardInterrupt:
        pool.stop()
        raise
    finally:
        pool.close()
        if main:
            signal.signal(signal.SIGINT, previous)
    return SweepReport(baseline, tuple(outcomes))


def _deliver(git_root: Path, job: Job, outcome: Outcome) -> Outcome:
    """A cluster's experiment: fetch its ref from the git remote into the user's repository.
    A ref that cannot be fetched makes the experiment failed (its outputs are on the remote)."""
    from mlratchet.errors import RatchetError
    from mlratchet.gitio import GitError

    assert job.remote is not None and outcome.sha is not None  # noqa: S101 - a cluster's success
    try:
        with _DELIVER:
            _fetch_ref(git_root, job.remote.git_url, job.ref.ref, job, outcome.sha)
    except (GitError, RatchetError) as exc:
        return replace(outcome, status="failed", error=f"fetching {job.ref.ref}: {exc}")
    return outcome
