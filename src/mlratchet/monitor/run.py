"""``ratchet monitor``: a batch of production data against the reference, one verdict.

What is compared, and what raises an alert (exit 1):

- **drift** of every input column, current batch against the reference (by default the rows the
  model was trained on): statistics and a verdict per feature (:mod:`mlratchet.drift.verdict`);
  alert ``dataset_drift`` when the share of drifted features reaches ``drift_share``;
- **contract** (``--contract``): the batch validated as ``ratchet validate`` does; alert
  ``contract`` when it fails;
- **stability**: nulls, NaN and +-inf counted in every input column and in the model's scores
  and predictions; alert ``stability`` when a column's share of them moves by more than the
  tolerance, when +-inf appears, or when a score is not finite;
- **skew** (with a model): (1) *replay*: the model's own ``features`` step applied to the rows it
  was trained on must give back, cell for cell, the features training recorded; (2) the batch's
  serving features (computed by its own transform steps, :mod:`mlratchet.adapter`) against the
  training features, feature by feature; alert ``skew`` when the replay differs or a serving
  feature drifts while its input column does not (the difference comes from the computation,
  not from the data);
- **prediction drift** (with a model): the model's scores on the batch against its scores on
  the reference, under the ``prediction`` rule; alert ``prediction_drift``.

Parquet inputs above :data:`STREAM_ROWS` rows (or with ``stream=True``) are read one row group
at a time and summarised in mergeable histograms (bounded memory); otherwise every value is
kept and the statistics are exact. CSV is read block by block either way
(:func:`mlratchet.tables.open_csv_stream`; whole, as ``ratchet validate`` reads it, with
``--contract``).

The monitor fails closed. A side with no rows is :class:`BadInputError` (exit 2). What it
cannot judge is an alert naming it (exit 1): a reference column missing from the batch
(``missing_columns``), a column of a type it cannot compare or with no usable value on a side
(``unjudged``), and a column whose every row holds a category the reference never had
(``new_categories``); none of them is counted as "not drifted".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from mlratchet.errors import BadInputError

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from mlratchet.contracts import Contract, ValidationReport
    from mlratchet.contracts.reading import TableFile
    from mlratchet.drift import Chart, ColumnDrift, Side
    from mlratchet.drift.profile import Counts, Edges, Kind
    from mlratchet.monitor.history import HistoryJSON
    from mlratchet.monitor.model import ModelContext
    from mlratchet.monitor.realized import RealizedReport
    from mlratchet.policy import MonitorPolicy
    from mlratchet.tables import CsvStream

#: Inputs with more rows than this are streamed by row groups unless told otherwise.
STREAM_ROWS = 2_000_000
#: Row groups read (evenly spaced) to choose stream-mode bin edges from the reference.
SAMPLE_GROUPS = 8
#: A categorical column alerts when this share of its batch rows hold categories the
#: reference never had (every row: a column of only unseen categories is never "not drifted").
NEW_CATEGORY_SHARE = 1.0
#: The model's score column, as it appears in the report.
SCORE = "score"


class Alert(TypedDict):
    """One reason the monitor said no."""

    kind: str
    message: str


class Unjudged(TypedDict):
    """A column the monitor could not judge, and why."""

    column: str
    reason: str


class NewCategories(TypedDict):
    """Categories of a batch column that the reference never had."""

    column: str
    count: int  # distinct new categories
    rows: int  # batch rows holding one
    share: float  # of the batch rows with a value
    examples: list[str]


class MonitorReport(TypedDict):
    """The monitor's verdict and everything behind it (the JSON output)."""

    verdict: str
    alerts: list[Alert]
    unjudged: list[Unjudged]
    missing_columns: list[str]
    new_categories: list[NewCategories]
    mode: str
    current: dict[str, Any]
    reference: dict[str, Any]
    model: dict[str, Any] | None
    policy: dict[str, Any]
    drift: dict[str, Any]
    contract: ValidationReport | None
    stability: dict[str, Any]
    skew: dict[str, Any] | None
    prediction: ColumnDrift | None
    realized: NotRequired[RealizedReport]  # with labels (mlratchet.monitor.realized)
    history: NotRequired[HistoryJSON]  # with a history file (mlratchet.monitor.history)


@dataclass(frozen=True)
class MonitorResult:
    """The report, and the chart data behind it (for the HTML report)."""

    report: MonitorReport
    charts: dict[str, dict[str, Chart]]

    def to_json(self) -> MonitorReport:
        """The report, as ``--json`` prints it."""
        return self.report


