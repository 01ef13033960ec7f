"""``ratchet serve``: real server processes on 127.0.0.1, a real HTTP client, bounded in time.

Two projects of tests/second_project.py, each reproduced, registered and promoted to staging:
wine (a multiclass gradient-boosting classifier) and diabetes (a gradient-boosting regressor).
One server per project is shared by the tests that only ask it questions; tests that stop a
server start their own.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

import second_project as sp
from helpers import commit_all, dvc
from second_project import Project, ratchet
from servefixture import Server, split, start

#: The limit the shared servers put on a body (the tests' own bodies are far below it).
MAX_BODY = 200_000


def promoted(dest: Path, flavour: sp.Flavour) -> Project:
    """A project reproduced, registered as v0.0.1 and promoted to staging."""
    project = sp.build(dest, flavour)
    sp.reproduce(project)
    ratchet(project.dvc_root, "register", flavour.artifact)
    ratchet(project.dvc_root, "promote", flavour.artifact, "--to", "staging")
    return project


@pytest.fixture(scope="session")
def wine(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Project:
    """The classifier project, promoted (built once per session)."""
    return promoted(tmp_path_factory.mktemp("serve-wine") / "repo", sp.CLASSIFIER)


@pytest.fixture(scope="session")
def diabetes(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Project:
    """The regressor project, promoted (built once per session)."""
    return promoted(tmp_path_factory.mktemp("serve-diabetes") / "repo", sp.REGRESSOR)


@pytest.fixture(scope="session")
def wine_server(wine: Project) -> Iterator[Server]:
    """The wine model served from its staging stage, shared by the question-only tests."""
    server = start(wine.dvc_root, "wine-model#staging", "--max-body-bytes", str(MAX_BODY))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def diabetes_server(diabetes: Project) -> Iterator[Server]:
    """The diabetes model served by its registered version."""
    server = start(diabetes.dvc_root, "diabetes-model@v0.0.1")
    yield server
    server.stop()


def rows(project: Project, n: int | None = None) -> Any:
    """The project's test rows, without the target (a pandas frame)."""
    from mlratchet import read_table

    frame = read_table(project.dvc_root / "data/test.parquet").drop(columns="target")
    return frame if n is None else frame.head(n)


def offline(project: Project, frame: Any) -> list[float]:
    """The scores of the model file, loaded and seen as the monitor and evaluation see it."""
    from mlratchet import load_model
    from mlratchet.adapter import view
    from mlratchet.policy import load_policy

    trusted = load_policy(project.dvc_root / "ratchet.yaml").models.trusted_types
    seen = view(load_model(project.dvc_root / "models/model.skops", trusted=trusted))
    scores, _ = seen.score(seen.features(frame[list(seen.inputs)]))
    return [float(s) for s in scores]


@pytest.mark.parametrize("which", ["wine", "diabetes"])
def test_predictions_equal_the_offline_model(which: str, request: pytest.FixtureRequest) -> None:
    """A classifier's and a regressor's served scores equal the offline ones, bit for bit."""
    project: Project = request.getfixturevalue(which)
    server: Server = request.getfixturevalue(f"{which}_server")
    frame = rows(project)
    with server.client() as client:
        answer = client.post("/invocations", json=split(frame))
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == offline(project, frame)


def test_every_mlflow_format_and_kserve_give_the_same_answer(
    wine: Project, wine_server: Server
) -> None:
    """dataframe_split, dataframe_records, instances, inputs, CSV and KServe v1 agree."""
    frame = rows(wine, 7)
    expected = offline(wine, frame)
    records = frame.to_dict(orient="records")
    bodies = [
        split(frame),
        {"dataframe_records": records},
        {"instances": records},
        {"inputs": {c: frame[c].tolist() for c in frame.columns}},
        {"inputs": frame.values.tolist(), "params": {}},
    ]
    with wine_server.client() as client:
        for body in bodies:
            answer = client.post("/invocations", json=body)
            assert answer.status_code == 200, (body, answer.text)
            assert answer.json() == {"predictions": expected}
        answer = client.post(
            "/invocations",
            content=frame.to_csv(index=False),
            headers={"content-type": "text/csv"},
        )
        assert answer.json() == {"predictions": expected}
        answer = client.post("/v1/models/wine-model:predict", json={"instances": records})
        assert answer.json() == {"predictions": expected}
        assert client.get("/v1/models/wine-model").json() == {"name": "wine-model", "ready": True}
        assert client.post("/v1/models/other:predict", json={"instances": []}).status_code == 404


