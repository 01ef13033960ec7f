"""A sweep on a Dask cluster: ``ratchet exp run --scheduler tcp://HOST:PORT``.

The cluster is an existing Dask ``distributed`` scheduler with its workers; nothing of ours is
a scheduler. What the workers and this machine share is what a team already shares: the git
remote and the DVC remote. For each experiment a worker (:func:`run_on_worker`):

1. clones the git remote and checks out the baseline (which must be on the remote: checked
   here before anything is submitted);
2. uses its own DVC cache in the workspace and the DVC remote (its URL and options as this
   machine's DVC config has them, credentials left out: the workers take theirs from their
   own environment or DVC config, as ``dvc`` does);
3. writes the point, runs ``ratchet repro --pull`` (what the remote has is pulled, the rest
   runs), and commits, as an experiment here does;
4. pushes the outputs to the DVC remote and the experiment's ref to the git remote (created,
   never moved).

This machine then fetches each ref into the user's repository and writes the compute records
and failures into the git notes, exactly as for a local sweep: the refs, the commits' trees and
the outputs' bytes are the same as a local run's, and ``ratchet verify`` proves them.

Ctrl-C sets a Dask ``Event`` that the running experiments poll: they stop their pipeline,
record nothing and remove their workspaces; queued ones are cancelled.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlratchet.errors import BadInputError
from mlratchet.experiments.sweep import Job, Outcome, Remote, run_one

#: How long a stopped sweep waits for its running experiments to wind down.
STOP_SECONDS = 60.0
#: How often a worker asks the scheduler whether the sweep was stopped.
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Cluster:
    """Where a sweep runs out of this machine: a Dask scheduler and the shared remotes."""

    scheduler: str  # tcp://HOST:PORT (any address distributed.Client takes)
    git_remote: str = "origin"  # a git remote's name here (or its URL)
    dvc_remote: str | None = None  # a DVC remote's name; default the project's default remote

    def remote(self, repo: Path | str) -> Remote:
        """The remotes as the workers must see them; bad input (2) when they cannot work."""
        from mlratchet.gitio import rev_parse, toplevel
        from mlratchet.reproduce.engine import find_dvc_root

        dvc_root = find_dvc_root(repo)
        git_root = toplevel(dvc_root)
        url = git_url(git_root, self.git_remote)
        require_on_remote(git_root, rev_parse(git_root, "HEAD"), url, self.git_remote)
        name, options = dvc_remote(dvc_root, self.dvc_remote)
        return Remote(url, name, tuple(sorted(options.items())))

    def connect(self, jobs: int | None) -> DaskPool:
        """A client of the scheduler; bad input (2) when it cannot be reached."""
        return DaskPool(self.scheduler, jobs)


def git_url(git_root: Path, remote: str) -> str:
    """The URL of git remote ``remote`` (a name, or already a URL); a relative local path is
    made absolute, since the workers do not start where we stand."""
    from mlratchet.gitio import run

    proc = run(git_root, "remote", "get-url", remote, check=False)
    url = proc.stdout.decode().strip() if proc.returncode == 0 else remote
    if proc.returncode != 0 and "://" not in remote and not Path(remote).exists():
        raise BadInputError(
            f"no git remote {remote!r}: a cluster's workers clone the repository from a git "
            "remote; add one (git remote add) or give --git-remote NAME"
        )
    if "://" not in url and ":" not in url.split("/", 1)[0]:  # a local path, not host:path
        url = str((git_root / url).resolve())
    return url


def require_on_remote(git_root: Path, sha: str, url: str, remote: str) -> None:
    """Bad input (2) unless commit ``sha`` is reachable from a ref of the git remote."""
    from mlratchet.gitio import run

    proc = run(git_root, "ls-remote", "--", url, check=False)
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        raise BadInputError(f"git remote {remote!r} ({url}) cannot be read: {' '.join(tail)}")
    for line in proc.stdout.decode().splitlines():
        tip = line.split("\t", 1)[0]
        if tip == sha or (
            run(git_root, "cat-file", "-e", f"{tip}^{{commit}}", check=False).returncode == 0
            and run(git_root, "merge-base", "--is-ancestor", sha, tip, check=False).returncode == 0
        ):
            return
    raise BadInputError(
        f"HEAD ({sha[:7]}) is not on git remote {remote!r} ({url}): the workers check the "
        f"baseline out from there; push it first (git push {remote} HEAD)"
    )


def dvc_remote(dvc_root: Path, name: str | None) -> tuple[str, dict[str, Any]]:
    """The DVC remote the workers use: its name and options (paths absolute, credentials
    left out); bad input (2) when there is none."""
    from mlratchet.reproduce.sandbox import user_dvc_config
    from mlratchet.secrets import is_secret

    config = user_dvc_config(dvc_root)
    remotes = config.get("remote") or {}
    chosen = name or (config.get("core") or {}).get("remote")
    if not chosen:
        raise BadInputError(
            f"{dvc_root / '.dvc' / 'config'}: no default DVC remote: a cluster's workers pull "
            "and push outputs through one; add one (dvc remote add -d) or give --dvc-remote NAME"
        )
    if chosen not in remotes:
        known = ", ".join(sorted(remotes)) or "none"
        raise BadInputError(f"no DVC remote {chosen!r} (the project has: {known})")
    options = {k: v for k, v in dict(remotes[chosen]).items() if not is_secret(k)}
    return chosen, options


class _Polled:
    """A Dask ``Event``, asked at most every :data:`POLL_SECONDS` (each ask is a round trip)."""

    def __init__(self, event: Any) -> None:
        self._event = event
        self._asked = 0.0
        self._set = False

    def is_set(self) -> bool:
        now = time.monotonic()
        if not self._set and now - self._asked >= POLL_SECONDS:
            self._asked = now
            try:
                self._set = bool(self._event.is_set())
            except Exception:  # the scheduler is gone: stop, as for Ctrl-C
                self._set = True
        return self._set


def pipeline_environ() -> dict[str, str]:
    """This worker's environment less what Dask's nanny put there for the worker's own sake
    (``OMP_NUM_THREADS=1`` and the like): the pipeline runs as a user's run would, so that a
    model that records its thread count is the same bytes here as on the user's machine."""
    import os

    import dask

    injected: dict[str, Any] = {}
    for key in ("distributed.nanny.pre-spawn-environ", "distributed.nanny.environ"):
        injected.update(dask.config.get(key, default={}) or {})
    return {k: v for k, v in os.environ.items() if k not in injected or v != str(injected[k])}


