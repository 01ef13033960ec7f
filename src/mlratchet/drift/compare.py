"""Compare two sides column by column: statistics, verdicts, and chart data.

:func:`compare` turns two :class:`~mlratchet.drift.profile.Side` objects into a
:class:`DriftComparison`: one JSON-ready :class:`ColumnDrift` per column (the shape of the monitor
report) and one :class:`Chart` per column for the HTML report. Numeric columns are computed in
a thread pool (numpy's sorts and searches release the GIL).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from mlratchet.drift import categorical, histogram, numeric, verdict
from mlratchet.drift.profile import CategoricalColumn, Counts, Edges, Kind, NumericColumn, Side

if TYPE_CHECKING:
    import numpy as np

    from mlratchet.policy import MonitorPolicy

#: Bars in a numeric chart (plus one open bin at each end).
CHART_BINS = 30
#: Categories drawn in a categorical chart (the most frequent; the rest are summed as "other").
CHART_CATEGORIES = 20
#: The quantiles of the reference a numeric chart spans.
CHART_SPAN = (0.005, 0.995)
#: Reference sample size per numeric column for stream-mode edges.
SAMPLE_VALUES = 262_144


class ColumnDrift(TypedDict):
    """One feature's drift, as the JSON report has it."""

    column: str
    kind: str
    drifted: bool
    reasons: list[str]
    #: Why no test could judge it (a side with no usable value); None: judged.
    unjudged: str | None
    effect: dict[str, Any]  # {"statistic", "value", "threshold"}
    test: dict[str, Any]  # {"name", "p_value", "alpha"}
    statistics: dict[str, Any]
    reference: dict[str, int]
    current: dict[str, int]


@dataclass(frozen=True)
class Chart:
    """What the HTML report draws for one column: bins and each side's proportions."""

    column: str
    kind: Kind
    labels: list[str]
    reference: list[float]
    current: list[float]


@dataclass(frozen=True)
class DriftComparison:
    """Every compared column."""

    columns: list[ColumnDrift]
    charts: dict[str, Chart]

    @property
    def drifted(self) -> list[str]:
        """Names of the drifted columns."""
        return [c["column"] for c in self.columns if c["drifted"]]


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def chart_edges(sample: np.ndarray) -> np.ndarray:
    """Evenly spaced chart edges over the central 99 % of a sorted reference sample."""
    import numpy as np

    if len(sample) == 0:
        return np.empty(0)
    return chart_edges_between(*numeric.sorted_quantiles(sample, np.array(CHART_SPAN)))


def chart_edges_between(low: float, high: float) -> np.ndarray:
    """Evenly spaced chart edges from the reference's :data:`CHART_SPAN` quantiles."""
    import numpy as np

    if high <= low:
        return np.unique(np.array([low]))
    return np.linspace(low, high, CHART_BINS + 1)


def edges_from_sample(sample: np.ndarray, bins: int) -> Edges:
    """Stream-mode edges of one numeric column from a sorted sample of the reference."""
    psi_edges = numeric.quantile_edges(sample, bins)
    return Edges(
        fine=histogram.fine_edges(sample, psi_edges),
        psi=psi_edges,
        chart=chart_edges(sample),
    )


def _proportions(counts: Any) -> list[float]:
    total = float(sum(counts))
    return [float(c) / total if total else 0.0 for c in counts]


def _edge_labels(edges: np.ndarray) -> list[str]:
    if len(edges) == 0:
        return ["all"]
    labels = [f"<= {edges[0]:.4g}"]
    labels += [f"{a:.4g} .. {b:.4g}" for a, b in itertools.pairwise(edges)]
    return [*labels, f"> {edges[-1]:.4g}"]


