"""Drift between a reference and a current batch: statistics, verdicts, streaming summaries.

- :mod:`~mlratchet.drift.numeric`: exact KS (scipy's), PSI, normalised Wasserstein;
- :mod:`~mlratchet.drift.categorical`: two-sample chi-square, PSI, Jensen-Shannon;
- :mod:`~mlratchet.drift.histogram`: mergeable histograms for streaming, with error bounds;
- :mod:`~mlratchet.drift.profile`: one side's columns, accumulated chunk by chunk;
- :mod:`~mlratchet.drift.verdict`: when a feature, and a dataset, counts as drifted;
- :mod:`~mlratchet.drift.compare`: both sides, column by column, to the report's shape.

:func:`compare_tables` is the one-call entry point for two in-memory tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlratchet.drift.compare import Chart, ColumnDrift, DriftComparison, compare
from mlratchet.drift.profile import Kind, Side, kind_of

if TYPE_CHECKING:
    from mlratchet.policy import MonitorPolicy

__all__ = [
    "Chart",
    "ColumnDrift",
    "DriftComparison",
    "Kind",
    "Side",
    "compare",
    "compare_tables",
    "kind_of",
]


def compare_tables(
    reference: Any,
    current: Any,
    policy: MonitorPolicy,
    kinds: Mapping[str, Kind] | None = None,
) -> DriftComparison:
    """Exact drift of every column (or those in ``kinds``) of two Arrow tables or frames."""
    import pyarrow as pa

    ref = reference if isinstance(reference, pa.Table) else pa.Table.from_pandas(reference)
    cur = current if isinstance(current, pa.Table) else pa.Table.from_pandas(current)
    if kinds is None:
        found = {name: kind_of(ref.schema.field(name).type) for name in ref.column_names}
        kinds = {name: kind for name, kind in found.items() if kind is not None}
    ref_side, cur_side = Side(kinds), Side(kinds)
    ref_side.add({name: ref.column(name) for name in kinds})
    cur_side.add({name: cur.column(name) for name in kinds})
    return compare(ref_side, cur_side, policy)
