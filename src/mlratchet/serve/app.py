"""The ASGI application: MLflow's and KServe's scoring endpoints, health, version, metrics.

==============================  ==========================================================
``POST /invocations``           MLflow's scoring formats (:mod:`~mlratchet.serve.payload`)
``POST /v1/models/NAME:predict``  KServe v1: ``{"instances": [...]}``
``GET /v1/models/NAME``         KServe v1: ``{"name": NAME, "ready": true}``
``GET /health``, ``/ping``      alive (200)
``GET /ready``                  a model is loaded (200), else 503
``GET /version``                name, version, stage, commit, model md5, model card
``GET /metrics``                Prometheus text (:mod:`~mlratchet.serve.exposition`)
==============================  ==========================================================

A prediction answers ``{"predictions": [...]}``, one value per row: the model's score as
:meth:`mlratchet.adapter.ModelView.score` gives it (a binary classifier's positive-class
probability, a multiclass one's top probability, a regressor's value; a non-finite score is
``null``). The rows go through the model's own steps (``ModelView.features``), the code path
training, evaluation and monitoring use.

Errors are JSON, never a traceback: ``{"error_code", "message", "failures"}``; 400 for a body
that is not JSON or not in a known shape, 413 for a body over ``max_body_bytes``, 415 for an
unknown content type, 422 (with every failing column, rule and row) for rows that fail the
input checks (:mod:`~mlratchet.serve.inputs`), 404 for another model's KServe path.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlratchet.serve.holder import Holder

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from mlratchet.contracts import Failure
    from mlratchet.serve.batching import Batcher
    from mlratchet.serve.exposition import Metrics
    from mlratchet.serve.follow import Follower, FollowSettings
    from mlratchet.serve.loading import LoadedModel
    from mlratchet.serve.predlog import LogSettings, PredictionLog

#: Default limit on a request body (``--max-body-bytes``).
MAX_BODY_BYTES = 10 << 20

_CODES = {
    400: "BAD_REQUEST",
    404: "RESOURCE_DOES_NOT_EXIST",
    413: "REQUEST_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "INVALID_PARAMETER_VALUE",
    500: "INTERNAL_ERROR",
}


@dataclass(frozen=True)
class AppSettings:
    """How the service answers."""

    max_body_bytes: int = MAX_BODY_BYTES
    log: LogSettings | None = None
    batch_wait_seconds: float = 0.0  # > 0: adaptive batching (mlratchet.serve.batching)
    max_batch_rows: int = 256
    follow: FollowSettings | None = None  # --follow: swap in the stage's new versions


#: A status and its JSON body.
Answer = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class Accepted:
    """A request whose rows passed the checks, and the model they are for."""

    loaded: LoadedModel
    table: pa.Table
    when: datetime.datetime


class _TooLarge(Exception):
    """The body passed ``max_body_bytes``."""


def error_body(status: int, message: str, failures: list[Failure] | None = None) -> dict[str, Any]:
    """The JSON of an error answer (MLflow's ``error_code`` and ``message``, and failures)."""
    body: dict[str, Any] = {"error_code": _CODES.get(status, "ERROR"), "message": message}
    if failures is not None:
        body["failures"] = failures
    return body


def _json(data: Any, status: int = 200) -> Response:
    from starlette.responses import Response

    text = json.dumps(data, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    return Response(text, status_code=status, media_type="application/json")


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused past ``limit`` bytes (before reading it, when it says so)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class Service:
    """The state behind the endpoints: the model holder, the counters, the log."""

    def __init__(self, loaded: LoadedModel, settings: AppSettings) -> None:
        from mlratchet.serve.exposition import Metrics

        info = loaded.info()
        self.settings = settings
        self.holder: Holder[LoadedModel] = Holder(loaded)
        self.metrics: Metrics = Metrics(_model_labels(loaded))
        self.log: PredictionLog | None = None
        if settings.log is not None:
            from mlratchet.serve.predlog import PredictionLog

            self.log = PredictionLog(settings.log, info["version"], info["model_md5"])

    def swap(self, new: LoadedModel) -> None:
        """Serve ``new`` from the next request on (requests in flight keep the old one)."""
        self.holder.swap(new)
        self.metrics.set_model(_model_labels(new))

    def count(self, name: str, reason: str | None) -> None:
        """Add one to counter ``name`` (with its ``reason`` label, if any)."""
        if reason is None:
            self.metrics.inc(name)
        else:
            self.metrics.inc(name, reason=reason)

    def check(self, body: bytes, content_type: str, kserve: bool) -> Answer | Accepted:
        """Read and check a request body (in a worker thread): its rows, or the error answer."""
        from mlratchet.serve.inputs import check
        from mlratchet.serve.payload import PayloadError, columns_of

        loaded = self.holder.current  # one model for the whole request
        when = datetime.datetime.now(datetime.UTC)
        try:
            columns = columns_of(body, content_type, loaded.inputs, kserve=kserve)
        except PayloadError as exc:
            return exc.status, error_body(exc.status, str(exc))
        checked = check(columns, loaded.inputs, loaded.contract)
        self.metrics.inc("ratchet_input_missing_total", checked.nan)
        self.metrics.inc("ratchet_input_infinite_total", checked.inf)
        if not checked.ok or checked.table is None:
            for failure in checked.failures:
                self.metrics.inc(
                    "ratchet_contract_violations_total",
                    max(failure["count"], 1),
                    column=failure["column"] or "",
                    rule=failure["rule"],
                )
            count = len(checked.failures)
            message = f"{count} input check{'s' if count != 1 else ''} failed; see failures"
            return 422, error_body(422, message, checked.failures)
        return Accepted(loaded, checked.table, when)

    def score(self, loaded: LoadedModel, table: pa.Table) -> np.ndarray:
        """The model's scores for checked rows: its own steps, then its scores (ModelView)."""
        view = loaded.view
        self.metrics.inc("ratchet_model_calls_total")
        scores, _predictions = view.score(view.features(table.to_pandas()))
        return scores

    def answer(self, accepted: Accepted, scores: np.ndarray) -> Answer:
        """The answer for scored rows (in a worker thread: the log may write)."""
        from mlratchet.serve.inputs import finite

        values = [finite(float(v)) for v in scores.tolist()]
        self.metrics.inc("ratchet_rows_predicted_total", len(values))
        self.metrics.inc("ratchet_prediction_nonfinite_total", values.count(None))
        if self.log is not None:
            found = accepted.loaded.verified
            self.log.append(
                accepted.table, scores, accepted.when, version=found.version, md5=found.md5
            )
        return 200, {"predictions": values}


def _model_labels(loaded: LoadedModel) -> dict[str, str]:
    """The labels of ``ratchet_model_info``: the model served."""
    found = loaded.verified
    return {
        "name": found.artifact,
        "version": found.version,
        "stage": found.stage or "",
        "commit": found.commit,
        "model_md5": found.md5,
    }


def _model_error(exc: Exception) -> Answer:
    message = f"the model could not score these rows: {type(exc).__name__}: {exc}"
    return 500, error_body(500, message)


class Endpoints:
    """The request handlers, over one :class:`Service` (and its batcher, when batching)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.batcher: Batcher | None = None
        self.checking = 0  # requests whose rows are being read and checked (batching)
        if service.settings.batch_wait_seconds > 0:
            from mlratchet.serve.batching import Batcher

            self.batcher = Batcher(
                service.score,
                wait_seconds=service.settings.batch_wait_seconds,
                max_rows=service.settings.max_batch_rows,
                busy=lambda: self.checking,
            )
        self.follower: Follower | None = None
        if service.settings.follow is not None:
            from mlratchet.serve.follow import Follower

            self.follower = Follower(
                service.settings.follow,
                lambda: service.holder.current,
                service.swap,
                service.count,
            )

    def alone(self, body: bytes, content_type: str, kserve: bool) -> Answer:
        """Check, score and answer one request body, in one worker thread (no batching)."""
        service = self.service
        accepted = service.check(body, content_type, kserve)
        if not isinstance(accepted, Accepted):
            return accepted
        try:
            scores = service.score(accepted.loaded, accepted.table)
        except Exception as exc:  # the model's failure is answered (500), never raised
            return _model_error(exc)
        return service.answer(accepted, scores)

    async def predict(self, body: bytes, content_type: str, kserve: bool) -> Answer:
        """Check, score (alone or batched) and answer one request body."""
        from starlette.concurrency import run_in_threadpool

        if self.batcher is None:
            return await run_in_threadpool(self.alone, body, content_type, kserve)
        service = self.service
        self.checking += 1
        try:
            accepted = await run_in_threadpool(service.check, body, content_type, kserve)
        finally:
            self.checking -= 1
        if not isinstance(accepted, Accepted):
            return accepted
        try:
            scores = await self.batcher.submit(accepted.loaded, accepted.table)
        except Exception as exc:  # the model's failure is answered (500), never raised
            return _model_error(exc)
        if service.log is None:  # counting and JSON values only: no need for a thread
            return service.answer(accepted, scores)
        return await run_in_threadpool(service.answer, accepted, scores)

    async def timed(self, endpoint: str, request: Request, kserve: bool = False) -> Response:
        """A prediction endpoint: the body (within its limit), the answer, counted and timed."""
        started = time.perf_counter()
        limit = self.service.settings.max_body_bytes
        try:
            body = await _body(request, limit)
        except _TooLarge:
            status, data = 413, error_body(413, f"the body is over {limit} bytes")
        else:
            content_type = request.headers.get("content-type", "application/json")
            status, data = await self.predict(body, content_type, kserve)
        self.service.metrics.request(endpoint, status, time.perf_counter() - started)
        return _json(data, status)

    async def invocations(self, request: Request) -> Response:
        """``POST /invocations`` (MLflow)."""
        return await self.timed("/invocations", request)

    def _other_model(self, request: Request) -> Response | None:
        name = request.path_params["name"]
        if name != self.service.holder.current.verified.artifact:
            return _json(error_body(404, f"no model {name!r} here"), 404)
        return None

    async def kserve_predict(self, request: Request) -> Response:
        """``POST /v1/models/NAME:predict`` (KServe v1)."""
        other = self._other_model(request)
        if other is not None:
            self.service.metrics.request("/v1/models/:predict", 404, 0.0)
            return other
        return await self.timed("/v1/models/:predict", request, kserve=True)

    async def kserve_model(self, request: Request) -> Response:
        """``GET /v1/models/NAME`` (KServe v1)."""
        other = self._other_model(request)
        if other is not None:
            return other
        name = request.path_params["name"]
        return _json({"name": name, "ready": self.service.holder.ready})

    async def health(self, request: Request) -> Response:
        """Alive."""
        return _json({"status": "alive"})

    async def ready(self, request: Request) -> Response:
        """A model is loaded."""
        if not self.service.holder.ready:
            return _json({"status": "loading"}, 503)
        return _json({"status": "ready"})

    async def version(self, request: Request) -> Response:
        """The version served."""
        return _json(self.service.holder.current.info())

    async def metrics(self, request: Request) -> Response:
        """Prometheus text."""
        from starlette.responses import PlainTextResponse

        from mlratchet.serve.exposition import CONTENT_TYPE

        return PlainTextResponse(self.service.metrics.render(), media_type=CONTENT_TYPE)

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """Start the log's timer, the batcher and the follower; stop them (flushing) after
        the drain."""
        from starlette.concurrency import run_in_threadpool

        log = self.service.log
        if log is not None:
            log.start()
        if self.batcher is not None:
            self.batcher.start()
        if self.follower is not None:
            self.follower.start()
        try:
            yield
        finally:  # after uvicorn has drained the requests in flight
            if self.follower is not None:
                await run_in_threadpool(self.follower.stop)
            if self.batcher is not None:
                await self.batcher.stop()
            if log is not None:
                await run_in_threadpool(log.close)


def create_app(loaded: LoadedModel, settings: AppSettings | None = None) -> Starlette:
    """The ASGI application serving ``loaded`` (see the module's docstring)."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    handlers = Endpoints(Service(loaded, settings or AppSettings()))
    routes = [
        Route("/invocations", handlers.invocations, methods=["POST"]),
        Route("/v1/models/{name}:predict", handlers.kserve_predict, methods=["POST"]),
        Route("/v1/models/{name}", handlers.kserve_model, methods=["GET"]),
        Route("/health", handlers.health, methods=["GET"]),
        Route("/ping", handlers.health, methods=["GET"]),
        Route("/ready", handlers.ready, methods=["GET"]),
        Route("/version", handlers.version, methods=["GET"]),
        Route("/metrics", handlers.metrics, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=handlers.lifespan)
    app.state.service = handlers.service
    return app
