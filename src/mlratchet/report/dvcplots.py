"""The project's own DVC plots: the definitions in ``dvc.yaml`` and the points they draw.

DVC declares plots two ways: top-level ``plots:`` (a list of a data file, or ``{id: {x, y}}``
where ``y`` maps data files to fields) and a stage's ``plots:`` outputs (a file, or ``{file:
{x, y}}``). The report charts those whose data is JSON, CSV or TSV with one x and one y field.
Pure functions over bytes, no third-party imports.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from typing import Any

from mlratchet.errors import BadInputError

DATA_SUFFIXES = (".json", ".csv", ".tsv")


@dataclass(frozen=True)
class PlotDef:
    """One chartable plot: its id (as DVC names it), its data file, and its two fields."""

    id: str
    file: str
    x: str
    y: str


def _field(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]  # several y fields: the first
    return None


def _defs_of(plot_id: str, props: Any) -> list[PlotDef]:
    props = props if isinstance(props, dict) else {}
    x, y = _field(props.get("x")), props.get("y")
    if isinstance(y, dict):  # {file: field}: the data files are y's keys
        out = []
        for file, field in y.items():
            fx = _field(props.get("x")) if not isinstance(props.get("x"), dict) else None
            if isinstance(props.get("x"), dict):
                fx = _field(props["x"].get(file))
            fy = _field(field)
            if fx and fy:
                out.append(PlotDef(str(plot_id), str(file), fx, fy))
        return out
    fy = _field(y)
    return [PlotDef(str(plot_id), str(plot_id), x, fy)] if x and fy else []


def plot_defs(dvc_yaml: Any) -> list[PlotDef]:
    """The plots of parsed ``dvc.yaml`` with a data file of a known format and an x and a y."""
    found: list[PlotDef] = []
    data = dvc_yaml if isinstance(dvc_yaml, dict) else {}
    top = data.get("plots")
    for item in top if isinstance(top, list) else []:
        if isinstance(item, dict):
            for plot_id, props in item.items():
                found += _defs_of(str(plot_id), props)
    stages = data.get("stages")
    for stage in stages.values() if isinstance(stages, dict) else []:
        outs = stage.get("plots") if isinstance(stage, dict) else None
        for item in outs if isinstance(outs, list) else []:
            if isinstance(item, dict):
                for file, props in item.items():
                    found += _defs_of(str(file), props)
    return [d for d in found if d.file.lower().endswith(DATA_SUFFIXES)]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def parse_points(data: bytes, source: str, plot: PlotDef) -> list[tuple[float, float]]:
    """The (x, y) points of ``plot`` in its data file's bytes; bad input if there are none."""
    rows: list[Any]
    if plot.file.lower().endswith(".json"):
        try:
            parsed = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadInputError(f"{source}: not JSON ({exc})") from None
        if isinstance(parsed, dict) and len(parsed) == 1:  # {"name": [...]} as DVC accepts
            parsed = next(iter(parsed.values()))
        if not isinstance(parsed, list):
            raise BadInputError(f"{source}: expected a list of {{{plot.x}, {plot.y}}} records")
        rows = parsed
    else:
        delimiter = "\t" if plot.file.lower().endswith(".tsv") else ","
        text = data.decode("utf-8", "replace")
        rows = list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
    points = []
    for row in rows:
        x = _number(row.get(plot.x)) if isinstance(row, dict) else None
        y = _number(row.get(plot.y)) if isinstance(row, dict) else None
        if x is None or y is None:
            raise BadInputError(
                f"{source}: a record without finite numbers {plot.x} and {plot.y}: {row!r}"
            )
        points.append((x, y))
    if not points:
        raise BadInputError(f"{source}: no points")
    return points


def grid(curves: list[list[tuple[float, float]]], steps: int = 20) -> tuple[float, ...]:
    """An even x grid over the range of every curve's x (``steps`` intervals)."""
    xs = [x for curve in curves for x, _y in curve]
    lo, hi = min(xs), max(xs)
    if hi == lo:
        return (round(lo, 6),)
    return tuple(round(lo + (hi - lo) * i / steps, 6) for i in range(steps + 1))
