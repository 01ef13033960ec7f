"""``ratchet report``: one Markdown report of what a pull request changes.

- :mod:`~mlratchet.report.build`: :func:`build_report` gathers the sections from the library
  (metrics and params diffs with the verdict, production, ``dvc.lock`` hashes, the data
  contract, the verify and compute records in git notes, chart data) into a frozen
  :class:`~mlratchet.report.sections.Report`;
- :mod:`~mlratchet.report.markdown`: the report as GitHub Markdown (``render``);
- :mod:`~mlratchet.report.mermaid`: Mermaid ``xychart-beta`` charts;
- :mod:`~mlratchet.report.charts`: curve resampling and axis ranges;
- :mod:`~mlratchet.report.dvcplots`: the project's DVC plots (``plots:`` in dvc.yaml);
- :mod:`~mlratchet.report.pngs`: full-size PNGs for the workflow's artifacts.

Submodules are imported where used; this package imports nothing heavy.
"""

from __future__ import annotations

__all__: list[str] = []
