"""A client of an existing Dask cluster (``--scheduler tcp://HOST:PORT``): the one place that
connects to one.

Dask's ``distributed`` is an optional dependency (``pip install 'mlratchet[dask]'``); nothing of
ours is a scheduler or a worker. A scheduler that cannot be reached, or ``distributed`` missing,
is bad input (exit 2), naming the address.
"""

from __future__ import annotations

from typing import Any

from mlratchet.errors import BadInputError

#: How long a client waits for the scheduler to answer.
CONNECT_TIMEOUT = "10s"


def connect(address: str) -> Any:
    """A ``distributed.Client`` of the scheduler at ``address`` (not made the default client)."""
    try:
        from distributed import Client
    except ImportError:
        raise BadInputError(
            f"--scheduler {address}: Dask's distributed is not installed; "
            "pip install 'mlratchet[dask]'"
        ) from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise BadInputError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
