"""Options shared by commands, defined once (as GTO does)."""

from __future__ import annotations

from pathlib import Path

import click

option_json = click.option(
    "--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout."
)
option_md = click.option("--md", "as_md", is_flag=True, help="Print a Markdown table on stdout.")
option_repo = click.option(
    "-R",
    "--repo",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=Path(),
    show_default=True,
    envvar="RATCHET_REPO",
    help="The repository to work in.",
)
option_params_file = click.option(
    "--params",
    "params_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("params.yaml"),
    show_default=True,
    help="The params file.",
)

option_policy = click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The policy file [default: ratchet.yaml in the DVC root, at the revision judged].",
)

# --- metrics and params (issue 4) ----------------------------------------------------------
option_precision = click.option(
    "--precision",
    type=int,
    default=None,
    metavar="N",
    help="Round floats to N digits after the decimal point (default 5; 0 means 5, as in DVC).",
)
option_csv = click.option("--csv", "as_csv", is_flag=True, help="Print CSV on stdout.")
option_all = click.option(
    "--all", "show_all", is_flag=True, help="Show unchanged values as well (as DVC's --all)."
)


def exclusive(**flags: bool) -> None:
    """At most one of the output-format flags: a usage error (exit 2) otherwise."""
    chosen = [f"--{name.replace('_', '-')}" for name, on in flags.items() if on]
    if len(chosen) > 1:
        raise click.UsageError(f"{' and '.join(chosen)} cannot be used together")


# --- experiments (issue 13): which baselines' experiments a command reads ------------------
option_exp_all = click.option(
    "--all", "all_baselines", is_flag=True, help="Experiments of every baseline, not only HEAD's."
)
option_exp_baseline = click.option(
    "--baseline",
    metavar="REV",
    default=None,
    help="The experiments of this baseline commit [default: HEAD].",
)

# --- end of metrics and params ---------------------------------------------------------------


# --- data locations (issue 16) -------------------------------------------------------------
class PathOrUrl(click.ParamType["Path | str", "Path | str"]):
    """A local path (a ``Path``) or a URL such as ``s3://bucket/prefix`` (kept as text: a
    ``Path`` would fold its ``//``)."""

    name = "path_or_url"

    def convert(
        self, value: Path | str, param: click.Parameter | None, ctx: click.Context | None
    ) -> Path | str:
        if isinstance(value, Path):
            return value
        text = str(value)
        return text if "://" in text else Path(text)


PATH_OR_URL = PathOrUrl()
