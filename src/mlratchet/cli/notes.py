"""``ratchet notes pull|push``: share the git notes (compute records, verdicts) with a remote."""

from __future__ import annotations

from pathlib import Path

import click

from mlratchet.cli.options import option_json, option_repo
from mlratchet.cli.render import echo_json, note
from mlratchet.exitcodes import ExitCode

option_remote = click.option(
    "--remote",
    default="origin",
    show_default=True,
    help="The git remote (a name, URL or path) to share the notes with.",
)

_PULLED = {
    "no-remote-notes": "{remote} has no mlratchet notes yet",
    "created": "fetched {changed} note(s) from {remote}",
    "up-to-date": "notes already up to date with {remote}",
    "fast-forward": "fetched {changed} new or updated note(s) from {remote}",
    "merged": "merged {remote}'s notes: {changed} note(s) added or updated here",
}


@click.group()
def notes() -> None:
    """Share mlratchet's git notes (refs/notes/mlratchet) with a remote, merging line by line."""


@notes.command()
@option_remote
@option_repo
@option_json
def pull(remote: str, repo: Path, as_json: bool) -> int:
    """Fetch the remote's notes and merge them into the local ones (no record is lost)."""
    from mlratchet import notes as lib

    result = lib.pull(repo, remote)
    if as_json:
        echo_json(result.to_json())
    else:
        note(_PULLED[result.status].format(remote=remote, changed=result.changed))
    return ExitCode.OK


@notes.command()
@option_remote
@option_repo
@option_json
def push(remote: str, repo: Path, as_json: bool) -> int:
    """Pull, then push the merged notes; retry if another clone pushed in between (exit 4)."""
    from mlratchet import notes as lib

    result = lib.push(repo, remote)
    if as_json:
        echo_json(result.to_json())
    elif result.pushed:
        note(f"pushed {lib.NOTES_REF} to {remote}")
    elif result.commit is None:
        note(f"no mlratchet notes here or on {remote}: nothing to push")
    else:
        note(f"{remote} already has these notes")
    return ExitCode.OK
