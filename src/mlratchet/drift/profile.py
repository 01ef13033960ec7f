"""One side of a comparison (reference or current), accumulated chunk by chunk.

A :class:`Side` takes chunks of columns (Arrow arrays or numpy arrays) and keeps, per column:

- the counts of what no test can use, exactly: rows, nulls, NaN, +inf, -inf;
- for a numeric column, either every finite value (*exact* mode; sorted once at the end) or
  fixed-edge histograms (*stream* mode; see :mod:`mlratchet.drift.histogram`), plus the counts
  over the chart's bins;
- for a categorical column, the count of every category (exact in both modes).

Chunks may come from one in-memory table or from Parquet row groups one at a time: counts do not
depend on the chunking, so streaming and in-memory runs give the same counts. Two stream-mode
sides over the same edges merge (:meth:`Side.merge`): a Dask cluster summarises row groups
apart and the client adds them up (:mod:`mlratchet.monitor.dataset`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from mlratchet.drift.histogram import Histogram
from mlratchet.drift.numeric import bin_counts

if TYPE_CHECKING:
    from collections.abc import Mapping

    import numpy as np

Kind = Literal["numeric", "categorical"]


@dataclass
class Counts:
    """Rows of one column, and those no test can use (missing or non-finite)."""

    rows: int = 0
    null: int = 0
    nan: int = 0
    posinf: int = 0
    neginf: int = 0

    @property
    def unusable(self) -> int:
        """Missing or non-finite values."""
        return self.null + self.nan + self.posinf + self.neginf

    @property
    def values(self) -> int:
        """Values a test can use."""
        return self.rows - self.unusable

    def merge(self, other: Counts) -> None:
        """Add another chunk's counts."""
        self.rows += other.rows
        self.null += other.null
        self.nan += other.nan
        self.posinf += other.posinf
        self.neginf += other.neginf

    def as_dict(self) -> dict[str, int]:
        """The JSON shape."""
        return {
            "rows": self.rows,
            "values": self.values,
            "null": self.null,
            "nan": self.nan,
            "posinf": self.posinf,
            "neginf": self.neginf,
        }


@dataclass(frozen=True)
class Edges:
    """Bin edges for a numeric column in stream mode, chosen from a reference sample."""

    fine: np.ndarray
    psi: np.ndarray
    chart: np.ndarray


def kind_of(arrow_type: Any) -> Kind | None:
    """How a column of this Arrow type is compared (None: not comparable)."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_null(arrow_type):
        return "numeric"  # no value at all: counted as missing, and then not judged
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return "numeric"
    if pa.types.is_decimal(arrow_type):
        return "numeric"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "categorical"
    if pa.types.is_boolean(arrow_type):
        return "categorical"
    return None


def numeric_values(column: Any) -> tuple[np.ndarray, int]:
    """A column as float64 numpy values (nulls as NaN) and its count of nulls."""
    import numpy as np
    import pyarrow as pa

    from mlratchet import arrays

    if isinstance(column, pa.ChunkedArray | pa.Array):
        column = arrays.flat(column)
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        return arrays.as_float(column)
    values = np.asarray(column, dtype=np.float64)
    return values, 0


def _pieces(column: Any) -> list[Any]:
    """The chunks of a chunked Arrow array; anything else as one piece."""
    import pyarrow as pa

    return column.chunks if isinstance(column, pa.ChunkedArray) else [column]


def count_numeric(values: np.ndarray, nulls: int, counts: Counts) -> np.ndarray:
    """Add the counts of ``values`` (``nulls`` of them were nulls, read as NaN) to ``counts``;
    return the finite values (``values`` itself, not a copy, when all are)."""
    import numpy as np

    finite_mask = np.isfinite(values)
    counts.rows += len(values)
    if finite_mask.all():
        return values
    finite: np.ndarray = values[finite_mask]
    unusable = len(values) - len(finite)
    posinf = int(np.count_nonzero(values == np.inf))
    neginf = int(np.count_nonzero(values == -np.inf))
    counts.null += nulls
    counts.posinf += posinf
    counts.neginf += neginf
    counts.nan += unusable - posinf - neginf - nulls
    return finite


def category_counts(column: Any) -> tuple[dict[str, int], int, int]:
    """Counts of each category in a chunk, its null count and its row count."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(column, pa.Array | pa.ChunkedArray):
        column = pa.array(column)
    if isinstance(column, pa.ChunkedArray) and pa.types.is_dictionary(column.type):
        # Chunk by chunk: combining them would first unify their dictionaries.
        total: Counter[str] = Counter()
        nulls = 0
        for chunk in column.chunks:
            found, chunk_nulls, _ = _dictionary_counts(chunk)
            total.update(found)
            nulls += chunk_nulls
        return dict(total), nulls, len(column)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        return _dictionary_counts(column)
    nulls = column.null_count
    found = pc.value_counts(column.drop_null())
    keys = found.field("values").to_pylist()
    numbers = found.field("counts").to_pylist()
    return {_label(k): int(c) for k, c in zip(keys, numbers, strict=True)}, nulls, len(column)


