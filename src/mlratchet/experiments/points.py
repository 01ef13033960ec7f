"""The points of a sweep: DVC's ``-S`` grid syntax, or a sweep file of listed or random points.

``-S [FILE:]KEY=V1,V2,...`` (as ``dvc exp run -S``): each value is parsed as YAML, so
``0.05`` is a number and ``[1, 2]`` a list (commas inside brackets do not split);
``range(START, STOP[, STEP])`` expands as Python's, with numbers. Several ``-S`` make a grid
(every combination, in the order given). ``FILE`` defaults to ``params.yaml``.

A sweep file (YAML)::

    seed: 7                      # random points are drawn from this seed: same file, same points
    random: 8                    # how many; omit for the grid of every `params` choice
    params:
      train.learning_rate: {loguniform: [0.02, 0.2]}
      train.max_iter: {int: [100, 300]}       # inclusive
      train.max_leaf_nodes: [15, 31, 63]      # a list: a choice
    points:                      # and/or points listed one by one
      - {train.learning_rate: 0.05, train.max_iter: 100}

A point is a tuple of :class:`Assignment`; :func:`apply` writes one into a params file,
keeping its comments and layout (ruamel round-trip).
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlratchet.errors import BadInputError

DEFAULT_PARAMS_FILE = "params.yaml"
_RANGE = re.compile(r"range\(\s*([^,()]+)\s*,\s*([^,()]+)\s*(?:,\s*([^,()]+)\s*)?\)")
_DISTRIBUTIONS = ("uniform", "loguniform", "int", "choice")


@dataclass(frozen=True, order=True)
class Assignment:
    """``file:key = value`` (``key`` dotted; list items by index, as DVC: ``a.b.0``)."""

    file: str
    key: str
    value: Any

    def text(self) -> str:
        """``key=value`` (``file:`` shown only for a file other than params.yaml)."""
        where = "" if self.file == DEFAULT_PARAMS_FILE else f"{self.file}:"
        return f"{where}{self.key}={json.dumps(self.value)}"


Point = tuple[Assignment, ...]


def point_text(point: Point) -> str:
    """``train.lr=0.05 train.max_iter=100``."""
    return " ".join(a.text() for a in point) or "(baseline params)"


def _split_key(spec: str, source: str) -> tuple[str, str]:
    where, colon, key = spec.rpartition(":")
    file = where if colon else DEFAULT_PARAMS_FILE
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise BadInputError(f"{source}: bad param name {spec!r}")
    return file.strip() or DEFAULT_PARAMS_FILE, key


def _split_values(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def _yaml_value(text: str, source: str) -> Any:
    from mlratchet.yamlio import parse_yaml

    return parse_yaml(text, source) if text else None


def _number(text: str, source: str) -> float | int:
    value = _yaml_value(text.strip(), source)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInputError(f"{source}: range() takes numbers, got {text.strip()!r}")
    return value


def _range(match: re.Match[str], source: str) -> list[Any]:
    start, stop = _number(match[1], source), _number(match[2], source)
    step = _number(match[3], source) if match[3] else 1
    if step == 0:
        raise BadInputError(f"{source}: range() step must not be 0")
    values: list[Any] = []
    value = start
    while (value < stop) if step > 0 else (value > stop):
        values.append(round(value, 12) if isinstance(value, float) else value)
        value = start + step * len(values)
    return values


def parse_set(spec: str) -> list[Assignment]:
    """One ``-S`` option: the assignments it sweeps over (one value: a list of one)."""
    source = f"-S {spec}"
    name, eq, values = spec.partition("=")
    if not eq:
        raise BadInputError(f"{source}: expected [FILE:]KEY=VALUE[,VALUE...]")
    file, key = _split_key(name, source)
    found: list[Any] = []
    for part in _split_values(values):
        match = _RANGE.fullmatch(part)
        found.extend(_range(match, source) if match else [_yaml_value(part, source)])
    return [Assignment(file, key, value) for value in found]


def grid(specs: Sequence[str]) -> list[Point]:
    """The grid of ``-S`` options: every combination, first option slowest. Two options on
    the same key are bad input."""
    axes = [parse_set(spec) for spec in specs]
    keys = [(axis[0].file, axis[0].key) for axis in axes if axis]
    if len(set(keys)) != len(keys):
        raise BadInputError("-S: the same param is given twice")
    return [tuple(sorted(combo)) for combo in itertools.product(*axes)] if axes else []


def _draw(rng: random.Random, spec: Any, where: str) -> Any:
    if isinstance(spec, list):
        if not spec:
            raise BadInputError(f"{where}: an empty list of choices")
        return rng.choice(spec)
    if not isinstance(spec, Mapping) or len(spec) != 1 or next(iter(spec)) not in _DISTRIBUTIONS:
        raise BadInputError(
            f"{where}: expected a list of choices or one of "
            + ", ".join(f"{{{d}: ...}}" for d in _DISTRIBUTIONS)
        )
    kind, args = next(iter(spec.items()))
    if kind == "choice":
        return _draw(rng, args, where)
    ok = (
        isinstance(args, list)
        and len(args) == 2
        and all(isinstance(a, int | float) and not isinstance(a, bool) for a in args)
        and args[0] <= args[1]
    )
    if not ok:
        raise BadInputError(f"{where}: {kind} takes [LOW, HIGH] with LOW <= HIGH")
    low, high = args
    if kind == "int":
        return rng.randint(math.ceil(low), math.floor(high))
    if kind == "loguniform":
        if low <= 0:
            raise BadInputError(f"{where}: loguniform needs LOW > 0")
        return float(f"{math.exp(rng.uniform(math.log(low), math.log(high))):.6g}")
    return float(f"{rng.uniform(low, high):.6g}")


def _assignments(entries: Mapping[str, Any], where: str) -> list[tuple[str, str, Any]]:
    if not isinstance(entries, Mapping):
        raise BadInputError(f"{where}: expected a mapping of param names")
    out = []
    for name, value in entries.items():
        file, key = _split_key(str(name), where)
        out.append((file, key, value))
    return out


def from_sweep_file(data: Any, source: str) -> list[Point]:
    """The points a parsed sweep file describes (see the module's docstring)."""
    if not isinstance(data, Mapping):
        raise BadInputError(f"{source}: expected a mapping with params and/or points")
    unknown = set(data) - {"seed", "random", "params", "points"}
    if unknown:
        raise BadInputError(f"{source}: unknown key {sorted(unknown)[0]!r}")
    points: list[Point] = []
    listed = data.get("points") or []
    if not isinstance(listed, list):
        raise BadInputError(f"{source}: points: expected a list")
    for i, entry in enumerate(listed):
        where = f"{source}: points[{i}]"
        points.append(tuple(sorted(Assignment(f, k, v) for f, k, v in _assignments(entry, where))))
    params = _assignments(data.get("params") or {}, f"{source}: params")
    count = data.get("random")
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise BadInputError(f"{source}: random: expected a positive integer, got {count!r}")
        if not params:
            raise BadInputError(f"{source}: random: needs params to draw from")
        seed = data.get("seed", 0)
        rng = random.Random(json.dumps(seed))  # noqa: S311 - reproducible draws, not secrets
        for _ in range(count):
            points.append(
                tuple(
                    sorted(
                        Assignment(f, k, _draw(rng, spec, f"{source}: params.{k}"))
                        for f, k, spec in params
                    )
                )
            )
    elif params:
        axes = []
        for f, k, spec in params:
            choices = spec if isinstance(spec, list) else (spec or {}).get("choice")
            if not isinstance(choices, list) or not choices:
                raise BadInputError(
                    f"{source}: params.{k}: a grid needs a list of choices (or set random: N)"
                )
            axes.append([Assignment(f, k, v) for v in choices])
        points.extend(tuple(sorted(c)) for c in itertools.product(*axes))
    if not points:
        raise BadInputError(f"{source}: no points: give params or points")
    return points


def files(points: Iterable[Point]) -> list[str]:
    """The params files the points write, sorted."""
    return sorted({a.file for point in points for a in point})


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _splice(text: str, data: Any, items: list[Assignment]) -> str | None:
    """``text`` with each existing one-line scalar replaced in place (so the diff of a pull
    request shows just those lines), or None when an edit needs the whole file rewritten."""
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    for item in items:
        node, parts = data, item.key.split(".")
        for part in parts[:-1]:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        last = parts[-1]
        if isinstance(node, dict) and last in node:
            line, col = node.lc.value(last)  # type: ignore[attr-defined] # ruamel's map
        else:
            return None
        if not (_scalar(node[last]) and _scalar(item.value)) or line >= len(lines):
            return None
        rest = lines[line][col:]
        body, hash_, comment = rest.partition(" #")
        token = body.rstrip("\r\n").rstrip()
        if not token or token[0] in "|>[{&*!\"'" or token.endswith((",", "]", "}")):
            return None
        tail = body[len(token) :] + hash_ + comment
        edits.append((line, col, json.dumps(item.value) + tail))
    for line, col, replacement in edits:
        lines[line] = lines[line][:col] + replacement
    return "".join(lines)


def apply(text: str, assignments: Iterable[Assignment], source: str) -> str:
    """``text`` (a YAML params file) with each assignment set, comments and layout kept.

    A scalar replacing a one-line scalar is edited in place (the rest of the file is byte for
    byte the same); anything else (a new key, a list value) rewrites the file with ruamel's
    round-trip dumper. A key through a scalar is bad input naming it.
    """
    import io

    from ruamel.yaml import YAML

    items = list(assignments)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # a rewrite keeps long flow lists on one line rather than re-wrapping
    try:
        data = yaml.load(text) if text.strip() else {}
    except Exception as exc:  # ruamel raises many kinds for a broken file
        raise BadInputError(f"{source}: not valid YAML: {exc}") from None
    if data is None:
        data = {}
    spliced = _splice(text, data, items) if text.strip() else None
    if spliced is not None:
        return spliced
    for item in items:
        node: Any = data
        parts = item.key.split(".")
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise BadInputError(f"{source}: {item.key}: no item {part} in the list")
                index: Any = int(part)
            elif isinstance(node, dict):
                index = part
            else:
                raise BadInputError(f"{source}: {item.key}: {'.'.join(parts[:i])} is not a mapping")
            if last:
                node[index] = item.value
            else:
                if isinstance(node, dict) and index not in node:
                    node[index] = {}
                node = node[index]
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()
