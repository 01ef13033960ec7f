"""Run a DVC pipeline with DVC's own executor, and measure every stage.

We never re-implement DVC's executor. :func:`run_dvc` calls ``Repo.reproduce`` in this process
with DVC's ``repro_fn`` hook (the one DVC experiments use): for each stage we time DVC's whole
handling of it and learn whether it ran, was skipped, or was restored from the run-cache.
:func:`run_dvc_parallel` runs independent stages as concurrent ``dvc repro --single-item``
processes (``ratchet verify --jobs``).

Per-process figures come from the measuring shell (:mod:`mlratchet.reproduce.stageshell`):
while a :class:`Session` is open, ``SHELL`` names it, so DVC runs each stage command through
it; it reaps the command with ``os.wait4`` (exact CPU time and peak RSS of the command's
process tree), kills the command if its parent dies (``kill -9`` of ratchet), forwards Ctrl-C,
and sends the command's output to files that the session follows and reports as events.
Those files live in ``$TMPDIR/ratchet-shell-*``, removed when the session ends (or, after a
``kill -9``, by the next session).

A session changes ``os.environ`` (``SHELL`` and a few ``RATCHET_SHELL_*`` variables) and DVC's
log handlers while it is open: one session at a time per process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlratchet.errors import BadInputError, ConflictError, RatchetError, chain, find_in_chain
from mlratchet.reproduce import stageshell

StageStatus = Literal["ran", "restored", "skipped", "pulled", "failed", "not-run"]
EventKind = Literal["checking", "running", "output", "finished", "message"]

#: How many bytes of a failing command's stderr the report keeps.
STDERR_TAIL_BYTES = 4000
STDERR_TAIL_LINES = 20
_POLL_SECONDS = 0.1
SHELL_DIR_PREFIX = "ratchet-shell-"
_DVC_LOGGERS = ("dvc", "dvc_objects", "dvc_data")


@dataclass(frozen=True)
class CommandRun:
    """One stage command as the measuring shell saw it."""

    cmd: str
    returncode: int
    wall_s: float
    cpu_s: float  # user + system time of the command and every descendant it waited for
    peak_rss_mib: float  # peak resident memory of the largest single process
    signals: tuple[str, ...] = ()  # signals forwarded to the command (SIGINT on Ctrl-C)


@dataclass(frozen=True)
class StageRun:
    """What happened to one stage.

    ``status``: ``ran`` (its command ran), ``restored`` (outputs restored from the run-cache,
    no command), ``skipped`` (up to date), ``pulled`` (``--pull`` fetched its outputs),
    ``failed``, ``not-run`` (an upstream stage failed). ``seconds`` is everything DVC did for
    the stage (checks, command, hashing, caching); the command figures are in ``commands``.
    """

    stage: str
    status: StageStatus
    seconds: float
    commands: tuple[CommandRun, ...] = ()
    cmd: str = ""
    error: str | None = None
    stderr_tail: str = ""
    deps: tuple[str, ...] = ()  # dependency paths, relative to the DVC root (params files too)

    @property
    def command_s(self) -> float | None:
        """Wall time of the stage's commands (None when none ran)."""
        return sum(c.wall_s for c in self.commands) if self.commands else None

    @property
    def cpu_s(self) -> float | None:
        """CPU time of the stage's commands (None when none ran)."""
        return sum(c.cpu_s for c in self.commands) if self.commands else None

    @property
    def peak_rss_mib(self) -> float | None:
        """Peak RSS of the stage's commands (None when none ran)."""
        return max(c.peak_rss_mib for c in self.commands) if self.commands else None

    @property
    def interrupted(self) -> bool:
        """Whether a command of this stage was stopped by Ctrl-C."""
        return any("SIGINT" in c.signals for c in self.commands)


@dataclass(frozen=True)
class Event:
    """Progress of a run, for a live display.

    ``checking``: DVC is looking at the stage; ``running``: its command started (``text`` is
    the command); ``output``: one line the command printed (``text``); ``finished``: the stage
    is done (``run``); ``message``: a warning from DVC (``text``).
    """

    kind: EventKind
    stage: str = ""
    text: str = ""
    run: StageRun | None = None


