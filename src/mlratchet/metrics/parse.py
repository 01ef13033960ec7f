"""Metrics and params files to Python data, exactly as DVC reads them.

* The parser is chosen by the file's suffix, case-insensitively: ``.json`` (Python's ``json``,
  which accepts ``NaN`` and ``Infinity``), ``.toml`` (tomlkit), ``.py`` (DVC's own reader of
  module-level assignments), and YAML for anything else (ruamel.yaml, safe loader, YAML 1.2).
  The text is UTF-8 with universal newlines; an empty document is ``{}``.
* :func:`extract_metrics` keeps the leaves DVC counts as metrics: numbers, booleans and strings,
  in nested mappings. Lists, nulls and dates are dropped, and so are mappings left empty.
* :func:`format_dict` and :func:`flatten` turn nested data into DVC's ``a.b.c`` keys: a list
  becomes its Python text (``"[1, 2]"``), an empty mapping disappears, and two spellings of the
  same key (``{"a.b": 1, "a": {"b": 2}}``) are an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mlratchet.errors import BadInputError


class MetricsFileError(BadInputError):
    """A metrics or params file that cannot be read or parsed at a revision (exit 2)."""

    def __init__(self, path: str, where: str, problem: str) -> None:
        super().__init__(f"{path} at {where}: {problem}")
        self.path = path
        self.where = where
        self.problem = problem


def suffix(path: str) -> str:
    """The lower-case suffix of a repo-relative path, as DVC picks its parser (``""`` if none)."""
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def parse_text(data: bytes, path: str, where: str) -> Any:
    """Parse the bytes of ``path`` (read at ``where``, for messages) by its suffix."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MetricsFileError(path, where, f"not UTF-8 text (byte {exc.start})") from None
    # DVC opens the file in text mode: universal newlines.
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    kind = suffix(path)
    if kind == ".json":
        try:
            return json.loads(text) or {}
        except json.JSONDecodeError as exc:
            problem = f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            raise MetricsFileError(path, where, problem) from None
    if kind == ".toml":
        return _parse_toml(text, path, where)
    if kind == ".py":
        return _parse_py(text, path, where)
    return _parse_yaml(text, path, where)


def _parse_yaml(text: str, path: str, where: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return YAML(typ="safe", pure=False).load(text) or {}
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" (line {mark.line + 1})" if mark is not None else ""
        problem = exc.problem or exc.context or "syntax error"
        raise MetricsFileError(path, where, f"malformed YAML: {problem}{line}") from None
    except YAMLError as exc:
        raise MetricsFileError(path, where, f"malformed YAML: {exc}") from None


def _parse_toml(text: str, path: str, where: str) -> Any:
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        return tomlkit.loads(text).unwrap()
    except ParseError as exc:
        raise MetricsFileError(path, where, f"malformed TOML: {exc}") from None


def _parse_py(text: str, path: str, where: str) -> Any:
    # Rare (params as Python assignments): DVC's own reader keeps the semantics identical.
    from dvc.utils.serialize import ParseError, parse_py

    try:
        return parse_py(text, path)
    except ParseError:
        raise MetricsFileError(path, where, "malformed Python") from None


def extract_metrics(value: Any) -> Any:
    """The part of a parsed metrics file that DVC counts as metrics (``{}`` if none)."""
    return _extract(value) or {}


#: The leaf types kept, exactly (a subclass takes the isinstance path): no call per leaf.
_LEAVES = frozenset({int, float, str, bool})


def _extract(value: Any) -> Any:
    if isinstance(value, int | float | str):  # bool is an int, as in DVC
        return value
    if not isinstance(value, dict):
        return None
    out = {}
    leaves = _LEAVES
    for key, item in value.items():
        if type(item) in leaves:
            out[key] = item
            continue
        kept = _extract(item)
        if kept is not None and kept != {}:
            out[key] = kept
    return out


def format_dict(data: Mapping[Any, Any]) -> dict[Any, Any]:
    """Lists (at any depth inside mappings) replaced by their Python text, as DVC shows them."""
    out: dict[Any, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict | Mapping):
            out[key] = format_dict(value)
        elif isinstance(value, list):
            out[key] = str(value)
        else:
            out[key] = value
    return out


class DuplicateKeyError(ValueError):
    """Two spellings of one flattened key, e.g. ``{"a.b": 1, "a": {"b": 2}}``."""

    def __init__(self, key: str) -> None:
        super().__init__(f"duplicated key {key!r}")
        self.key = key


def flatten(data: Mapping[Any, Any]) -> dict[str, Any]:
    """Nested mappings to ``{"a.b.c": leaf}``; empty mappings vanish (DVC's ``flatten``)."""
    out: dict[str, Any] = {}

    def walk(node: Mapping[Any, Any], prefix: str | None) -> None:
        for key, value in node.items():
            flat = str(key) if prefix is None else f"{prefix}.{key}"
            if isinstance(value, dict | Mapping):
                walk(value, flat)
                continue
            if flat in out:
                raise DuplicateKeyError(flat)
            out[flat] = value

    walk(data, None)
    return out


def metrics_flat(value: Any, path: str, where: str) -> dict[str, Any]:
    """``flat_view(extract_metrics(value))`` in one pass, without recursion: the fast path of
    metrics history (key order aside, which every output sorts)."""
    if not isinstance(value, dict):
        kept = value if isinstance(value, int | float | str) else None
        return {"": kept} if kept else {}
    out: dict[str, Any] = {}
    stack: list[tuple[str | None, dict[Any, Any]]] = [(None, value)]
    leaves = _LEAVES
    while stack:
        prefix, node = stack.pop()
        for key, item in node.items():
            flat = str(key) if prefix is None else f"{prefix}.{key}"
            kind = type(item)
            if kind in leaves:
                if flat in out:
                    raise MetricsFileError(path, where, f"key {flat!r} appears twice")
                out[flat] = item
            elif isinstance(item, dict):
                stack.append((flat, item))
            elif isinstance(item, int | float | str):
                if flat in out:
                    raise MetricsFileError(path, where, f"key {flat!r} appears twice")
                out[flat] = item
    return out


def flat_view(data: Any, path: str, where: str) -> dict[str, Any]:
    """One file's data as ``{flat_key: value}`` (a file holding one scalar is ``{"": value}``)."""
    if not isinstance(data, Mapping):
        return {"": data}
    try:
        return flatten(format_dict(data))
    except DuplicateKeyError as exc:
        raise MetricsFileError(path, where, f"key {exc.key!r} appears twice") from None
