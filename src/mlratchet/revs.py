"""Revisions as the user types them: any git revision, or ``workspace``.

Every command that takes a revision resolves it here, so a new kind of reference (the model
registry's ``flight-delay#production``, ``flight-delay@v1.2.0``) is added in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlratchet.gitio import rev_parse

WORKSPACE = "workspace"


@dataclass(frozen=True)
class Revision:
    """A resolved revision: the text given, and the commit (None for the work tree)."""

    name: str
    sha: str | None

    @property
    def is_workspace(self) -> bool:
        """Whether this is the work tree rather than a commit."""
        return self.sha is None

    @property
    def short(self) -> str:
        """A label for tables: ``workspace`` or the first 7 hex digits of the commit."""
        return WORKSPACE if self.sha is None else self.sha[:7]


def resolve(repo: Path | str, text: str) -> Revision:
    """Resolve ``text``; an unknown revision is :class:`BadInputError` (exit 2) naming it."""
    if text == WORKSPACE:
        return Revision(WORKSPACE, None)
    return Revision(text, rev_parse(repo, text))
