"""Revisions as the user types them: any git revision, ``workspace``, or a registry reference.

Every command that takes a revision resolves it here, so a new kind of reference is added in one
place. Registry references are GTO's shortcuts: ``flight-delay#production`` is the commit of the
version now in that stage, ``flight-delay@v1.2.0`` the commit registered as that version,
``flight-delay@latest`` the greatest registered version. (A stage assignment tag such as
``flight-delay#production#3`` is a plain git tag and resolves as one.) A stage the registry
audit finds inconsistent (a moved or future-dated assignment...) is refused: exit 3, as
``ratchet registry get`` refuses it.

A name that is no git revision may name an experiment (``refs/exps/...``, as ``dvc exp show``
lists it): the one of that name on HEAD's baseline, else the only one of that name anywhere;
one name on two other baselines is ambiguous (exit 2, listing them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlratchet.errors import BadInputError
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
    if "#" in text or "@" in text:
        from mlratchet.registry.state import find_shortcut, load_state, parse_shortcut

        shortcut = parse_shortcut(text)
        if shortcut is not None:
            state = load_state(repo)
            artifact = state.artifact(shortcut.artifact)
            registered = artifact is not None and (
                shortcut.version is None or artifact.find(shortcut.version) is not None
            )
            if registered:
                return Revision(text, find_shortcut(state, shortcut).commit)
            try:  # not in the registry: it may still be a plain git revision of that name
                return Revision(text, rev_parse(repo, text))
            except BadInputError:
                find_shortcut(state, shortcut)  # raises, saying what the registry lacks
                raise
    try:
        return Revision(text, rev_parse(repo, text))
    except BadInputError:
        sha = _experiment(repo, text)
        if sha is None:
            raise
        return Revision(text, sha)


def _experiment(repo: Path | str, text: str) -> str | None:
    """The commit of the experiment named ``text`` (see the module's docstring), or None."""
    from mlratchet.experiments.refs import find
    from mlratchet.gitio import GitError, head

    try:
        exp = find(repo, text, prefer=head(repo))
    except GitError:  # not a repository: rev_parse's own error says so
        return None
    return None if exp is None else exp.sha
