"""``ratchet validate``: check data against a contract and report every failure."""

from __future__ import annotations

from pathlib import Path

import click

from mlratchet.cli.options import option_json, option_md
from mlratchet.cli.render import echo_json, fail, note


@click.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "-c",
    "--contract",
    "contract_path",
    type=click.Path(path_type=Path),
    required=True,
    help="The contract file (YAML) to check against.",
)
@click.option(
    "--stream/--in-memory",
    default=None,
    help="Read Parquet row group by row group, or whole [default: stream above 2M rows].",
)
@option_json
@option_md
def validate(
    data: Path, contract_path: Path, stream: bool | None, as_json: bool, as_md: bool
) -> int:
    """Check DATA (Parquet or CSV) against a contract; report every failing rule at once.

    Each failure names the column, the rule, how many rows fail it, and a few example values
    with their row numbers (0-based data rows). Exit 0 valid, 1 invalid, 2 when the data or
    the contract cannot be read.
    """
    from mlratchet.contracts import validate_file
    from mlratchet.contracts.report import markdown, summary

    report = validate_file(data, contract_path, stream=stream)
    if as_json:
        echo_json(report)
    elif as_md:
        click.echo(markdown(report), nl=False)
    elif report["failures"]:
        click.echo(summary(report))
    verdict = (
        f"{data}: {report['rows']} rows, {report['rules']} rules, {len(report['failures'])} failed"
    )
    if report["valid"]:
        note(f"{verdict}: valid")
        return 0
    fail(f"{verdict}: invalid")
    return 1
