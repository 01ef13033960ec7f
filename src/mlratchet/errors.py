"""Errors the user can act on.

One base class, :class:`RatchetError`, and one subclass per row of the exit-code table. The core
raises them and never decides an exit code; :mod:`mlratchet.exitcodes` maps them. A subclass
that has a recurring shape builds its own message, so the wording stays the same everywhere.

A *check* that says no (a metric regressed, data failed its contract) is a result, not an
error: functions return a report and the CLI turns a failed report into exit 1.
:class:`CheckFailedError` exists for places that cannot return, such as a pipeline stage that
must stop the pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar


class RatchetError(Exception):
    """Base class of every error mlratchet raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what caused it (``__cause__``, else ``__context__``), outermost first,
    each once (a cycle ends the walk)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        yield current
        current = current.__cause__ or current.__context__


_E = TypeVar("_E", bound=BaseException)


def find_in_chain(exc: BaseException, kind: type[_E]) -> _E | None:
    """The first exception of type ``kind`` in ``exc``'s :func:`chain`, or None."""
    return next((e for e in chain(exc) if isinstance(e, kind)), None)


class CheckFailedError(RatchetError):
    """A check ran and said no (exit 1)."""


class BadInputError(RatchetError):
    """Bad input or usage: an unreadable file, a bad value, an unknown revision (exit 2)."""


class IntegrityError(RatchetError):
    """A hash does not match its record, or an artifact or registry is corrupt (exit 3)."""


class ConflictError(RatchetError):
    """A conflict or a busy resource: tag exists elsewhere, lock held, dirty worktree (exit 4)."""


class RefusedError(RatchetError):
    """Refused for safety: an untrusted model type, a path escaping the repository (exit 5)."""


class ParamsError(BadInputError):
    """A params file is malformed, or a key in it is missing, unknown or of the wrong type."""

    def __init__(self, path: Path | str, key: str | None, problem: str) -> None:
        where = f"{path}: {key}" if key else f"{path}"
        super().__init__(f"{where}: {problem}")
        self.path = str(path)
        self.key = key
        self.problem = problem


class HashMismatchError(IntegrityError):
    """A file's content hash differs from the value it is pinned to."""

    def __init__(self, path: Path | str, expected: str, actual: str, *, record: str) -> None:
        super().__init__(
            f"{path}: {record} expects {expected} but the file hashes to {actual}; "
            "the file was modified or corrupted"
        )
        self.path = str(path)
        self.expected = expected
        self.actual = actual


#: Top-level modules of mlratchet's optional extras, and the extra that brings each.
EXTRAS = {
    "numpy": "data",
    "pandas": "data",
    "pyarrow": "data",
    "scipy": "data",
    "threadpoolctl": "data",
    "sklearn": "sklearn",
    "skops": "sklearn",
    "matplotlib": "plots",
    "dvc_s3": "s3",
    "starlette": "serve",
    "uvicorn": "serve",
}


class MissingExtraError(BadInputError):
    """A capability needs an optional dependency that is not installed (exit 2)."""

    def __init__(self, module: str) -> None:
        extra = EXTRAS[module]
        super().__init__(
            f"this needs {module}, which mlratchet installs with its {extra!r} extra: "
            f"pip install 'mlratchet[{extra}]'"
        )
        self.module = module
        self.extra = extra


def missing_extra(exc: ModuleNotFoundError) -> MissingExtraError | None:
    """The extra to install when ``exc`` is an optional dependency that is absent, else None."""
    top = (exc.name or "").split(".")[0]
    return MissingExtraError(top) if top in EXTRAS else None
