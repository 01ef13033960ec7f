"""mlratchet's own policy: the project's committed ``ratchet.yaml``, validated strictly.

The file sits next to ``dvc.yaml`` (in the DVC root). No stage reads it, so it is not a param:
it tells mlratchet how to judge the pipeline's results. An unknown key or a bad value is
:class:`ParamsError` (exit 2) naming it. Checks read it at the revision they judge from (the
base of a diff, HEAD for a promotion), so a change cannot loosen the rules it is judged by.

.. code-block:: yaml

    metrics:                         # per flattened metric key (as DVC flattens it)
      val.roc_auc: {direction: higher, tolerance: 0.002}
      val.log_loss: {direction: lower, rel_tolerance: 0.01}
    registry:                        # per artifact of dvc.yaml: its stages, in order, and gates
      my-model:
        contract: metrics/validation.json   # a record {"valid": true|false}; omit: no gate
        stages:
          - name: staging
            verified: false          # checks: verified (git note), contract, finite metrics
            thresholds: {val.roc_auc: {min: 0.69}}
            compare: {val.roc_auc: {}}          # vs the version in the stage: no regression
          - name: production         # requires staging first (requires: [] to allow skipping)
    monitor:                         # production monitoring (docs/monitoring.md)
      reference: data/train.parquet  # the rows the model was trained on (a dvc.lock output)
      drift_share: 0.5
    models:                          # what may be loaded (docs/registry.md)
      trusted_types: [mypackage.MyTransformer]
    ct:                              # continuous training (docs/continuous.md)
      refresh: ["dvc update data/raw.dvc"]
    params:                          # how params are shown (docs/policy.md)
      mask: ["db.*", "*_dsn"]        # values printed as *** (besides secret-looking keys)
    experiments:                     # the leaderboard (`ratchet exp show`, docs/experiments.md)
      primary: val.roc_auc           # rank by this metric, in its direction under metrics:
                                     # (omitted: the first metric listed under metrics:)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mlratchet.typed import FieldError, from_data

#: The policy file, in the DVC root next to ``dvc.yaml``.
POLICY_FILE = "ratchet.yaml"


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
class CompareRule:
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
    compare: dict[str, CompareRule] = field(default_factory=dict)
    verified: bool = True  # `ratchet verify` said ok for the commit (git note verify.ok)
    contract: bool = True  # the artifact's contract record at the commit says "valid": true
    finite_metrics: bool = True  # no metric of the commit is NaN or Inf


@dataclass(frozen=True)
class ArtifactPolicy:
    """The ordered stages of one artifact.

    ``evaluation_data``: the files that hold the rows the metrics are measured on (``dvc.lock``
    outputs, or git-tracked files such as the params the evaluation reads), at the candidate's
    commit. With ``evaluate`` (champion/challenger), the version in the stage is fetched and
    both models are scored by that function on these files, so the ``compare`` gates judge two
    scores of the same rows. Without it, recorded metrics are compared only when these outputs
    are identical at both commits. Empty: always compare recorded metrics.

    ``on_incomparable``: what a ``compare`` gate does when it cannot compare like with like (the
    holder's model cannot be fetched, loaded or scored; or, without ``evaluate``, the versions
    were measured on other data): ``fail`` (the default: a check that cannot judge says no) or
    ``pass`` (the row is skipped, saying so, and the other gates decide).
    """

    stages: tuple[StageGates, ...]
    evaluation_data: tuple[str, ...] = ()
    #: The data-contract record (JSON with ``"valid": true|false``, e.g. what ``ratchet
    #: validate --out`` writes) the contract gate reads at the commit; None: no contract gate.
    contract: str | None = None
    #: The contract file (as ``ratchet validate`` reads it) that ``ratchet serve`` checks
    #: requests against, read at the served commit, restricted to the model's input columns;
    #: None: the input columns, typed as in the training rows (docs/serving.md).
    serving_contract: str | None = None
    #: ``module:function(model, files) -> {metric: value}``: the project's own evaluation, given
    #: a loaded model and ``{path: local file}`` for each ``evaluation_data`` path; the keys are
    #: the flat metric keys the ``compare`` gates name. None: compare recorded metrics.
    evaluate: str | None = None
    on_incomparable: Literal["fail", "pass"] = "fail"

    def __post_init__(self) -> None:
        from mlratchet.registry.tags import NAME_RE

        if self.evaluate is not None and not _ADAPTER.match(self.evaluate):
            raise FieldError("evaluate", f"must be 'module:function', got {self.evaluate!r}")
        if self.evaluate is not None and not self.evaluation_data:
            raise FieldError("evaluation_data", "list the files the evaluate function reads")
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


#: The metrics realized performance computes (mlratchet.monitor.realized), by model kind.
REALIZED_METRICS = (
    "roc_auc",
    "average_precision",
    "log_loss",
    "brier",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "f1_macro",
    "rmse",
    "mae",
    "r2",
)


@dataclass(frozen=True)
class RealizedMetric:
    """A metric on labelled production rows against the value recorded at validation.

    ``validation``: the flat metric key recorded at the model's commit (``model.val.roc_auc``);
    ``tolerance``: how much worse than that (in the metric's direction) it may be before alerting.
    """

    validation: str
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if self.tolerance < 0:
            raise FieldError("tolerance", f"must be >= 0, got {self.tolerance}")


@dataclass(frozen=True)
class CostMatrix:
    """A business cost of a binary classifier's decisions at the threshold: each outcome's cost.

    ``validation``: the flat key under which the model's commit records its confusion counts at
    validation (``model.val.confusion``: ``.tp``, ``.fp``, ``.fn``, ``.tn``), to compare the cost
    per row; None: the cost is reported, not judged. ``tolerance``: how much the cost per row may
    exceed the validation's before alerting.
    """

    tp: float = 0.0
    fp: float = 0.0
    fn: float = 0.0
    tn: float = 0.0
    validation: str | None = None
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if self.tolerance < 0:
            raise FieldError("tolerance", f"must be >= 0, got {self.tolerance}")


@dataclass(frozen=True)
class RealizedPolicy:
    """``monitor.realized``: how the production model scored on rows whose labels are known.

    ``label``: the label column (in the batch, or in a separate labels file); ``key``: the
    columns joining labels that arrive later to the batch (or to served prediction logs), one
    row per key on each side; ``score``: a
    batch column already holding the model's score (prediction logs), None: the model scores
    the rows; ``threshold``: where a binary classifier's score flags the positive class.
    ``business``: ``module:function(y_true, scores, predictions) -> {name: value}``, reported.
    """

    label: str
    key: tuple[str, ...] = ()
    score: str | None = None
    threshold: float = 0.5
    metrics: dict[str, RealizedMetric] = field(default_factory=dict)
    cost: CostMatrix | None = None
    business: str | None = None

    def __post_init__(self) -> None:
        for name in self.metrics:
            if name not in REALIZED_METRICS:
                raise FieldError(
                    f"metrics.{name}", f"unknown metric (known: {', '.join(REALIZED_METRICS)})"
                )
        if not 0 < self.threshold < 1:
            raise FieldError("threshold", f"must be in (0, 1), got {self.threshold}")
        if self.business is not None and not _ADAPTER.match(self.business):
            raise FieldError("business", f"must be 'module:function', got {self.business!r}")
        if not (self.metrics or self.cost or self.business):
            raise FieldError("metrics", "declare at least one metric, a cost or a business hook")


@dataclass(frozen=True)
class MonitorPolicy:
    """``ratchet.monitor``: what counts as drift, and where the model's training data is."""

    #: The rows the model was trained on (a ``dvc.lock`` output at the model's commit); None:
    #: a model's own training data is unknown and ``--reference`` must be given.
    reference: str | None = None
    #: Their features as the training pipeline computed them (a DVC output there too); None:
    #: the features are recomputed from ``reference`` through the model's own transform steps.
    training_features: str | None = None
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
    #: Realized performance on labelled rows (docs/monitoring.md); None: inputs only.
    realized: RealizedPolicy | None = None

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
class ModelsPolicy:
    """``models``: which types a model file may hold, and how a non-scikit-learn model is used.

    ``trusted_types``: fully qualified type names trusted on load beyond what skops trusts for
    scikit-learn's own estimators (a reviewed list: each one is code the loader runs).
    ``adapter``: ``module:function`` that takes the loaded model and returns an object with
    ``predict`` (and ``predict_proba`` for a classifier); None: the model is used as it is.
    """

    trusted_types: tuple[str, ...] = ()
    adapter: str | None = None

    def __post_init__(self) -> None:
        for index, name in enumerate(self.trusted_types):
            if not _DOTTED.match(name):
                raise FieldError(
                    f"trusted_types[{index}]", f"must be a dotted type name, got {name!r}"
                )
        if self.adapter is not None and not _ADAPTER.match(self.adapter):
            raise FieldError("adapter", f"must be 'module:function', got {self.adapter!r}")


_DOTTED = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$")
_ADAPTER = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*$")


@dataclass(frozen=True)
class CtPolicy:
    """``ct``: how new data comes in, and which artifact continuous training promotes.

    ``refresh``: shell commands run in the DVC root, in order, to bring new data in (``dvc
    update data/raw.dvc``, or the project's own command); a refresh that changes nothing is
    "nothing new". ``commit``: the paths ``ratchet ct`` commits after the re-run besides
    ``dvc.lock`` and the pipeline's git-tracked outputs (e.g. the file a refresh edits).
    """

    refresh: tuple[str, ...] = ()
    artifact: str | None = None  # None: the only artifact with registry stages
    stage: str | None = None  # the stage CT promotes to; None: the artifact's first stage
    commit: tuple[str, ...] = ()
    remote: str = "origin"


@dataclass(frozen=True)
class ParamsPolicy:
    """``params``: how params are shown. ``mask``: fnmatch patterns of dotted key paths or key
    names whose values print as ``***`` (beyond the keys that look like secrets, see
    :mod:`mlratchet.secrets`)."""

    mask: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExperimentsPolicy:
    """``experiments``: how the leaderboard ranks experiments. ``primary``: the flat metric key
    to rank by, best first in the direction its rule under ``metrics:`` gives; None: the first
    metric listed under ``metrics:`` (no rule at all: experiments are listed by name)."""

    primary: str | None = None

    def __post_init__(self) -> None:
        if self.primary is not None and not self.primary.strip():
            raise FieldError("primary", "must be a metric key, got an empty string")


@dataclass(frozen=True)
class Policy:
    """The whole ``ratchet.yaml``."""

    metrics: dict[str, MetricRule] = field(default_factory=dict)
    params: ParamsPolicy = field(default_factory=ParamsPolicy)
    registry: dict[str, ArtifactPolicy] = field(default_factory=dict)
    monitor: MonitorPolicy = field(default_factory=MonitorPolicy)
    models: ModelsPolicy = field(default_factory=ModelsPolicy)
    ct: CtPolicy = field(default_factory=CtPolicy)
    experiments: ExperimentsPolicy = field(default_factory=ExperimentsPolicy)

    def __post_init__(self) -> None:
        primary = self.experiments.primary
        if primary is not None and primary not in self.metrics:
            declared = ", ".join(sorted(self.metrics)) or "none"
            raise FieldError(
                "experiments.primary",
                f"{primary!r} has no rule under metrics: (which gives its direction; "
                f"declared: {declared})",
            )

    @property
    def primary(self) -> tuple[str, MetricRule] | None:
        """The metric the leaderboard ranks by and its rule (see :class:`ExperimentsPolicy`)."""
        key = self.experiments.primary or next(iter(self.metrics), None)
        return None if key is None else (key, self.metrics[key])

    def holder_stage(self, artifact: str) -> str | None:
        """The last stage of ``artifact``'s policy (what "in production" means for it)."""
        declared = self.registry.get(artifact)
        return declared.stages[-1].name if declared else None


def parse_policy(data: object, source: str) -> Policy:
    """The policy in parsed ``ratchet.yaml`` data (an empty file is the empty policy)."""
    return from_data(Policy, data if data is not None else {}, source=source)


def load_policy(path: Path | str = POLICY_FILE) -> Policy:
    """Read and validate a policy file."""
    from mlratchet.yamlio import load_yaml

    return parse_policy(load_yaml(path), str(path))


def policy_at(
    root: Path | str, rev: str | None, override: Path | str | None = None
) -> tuple[Policy, str]:
    """The policy that judges revision ``rev`` (None: the work tree), and where it came from.

    ``override`` (``--policy FILE``) wins; otherwise ``ratchet.yaml`` in the DVC root ``root``
    at ``rev``. A project without the file has the empty policy (source says so).
    """
    from mlratchet.yamlio import parse_yaml

    if override is not None:
        return load_policy(override), str(override)
    if rev is None:
        path = Path(root) / POLICY_FILE
        if not path.is_file():
            return Policy(), f"{POLICY_FILE} (absent)"
        from mlratchet.yamlio import load_yaml

        return parse_policy(load_yaml(path), POLICY_FILE), POLICY_FILE
    from mlratchet.gitio import read_blob

    source = f"{POLICY_FILE} at {rev[:7] if len(rev) == 40 else rev}"
    data = read_blob(root, rev, POLICY_FILE)
    if data is None:
        return Policy(), f"{source} (absent)"
    return parse_policy(parse_yaml(data.decode("utf-8", "replace"), source), source), source
