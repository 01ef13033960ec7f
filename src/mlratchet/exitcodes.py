"""The exit-code table: the one place that turns an outcome into a process status.

CI reads these codes to tell "the check ran and said no" (1) from "the input was wrong" (2) and
from "the tool broke" (70). Shared by the ``ratchet`` CLI and the pipeline's stage scripts.
"""

from __future__ import annotations

from enum import IntEnum

from mlratchet import errors


class ExitCode(IntEnum):
    """Process exit statuses of ``ratchet`` and of the stage scripts."""

    OK = 0
    CHECK_FAILED = 1  # a check said no: not reproducible, invalid data, drift, gate refused
    BAD_INPUT = 2  # bad input: unreadable file, unknown revision; disk full, read-only, denied
    INTEGRITY = 3  # a hash that does not match its record, a corrupt artifact or registry
    CONFLICT = 4  # tag exists elsewhere, push rejected, lock held, dirty worktree
    REFUSED = 5  # refused for safety: untrusted model type, a path escaping the repo
    INTERNAL = 70  # a bug: rerun with --traceback and report it
    INTERRUPTED = 130  # Ctrl-C


_BY_ERROR: tuple[tuple[type[errors.RatchetError], ExitCode], ...] = (
    (errors.CheckFailedError, ExitCode.CHECK_FAILED),
    (errors.BadInputError, ExitCode.BAD_INPUT),
    (errors.IntegrityError, ExitCode.INTEGRITY),
    (errors.ConflictError, ExitCode.CONFLICT),
    (errors.RefusedError, ExitCode.REFUSED),
)


def exit_code_for(error: errors.RatchetError) -> ExitCode:
    """The exit code for an error raised on purpose (a bare RatchetError counts as bad input)."""
    for cls, code in _BY_ERROR:
        if isinstance(error, cls):
            return code
    return ExitCode.BAD_INPUT
