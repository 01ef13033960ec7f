"""Metrics and params: read them at any revision as DVC does, diff them, judge the change.

The API other modules use (the registry's promotion gates among them):

``read_metrics(repo, rev) -> {path: {flat_key: value}}``
    Every metrics file at a revision (``workspace``, any git revision, or anything
    :func:`mlratchet.revs.resolve` accepts), keys flattened as DVC flattens them. A declared file
    that is missing or malformed at that revision raises ``BadInputError`` (exit 2).
``read_params(repo, rev) -> {path: {flat_key: value}}``
    The same for params files (``params.yaml`` whole, and every file a stage declares).
``judge(old, new, rules) -> list[Verdict]``
    One :class:`Verdict` per ``ratchet: metrics:`` rule per file that has the key: its
    :class:`Status` (improved, unchanged, regressed, added, missing, not finite, not a number)
    and whether it ``failed``. ``failures(verdicts)`` keeps those that make a check say no.
``compare(repo, a, b, kind=, with_unchanged=, check=)``
    What ``ratchet metrics diff`` / ``ratchet params diff`` compute: both sides, DVC's diff,
    and the verdicts with ``check``.
``history(repo, rev_range, last=, metrics=)``
    The metrics at each commit of the first-parent history, newest first.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# These two share their module's name: bound eagerly, or the submodule would shadow them.
from mlratchet.metrics.diff import diff
from mlratchet.metrics.history import history

if TYPE_CHECKING:
    from mlratchet.metrics.api import (
        Comparison,
        Shown,
        compare,
        read_files,
        read_metrics,
        read_params,
        show,
    )
    from mlratchet.metrics.collect import MissingFileError, NotInCacheError
    from mlratchet.metrics.diff import Change, DiffResult
    from mlratchet.metrics.history import Column, History, Point
    from mlratchet.metrics.parse import MetricsFileError, flatten
    from mlratchet.metrics.verdict import Status, Verdict, failures, judge, status_of

#: name -> the module defining it: each is imported on first use, so that a command that only
#: needs history does not pay for the verdict's imports (and ``import mlratchet.metrics.x`` is
#: cheap).
_WHERE = {
    **dict.fromkeys(
        ["Comparison", "Shown", "compare", "read_files", "read_metrics", "read_params", "show"],
        "api",
    ),
    **dict.fromkeys(["MissingFileError", "NotInCacheError"], "collect"),
    **dict.fromkeys(["Change", "DiffResult"], "diff"),
    **dict.fromkeys(["Column", "History", "Point"], "history"),
    **dict.fromkeys(["MetricsFileError", "flatten"], "parse"),
    **dict.fromkeys(["Status", "Verdict", "failures", "judge", "status_of"], "verdict"),
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)


__all__ = [
    "Change",
    "Column",
    "Comparison",
    "DiffResult",
    "History",
    "MetricsFileError",
    "MissingFileError",
    "NotInCacheError",
    "Point",
    "Shown",
    "Status",
    "Verdict",
    "compare",
    "diff",
    "failures",
    "flatten",
    "history",
    "judge",
    "read_files",
    "read_metrics",
    "read_params",
    "show",
    "status_of",
]
