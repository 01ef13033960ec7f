"""Experiment tracking: sweeps run as DVC experiments, a leaderboard judged by ``ratchet.yaml``.

- :mod:`~mlratchet.experiments.refs` -- DVC's ``refs/exps`` namespace, read and written with git.
- :mod:`~mlratchet.experiments.points` -- the points of a sweep (``-S`` grids, sweep files).
- :mod:`~mlratchet.experiments.sweep` -- ``ratchet exp run``: run points in isolated workspaces.
- :mod:`~mlratchet.experiments.leaderboard` -- ``ratchet exp show`` / ``ratchet exp diff``.
- :mod:`~mlratchet.experiments.mlflow_export` -- ``ratchet exp export --mlflow``: runs in MLflow.

Importing this package is cheap.
"""
