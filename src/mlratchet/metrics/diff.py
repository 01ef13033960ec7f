"""Differences between two revisions' metrics or params, with DVC's rules and in DVC's shape.

``{path: {flat_key: {"old": a, "new": b, "diff": b - a}}}``, where:

* a key present on one side only has ``None`` (shown ``-``) on the other;
* ``diff`` is present only when both values are numbers (booleans count, as in Python);
* equal values (``1 == 1.0``) are left out unless ``with_unchanged``; NaN is never equal to
  itself, so a NaN metric always shows;
* lists are compared as their Python text; a one-element list on both sides as its element;
* a file whose content is a single value, not a mapping, has the key ``""``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypedDict

from mlratchet.metrics.parse import DuplicateKeyError, MetricsFileError, flatten, format_dict

_UNPARSED = "unable to parse"


class Change(TypedDict, total=False):
    """One key's change: ``old``, ``new``, and ``diff`` when both are numbers."""

    old: Any
    new: Any
    diff: Any


#: path -> flat key -> change.
DiffResult = dict[str, dict[str, Change]]


def _raw(data: Any) -> Any:
    if isinstance(data, Mapping):
        return format_dict(data)
    if isinstance(data, list):
        return str(data)
    return data


def _parse(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float)


def diff_values(old: Any, new: Any, *, with_unchanged: bool = False) -> Change | None:
    """The change between two leaves, or None when they are equal (and not asked for)."""
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new) == 1:
        return diff_values(old[0], new[0], with_unchanged=with_unchanged)
    if not with_unchanged and old == new:
        return None
    change = Change(old=old, new=new)
    if _is_number(old) and _is_number(new):
        change["diff"] = new - old
    return change


def _flat(data: Any, path: str, where: str) -> tuple[dict[str, Any], Any]:
    """A side's flat keys, and the value that a key missing from it takes."""
    if not data:
        return {}, None
    if isinstance(data, dict):
        try:
            return flatten(data), None
        except DuplicateKeyError as exc:
            raise MetricsFileError(path, where, f"key {exc.key!r} appears twice") from None
    return {}, _UNPARSED


def diff_file(
    old_data: Any,
    new_data: Any,
    *,
    with_unchanged: bool = False,
    path: str = "",
    where: tuple[str, str] = ("old", "new"),
) -> dict[str, Change]:
    """The changes within one file, given each side's data (``{}`` when absent)."""
    old = _parse(_raw(old_data))
    new = _parse(_raw(new_data))
    if isinstance(old, dict) or isinstance(new, dict):
        old_flat, old_default = _flat(old, path, where[0])
        new_flat, new_default = _flat(new, path, where[1])
        out: dict[str, Change] = {}
        for key in dict.fromkeys([*old_flat, *new_flat]):
            change = diff_values(
                old_flat.get(key, old_default),
                new_flat.get(key, new_default),
                with_unchanged=with_unchanged,
            )
            if change is not None:
                out[key] = change
        return out
    change = diff_values(old, new, with_unchanged=with_unchanged)
    return {} if change is None else {"": change}


def diff(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    with_unchanged: bool = False,
    where: tuple[str, str] = ("old", "new"),
) -> DiffResult:
    """Compare two revisions' files (``{path: data}``); files in ``old``'s order, then new's."""
    out: DiffResult = {}
    for path in dict.fromkeys([*old, *new]):
        changes = diff_file(
            old.get(path, {}),
            new.get(path, {}),
            with_unchanged=with_unchanged,
            path=path,
            where=where,
        )
        if changes:
            out[path] = changes
    return out