def test_bad_input_is_one_structured_4xx(wine: Project, wine_server: Server) -> None:
    """Bad JSON 400; missing column, wrong types in several rows, all in one 422; big 413."""
    frame = rows(wine, 4)
    records = frame.to_dict(orient="records")
    column = frame.columns[0]
    with wine_server.client() as client:
        answer = client.post(
            "/invocations", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert answer.status_code == 400
        assert answer.json()["error_code"] == "BAD_REQUEST"
        assert client.post("/invocations", json={"rows": records}).status_code == 400
        answer = client.post(
            "/invocations", content=b"x", headers={"content-type": "application/xml"}
        )
        assert answer.status_code == 415

        broken = [dict(r) for r in records]
        for r in broken:
            del r[frame.columns[1]]
        broken[0][column] = "high"
        broken[2][column] = [1, 2]
        broken[3][frame.columns[2]] = float("inf")
        answer = client.post(
            "/invocations",
            content=json.dumps({"dataframe_records": broken}),
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 422, answer.text
        failures = {(f["column"], f["rule"]): f for f in answer.json()["failures"]}
        assert failures[(frame.columns[1], "missing_column")]["count"] == 4
        wrong = failures[(column, "type")]
        assert [e["row"] for e in wrong["examples"]] == [0, 2]
        assert wrong["count"] == 2
        assert [e["row"] for e in failures[(frame.columns[2], "finite")]["examples"]] == [3]

        big = {"dataframe_records": records * 2000}
        answer = client.post("/invocations", json=big)
        assert answer.status_code == 413
        assert answer.json()["error_code"] == "REQUEST_TOO_LARGE"


def test_concurrent_requests(wine: Project, wine_server: Server) -> None:
    """200 requests at concurrency 16: every one answered 200 with the offline scores."""
    frame = rows(wine)
    singles = [frame.iloc[[i % len(frame)]] for i in range(200)]
    expected = offline(wine, frame)

    def ask(index: int) -> tuple[int, list[float]]:
        with wine_server.client() as client:
            answer = client.post("/invocations", json=split(singles[index]))
            return answer.status_code, answer.json().get("predictions")

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(ask, range(200)))
    assert all(code == 200 for code, _ in answers)
    assert [p[0] for _, p in answers] == [expected[i % len(frame)] for i in range(200)]


def test_health_ready_version_metrics(wine: Project, wine_server: Server) -> None:
    """The service says it is alive and ready, which version it serves, and what it counted."""
    from mlratchet.fsio import md5_file

    with wine_server.client() as client:
        assert client.get("/health").json() == {"status": "alive"}
        assert client.get("/ready").status_code == 200
        version = client.get("/version").json()
        client.post("/invocations", json=split(rows(wine, 3)))
        client.post("/invocations", content=b"[", headers={"content-type": "application/json"})
        metrics = client.get("/metrics")
    assert version["name"] == "wine-model"
    assert version["version"] == "v0.0.1"
    assert version["stage"] == "staging"
    assert version["model_md5"] == md5_file(wine.dvc_root / "models/model.skops")
    assert version["card"]["model_md5"] == version["model_md5"]
    assert version["contract"].startswith("data/train.parquet")
    text = metrics.text
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'ratchet_model_info{name="wine-model",version="v0.0.1",stage="staging"' in text
    assert 'ratchet_requests_total{endpoint="/invocations",code="200"}' in text
    assert 'ratchet_request_errors_total{endpoint="/invocations",code="400"}' in text
    assert 'ratchet_request_duration_seconds_bucket{endpoint="/invocations",le="+Inf"}' in text
    assert "ratchet_rows_predicted_total " in text


def test_log_survives_kill_9_and_feeds_the_monitor(wine: Project, tmp_path: Path) -> None:
    """Flushed log files stay readable after kill -9; ratchet monitor reads the folder."""
    from mlratchet.tables import read_folder

    log_dir = tmp_path / "log"
    server = start(
        wine.dvc_root,
        "wine-model#staging",
        "--flush-rows",
        "10",
        "--flush-seconds",
        "0.2",
        "--rotate-mb",
        "0.004",
        log_dir=log_dir,
    )
    frame = rows(wine)
    with server.client() as client:
        for start_row in range(0, len(frame), 9):
            chunk = frame.iloc[start_row : start_row + 9]
            assert client.post("/invocations", json=split(chunk)).status_code == 200
    deadline = time.monotonic() + 10  # the timer (0.2 s) flushes the last batch
    while time.monotonic() < deadline and read_folder(log_dir).num_rows < len(frame):
        time.sleep(0.1)
    server.stop(signal.SIGKILL)
    logged = read_folder(log_dir)
    assert len(list(log_dir.glob("*.parquet"))) > 1  # rotated
    assert logged.num_rows == len(frame)
    assert logged.column("prediction").to_pylist() == offline(wine, frame)
    assert set(logged.column("model_version").to_pylist()) == {"v0.0.1"}

    out = ratchet(wine.dvc_root, "monitor", str(log_dir), "--json", expect=None)
    assert out.returncode in (0, 1), out.stderr
    report = json.loads(out.stdout)
    assert report["current"]["rows"] == len(frame)


def test_sigterm_drains_and_flushes(wine: Project, tmp_path: Path) -> None:
    """SIGTERM: the server exits 0 and the rows not yet flushed are in the log."""
    from mlratchet.tables import read_folder

    log_dir = tmp_path / "log"
    server = start(wine.dvc_root, "wine-model#staging", "--flush-seconds", "600", log_dir=log_dir)
    frame = rows(wine, 5)
    with server.client() as client:
        assert client.post("/invocations", json=split(frame)).status_code == 200
    assert not list(log_dir.glob("*.parquet"))  # nothing flushed yet
    code, err = server.stop(signal.SIGTERM)
    assert code == 0, err
    assert read_folder(log_dir).num_rows == 5


def test_refuses_bytes_that_do_not_match_the_record(wine: Project, tmp_path: Path) -> None:
    """A cached model whose bytes differ from dvc.lock's md5: exit 3, nothing served."""
    from mlratchet.dvclock import cache_path, load_lock, outputs

    project = sp.copy(wine, tmp_path)
    entry = outputs(load_lock(project.dvc_root))["models/model.skops"]
    cached = cache_path(project.dvc_root, entry)
    cached.chmod(0o644)
    cached.write_bytes(cached.read_bytes() + b"tampered")
    out = ratchet(project.dvc_root, "serve", "wine-model#staging", "--check", expect=3)
    assert "hashes to" in out.stderr


def test_refuses_an_untrusted_type(wine: Project, tmp_path: Path) -> None:
    """A committed model that names a type off the allow-list: exit 5, nothing served."""
    import operator

    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from mlratchet import save_model

    project = sp.copy(wine, tmp_path)
    frame = rows(project)
    model = make_pipeline(FunctionTransformer(operator.neg), LinearRegression())
    save_model(model.fit(frame, range(len(frame))), project.dvc_root / "models/model.skops")
    dvc(project.dvc_root, "commit", "-f", "-q", "train")
    commit_all(project.git_root, "a model that names operator.neg")
    out = ratchet(project.dvc_root, "serve", "HEAD", "--check", expect=5)
    assert "untrusted types: _operator.neg" in out.stderr


def test_check_json_and_manifest(wine: Project) -> None:
    """--check --json prints the version that would be served; --manifest a Deployment."""
    out = ratchet(wine.dvc_root, "serve", "--check", expect=2)  # default: the last stage
    assert "wine-model#prod: no version of wine-model is in stage 'prod'" in out.stderr
    info = json.loads(
        ratchet(wine.dvc_root, "serve", "wine-model#staging", "--check", "--json").stdout
    )
    assert info["version"] == "v0.0.1"
    assert info["stage"] == "staging"
    assert info["kind"] == "classifier"
    manifest = ratchet(wine.dvc_root, "serve", "wine-model#staging", "--manifest").stdout
    assert "kind: Deployment" in manifest and "kind: Service" in manifest
    assert "path: /ready" in manifest and "path: /health" in manifest


def test_adaptive_batching_gathers_concurrent_rows(wine: Project) -> None:
    """Concurrent single-row requests share model calls and get their own offline scores."""
    server = start(wine.dvc_root, "wine-model#staging", "--batch-wait-ms", "20")
    frame = rows(wine)
    expected = offline(wine, frame)
    n = 64

    def ask(index: int) -> tuple[int, list[float]]:
        with server.client() as client:
            answer = client.post("/invocations", json=split(frame.iloc[[index % len(frame)]]))
            return answer.status_code, answer.json().get("predictions")

    try:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(ask, range(n)))
        with server.client() as client:
            text = client.get("/metrics").text
    finally:
        code, err = server.stop()
    assert code == 0, err
    assert all(status == 200 for status, _ in answers)
    assert [p for _, p in answers] == [[expected[i % len(frame)]] for i in range(n)]
    (calls,) = [line for line in text.splitlines() if line.startswith("ratchet_model_calls_total")]
    assert int(calls.split()[-1]) < n


