"""``ratchet exp export --mlflow``: experiments into a real MLflow tracking server (SQLite store),
read back through MLflow's own client and checked against ``ratchet exp show --json``."""

from __future__ import annotations

import json
import math
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from expfixture import experiment_files, make_experiments
from helpers import commit_all, gen, git
from mlflowserver import MlflowServer, free_port, mlflow_server, require_mlflow
from mlratchet import notes
from mlratchet.cli.group import cli

PARAMS = """\
train:
  lr: 0.1
  depth: 3
  layers: [8, 4]
"""
DVC_YAML = """\
stages:
  train:
    cmd: python -c "pass"
    params: [train.lr, train.depth, train.layers]
    metrics:
      - metrics.json:
          cache: false
"""
RATCHET = """\
metrics:
  auc: {direction: higher, tolerance: 0.001}
  loss: {direction: lower}
"""
BASE_METRICS = {"auc": 0.70, "loss": 0.50, "rows": 100, "note": "text"}
ENV = {
    "python": "3.11.9",
    "implementation": "CPython",
    "platform": "Linux-x86_64",
    "packages": {"numpy": "2.1.0", "scikit-learn": "1.5.2"},
}


@pytest.fixture(scope="session")
def mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """One MLflow tracking server (SQLite store) for the session."""
    exe = require_mlflow()
    with mlflow_server(tmp_path_factory.mktemp("mlflow"), exe) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback requests never go through a proxy; no tracking URI from the machine."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME"):
        monkeypatch.delenv(key, raising=False)


def invoke(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "-R", str(repo)])


def exp(lr: float, auc: float, loss: float) -> dict[str, bytes]:
    metrics = {"auc": auc, "loss": loss, "rows": 100, "note": "text"}
    return experiment_files(PARAMS, {"train.lr": lr}, {"metrics.json": metrics})


@pytest.fixture
def repo(tmp_repo: Path) -> Path:
    """A baseline with two experiments, one failed point, a compute record on one."""
    gen(
        tmp_repo,
        {
            "params.yaml": PARAMS,
            "dvc.yaml": DVC_YAML,
            "ratchet.yaml": RATCHET,
            "metrics.json": json.dumps(BASE_METRICS),
        },
    )
    base = commit_all(tmp_repo, "baseline")
    shas = make_experiments(
        tmp_repo, base, [("better", exp(0.05, 0.75, 0.45)), ("worse", exp(0.3, 0.60, 0.55))]
    )
    record = {"status": "ran", "seconds": 1.5, "env": ENV}
    notes.update(tmp_repo, shas["better"], "repro", {"stages": {"train": record}})
    failed = {"params": [["params.yaml", "train.lr", 9.0]], "error": "stage train failed: boom"}
    notes.update(tmp_repo, base, "exp", {"failed": {"diverged": {**failed, "at": "x"}}})
    return tmp_repo


