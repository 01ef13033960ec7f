"""``ratchet contract``: write a data contract from reference data."""

from __future__ import annotations

from pathlib import Path

import click

from mlratchet.cli.render import note
from mlratchet.errors import ConflictError


class ContractExistsError(ConflictError):
    """The output contract file exists (a reviewed contract is not overwritten silently)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path}: already exists; pass --force to overwrite it")


@click.group()
def contract() -> None:
    """Data contracts: columns, types, null rates, ranges, categories, uniqueness."""


@contract.command("infer")
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the contract to this file (e.g. contracts/NAME.yaml); default: stdout.",
)
@click.option(
    "--margin",
    type=click.FloatRange(0, 10),
    default=0.1,
    show_default=True,
    help="Widen each numeric range by this share of its width on each side.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
def infer(data: Path, output: Path | None, margin: float, force: bool) -> int:
    """Infer a contract from reference DATA (Parquet or CSV), for a person to review.

    The contract lists every column with its type, whether it may be missing (and the highest
    share missing), numeric ranges widened by --margin, allowed categories and uniqueness.
    Review it, edit it, and commit it next to the pipeline.
    """
    from mlratchet.contracts import dumps_contract
    from mlratchet.contracts import infer as infer_contract
    from mlratchet.fsio import write_text

    if output is not None and output.exists() and not force:
        raise ContractExistsError(output)
    text = dumps_contract(
        infer_contract(data, margin=margin),
        header=(
            f"Data contract inferred by `ratchet contract infer {data}`.\n"
            "Review it, edit it, commit it; `ratchet validate DATA --contract FILE` checks data."
        ),
    )
    if output is None:
        click.echo(text, nl=False)
    else:
        write_text(output, text)
        note(f"wrote {output}")
    return 0
