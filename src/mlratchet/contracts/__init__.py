"""Data contracts: infer one from reference data, check data against it, report every failure.

- :mod:`~mlratchet.contracts.spec`: the contract file (YAML a person edits and commits);
- :mod:`~mlratchet.contracts.reading`: strict readers (Parquet by row groups, CSV by pyarrow);
- :mod:`~mlratchet.contracts.checks`: the rules, counted chunk by chunk into one report;
- :mod:`~mlratchet.contracts.infer`: a first draft of a contract from data;
- :mod:`~mlratchet.contracts.report`: the report as Markdown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlratchet.contracts.checks import EXAMPLES, Failure, ValidationReport, Validator
from mlratchet.contracts.infer import infer
from mlratchet.contracts.reading import DataError, TableFile, detect_format, open_csv, open_parquet
from mlratchet.contracts.spec import (
    Column,
    Contract,
    ContractError,
    dumps_contract,
    load_contract,
    parse_contract,
)

__all__ = [
    "Column",
    "Contract",
    "ContractError",
    "DataError",
    "Failure",
    "ValidationReport",
    "Validator",
    "dumps_contract",
    "infer",
    "load_contract",
    "open_data",
    "parse_contract",
    "validate",
    "validate_file",
    "validate_table",
]

#: Parquet files with more rows than this are validated row group by row group.
STREAM_ROWS = 2_000_000


def open_data(path: Path | str, contract: Contract | None = None) -> TableFile:
    """Open a Parquet or CSV file (CSV columns parsed as the contract declares them)."""
    path = Path(path)
    if detect_format(path) == "parquet":
        return open_parquet(path)
    declared = {name: c.type for name, c in contract.columns.items()} if contract else None
    return open_csv(path, declared)


def _dictionary_columns(data: TableFile, validator: Validator) -> list[str]:
    import pyarrow as pa

    return [
        name
        for name in validator.columns
        if pa.types.is_string(data.types[name]) or pa.types.is_large_string(data.types[name])
    ]


def validate(
    path: Path | str,
    contract: Contract,
    *,
    contract_path: str = "",
    stream: bool | None = None,
) -> ValidationReport:
    """Check a data file against a contract; the report lists every failure.

    Parquet is streamed by row groups when ``stream`` is true, or when it is None and the file
    has more than :data:`STREAM_ROWS` rows; the report is the same either way.
    """
    data = open_data(path, contract)
    validator = Validator(contract, data)
    if stream is None:
        stream = (data.rows or 0) > STREAM_ROWS
    columns = validator.columns
    if columns:
        dictionary = _dictionary_columns(data, validator) if data.format == "parquet" else None
        for chunk in data.chunks(columns, whole=not stream, dictionary=dictionary):
            validator.feed(chunk)
    else:
        validator.rows = data.rows or 0
    report = validator.report()
    report["contract"] = contract_path
    return report


def validate_table(
    table: Any,
    contract: Contract,
    *,
    name: str = "<table>",
    examples: int | None = None,
    unparsed: dict[str, Any] | None = None,
) -> ValidationReport:
    """Check an in-memory Arrow table (or pandas frame) against a contract.

    ``examples``: failing rows listed per column and rule (default: the first few).
    ``unparsed``: by column, the positions of values already reported as not of the column's
    type (null in ``table``, and not counted as missing), as the CSV reader records them.
    """
    import pyarrow as pa

    from mlratchet.contracts.reading import Chunk, _duplicates

    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    names = list(table.column_names)
    types: dict[str, Any] = {}
    for f in table.schema:
        types.setdefault(f.name, f.type)
    data = TableFile(Path(name), "parquet", names, types, table.num_rows, _duplicates(names))
    data.unparsed = dict(unparsed or {})
    validator = Validator(contract, data, EXAMPLES if examples is None else examples)
    if validator.columns:
        validator.feed(Chunk(table.select(validator.columns), 0))
    else:
        validator.rows = table.num_rows
    return validator.report()


def validate_file(
    path: Path | str, contract_path: Path | str, *, stream: bool | None = None
) -> ValidationReport:
    """Load a contract file and check a data file against it (see :func:`validate`)."""
    contract = load_contract(contract_path)
    return validate(path, contract, contract_path=str(contract_path), stream=stream)