def run_on_worker(job: Job, stop_event: str) -> Outcome:
    """The task a worker runs: one experiment against the shared remotes. Whatever goes wrong
    here becomes a failed outcome with its message, so the sweep goes on."""
    from distributed import Event

    try:
        stop = _Polled(Event(stop_event))
        if stop.is_set():  # queued when the sweep was stopped: do nothing
            return Outcome(job.name, job.point, "interrupted")
        return run_one(job, stop, environ=pipeline_environ())
    except Exception as exc:  # reported to the user as the experiment's error
        return Outcome(job.name, job.point, "failed", error=f"on a worker: {exc}")


class DaskPool:
    """Experiments as tasks of a Dask cluster (see :class:`mlratchet.experiments.sweep.Pool`)."""

    def __init__(self, address: str, jobs: int | None) -> None:
        from mlratchet.daskio import connect

        self._client: Any = connect(address)  # bad input (2) when it cannot be reached

        from distributed import Event

        threads = sum(self._client.nthreads().values())
        self.slots = max(1, jobs or threads or 1)
        self._stop_name = f"ratchet-exp-stop-{uuid.uuid4().hex}"
        self._stop: Any = Event(self._stop_name, client=self._client)
        self._futures: list[Any] = []

    def submit(self, job: Job) -> Any:
        """One task per experiment; never retried (an experiment runs once)."""
        future = self._client.submit(
            run_on_worker,
            job,
            self._stop_name,
            key=f"ratchet-exp-{job.name}-{uuid.uuid4().hex[:8]}",
            pure=False,
            retries=0,
        )
        self._futures.append(future)
        return future

    def outcome(self, job: Job, future: Any) -> Outcome:
        """The task's outcome; a task that died with its worker is a failed experiment."""
        try:
            result: Outcome = future.result()
        except Exception as exc:  # a lost worker, or an error that could not travel
            return Outcome(job.name, job.point, "failed", error=f"the task failed: {exc!r}")
        return result

    def stop(self) -> None:
        """Ctrl-C: running experiments see the event and stop; queued ones are cancelled."""
        self._stop.set()
        deadline = time.monotonic() + STOP_SECONDS
        while time.monotonic() < deadline and not all(f.done() for f in self._futures):
            time.sleep(0.2)
        self._client.cancel([f for f in self._futures if not f.done()])

    def close(self) -> None:
        """Release the scheduler's event and close the client."""
        try:
            self._stop.clear()
        finally:
            self._client.close()
