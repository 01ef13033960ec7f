"""mlratchet: Git-centric reproducibility for machine learning.

The public API is what ``__all__`` names. Heavy dependencies (pandas, scikit-learn, DVC) are
imported inside the functions that need them, so importing this package is cheap.
"""

from mlratchet.errors import (
    BadInputError,
    CheckFailedError,
    ConflictError,
    IntegrityError,
    RatchetError,
    RefusedError,
)

__version__ = "0.1.0"

__all__ = [
    "BadInputError",
    "CheckFailedError",
    "ConflictError",
    "IntegrityError",
    "RatchetError",
    "RefusedError",
    "__version__",
    "load_model",
    "run_stage",
    "save_model",
    "write_bytes",
    "write_json",
    "write_text",
]

#: The public functions a stage of any project calls, and where they live; imported on first
#: use so that ``import mlratchet`` stays cheap.
_LAZY = {
    "save_model": ("mlratchet.modelio", "save"),
    "load_model": ("mlratchet.modelio", "load"),
    "write_bytes": ("mlratchet.fsio", "write_bytes"),
    "write_json": ("mlratchet.fsio", "write_json"),
    "write_text": ("mlratchet.fsio", "write_text"),
    "run_stage": ("mlratchet.stagerun", "run_stage"),
}


def __getattr__(name: str) -> object:
    """``save_model(model, path)``: write a model with skops, byte-stable, atomically.

    ``load_model(path)``: load one, refusing untrusted types (exit 5). ``write_bytes``,
    ``write_text``, ``write_json``: atomic writes (temporary file, then rename; JSON canonical:
    sorted keys, no NaN). ``run_stage(name, main)``: run a stage's ``main`` with pinned numeric
    kernels and the exit-code table.
    """
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mlratchet' has no attribute {name!r}")
