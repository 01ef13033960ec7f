"""mlratchet's own policy: the ``ratchet:`` section of ``params.yaml``, validated strictly.

No stage reads this section; it tells mlratchet how to judge the pipeline's results. An unknown
key or a bad value is :class:`ParamsError` (exit 2) naming it.

.. code-block:: yaml

    ratchet:
      metrics:                       # per flattened metric key (as DVC flattens it)
        model.val.roc_auc: {direction: higher, tolerance: 0.002}
        model.val.log_loss: {direction: lower, rel_tolerance: 0.01}
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


@dataclass(frozen=True)
class Policy:
    """The whole ``ratchet:`` section."""

    metrics: dict[str, MetricRule] = field(default_factory=dict)


def parse_policy(params_data: object, source: str) -> Policy:
    """The policy in parsed ``params.yaml`` data (an empty policy if there is no section)."""
    section = params_data.get(SECTION, {}) if isinstance(params_data, dict) else {}
    return from_data(Policy, section if section is not None else {}, source=source, key=SECTION)


def load_policy(path: Path | str = PARAMS_FILE) -> Policy:
    """Read and validate the ``ratchet:`` section of a params file."""
    from mlratchet.yamlio import load_yaml

    return parse_policy(load_yaml(path), str(path))
