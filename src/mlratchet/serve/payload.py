"""Request bodies to columns of values: MLflow's scoring formats, KServe v1, CSV.

``POST /invocations`` takes what MLflow's scoring server takes (``mlflow models serve``), so an
MLflow client works unchanged: a JSON object with exactly one of

- ``dataframe_split``: ``{"columns": [...], "data": [[...], ...]}`` (``index`` ignored);
- ``dataframe_records``: ``[{"column": value, ...}, ...]``;
- ``instances`` or ``inputs``: a list of records, a list of rows (values in the model's input
  order), or ``{"column": [values...]}``;

(``params``, MLflow's inference parameters, is accepted and ignored), or ``text/csv`` with a
header row. ``POST /v1/models/NAME:predict`` takes KServe v1's ``{"instances": [...]}``.

A record without a key holds a missing value there; a column no record has is missing (the
input checks report it). Anything else is a :class:`PayloadError` with the HTTP status to
answer (400 for a body that is not what it claims to be, 415 for an unknown content type).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlratchet.errors import BadInputError

#: MLflow's input fields; a body must have exactly one.
MLFLOW_FIELDS = ("dataframe_split", "dataframe_records", "instances", "inputs")


class PayloadError(BadInputError):
    """A request body that cannot be read as rows; ``status`` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Columns:
    """The values of a request, column by column (every list has ``rows`` values)."""

    values: dict[str, list[Any]]
    rows: int
    text: bool = False  # values are CSV text, to be parsed by the column's type


def parse_json(body: bytes) -> Any:
    """A JSON document (NaN and Infinity tokens accepted, as pandas writes them)."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"the body is not valid JSON ({exc})") from None


def _records(records: Any, where: str) -> Columns:
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise PayloadError(f"{where} must be a list of JSON objects (one per row)")
    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(str(k) for k in record))
    values = {name: [record.get(name) for record in records] for name in names}
    return Columns(values, len(records))


def _rows(rows: list[Any], names: list[str], where: str) -> Columns:
    for index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            raise PayloadError(
                f"{where}[{index}] must be a list of {len(names)} values "
                f"({', '.join(names)}), got {json.dumps(row)[:80]}"
            )
    values = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    return Columns(values, len(rows))


def _columnar(data: dict[str, Any], where: str) -> Columns:
    lengths = {len(v) if isinstance(v, list) else -1 for v in data.values()}
    if -1 in lengths or len(lengths) > 1:
        raise PayloadError(f"{where} must map each column to a list of values of one length")
    return Columns({str(k): list(v) for k, v in data.items()}, lengths.pop() if lengths else 0)


def _split(split: Any) -> Columns:
    where = "dataframe_split"
    if not isinstance(split, dict) or not isinstance(split.get("data"), list):
        raise PayloadError(f'{where} must be {{"columns": [...], "data": [[...], ...]}}')
    columns = split.get("columns")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise PayloadError(f'{where}: "columns" must be a list of column names')
    return _rows(split["data"], columns, f"{where}.data")


def _instances(data: Any, inputs: tuple[str, ...], where: str) -> Columns:
    if isinstance(data, dict):
        return _columnar(data, where)
    if not isinstance(data, list):
        raise PayloadError(f"{where} must be a list of rows or records, or an object of columns")
    if data and all(isinstance(r, dict) for r in data):
        return _records(data, where)
    return _rows(data, list(inputs), where)


def mlflow_columns(document: Any, inputs: tuple[str, ...]) -> Columns:
    """The rows of an MLflow scoring request (see the module's docstring)."""
    if not isinstance(document, dict):
        raise PayloadError(
            f"the body must be a JSON object with one of the fields {', '.join(MLFLOW_FIELDS)}"
        )
    given = [f for f in MLFLOW_FIELDS if f in document]
    if len(given) != 1:
        raise PayloadError(
            "the body must have exactly one of the fields "
            f"{', '.join(MLFLOW_FIELDS)}; it has {', '.join(given) or 'none'}"
        )
    field = given[0]
    if field == "dataframe_split":
        return _split(document[field])
    if field == "dataframe_records":
        return _records(document[field], field)
    return _instances(document[field], inputs, field)


def kserve_columns(document: Any, inputs: tuple[str, ...]) -> Columns:
    """The rows of a KServe v1 ``:predict`` request, ``{"instances": [...]}``."""
    if not isinstance(document, dict) or "instances" not in document:
        raise PayloadError('the body must be a JSON object {"instances": [...]} (KServe v1)')
    return _instances(document["instances"], inputs, "instances")


def csv_columns(body: bytes) -> Columns:
    """The rows of a CSV body with a header row (values are text until checked)."""
    import csv
    import io

    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PayloadError("the CSV body is not UTF-8") from None
    reader = csv.reader(io.StringIO(text))
    rows = [row for row in reader if row]
    if not rows:
        raise PayloadError("the CSV body has no header row")
    header, data = rows[0], rows[1:]
    for number, row in enumerate(data, start=2):
        if len(row) != len(header):
            raise PayloadError(f"CSV line {number}: {len(row)} values for {len(header)} columns")
    values = {
        name: [row[i] if row[i] != "" else None for row in data] for i, name in enumerate(header)
    }
    return Columns(values, len(data), text=True)


def columns_of(
    body: bytes, content_type: str, inputs: tuple[str, ...], *, kserve: bool = False
) -> Columns:
    """A request body to columns, by its content type."""
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    if kind in ("text/csv", "application/csv") and not kserve:
        return csv_columns(body)
    if kind not in ("application/json", ""):
        raise PayloadError(
            f"content type {kind!r} is not supported: send application/json"
            + ("" if kserve else " or text/csv"),
            status=415,
        )
    document = parse_json(body)
    return kserve_columns(document, inputs) if kserve else mlflow_columns(document, inputs)
