"""Column-wise work on a few threads.

numpy and Arrow release the GIL for work on whole arrays, so the columns of a table can be
sorted, searched and counted at the same time, each on its own thread, as long as each call
changes only state it owns.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_threads(
    function: Callable[[T], R], items: Iterable[T], *, threads: int | None = None
) -> list[R]:
    """``[function(item) for item in items]``, on up to ``threads`` threads (default: one per
    core). One item, one core or ``threads=1``: no thread at all. The first exception, in item
    order, propagates."""
    items = list(items)
    workers = min(threads or os.cpu_count() or 1, len(items))
    if workers < 2:
        return [function(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(function, items))