@pytest.mark.slow  # three processes each verify and load the model: the slowest start
def test_several_workers(wine: Project) -> None:
    """--workers 2: each process verifies and serves; SIGTERM stops them all."""
    server = start(wine.dvc_root, "wine-model#staging", "--workers", "2")
    frame = rows(wine, 3)
    try:
        with server.client() as client:
            for _ in range(10):
                answer = client.post("/invocations", json=split(frame))
                assert answer.json() == {"predictions": offline(wine, frame)}
    finally:
        code, err = server.stop()
    assert code == 0, err


def test_policy_names_the_serving_contract(wine: Project, tmp_path: Path) -> None:
    """registry.NAME.serving_contract, read at the served commit, adds its rules."""
    from mlratchet.serve.inputs import check
    from mlratchet.serve.loading import load
    from mlratchet.serve.payload import columns_of

    project = sp.copy(wine, tmp_path)
    policy = project.dvc_root / "ratchet.yaml"
    text = policy.read_text(encoding="utf-8").replace(
        "    contract: eval/validation.json\n",
        "    contract: eval/validation.json\n    serving_contract: contracts/table.yaml\n",
    )
    policy.write_text(text, encoding="utf-8")
    commit = commit_all(project.git_root, "a serving contract")
    info = json.loads(ratchet(project.dvc_root, "serve", "HEAD", "--check", "--json").stdout)
    assert info["contract"] == f"contracts/table.yaml at {commit[:7]}"

    loaded = load(project.dvc_root, "HEAD")
    records = rows(project, 2).to_dict(orient="records")
    column = loaded.inputs[0]
    records[1][column] = 1e9  # far beyond the contract's range
    body = json.dumps({"dataframe_records": records}).encode()
    checked = check(
        columns_of(body, "application/json", loaded.inputs), loaded.inputs, loaded.contract
    )
    assert [(f["column"], f["rule"], f["examples"][0]["row"]) for f in checked.failures] == [
        (column, "max", 1)
    ]


