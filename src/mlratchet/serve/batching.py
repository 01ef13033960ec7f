"""Adaptive batching: concurrent requests' rows gathered into one model call.

A request whose rows passed the checks waits in a queue. One collector takes the first waiting
request and every other already waiting; while more requests are still being checked (``busy``
counts them), it waits for them, at most ``wait_seconds`` in all (until ``max_rows``). Then it
calls the model once on all their rows (in a worker thread) and gives each request its own
slice of the scores. While the model runs, new requests queue up, so under load batches grow
by themselves; a request alone, with nothing else in flight, does not wait at all. Requests
held for different models (a swap between them) are scored separately.

Scores are row by row for tree ensembles and most estimators, so a batched row's score is
the one it would get alone; a model whose arithmetic depends on the batch (BLAS blocking in a
linear model) can differ in the last bits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

Score = Callable[[Any, "pa.Table"], "np.ndarray"]


@dataclass
class _Waiting:
    model: Any
    table: pa.Table
    future: asyncio.Future[np.ndarray]


class Batcher:
    """Gathers rows for ``score(model, table)``; see the module's docstring."""

    def __init__(
        self,
        score: Score,
        *,
        wait_seconds: float,
        max_rows: int,
        on_call: Callable[[int], None] | None = None,
        busy: Callable[[], int] | None = None,
    ) -> None:
        self.score = score
        self.wait_seconds = wait_seconds
        self.max_rows = max_rows
        self.on_call = on_call
        self.busy = busy  # requests still being checked (None: assume some, always wait)
        self._queue: asyncio.Queue[_Waiting] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the collector (in the server's event loop)."""
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._collect())

    async def stop(self) -> None:
        """Stop the collector (after the server drained its requests)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def submit(self, model: Any, table: pa.Table) -> np.ndarray:
        """The scores of ``table``'s rows, computed with other requests' rows."""
        if self._queue is None:
            raise RuntimeError("the batcher is not started")
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Waiting(model, table, future))
        return await future

    async def _gather(self, first: _Waiting) -> list[_Waiting]:
        assert self._queue is not None  # noqa: S101 - started before any submit
        loop = asyncio.get_running_loop()
        batch, rows = [first], first.table.num_rows
        deadline = loop.time() + self.wait_seconds
        while rows < self.max_rows:
            try:
                item = self._queue.get_nowait()  # already waiting: always taken
            except asyncio.QueueEmpty:
                left = deadline - loop.time()
                if left <= 0 or (self.busy is not None and self.busy() == 0):
                    break  # nothing more is on its way
                try:
                    item = await asyncio.wait_for(self._queue.get(), left)
                except TimeoutError:
                    break
            batch.append(item)
            rows += item.table.num_rows
        return batch

    async def _collect(self) -> None:
        from starlette.concurrency import run_in_threadpool

        assert self._queue is not None  # noqa: S101 - set by start
        while True:
            batch = await self._gather(await self._queue.get())
            groups: dict[int, list[_Waiting]] = {}
            for item in batch:
                groups.setdefault(id(item.model), []).append(item)
            for items in groups.values():
                await self._score(items, run_in_threadpool)

    async def _score(self, items: list[_Waiting], run: Any) -> None:
        import pyarrow as pa

        try:
            table = pa.concat_tables([i.table for i in items], promote_options="permissive")
            scores = await run(self.score, items[0].model, table)
        except Exception as exc:  # each request answers its own error
            for item in items:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        if self.on_call is not None:
            self.on_call(table.num_rows)
        start = 0
        for item in items:
            end = start + item.table.num_rows
            if not item.future.done():
                item.future.set_result(scores[start:end])
            start = end