OnEvent = Callable[[Event], None]


class StageFailedError(Exception):
    """Raised out of :func:`run_dvc` when a stage failed; ``runs`` has every stage so far."""

    def __init__(self, runs: Sequence[StageRun]) -> None:
        super().__init__(runs[-1].error if runs else "a stage failed")
        self.runs = tuple(runs)


@contextlib.contextmanager
def deferred_sigint() -> Iterator[None]:
    """Hold Ctrl-C until the block ends (main thread only), so the block is never cut in half."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


class _KeepSigint:
    """``signal`` as ``dvc.stage.run`` sees it: its ``SIG_IGN`` of SIGINT is a no-op.

    DVC ignores Ctrl-C in its own process while a command runs, so that only the command gets
    it; a SIGINT sent to ratchet's pid would then be lost. We keep our handler instead, which
    passes the interrupt on to the command (:func:`interrupts_reach_commands`).
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(signal, name)

    @staticmethod
    def signal(signum: int, handler: Any) -> Any:
        if signum == signal.SIGINT:
            return signal.getsignal(signal.SIGINT)
        return signal.signal(signum, handler)


@contextlib.contextmanager
def interrupts_reach_commands(session: Session) -> Iterator[list[int]]:
    """Ctrl-C (SIGINT to our pid) while DVC runs commands in this process stops the run.

    While a stage command runs, the interrupt is forwarded to its measuring shell (which makes
    the stage fail as interrupted, so DVC records nothing); between commands it raises
    KeyboardInterrupt at once. The yielded list is non-empty once an interrupt was seen.
    """
    seen: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    from dvc.stage import run as dvc_run

    def on_sigint(signum: int, _frame: object) -> None:
        seen.append(signum)
        shells = session.running_shells()
        if not shells:
            raise KeyboardInterrupt
        for pid in shells:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGINT)

    had_module = getattr(dvc_run, "signal", None) is signal
    previous = signal.signal(signal.SIGINT, on_sigint)
    if had_module:
        dvc_run.signal = _KeepSigint()
    try:
        yield seen
    finally:
        if had_module:
            dvc_run.signal = signal
        signal.signal(signal.SIGINT, previous)


def _real_shell_argv() -> list[str]:
    """The real shell and options DVC would run a command with, ending with ``-c``."""
    from dvc.stage import run as dvc_run

    try:
        executable = dvc_run.get_executable()
        argv = list(dvc_run._make_cmd(executable, ""))[:-1] if executable else []
    except (AttributeError, TypeError):  # DVC changed its private helpers: plain `sh -c`
        argv = []
    return argv if argv and argv[-1] == "-c" else ["/bin/sh", "-c"]


def _tail(path: str) -> str:
    try:
        with Path(path).open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - STDERR_TAIL_BYTES))
            data = fh.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()
    return "\n".join(lines[-STDERR_TAIL_LINES:])


class _DvcLogHandler(logging.Handler):
    def __init__(self, emit_event: OnEvent) -> None:
        super().__init__(logging.WARNING)
        self._emit_event = emit_event

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self._emit_event(Event("message", text=record.getMessage()))


@dataclass
class _Followed:
    stage: str
    path: str
    offset: int = 0
    partial: bytes = b""


