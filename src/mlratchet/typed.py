"""Strict conversion of parsed YAML into frozen dataclasses.

``from_data(cls, data, source=..., key=...)`` builds ``cls`` from a mapping and rejects, naming the
key: a missing key, an unknown key, and a value of the wrong type. No coercion: ``"10"`` is not an
integer and ``true`` is not a number. After construction a dataclass may check relations between
its fields in ``__post_init__`` by raising :class:`FieldError` (or ``ValueError``), and the error is
reported at that dataclass's key.

Supported annotations: ``int``, ``float`` (an integer is accepted), ``bool``, ``str``,
``Literal[...]``, ``X | None``, ``tuple[X, ...]``, ``dict[str, X]``, and nested dataclasses.
(pydantic's strict mode refuses a dict for a dataclass and a list for a tuple, and its lax mode
turns ``"10"`` into 10; neither reads params as DVC records them, so this small converter does.)
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

from mlratchet.errors import ParamsError

T = TypeVar("T")


class FieldError(ValueError):
    """Raised from ``__post_init__`` to name the offending field of the dataclass."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _join(key: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{key}[{part}]"
    return f"{key}.{part}" if key else part


_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def from_data(cls: type[T], data: Any, *, source: str, key: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; a :class:`ParamsError` names ``source`` and key."""
    return typing.cast(T, _convert(cls, data, source, key))


def _convert(tp: Any, value: Any, source: str, key: str) -> Any:  # noqa: PLR0911, PLR0912
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _convert_dataclass(tp, value, source, key)
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed or isinstance(value, bool) != isinstance(allowed[0], bool):
            choices = ", ".join(repr(a) for a in allowed)
            raise ParamsError(source, key, f"must be one of {choices}, got {_describe(value)}")
        return value
    if origin in (types.UnionType, typing.Union):
        args = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(args[0], value, source, key)
    if origin is tuple:
        item_tp = get_args(tp)[0]
        if not isinstance(value, list):
            raise ParamsError(source, key, f"must be a list, got {_describe(value)}")
        return tuple(_convert(item_tp, v, source, _join(key, i)) for i, v in enumerate(value))
    if origin is dict or origin is Mapping:
        key_tp, item_tp = get_args(tp)
        if not isinstance(value, dict):
            raise ParamsError(source, key, f"must be a mapping, got {_describe(value)}")
        out = {}
        for k, v in value.items():
            if not isinstance(k, key_tp):
                raise ParamsError(source, _join(key, str(k)), "keys must be strings")
            out[k] = _convert(item_tp, v, source, _join(key, k))
        return out
    if tp is bool:
        if not isinstance(value, bool):
            raise ParamsError(source, key, f"must be true or false, got {_describe(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamsError(source, key, f"must be an integer, got {_describe(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParamsError(source, key, f"must be a number, got {_describe(value)}")
        if not math.isfinite(value):
            raise ParamsError(source, key, f"must be a finite number, got {value}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ParamsError(source, key, f"must be a string, got {_describe(value)}")
        return value
    if tp is Any:
        return value
    raise TypeError(f"typed.from_data cannot convert to {tp!r}")  # a bug in a schema


def _convert_dataclass(cls: type, value: Any, source: str, key: str) -> Any:
    if not isinstance(value, dict):
        what = f"must be a mapping, got {_describe(value)}"
        raise ParamsError(source, key or None, what)
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(value) - set(fields), key=str)
    if unknown:
        known = ", ".join(sorted(fields))
        raise ParamsError(
            source, _join(key, str(unknown[0])), f"unknown key (expected one of: {known})"
        )
    kwargs = {}
    for name, field in fields.items():
        if name not in value:
            has_default = (
                field.default is not dataclasses.MISSING
                or field.default_factory is not dataclasses.MISSING
            )
            if has_default:
                continue
            raise ParamsError(source, _join(key, name), "missing required key")
        kwargs[name] = _convert(hints[name], value[name], source, _join(key, name))
    try:
        return cls(**kwargs)
    except FieldError as exc:
        raise ParamsError(source, _join(key, exc.field), exc.problem) from None
    except ValueError as exc:
        raise ParamsError(source, key or None, str(exc)) from None
