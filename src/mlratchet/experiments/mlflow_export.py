"""``ratchet exp export --mlflow URL``: the leaderboard's experiments as runs of an MLflow server.

For teams that live in MLflow's UI. Each experiment (and each baseline commit) becomes one MLflow
run: its params and numeric metrics, as ``ratchet exp show`` reads them
(:func:`mlratchet.experiments.leaderboard.load`, the one loader), and tags that say where it comes
from (``mlratchet.commit``, ``mlratchet.ref``, ``mlratchet.baseline``, ``mlratchet.name``,
MLflow's own ``mlflow.source.git.commit``) and in what environment it ran (the ``repro`` compute
record in the commit's git note).

It speaks MLflow's public REST API (``/api/2.0/mlflow/...``) with the standard library: no MLflow
package is needed on our side. The URL is a tracking server's (``mlflow server``); a store URI
such as ``sqlite:///mlflow.db`` is served by ``mlflow server --backend-store-uri ...`` first.
Credentials come from the environment as MLflow's client reads them: ``MLFLOW_TRACKING_TOKEN``
(a bearer token), else ``MLFLOW_TRACKING_USERNAME`` and ``MLFLOW_TRACKING_PASSWORD`` (basic).

Idempotent: every run we create carries ``mlratchet.baseline``; one search per baseline
(``tags.`mlratchet.baseline` = '<sha>'``) finds the runs exported before, by ``mlratchet.commit``
(a failed experiment, which has no commit, by ``mlratchet.ref``). A run found is left alone when
it already says everything (``unchanged``), else the missing or changed tags and metrics are
logged and its status set (``updated``); a param whose value differs is a conflict (params are
immutable in MLflow). Exporting twice creates nothing the second time; new experiments add runs.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import os
import posixpath
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from mlratchet.errors import BadInputError, ConflictError, RatchetError

if TYPE_CHECKING:
    from mlratchet.experiments.leaderboard import Baseline, Leaderboard, Row

#: MLflow's limits (mlflow/utils/validation.py, 3.x): entities per ``runs/log-batch`` call,
#: the length of keys and values.
MAX_BATCH = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
#: Runs per ``runs/search`` page.
PAGE = 1000
#: Seconds to wait for one HTTP response.
TIMEOUT = 30.0
ENV_URI = "MLFLOW_TRACKING_URI"
#: Tags we set only sometimes, removed from a run when they no longer apply.
STALE_TAGS = ("mlratchet.error",)

Action = Literal["created", "updated", "unchanged"]
Kind = Literal["baseline", "experiment"]
_INVALID_KEY = re.compile(r"[^\w.\- :/]")
_TRUNCATED = "... (truncated)"


# -- the result -----------------------------------------------------------------------------
class RunJson(TypedDict):
    """One exported run."""

    name: str
    kind: Kind
    commit: str | None
    ref: str | None
    baseline: str
    status: str  # MLflow's: FINISHED or FAILED
    run_id: str
    action: Action


class ExportJson(TypedDict):
    """``ratchet exp export --json``."""

    tracking_uri: str
    experiment: str
    experiment_id: str
    created: int
    updated: int
    unchanged: int
    runs: list[RunJson]
    warnings: list[str]


@dataclass(frozen=True)
class ExportedRun:
    """An experiment (or a baseline) and its MLflow run."""

    name: str
    kind: Kind
    commit: str | None
    ref: str | None
    baseline: str
    status: str
    run_id: str
    action: Action

    def to_json(self) -> RunJson:
        """As in :class:`RunJson`."""
        return {
            "name": self.name,
            "kind": self.kind,
            "commit": self.commit,
            "ref": self.ref,
            "baseline": self.baseline,
            "status": self.status,
            "run_id": self.run_id,
            "action": self.action,
        }


@dataclass(frozen=True)
class MlflowExport:
    """What :func:`export` did: the MLflow experiment and one run per experiment and baseline."""

    tracking_uri: str  # without credentials
    experiment: str
    experiment_id: str
    runs: tuple[ExportedRun, ...]
    warnings: tuple[str, ...] = ()

    def count(self, action: Action) -> int:
        """How many runs were ``action``."""
        return sum(1 for r in self.runs if r.action == action)

    def to_json(self) -> ExportJson:
        """As in :class:`ExportJson`."""
        return {
            "tracking_uri": self.tracking_uri,
            "experiment": self.experiment,
            "experiment_id": self.experiment_id,
            "created": self.count("created"),
            "updated": self.count("updated"),
            "unchanged": self.count("unchanged"),
            "runs": [r.to_json() for r in self.runs],
            "warnings": list(self.warnings),
        }


# -- the REST client ------------------------------------------------------------------------
@dataclass(frozen=True)
class Server:
    """An MLflow tracking server: its base URL (no credentials) and the headers to send."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    tls: ssl.SSLContext | None = field(default=None, repr=False)  # None: Python's default

    def call(self, endpoint: str, body: Mapping[str, Any] | None = None, **query: str) -> Any:
        """POST ``body`` (GET with ``query`` when there is no body) to
        ``/api/2.0/mlflow/<endpoint>``; the decoded JSON answer. An unreachable server or an
        error answer is :class:`BadInputError` (busy: :class:`ConflictError`) naming it."""
        url = f"{self.url}/api/2.0/mlflow/{endpoint}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body, allow_nan=False).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL's scheme is checked: http(s)
            url, data=data, method="GET" if body is None else "POST"
        )
        request.add_header("Content-Type", "application/json")
        for name, value in self.headers.items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(  # noqa: S310 - the scheme is http(s), see connect
                request, timeout=TIMEOUT, context=self.tls
            ) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise _http_error(self.url, endpoint, exc) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise BadInputError(
                f"cannot reach the MLflow tracking server at {self.url}: {reason}; is "
                f"`mlflow server` running there? (give its URL with --mlflow or {ENV_URI})"
            ) from None
        except ValueError:
            raise BadInputError(
                f"{self.url}: {endpoint} did not answer JSON; is this an MLflow tracking server?"
            ) from None


