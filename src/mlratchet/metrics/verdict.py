"""The verdict on a change of metrics, under the ``ratchet: metrics:`` rules of params.yaml.

Each rule names a flattened metric key, the direction that is better, and a tolerance. Every
file in which the key appears (on either side) gets one :class:`Verdict`:

==============  ============================================================  ========
status          when                                                          fails?
==============  ============================================================  ========
improved        moved the good way                                            no
unchanged       equal, or worse by no more than the rule's tolerance          no
regressed       worse by more than the tolerance                              **yes**
added           no finite number on the old side to compare with              no
missing         absent on the new side (or in no file at all)                 **yes**
not finite      NaN or +/-Infinity on the new side                            **yes**
not a number    a string or a boolean on the new side                         **yes**
==============  ============================================================  ========
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mlratchet.policy import MetricRule

#: path -> flat key -> value: what :func:`mlratchet.metrics.read_metrics` returns.
FlatMetrics = Mapping[str, Mapping[str, Any]]


class Status(StrEnum):
    """The outcome for one declared metric in one file."""

    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    REGRESSED = "regressed"
    ADDED = "added"
    MISSING = "missing"
    NOT_FINITE = "not finite"
    NOT_A_NUMBER = "not a number"

    @property
    def failed(self) -> bool:
        """Whether this status makes the check say no."""
        return self in _FAILING


_FAILING = frozenset({Status.REGRESSED, Status.MISSING, Status.NOT_FINITE, Status.NOT_A_NUMBER})


@dataclass(frozen=True)
class Verdict:
    """One declared metric in one file: its values, its rule, its status."""

    key: str
    path: str | None  # None when the key is in no metrics file on either side
    old: Any
    new: Any
    rule: MetricRule
    status: Status

    @property
    def failed(self) -> bool:
        """Whether this verdict makes the check say no."""
        return self.status.failed

    def describe(self) -> str:
        """One line for a person: ``model.val.roc_auc regressed: 0.71 -> 0.69 (...)``."""
        where = f"{self.path}: " if self.path else ""
        old = "-" if self.old is None else self.old
        new = "-" if self.new is None else self.new
        limits = []
        if self.rule.tolerance:
            limits.append(f"tolerance {self.rule.tolerance}")
        if self.rule.rel_tolerance:
            limits.append(f"rel_tolerance {self.rule.rel_tolerance}")
        limit = f", {' and '.join(limits)}" if limits else ""
        return (
            f"{where}{self.key} {self.status}: {old} -> {new} "
            f"({self.rule.direction} is better{limit})"
        )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def status_of(  # noqa: PLR0911 - one return per row of the status table
    old: Any, new: Any, rule: MetricRule, *, present: bool = True
) -> Status:
    """The status of one metric going from ``old`` to ``new`` (``present``: the new side has it)."""
    if not present:
        return Status.MISSING
    if not _number(new):
        return Status.NOT_A_NUMBER
    if not math.isfinite(new):
        return Status.NOT_FINITE
    if not _number(old) or not math.isfinite(old):
        return Status.ADDED
    delta = float(new) - float(old)
    worse = -delta if rule.direction == "higher" else delta
    if worse > rule.allowed(float(old)):
        return Status.REGRESSED
    if worse < 0:
        return Status.IMPROVED
    return Status.UNCHANGED


def judge(old: FlatMetrics, new: FlatMetrics, rules: Mapping[str, MetricRule]) -> list[Verdict]:
    """One verdict per declared key per file it appears in; sorted by key, then path."""
    paths = list(dict.fromkeys([*old, *new]))
    verdicts = []
    for key in sorted(rules):
        rule = rules[key]
        found = [p for p in paths if key in old.get(p, {}) or key in new.get(p, {})]
        if not found:
            verdicts.append(Verdict(key, None, None, None, rule, Status.MISSING))
            continue
        for path in found:
            before = old.get(path, {}).get(key)
            side = new.get(path, {})
            after = side.get(key)
            status = status_of(before, after, rule, present=key in side)
            verdicts.append(Verdict(key, path, before, after, rule, status))
    return verdicts


def failures(verdicts: list[Verdict]) -> list[Verdict]:
    """The verdicts that make the check say no."""
    return [v for v in verdicts if v.failed]
