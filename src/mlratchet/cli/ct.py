"""``ratchet ct``: continuous training: new data in, retrain, verify, commit, push, promote."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlratchet.cli.options import option_json, option_policy, option_repo
from mlratchet.cli.render import echo_json, fail, note
from mlratchet.exitcodes import ExitCode

if TYPE_CHECKING:
    from mlratchet.ct import CtRun

#: The outcome of a run -> the exit code (errors map through the group's table).
OUTCOME_EXIT: dict[str, ExitCode] = {
    "promoted": ExitCode.OK,
    "nothing new": ExitCode.OK,
    "committed": ExitCode.OK,
    "gates refused": ExitCode.CHECK_FAILED,
    "not reproducible": ExitCode.CHECK_FAILED,
}

_MESSAGES = {
    "promoted": "promoted {artifact} to {stage} ({tag})",
    "nothing new": "nothing new: the pipeline's results are those at HEAD; no commit",
    "committed": "committed {commit} (not promoted: --no-promote)",
    "gates refused": "{stage}'s gates refused {commit}: the commit stays, no tag",
    "not reproducible": "{commit} is not reproducible: not pushed, not promoted",
}


def _table(run: CtRun) -> None:
    from mlratchet.cli.progress import Cell, Column, print_table

    styles = {"ok": "green", "nothing new": "green", "skipped": ""}
    rows = [
        [Cell(s.step), Cell(s.result, styles.get(s.result, "red")), Cell(s.detail)]
        for s in run.steps
    ]
    print_table("ratchet ct", (Column("step"), Column("result"), Column("detail")), rows)


@click.command("ct")
@option_policy
@click.option("--no-push", is_flag=True, help="Do not push the commit, notes, data or tags.")
@click.option("--no-promote", is_flag=True, help="Stop after verify (and push): no promotion.")
@click.option("--pull", is_flag=True, help="Pull inputs and the run-cache from the DVC remote.")
@option_repo
@option_json
def ct(
    *,
    policy_file: Path | None,
    no_push: bool,
    no_promote: bool,
    pull: bool,
    repo: Path,
    as_json: bool,
) -> int:
    """Continuous training: new data in, retrain, verify, commit, push, promote.

    Runs the `ct.refresh` commands of ratchet.yaml in the DVC root, `ratchet repro`, commits
    dvc.lock, the git-tracked outputs and `ct.commit`, `ratchet verify`s that commit, pushes
    it with its notes to `ct.remote` (and `dvc push`), then promotes `ct.artifact` to
    `ct.stage` through the gates, pushing the tags. Any failure before the commit restores
    the work tree to HEAD.

    Exit 0: promoted, or nothing new (no commit). 1: not reproducible, or the gates refused
    (the commit stays, no tag). 2: no ct.refresh, or a refresh command failed. 4: dirty work
    tree, or a push was rejected.
    """
    from mlratchet.ct import run_ct

    run = run_ct(repo, policy_file=policy_file, push=not no_push, promote=not no_promote, pull=pull)
    if as_json:
        echo_json(run.to_json())
    else:
        _table(run)
    message = _MESSAGES[run.outcome].format(
        artifact=run.artifact, stage=run.stage, tag=run.tag, commit=(run.commit or "")[:7]
    )
    code = OUTCOME_EXIT[run.outcome]
    (note if code == ExitCode.OK else fail)(f"ct: {message}")
    return int(code)
