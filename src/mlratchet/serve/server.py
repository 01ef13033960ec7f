"""Running the service: the model verified first, then uvicorn; SIGTERM drains, then flushes.

:func:`serve` loads the model with proof (:func:`mlratchet.serve.loading.load`: exit 3 or 5
before anything listens), then runs uvicorn. On SIGTERM or SIGINT uvicorn stops accepting
connections, lets the requests in flight finish (up to ``graceful_seconds``), then runs the
application's shutdown, which flushes the prediction log. With ``workers > 1`` uvicorn starts
that many processes, each of which loads and verifies the model itself
(:func:`worker_app`, given the options in an environment variable). With ``follow`` each
process also follows the stage on its own (:mod:`mlratchet.serve.follow`), its swaps and
failures logged on stderr.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from mlratchet.serve.follow import FollowSettings
    from mlratchet.serve.loading import LoadedModel

#: The environment variable that hands the options to worker processes.
OPTIONS_ENV = "RATCHET_SERVE_OPTIONS"


@dataclass(frozen=True)
class ServeOptions:
    """Everything ``ratchet serve`` was given."""

    repo: str = "."
    reference: str | None = None
    contract: str | None = None
    remote: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    max_body_bytes: int = 10 << 20
    log_dir: str | None = None
    flush_rows: int = 1000
    flush_seconds: float = 5.0
    rotate_bytes: int = 8 << 20
    rotate_seconds: float = 3600.0
    graceful_seconds: float = 30.0
    batch_wait_ms: float = 0.0
    max_batch_rows: int = 256
    threads: int = 1  # compute threads of the model in each worker process
    follow: bool = False
    follow_interval: float = 30.0
    follow_remote: str | None = None  # a git remote; None: origin if it exists, else local


def load(options: ServeOptions) -> LoadedModel:
    """The model the options name, verified and loaded (exit 3, 5 or 2 if it may not be), in
    a process whose numeric kernels and compute threads are pinned first (before the model's
    libraries load): the kernels as the stages pin them, so a served score is the offline
    score's bits on any CPU; ``options.threads`` threads, for this process and its workers.

    With ``follow``, the reference must name a stage and the remote must exist (exit 2),
    checked before the model is loaded.
    """
    from mlratchet.runtime import pin_numeric_kernels, pin_threads

    pin_numeric_kernels()
    pin_threads(options.threads)
    from mlratchet.serve.loading import load as load_model

    follow_settings(options)
    contract = Path(options.contract) if options.contract else None
    return load_model(
        options.repo, options.reference, contract_path=contract, remote=options.remote
    )


def follow_settings(options: ServeOptions, reference: str | None = None) -> FollowSettings | None:
    """What ``--follow`` watches (None without it); bad input (exit 2) if it cannot."""
    if not options.follow:
        return None
    from mlratchet.serve.follow import FollowSettings, follow_remote, followable
    from mlratchet.serve.loading import default_reference

    text = reference or options.reference or default_reference(options.repo)
    return FollowSettings(
        repo=options.repo,
        reference=followable(text),
        interval=options.follow_interval,
        remote=follow_remote(options.repo, options.follow_remote),
        contract=options.contract,
        dvc_remote=options.remote,
    )


def log_to_stderr() -> None:
    """Send the service's own log lines (``mlratchet.serve.*``: follow's swaps and
    failures) to stderr, one line each."""
    import logging
    import sys

    logger = logging.getLogger("mlratchet.serve")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("ratchet serve: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def build_app(options: ServeOptions, loaded: LoadedModel) -> Starlette:
    """The application for ``loaded`` with the options' limits and log."""
    from mlratchet.serve.app import AppSettings, create_app
    from mlratchet.serve.predlog import LogSettings

    log = None
    if options.log_dir is not None:
        log = LogSettings(
            Path(options.log_dir).resolve(),
            flush_rows=options.flush_rows,
            flush_seconds=options.flush_seconds,
            rotate_bytes=options.rotate_bytes,
            rotate_seconds=options.rotate_seconds,
        )
    settings = AppSettings(
        max_body_bytes=options.max_body_bytes,
        log=log,
        batch_wait_seconds=options.batch_wait_ms / 1000,
        max_batch_rows=options.max_batch_rows,
        follow=follow_settings(options, loaded.reference),
    )
    return create_app(loaded, settings)


def worker_app() -> Starlette:
    """The application of one worker process (uvicorn's factory, ``workers > 1``)."""
    options = ServeOptions(**json.loads(os.environ[OPTIONS_ENV]))
    log_to_stderr()
    return build_app(options, load(options))


def check_port(host: str, port: int) -> None:
    """Refuse a port someone listens on (exit 4, busy) before uvicorn exits with 1 on it."""
    import errno
    import socket

    from mlratchet.errors import ConflictError

    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConflictError(
                    f"{host}:{port} is in use by another process; choose another --port"
                ) from None
            raise


def _drained(signum: int, frame: Any) -> None:
    """SIGTERM once uvicorn has drained: the stop asked for, not a death (exit 0)."""


def serve(options: ServeOptions, loaded: LoadedModel) -> None:
    """Serve until SIGTERM or SIGINT (see the module's docstring).

    uvicorn re-raises the signal it stopped on to the handler that was there before it ran:
    for SIGTERM that is :func:`_drained`, so a requested stop returns normally; SIGINT stays
    Python's (KeyboardInterrupt, exit 130).
    """
    import signal

    check_port(options.host, options.port)
    log_to_stderr()
    previous = signal.signal(signal.SIGTERM, _drained)
    try:
        _run(options, loaded)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(options: ServeOptions, loaded: LoadedModel) -> None:
    import uvicorn

    common: dict[str, Any] = {
        "host": options.host,
        "port": options.port,
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": options.graceful_seconds,
    }
    if options.workers > 1:
        os.environ[OPTIONS_ENV] = json.dumps(asdict(options))
        uvicorn.run(
            "mlratchet.serve.server:worker_app", factory=True, workers=options.workers, **common
        )
        return
    server = uvicorn.Server(uvicorn.Config(build_app(options, loaded), **common))
    server.run()
