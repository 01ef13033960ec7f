"""The ``ratchet`` command line: the Click layer, and only that.

Each command parses its arguments, makes one call into the library, renders the result, and
returns an exit code from :class:`mlratchet.exitcodes.ExitCode`. Commands live in their own
modules and are imported only when invoked (or listed by ``--help``), and those modules import
pandas, scikit-learn or DVC only inside command bodies, so ``ratchet --help`` stays instant.

Exit codes (``ratchet --help`` shows this table too):

====  =====================================================================================
0     ok
1     a check said no: not reproducible, invalid data, drift, gate refused, metric regressed
2     usage or bad input: unreadable file, unknown revision, bad name
3     integrity failure: a hash that does not match its record, a corrupt artifact
4     conflict or busy: tag exists elsewhere, push rejected, lock held, dirty worktree
5     refused for safety: an untrusted model type, a path escaping the repository
70    internal error: a bug; rerun with --traceback and report it
130   interrupted
141   stdout closed early (e.g. piped into ``head``), as for a tool killed by SIGPIPE
====  =====================================================================================
"""

from __future__ import annotations

from mlratchet.cli.group import RatchetGroup, main

__all__ = ["RatchetGroup", "cli", "main"]


def __getattr__(name: str) -> object:
    if name == "cli":
        from mlratchet.cli.group import cli

        return cli
    raise AttributeError(name)
