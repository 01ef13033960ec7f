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
]
