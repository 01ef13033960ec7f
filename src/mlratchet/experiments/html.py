"""The leaderboard as one self-contained HTML page: ``ratchet exp show --html FILE``.

Built from the leaderboard's JSON shape (:meth:`Leaderboard.to_json`), so a Python caller with a
saved ``--json`` file can render it too. The page needs no network: inline CSS, a few lines of
inline JavaScript (sorting the table by a click on a column header) and charts drawn here as
inline SVG; its Content-Security-Policy refuses every outside resource. Every text from the
board (experiment names, errors, params) is escaped. The same board gives the same bytes.

The page has a header (the baseline commit, the primary metric and its direction, counts), the
leaderboard table (verdict marks against the baseline, failed runs with their error), one small
scatter chart per (metric, swept param) with the baseline as a reference line, and a
parallel-coordinates view (an axis per swept param and per metric, a line per experiment, the
best three highlighted).

Which metrics: by default those the policy names (the primary metric and the keys under
``metrics:`` of ``ratchet.yaml``, :meth:`Leaderboard.shown_metrics`), or every metric when it
names none that the board reports; ``all_metrics`` (``--all-metrics``) shows every one. The
table, the charts and the parallel coordinates all follow that selection: a project with 110
metrics and 5 swept params would otherwise draw 550 charts and a table too wide to read.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlratchet.errors import BadInputError
from mlratchet.fsio import write_text

__all__ = ["render_html", "write_html"]

BEST = 3  # how many of the top-ranked experiments the charts highlight

_MARKS = {  # verdict status -> (mark, CSS class)
    "improved": ("▲", "v-improved"),
    "regressed": ("▼", "v-regressed"),
    "unchanged": ("=", "v-unchanged"),
    "added": ("+", "v-added"),
    "missing": ("∅", "v-missing"),
    "not finite": ("!", "v-bad"),
    "not a number": ("?", "v-bad"),
}
_BEST_COLOURS = ("#d62728", "#ff7f0e", "#9467bd")
_POINT = "#1f77b4"

_STYLE = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5em;color:#1f2328}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.6em 0 .5em}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
.meta{color:#57606a;margin:.2em 0}.meta b{color:#1f2328}
.wrap{overflow-x:auto;max-width:100%}.scroll{max-height:75vh;overflow:auto}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #d0d7de;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f6f8fa;cursor:pointer;user-select:none;white-space:nowrap;position:sticky;top:0}
th[aria-sort=ascending]::after{content:" ↑"}th[aria-sort=descending]::after{content:" ↓"}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.base td{background:#fff8c5}tr.failed td{background:#ffebe9}
tr.best td:first-child{font-weight:bold}
td.primary{font-weight:600}.changed{font-weight:bold}
.err{color:#cf222e;white-space:pre-wrap;max-width:40em;font-size:12px}
.sub{color:#57606a;font-size:11px}
.v-improved{color:#1a7f37}.v-regressed{color:#cf222e}.v-unchanged{color:#8c959f}
.v-added{color:#0969da}.v-missing{color:#bc4c00}.v-bad{color:#cf222e}
.ok{color:#1a7f37}.fail{color:#cf222e}
.legend span{margin-right:1.2em}.swatch{display:inline-block;width:1.6em;height:3px;
vertical-align:middle;margin-right:.3em}
.charts{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0;border:1px solid #d0d7de;border-radius:4px;padding:4px;background:#fff}
figcaption{font-size:12px;text-align:center;color:#57606a}
svg text{font:10px system-ui,sans-serif;fill:#57606a}svg .axis{stroke:#8c959f}
svg .grid{stroke:#eaeef2}svg .ref{stroke:#1f2328;stroke-dasharray:4 3}
svg.pc path{fill:none}svg.pc path.exp:hover{stroke-width:3;stroke-opacity:1}
.empty{padding:1em;background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px}
"""

