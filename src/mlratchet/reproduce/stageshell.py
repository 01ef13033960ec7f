"""The measuring shell: what DVC runs a stage command with while ``ratchet`` drives it.

DVC runs each stage command as ``$SHELL -c CMD`` (``dvc/stage/run.py``). While ``ratchet repro``
or ``ratchet verify`` runs, ``SHELL`` points at a launcher for this script, which:

1. asks the kernel to signal it when its parent (ratchet or a ``dvc`` process ratchet started)
   dies, even by ``kill -9`` (Linux ``prctl(PR_SET_PDEATHSIG)``), and then kills the stage;
2. runs the user's real shell exactly as DVC would have (``RATCHET_SHELL_ARGV``, computed by
   DVC's own ``_make_cmd``), with the user's ``SHELL`` restored, in a process group of its own,
   its stdout and stderr going to files that ratchet shows live and tails on failure;
3. forwards Ctrl-C (SIGINT), SIGTERM, SIGHUP and SIGQUIT to that process group;
4. reaps it with ``os.wait4`` and writes a JSON record: wall time, CPU time (user + system of
   the command and every descendant it waited for) and peak RSS (the largest single process);
5. exits with the command's status (128 + N when it died of signal N), except that a command
   that got Ctrl-C is reported as interrupted (exit 130) even when it caught the signal and
   exited 0: DVC must not record half-made outputs in ``dvc.lock``.

It runs as ``python -I -S stageshell.py -c CMD``: standard library only, no site-packages, no
``PYTHON*`` variables, so it starts in milliseconds and cannot be affected by the project.
It must not import mlratchet.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time

ENV_ARGV = "RATCHET_SHELL_ARGV"  # JSON list: the real shell and its options, ending with "-c"
ENV_DIR = "RATCHET_SHELL_DIR"  # where start files, logs and records go
ENV_SAVED_SHELL = "RATCHET_SHELL_SAVED"  # the user's SHELL ("" when it was unset)
PR_SET_PDEATHSIG = 1
PARENT_DEATH_SIGNAL = signal.SIGUSR2
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
INTERRUPTED = 128 + int(signal.SIGINT)
#: One Ctrl-C reaches this shell twice when the terminal signals the whole process group and
#: ratchet forwards it too: a repeat within this many seconds is the same key press.
SAME_SIGINT_S = 0.25


def _set_parent_death_signal(sig: int) -> bool:
    """Ask the kernel to send ``sig`` when the parent dies (Linux); False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _write_json(path: str, data: dict[str, object]) -> None:
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except OSError:
        pass  # a record is best effort: the stage must run whether or not it can be measured


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RATCHET_SHELL_")}
    saved = os.environ.get(ENV_SAVED_SHELL, "")
    if saved:
        env["SHELL"] = saved
    else:
        env.pop("SHELL", None)
    return env


def _spawn(argv: list[str], env: dict[str, str], out_path: str, err_path: str) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    out_fd = os.open(out_path, flags, 0o644)
    err_fd = os.open(err_path, flags, 0o644)
    pid = os.fork()
    if pid == 0:  # the child: own process group, dies with this shell, then becomes the shell
        try:
            os.setpgid(0, 0)
            _set_parent_death_signal(signal.SIGKILL)
            for sig in (*FORWARDED, PARENT_DEATH_SIGNAL):
                signal.signal(sig, signal.SIG_DFL)
            os.dup2(out_fd, 1)
            os.dup2(err_fd, 2)
            os.execve(argv[0], argv, env)
        except OSError as exc:
            os.write(2, f"ratchet: cannot run {argv[0]}: {exc.strerror}\n".encode())
        finally:
            os._exit(127)
    with contextlib.suppress(OSError):  # the child may have done it, or already exited
        os.setpgid(pid, pid)
    os.close(out_fd)
    os.close(err_fd)
    return pid


def main(args: list[str]) -> int:
    """Run ``args`` (``-c CMD``) as DVC would, measured; return the exit status."""
    real = json.loads(os.environ.get(ENV_ARGV) or '["/bin/sh", "-c"]')
    if len(args) != 2 or args[0] != "-c":  # not DVC's call: behave as the real shell would
        os.execve(real[0], [real[0], *args], _child_env())
    cmd = args[1]
    parent = os.getppid()
    has_deathsig = _set_parent_death_signal(PARENT_DEATH_SIGNAL)
    if has_deathsig and os.getppid() != parent:
        return 128 + int(PARENT_DEATH_SIGNAL)  # the parent died before we could watch it
    record_dir = os.environ.get(ENV_DIR, "")
    me = os.getpid()
    base = os.path.join(record_dir, str(me)) if record_dir else os.devnull
    out_path, err_path = (f"{base}.out", f"{base}.err") if record_dir else (os.devnull,) * 2
    stage = os.environ.get("DVC_STAGE", "")
    started = time.time()
    if record_dir:
        _write_json(
            f"{base}.start",
            {"stage": stage, "cmd": cmd, "pid": me, "started": started, "out": out_path},
        )

    child = 0
    received: list[int] = []
    last_sigint = [-1.0]

    def forward(signum: int, _frame: object) -> None:
        if signum == signal.SIGINT:
            now = time.monotonic()
            if last_sigint[0] >= 0 and now - last_sigint[0] < SAME_SIGINT_S:
                return
            last_sigint[0] = now
        received.append(signum)
        if child:
            target = signal.SIGKILL if signum == PARENT_DEATH_SIGNAL else signum
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child, target)

    for sig in (*FORWARDED, PARENT_DEATH_SIGNAL):
        signal.signal(sig, forward)
    t0 = time.perf_counter()
    child = _spawn([*real, cmd], _child_env(), out_path, err_path)
    if received:  # a signal arrived while we were starting the child
        forward(received[-1], None)
    _pid, status, usage = os.wait4(child, 0)
    wall = time.perf_counter() - t0
    if os.WIFSIGNALED(status):
        code = 128 + os.WTERMSIG(status)
        returncode = -os.WTERMSIG(status)
    else:
        code = returncode = os.WEXITSTATUS(status)
    signals = [signal.Signals(s).name for s in received]
    # Interrupted however the command learnt of it: Ctrl-C forwarded by us, or sent to its own
    # process group (it died of SIGINT, or its shell reported so with 130).
    if "SIGINT" not in signals and (returncode in (-int(signal.SIGINT), INTERRUPTED)):
        signals.append("SIGINT")
    if "SIGINT" in signals:
        code = INTERRUPTED
    rss_kib = usage.ru_maxrss / 1024 if sys.platform == "darwin" else usage.ru_maxrss
    if record_dir:
        _write_json(
            f"{base}.json",
            {
                "stage": stage,
                "cmd": cmd,
                "pid": me,
                "started": started,
                "wall_s": wall,
                "user_s": usage.ru_utime,
                "sys_s": usage.ru_stime,
                "peak_rss_kib": rss_kib,
                "returncode": returncode,
                "signals": signals,
                "err": err_path,
            },
        )
    if PARENT_DEATH_SIGNAL in received:
        return 128 + int(signal.SIGKILL)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
