"""mlratchet: Git-centric reproducibility for machine learning.

The public API is what ``__all__`` names. Heavy dependencies (pandas, scikit-learn, DVC) are
imported inside the functions that need them, so importing this package is cheap.
"""

from mlratchet.errors import (
    BadInputError,
    CheckFailedError,
    ConflictError,
    HashMismatchError,
    IntegrityError,
    ParamsError,
    RatchetError,
    RefusedError,
)

__version__ = "0.1.0"

__all__ = [
    "BadInputError",
    "CheckFailedError",
    "ConflictError",
    "FieldError",
    "HashMismatchError",
    "IntegrityError",
    "ParamsError",
    "RatchetError",
    "RefusedError",
    "__version__",
    "atomic_path",
    "figure_png",
    "from_data",
    "limited_threads",
    "load_model",
    "read_table",
    "read_yaml",
    "run_stage",
    "save_figure",
    "save_model",
    "sha256_file",
    "validate_tables",
    "write_bytes",
    "write_json",
    "write_table",
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
    "atomic_path": ("mlratchet.fsio", "atomic_path"),
    "sha256_file": ("mlratchet.fsio", "sha256_file"),
    "read_table": ("mlratchet.tables", "read"),
    "write_table": ("mlratchet.tables", "write"),
    "read_yaml": ("mlratchet.yamlio", "load_yaml"),
    "from_data": ("mlratchet.typed", "from_data"),
    "FieldError": ("mlratchet.typed", "FieldError"),
    "limited_threads": ("mlratchet.runtime", "limited_threads"),
    "validate_tables": ("mlratchet.contracts.stage", "validate_tables"),
    "save_figure": ("mlratchet.pngio", "save_figure"),
    "figure_png": ("mlratchet.pngio", "figure_png"),
}


def __getattr__(name: str) -> object:
    """``save_model(model, path)``: write a model with skops, byte-stable, atomically.

    ``load_model(path)``: load one, refusing untrusted types (exit 5). ``write_bytes``,
    ``write_text``, ``write_json``: atomic writes (temporary file, then rename; JSON canonical:
    sorted keys, no NaN). ``run_stage(name, main)``: run a stage's ``main`` with pinned numeric
    kernels and the exit-code table. ``read_table``/``write_table``: Parquet, deterministic
    bytes. ``read_yaml``: YAML 1.2 as DVC reads it. ``from_data(cls, data, source=...)``: a
    frozen dataclass from parsed data, rejecting missing and unknown keys by name (raise
    ``FieldError`` in ``__post_init__``). ``limited_threads(n)``: BLAS/OpenMP threads pinned.
    ``validate_tables``: a stage's data-contract check. ``save_figure``, ``figure_png``:
    byte-stable PNG, as a file or as bytes.
    """
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mlratchet' has no attribute {name!r}")
