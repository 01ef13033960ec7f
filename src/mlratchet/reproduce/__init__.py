"""Reproduce a pipeline with DVC, measured; prove a commit reproduces bit for bit.

- :func:`repro` -- ``ratchet repro``: DVC runs the pipeline; each stage's status, wall time,
  CPU time and peak memory are measured and kept with the commit (git note key ``repro``).
- :func:`verify` -- ``ratchet verify``: re-run a commit's pipeline from scratch in an isolated
  clone and compare every output's hash with that commit's ``dvc.lock`` (git note ``verify``).

Importing this package is cheap: DVC is imported by the functions that run it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ReproReport", "VerifyReport", "repro", "verify"]

if TYPE_CHECKING:
    from mlratchet.reproduce.runner import ReproReport, repro
    from mlratchet.reproduce.verifier import VerifyReport, verify


def __getattr__(name: str) -> Any:
    if name in ("repro", "ReproReport"):
        from mlratchet.reproduce import runner

        return getattr(runner, name)
    if name in ("verify", "VerifyReport"):
        from mlratchet.reproduce import verifier

        return getattr(verifier, name)
    raise AttributeError(name)
