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
from typing import Any

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


#: glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Blocks up to this size come from the heap while :func:`reused_memory` is active (glibc's
#: largest allowed mmap threshold on 64-bit).
_HEAP_BLOCKS = 32 * 1024 * 1024
#: glibc's defaults, restored afterwards.
_DEFAULT_THRESHOLD = 128 * 1024


@contextlib.contextmanager
def reused_memory() -> Iterator[None]:
    """Keep freed memory for reuse inside the block (glibc only; elsewhere nothing changes).

    By default glibc serves a block above 128 KiB (or its adaptive threshold) with a fresh
    ``mmap`` and returns it on ``free``, so numpy temporaries of a few megabytes are faulted in
    page by page on every use; on a virtual machine a page fault costs microseconds, and the
    exact drift of a million-row column allocates about 70 MB of them. Inside the block blocks up
    to 32 MiB come from the heap and freed memory is not trimmed, so the next column reuses the
    same pages (page faults of the drift benchmark: 130,000 -> 27,000). Afterwards the defaults
    are restored and the freed memory is returned (``malloc_trim``). Values are not affected.
    """
    libc = _glibc()
    if libc is None:
        yield
        return
    libc.mallopt(_M_MMAP_THRESHOLD, _HEAP_BLOCKS)
    libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
    try:
        yield
    finally:
        libc.mallopt(_M_TRIM_THRESHOLD, 2 * _DEFAULT_THRESHOLD)
        libc.mallopt(_M_MMAP_THRESHOLD, _DEFAULT_THRESHOLD)
        libc.malloc_trim(0)


def _glibc() -> Any:
    """The C library if it is glibc (it has ``mallopt`` and ``malloc_trim``), else None."""
    import ctypes
    import ctypes.util

    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):  # type: ignore[union-attr]
            return None
    except (ValueError, OSError, AttributeError):  # not a glibc system
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):
        return None
    return libc
