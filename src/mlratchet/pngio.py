"""PNG files from matplotlib figures, byte-stable: the one home of that mechanism.

PNG files carry no timestamp by default; we also drop the ``Software`` tag so that a matplotlib
upgrade alone does not change the bytes, and write atomically (temporary file, then rename).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from mlratchet.fsio import write_bytes


def figure_png(fig: Any, *, dpi: int = 100) -> bytes:
    """The PNG bytes of a matplotlib figure, with no metadata that changes between runs."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def save_figure(fig: Any, path: Path | str, *, dpi: int = 100) -> None:
    """Write a matplotlib figure to ``path`` as a byte-stable PNG, atomically."""
    write_bytes(path, figure_png(fig, dpi=dpi))