def _dictionary_counts(column: Any) -> tuple[dict[str, int], int, int]:
    """Counts of a dictionary-encoded chunk: a bincount of its codes, no strings touched."""
    import numpy as np

    from mlratchet import arrays

    nulls = column.null_count
    codes = arrays.primitive(column.indices)
    present = arrays.valid(column)
    if present is not None:
        codes = codes[present]
    counts = np.bincount(codes, minlength=len(column.dictionary))
    found: dict[str, int] = {}
    for label, count in zip(column.dictionary.to_pylist(), counts.tolist(), strict=True):
        if count:
            key = _label(label)
            found[key] = found.get(key, 0) + int(count)
    return found, nulls, len(column)


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class NumericColumn:
    """One numeric column of one side.

    In exact mode the counts are complete once :meth:`finite_values` has run (the comparison
    runs it); in stream mode, after every chunk.
    """

    counts: Counts = field(default_factory=Counts)
    chunks: list[np.ndarray] = field(default_factory=list)  # exact mode
    histogram: Histogram | None = None  # stream mode
    chart_counts: np.ndarray | None = None  # stream mode
    edges: Edges | None = None
    _finite: np.ndarray | None = None
    _nulls: int = 0  # exact mode: of the kept chunks, counted with them

    def add(self, column: Any) -> None:
        """Count a chunk (exact mode: keep its values; they are counted by
        :meth:`finite_values`)."""
        import numpy as np

        if self.histogram is None or self.edges is None or self.chart_counts is None:
            # Each chunk as it is (a view of Arrow's memory where it can be): at most one copy,
            # into one array, when they are counted.
            for piece in _pieces(column):
                values, nulls = numeric_values(piece)
                self.chunks.append(values)
                self._nulls += nulls
            return
        values, nulls = numeric_values(column)
        ordered = np.sort(count_numeric(values, nulls, self.counts))
        self.histogram.add_sorted(ordered)
        self.chart_counts += bin_counts(ordered, self.edges.chart)

    def merge(self, other: NumericColumn | CategoricalColumn) -> None:
        """Add the summary of other rows (stream mode, over the same edges)."""
        if not isinstance(other, NumericColumn):
            raise TypeError("a numeric column merges with a numeric one")  # a bug
        if self.histogram is None or other.histogram is None or self.chart_counts is None:
            raise ValueError("only stream-mode columns merge")  # a bug, not user input
        self.counts.merge(other.counts)
        self.histogram.merge(other.histogram)
        self.chart_counts += other.chart_counts

    def release(self) -> None:
        """Drop the values (a current batch's are not needed once compared)."""
        self._finite = None
        self.chunks = []

    def finite_values(self) -> np.ndarray:
        """Every finite value, in the rows' order (exact mode); computed once, and the counts
        of the other values with it. A single chunk with no missing value is Arrow's memory
        itself (read-only), not a copy."""
        import numpy as np

        if self._finite is None:
            if len(self.chunks) == 1:
                values = self.chunks[0]
            else:
                values = np.concatenate(self.chunks) if self.chunks else np.empty(0)
            self.chunks = []
            self._finite = count_numeric(values, self._nulls, self.counts)
        return self._finite


@dataclass
class CategoricalColumn:
    """One categorical column of one side."""

    counts: Counts = field(default_factory=Counts)
    categories: Counter[str] = field(default_factory=Counter)

    def add(self, column: Any) -> None:
        """Count a chunk."""
        found, nulls, rows = category_counts(column)
        self.categories.update(found)
        self.counts.rows += rows
        self.counts.null += nulls

    def merge(self, other: NumericColumn | CategoricalColumn) -> None:
        """Add the counts of other rows."""
        if not isinstance(other, CategoricalColumn):
            raise TypeError("a categorical column merges with a categorical one")  # a bug
        self.categories.update(other.categories)
        self.counts.merge(other.counts)


class Side:
    """Every compared column of one side, fed chunk by chunk."""

    def __init__(self, kinds: Mapping[str, Kind], edges: Mapping[str, Edges] | None = None):
        import numpy as np

        self.kinds = dict(kinds)
        self.stream = edges is not None
        self.columns: dict[str, NumericColumn | CategoricalColumn] = {}
        for name, kind in self.kinds.items():
            if kind == "categorical":
                self.columns[name] = CategoricalColumn()
                continue
            column = NumericColumn()
            if edges is not None:
                column.edges = edges[name]
                column.histogram = Histogram(edges[name].fine)
                column.chart_counts = np.zeros(len(edges[name].chart) + 1, dtype=np.int64)
            self.columns[name] = column

    def add(self, chunk: Mapping[str, Any]) -> None:
        """Count one chunk: a mapping of column name to Arrow or numpy values (streamed row
        groups a column per thread: each column owns its counts)."""
        from mlratchet.parallel import map_threads

        def add_one(name: str) -> None:
            self.columns[name].add(chunk[name])

        map_threads(add_one, self.columns, threads=None if self.stream else 1)

    def settle(self) -> None:
        """Take every numeric column's finite values out of its chunks now (exact mode; once
        all its chunks are in), so that a column copied for its missing values frees the
        chunks' memory (Arrow's, read from a file) before the next side is read."""
        from mlratchet.parallel import map_threads

        if self.stream:
            return
        numeric = [c for c in self.columns.values() if isinstance(c, NumericColumn)]
        map_threads(NumericColumn.finite_values, numeric)

    def merge(self, other: Side) -> None:
        """Add the summary of other rows, column by column (stream mode, the same edges).

        Every count adds exactly, so the order of merging does not change them; the moments
        (mean, variance) are floats: merged in the rows' order, they equal a streamed run's.
        """
        if other.kinds != self.kinds:
            raise ValueError("sides of different columns do not merge")  # a bug
        for name, column in self.columns.items():
            column.merge(other.columns[name])