class Input:
    """One side's rows: a data file (streamed or read whole), a CSV stream, or a table."""

    def __init__(
        self,
        label: str,
        data: TableFile | None = None,
        table: Any = None,
        csv: CsvStream | None = None,
    ) -> None:
        self.label = label
        self.data = data
        self.table = table
        self.csv = csv
        if table is not None:
            self.rows: int = table.num_rows
        elif csv is not None:
            self.rows = csv.estimated_rows  # counted exactly once read
        else:
            self.rows = (data.rows if data else 0) or 0

    @property
    def names(self) -> list[str]:
        """Its column names."""
        if self.table is not None:
            return list(self.table.column_names)
        if self.csv is not None:
            return list(self.csv.names)
        return list(self.data.names) if self.data else []

    def arrow_type(self, name: str) -> Any:
        """The Arrow type of a column."""
        if self.table is not None:
            return self.table.schema.field(name).type
        if self.csv is not None:
            return self.csv.types[name]
        return self.data.types[name] if self.data else None

    def type_name(self, name: str) -> str:
        """A column's type as the report names it (``mixed object`` for such a pandas column)."""
        if self.table is not None:
            meta = self.table.schema.field(name).metadata or {}
            if meta.get(b"mixed") == b"object":
                return "mixed object"
        return str(self.arrow_type(name))

    def no_rows(self, side: str) -> BadInputError:
        """The error for a side with no rows."""
        return BadInputError(
            f"cannot judge drift: {side} {self.label} has 0 rows; give a {side} with data"
        )

    def chunks(
        self, columns: list[str], stream: bool, dictionary: list[str] | None = None
    ) -> Iterator[Any]:
        """Chunks of the given columns (``Chunk`` objects for a file, tables otherwise).

        ``dictionary``: text columns to read dictionary-encoded from Parquet (categories are
        then counted from their codes).
        """
        from mlratchet.contracts.reading import Chunk

        if self.table is not None:
            yield Chunk(self.table.select(columns), 0)
            return
        if self.csv is not None:
            rows = 0
            for table in self.csv.batches(columns):
                yield Chunk(table, rows)
                rows += table.num_rows
            self.rows = rows
            return
        if self.data is not None:
            yield from self.data.chunks(columns, whole=not stream, dictionary=dictionary)

    def summarise_into(self, side: Side, dictionary: list[str] | None = None) -> None:
        """Add rows summarised out of this process: none here, where :meth:`chunks` gives
        every row (a Dask cluster's dataset does: :mod:`mlratchet.monitor.dataset`)."""

    def text_columns(self, names: list[str]) -> list[str]:
        """Those of ``names`` that are text (string) columns."""
        import pyarrow as pa

        return [
            n
            for n in names
            if pa.types.is_string(self.arrow_type(n))
            or pa.types.is_large_string(self.arrow_type(n))
        ]

    def sample(self, columns: list[str]) -> Iterator[Any]:
        """Evenly spaced row groups (a file), or everything (a table)."""
        import numpy as np
        import pyarrow.parquet as pq

        if self.csv is not None:
            blocks = self.csv.blocks
            wanted = set(np.linspace(0, blocks - 1, min(blocks, SAMPLE_GROUPS)).round().tolist())
            found = 0
            for i, chunk in enumerate(self.chunks(columns, stream=True)):
                if i in wanted or (i >= blocks - 1 and not found):
                    found += 1
                    yield chunk.table
            return
        if self.table is not None or self.data is None or self.data.format != "parquet":
            yield from (chunk.table for chunk in self.chunks(columns, stream=False))
            return
        parquet = pq.ParquetFile(self.data.path)
        groups = parquet.num_row_groups
        for group in np.unique(np.linspace(0, groups - 1, min(groups, SAMPLE_GROUPS)).round()):
            yield parquet.read_row_group(int(group), columns=columns)


def _open(path: Path, contract: Contract | None, label: str) -> Input:
    """A data file: Parquet by row groups, CSV block by block (read whole with a contract,
    whose validator needs the whole file's structure issues); a folder of Parquet files (a
    prediction log of ``ratchet serve``) read whole, as one table."""
    from mlratchet.contracts import open_data
    from mlratchet.contracts.reading import detect_format
    from mlratchet.tables import open_csv_stream, read_folder

    if path.is_dir():
        return _batch_input(read_folder(path), contract, label)
    if contract is None and detect_format(path) == "csv":
        return Input(label, csv=open_csv_stream(path))
    return Input(label, data=open_data(path, contract))


def _batch_input(current: Any, contract: Contract | None, label: str | None) -> Input:
    """A batch from a file path, or from an in-memory Arrow table or pandas frame."""
    import pyarrow as pa

    from mlratchet.contracts.reading import TableFile, _duplicates

    if isinstance(current, Input):
        return current
    if isinstance(current, str | Path):
        return _open(Path(current), contract, label or str(current))
    table = current if isinstance(current, pa.Table) else _from_pandas(current)
    table = table.replace_schema_metadata(None)
    names = list(table.column_names)
    types: dict[str, Any] = {}
    for f in table.schema:
        types.setdefault(f.name, f.type)
    name = label or "<batch>"
    data = TableFile(Path(name), "parquet", names, types, table.num_rows, _duplicates(names))
    return Input(name, data=data, table=table)


