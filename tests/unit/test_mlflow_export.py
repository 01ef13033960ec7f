"""The pure parts of ``ratchet exp export --mlflow``: URLs and credentials, MLflow's key rules
and batch limits, the environment tags."""

from __future__ import annotations

import base64
import posixpath
import re
import ssl
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlratchet.errors import BadInputError
from mlratchet.experiments import mlflow_export as mx

#: MLflow's rule for param, metric and tag names (mlflow/utils/validation.py, not Windows).
MLFLOW_NAME = re.compile(r"^[/\w.\- :]*$")


def test_connect_strips_credentials_and_builds_basic_auth() -> None:
    """Credentials in the URL become a basic-auth header, never part of the URL kept."""
    server = mx.connect("http://ann:p%40ss@127.0.0.1:5000/mlflow/", env={})
    assert server.url == "http://127.0.0.1:5000/mlflow"
    assert server.headers["Authorization"] == "Basic " + base64.b64encode(b"ann:p@ss").decode()
    assert "p@ss" not in repr(server)


def test_connect_token_wins_and_env_default() -> None:
    """MLFLOW_TRACKING_TOKEN is a bearer header; MLFLOW_TRACKING_URI is the default URL."""
    env = {
        "MLFLOW_TRACKING_URI": "https://mlflow.example.com",
        "MLFLOW_TRACKING_TOKEN": "t0k",
        "MLFLOW_TRACKING_USERNAME": "ann",
        "MLFLOW_TRACKING_PASSWORD": "pw",
    }
    server = mx.connect(None, env=env)
    assert server.url == "https://mlflow.example.com"
    assert server.headers == {"Authorization": "Bearer t0k"}


@pytest.mark.parametrize(
    ("uri", "store"),
    [
        ("sqlite:///mlflow.db", "sqlite:///mlflow.db"),
        ("./mlruns", "file:./mlruns"),
        ("postgresql://u@db/mlflow", "postgresql://u@db/mlflow"),
    ],
)
def test_a_store_uri_is_bad_input_saying_how_to_serve_it(uri: str, store: str) -> None:
    """Not an http(s) URL: exit 2 with the `mlflow server` command for that store."""
    with pytest.raises(BadInputError, match=re.escape(f"--backend-store-uri {store} ")):
        mx.connect(uri, env={})


def test_tls_as_mlflow_client_sets_it(tmp_path: Path) -> None:
    """MLFLOW_TRACKING_INSECURE_TLS turns verification off; an unreadable CA bundle in
    MLFLOW_TRACKING_SERVER_CERT_PATH is bad input naming the variable; default: Python's."""
    insecure = mx.connect("https://h", env={"MLFLOW_TRACKING_INSECURE_TLS": "true"}).tls
    assert insecure is not None and insecure.verify_mode == ssl.CERT_NONE
    assert mx.connect("https://h", env={}).tls is None
    missing = tmp_path / "none.pem"
    with pytest.raises(BadInputError, match="MLFLOW_TRACKING_SERVER_CERT_PATH="):
        mx.connect("https://h", env={"MLFLOW_TRACKING_SERVER_CERT_PATH": str(missing)})


def test_a_password_in_a_store_uri_is_not_repeated() -> None:
    """The message about a store URI masks the password in it, and names where it came from."""
    with pytest.raises(BadInputError) as caught:
        mx.connect(None, env={"MLFLOW_TRACKING_URI": "postgresql://ann:s3cret@db:5432/mlflow"})
    assert "s3cret" not in str(caught.value)
    assert "MLFLOW_TRACKING_URI=postgresql://ann:***@db:5432/mlflow" in str(caught.value)


def test_no_uri_is_bad_input() -> None:
    """Nothing given and nothing in the environment: the message names both ways."""
    with pytest.raises(BadInputError, match=r"--mlflow URL .* MLFLOW_TRACKING_URI"):
        mx.connect(None, env={})


@given(
    st.one_of(st.sampled_from([".", "..", "..x", "/a", "a//b", "./a", "a/"]), st.text(max_size=300))
)
def test_keys_are_valid_mlflow_names(text: str) -> None:
    """Whatever a flat key holds, the key logged passes MLflow's name rules."""
    key = mx._key(text)
    assert MLFLOW_NAME.match(key)
    assert len(key) <= mx.MAX_KEY
    norm = posixpath.normpath(key) if key else key
    assert not key or (norm == key and norm != "." and not norm.startswith(("..", "/")))


@given(st.integers(0, 350), st.integers(0, 2500), st.integers(0, 350))
def test_batches_keep_mlflow_limits_and_lose_nothing(p: int, m: int, t: int) -> None:
    """Each log-batch body has at most 100 params, 100 tags, 1,000 entries; all are sent once."""
    params = [{"key": f"p{i}", "value": "v"} for i in range(p)]
    metrics = [{"key": f"m{i}", "value": 1.0, "timestamp": 0, "step": 0} for i in range(m)]
    tags = [{"key": f"t{i}", "value": "v"} for i in range(t)]
    bodies = list(mx._batches(params, metrics, tags))
    for body in bodies:
        assert len(body["params"]) <= mx.MAX_BATCH_PARAMS
        assert len(body["tags"]) <= mx.MAX_BATCH_TAGS
        assert sum(len(v) for v in body.values()) <= mx.MAX_BATCH
        assert any(body.values())
    assert [x for b in bodies for x in b["params"]] == params
    assert [x for b in bodies for x in b["metrics"]] == metrics
    assert [x for b in bodies for x in b["tags"]] == tags


def test_environment_tags_from_the_compute_record() -> None:
    """The first stage's interpreter, every stage's packages, the stages' time; no env, no tags."""
    env_a = {
        "python": "3.11.9",
        "implementation": "CPython",
        "platform": "Linux",
        "packages": {"a": "1"},
    }
    env_b = {**env_a, "python": "3.12.0", "packages": {"b": "2"}}
    record = {
        "stages": {
            "b": {"seconds": 2.0, "env": env_b},
            "a": {"seconds": 1.25, "env": env_a},
            "c": {"seconds": 0.5, "env": None},
        }
    }
    assert mx._environment(record) == {
        "mlratchet.env.python": "3.11.9 (CPython)",
        "mlratchet.env.platform": "Linux",
        "mlratchet.env.packages": "a==1\nb==2",
        "mlratchet.compute.seconds": "3.750",
    }
    assert mx._environment({"stages": {"c": {"seconds": 1, "env": None}}}) == {}
    assert mx._environment(None) == {}


def test_param_values_and_clipping() -> None:
    """Values as MLflow's client logs them (str), cut to MLflow's limit with a marker."""
    assert mx._param_value(True) == "True"
    assert mx._param_value(None) == "None"
    assert mx._param_value(0.1) == "0.1"
    long = mx._param_value("x" * 7000)
    assert len(long) == mx.MAX_PARAM_VALUE and long.endswith("(truncated)")