def test_refuses_an_inconsistent_stage(wine: Project, tmp_path: Path) -> None:
    """A future-dated assignment of the stage (by hand): exit 3, as registry get refuses it."""
    import os

    from helpers import run

    project = sp.copy(wine, tmp_path)
    env = {**os.environ, "GIT_COMMITTER_DATE": "2099-01-01T00:00:00+0000"}
    tag = ["git", "tag", "-a", "wine-model#staging#2", "HEAD", "-m", "Assigning stage staging"]
    run(tag, project.git_root, env=env)
    out = ratchet(project.dvc_root, "serve", "wine-model#staging", "--check", expect=3)
    assert "ratchet registry audit" in out.stderr


def test_a_busy_port_is_exit_4(wine: Project) -> None:
    """A port another process listens on: exit 4 (busy), one line saying so."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = str(other.getsockname()[1])
        out = ratchet(wine.dvc_root, "serve", "wine-model#staging", "--port", port, expect=4)
    assert f"127.0.0.1:{port} is in use" in out.stderr


def metric(text: str, series: str) -> float:
    """The value of ``series`` (``name{labels}``, or a bare name) in exposition text, or 0."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0


def wait_for(server: Server, path: str, done: Any, seconds: float = 60) -> httpx.Response:
    """GET ``path`` until ``done(response)`` holds (at most ``seconds``)."""
    deadline = time.monotonic() + seconds
    with server.client() as client:
        while True:
            answer = client.get(path)
            if done(answer) or time.monotonic() > deadline:
                return answer
            time.sleep(0.2)