def _numeric_exact(
    ref: NumericColumn, cur: NumericColumn, bins: int
) -> tuple[dict[str, Any], list[str], Any, Any]:
    import numpy as np

    from mlratchet.drift import binned

    ref_sample, cur_sample = binned.samples(ref.finite_values(), cur.finite_values())
    n, m = len(ref_sample), len(cur_sample)
    if n == 0:
        edges = np.empty(0)
        return {}, _edge_labels(edges), [0], [m]
    # Every quantile the edges need, and every edge's count on both sides, in one go each.
    psi_probs = numeric.psi_probs(bins)
    found = ref_sample.quantiles(np.concatenate([psi_probs, CHART_SPAN]))
    psi_edges = np.unique(found[: len(psi_probs)])
    edges = chart_edges_between(*found[len(psi_probs) :])
    if m == 0:
        ref_chart = numeric.counts_between(ref_sample.at_most(edges), n)
        cur_chart = numeric.counts_between(np.zeros(len(edges), dtype=np.int64), 0)
        return {}, _edge_labels(edges), ref_chart, cur_chart
    both = np.concatenate([psi_edges, edges])
    statistic, distance, ref_at, cur_at = binned.compared(ref_sample, cur_sample, both)
    ref_chart = numeric.counts_between(ref_at[len(psi_edges) :], n)
    cur_chart = numeric.counts_between(cur_at[len(psi_edges) :], m)
    small = None  # scipy's exact method for small samples needs the values themselves
    if max(n, m) <= numeric.KS_EXACT_MAX_N:
        small = (ref_sample.values, cur_sample.values)
    stats = {
        "ks": _PendingKS(statistic, n, m, small),
        "psi": numeric.psi_from_counts(
            numeric.counts_between(ref_at[: len(psi_edges)], n),
            numeric.counts_between(cur_at[: len(psi_edges)], m),
        ),
        "wasserstein": numeric.normalised(distance, ref_sample.std()),
        "method": "exact",
    }
    return stats, _edge_labels(edges), ref_chart, cur_chart


def _numeric_stream(
    ref: NumericColumn, cur: NumericColumn
) -> tuple[dict[str, Any], list[str], Any, Any]:
    if ref.histogram is None or cur.histogram is None or ref.edges is None:
        raise ValueError("stream-mode columns need histograms")  # a bug, not user input
    labels = _edge_labels(ref.edges.chart)
    if ref.histogram.n == 0 or cur.histogram.n == 0:
        return {}, labels, ref.chart_counts, cur.chart_counts
    estimate = histogram.compare(ref.histogram, cur.histogram, ref.edges.psi)
    stats = {
        "ks": _PendingKS(
            estimate.ks.statistic, ref.histogram.n, cur.histogram.n, None, estimate.ks_upper
        ),
        "psi": estimate.psi,
        "wasserstein": estimate.wasserstein,
        "wasserstein_error": estimate.wasserstein_error,
        "method": "histogram",
    }
    return stats, labels, ref.chart_counts, cur.chart_counts


def _categorical(
    ref: CategoricalColumn, cur: CategoricalColumn
) -> tuple[dict[str, Any], list[str], list[int], list[int]]:
    names, ref_counts, cur_counts = categorical.aligned(ref.categories, cur.categories)
    order = sorted(range(len(names)), key=lambda i: (-(ref_counts[i] + cur_counts[i]), names[i]))
    top, rest = order[:CHART_CATEGORIES], order[CHART_CATEGORIES:]
    labels = [names[i] for i in top]
    ref_chart = [int(ref_counts[i]) for i in top]
    cur_chart = [int(cur_counts[i]) for i in top]
    if rest:
        labels.append(f"other ({len(rest)})")
        ref_chart.append(int(sum(ref_counts[i] for i in rest)))
        cur_chart.append(int(sum(cur_counts[i] for i in rest)))
    if ref_counts.sum() == 0 or cur_counts.sum() == 0:
        return {}, labels, ref_chart, cur_chart
    chi = categorical.chi_square(ref_counts, cur_counts)
    new = [n for n in names if n not in ref.categories]
    new_rows = int(sum(cur.categories[n] for n in new))
    stats = {
        "chi_square": {"statistic": chi.statistic, "dof": chi.dof, "p_value": chi.p_value},
        "psi": categorical.psi(ref_counts, cur_counts),
        "jensen_shannon": categorical.jensen_shannon(ref_counts, cur_counts),
        "new_categories": new[:20],
        "new_category_count": len(new),
        "new_category_rows": new_rows,
        "new_category_share": new_rows / float(cur_counts.sum()),
    }
    return stats, labels, ref_chart, cur_chart


@dataclass(frozen=True)
class _PendingKS:
    """A KS statistic whose p-value is computed after every column's statistics.

    The p-value needs scipy.special, which takes a moment to import: it is imported in the
    background while the columns are sorted and merged, and waited for only at the end.
    """

    statistic: float
    n: int
    m: int
    values: tuple[Any, Any] | None
    upper: float | None = None

    def resolve(self) -> dict[str, Any]:
        if self.values is not None:
            ks = numeric.ks_result(self.statistic, *self.values)
        else:
            ks = numeric.KS(self.statistic, numeric.ks_p_value(self.statistic, self.n, self.m))
        out = {"statistic": ks.statistic, "p_value": ks.p_value}
        if self.upper is not None:
            out["upper"] = self.upper
        return out


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float):
        return _finite(value)
    return value


