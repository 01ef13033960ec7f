"""The model being served, behind one small holder, so that a new one can be swapped in."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class Holder(Generic[T]):
    """``current`` is what requests use; ``swap(new)`` replaces it for the next request.

    A request reads ``current`` once and uses that object to the end, so a swap never mixes
    two models in one answer.
    """

    def __init__(self, current: T | None = None) -> None:
        self._lock = threading.Lock()
        self._current = current

    @property
    def ready(self) -> bool:
        """Whether a model is loaded."""
        return self._current is not None

    @property
    def current(self) -> T:
        """The model now served (a bug to ask before one is loaded)."""
        value = self._current
        if value is None:
            raise RuntimeError("no model is loaded yet")
        return value

    def swap(self, new: T) -> T | None:
        """Serve ``new`` from now on; return what was served before."""
        with self._lock:
            old, self._current = self._current, new
        return old