def train_and_promote(origin: Project, n_estimators: int) -> str:
    """A new model trained, committed and promoted to staging through the real CLI; its md5."""
    from mlratchet.dvclock import load_lock, outputs

    (origin.dvc_root / "params.yaml").write_text(sp.params_yaml(n_estimators), encoding="utf-8")
    sp.reproduce(origin, f"{n_estimators} trees")
    md5 = outputs(load_lock(origin.dvc_root))["models/model.skops"].md5
    assert md5 is not None
    return md5


def promote(origin: Project) -> None:
    """``ratchet promote wine-model --to staging`` at HEAD (forced past the metric gates)."""
    ratchet(
        origin.dvc_root, "promote", "wine-model", "--to", "staging", "--force", "--reason", "test"
    )


def test_follow_swaps_in_a_promoted_version_and_refuses_a_forged_one(
    wine: Project, tmp_path: Path
) -> None:
    """--follow fetches the new tags, swaps in the promoted version with no failed request;
    a version whose bytes are forged is refused and counted while the old one serves on."""
    import threading

    from helpers import run
    from mlratchet.dvclock import cache_path, load_lock, outputs

    origin = sp.copy(wine, tmp_path / "origin")
    serving = tmp_path / "serving"
    run(["git", "clone", "-q", str(origin.git_root), str(serving)], tmp_path)
    # Absolute: DVC resolves a committed relative remote inside the revision's tree when it
    # fetches for a revision (verify), where it does not exist.
    dvc(serving, "remote", "modify", "--local", "local", "url", str(origin.remote))
    server = start(serving, "wine-model#staging", "--follow", "--follow-interval", "0.5")
    body = split(rows(wine, 3))
    statuses: list[int] = []
    stop = threading.Event()

    def loop() -> None:
        with server.client() as client:
            while not stop.is_set():
                try:
                    statuses.append(client.post("/invocations", json=body).status_code)
                except httpx.HTTPError:
                    statuses.append(-1)

    client_loop = threading.Thread(target=loop)
    client_loop.start()
    try:
        md5 = train_and_promote(origin, 40)
        promote(origin)
        version = wait_for(server, "/version", lambda a: a.json()["version"] == "v0.0.2").json()
        assert version["version"] == "v0.0.2", version
        assert version["model_md5"] == md5
        with server.client() as client:
            answer = client.post("/invocations", json=split(rows(wine)))
            assert answer.json()["predictions"] == offline(origin, rows(wine))
            text = client.get("/metrics").text
        assert metric(text, "ratchet_follow_swaps_total") == 1
        assert 'ratchet_model_info{name="wine-model",version="v0.0.2"' in text

        forged = train_and_promote(origin, 50)
        entry = outputs(load_lock(origin.dvc_root))["models/model.skops"]
        cached = cache_path(serving, entry)
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(b"forged model bytes")
        promote(origin)
        failures = 'ratchet_follow_failures_total{reason="integrity"}'
        text = wait_for(server, "/metrics", lambda a: metric(a.text, failures) > 0).text
        assert metric(text, failures) == 1
        assert forged != md5
        with server.client() as client:
            assert client.get("/version").json()["version"] == "v0.0.2"
            time.sleep(1.5)  # more looks at the registry: the refused version is not retried
            assert metric(client.get("/metrics").text, failures) == 1
    finally:
        stop.set()
        client_loop.join()
        code, err = server.stop()
    assert code == 0, err
    assert statuses and set(statuses) == {200}, sorted(set(statuses))
    assert "follow: wine-model#staging now serves v0.0.2" in err
    assert "hashes to" in err and "(integrity); still serving v0.0.2" in err


def test_follow_needs_a_stage_and_a_known_remote(wine: Project) -> None:
    """--follow with a fixed version, or with a remote the clone lacks: exit 2, one line."""
    out = ratchet(wine.dvc_root, "serve", "wine-model@v0.0.1", "--follow", "--check", expect=2)
    assert "--follow watches a stage" in out.stderr
    out = ratchet(
        wine.dvc_root,
        "serve",
        "wine-model#staging",
        "--follow",
        "--follow-remote",
        "nowhere",
        "--check",
        expect=2,
    )
    assert "--follow-remote nowhere: no such git remote" in out.stderr