class MlflowApiError(BadInputError):
    """The MLflow server refused a request (its ``error_code`` kept for callers)."""

    def __init__(self, message: str, status: int, error_code: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


class MlflowBusyError(ConflictError):
    """The MLflow server is overloaded or unavailable (HTTP 429, 503): try again."""


def _http_error(url: str, endpoint: str, exc: urllib.error.HTTPError) -> RatchetError:
    """The error for an error answer: MLflow's ``error_code`` and message, the endpoint."""
    try:
        payload = json.loads(exc.read() or b"{}")
    except ValueError:
        payload = {}
    code = payload.get("error_code") if isinstance(payload, dict) else None
    text = payload.get("message") if isinstance(payload, dict) else None
    detail = f"{code}: {text}" if code and text else str(text or code or exc.reason)
    where = f"MLflow at {url}: {endpoint} answered HTTP {exc.code}"
    if exc.code in (429, 503):
        return MlflowBusyError(f"{where} ({detail}); the server is busy, try again later")
    if exc.code == 404 and not code:
        detail += "; is this the URL of an MLflow tracking server?"
    if exc.code in (401, 403):
        detail += (
            "; set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
        )
    return MlflowApiError(f"{where}: {detail}", exc.code, code)


def connect(uri: str | None, env: Mapping[str, str] | None = None) -> Server:
    """The server at ``uri`` (default: ``MLFLOW_TRACKING_URI``), credentials from ``env``
    (default: the process environment) as MLflow's client reads them. Anything but an
    http(s) URL is :class:`BadInputError` saying how to serve it."""
    env = os.environ if env is None else env
    given = uri or env.get(ENV_URI) or ""
    source = f"--mlflow {_redact(given)}" if uri else f"{ENV_URI}={_redact(given)}"
    if not given:
        raise BadInputError(
            f"no MLflow tracking server: give --mlflow URL (e.g. http://127.0.0.1:5000) or set "
            f"{ENV_URI}"
        )
    parts = urllib.parse.urlsplit(given)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        store = given if "://" in given or given.startswith("databricks") else f"file:{given}"
        raise BadInputError(
            f"{source}: give the http(s) URL of an MLflow tracking server; to export "
            f"into this store, serve it: `mlflow server --backend-store-uri {_redact(store)} "
            "--host 127.0.0.1 --port 5000`, then pass --mlflow http://127.0.0.1:5000"
        )
    headers: dict[str, str] = {}
    user = env.get("MLFLOW_TRACKING_USERNAME") or urllib.parse.unquote(parts.username or "")
    password = env.get("MLFLOW_TRACKING_PASSWORD") or urllib.parse.unquote(parts.password or "")
    token = env.get("MLFLOW_TRACKING_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    elif user or password:
        pair = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {pair}"
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return Server(url, headers, _tls(env))


def _redact(uri: str) -> str:
    """``uri`` with the password of its ``user:password@`` (if any) as ``***``."""
    return re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", uri)


def _tls(env: Mapping[str, str]) -> ssl.SSLContext | None:
    """TLS as MLflow's client sets it: ``MLFLOW_TRACKING_SERVER_CERT_PATH`` (a CA bundle to
    trust), ``MLFLOW_TRACKING_INSECURE_TLS=true`` (no verification); else Python's default."""
    if env.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the user asked for it, as MLflow's client allows
        return context
    cafile = env.get("MLFLOW_TRACKING_SERVER_CERT_PATH")
    if cafile:
        try:
            return ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as exc:
            raise BadInputError(f"MLFLOW_TRACKING_SERVER_CERT_PATH={cafile}: {exc}") from None
    return None


# -- what a run should say --------------------------------------------------------------------
@dataclass
class _Want:
    """The desired state of one run."""

    name: str
    kind: Kind
    commit: str | None
    ref: str | None
    baseline: str
    status: str
    time_ms: int
    params: dict[str, str]
    metrics: dict[str, float]
    tags: dict[str, str]

    @property
    def identity(self) -> tuple[str, str]:
        return ("commit", self.commit) if self.commit else ("ref", self.ref or "")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(_TRUNCATED)] + _TRUNCATED


def _key(text: str) -> str:
    """A key MLflow accepts: invalid characters as ``_``, a path MLflow would normalise
    (``a//b``, ``./a``, ``/a``) with its slashes as ``_``, at most :data:`MAX_KEY` long."""
    key = _INVALID_KEY.sub("_", text)[:MAX_KEY]
    if key and _not_unique(key):
        key = key.replace("/", "_")
        if _not_unique(key):  # ".", "..", "..x"
            key = "_" + key[: MAX_KEY - 1]
    return key


def _not_unique(key: str) -> bool:
    """MLflow's ``path_not_unique``: a name that is not its own normal path."""
    norm = posixpath.normpath(key)
    return norm != key or norm == "." or norm.startswith(("..", "/"))


def _names(flat: Mapping[str, Mapping[str, Any]], default: str | None) -> Iterator[tuple[str, Any]]:
    """(name, value) for each value of ``flat``, named as ``ratchet exp show`` titles its
    columns (:func:`~mlratchet.experiments.leaderboard.titles`), here within one run."""
    from mlratchet.experiments.leaderboard import titles

    pairs = [(path, key) for path, values in flat.items() for key in values]
    for (path, key), name in zip(pairs, titles(pairs, default), strict=True):
        yield name, flat[path][key]


def _param_value(value: Any) -> str:
    """A param's value as MLflow's client logs one (``str``), cut to MLflow's limit."""
    return _clip(str(value), MAX_PARAM_VALUE)


def _metrics(flat: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """The finite numbers (booleans, strings, NaN and infinities left out)."""
    return {
        _key(name): float(value)
        for name, value in _names(flat, None)
        if isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    }


def _environment(record: Any) -> dict[str, str]:
    """Tags from a ``repro`` compute record: the interpreter, platform and packages of the
    stages that ran (the first stage's interpreter; every stage's packages)."""
    stages = record.get("stages") if isinstance(record, dict) else None
    envs = [
        stage["env"]
        for _name, stage in sorted(stages.items() if isinstance(stages, dict) else ())
        if isinstance(stage, dict) and isinstance(stage.get("env"), dict)
    ]
    if not envs:
        return {}
    first = envs[0]
    packages: dict[str, str] = {}
    for env in envs:
        found = env.get("packages")
        if isinstance(found, dict):
            packages.update({str(k): str(v) for k, v in found.items()})
    tags = {
        "mlratchet.env.python": f"{first.get('python', '?')} ({first.get('implementation', '?')})",
        "mlratchet.env.platform": str(first.get("platform", "?")),
        "mlratchet.env.packages": "\n".join(f"{k}=={v}" for k, v in sorted(packages.items())),
    }
    seconds = [s.get("seconds") for s in stages.values() if isinstance(s, dict)]  # type: ignore[union-attr]
    total = sum(s for s in seconds if isinstance(s, int | float) and not isinstance(s, bool))
    tags["mlratchet.compute.seconds"] = f"{total:.3f}"
    return tags


def _baseline_want(sha: str, base: Baseline, time_ms: int, env: dict[str, str]) -> _Want:
    name = f"baseline {sha[:7]}"  # stable: a branch name moves, the commit does not
    tags = {
        "mlratchet.kind": "baseline",
        "mlratchet.commit": sha,
        "mlratchet.baseline": sha,
        "mlratchet.name": name,
        "mlflow.runName": name,
        "mlflow.source.git.commit": sha,
        **env,
    }
    params = {_key(k): _param_value(v) for k, v in _names(base.params, "params.yaml")}
    return _Want(
        name, "baseline", sha, None, sha, "FINISHED", time_ms, params, _metrics(base.metrics), tags
    )


def _row_want(row: Row, time_ms: int, env: dict[str, str]) -> _Want:
    tags = {
        "mlratchet.kind": "experiment",
        "mlratchet.ref": row.ref,
        "mlratchet.baseline": row.baseline,
        "mlratchet.name": row.name,
        "mlratchet.status": row.status,
        "mlflow.runName": row.name,
    }
    if row.rev:
        tags["mlratchet.commit"] = row.rev
        tags["mlflow.source.git.commit"] = row.rev
        tags.update(env)
    if row.error:
        tags["mlratchet.error"] = _clip(row.error, MAX_TAG_VALUE)
    for verdict in row.verdicts:
        tags[_key(f"mlratchet.verdict.{verdict.key}")] = str(verdict.status)
    params = {_key(k): _param_value(v) for k, v in _names(row.params, "params.yaml")}
    status = "FAILED" if row.status == "failed" else "FINISHED"
    return _Want(
        row.name,
        "experiment",
        row.rev,
        row.ref,
        row.baseline,
        status,
        time_ms,
        params,
        _metrics(row.metrics),
        tags,
    )


def _wants(repo: Path | str, board: Leaderboard) -> list[_Want]:
    """The runs for ``board``: each baseline, then each experiment. A failed experiment's
    time is its baseline's; an experiment commit that is also a shown baseline (checked out)
    is one run, the experiment's."""
    from mlratchet import notes
    from mlratchet.gitio import commit_times, toplevel

    top = toplevel(repo)
    rows = board.experiments
    exp_commits = {r.rev for r in rows if r.rev}
    times = commit_times(top, [*board.baselines, *exp_commits])
    with_notes = notes.annotated(top)

    def env_of(sha: str) -> dict[str, str]:
        if sha not in with_notes:
            return {}
        record = notes.read(top, sha).get("repro")
        return {k: _clip(v, MAX_TAG_VALUE) for k, v in _environment(record).items()}

    wants = [
        _baseline_want(sha, base, times.get(sha, 0), env_of(sha))
        for sha, base in board.baselines.items()
        if sha not in exp_commits
    ]
    wants.extend(
        _row_want(row, times.get(row.rev or row.baseline, 0), env_of(row.rev) if row.rev else {})
        for row in rows
    )
    return wants


# -- talking to the server --------------------------------------------------------------------
def _experiment_id(server: Server, name: str) -> str:
    """The id of the MLflow experiment ``name``, created when missing."""
    for attempt in range(2):
        try:
            found = server.call("experiments/get-by-name", experiment_name=name)
        except MlflowApiError as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
        else:
            experiment = found.get("experiment", {})
            if experiment.get("lifecycle_stage") == "deleted":
                raise BadInputError(
                    f"MLflow experiment {name!r} is deleted at {server.url}; restore it "
                    "(`mlflow experiments restore`) or give another --experiment"
                )
            return str(experiment["experiment_id"])
        try:
            created = server.call("experiments/create", {"name": name})
        except MlflowApiError as exc:
            if exc.error_code == "RESOURCE_ALREADY_EXISTS" and attempt == 0:
                continue  # created by someone else in between: read it
            raise
        return str(created["experiment_id"])
    raise BadInputError(
        f"MLflow experiment {name!r}: cannot create nor read it"
    )  # pragma: no cover


def _existing(server: Server, experiment_id: str, baseline: str) -> dict[tuple[str, str], Any]:
    """The active runs exported before for ``baseline``, by identity (commit, or ref)."""
    found: dict[tuple[str, str], Any] = {}
    token: str | None = None
    while True:
        body: dict[str, Any] = {
            "experiment_ids": [experiment_id],
            "filter": f"tags.`mlratchet.baseline` = '{baseline}'",
            "run_view_type": "ACTIVE_ONLY",
            "max_results": PAGE,
            "order_by": ["attributes.start_time ASC"],
        }
        if token:
            body["page_token"] = token
        answer = server.call("runs/search", body)
        for run in answer.get("runs", []):
            tags = {t["key"]: t.get("value", "") for t in run.get("data", {}).get("tags", [])}
            if tags.get("mlratchet.commit"):
                identity = ("commit", tags["mlratchet.commit"])
            elif tags.get("mlratchet.ref"):
                identity = ("ref", tags["mlratchet.ref"])
            else:
                continue
            found.setdefault(identity, run)  # the oldest wins, should a duplicate exist
        token = answer.get("next_page_token")
        if not token:
            return found


def _batches(
    params: Sequence[dict[str, str]],
    metrics: Sequence[dict[str, Any]],
    tags: Sequence[dict[str, str]],
) -> Iterator[dict[str, list[Any]]]:
    """``runs/log-batch`` bodies within MLflow's limits (100 params, 100 tags, 1000 in all)."""
    params, metrics, tags = list(params), list(metrics), list(tags)
    while params or metrics or tags:
        batch_params, params = params[:MAX_BATCH_PARAMS], params[MAX_BATCH_PARAMS:]
        batch_tags, tags = tags[:MAX_BATCH_TAGS], tags[MAX_BATCH_TAGS:]
        room = MAX_BATCH - len(batch_params) - len(batch_tags)
        batch_metrics, metrics = metrics[:room], metrics[room:]
        yield {"params": batch_params, "metrics": batch_metrics, "tags": batch_tags}


def _sync(server: Server, experiment_id: str, want: _Want, run: Any | None) -> ExportedRun:
    """Make one run say what ``want`` says; create it when ``run`` is None."""
    if run is None:
        identity = {k: v for k, v in want.tags.items() if not k.startswith("mlratchet.env.")}
        created = server.call(
            "runs/create",
            {
                "experiment_id": experiment_id,
                "run_name": want.name,
                "start_time": want.time_ms,
                "tags": [{"key": k, "value": v} for k, v in identity.items()],
            },
        )
        run = created["run"]
        action: Action = "created"
    else:
        action = "unchanged"
    info = run.get("info", {})
    run_id = str(info.get("run_id") or info.get("run_uuid"))
    data = run.get("data", {})
    have_params = {p["key"]: p.get("value", "") for p in data.get("params", [])}
    have_tags = {t["key"]: t.get("value", "") for t in data.get("tags", [])}
    have_metrics = {m["key"]: m for m in data.get("metrics", [])}
    for key, value in want.params.items():
        if key in have_params and have_params[key] != value:
            raise ConflictError(
                f"MLflow run {run_id} ({want.name}) already has param {key} = "
                f"{have_params[key]!r}, the experiment says {value!r}; params cannot change in "
                "MLflow: delete that run there and export again"
            )
    params = [{"key": k, "value": v} for k, v in want.params.items() if k not in have_params]
    tags = [{"key": k, "value": v} for k, v in want.tags.items() if have_tags.get(k) != v]
    metrics: list[dict[str, Any]] = []
    for key, number in want.metrics.items():
        old = have_metrics.get(key)
        if old is not None and _same(old.get("value"), number):
            continue
        stamp = want.time_ms if old is None else max(want.time_ms, int(old.get("timestamp", 0)) + 1)
        metrics.append({"key": key, "value": number, "timestamp": stamp, "step": 0})
    for body in _batches(params, metrics, tags):
        server.call("runs/log-batch", {"run_id": run_id, **body})
    stale = [k for k in STALE_TAGS if k in have_tags and k not in want.tags]
    for key in stale:  # e.g. the error of a failed experiment that has succeeded since
        server.call("runs/delete-tag", {"run_id": run_id, "key": key})
    if params or metrics or tags or stale:
        action = "updated" if action == "unchanged" else action
    if info.get("status") != want.status or not info.get("end_time"):
        server.call(
            "runs/update",
            {"run_id": run_id, "status": want.status, "end_time": want.time_ms},
        )
        action = "updated" if action == "unchanged" else action
    return ExportedRun(
        want.name,
        want.kind,
        want.commit,
        want.ref,
        want.baseline,
        want.status,
        run_id,
        action,
    )


def _same(old: Any, new: float) -> bool:
    try:
        return float(old) == new
    except (TypeError, ValueError):
        return False


def default_experiment_name(repo: Path | str) -> str:
    """The repository's folder name (the git top level's), the default MLflow experiment."""
    from mlratchet.gitio import toplevel

    return toplevel(repo).resolve().name


# -- the call ---------------------------------------------------------------------------------
def export(
    repo: Path | str = ".",
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    all_baselines: bool = False,
    baseline: str | None = None,
    policy_file: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> MlflowExport:
    """``ratchet exp export --mlflow URL``: log the experiments of ``baseline`` (default HEAD;
    every baseline with ``all_baselines``), and their baselines, as runs of the MLflow
    experiment ``experiment`` (default: the repository's folder name) at ``tracking_uri``
    (default: ``MLFLOW_TRACKING_URI`` in ``env``). Runs exported before are updated, not
    duplicated. Failed experiments become runs with status ``FAILED``."""
    from mlratchet.experiments.leaderboard import load

    server = connect(tracking_uri, env)
    name = experiment if experiment is not None else default_experiment_name(repo)
    if not name.strip():
        raise BadInputError("--experiment: give a non-empty MLflow experiment name")
    board = load(repo, all_baselines=all_baselines, baseline=baseline, policy_file=policy_file)
    wants = _wants(repo, board)
    warnings = _renamed(board)
    experiment_id = _experiment_id(server, name)
    runs: list[ExportedRun] = []
    for sha in dict.fromkeys(w.baseline for w in wants):
        existing = _existing(server, experiment_id, sha)
        for want in (w for w in wants if w.baseline == sha):
            run = existing.get(want.identity)
            if run is None and want.commit and want.ref:
                # A failed experiment's run (found by ref: it has no commit), now succeeded.
                run = existing.get(("ref", want.ref))
            runs.append(_sync(server, experiment_id, want, run))
    return MlflowExport(server.url, name, experiment_id, tuple(runs), tuple(warnings))


def _renamed(board: Leaderboard) -> list[str]:
    """A warning per param or metric name MLflow would refuse, saying what it is logged as."""
    found: dict[str, str] = {}
    items: list[Baseline | Row] = [*board.baselines.values(), *board.experiments]
    for item in items:
        for flat, default in ((item.params, "params.yaml"), (item.metrics, None)):
            for raw, _value in _names(flat, default):
                if _key(raw) != raw:
                    found[raw] = _key(raw)
    return [
        f"{raw!r} is logged as {new!r} (MLflow's names: letters, digits, '_-. :/', "
        f"at most {MAX_KEY} characters)"
        for raw, new in sorted(found.items())
    ]


__all__ = [
    "ExportedRun",
    "MlflowApiError",
    "MlflowBusyError",
    "MlflowExport",
    "Server",
    "connect",
    "default_experiment_name",
    "export",
]
