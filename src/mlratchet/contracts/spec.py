"""The contract file: a YAML file a person reads, edits and commits (``contracts/NAME.yaml``).

.. code-block:: yaml

    contract: 1                  # format version
    rows: {min: 1}               # a header-only file breaks this
    extra_columns: false         # a column the contract does not name is a failure
    columns:
      dep_time:
        type: float              # integer | float | string | boolean | timestamp
        nullable: true
        max_null_rate: 0.04      # at most this share missing (NaN counts as missing)
        min: 0                   # inclusive range
        max: 2640
      carrier:
        type: string
        nullable: false
        categories: [9E, AA, AS] # the only values allowed
      time_hour:
        type: string
        nullable: false
        pattern: '^2013-\\d\\d-\\d\\dT\\d\\d:00:00Z$'   # RE2 syntax, must match the whole value
        unique: false

Numeric columns never accept +-inf (``finite: false`` allows them). ``integer`` data is
accepted in a ``float`` column (every int64 up to 2**53 is a float); nothing else is widened.

A malformed contract is :class:`ContractError` (exit 2) naming the file, the line and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlratchet.errors import BadInputError, ParamsError
from mlratchet.typed import FieldError, from_data
from mlratchet.yamlio import read_text

FORMAT_VERSION = 1
ColumnType = Literal["integer", "float", "string", "boolean", "timestamp"]
NUMERIC_TYPES = frozenset({"integer", "float"})


class ContractError(BadInputError):
    """A contract file that cannot be used: unreadable, malformed YAML, or a bad rule."""


@dataclass(frozen=True)
class Rows:
    """How many rows the data may have."""

    min: int = 1
    max: int | None = None

    def __post_init__(self) -> None:
        if self.min < 0:
            raise FieldError("min", f"must be >= 0, got {self.min}")
        if self.max is not None and self.max < self.min:
            raise FieldError("max", f"must be >= min ({self.min}), got {self.max}")


@dataclass(frozen=True)
class Column:
    """The rules for one column."""

    type: ColumnType
    nullable: bool
    max_null_rate: float | None = None
    min: float | None = None
    max: float | None = None
    finite: bool = True
    categories: tuple[str, ...] | None = None
    pattern: str | None = None
    unique: bool = False
    description: str | None = None

    def __post_init__(self) -> None:
        numeric = self.type in NUMERIC_TYPES
        if self.max_null_rate is not None and not 0 <= self.max_null_rate <= 1:
            raise FieldError("max_null_rate", f"must be in [0, 1], got {self.max_null_rate}")
        if self.max_null_rate is not None and not self.nullable:
            raise FieldError("max_null_rate", "is only for a nullable column (nullable: true)")
        for bound in ("min", "max"):
            if getattr(self, bound) is not None and not numeric:
                raise FieldError(bound, f"applies to integer and float columns, not {self.type}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise FieldError("max", f"must be >= min ({self.min}), got {self.max}")
        if self.categories is not None:
            if self.type != "string":
                raise FieldError("categories", f"applies to string columns, not {self.type}")
            if len(set(self.categories)) != len(self.categories):
                raise FieldError("categories", "lists a category twice")
        if self.pattern is not None:
            if self.type != "string":
                raise FieldError("pattern", f"applies to string columns, not {self.type}")
            _check_pattern(self.pattern)


def _check_pattern(pattern: str) -> None:
    """A pattern must compile in RE2, the engine Arrow matches with."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.match_substring_regex(pa.nulls(1, pa.string()), pattern=pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise FieldError("pattern", f"is not a valid RE2 regular expression ({exc})") from None


@dataclass(frozen=True)
class Contract:
    """A whole contract file."""

    contract: int
    columns: dict[str, Column]
    rows: Rows = field(default_factory=Rows)
    extra_columns: bool = False
    description: str | None = None

    def __post_init__(self) -> None:
        if self.contract != FORMAT_VERSION:
            raise FieldError("contract", f"unknown format version {self.contract} (expected 1)")
        if not self.columns:
            raise FieldError("columns", "must name at least one column")