def _from_pandas(frame: Any) -> pa.Table:
    """A frame as Arrow; a column Arrow cannot type (mixed objects) becomes a column of its
    values' reprs typed ``mixed object``, so that it is reported, not a crash."""
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    arrays, fields = [], []
    for name in frame.columns:
        try:
            array = pa.array(frame[name], from_pandas=True)
            fields.append(pa.field(str(name), array.type))
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            array = pa.array([repr(v) for v in frame[name]], type=pa.binary())
            fields.append(pa.field(str(name), pa.binary(), metadata={"mixed": "object"}))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _kinds(ref: Input, columns: list[str] | None) -> tuple[dict[str, Kind], dict[str, str]]:
    """How each column is compared, and the columns of a type that cannot be (name: type)."""
    from mlratchet.drift import kind_of

    wanted = columns if columns is not None else list(dict.fromkeys(ref.names))
    kinds: dict[str, Kind] = {}
    unsupported: dict[str, str] = {}
    for name in wanted:
        if name not in ref.names:
            raise BadInputError(f"{ref.label}: no column {name!r}")
        kind = kind_of(ref.arrow_type(name))
        if kind is not None:
            kinds[name] = kind
        else:
            unsupported[name] = str(ref.arrow_type(name))
    if not kinds and not unsupported:
        raise BadInputError(f"{ref.label}: no column to compare")
    return kinds, unsupported


class _Model:
    """Serving through the model: features by its own transform steps, then scores."""

    def __init__(self, context: ModelContext, input_kinds: dict[str, Kind]) -> None:
        self.context = context
        self.inputs = list(context.view.inputs)
        # The features' names and types, from the model's own steps on a few reference rows.
        probe = context.view.features(
            context.reference.slice(0, 64).select(self.inputs).to_pandas()
        )
        self.feature_kinds = context.view.feature_kinds(probe, dict(input_kinds))

    def serve(self, table: pa.Table) -> tuple[Any, np.ndarray, np.ndarray]:
        """Serving features, scores and predictions for rows of the model's inputs."""
        frame = table.select(self.inputs).to_pandas()
        features = self.context.view.features(frame)
        scores, predictions = self.context.view.score(features)
        return features, scores, predictions