@dataclass
class Session:
    """Instrumentation for DVC runs: the measuring shell, its records, DVC's warnings.

    Use as a context manager; ``env`` is added to the environment of every stage command.
    """

    on_event: OnEvent | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    _dir: Path = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _emit_lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _stop: threading.Event = field(init=False, default_factory=threading.Event)
    _thread: threading.Thread | None = field(init=False, default=None)
    _seen: set[str] = field(init=False, default_factory=set)
    _taken: set[str] = field(init=False, default_factory=set)
    _follow: list[_Followed] = field(init=False, default_factory=list)
    _saved_env: dict[str, str | None] = field(init=False, default_factory=dict)
    _saved_logging: list[tuple[logging.Logger, list[logging.Handler], int, bool]] = field(
        init=False, default_factory=list
    )

    @property
    def directory(self) -> Path:
        """Where the measuring shell writes its records (removed when the session ends)."""
        return self._dir

    def emit(self, event: Event) -> None:
        """Send ``event`` to the listener (serialised across threads)."""
        if self.on_event is not None:
            with self._emit_lock:
                self.on_event(event)

    def __enter__(self) -> Session:
        from mlratchet.reproduce.sandbox import owned_tempdir, sweep_abandoned

        sweep_abandoned(SHELL_DIR_PREFIX)
        self._dir = owned_tempdir(SHELL_DIR_PREFIX)
        launcher = self._dir / "ratchet-shell"
        launcher.write_text(
            "#!/bin/sh\n"
            f"exec {shlex.quote(sys.executable)} -I -S {shlex.quote(stageshell.__file__)} "
            '"$@"\n',
            encoding="utf-8",
        )
        launcher.chmod(0o755)
        changes = {
            stageshell.ENV_ARGV: json.dumps(_real_shell_argv()),
            stageshell.ENV_DIR: str(self._dir),
            stageshell.ENV_SAVED_SHELL: os.environ.get("SHELL", ""),
            "SHELL": str(launcher),
            **self.env,
        }
        for key, value in changes.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        handler = _DvcLogHandler(self.emit)
        for name in _DVC_LOGGERS:
            logger = logging.getLogger(name)
            self._saved_logging.append(
                (logger, list(logger.handlers), logger.level, logger.propagate)
            )
            logger.handlers = [handler]
            logger.setLevel(logging.WARNING)
            logger.propagate = False
        if self.on_event is not None:
            self._thread = threading.Thread(target=self._follow_loop, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with contextlib.suppress(Exception):
            self.poll()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for logger, handlers, level, propagate in self._saved_logging:
            logger.handlers = handlers
            logger.setLevel(level)
            logger.propagate = propagate
        import shutil

        shutil.rmtree(self._dir, ignore_errors=True)

    def running_shells(self) -> list[int]:
        """Pids of the measuring shells that started a command and have not finished it."""
        pids = []
        for start in self._dir.glob("*.start"):
            if not start.with_suffix(".json").exists() and start.stem.isdigit():
                pids.append(int(start.stem))
        return pids

    def _follow_loop(self) -> None:
        while not self._stop.wait(_POLL_SECONDS):
            with contextlib.suppress(OSError):
                self.poll()

    def poll(self) -> None:
        """Report commands that started and the output lines they wrote since the last poll."""
        if self.on_event is None:
            return
        with self._lock:
            for start in sorted(self._dir.glob("*.start")):
                if start.name in self._seen:
                    continue
                self._seen.add(start.name)
                try:
                    info = json.loads(start.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                self.emit(Event("running", str(info.get("stage", "")), str(info.get("cmd", ""))))
                base = str(start)[: -len(".start")]
                stage = str(info.get("stage", ""))
                self._follow += [_Followed(stage, f"{base}.out"), _Followed(stage, f"{base}.err")]
            for followed in self._follow:
                self._read_lines(followed)

    def _read_lines(self, followed: _Followed) -> None:
        try:
            with Path(followed.path).open("rb") as fh:
                fh.seek(followed.offset)
                data = fh.read()
        except FileNotFoundError:
            return
        if not data:
            return
        followed.offset += len(data)
        *lines, followed.partial = (followed.partial + data).split(b"\n")
        for raw in lines:
            text = raw.decode("utf-8", errors="replace").rstrip("\r").rsplit("\r", 1)[-1]
            self.emit(Event("output", followed.stage, text))

    def take(self, stage: str) -> tuple[tuple[CommandRun, ...], str]:
        """The commands of ``stage`` that finished since the last call, and its stderr tail."""
        if self.on_event is not None:
            self.poll()
            with self._lock:  # flush a last line without a newline
                for followed in self._follow:
                    if followed.stage == stage and followed.partial:
                        text = followed.partial.decode("utf-8", errors="replace")
                        followed.partial = b""
                        self.emit(Event("output", stage, text))
        runs: list[tuple[float, CommandRun, str]] = []
        for record in self._dir.glob("*.json"):
            if record.name in self._taken:
                continue
            try:
                data = json.loads(record.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if data.get("stage") != stage:
                continue
            self._taken.add(record.name)
            run = CommandRun(
                cmd=str(data["cmd"]),
                returncode=int(data["returncode"]),
                wall_s=float(data["wall_s"]),
                cpu_s=float(data["user_s"]) + float(data["sys_s"]),
                peak_rss_mib=float(data["peak_rss_kib"]) / 1024,
                signals=tuple(data.get("signals", ())),
            )
            runs.append((float(data["started"]), run, str(data.get("err", ""))))
        runs.sort(key=lambda item: item[0])
        failing = [err for _, run, err in runs if run.returncode != 0]
        tail = _tail(failing[-1]) if failing else ""
        return tuple(run for _, run, _ in runs), tail


def _error_chain(exc: BaseException) -> list[str]:
    """The messages of an exception and its causes, outermost first, blank and repeats dropped."""
    messages: list[str] = []
    for error in chain(exc):
        text = str(error).strip()
        if text and text not in messages:
            messages.append(text)
    return messages


def _dvc_error_text(exc: BaseException) -> str:
    """The most specific DVC message of a failed stage (``failed to run: CMD, exited with N``)."""
    messages = _error_chain(exc)
    return messages[-1] if messages else type(exc).__name__


def stage_cmd(stage: Any) -> str:
    """A DVC stage's command as one string (a list of commands, one per line)."""
    cmd = stage.cmd
    return "\n".join(cmd) if isinstance(cmd, list) else str(cmd or "")


def stage_deps(stage: Any) -> tuple[str, ...]:
    """A DVC stage's dependency paths, relative to its DVC root (params files too)."""
    root = stage.repo.root_dir
    return tuple(os.path.relpath(dep.fs_path, root) for dep in stage.deps)


class _Driver:
    """DVC's per-stage step (``dvc.repo.reproduce._reproduce_stage``), measured.

    DVC's step is: warn if frozen, ``stage.reproduce()``, then ``stage.dump()`` when it ran.
    We add the measurement, and hold Ctrl-C while ``dvc.lock`` is being written so it is never
    left half-written (DVC writes it in place).
    """

    def __init__(
        self, session: Session, interrupts: Sequence[int] = (), skip: Collection[str] = ()
    ) -> None:
        self.session = session
        self.runs: list[StageRun] = []
        self.interrupts = interrupts  # non-empty once Ctrl-C was seen
        self.skip = frozenset(skip)  # stages left alone, as if up to date

    def __call__(self, stage: Any, **kwargs: Any) -> Any:
        name = stage.addressing
        if name in self.skip:
            return None
        self.session.emit(Event("checking", name))
        start = time.perf_counter()
        outs_missing = bool(kwargs.get("pull")) and any(not out.exists for out in stage.outs)
        try:
            if stage.frozen and not stage.is_import:
                logging.getLogger("dvc").warning(
                    "%s is frozen. Its dependencies are not going to be reproduced.", stage
                )
            result = stage.reproduce(**kwargs)
            if self.interrupts:  # the command finished as Ctrl-C came: do not record it
                raise KeyboardInterrupt
            if result is not None and not kwargs.get("dry", False):
                with deferred_sigint():
                    stage.dump(update_pipeline=False)
        except Exception as exc:
            commands, tail = self.session.take(name)
            locked = _rwlock_error(stage, exc)
            if locked is not None:
                self._finish(StageRun(name, "not-run", time.perf_counter() - start, commands))
                raise locked from exc
            run = StageRun(
                name,
                "failed",
                time.perf_counter() - start,
                commands,
                stage_cmd(stage),
                _dvc_error_text(exc),
                tail,
                stage_deps(stage),
            )
            self._finish(run)
            if run.interrupted or self.interrupts:
                raise KeyboardInterrupt from exc
            raise
        commands, _ = self.session.take(name)
        if result is None:
            status: StageStatus = "pulled" if outs_missing else "skipped"
        else:
            status = "ran" if commands or not stage.cmd else "restored"
        seconds = time.perf_counter() - start
        self._finish(
            StageRun(name, status, seconds, commands, stage_cmd(stage), deps=stage_deps(stage))
        )
        return result

    def _finish(self, run: StageRun) -> None:
        self.runs.append(run)
        self.session.emit(Event("finished", run.stage, run=run))


def _rwlock_error(stage: Any, exc: BaseException) -> Exception | None:
    """DVC's per-output lock (``.dvc/tmp/rwlock``) busy or unreadable, as one of our errors."""
    from dvc.lock import LockError
    from dvc.rwlock import RWLockFileCorruptedError, RWLockFileFormatError

    path = str(Path(".dvc", "tmp", "rwlock"))
    for error in chain(exc):
        text = " ".join(str(error).split())
        if isinstance(error, LockError):
            return ConflictError(
                f"{path}: stage '{stage.addressing}' cannot lock its files, another dvc or "
                f"ratchet is running on this repository: {text}"
            )
        if isinstance(error, RWLockFileCorruptedError | RWLockFileFormatError):
            detail = ": ".join(_error_chain(error)[1:2]) or ""
            return BadInputError(
                f"{path}: {text}{f' ({detail})' if detail else ''}; if no dvc or ratchet is "
                "running on this repository, remove the file and retry"
            )
    return None


def translate_dvc_error(exc: Exception) -> Exception:
    """A DVC error that stopped the run before any stage failed, as one of ours."""
    from dvc.lock import LockError

    if isinstance(exc, LockError):
        return ConflictError(
            "another DVC process holds this repository's lock (.dvc/tmp/lock); "
            "wait for it to finish and retry"
        )
    return BadInputError("dvc: " + ": ".join(_error_chain(exc)[:2]))


def find_dvc_root(path: Path | str) -> Path:
    """The root of the DVC project containing ``path``; bad input if there is none."""
    from dvc.exceptions import NotDvcRepoError
    from dvc.repo import Repo

    try:
        return Path(Repo.find_root(str(path)))
    except NotDvcRepoError:
        raise BadInputError(
            f"{Path(path).resolve()}: not inside a DVC project (no .dvc directory); "
            "run `dvc init` or pass -R/--repo"
        ) from None


def run_dvc(
    root: Path | str,
    targets: Sequence[str] = (),
    *,
    session: Session,
    force: bool = False,
    pull: bool = False,
    no_commit: bool = False,
    run_cache: bool = True,
    skip: Collection[str] = (),
) -> list[StageRun]:
    """``dvc repro [TARGETS] [--force] [--pull] [--no-commit] [--no-run-cache]``, in process.

    Returns every stage DVC looked at, in DVC's order, but those named in ``skip``: DVC's
    step is not called for them (verify's stages proven by record, whose outputs are in
    place). Before any stage runs, :mod:`mlratchet.reproduce.preflight` refuses unsafe
    ``${param}`` commands (RefusedError) and missing params keys (BadInputError). A failing
    stage raises :class:`StageFailedError` (with the runs so far); Ctrl-C raises
    KeyboardInterrupt; any other DVC error is a :class:`BadInputError` or
    :class:`ConflictError` (lock held).
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    driver = _Driver(session, skip=skip)
    try:
        with (
            interrupts_reach_commands(session) as interrupts,
            contextlib.chdir(root),
            Repo(str(root)) as repo,
        ):
            driver.interrupts = interrupts
            _preflight(repo, targets)
            repo.reproduce(
                targets=list(targets) or None,
                force=force,
                pull=pull,
                no_commit=no_commit,
                run_cache=run_cache,
                repro_fn=driver,
            )
    except DvcException as exc:
        ours = _raised_by_us(exc)
        if ours is not None:  # DVC wraps what the driver raised ("failed to reproduce")
            raise ours from exc
        if driver.runs and driver.runs[-1].status == "failed":
            raise StageFailedError(driver.runs) from exc
        raise translate_dvc_error(exc) from exc
    return driver.runs


def _raised_by_us(exc: BaseException) -> RatchetError | None:
    return find_in_chain(exc, RatchetError)


def _preflight(repo: Any, targets: Sequence[str]) -> None:
    """Refuse, before any stage runs, what would fail or do harm halfway through."""
    from mlratchet.reproduce import preflight

    preflight.check_interpolations(repo)
    if targets:
        stages = [s for t in targets for s in repo.stage.collect(t, with_deps=True)]
    else:
        stages = list(repo.index.stages)
    preflight.check_params(stages)


def _parent_death_preexec() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child die with us (Linux), built before any fork.

    The child runs only a foreign call (no import, no allocation by Python code of ours), which
    is safe after ``fork`` in a process with threads.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    deathsig = int(signal.SIGTERM)

    def preexec() -> None:  # pragma: no cover - runs in the forked child
        prctl(stageshell.PR_SET_PDEATHSIG, deathsig, 0, 0, 0)

    return preexec


def run_dvc_parallel(
    root: Path | str,
    plan: Sequence[tuple[str, Sequence[str]]],
    *,
    session: Session,
    jobs: int,
    logs: Path,
) -> list[StageRun]:
    """Force-run each stage of ``plan`` (name, upstream names) as its own DVC process.

    Up to ``jobs`` stages whose upstream stages succeeded run at once, each as
    ``dvc --wait-for-lock repro --single-item --force --no-commit --no-run-cache STAGE``: DVC
    holds its repository lock only between commands, so commands overlap and ``dvc.lock`` is
    written one stage at a time. A stage whose upstream failed is ``not-run``. Each DVC
    process dies with us (parent-death signal), and its stage command with it.
    """
    upstream = {name: tuple(ups) for name, ups in plan}
    order = [name for name, _ in plan]
    pending = list(order)
    running: dict[str, tuple[subprocess.Popen[bytes], float, Path]] = {}
    ok: dict[str, bool] = {}
    runs: dict[str, StageRun] = {}
    logs.mkdir(parents=True, exist_ok=True)
    preexec = _parent_death_preexec()
    try:
        while pending or running:
            for name in list(pending):
                ups = [u for u in upstream[name] if u in upstream]
                if any(ok.get(u) is False for u in ups):
                    pending.remove(name)
                    ok[name] = False
                    runs[name] = StageRun(name, "not-run", 0.0, error="an upstream stage failed")
                    session.emit(Event("finished", name, run=runs[name]))
                elif all(ok.get(u) for u in ups) and len(running) < jobs:
                    pending.remove(name)
                    session.emit(Event("checking", name))
                    log = logs / f"{name.replace('/', '_').replace(':', '_')}.dvc.log"
                    with log.open("wb") as fh:
                        proc = subprocess.Popen(
                            [
                                sys.executable,
                                "-m",
                                "dvc",
                                "--wait-for-lock",
                                "repro",
                                "--single-item",
                                "--force",
                                "--no-commit",
                                "--no-run-cache",
                                name,
                            ],
                            cwd=root,
                            stdin=subprocess.DEVNULL,
                            stdout=fh,
                            stderr=subprocess.STDOUT,
                            preexec_fn=preexec,  # noqa: PLW1509 - one foreign call, see above
                        )
                    running[name] = (proc, time.perf_counter(), log)
            time.sleep(0.05)
            for name, (proc, start, log) in list(running.items()):
                if proc.poll() is None:
                    continue
                del running[name]
                commands, tail = session.take(name)
                seconds = time.perf_counter() - start
                if proc.returncode == 0:
                    runs[name] = StageRun(name, "ran", seconds, commands)
                else:
                    error = _tail(str(log)) or f"dvc exited with {proc.returncode}"
                    runs[name] = StageRun(name, "failed", seconds, commands, "", error, tail)
                ok[name] = proc.returncode == 0
                session.emit(Event("finished", name, run=runs[name]))
                if any(c.signals and "SIGINT" in c.signals for c in commands):
                    raise KeyboardInterrupt
    finally:
        for proc, _, _ in running.values():
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        for proc, _, _ in running.values():
            proc.wait()
    return [runs[name] for name in order if name in runs]
