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
from mlratchet.metrics.diff import Change, DiffResult, diff
from mlratchet.metrics.history import Column, History, Point, history
from mlratchet.metrics.parse import MetricsFileError, flatten
from mlratchet.metrics.verdict import Status, Verdict, failures, judge, status_of

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
