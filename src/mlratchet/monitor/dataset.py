"""``ratchet monitor --scheduler``: Parquet datasets summarised on a Dask cluster.

A *dataset* is a Parquet file or a folder of them (``*.parquet``, found recursively, in sorted
order; names starting with ``_`` or ``.`` are skipped), on a local path the workers can read
too (a shared filesystem) or in object storage (``s3://bucket/prefix``, through fsspec and
s3fs, credentials and endpoint from the workers' own environment as for any AWS client).

The work is split into *pieces*, one per (file, row group). Each piece is a task on the
cluster's workers (:func:`summarise_piece`): it reads that row group and returns the mergeable
summary of its columns (:class:`mlratchet.drift.Side` in stream mode: exact counts over the
reference's fixed bin edges, category counts, moments). This process merges the summaries in
the pieces' order as they arrive (:func:`summarise`). Every count is an integer and adds
exactly; the moments (mean, variance: they only normalise Wasserstein) are merged by the same
formula and in the same order as a streamed run adds its row groups. The report is therefore
*equal*, not close, to what ``ratchet monitor --stream`` gives on one file holding the same row
groups in the same order (``tests/func/test_monitor_cluster.py`` holds it).

The bin edges come from the same evenly spaced row groups of the reference as a streamed run
reads (``SAMPLE_GROUPS``, counted over the whole dataset), read here.

Only data is compared on a cluster (``--reference`` is needed; ``--model`` and ``--contract``
run in one process). A dataset with no rows cannot be judged: :class:`BadInputError` (exit 2),
as for a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlratchet.errors import BadInputError
from mlratchet.monitor.run import Input

if TYPE_CHECKING:
    import pyarrow as pa

    from mlratchet.drift import Side
    from mlratchet.drift.profile import Edges, Kind
    from mlratchet.monitor.run import MonitorResult
    from mlratchet.policy import MonitorPolicy


@dataclass(frozen=True)
class Piece:
    """One row group of one file: a task."""

    file: str  # as the dataset's filesystem names it
    group: int
    rows: int


@dataclass(frozen=True)
class Dataset:
    """A Parquet dataset: its files' row groups in order, and its columns."""

    url: str  # as given (an absolute path for a local one)
    pieces: tuple[Piece, ...]
    names: list[str]
    types: dict[str, pa.DataType]

    @property
    def rows(self) -> int:
        """Rows in every row group."""
        return sum(piece.rows for piece in self.pieces)

    def read(
        self, piece: Piece, columns: list[str], dictionary: list[str] | None = None
    ) -> pa.Table:
        """One row group's columns (``dictionary``: string columns read dictionary-encoded)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from mlratchet.contracts.reading import DataError

        fs = _filesystem(self.url)
        try:
            if _is_local(fs):
                parquet = pq.ParquetFile(piece.file, read_dictionary=dictionary)
                return parquet.read_row_group(piece.group, columns=columns)
            with fs.open(piece.file, "rb") as handle:
                parquet = pq.ParquetFile(handle, read_dictionary=dictionary)
                return parquet.read_row_group(piece.group, columns=columns)
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{piece.file}: not a readable Parquet file ({exc})") from None


def _filesystem(url: str) -> Any:
    from fsspec.core import url_to_fs

    return url_to_fs(url)[0]


def _is_local(fs: Any) -> bool:
    protocol = fs.protocol
    return "file" in (protocol if isinstance(protocol, tuple | list) else (protocol,))


def _location(text: str | Path) -> str:
    """A URL as given, or a local path made absolute (the workers do not start where we do)."""
    text = str(text)
    return text if "://" in text else str(Path(text).resolve())


def open_dataset(location: str | Path) -> Dataset:
    """List a dataset's files and row groups (read from their footers, here).

    No such file or folder, a file that is not Parquet, or files whose columns differ, are
    :class:`DataError` (exit 2), naming the file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlratchet.contracts.reading import DataError

    url = _location(location)
    fs, root = _url_to_fs(url)
    try:
        if not fs.exists(root):
            raise DataError(f"{url}: no such file or folder")
        if fs.isdir(root):
            files = sorted(
                path
                for path in fs.find(root)
                if path.endswith(".parquet")
                and not any(part.startswith(("_", ".")) for part in _relative(path, root))
            )
        else:
            files = [root]
    except OSError as exc:
        raise DataError(f"{url}: cannot list: {exc}") from None
    pieces: list[Piece] = []
    names: list[str] = []
    types: dict[str, pa.DataType] = {}
    schema = None
    for path in files:
        try:
            if _is_local(fs):
                metadata = pq.ParquetFile(path).metadata
            else:
                with fs.open(path, "rb") as handle:
                    metadata = pq.ParquetFile(handle).metadata
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
        found = metadata.schema.to_arrow_schema().remove_metadata()
        if schema is None:
            schema = found
            names = list(found.names)
            for f in found:
                types.setdefault(f.name, f.type)
        elif not found.equals(schema):
            raise DataError(
                f"{path}: its columns differ from {files[0]}'s "
                f"({_schema_difference(schema, found)}); a dataset's files share one schema"
            )
        for group in range(metadata.num_row_groups):
            pieces.append(Piece(path, group, metadata.row_group(group).num_rows))
    return Dataset(url, tuple(pieces), names, types)


