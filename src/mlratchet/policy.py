"""mlratchet's own policy: the ``ratchet:`` section of ``params.yaml``, validated strictly.

No stage reads this section; it tells mlratchet how to judge the pipeline's results. An unknown
key or a bad value is :class:`ParamsError` (exit 2) naming it.

.. code-block:: yaml

    ratchet:
      metrics:                       # per flattened metric key (as DVC flattens it)
        model.val.roc_auc: {direction: higher, tolerance: 0.002}
        model.val.log_loss: {direction: lower}
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
