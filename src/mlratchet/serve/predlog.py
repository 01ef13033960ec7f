"""The prediction log: inputs, predictions, model version and request time, as Parquet files.

Rows are kept in memory and written in batches: every ``flush_rows`` rows, and every
``flush_seconds`` by a background thread. A *segment* is one visible file,
``predictions-<start>-<pid>-<n>.parquet``; each flush rewrites it whole through a temporary
file renamed over it (:func:`mlratchet.tables.write`), so a reader, or a ``kill -9`` at any
moment, never sees a partial file and loses at most the rows not yet flushed. A segment is
closed (a new one started) when it reaches ``rotate_bytes`` or ``rotate_seconds``; a flush
costs at most one segment's size. ``ratchet monitor DIR`` reads the folder as one batch
(:func:`mlratchet.tables.read_folder`).

Columns: the model's inputs (as typed by the input checks), ``prediction`` (the score),
``model_version``, ``model_md5``, and ``request_time`` (UTC).
"""

from __future__ import annotations

import datetime
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


@dataclass(frozen=True)
class LogSettings:
    """Where and how often the log is written."""

    folder: Path
    flush_rows: int = 1000
    flush_seconds: float = 5.0
    rotate_bytes: int = 8 << 20
    rotate_seconds: float = 3600.0


class PredictionLog:
    """Appends prediction rows; see the module's docstring. Thread-safe."""

    def __init__(self, settings: LogSettings, version: str, md5: str) -> None:
        self.settings = settings
        self.version = version
        self.md5 = md5
        self._lock = threading.Lock()
        self._pending: list[pa.Table] = []  # not yet written
        self._pending_rows = 0
        self._segment: list[pa.Table] = []  # written to the current segment
        self._segment_bytes = 0
        self._segment_start = 0.0
        self._path: Path | None = None
        self._count = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        settings.folder.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        """Start the thread that flushes every ``flush_seconds``."""
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.settings.flush_seconds):
            self.flush()

    def append(
        self,
        inputs: pa.Table,
        predictions: np.ndarray,
        when: datetime.datetime,
        *,
        version: str | None = None,
        md5: str | None = None,
    ) -> None:
        """Log one request's rows (scored by ``version``, ``md5``: by default the log's);
        write them if ``flush_rows`` are waiting."""
        import pyarrow as pa

        rows = inputs.num_rows
        version = self.version if version is None else version
        md5 = self.md5 if md5 is None else md5
        table = (
            inputs.append_column("prediction", pa.array(predictions, type=pa.float64()))
            .append_column("model_version", pa.array([version] * rows, type=pa.string()))
            .append_column("model_md5", pa.array([md5] * rows, type=pa.string()))
            .append_column(
                "request_time", pa.array([when] * rows, type=pa.timestamp("us", tz="UTC"))
            )
        )
        with self._lock:
            self._pending.append(table)
            self._pending_rows += rows
            full = self._pending_rows >= self.settings.flush_rows
        if full:
            self.flush()

    def flush(self) -> Path | None:
        """Write the waiting rows into the current segment (a new one when it is due)."""
        import time

        import pyarrow as pa

        from mlratchet.tables import write

        with self._lock:
            if not self._pending:
                return None
            now = time.monotonic()
            due = self._path is None or (
                self._segment_bytes >= self.settings.rotate_bytes
                or now - self._segment_start >= self.settings.rotate_seconds
            )
            if due:
                self._segment, self._segment_bytes, self._segment_start = [], 0, now
                self._path = self._new_path()
            self._segment.extend(self._pending)
            self._pending, self._pending_rows = [], 0
            table = pa.concat_tables(self._segment, promote_options="permissive")
            path = self._path
            assert path is not None  # noqa: S101 - set just above
            write(table, path)
            self._segment_bytes = path.stat().st_size
            return path

    def _new_path(self) -> Path:
        self._count += 1
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
        name = f"predictions-{stamp}-{os.getpid()}-{self._count:04d}.parquet"
        return self.settings.folder / name

    def close(self) -> None:
        """Stop the flushing thread and write what is waiting."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(1.0, self.settings.flush_seconds))
        self.flush()