def _line_of(data: Any, key: str | None) -> int | None:
    """The 1-based line of ``key`` (``a.b[2].c``) in round-trip YAML data, or its parent's."""
    if not key:
        return None
    parts = [p for p in re.split(r"\.|\[(\d+)\]", key) if p]
    line = None
    node = data
    for part in parts:
        try:
            if isinstance(node, list):
                index = int(part)
                line = node.lc.item(index)[0] + 1  # type: ignore[attr-defined]
                node = node[index]
            elif isinstance(node, dict) and part in node:
                line = node.lc.key(part)[0] + 1  # type: ignore[attr-defined]
                node = node[part]
            else:
                break
        except (AttributeError, KeyError, IndexError, ValueError, TypeError):
            break
    return line


def parse_contract(text: str, source: str) -> Contract:
    """Parse contract text; every problem names ``source``, the line and the key.

    The text is read by the fast (C) safe loader; only when it holds a mistake is it read again
    by the round-trip loader, which knows each key's line.
    """
    from ruamel.yaml import YAML

    try:
        data = YAML(typ="safe", pure=False).load(text)
        if isinstance(data, dict):
            return from_data(Contract, data, source=source)
    except Exception:  # noqa: S110 - any problem is reported, with its line, by the slow path
        pass
    return _parse_with_lines(text, source)


def _parse_with_lines(text: str, source: str) -> Contract:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        data = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ContractError(f"{where}: malformed YAML: {exc.problem or exc.context}") from None
    except YAMLError as exc:
        raise ContractError(f"{source}: malformed YAML: {exc}") from None
    if data is None:
        raise ContractError(f"{source}: empty contract file (run `ratchet contract infer`)")
    if not isinstance(data, dict):
        raise ContractError(f"{source}:1: a contract must be a mapping with `columns:`")
    try:
        return from_data(Contract, data, source=source)
    except ParamsError as exc:
        line = _line_of(data, exc.key)
        where = f"{source}:{line}" if line is not None else source
        key = f" {exc.key}:" if exc.key else ""
        raise ContractError(f"{where}:{key} {exc.problem}") from None


def load_contract(path: Path | str) -> Contract:
    """Read and check a contract file."""
    text = read_text(path, what="contract file", error=ContractError)
    return parse_contract(text, str(path))


def _column_data(column: Column) -> dict[str, Any]:
    from ruamel.yaml.comments import CommentedSeq

    out: dict[str, Any] = {"type": column.type, "nullable": column.nullable}
    if column.max_null_rate is not None:
        out["max_null_rate"] = column.max_null_rate
    for name in ("min", "max"):
        value = getattr(column, name)
        if value is not None:
            out[name] = int(value) if float(value).is_integer() else value
    if not column.finite:
        out["finite"] = False
    if column.categories is not None:
        seq = CommentedSeq(column.categories)
        seq.fa.set_flow_style()
        out["categories"] = seq
    if column.pattern is not None:
        out["pattern"] = column.pattern
    if column.unique:
        out["unique"] = True
    if column.description is not None:
        out["description"] = column.description
    return out


def dumps_contract(contract: Contract, header: str = "") -> str:
    """The contract as YAML text: block style, categories on one wrapped line, comments first."""
    import io

    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    data = CommentedMap()
    data["contract"] = contract.contract
    if contract.description is not None:
        data["description"] = contract.description
    rows = CommentedMap(min=contract.rows.min)
    if contract.rows.max is not None:
        rows["max"] = contract.rows.max
    rows.fa.set_flow_style()
    data["rows"] = rows
    data["extra_columns"] = contract.extra_columns
    columns = CommentedMap()
    for name, column in contract.columns.items():
        columns[name] = CommentedMap(_column_data(column))
    data["columns"] = columns
    yaml = YAML(typ="rt")
    yaml.width = 96
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = io.StringIO()
    yaml.dump(data, stream)
    lines = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    body = "".join(line.rstrip() + "\n" for line in stream.getvalue().splitlines())
    return lines + body
