"""``ratchet verify``: re-run a commit's pipeline from scratch and compare it with its dvc.lock."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlratchet.cli.options import option_json, option_md, option_repo
from mlratchet.cli.render import echo_json, fail, note

if TYPE_CHECKING:
    from mlratchet.reproduce.verifier import StageCheck, VerifyReport


def _markdown(report: VerifyReport) -> str:
    lines = [
        f"**ratchet verify {report.sha[:7]}**: {report.verdict}",
        "",
        "| stage | status | output | dvc.lock md5 | re-run md5 | how |",
        "|---|---|---|---|---|---|",
    ]
    for check in report.stages:
        for out in check.outputs:
            lines.append(
                f"| {check.stage} | {out.status} | {out.path} | {out.expected or '-'} "
                f"| {out.actual or '-'} | {_how(check)} |"
            )
    lines += [f"- stale: {problem}" for problem in report.stale]
    lines += [f"- warning: {warning}" for warning in report.warnings]
    return "\n".join(lines) + "\n"


def _how(check: StageCheck) -> str:
    """How a stage was proven: re-run here, or by an earlier verify's record (sha, when)."""
    by = check.proven_by
    if by is None:
        return "re-run" if check.run is not None else "not run"
    return f"proven by the verify of {by.rev[:7]} ({by.verified_at})"


def _print_table(report: VerifyReport) -> None:
    from mlratchet.cli.progress import Cell, Column, mib, print_table, seconds

    columns = (
        Column("stage"),
        Column("result"),
        Column("run", right=True),
        Column("CPU", right=True),
        Column("peak RSS", right=True),
        Column("outputs"),
        Column("how"),
    )
    styles = {"identical": "green", "differs": "red", "missing": "red"}
    rows = []
    for check in report.stages:
        differing = [o for o in check.outputs if o.status != "identical"]
        detail = ", ".join(f"{o.path} {o.status}" for o in differing) or (
            f"{len(check.outputs)} identical"
        )
        run = check.run
        rows.append(
            [
                Cell(check.stage),
                Cell(check.status, styles[check.status]),
                Cell(seconds(run.seconds if run else None)),
                Cell(seconds(run.cpu_s if run else None)),
                Cell(mib(run.peak_rss_mib if run else None)),
                Cell(detail),
                Cell(_how(check)),
            ]
        )
    print_table(f"ratchet verify {report.sha[:7]}", columns, rows)


def _explain(report: VerifyReport) -> None:
    """Name each stage and output that did not reproduce, with both hashes, on stderr."""
    for check in report.stages:
        for out in check.outputs:
            if out.status == "differs":
                fail(
                    f"stage '{check.stage}' is not reproducible: {out.path} was "
                    f"{out.expected} in dvc.lock, {out.actual} when re-run"
                )
            elif out.status == "missing":
                why = check.run.error if check.run and check.run.error else "not made"
                fail(f"stage '{check.stage}': {out.path} is missing ({why})")
        if check.run is not None and check.run.stderr_tail:
            fail("  end of its stderr:\n    " + check.run.stderr_tail.replace("\n", "\n    "))


@click.command("verify")
@click.option(
    "--rev",
    default="HEAD",
    show_default=True,
    help="The commit to verify (any git revision).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Run up to N independent stages at once (a single-chain pipeline runs one by one).",
)
@click.option("--keep", is_flag=True, help="Keep the temporary checkout and print where it is.")
@click.option(
    "--full",
    is_flag=True,
    help="Re-run every stage, even those an earlier verify's record proves.",
)
@option_repo
@option_json
@option_md
def verify(
    *, rev: str, jobs: int, keep: bool, full: bool, repo: Path, as_json: bool, as_md: bool
) -> int:
    """Prove that a commit's pipeline reproduces its dvc.lock bit for bit.

    Re-runs the stages of the commit from scratch in a temporary clone (its own empty DVC
    cache, no run-cache) and compares each output's md5 with the commit's dvc.lock. A stage
    whose command, dependency hashes, params and environment (Python, packages, platform,
    CPU) are those of a stage an earlier verify re-ran with the same outputs, on any commit,
    is proven by that record: its outputs are fetched and re-hashed, not re-made (--full
    re-runs it). Your work tree, index, DVC cache and branches are not touched. The verdict,
    and what it proved per stage, is stored in the git note refs/notes/mlratchet of the
    commit (key `verify`).

    Exit 0: every output identical. 1: an output differs or is missing (the stage and the
    output are named). 2: unknown revision, or no dvc.lock at it. 3: the committed dvc.lock
    is stale (inconsistent with its own dvc.yaml, params or files); nothing was run.
    """
    from mlratchet.cli.progress import StageDisplay
    from mlratchet.reproduce import verify as run_verify

    with StageDisplay("verify") as display:
        report = run_verify(repo, rev, jobs=jobs, keep=keep, full=full, on_event=display)
    if as_json:
        echo_json(report.to_json())
    elif as_md:
        click.echo(_markdown(report), nl=False)
    elif report.stages:
        _print_table(report)
    if report.workdir:
        note(f"kept the temporary checkout: {report.workdir}")
    for warning in report.warnings:
        fail(f"warning: {warning}")
    if report.note_error:
        fail(f"warning: the verdict was not stored in the git note: {report.note_error}")
    if report.verdict == "stale":
        fail(
            f"dvc.lock at {rev} ({report.sha[:7]}) is stale: it does not match its own "
            "dvc.yaml, params or files, so it cannot be verified; run `dvc repro` and commit"
        )
        for problem in report.stale:
            fail(f"  {problem}")
        return 3
    if not report.ok:
        _explain(report)
        return 1
    proven = len(report.proven)
    how = f" ({len(report.stages) - proven} stages re-run, {proven} proven by record)"
    note(
        f"{report.sha[:7]}: every output of dvc.lock reproduced bit for bit"
        + (how if proven else "")
    )
    return 0
