"""Deterministic compute: a fixed thread count for the numeric libraries.

Results must not depend on how many cores a machine has, and on a shared 2-core machine an
OpenMP pool of two threads fighting another process is many times slower than one thread
(43 s against 1 s for the reference model). Every stage runs its compute inside
:func:`limited_threads` with the count from ``params.yaml``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

#: Numeric kernels pinned to one instruction-set level, so that a machine with AVX-512 computes
#: the same bits as one without: numpy's AVX-512 dispatch groups are switched off (numpy has
#: separate AVX-512 code paths for exp, log and reductions) and OpenBLAS uses its Haswell (AVX2)
#: kernels whatever the CPU. Read when numpy and OpenBLAS load, so this is set before any stage
#: imports them (stage modules import numeric libraries lazily, inside their functions).
PINNED_KERNELS = {
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    "OPENBLAS_CORETYPE": "Haswell",
}


def pin_numeric_kernels() -> None:
    """Pin numpy's and OpenBLAS's kernel choice for this process and its children.

    Values already in the environment are kept, so a user can override them deliberately.
    """
    for name, value in PINNED_KERNELS.items():
        os.environ.setdefault(name, value)


def pin_threads(n_threads: int) -> None:
    """Limit OpenMP and BLAS pools to ``n_threads`` for the rest of this process and its
    children: through the environment, which every thread's pool reads when the libraries
    start (set it before they load), and for the pools already loaded in this thread.

    A long-running process that predicts a few rows at a time (``ratchet serve``) wants this
    for good: OpenMP's limit set by a call holds only for the calling thread.
    """
    from threadpoolctl import threadpool_limits

    os.environ.update({name: str(n_threads) for name in _THREAD_VARIABLES})
    threadpool_limits(limits=n_threads)


@contextlib.contextmanager
def limited_threads(n_threads: int) -> Iterator[None]:
    """Limit OpenMP and BLAS pools (already loaded, or loaded later) to ``n_threads``."""
    from threadpoolctl import threadpool_limits

    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    os.environ.update({name: str(n_threads) for name in _THREAD_VARIABLES})
    try:
        with threadpool_limits(limits=n_threads):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