def unjudged(ref: Counts, cur: Counts) -> str | None:
    """Why a column cannot be judged (no usable value on a side), or None."""
    sides = [side for side, counts in (("reference", ref), ("batch", cur)) if not counts.values]
    return f"all values missing in {' and '.join(sides)}" if sides else None


def judge(
    name: str,
    kind: Kind,
    stats: dict[str, Any],
    ref: Counts,
    cur: Counts,
    *,
    statistic: str,
    threshold: float,
    alpha: float,
    tolerance: float,
) -> ColumnDrift:
    """The report entry of one column under an effect rule."""
    test_name = "ks" if kind == "numeric" else "chi_square"
    p_value = stats[test_name]["p_value"] if test_name in stats else None
    value = stats.get(statistic)
    effect = value["statistic"] if isinstance(value, dict) else value
    why = verdict.reasons(
        effect=effect,
        threshold=threshold,
        p_value=p_value,
        alpha=alpha,
        ref=ref,
        cur=cur,
        tolerance=tolerance,
    )
    return {
        "column": name,
        "kind": kind,
        "drifted": bool(why),
        "reasons": why,
        "unjudged": unjudged(ref, cur),
        "effect": {"statistic": statistic, "value": _finite(effect), "threshold": threshold},
        "test": {"name": test_name, "p_value": _finite(p_value), "alpha": alpha},
        "statistics": _clean(stats),
        "reference": ref.as_dict(),
        "current": cur.as_dict(),
    }


def compare(
    ref: Side,
    cur: Side,
    policy: MonitorPolicy,
    *,
    rules: dict[str, tuple[str, float]] | None = None,
    threads: int | None = None,
    names: list[str] | None = None,
) -> DriftComparison:
    """Every column of ``ref`` (or those in ``names``) against the same column of ``cur``.

    ``rules`` overrides the policy's effect rule (statistic, threshold) for named columns (the
    model's scores use the prediction rule).
    """
    from mlratchet.parallel import map_threads
    from mlratchet.runtime import reused_memory

    rules = rules or {}

    def measure(name: str) -> tuple[dict[str, Any], list[str], Any, Any]:
        ref_col, cur_col = ref.columns[name], cur.columns[name]
        if isinstance(ref_col, CategoricalColumn) and isinstance(cur_col, CategoricalColumn):
            return _categorical(ref_col, cur_col)
        if isinstance(ref_col, NumericColumn) and isinstance(cur_col, NumericColumn):
            if ref.stream:
                return _numeric_stream(ref_col, cur_col)
            found = _numeric_exact(ref_col, cur_col, policy.bins)
            cur_col.release()
            return found
        raise TypeError(f"column {name!r} has different kinds on the two sides")

    def one(
        name: str, measured: tuple[dict[str, Any], list[str], Any, Any]
    ) -> tuple[ColumnDrift, Chart]:
        kind = ref.kinds[name]
        ref_col, cur_col = ref.columns[name], cur.columns[name]
        stats, labels, ref_chart, cur_chart = measured
        if isinstance(stats.get("ks"), _PendingKS):
            stats = {**stats, "ks": stats["ks"].resolve()}
        statistic, threshold = rules.get(name) or verdict.effect_rule(kind, policy)
        entry = judge(
            name,
            kind,
            stats,
            ref_col.counts,
            cur_col.counts,
            statistic=statistic,
            threshold=threshold,
            alpha=policy.alpha,
            tolerance=policy.nonfinite_tolerance,
        )
        chart = Chart(
            name, kind, labels, _proportions(list(ref_chart)), _proportions(list(cur_chart))
        )
        return entry, chart

    names = list(ref.kinds) if names is None else names
    with reused_memory():  # each column's temporaries reuse the previous one's pages
        measured = map_threads(measure, names, threads=threads)
    results = [one(name, found) for name, found in zip(names, measured, strict=True)]
    return DriftComparison(
        columns=[entry for entry, _ in results],
        charts={entry["column"]: chart for entry, chart in results},
    )
