"""When a feature counts as drifted, and when a dataset does (thresholds from the policy).

A feature drifts for any of these reasons (all are reported, not only the first):

- ``distribution``: its test is significant (KS for numeric, two-sample chi-square for
  categorical; ``p < alpha``) *and* its effect size reaches the threshold (PSI, normalised
  Wasserstein, KS statistic or Jensen-Shannon, as ``ratchet.monitor`` says). The test alone
  flags trivial shifts at a million rows; the effect size alone flags noise in small batches.
- ``missing_rate``: its share of missing or non-finite values (null, NaN, +-inf) moved by more
  than ``nonfinite_tolerance``;
- ``infinite``: the current batch has +-inf where the reference had none;
- ``no_values``: the current batch has rows but not one usable value (the reference had some).

NaN and inf never reach a test, so they cannot make one pass: they are counted, and the counts
decide through the last three rules. The dataset drifts when the share of drifted features
reaches ``drift_share``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlratchet.drift.profile import Counts, Kind
    from mlratchet.policy import MonitorPolicy


def effect_rule(kind: Kind, policy: MonitorPolicy) -> tuple[str, float]:
    """The effect statistic and threshold that apply to a feature of this kind."""
    rule = policy.numeric if kind == "numeric" else policy.categorical
    return rule.statistic, rule.threshold


def reasons(
    *,
    effect: float | None,
    threshold: float,
    p_value: float | None,
    alpha: float,
    ref: Counts,
    cur: Counts,
    tolerance: float,
) -> list[str]:
    """Why a feature drifted (empty: it did not)."""
    found = []
    if effect is not None and p_value is not None and p_value < alpha and effect >= threshold:
        found.append("distribution")
    if ref.rows and cur.rows:
        shift = abs(cur.unusable / cur.rows - ref.unusable / ref.rows)
        if shift > tolerance:
            found.append("missing_rate")
    if (cur.posinf or cur.neginf) and not (ref.posinf or ref.neginf):
        found.append("infinite")
    if cur.rows and not cur.values and ref.values:
        found.append("no_values")
    return found


def dataset_drift(drifted: int, total: int, share: float) -> bool:
    """Whether ``drifted`` of ``total`` features reach the policy's share."""
    return total > 0 and drifted / total >= share