def test_mlflow_scoring_client_works_unchanged(wine: Project, wine_server: Server) -> None:
    """MLflow's own ScoringServerClient (in MLflow's venv) gets the offline scores from us."""
    from mlflowserver import score_with_mlflow

    frame = rows(wine, 6)
    port = int(wine_server.url.rsplit(":", 1)[1])
    answers = score_with_mlflow("127.0.0.1", port, list(frame.columns), frame.values.tolist())
    assert answers == [offline(wine, frame)] * 3


def test_follow_fetches_new_tags_and_never_moves_one(wine: Project, tmp_path: Path) -> None:
    """The follower fetches the remote's new registry tags; a remote tag that names another
    object than the local one of the same name is reported (registry) and the local one kept."""
    from helpers import git, run
    from mlratchet.serve.follow import Failure, Follower, FollowSettings, follow_remote

    origin = sp.copy(wine, tmp_path / "origin")
    serving = tmp_path / "serving"
    run(["git", "clone", "-q", str(origin.git_root), str(serving)], tmp_path)
    assert follow_remote(serving, None) == "origin"
    assert follow_remote(origin.git_root, None) is None  # no remote: the local tags

    def tag(repo: Path, name: str, rev: str = "HEAD") -> str:
        git(repo, "tag", "-a", name, rev, "-m", f"Registering artifact {name}")
        return git(repo, "rev-parse", f"refs/tags/{name}")

    new = tag(origin.git_root, "wine-model@v0.0.7")
    theirs = tag(origin.git_root, "wine-model@v0.0.8")
    ours = tag(serving, "wine-model@v0.0.8", "HEAD~1")  # same name, another commit
    tag(origin.git_root, "other-model@v0.0.1")  # another artifact's: not fetched
    settings = FollowSettings(str(serving), "wine-model#staging", remote="origin")
    follower = Follower(settings, lambda: pytest.fail("unused"), print, lambda *a: None)
    problems = follower.fetch()
    assert [p.reason for p in problems] == ["registry"]
    assert isinstance(problems[0], Failure) and "wine-model@v0.0.8" in problems[0].message
    assert git(serving, "rev-parse", "refs/tags/wine-model@v0.0.7") == new
    assert git(serving, "rev-parse", "refs/tags/wine-model@v0.0.8") == ours != theirs
    assert "other-model@v0.0.1" not in git(serving, "tag", "--list")


def test_follow_without_a_remote_picks_up_a_local_promotion(wine: Project, tmp_path: Path) -> None:
    """No git remote: the local tags are followed, so a `ratchet promote` here is served."""
    project = sp.copy(wine, tmp_path)
    server = start(project.dvc_root, "--follow", "--follow-interval", "0.3", "wine-model#staging")
    try:
        md5 = train_and_promote(project, 35)
        promote(project)
        version = wait_for(server, "/version", lambda a: a.json()["version"] == "v0.0.2").json()
    finally:
        code, err = server.stop()
    assert (version["version"], version["model_md5"]) == ("v0.0.2", md5)
    assert code == 0, err
    assert "following wine-model#staging" in err


def test_smoke_check_refuses_non_finite_scores(wine: Project) -> None:
    """The smoke check scores training rows; a model giving NaN or the wrong shape fails it."""
    import dataclasses

    import numpy as np

    from mlratchet.serve.follow import SMOKE_ROWS, smoke
    from mlratchet.serve.loading import load

    loaded = load(wine.dvc_root, "wine-model#staging")
    assert smoke(wine.dvc_root, loaded) is None

    class Broken:
        inputs = loaded.view.inputs

        def __init__(self, scores: Any) -> None:
            self.scores = scores

        def features(self, frame: Any) -> Any:
            return frame

        def score(self, frame: Any) -> tuple[Any, Any]:
            return self.scores(len(frame)), None

    nan = dataclasses.replace(loaded, view=Broken(lambda n: np.full(n, np.nan)))
    assert smoke(wine.dvc_root, nan) == f"{SMOKE_ROWS} of {SMOKE_ROWS} sample scores are not finite"
    short = dataclasses.replace(loaded, view=Broken(lambda n: np.zeros(n - 1)))
    assert "gave scores of shape" in str(smoke(wine.dvc_root, short))
