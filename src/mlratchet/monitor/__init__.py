"""Production monitoring: a batch against the reference, one verdict, three renderings.

- :mod:`~mlratchet.monitor.model`: the model and its training data at a revision;
- :mod:`~mlratchet.monitor.run`: drift, contract, stability, skew, prediction drift;
- :mod:`~mlratchet.monitor.realized`: realized performance on labelled rows;
- :mod:`~mlratchet.monitor.history`: one line per batch and model, realized performance over time;
- :mod:`~mlratchet.monitor.render`: Markdown and a one-file HTML report with charts;
- :mod:`~mlratchet.monitor.batch`: a serving batch from raw data, via ``build_examples``;
- :mod:`~mlratchet.monitor.seasonal`: the monitor month by month over a year.
"""

from __future__ import annotations

from mlratchet.monitor.run import (
    MonitorReport,
    MonitorResult,
    Reference,
    check_batch,
    monitor,
    reference,
)

__all__ = ["MonitorReport", "MonitorResult", "Reference", "check_batch", "monitor", "reference"]
