"""mlratchet's own policy: the ``ratchet:`` section of ``params.yaml``, validated strictly.

No stage reads this section; it tells mlratchet how to judge the pipeline's results. An unknown
key or a bad value is :class:`ParamsError` (exit 2) naming it.

.. code-block:: yaml

    ratchet:
      metrics:                       # per flattened metric key (as DVC flattens it)
        model.val.roc_auc: {direction: higher, tolerance: 0.002}
        model.val.log_loss: {direction: lower}
      monitor:                       # production monitoring (see docs/monitoring.md)
        drift_share: 0.5
        numeric: {statistic: psi, threshold: 0.2}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mlratchet.params import PARAMS_FILE
from mlratchet.typed import FieldError, from_data

SECTION = "ratchet"


@dataclass(frozen=True)
class MetricRule:
    """Which way a metric should move, and how much worse it may get before it counts."""

    direction: Literal["higher", "lower"]
    tolerance: float = 0.0  # absolute; a change no worse than this is "unchanged"

    def __post_init__(self) -> None:
        if self.tolerance < 0:
            raise FieldError("tolerance", f"must be >= 0, got {self.tolerance}")


# --- monitor (issue 6: contracts and monitoring) -----------------------------------------------


@dataclass(frozen=True)
class NumericDriftRule:
    """A numeric feature drifts when its KS test is significant and this effect is this big."""

    statistic: Literal["psi", "wasserstein", "ks"]
    threshold: float

    def __post_init__(self) -> None:
        if self.threshold <= 0:
            raise FieldError("threshold", f"must be > 0, got {self.threshold}")


@dataclass(frozen=True)
class CategoricalDriftRule:
    """A categorical feature drifts when its chi-square is significant and this effect is big."""

    statistic: Literal["psi", "jensen_shannon"]
    threshold: float

    def __post_init__(self) -> None:
        if self.threshold <= 0:
            raise FieldError("threshold", f"must be > 0, got {self.threshold}")


@dataclass(frozen=True)
class MonitorPolicy:
    """``ratchet.monitor``: what counts as drift, and where the model's training data is."""

    #: The prepared rows the model was trained on (a DVC output at the model's commit).
    reference: str = "data/interim/train.parquet"
    #: Their features as the training pipeline computed them (a DVC output there too).
    training_features: str = "data/processed/train.parquet"
    #: A test is significant when its p-value is below this.
    alpha: float = 0.01
    numeric: NumericDriftRule = field(default_factory=lambda: NumericDriftRule("psi", 0.2))
    categorical: CategoricalDriftRule = field(
        default_factory=lambda: CategoricalDriftRule("jensen_shannon", 0.1)
    )
    #: The model's scores, current against reference (a numeric rule).
    prediction: NumericDriftRule = field(default_factory=lambda: NumericDriftRule("psi", 0.1))
    #: The dataset drifts when at least this share of its features drift.
    drift_share: float = 0.5
    #: Quantile bins of the reference for PSI.
    bins: int = 10
    #: A feature drifts when its share of missing or non-finite values moves by more than this.
    nonfinite_tolerance: float = 0.01

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise FieldError("alpha", f"must be in (0, 1), got {self.alpha}")
        if not 0 < self.drift_share <= 1:
            raise FieldError("drift_share", f"must be in (0, 1], got {self.drift_share}")
        if not 2 <= self.bins <= 1000:
            raise FieldError("bins", f"must be in 2..1000, got {self.bins}")
        if not 0 <= self.nonfinite_tolerance < 1:
            raise FieldError(
                "nonfinite_tolerance", f"must be in [0, 1), got {self.nonfinite_tolerance}"
            )


# --- end monitor --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """The whole ``ratchet:`` section."""

    metrics: dict[str, MetricRule] = field(default_factory=dict)
    monitor: MonitorPolicy = field(default_factory=MonitorPolicy)  # issue 6


def parse_policy(params_data: object, source: str) -> Policy:
    """The policy in parsed ``params.yaml`` data (an empty policy if there is no section)."""
    section = params_data.get(SECTION, {}) if isinstance(params_data, dict) else {}
    return from_data(Policy, section if section is not None else {}, source=source, key=SECTION)


def load_policy(path: Path | str = PARAMS_FILE) -> Policy:
    """Read and validate the ``ratchet:`` section of a params file."""
    from mlratchet.yamlio import load_yaml

    return parse_policy(load_yaml(path), str(path))