def export(repo: Path, server: MlflowServer, *args: str) -> dict[str, Any]:
    result = invoke(repo, "exp", "export", "--mlflow", server.url, "--json", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def show(repo: Path, *args: str) -> dict[str, Any]:
    result = invoke(repo, "exp", "show", "--json", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def as_params(flat: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {k: str(v) for k, v in flat["params.yaml"].items()}


def as_metrics(flat: dict[str, dict[str, Any]]) -> dict[str, float]:
    return {
        k: float(v)
        for values in flat.values()
        for k, v in values.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


def test_runs_say_what_exp_show_says(repo: Path, mlflow: MlflowServer) -> None:
    """One run per experiment and one for the baseline; params, metrics and tags as
    `exp show --json` reports them, read back by MLflow's own client."""
    out = export(repo, mlflow, "--experiment", "says")
    assert (out["created"], out["updated"], out["unchanged"]) == (4, 0, 0)
    board = show(repo)
    runs = {r["name"]: r for r in mlflow.runs("says")}
    assert sorted(runs) == sorted(
        [f"baseline {board['baseline']['rev'][:7]}", "better", "worse", "diverged"]
    )
    assert {r["run_id"] for r in runs.values()} == {r["run_id"] for r in out["runs"]}
    base = runs[f"baseline {board['baseline']['rev'][:7]}"]
    assert base["params"] == as_params(board["baseline"]["params"])
    assert base["metrics"] == as_metrics(board["baseline"]["metrics"])
    assert base["tags"]["mlratchet.kind"] == "baseline"
    assert base["tags"]["mlratchet.commit"] == board["baseline"]["rev"]
    assert base["status"] == "FINISHED"
    for row in board["experiments"]:
        run = runs[row["name"]]
        tags = run["tags"]
        assert run["params"] == as_params(row["params"]), row["name"]
        assert run["metrics"] == as_metrics(row["metrics"]), row["name"]
        assert tags["mlratchet.ref"] == row["ref"]
        assert tags["mlratchet.baseline"] == row["baseline"]
        assert tags["mlratchet.name"] == tags["mlflow.runName"] == row["name"]
        assert tags["mlratchet.status"] == row["status"]
        if row["status"] == "failed":
            assert run["status"] == "FAILED"
            assert "mlratchet.commit" not in tags
            assert tags["mlratchet.error"] == row["error"]
        else:
            assert run["status"] == "FINISHED"
            assert tags["mlratchet.commit"] == tags["mlflow.source.git.commit"] == row["rev"]
            for verdict in row["verdicts"]:
                assert tags[f"mlratchet.verdict.{verdict['key']}"] == verdict["status"]
    env = runs["better"]["tags"]
    assert env["mlratchet.env.python"] == "3.11.9 (CPython)"
    assert env["mlratchet.env.platform"] == "Linux-x86_64"
    assert env["mlratchet.env.packages"] == "numpy==2.1.0\nscikit-learn==1.5.2"
    assert "mlratchet.env.python" not in runs["worse"]["tags"]  # no compute record there
    assert runs["worse"]["start_time"] == 1000 * int(
        git(repo, "log", "-1", "--format=%ct", runs["worse"]["tags"]["mlratchet.commit"])
    )


def test_export_twice_duplicates_nothing_and_adds_only_new(
    repo: Path, mlflow: MlflowServer
) -> None:
    """Exporting again changes nothing; a new experiment adds exactly one run."""
    first = export(repo, mlflow, "--experiment", "twice")
    second = export(repo, mlflow, "--experiment", "twice")
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 4)
    assert [r["run_id"] for r in second["runs"]] == [r["run_id"] for r in first["runs"]]
    assert len(mlflow.runs("twice")) == 4
    make_experiments(repo, git(repo, "rev-parse", "HEAD"), [("newer", exp(0.07, 0.72, 0.48))])
    third = export(repo, mlflow, "--experiment", "twice")
    assert (third["created"], third["updated"], third["unchanged"]) == (1, 0, 4)
    assert [r["name"] for r in third["runs"] if r["action"] == "created"] == ["newer"]
    assert len(mlflow.runs("twice")) == 5


def test_runs_found_across_search_pages(
    repo: Path, mlflow: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With two runs per runs/search page, every run exported before is still found."""
    from mlratchet.experiments import mlflow_export

    export(repo, mlflow, "--experiment", "pages")
    monkeypatch.setattr(mlflow_export, "PAGE", 2)
    again = export(repo, mlflow, "--experiment", "pages")
    assert again["unchanged"] == 4
    assert len(mlflow.runs("pages")) == 4


def test_a_half_written_run_is_completed(repo: Path, mlflow: MlflowServer) -> None:
    """A run left with only its identity tags (an export interrupted after runs/create) is
    found and completed, not duplicated."""
    board = show(repo)
    row = next(r for r in board["experiments"] if r["name"] == "better")
    experiment_id = _post(mlflow.url, "experiments/create", {"name": "half"})["experiment_id"]
    tags = [
        {"key": "mlratchet.baseline", "value": row["baseline"]},
        {"key": "mlratchet.commit", "value": row["rev"]},
    ]
    body = {"experiment_id": experiment_id, "start_time": 1, "tags": tags}
    run_id = _post(mlflow.url, "runs/create", body)["run"]["info"]["run_id"]
    out = export(repo, mlflow, "--experiment", "half")
    better = next(r for r in out["runs"] if r["name"] == "better")
    assert (better["run_id"], better["action"]) == (run_id, "updated")
    assert out["created"] == 3
    runs = {r["name"]: r for r in mlflow.runs("half")}
    assert len(runs) == 4
    assert runs["better"]["status"] == "FINISHED"
    assert runs["better"]["params"] == as_params(row["params"])


def test_failed_experiment_that_succeeds_later_reuses_its_run(
    repo: Path, mlflow: MlflowServer
) -> None:
    """A FAILED run becomes FINISHED (metrics logged, error tag gone) when its experiment has
    been run again successfully; still one run for it."""
    first = {r["name"]: r for r in export(repo, mlflow, "--experiment", "retry")["runs"]}
    base = git(repo, "rev-parse", "HEAD")
    notes.update(repo, base, "exp", {"failed": {}})
    make_experiments(repo, base, [("diverged", exp(9.0, 0.71, 0.49))])
    again = {r["name"]: r for r in export(repo, mlflow, "--experiment", "retry")["runs"]}
    assert again["diverged"]["run_id"] == first["diverged"]["run_id"]
    assert again["diverged"]["action"] == "updated"
    runs = {r["name"]: r for r in mlflow.runs("retry")}
    assert len(runs) == 4
    assert runs["diverged"]["status"] == "FINISHED"
    assert runs["diverged"]["metrics"]["auc"] == 0.71
    assert "mlratchet.error" not in runs["diverged"]["tags"]


def test_all_baselines_and_default_experiment_name(repo: Path, mlflow: MlflowServer) -> None:
    """--all exports the experiments of every baseline; the experiment is named after the
    repository's folder by default."""
    old = git(repo, "rev-parse", "HEAD")
    gen(repo, {"metrics.json": json.dumps({**BASE_METRICS, "auc": 0.71})})
    new = commit_all(repo, "second baseline")
    make_experiments(repo, new, [("on-new", exp(0.2, 0.8, 0.4))])
    only_head = export(repo, mlflow)
    assert only_head["experiment"] == repo.name
    assert {r["baseline"] for r in only_head["runs"]} == {new}
    everything = export(repo, mlflow, "--all")
    assert {r["baseline"] for r in everything["runs"]} == {old, new}
    assert everything["created"] == 4  # the old baseline and its three
    assert len(mlflow.runs(repo.name)) == 6


def test_a_changed_param_is_a_conflict(repo: Path, mlflow: MlflowServer) -> None:
    """A run that already holds another value for a param (params are immutable in MLflow)
    is exit 4, naming the run and the param."""
    out = export(repo, mlflow, "--experiment", "conflict")
    run_id = next(r["run_id"] for r in out["runs"] if r["name"] == "worse")
    body = {"run_id": run_id, "params": [{"key": "train.depth", "value": "3"}]}
    _post(mlflow.url, "runs/log-batch", body)  # same value: fine
    new = {"run_id": run_id, "params": [{"key": "extra", "value": "x"}]}
    _post(mlflow.url, "runs/log-batch", new)  # a param of the user's own: left alone
    assert export(repo, mlflow, "--experiment", "conflict")["unchanged"] == 4
    # Another run of the same commit with another lr, found first (created earlier): conflict.
    experiment_id = out["experiment_id"]
    tags = [
        {"key": "mlratchet.baseline", "value": git(repo, "rev-parse", "HEAD")},
        {
            "key": "mlratchet.commit",
            "value": next(r["commit"] for r in out["runs"] if r["name"] == "better"),
        },
    ]
    created = _post(
        mlflow.url, "runs/create", {"experiment_id": experiment_id, "start_time": 1, "tags": tags}
    )
    bad = {
        "run_id": created["run"]["info"]["run_id"],
        "params": [{"key": "train.lr", "value": "7"}],
    }
    _post(mlflow.url, "runs/log-batch", bad)
    result = invoke(repo, "exp", "export", "--mlflow", mlflow.url, "--experiment", "conflict")
    assert result.exit_code == 4, result.output
    assert "train.lr" in result.stderr and "'7'" in result.stderr


def _post(url: str, endpoint: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(  # noqa: S310 - our own loopback server
        f"{url}/api/2.0/mlflow/{endpoint}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
        return json.loads(answer.read() or b"{}")


# -- errors without a server ----------------------------------------------------------------
def test_server_down_is_exit_2_naming_the_url(repo: Path) -> None:
    """Nothing listening: exit 2, the URL in the message; --json leaves the error object."""
    url = f"http://127.0.0.1:{free_port()}"
    result = invoke(repo, "exp", "export", "--mlflow", url)
    assert result.exit_code == 2
    assert f"cannot reach the MLflow tracking server at {url}" in result.stderr
    result = invoke(repo, "exp", "export", "--mlflow", url, "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["exit_code"] == 2


def test_a_store_uri_says_how_to_serve_it(repo: Path) -> None:
    """sqlite:///mlflow.db is not a server: exit 2 with the `mlflow server` command to run."""
    result = invoke(repo, "exp", "export", "--mlflow", "sqlite:///mlflow.db")
    assert result.exit_code == 2
    assert "mlflow server --backend-store-uri sqlite:///mlflow.db" in result.stderr


def test_no_server_given_is_exit_2(repo: Path) -> None:
    """Neither --mlflow nor MLFLOW_TRACKING_URI: exit 2 naming both."""
    result = invoke(repo, "exp", "export")
    assert result.exit_code == 2
    assert "--mlflow" in result.stderr and "MLFLOW_TRACKING_URI" in result.stderr


def test_tracking_uri_from_the_environment(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MLFLOW_TRACKING_URI is the default URL (here a store URI: the same exit-2 advice)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///from-env.db")
    result = invoke(repo, "exp", "export")
    assert result.exit_code == 2
    assert "--backend-store-uri sqlite:///from-env.db" in result.stderr


class _Fake(BaseHTTPRequestHandler):
    """Answers every request with the status and MLflow error body set on the server."""

    def _answer(self) -> None:
        status, body, seen = self.server.answer  # type: ignore[attr-defined]
        seen.append((self.command, self.path, dict(self.headers)))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer  # http.server's method names

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[tuple[HTTPServer, list[Any]]]:
    """A loopback HTTP server that answers what the test sets."""
    server = HTTPServer(("127.0.0.1", 0), _Fake)
    seen: list[Any] = []
    server.answer = (500, {}, seen)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, seen
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "case",
    [
        (
            400,
            {"error_code": "INVALID_PARAMETER_VALUE", "message": "bad name"},
            2,
            "experiments/get-by-name answered HTTP 400: INVALID_PARAMETER_VALUE: bad name",
        ),
        (401, {"error_code": "UNAUTHENTICATED", "message": "who?"}, 2, "MLFLOW_TRACKING_TOKEN"),
        (503, {"message": "overloaded"}, 4, "busy"),
        (404, {}, 2, "get-by-name answered HTTP 404: Not Found; is this the URL of an MLflow"),
    ],
)
def test_server_errors_name_the_endpoint(
    repo: Path,
    fake: tuple[HTTPServer, list[Any]],
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[int, dict[str, Any], int, str],
) -> None:
    """An error answer is a one-line message naming the endpoint; 4xx exit 2, busy exit 4;
    the token goes in a bearer header."""
    status, body, code, words = case
    server, seen = fake
    server.answer = (status, body, seen)  # type: ignore[attr-defined]
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "s3cret")
    url = f"http://127.0.0.1:{server.server_address[1]}"
    result = invoke(repo, "exp", "export", "--mlflow", url)
    assert result.exit_code == code, result.output
    assert words in result.stderr
    assert "s3cret" not in result.output
    assert seen[0][0] == "GET" and seen[0][1].startswith("/api/2.0/mlflow/experiments/get-by-name")
    assert seen[0][2]["Authorization"] == "Bearer s3cret"
