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
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from mlratchet.contracts import Failure
    from mlratchet.serve.exposition import Metrics
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
        self.metrics: Metrics = Metrics(
            {
                "name": info["name"],
                "version": info["version"],
                "stage": info["stage"] or "",
                "commit": info["commit"],
                "model_md5": info["model_md5"],
            }
        )
        self.log: PredictionLog | None = None
        if settings.log is not None:
            from mlratchet.serve.predlog import PredictionLog

            self.log = PredictionLog(settings.log, info["version"], info["model_md5"])

    def predict(self, body: bytes, content_type: str, kserve: bool) -> tuple[int, dict[str, Any]]:
        """Check and score a request body (run in a worker thread): status and JSON."""
        from mlratchet.serve.inputs import check, finite
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
        view = loaded.view
        try:
            scores, _predictions = view.score(view.features(checked.table.to_pandas()))
        except Exception as exc:  # the model's failure is answered (500), never raised
            message = f"the model could not score these rows: {type(exc).__name__}: {exc}"
            return 500, error_body(500, message)
        values = [finite(float(v)) for v in scores.tolist()]
        self.metrics.inc("ratchet_rows_predicted_total", len(values))
        self.metrics.inc("ratchet_prediction_nonfinite_total", values.count(None))
        if self.log is not None:
            self.log.append(checked.table, scores, when)
        return 200, {"predictions": values}


def create_app(loaded: LoadedModel, settings: AppSettings | None = None) -> Starlette:
    """The ASGI application serving ``loaded`` (see the module's docstring)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from mlratchet.serve.exposition import CONTENT_TYPE

    service = Service(loaded, settings or AppSettings())

    async def timed(endpoint: str, request: Request, kserve: bool = False) -> Response:
        started = time.perf_counter()
        try:
            body = await _body(request, service.settings.max_body_bytes)
        except _TooLarge:
            limit = service.settings.max_body_bytes
            status, data = 413, error_body(413, f"the body is over {limit} bytes")
        else:
            content_type = request.headers.get("content-type", "application/json")
            status, data = await run_in_threadpool(service.predict, body, content_type, kserve)
        service.metrics.request(endpoint, status, time.perf_counter() - started)
        return _json(data, status)

    async def invocations(request: Request) -> Response:
        return await timed("/invocations", request)

    async def kserve_predict(request: Request) -> Response:
        name = request.path_params["name"]
        if name != service.holder.current.verified.artifact:
            service.metrics.request("/v1/models/:predict", 404, 0.0)
            return _json(error_body(404, f"no model {name!r} here"), 404)
        return await timed("/v1/models/:predict", request, kserve=True)

    async def kserve_model(request: Request) -> Response:
        name = request.path_params["name"]
        if name != service.holder.current.verified.artifact:
            return _json(error_body(404, f"no model {name!r} here"), 404)
        return _json({"name": name, "ready": service.holder.ready})

    async def health(request: Request) -> Response:
        return _json({"status": "alive"})

    async def ready(request: Request) -> Response:
        if not service.holder.ready:
            return _json({"status": "loading"}, 503)
        return _json({"status": "ready"})

    async def version(request: Request) -> Response:
        return _json(service.holder.current.info())

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(service.metrics.render(), media_type=CONTENT_TYPE)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if service.log is not None:
            service.log.start()
        try:
            yield
        finally:  # after uvicorn has drained the requests in flight
            if service.log is not None:
                await run_in_threadpool(service.log.close)

    routes = [
        Route("/invocations", invocations, methods=["POST"]),
        Route("/v1/models/{name}:predict", kserve_predict, methods=["POST"]),
        Route("/v1/models/{name}", kserve_model, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/ping", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    return app