# Sorting: a click on a header sorts the experiment rows (the baseline row stays on top) by
# that column's data-sort values, numbers numerically, missing values last; a second click
# reverses. The page marks itself data-ready once the script ran.
_SCRIPT = """
(function () {
  var table = document.getElementById("board");
  if (table) {
    var heads = table.tHead.rows[0].cells, body = document.getElementById("rows");
    var key = function (row, i, num) {
      var v = row.cells[i].getAttribute("data-sort");
      if (v === null || v === "") return null;
      return num ? Number(v) : v.toLowerCase();
    };
    var sortBy = function (i) {
      var th = heads[i], num = th.getAttribute("data-type") === "num";
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      for (var j = 0; j < heads.length; j++) heads[j].removeAttribute("aria-sort");
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = key(a, i, num), y = key(b, i, num);
        if (x === null || y === null) return x === y ? 0 : (x === null ? 1 : -1);
        return x < y ? -dir : (x > y ? dir : 0);
      });
      rows.forEach(function (r) { body.appendChild(r); });
    };
    Array.prototype.forEach.call(heads, function (th, i) {
      th.addEventListener("click", function () { sortBy(i); });
    });
  }
  document.documentElement.setAttribute("data-ready", "1");
})();
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None (booleans, strings, NaN and infinities are not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    as_float = float(value)
    return as_float if math.isfinite(as_float) else None


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    if isinstance(value, int | str):
        return str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _sort_value(value: Any) -> str:
    number = _number(value)
    if number is not None:
        return repr(number)
    return "" if value is None else _fmt(value)


# --- the board, read --------------------------------------------------------------------------

Key = tuple[str, str]  # (path, flat key)


def _get(nested: Any, key: Key) -> Any:
    if not isinstance(nested, Mapping):
        return None
    inner = nested.get(key[0])
    return inner.get(key[1]) if isinstance(inner, Mapping) else None


def _keys(nested: Any) -> list[Key]:
    if not isinstance(nested, Mapping):
        return []
    return [
        (str(path), str(k))
        for path, inner in nested.items()
        if isinstance(inner, Mapping)
        for k in inner
    ]


@dataclass(frozen=True)
class _Exp:
    name: str
    ref: str
    rev: str | None
    ok: bool
    error: str | None
    params: Mapping[str, Any]
    metrics: Mapping[str, Any]
    verdicts: Mapping[Key, str]
    verdicts_by_key: Mapping[str, str]
    rank: int | None

    @property
    def best(self) -> int | None:
        """0 for the best experiment, 1 for the second ... below :data:`BEST`; else None."""
        return self.rank - 1 if self.rank is not None and 1 <= self.rank <= BEST else None

    def verdict(self, key: Key) -> str | None:
        return self.verdicts.get(key) or self.verdicts_by_key.get(key[1])


def _exp(raw: Any, index: int) -> _Exp:
    if not isinstance(raw, Mapping):
        raise BadInputError(f"leaderboard: experiments[{index}] must be an object, got {raw!r}")
    verdicts: dict[Key, str] = {}
    by_key: dict[str, str] = {}
    for v in raw.get("verdicts") or []:
        if not isinstance(v, Mapping) or "key" not in v:
            continue
        if v.get("path") is None:
            by_key[str(v["key"])] = str(v.get("status"))
        else:
            verdicts[(str(v["path"]), str(v["key"]))] = str(v.get("status"))
    rank = raw.get("rank")
    return _Exp(
        name=str(raw.get("name", f"#{index + 1}")),
        ref=str(raw.get("ref") or ""),
        rev=raw.get("rev"),
        ok=raw.get("status", "success") == "success",
        error=raw.get("error"),
        params=raw.get("params") or {},
        metrics=raw.get("metrics") or {},
        verdicts=verdicts,
        verdicts_by_key=by_key,
        rank=rank if isinstance(rank, int) and not isinstance(rank, bool) else None,
    )


def _labels(keys: Sequence[Key]) -> dict[Key, str]:
    """A column label per key: the flat key, or ``path:key`` where two paths share a key."""
    counts: dict[str, int] = {}
    for _, k in keys:
        counts[k] = counts.get(k, 0) + 1
    return {key: key[1] if counts[key[1]] == 1 else f"{key[0]}:{key[1]}" for key in keys}


def _primary_key(metric: str, keys: Sequence[Key]) -> Key | None:
    for key in keys:
        if metric in (key[1], f"{key[0]}:{key[1]}"):
            return key
    return None


@dataclass(frozen=True)
class _Board:
    base_rev: str
    base_name: str | None
    base_params: Mapping[str, Any]
    base_metrics: Mapping[str, Any]
    primary: Key | None
    primary_name: str | None
    direction: str | None
    metrics: list[Key]  # the ones shown, the primary first
    swept: list[Key]
    exps: list[_Exp]
    labels: dict[Key, str]
    reported: int  # how many metrics the board reports, shown or not


def _board(raw: Mapping[str, Any], names: Collection[str] | None = None) -> _Board:
    if not isinstance(raw, Mapping):
        raise BadInputError(f"leaderboard: expected a JSON object, got {type(raw).__name__}")
    base = raw.get("baseline") or {}
    if not isinstance(base, Mapping):
        raise BadInputError("leaderboard: baseline must be an object")
    items = raw.get("experiments") or []
    if not isinstance(items, list):
        raise BadInputError("leaderboard: experiments must be a list")
    exps = [_exp(item, i) for i, item in enumerate(items)]
    seen: dict[Key, None] = dict.fromkeys(_keys(base.get("metrics")))
    for exp in exps:
        seen.update(dict.fromkeys(_keys(exp.metrics)))
    from mlratchet.experiments.leaderboard import select_metrics

    metrics = select_metrics(sorted(seen), names)
    primary_raw = raw.get("primary")
    primary = primary_name = direction = None
    if isinstance(primary_raw, Mapping) and primary_raw.get("metric") is not None:
        primary_name = str(primary_raw["metric"])
        direction = str(primary_raw.get("direction") or "")
        primary = _primary_key(primary_name, metrics)
        if primary is not None:
            metrics.remove(primary)
            metrics.insert(0, primary)
    swept: list[Key] = []
    for pair in raw.get("swept") or []:
        if isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2:
            swept.append((str(pair[0]), str(pair[1])))
    return _Board(
        base_rev=str(base.get("rev") or ""),
        base_name=base.get("name"),
        base_params=base.get("params") or {},
        base_metrics=base.get("metrics") or {},
        primary=primary,
        primary_name=primary_name,
        direction=direction,
        metrics=metrics,
        swept=swept,
        exps=exps,
        labels={**_labels(metrics), **_labels(swept)},
        reported=len(seen),
    )


# --- axes and charts --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Axis:
    """A value -> [0, 1] map: numeric (lo..hi) when every value is a number, else categories."""

    lo: float
    hi: float
    cats: tuple[str, ...] | None

    @classmethod
    def of(cls, values: Iterable[Any]) -> _Axis | None:
        present = [v for v in values if v is not None]
        if not present:
            return None
        numbers = [_number(v) for v in present]
        if all(n is not None for n in numbers):
            finite = [n for n in numbers if n is not None]
            lo, hi = min(finite), max(finite)
            pad = (hi - lo) * 0.06 if hi > lo else (abs(lo) * 0.05 or 0.5)
            return cls(lo - pad, hi + pad, None)
        labels = {_fmt(v): v for v in present}
        order = sorted(
            labels, key=lambda s: (_number(labels[s]) is None, _number(labels[s]) or 0, s)
        )
        return cls(0.0, 1.0, tuple(order))

    def frac(self, value: Any) -> float | None:
        if value is None:
            return None
        if self.cats is not None:
            label = _fmt(value)
            if label not in self.cats:
                return None
            return (self.cats.index(label) + 0.5) / len(self.cats)
        number = _number(value)
        return None if number is None else (number - self.lo) / (self.hi - self.lo)

    def ticks(self, most: int = 5) -> list[tuple[float, str]]:
        if self.cats is not None:
            step = max(1, math.ceil(len(self.cats) / (most * 2)))
            n = len(self.cats)
            return [
                ((i + 0.5) / n, _short(c, 12)) for i, c in enumerate(self.cats) if i % step == 0
            ]
        return [
            ((t - self.lo) / (self.hi - self.lo), f"{t:.4g}") for t in _nice(self.lo, self.hi, most)
        ]


def _nice(lo: float, hi: float, most: int) -> list[float]:
    """Round tick values inside [lo, hi], at most about ``most`` of them."""
    span = hi - lo
    raw = span / max(1, most)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 12) + 0.0)
        t += step
    return ticks


_CW, _CH = 270, 190  # a scatter chart's size
_ML, _MR, _MT, _MB = 46, 10, 10, 30


def _scatter(board: _Board, metric: Key, param: Key) -> str:
    m_label, p_label = board.labels[metric], board.labels[param]
    ok = [e for e in board.exps if e.ok]
    base_x, base_y = _get(board.base_params, param), _get(board.base_metrics, metric)
    points = [(e, _get(e.params, param), _get(e.metrics, metric)) for e in ok]
    points = [(e, x, y) for e, x, y in points if x is not None and _number(y) is not None]
    x_axis = _Axis.of([x for _, x, _ in points] + [base_x])
    y_axis = _Axis.of([y for _, _, y in points] + [base_y if _number(base_y) is not None else None])
    pw, ph = _CW - _ML - _MR, _CH - _MT - _MB
    title = f"{m_label} against {p_label}"
    out = [
        f'<figure class="chart" data-metric="{_e(m_label)}" data-param="{_e(p_label)}">'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_CW}" height="{_CH}" '
        f'viewBox="0 0 {_CW} {_CH}" role="img" aria-label="{_e(title)}">'
    ]
    if x_axis is None or y_axis is None or y_axis.cats is not None:
        out.append(
            f'<text x="{_CW / 2}" y="{_CH / 2}" text-anchor="middle">no numeric values</text>'
        )
    else:

        def px(f: float) -> float:
            return round(_ML + f * pw, 1)

        def py(f: float) -> float:
            return round(_MT + (1 - f) * ph, 1)

        for f, label in y_axis.ticks():
            out.append(
                f'<line class="grid" x1="{_ML}" x2="{_ML + pw}" y1="{py(f)}" y2="{py(f)}"/>'
                f'<text x="{_ML - 4}" y="{py(f) + 3}" text-anchor="end">{_e(label)}</text>'
            )
        for f, label in x_axis.ticks():
            out.append(
                f'<line class="axis" x1="{px(f)}" x2="{px(f)}" y1="{_MT + ph}" '
                f'y2="{_MT + ph + 3}"/>'
                f'<text x="{px(f)}" y="{_MT + ph + 13}" text-anchor="middle">{_e(label)}</text>'
            )
        out.append(
            f'<rect class="axis" x="{_ML}" y="{_MT}" width="{pw}" height="{ph}" fill="none"/>'
            f'<text x="{_ML + pw / 2}" y="{_CH - 3}" text-anchor="middle">'
            f"{_e(_short(p_label, 40))}</text>"
        )
        by = y_axis.frac(base_y)
        if by is not None:
            out.append(
                f'<line class="ref baseline" x1="{_ML}" x2="{_ML + pw}" '
                f'y1="{py(by)}" y2="{py(by)}">'
                f"<title>baseline {_e(m_label)} = {_e(_fmt(base_y))}</title></line>"
                f'<text x="{_ML + pw - 2}" y="{py(by) - 3}" text-anchor="end">baseline</text>'
            )
        bx = x_axis.frac(base_x)
        if bx is not None and by is not None:
            out.append(
                f'<path d="M{px(bx)} {py(by) - 5}l5 5l-5 5l-5 -5z" fill="#1f2328">'
                f"<title>baseline: {_e(p_label)} = {_e(_fmt(base_x))}, "
                f"{_e(m_label)} = {_e(_fmt(base_y))}</title></path>"
            )
        # The best last, so that they are drawn on top.
        for e, x, y in sorted(points, key=lambda p: -1 if p[0].best is None else BEST - p[0].best):
            fx, fy = x_axis.frac(x), y_axis.frac(y)
            if fx is None or fy is None:
                continue
            best = e.best
            colour = _POINT if best is None else _BEST_COLOURS[best]
            r, opacity = (3, 0.6) if best is None else (5, 1)
            out.append(
                f'<circle class="pt" cx="{px(fx)}" cy="{py(fy)}" r="{r}" fill="{colour}" '
                f'fill-opacity="{opacity}"><title>{_e(e.name)}: {_e(p_label)} = '
                f"{_e(_fmt(x))}, {_e(m_label)} = {_e(_fmt(y))}</title></circle>"
            )
    out.append(f"</svg><figcaption>{_e(title)}</figcaption></figure>")
    return "".join(out)


def _parallel(board: _Board) -> str:
    ok = [e for e in board.exps if e.ok]
    axes: list[tuple[str, str, Key, _Axis]] = []  # (kind, label, key, axis)
    for kind, keys, base in (
        ("param", board.swept, board.base_params),
        ("metric", board.metrics, board.base_metrics),
    ):
        for key in keys:
            source = "params" if kind == "param" else "metrics"
            values = [_get(getattr(e, source), key) for e in ok] + [_get(base, key)]
            if kind == "metric":
                values = [v if _number(v) is not None else None for v in values]
            axis = _Axis.of(values)
            if axis is not None:
                axes.append((kind, board.labels[key], key, axis))
    if not axes:
        return '<p class="empty">No swept param or numeric metric to draw.</p>'
    gap, left, top, height = 130, 60, 30, 220
    width = left * 2 + gap * max(1, len(axes) - 1)
    total = top + height + 40

    def x_of(i: int) -> float:
        return left + i * gap if len(axes) > 1 else width / 2

    def y_of(f: float) -> float:
        return round(top + (1 - f) * height, 1)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="pc" width="{width}" height="{total}" '
        f'viewBox="0 0 {width} {total}" role="img" aria-label="parallel coordinates">'
    ]
    for i, (kind, label, _, axis) in enumerate(axes):
        x = x_of(i)
        out.append(
            f'<line class="axis" x1="{x}" x2="{x}" y1="{top}" y2="{top + height}"/>'
            f'<text x="{x}" y="{top - 14}" text-anchor="middle" font-weight="bold">'
            f"{_e(_short(label, 22))}</text>"
            f'<text x="{x}" y="{top - 4}" text-anchor="middle">{kind}</text>'
        )
        for f, tick in axis.ticks(4):
            out.append(f'<text x="{x + 4}" y="{y_of(f) + 3}">{_e(tick)}</text>')

    def line(params: Mapping[str, Any], metrics: Mapping[str, Any]) -> str:
        d, pen = [], "M"
        for i, (kind, _, key, axis) in enumerate(axes):
            f = axis.frac(_get(params if kind == "param" else metrics, key))
            if f is None:
                pen = "M"
                continue
            d.append(f"{pen}{x_of(i)} {y_of(f)}")
            pen = "L"
        return "".join(d)

    for e in sorted(ok, key=lambda e: -1 if e.best is None else BEST - e.best):
        d = line(e.params, e.metrics)
        if not d:
            continue
        if e.best is None:
            style = f'stroke="{_POINT}" stroke-opacity="0.35" stroke-width="1"'
        else:
            style = f'stroke="{_BEST_COLOURS[e.best]}" stroke-width="2.5"'
        out.append(f'<path class="exp" d="{d}" {style}><title>{_e(e.name)}</title></path>')
    d = line(board.base_params, board.base_metrics)
    if d:
        out.append(
            f'<path class="ref baseline" d="{d}" stroke="#1f2328" stroke-width="1.5">'
            "<title>baseline</title></path>"
        )
    out.append("</svg>")
    return "".join(out)


def _legend(board: _Board) -> str:
    items = [
        f'<span><i class="swatch" style="background:{_BEST_COLOURS[e.best]}"></i>'
        f"#{e.rank} {_e(e.name)}</span>"
        for e in board.exps
        if e.best is not None and e.ok
    ]
    items.append(
        '<span><i class="swatch" style="background:#1f2328"></i>baseline (dashed)</span>'
        f'<span><i class="swatch" style="background:{_POINT}"></i>other experiments</span>'
    )
    return f'<p class="legend">{"".join(items)}</p>'


# --- the table --------------------------------------------------------------------------------


def _metric_cell(value: Any, base: Any, verdict: str | None, primary: bool) -> str:
    mark = ""
    if verdict is not None:
        symbol, cls = _MARKS.get(verdict, ("?", "v-bad"))
        mark = f' <span class="{cls}" title="{_e(verdict)}">{symbol}</span>'
    tip = ""
    number, base_number = _number(value), _number(base)
    if number is not None and base_number is not None:
        tip = f' title="baseline {_e(_fmt(base))}, delta {number - base_number:+.6g}"'
    cls = "num primary" if primary else "num"
    return (
        f'<td class="{cls}" data-sort="{_e(_sort_value(value))}"{tip}>{_e(_fmt(value))}{mark}</td>'
    )


def _table(board: _Board) -> str:
    metric_heads = "".join(
        f'<th data-type="num" title="{_e(key[0])}: {_e(key[1])}'
        f'{" (primary)" if key == board.primary else ""}">{_e(board.labels[key])}'
        f"{' ★' if key == board.primary else ''}</th>"
        for key in board.metrics
    )

    def param_type(key: Key) -> str:
        values = [_get(e.params, key) for e in board.exps]
        return "num" if all(v is None or _number(v) is not None for v in values) else "text"

    param_heads = "".join(
        f'<th data-type="{param_type(key)}" title="param {_e(key[0])}: {_e(key[1])}">'
        f"{_e(board.labels[key])}</th>"
        for key in board.swept
    )
    head = (
        '<thead><tr><th data-type="num">rank</th><th data-type="text">name</th>'
        f'<th data-type="text">status</th>{metric_heads}{param_heads}</tr></thead>'
    )
    base_cells = "".join(
        f'<td class="num">{_e(_fmt(_get(board.base_metrics, key)))}</td>' for key in board.metrics
    ) + "".join(f"<td>{_e(_fmt(_get(board.base_params, key)))}</td>" for key in board.swept)
    base_label = "baseline" + (f" ({board.base_name})" if board.base_name else "")
    base_row = (
        f'<tbody><tr class="base"><td>—</td><td>{_e(base_label)}'
        f' <span class="sub mono">{_e(board.base_rev[:7])}</span></td><td>baseline</td>'
        f"{base_cells}</tr></tbody>"
    )
    rows = []
    for e in board.exps:
        classes = ["exp"] + ([] if e.ok else ["failed"]) + ([] if e.best is None else ["best"])
        status = '<span class="ok">success</span>' if e.ok else '<span class="fail">failed</span>'
        if e.error:
            status += f'<div class="err">{_e(e.error)}</div>'
        cells = [
            f'<td class="num" data-sort="{"" if e.rank is None else e.rank}">'
            f"{'—' if e.rank is None else e.rank}</td>",
            f'<td data-sort="{_e(e.name)}" title="{_e(e.ref)}">{_e(e.name)}'
            f' <span class="sub mono">{_e((e.rev or "")[:7])}</span></td>',
            f'<td data-sort="{"success" if e.ok else "failed"}">{status}</td>',
        ]
        cells += [
            _metric_cell(
                _get(e.metrics, key),
                _get(board.base_metrics, key),
                e.verdict(key),
                key == board.primary,
            )
            for key in board.metrics
        ]
        for key in board.swept:
            value = _get(e.params, key)
            changed = ' class="changed"' if value != _get(board.base_params, key) else ""
            cells.append(
                f'<td data-sort="{_e(_sort_value(value))}"><span{changed}>{_e(_fmt(value))}'
                "</span></td>"
            )
        rows.append(
            f'<tr class="{" ".join(classes)}" data-name="{_e(e.name)}">{"".join(cells)}</tr>'
        )
    body = f'<tbody id="rows">{"".join(rows)}</tbody>'
    legend = " ".join(
        f'<span class="{cls}">{symbol}</span> {_e(status)}'
        for status, (symbol, cls) in _MARKS.items()
    )
    return (
        f'<div class="wrap scroll"><table id="board">{head}{base_row}{body}</table></div>'
        f'<p class="sub">Against the baseline: {legend}. Params in bold differ from the '
        "baseline. Click a column header to sort.</p>"
    )


# --- the page ---------------------------------------------------------------------------------


def render_html(board: Mapping[str, Any], *, metrics: Collection[str] | None = None) -> str:
    """The leaderboard page, from the leaderboard's JSON shape (``Leaderboard.to_json()``):
    the metrics whose flat key (or ``path:key``) is in ``metrics``, or all (None, or when it
    names none of the board's)."""
    b = _board(board, metrics)
    n = len(b.exps)
    failed = sum(not e.ok for e in b.exps)
    base_label = _e(b.base_rev) + (f" ({_e(b.base_name)})" if b.base_name else "")
    if b.primary_name is not None:
        direction = f"{_e(b.direction)} is better" if b.direction else "no direction"
        primary = f"<b>{_e(b.primary_name)}</b> ({direction})"
        if b.primary is None:
            primary += " — no experiment or baseline reports it"
    else:
        primary = "none (no rule in ratchet.yaml ranks the experiments)"
    title = f"ratchet exp show: {n} experiment{'s' * (n != 1)} on {b.base_rev[:10] or '?'}"
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Experiments on <code>{_e(b.base_rev[:10] or '?')}</code></h1>",
        f'<p class="meta">Baseline commit: <b class="mono">{base_label}</b></p>',
        f'<p class="meta">Primary metric: {primary}</p>',
        f'<p class="meta" id="counts"><b>{n}</b> experiment{"s" * (n != 1)}: '
        f"<b>{n - failed}</b> succeeded, <b>{failed}</b> failed; "
        f"<b>{len(b.swept)}</b> swept param{'s' * (len(b.swept) != 1)}, "
        f"<b>{len(b.metrics)}</b> metric{'s' * (len(b.metrics) != 1)}"
        + (
            f" of {b.reported} (those ratchet.yaml names; --all-metrics shows every one)"
            if len(b.metrics) < b.reported
            else ""
        )
        + "</p>",
    ]
    if not b.exps:
        parts.append(
            '<p class="empty" id="no-experiments">No experiments on this baseline yet. '
            "Run some with <code>ratchet exp run -S FILE:KEY=VALUES</code>.</p>"
        )
    else:
        parts += ["<h2>Leaderboard</h2>", _table(b)]
        numeric = [
            key
            for key in b.metrics
            if any(_number(_get(e.metrics, key)) is not None for e in b.exps if e.ok)
        ]
        parts.append("<h2>Metrics against swept params</h2>")
        if numeric and b.swept:
            parts.append(_legend(b))
            parts.append('<div class="charts">')
            parts += [_scatter(b, m, p) for m in numeric for p in b.swept]
            parts.append("</div>")
        else:
            parts.append(
                '<p class="empty">Nothing to chart: '
                + ("no param differs from the baseline" if not b.swept else "no numeric metric")
                + ".</p>"
            )
        parts += [
            "<h2>Parallel coordinates</h2>",
            _legend(b),
            f'<div class="wrap">{_parallel(b)}</div>',
        ]
    parts.append(f"<script>{_SCRIPT}</script></body></html>\n")
    return "\n".join(parts)


def write_html(
    path: Path | str,
    leaderboard: Any,
    *,
    metrics: Collection[str] | None = None,
    all_metrics: bool = False,
) -> Path:
    """Write the page of ``leaderboard`` (a ``Leaderboard`` or its JSON dict) to ``path``.

    The metrics shown: ``metrics`` (flat keys) if given, else a ``Leaderboard``'s
    :meth:`~Leaderboard.shown_metrics` (the primary and the policy's), else all; every one
    with ``all_metrics``."""
    if metrics is None and hasattr(leaderboard, "shown_metrics"):
        metrics = leaderboard.shown_metrics()
    board = leaderboard.to_json() if hasattr(leaderboard, "to_json") else leaderboard
    target = Path(path)
    write_text(target, render_html(board, metrics=None if all_metrics else metrics))
    return target
