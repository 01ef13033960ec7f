"""``ratchet report``: one Markdown report of what a pull request changes."""

from __future__ import annotations

from pathlib import Path

import click

from mlratchet.cli.options import option_json, option_policy, option_repo
from mlratchet.cli.render import echo_json, note


@click.command()
@click.option(
    "--base",
    required=True,
    metavar="REV",
    help="The revision the change is compared with (the pull request's base).",
)
@click.option(
    "--head",
    default="workspace",
    show_default=True,
    metavar="REV",
    help="The revision reported on (a git revision, or `workspace`).",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Write the report to FILE (atomically) instead of stdout.",
)
@click.option(
    "--summary",
    "summary_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Append the Markdown report to FILE (GitHub's $GITHUB_STEP_SUMMARY).",
)
@click.option(
    "--plots-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Also write full-size PNG charts into DIR (for the workflow's artifacts).",
)
@click.option(
    "--max-chars",
    type=click.IntRange(min=0),
    default=65_536,  # report.markdown.COMMENT_LIMIT (not imported here: --help stays light)
    show_default=True,
    metavar="N",
    help="Shorten the Markdown (--out, stdout) to at most N characters, GitHub's comment "
    "limit by default: fewer table rows, then no charts. 0: no limit.",
)
@option_json
@option_repo
@option_policy
def report(
    *,
    base: str,
    head: str,
    out_file: Path | None,
    summary_file: Path | None,
    plots_dir: Path | None,
    max_chars: int,
    as_json: bool,
    repo: Path,
    policy_file: Path | None,
) -> int:
    """Report what --head (default: the work tree) changes against --base, for a pull request.

    Metrics against the base and against production (with the verdict), params, the data and
    model hashes of dvc.lock, the data contract, the verify verdict, compute per stage, and
    Mermaid charts. The first line is the marker `<!-- mlratchet-report -->`.

    Exit 0 whenever the report is written, even if a check in it failed: the report informs,
    `ratchet metrics diff --check` and `ratchet verify` are the gates. An unknown revision is
    exit 2.
    """
    if as_json and summary_file is not None:
        raise click.UsageError("--summary appends Markdown; it cannot be used with --json")
    if 0 < max_chars < 1000:
        raise click.UsageError(f"--max-chars: {max_chars} is too short for a report (0 or >= 1000)")
    summary = ""
    from mlratchet.errors import BadInputError
    from mlratchet.report.build import build_report

    built = build_report(repo, base, head, plots_dir=plots_dir, policy_file=policy_file)
    if as_json:
        data = built.to_json()
        if out_file is None:
            echo_json(data)
            return 0
        from mlratchet.fsio import dumps_json

        text = dumps_json(data)
    else:
        from mlratchet.report.markdown import SUMMARY_LIMIT, render

        text = render(built, max_chars=max_chars or None)
        summary = render(built, max_chars=SUMMARY_LIMIT) if summary_file is not None else ""
    try:
        if out_file is not None:
            from mlratchet.fsio import write_text

            write_text(out_file, text)
            note(f"wrote {out_file}")
        if summary_file is not None:
            with summary_file.open("a", encoding="utf-8") as fh:
                if fh.tell() > 0:
                    fh.write("\n")
                fh.write(summary)
            note(f"appended to {summary_file}")
    except OSError as exc:
        where = exc.filename or out_file or summary_file
        raise BadInputError(f"{where}: cannot write the report: {exc.strerror}") from None
    if out_file is None and summary_file is None:
        click.echo(text, nl=False)
    failed = [c.name for c in built.checks if c.state == "failed"]
    if failed:
        note(f"report: checks failed ({', '.join(failed)}); exit 0, the report only informs")
    elif built.ok is None:
        note("report: no check ran: nothing was judged (this is not a pass)")
    return 0