def _url_to_fs(url: str) -> tuple[Any, str]:
    from fsspec.core import url_to_fs

    try:
        fs, root = url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise BadInputError(f"{url}: cannot open this location: {exc}") from None
    return fs, root


def _relative(path: str, root: str) -> list[str]:
    return path[len(root) :].strip("/").split("/")


def _schema_difference(first: pa.Schema, other: pa.Schema) -> str:
    for f in first:
        if f.name not in other.names:
            return f"no column {f.name!r}"
        if other.field(f.name).type != f.type:
            return f"column {f.name!r} is {other.field(f.name).type}, not {f.type}"
    extra = [n for n in other.names if n not in first.names]
    return f"extra column {extra[0]!r}" if extra else "column order"


def summarise_piece(
    dataset: Dataset,
    piece: Piece,
    kinds: dict[str, Kind],
    edges: dict[str, Edges],
    dictionary: list[str] | None,
) -> Side:
    """A worker's task: one row group summarised (stream mode, the reference's edges)."""
    from mlratchet.drift import Side

    table = dataset.read(piece, list(kinds), dictionary)
    side = Side(kinds, edges)
    side.add({name: table.column(name) for name in kinds})
    return side


def summarise(
    client: Any,
    dataset: Dataset,
    kinds: dict[str, Kind],
    edges: dict[str, Edges],
    dictionary: list[str] | None,
) -> Side:
    """Every piece summarised on the cluster, merged here in the pieces' order.

    Summaries that arrive early wait for those before them, so the merge order (and with it
    every float of the moments) is the rows' order whatever the workers' timing. A task's
    error (an unreadable file) is raised here as it was raised there.
    """
    import uuid

    from distributed import as_completed

    from mlratchet.drift import Side

    total = Side(kinds, edges)
    if not dataset.pieces or not kinds:
        return total
    [shared_edges] = client.scatter([edges], broadcast=True, hash=False)
    run = uuid.uuid4().hex[:8]
    futures = [
        client.submit(
            summarise_piece,
            dataset,
            piece,
            kinds,
            shared_edges,
            dictionary,
            key=f"ratchet-monitor-{run}-{i}",
            pure=False,
        )
        for i, piece in enumerate(dataset.pieces)
    ]
    position = {future.key: i for i, future in enumerate(futures)}
    waiting: dict[int, Side] = {}
    merged = 0
    try:
        for future in as_completed(futures, loop=client.loop):
            waiting[position[future.key]] = future.result()
            future.release()
            while merged in waiting:
                total.merge(waiting.pop(merged))
                merged += 1
    finally:
        client.cancel([f for f in futures if not f.done()])
    return total


class DatasetInput(Input):
    """One side's rows as a dataset whose row groups a Dask cluster summarises.

    Its rows are never read here (:meth:`chunks` yields none): :meth:`summarise_into` adds the
    cluster's summary instead; only the reference's sample row groups, for the bin edges, are.
    """

    def __init__(self, label: str, dataset: Dataset, client: Any) -> None:
        from mlratchet.contracts.reading import TableFile, _duplicates

        names = dataset.names
        data = TableFile(Path(label), "parquet", names, dataset.types, dataset.rows)
        data.issues.extend(_duplicates(names))
        super().__init__(label, data=data)
        self.dataset = dataset
        self.client = client

    def chunks(
        self, columns: list[str], stream: bool, dictionary: list[str] | None = None
    ) -> Iterator[Any]:
        """None: the workers read the rows (see :meth:`summarise_into`)."""
        return iter(())

    def summarise_into(self, side: Side, dictionary: list[str] | None = None) -> None:
        """Add the cluster's summary of every row group to ``side`` (stream mode)."""
        edges = {name: column.edges for name, column in _numeric(side)}
        side.merge(summarise(self.client, self.dataset, side.kinds, edges, dictionary))

    def sample(self, columns: list[str]) -> Iterator[Any]:
        """The evenly spaced row groups a streamed run reads for the bin edges."""
        import numpy as np

        from mlratchet.monitor.run import SAMPLE_GROUPS

        groups = len(self.dataset.pieces)
        if not groups:
            return
        for group in np.unique(np.linspace(0, groups - 1, min(groups, SAMPLE_GROUPS)).round()):
            yield self.dataset.read(self.dataset.pieces[int(group)], columns)


def _numeric(side: Side) -> Iterator[tuple[str, Any]]:
    from mlratchet.drift.profile import NumericColumn

    for name, column in side.columns.items():
        if isinstance(column, NumericColumn):
            yield name, column


def monitor_on_cluster(
    current: str | Path,
    *,
    scheduler: str,
    policy: MonitorPolicy,
    reference_path: str | Path,
    columns: list[str] | None = None,
) -> MonitorResult:
    """Compare a batch dataset with a reference dataset, their row groups summarised on the
    Dask cluster at ``scheduler`` (stream mode: histograms over the reference's edges)."""
    from mlratchet.daskio import connect
    from mlratchet.drift.numeric import prefetch_scipy
    from mlratchet.monitor.run import check_batch, reference

    prefetch_scipy()
    client = connect(scheduler)
    try:
        ref = DatasetInput(str(reference_path), open_dataset(reference_path), client)
        cur = DatasetInput(str(current), open_dataset(current), client)
        summary = reference(policy=policy, path=ref, columns=columns, stream=True)
        return check_batch(summary, cur)
    finally:
        client.close()