def _sample_edges(
    sample: dict[str, list[np.ndarray]], kinds: dict[str, Kind], bins: int
) -> dict[str, Edges]:
    import numpy as np

    from mlratchet.drift.compare import SAMPLE_VALUES, edges_from_sample
    from mlratchet.drift.numeric import finite_sorted

    edges = {}
    for name, kind in kinds.items():
        if kind != "numeric":
            continue
        values = finite_sorted(np.concatenate(sample[name]) if sample[name] else np.empty(0))
        if len(values) > SAMPLE_VALUES:
            values = values[:: len(values) // SAMPLE_VALUES + 1]
        edges[name] = edges_from_sample(values, bins)
    return edges


def _numpy(column: Any) -> np.ndarray:
    from mlratchet.drift.profile import numeric_values

    return numeric_values(column)[0]


def _counts_json(counts: Counts) -> dict[str, int]:
    return counts.as_dict()


def _stability(
    drift_columns: list[ColumnDrift],
    scores: Counts | None,
    predictions: Counts | None,
    tolerance: float,
) -> dict[str, Any]:
    columns = {}
    ok = True
    for entry in drift_columns:
        why = [r for r in entry["reasons"] if r in ("missing_rate", "infinite", "no_values")]
        ok &= not why
        columns[entry["column"]] = {
            "reference": entry["reference"],
            "current": entry["current"],
            "ok": not why,
            "reasons": why,
        }
    out: dict[str, Any] = {"tolerance": tolerance, "columns": columns}
    for name, counts in (("scores", scores), ("predictions", predictions)):
        if counts is None:
            out[name] = None
            continue
        bad = counts.unusable
        ok &= bad == 0
        out[name] = {**counts.as_dict(), "ok": bad == 0}
    out["ok"] = ok
    return out


def _replay(model: _Model) -> dict[str, Any]:
    """The model's transform steps on its training rows against the recorded training features."""
    import numpy as np

    context = model.context
    if context.training_features_path is None:
        return {
            "rows": context.reference.num_rows,
            "recorded_rows": None,
            "mismatched_cells": 0,
            "features": {},
            "ok": True,
            "checked": False,
            "note": "no training features recorded (monitor.training_features): the training "
            "features are the reference rows through the model's own steps, so the replay "
            "check has nothing to compare with",
        }
    served = context.view.features(context.reference.select(model.inputs).to_pandas())
    recorded = context.training_features
    features: dict[str, Any] = {}
    total = 0
    if len(served) != len(recorded):
        return {
            "rows": len(served),
            "recorded_rows": len(recorded),
            "mismatched_cells": max(len(served), len(recorded)),
            "features": {},
            "ok": False,
        }
    for name in served.columns:
        if name not in recorded.columns:
            features[name] = {"mismatched": len(served), "examples": [], "missing": True}
            total += len(served)
            continue
        a = served[name].to_numpy(dtype=np.float64)
        b = recorded[name].to_numpy(dtype=np.float64)
        differ = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        count = int(differ.sum())
        if count:
            rows = np.flatnonzero(differ)[:5]
            features[name] = {
                "mismatched": count,
                "examples": [
                    {"row": int(r), "served": _num(a[r]), "recorded": _num(b[r])} for r in rows
                ],
            }
            total += count
    return {
        "rows": len(served),
        "recorded_rows": len(recorded),
        "mismatched_cells": total,
        "features": features,
        "ok": total == 0,
    }


def _num(value: float) -> float | str:
    import math

    return value if math.isfinite(value) else str(value)


@dataclass
class Reference:
    """The reference side, summarised once; many batches can be checked against it."""

    policy: MonitorPolicy
    input: Input
    kinds: dict[str, Kind]
    stream: bool
    served: _Model | None
    inputs: Side
    scores: Side
    training_features: Side
    replay: dict[str, Any] | None
    input_edges: dict[str, Edges] | None
    score_edges: dict[str, Edges] | None
    feature_edges: dict[str, Edges] | None
    is_training_rows: bool
    #: Reference columns of a type the monitor cannot compare (name: type).
    unsupported: dict[str, str] = field(default_factory=dict)

    @property
    def needed(self) -> list[str]:
        """Columns a batch must have."""
        model_inputs = self.served.inputs if self.served else []
        return list(dict.fromkeys([*self.kinds, *model_inputs]))


def _stream_edges(
    ref: Input, needed: list[str], kinds: dict[str, Kind], served: _Model | None, bins: int
) -> tuple[dict[str, Edges], dict[str, Edges], dict[str, Edges] | None]:
    """Bin edges for inputs, scores and features, from a sample of the reference."""
    import numpy as np

    sample: dict[str, list[np.ndarray]] = {n: [] for n in [*kinds, SCORE]}
    for table in ref.sample(needed):
        for name, kind in kinds.items():
            if kind == "numeric":
                sample[name].append(_numpy(table.column(name)))
        if served is not None:
            sample[SCORE].append(served.serve(table)[1])
    input_edges = _sample_edges(sample, kinds, bins)
    score_edges = _sample_edges(sample, {SCORE: "numeric"}, bins)
    if served is None:
        return input_edges, score_edges, None
    train = served.context.training_features
    feature_kinds: dict[str, Kind] = dict(served.feature_kinds)  # type: ignore[arg-type]
    feature_edges = _sample_edges(
        {n: [train[n].to_numpy(dtype=np.float64)] for n in feature_kinds}, feature_kinds, bins
    )
    return input_edges, score_edges, feature_edges


def _reference_input(path: Path | str | Input | None, model: ModelContext | None) -> Input:
    """The reference rows: a file, or the model's training rows (none: BadInputError)."""
    if isinstance(path, Input):  # already opened (a dataset on a Dask cluster)
        ref = path
    elif path is not None:
        ref = _open(Path(path), None, str(path))
    elif model is not None:
        ref = Input(f"{model.reference_path} at {model.label}", table=model.reference)
    else:
        raise BadInputError(
            "give a reference: --reference FILE, or --model to use its training rows"
        )
    if ref.rows == 0:
        raise ref.no_rows("reference")
    return ref


def reference(
    *,
    policy: MonitorPolicy,
    path: Path | str | Input | None = None,
    model: ModelContext | None = None,
    columns: list[str] | None = None,
    stream: bool = False,
) -> Reference:
    """Summarise the reference: a file, or (default) the rows the model was trained on.

    Every column of the reference (or ``columns``, or the model's inputs) is expected in each
    batch: one that is missing there is an alert, not dropped. A reference with no rows is
    :class:`BadInputError`.
    """
    from mlratchet.drift import Side

    ref = _reference_input(path, model)
    served = None
    if model is not None:
        missing = [n for n in model.view.inputs if n not in ref.names]
        if missing:
            raise BadInputError(f"{ref.label}: no column {missing[0]!r} (the model reads it)")
        served = _Model(model, _kinds(ref, list(model.view.inputs))[0])
        if columns is None:
            columns = list(served.inputs)
    kinds, unsupported = _kinds(ref, columns)
    needed = list(dict.fromkeys([*kinds, *(served.inputs if served else [])]))
    missing = [n for n in needed if n not in ref.names]
    if missing:
        raise BadInputError(f"{ref.label}: no column {missing[0]!r} (the model reads it)")

    score_kinds: dict[str, Kind] = {SCORE: "numeric"}
    feature_kinds: dict[str, Kind] = dict(served.feature_kinds) if served else {}  # type: ignore[arg-type]
    input_edges = score_edges = feature_edges = None
    if stream:
        input_edges, score_edges, feature_edges = _stream_edges(
            ref, needed, kinds, served, policy.bins
        )
    inputs, scores = Side(kinds, input_edges), Side(score_kinds, score_edges)
    training_features = Side(feature_kinds, feature_edges)
    # With a model, its features step wants plain strings; without, codes are cheaper.
    text = ref.text_columns(list(kinds)) if served is None else None
    for chunk in ref.chunks(needed, stream, text):
        inputs.add({n: chunk.table.column(n) for n in kinds})
        if served is not None:
            scores.add({SCORE: served.serve(chunk.table)[1]})
    ref.summarise_into(inputs, text)
    if ref.rows == 0:  # a CSV file's rows are known once read
        raise ref.no_rows("reference")
    inputs.settle()  # exact mode: frees what the batch will not need before it is read
    if served is not None:
        train = served.context.training_features
        training_features.add({n: train[n].to_numpy() for n in feature_kinds})
    return Reference(
        policy=policy,
        input=ref,
        kinds=kinds,
        stream=stream,
        served=served,
        inputs=inputs,
        scores=scores,
        training_features=training_features,
        replay=_replay(served) if served is not None else None,
        input_edges=input_edges,
        score_edges=score_edges,
        feature_edges=feature_edges,
        is_training_rows=path is None,
        unsupported=unsupported,
    )


def _model_checks(
    ref: Reference,
    cur_scores: Side,
    cur_features: Side,
    input_drift: list[ColumnDrift],
    charts: dict[str, dict[str, Chart]],
) -> tuple[ColumnDrift, dict[str, Any]]:
    """Prediction drift and training/serving skew of one batch."""
    from mlratchet.drift import compare

    policy = ref.policy
    rule = policy.prediction
    scored = compare(
        ref.scores, cur_scores, policy, rules={SCORE: (rule.statistic, rule.threshold)}
    )
    charts["prediction"] = scored.charts
    serving = compare(ref.training_features, cur_features, policy)
    charts["skew"] = serving.charts
    input_drifted = {c["column"]: c["drifted"] for c in input_drift}
    # Only against the training rows does "the input did not drift" mean "the serving feature
    # should not have either".
    unexplained = (
        [
            c["column"]
            for c in serving.columns
            if c["drifted"] and not input_drifted.get(c["column"], True)
        ]
        if ref.is_training_rows
        else []
    )
    replay = ref.replay or {"ok": True}
    skew = {
        "replay": replay,
        "features": serving.columns,
        "unexplained": unexplained,
        "ok": bool(replay["ok"]) and not unexplained,
    }
    return scored.columns[0], skew


def _batch_columns(ref: Reference, cur: Input) -> tuple[dict[str, Kind], list[str], list[Unjudged]]:
    """The columns a batch can be compared on; those it lacks; those of another type."""
    import pyarrow as pa

    from mlratchet.drift import kind_of

    present = set(cur.names)
    model_missing = [n for n in (ref.served.inputs if ref.served else []) if n not in present]
    if model_missing:
        raise BadInputError(
            f"{cur.label}: no column {model_missing[0]!r} (the model reads it); add it to the batch"
        )
    expected = list(dict.fromkeys([*ref.kinds, *ref.unsupported]))
    missing = [n for n in expected if n not in present]
    unjudged: list[Unjudged] = [
        {"column": n, "reason": f"type {t} cannot be compared"}
        for n, t in ref.unsupported.items()
        if n in present
    ]
    kinds: dict[str, Kind] = {}
    for name, kind in ref.kinds.items():
        if name not in present:
            continue
        arrow_type = cur.arrow_type(name)
        if kind_of(arrow_type) == kind or pa.types.is_null(arrow_type):
            kinds[name] = kind  # a null-typed column has no value: judged as such
        else:
            unjudged.append(
                {
                    "column": name,
                    "reason": f"type {cur.type_name(name)} in batch, "
                    f"{ref.input.type_name(name)} in reference",
                }
            )
    return kinds, missing, unjudged


def check_batch(  # noqa: PLR0915 - one over with the cluster's summary (monitor.dataset)
    ref: Reference,
    current: Any,
    *,
    contract: Contract | None = None,
    contract_path: str = "",
    label: str | None = None,
) -> MonitorResult:
    """Compare one batch (a file, or an in-memory table) with a summarised reference.

    A batch with no rows is :class:`BadInputError`; a model input missing from it too (the
    model cannot score it). Any other reference column it lacks, or holds with another type,
    is reported (``missing_columns``, ``unjudged``) and raises an alert.
    """
    from mlratchet.contracts import Validator
    from mlratchet.drift import Side, compare
    from mlratchet.drift.profile import Counts, count_numeric
    from mlratchet.drift.verdict import dataset_drift

    policy = ref.policy
    cur = _batch_input(current, contract, label)
    if cur.rows == 0:
        raise cur.no_rows("batch")
    served = ref.served
    kinds, missing_columns, unjudged = _batch_columns(ref, cur)
    cur_inputs = Side(kinds, ref.input_edges)
    cur_scores = Side(ref.scores.kinds, ref.score_edges)
    cur_features = Side(ref.training_features.kinds, ref.feature_edges)
    predictions = Counts()
    validator = Validator(contract, cur.data) if contract is not None and cur.data else None
    needed = [n for n in ref.needed if n in kinds or n not in ref.kinds]
    columns = list(dict.fromkeys([*needed, *(validator.columns if validator else [])]))
    text = cur.text_columns(list(kinds)) if served is None else None
    for chunk in cur.chunks(columns, ref.stream, text):
        cur_inputs.add({n: chunk.table.column(n) for n in kinds})
        if validator is not None:
            validator.feed(chunk)
        if served is not None:
            features, scores, labels = served.serve(chunk.table)
            cur_scores.add({SCORE: scores})
            cur_features.add({n: features[n].to_numpy() for n in cur_features.kinds})
            count_numeric(labels, 0, predictions)
    cur.summarise_into(cur_inputs, text)
    if cur.rows == 0:  # a CSV file's rows are known once read
        raise cur.no_rows("batch")

    drift = compare(ref.inputs, cur_inputs, policy, names=list(kinds))
    unjudged += [
        {"column": c["column"], "reason": c["unjudged"]}
        for c in drift.columns
        if c["unjudged"] is not None
    ]
    judged = [c for c in drift.columns if c["unjudged"] is None]
    new_categories = _new_categories(judged)
    charts: dict[str, dict[str, Chart]] = {"drift": drift.charts}
    validation = None
    if validator is not None:
        validation = validator.report()
        validation["contract"] = contract_path
    prediction = skew = None
    score_counts = None
    if served is not None and ref.replay is not None:
        prediction, skew = _model_checks(ref, cur_scores, cur_features, drift.columns, charts)
        score_counts = cur_scores.columns[SCORE].counts

    drifted, total = sum(c["drifted"] for c in judged), len(judged)
    dataset = dataset_drift(drifted, total, policy.drift_share)
    stability = _stability(
        drift.columns,
        score_counts,
        predictions if served is not None else None,
        policy.nonfinite_tolerance,
    )
    alerts = _alerts(
        dataset=dataset,
        drifted=drifted,
        total=total,
        policy=policy,
        validation=validation,
        stability=stability,
        skew=skew,
        prediction=prediction,
    )
    alerts += _coverage_alerts(missing_columns, unjudged, new_categories)
    context = served.context if served is not None else None
    report: MonitorReport = {
        "verdict": "alert" if alerts else "ok",
        "alerts": alerts,
        "unjudged": unjudged,
        "missing_columns": missing_columns,
        "new_categories": new_categories,
        "mode": "stream" if ref.stream else "exact",
        "current": {"path": cur.label, "rows": cur.rows},
        "reference": {"source": ref.input.label, "rows": ref.input.rows},
        "model": (
            {
                "ref": context.text,
                "rev": context.sha,
                "path": context.path,
                "training_rows": context.reference_path,
                "training_features": context.training_features_path,
            }
            if context is not None
            else None
        ),
        "policy": _policy_json(policy),
        "drift": {
            "features": total,
            "drifted": drifted,
            "share": drifted / total if total else 0.0,
            "threshold": policy.drift_share,
            "dataset_drift": dataset,
            "unjudged": len(drift.columns) - total,
            "columns": drift.columns,
        },
        "contract": validation,
        "stability": stability,
        "skew": skew,
        "prediction": prediction,
    }
    return MonitorResult(report, charts)


def monitor(
    current: Path | str,
    *,
    policy: MonitorPolicy,
    reference_path: Path | str | None = None,
    contract: Contract | None = None,
    contract_path: str = "",
    model: ModelContext | None = None,
    columns: list[str] | None = None,
    stream: bool | None = None,
) -> MonitorResult:
    """Compare a batch with the reference (a file, or the model's training rows)."""
    from mlratchet.drift.numeric import prefetch_scipy

    cur = _open(Path(current), contract, str(current))
    ref_rows = 0
    if reference_path is not None and (stream is None or not Path(reference_path).is_dir()):
        ref_rows = _open(Path(reference_path), None, str(reference_path)).rows
    # Row counts from the files' metadata (0 for a CSV file, until it is read).
    prefetch_scipy((ref_rows, cur.rows) if ref_rows and cur.rows else None)
    if stream is None:
        stream = max(ref_rows, cur.rows) > STREAM_ROWS
    ref = reference(
        policy=policy,
        path=reference_path,
        model=model,
        columns=columns,
        stream=stream,
    )
    return check_batch(ref, cur, contract=contract, contract_path=contract_path)


def _new_categories(columns: list[ColumnDrift]) -> list[NewCategories]:
    """Categorical columns whose batch holds categories the reference never had."""
    found: list[NewCategories] = []
    for c in columns:
        stats = c["statistics"]
        if c["kind"] == "categorical" and stats.get("new_category_count"):
            found.append(
                {
                    "column": c["column"],
                    "count": int(stats["new_category_count"]),
                    "rows": int(stats["new_category_rows"]),
                    "share": float(stats["new_category_share"]),
                    "examples": list(stats["new_categories"][:5]),
                }
            )
    return found


def _coverage_alerts(
    missing: list[str], unjudged: list[Unjudged], new: list[NewCategories]
) -> list[Alert]:
    """Alerts for what the monitor could not judge, and for columns of unseen categories."""
    alerts: list[Alert] = []
    if missing:
        alerts.append(
            {
                "kind": "missing_columns",
                "message": "reference columns missing from the batch: " + ", ".join(missing),
            }
        )
    if unjudged:
        alerts.append(
            {
                "kind": "unjudged",
                "message": "cannot judge: "
                + "; ".join(f"{u['column']} ({u['reason']})" for u in unjudged),
            }
        )
    # No policy threshold for unseen categories exists: a column alerts when every batch row
    # with a value holds one (NEW_CATEGORY_SHARE).
    flagged = [n for n in new if n["share"] >= NEW_CATEGORY_SHARE]
    if flagged:
        alerts.append(
            {
                "kind": "new_categories",
                "message": "categories the reference never had, in "
                + "; ".join(
                    f"{n['column']} ({n['share']:.0%} of rows: {', '.join(n['examples'])})"
                    for n in flagged
                ),
            }
        )
    return alerts


def _policy_json(policy: MonitorPolicy) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(policy)


def _alerts(
    *,
    dataset: bool,
    drifted: int,
    total: int,
    policy: MonitorPolicy,
    validation: ValidationReport | None,
    stability: dict[str, Any],
    skew: dict[str, Any] | None,
    prediction: ColumnDrift | None,
) -> list[Alert]:
    alerts: list[Alert] = []
    if dataset:
        alerts.append(
            {
                "kind": "dataset_drift",
                "message": f"{drifted} of {total} features drifted "
                f"(threshold {policy.drift_share:.0%} of features)",
            }
        )
    if validation is not None and not validation["valid"]:
        alerts.append(
            {
                "kind": "contract",
                "message": f"{len(validation['failures'])} contract rule(s) failed",
            }
        )
    if not stability["ok"]:
        bad = [n for n, c in stability["columns"].items() if not c["ok"]]
        for name in ("scores", "predictions"):
            if stability[name] is not None and not stability[name]["ok"]:
                bad.append(f"model {name}")
        alerts.append(
            {"kind": "stability", "message": "missing or non-finite values: " + ", ".join(bad)}
        )
    if skew is not None and not skew["ok"]:
        parts = []
        if not skew["replay"]["ok"]:
            parts.append(
                f"serving features differ from training's on {skew['replay']['mismatched_cells']} "
                f"cells ({', '.join(skew['replay']['features']) or 'row count'})"
            )
        if skew["unexplained"]:
            parts.append(
                "serving features drift while their inputs do not: "
                + ", ".join(skew["unexplained"])
            )
        alerts.append({"kind": "skew", "message": "; ".join(parts)})
    if prediction is not None and prediction["drifted"]:
        effect = prediction["effect"]
        alerts.append(
            {
                "kind": "prediction_drift",
                "message": f"scores drifted: {effect['statistic']} {effect['value']:.3g} "
                f"(threshold {effect['threshold']})",
            }
        )
    return alerts


def run(
    current: Path | str,
    *,
    repo: Path | str = ".",
    policy_file: Path | str | None = None,
    reference_path: Path | str | None = None,
    contract_path: Path | str | None = None,
    model_text: str | None = None,
    columns: list[str] | None = None,
    stream: bool | None = None,
    labels_path: Path | str | None = None,
    labelled: bool = False,
    scheduler: str | None = None,
    history_path: Path | str | None = None,
    batch_label: str | None = None,
) -> MonitorResult:
    """``ratchet monitor``: read the policy, contract and model, then :func:`monitor`.

    With ``labels_path`` (labels joined on the policy's key) or ``labelled`` (the batch holds
    the policy's label column), the realized performance of the model on the labelled rows is
    added (:mod:`mlratchet.monitor.realized`).

    With ``history_path``, the run's line (batch ``batch_label``, by default the batch's stem)
    is added to that JSON-lines file, or replaces the line of the same batch and model, and the
    entries read back are the report's ``history`` (:mod:`mlratchet.monitor.history`). The file
    is read first: a malformed line is bad input before anything is computed.

    Without ``reference_path``, the model (``model_text``, default ``workspace``) supplies the
    reference: the rows it was trained on. With ``reference_path`` and no ``model_text``, only
    the data is compared (no model checks). With ``scheduler``, both are Parquet datasets whose
    row groups a Dask cluster summarises (:mod:`mlratchet.monitor.dataset`).
    """
    from mlratchet.contracts import load_contract
    from mlratchet.monitor import history
    from mlratchet.monitor import model as models
    from mlratchet.policy import policy_at

    repo = Path(repo)
    label = None
    if history_path is not None:
        label = history.batch_label(current, batch_label)
        history.read_history(history_path)  # a malformed file fails before the work
    elif batch_label is not None:
        raise BadInputError(
            "--batch-label names the batch's line in a history file: give --history FILE.jsonl"
        )
    whole = policy_at(repo, None, policy_file)[0]
    policy = whole.monitor
    if scheduler is not None:
        result = _on_cluster(
            current,
            scheduler=scheduler,
            policy=policy,
            reference_path=reference_path,
            contract_path=contract_path,
            model_text=model_text,
            columns=columns,
            stream=stream,
            labels=labels_path is not None or labelled,
        )
        return _with_history(result, history_path, label, model_text, sha=None, repo=repo)
    contract = load_contract(contract_path) if contract_path is not None else None
    if model_text is None and reference_path is None:
        model_text = "workspace"
    context = models.load(repo, model_text, policy, whole.models) if model_text else None
    result = monitor(
        current,
        policy=policy,
        reference_path=reference_path,
        contract=contract,
        contract_path=str(contract_path or ""),
        model=context,
        columns=columns,
        stream=stream,
    )
    from mlratchet.monitor import realized

    labels = Path(labels_path) if labels_path is not None else None
    if realized.applies(policy.realized, labels, labelled) and policy.realized:
        result = realized.add_realized(
            result, Path(current), labels, rule=policy.realized, context=context, repo=repo
        )
    sha = context.sha if context is not None else None
    return _with_history(result, history_path, label, model_text, sha=sha, repo=repo)


def _with_history(
    result: MonitorResult,
    path: Path | str | None,
    label: str | None,
    model_text: str | None,
    *,
    sha: str | None,
    repo: Path,
) -> MonitorResult:
    """The result with its line recorded in the history file and the entries read back."""
    if path is None or label is None:
        return result
    from dataclasses import replace

    from mlratchet.monitor import history

    version = history.registry_version(repo, model_text, sha)
    entry = history.entry_of(result.report, batch=label, model=model_text, version=version)
    report = dict(result.report)
    report["history"] = history.record(path, entry)
    return replace(result, report=report)  # type: ignore[arg-type]


def _on_cluster(
    current: Path | str,
    *,
    scheduler: str,
    policy: MonitorPolicy,
    reference_path: Path | str | None,
    contract_path: Path | str | None,
    model_text: str | None,
    columns: list[str] | None,
    stream: bool | None,
    labels: bool = False,
) -> MonitorResult:
    """``--scheduler``: data only, streamed; what a cluster cannot do is bad input (2)."""
    from mlratchet.monitor.dataset import monitor_on_cluster

    refused = [
        option
        for option, given in (
            ("--model", model_text is not None),
            ("--contract", contract_path is not None),
            ("--in-memory", stream is False),
            ("--labels/--labelled", labels),
        )
        if given
    ]
    if refused:
        raise BadInputError(
            f"--scheduler compares data only, in histograms: drop {', '.join(refused)} "
            "(they run in one process, without --scheduler)"
        )
    if reference_path is None:
        raise BadInputError(
            "--scheduler needs --reference DATASET (the model's training rows are not read on "
            "a cluster)"
        )
    return monitor_on_cluster(
        current, scheduler=scheduler, policy=policy, reference_path=reference_path, columns=columns
    )
