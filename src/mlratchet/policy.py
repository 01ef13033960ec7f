"""mlratchet's own policy: the ``ratchet:`` section of ``params.yaml``, validated strictly.

No stage reads this section; it tells mlratchet how to judge the pipeline's results. An unknown
key or a bad value is :class:`ParamsError` (exit 2) naming it.

.. code-block:: yaml

    ratchet:
      metrics:                       # per flattened metric key (as DVC flattens it)
        model.val.roc_auc: {direction: higher, tolerance: 0.002}
        model.val.log_loss: {direction: lower, rel_tolerance: 0.01}
      registry:                      # per artifact of dvc.yaml: its stages, in order, and gates
        flight-delay:
          stages:
            - name: staging
              verified: false        # checks: verified (git note), contract, finite metrics
              thresholds: {model.val.roc_auc: {min: 0.69}}
              compare: {model.val.roc_auc: {}}   # vs the version in the stage: no regression
            - name: production       # requires staging first (requires: [] to allow skipping)
      monitor:                       # production monitoring (docs/monitoring.md)
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


# --- metrics (issue 4: `ratchet metrics diff --check`, mlratchet.metrics.verdict) -----------
@dataclass(frozen=True)
class MetricRule:
    """Which way a metric should move, and how much worse it may get before it counts.

    A change for the worse is tolerated (judged "unchanged") when it is no larger than
    ``max(tolerance, rel_tolerance * |old|)``.
    """

    direction: Literal["higher", "lower"]
    tolerance: float = 0.0  # absolute
    rel_tolerance: float = 0.0  # relative to the old value: 0.01 tolerates 1% worse

    def __post_init__(self) -> None:
        if self.tolerance < 0:
            raise FieldError("tolerance", f"must be >= 0, got {self.tolerance}")
        if self.rel_tolerance < 0:
            raise FieldError("rel_tolerance", f"must be >= 0, got {self.rel_tolerance}")

    def allowed(self, old: float) -> float:
        """How much worse than ``old`` a new value may be and still count as unchanged."""
        return max(self.tolerance, self.rel_tolerance * abs(old))


# --- end of metrics ------------------------------------------------------------------------


# --- registry policy (issue 5): promotion gates per artifact and stage ----------------------


@dataclass(frozen=True)
class Threshold:
    """An absolute bound on a metric of the candidate: ``min <= value <= max``."""

    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        if self.min is None and self.max is None:
            raise FieldError("min", "give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise FieldError("min", f"must be <= max ({self.min} > {self.max})")


@dataclass(frozen=True)
class Comparison:
    """How the candidate must compare with the version in the stage, in the metric's direction.

    ``min_delta``: the least absolute change in the better direction (negative: how much worse
    it may be); ``min_rel_delta``: the same relative to the current value (0.01 = 1% better);
    neither (``{}``): no regression beyond the metric's tolerance under ``ratchet.metrics``, as
    ``ratchet metrics diff --check`` judges it.
    """

    min_delta: float | None = None
    min_rel_delta: float | None = None

    def __post_init__(self) -> None:
        if self.min_delta is not None and self.min_rel_delta is not None:
            raise FieldError("min_delta", "give min_delta or min_rel_delta, not both")


@dataclass(frozen=True)
class StageGates:
    """One stage of an artifact and the gates a version passes to enter it."""

    name: str
    requires: tuple[str, ...] | None = None  # stages it must hold first; None: the previous one
    thresholds: dict[str, Threshold] = field(default_factory=dict)
    compare: dict[str, Comparison] = field(default_factory=dict)
    verified: bool = True  # `ratchet verify` said ok for the commit (git note verify.ok)
    contract: bool = True  # metrics/validation.json at the commit says "valid": true
    finite_metrics: bool = True  # no metric of the commit is NaN or Inf


@dataclass(frozen=True)
class ArtifactPolicy:
    """The ordered stages of one artifact.

    ``evaluation_data``: the ``dvc.lock`` outputs that hold the rows the metrics are measured
    on. Two versions' metrics are compared (the ``compare`` gates) only when these outputs are
    identical at both commits; otherwise the comparison would judge numbers measured on other
    data (continuous training moves the validation months), and the gate says so and skips.
    Empty: always compare.
    """

    stages: tuple[StageGates, ...]
    evaluation_data: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from mlratchet.registry.tags import NAME_RE

        names = [stage.name for stage in self.stages]
        if not names:
            raise FieldError("stages", "list at least one stage")
        for index, stage in enumerate(self.stages):
            if not NAME_RE.search(stage.name) or "\n" in stage.name:
                raise FieldError(
                    f"stages[{index}].name",
                    f"{stage.name!r} is not a valid stage name (letters, digits, '-', '_', '/')",
                )
            if stage.name in names[:index]:
                raise FieldError(f"stages[{index}].name", f"stage {stage.name!r} is listed twice")
            for required in stage.requires or ():
                if required not in names or required == stage.name:
                    raise FieldError(
                        f"stages[{index}].requires",
                        f"{required!r} is not another stage of this artifact",
                    )

    def stage(self, name: str) -> StageGates | None:
        """The gates of stage ``name``, or None if the artifact has no such stage."""
        return next((s for s in self.stages if s.name == name), None)

    def required_stages(self, name: str) -> tuple[str, ...]:
        """The stages a version must hold before it may enter stage ``name``."""
        names = [s.name for s in self.stages]
        stage = self.stages[names.index(name)]
        if stage.requires is not None:
            return stage.requires
        index = names.index(name)
        return (names[index - 1],) if index > 0 else ()


# --- end of registry policy ----------------------------------------------------------------


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
    registry: dict[str, ArtifactPolicy] = field(default_factory=dict)  # issue 5: gates
    monitor: MonitorPolicy = field(default_factory=MonitorPolicy)  # issue 6


def parse_policy(params_data: object, source: str) -> Policy:
    """The policy in parsed ``params.yaml`` data (an empty policy if there is no section)."""
    section = params_data.get(SECTION, {}) if isinstance(params_data, dict) else {}
    return from_data(Policy, section if section is not None else {}, source=source, key=SECTION)


def load_policy(path: Path | str = PARAMS_FILE) -> Policy:
    """Read and validate the ``ratchet:`` section of a params file."""
    from mlratchet.yamlio import load_yaml

    return parse_policy(load_yaml(path), str(path))
