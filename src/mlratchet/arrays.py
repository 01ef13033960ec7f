"""Arrow arrays as numpy arrays, zero-copy, without pyarrow importing pandas.

pyarrow imports pandas (half a second) the first time it converts to or from numpy or Python
values (``to_numpy``, ``pa.array``, a scalar argument to a compute function). Validation and
drift only need the values buffer and the validity bitmap, which numpy reads directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

_NUMPY = {
    "int8": "int8",
    "int16": "int16",
    "int32": "int32",
    "int64": "int64",
    "uint8": "uint8",
    "uint16": "uint16",
    "uint32": "uint32",
    "uint64": "uint64",
    "halffloat": "float16",
    "float": "float32",
    "double": "float64",
}


def flat(array: Any) -> Any:
    """One contiguous Arrow array from an array or a chunked array."""
    import pyarrow as pa

    if isinstance(array, pa.ChunkedArray):
        return array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    return array


def valid(array: Any) -> np.ndarray | None:
    """The validity mask of an array (True where a value is present); None if none is null."""
    import numpy as np

    if array.null_count == 0:
        return None
    if array.null_count == len(array):
        return np.zeros(len(array), dtype=bool)
    bits = np.frombuffer(array.buffers()[0], dtype=np.uint8)
    mask = np.unpackbits(bits, bitorder="little")[array.offset : array.offset + len(array)]
    return mask.astype(bool)


def primitive(array: Any) -> np.ndarray:
    """The values of an integer, float or boolean array (a view; null slots hold anything)."""
    import numpy as np
    import pyarrow as pa

    n = len(array)
    if pa.types.is_boolean(array.type):
        buffer = array.buffers()[1]
        if buffer is None:
            return np.zeros(n, dtype=bool)
        bits = np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), bitorder="little")
        return bits[array.offset : array.offset + n].astype(bool)
    name = _NUMPY.get(str(array.type))
    if name is None:
        return primitive(array.cast(pa.float64()))
    buffer = array.buffers()[1]
    if buffer is None or n == 0:
        return np.zeros(n, dtype=name)
    values: np.ndarray = np.frombuffer(buffer, dtype=name, count=array.offset + n)
    return values[array.offset :]


def as_float(array: Any) -> tuple[np.ndarray, int]:
    """Float64 values with NaN where a value is null, and the number of nulls."""
    import numpy as np

    array = flat(array)
    values = primitive(array)
    if values.dtype != np.float64:
        values = values.astype(np.float64)
    mask = valid(array)
    if mask is None:
        return values, 0
    values = np.where(mask, values, np.nan)
    return values, int(len(mask) - mask.sum())
