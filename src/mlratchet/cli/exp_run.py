"""``ratchet exp run`` (a sweep of DVC experiments) and ``ratchet exp branch``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mlratchet.cli.options import option_json, option_repo
from mlratchet.cli.render import echo_json, note


@click.command()
@click.option(
    "-S",
    "--set-param",
    "specs",
    multiple=True,
    metavar="[FILE:]KEY=V1,V2",
    help="Sweep a param over values (YAML; range(START,STOP[,STEP])); several -S make a grid.",
)
@click.option(
    "--sweep",
    "sweep_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A sweep file: listed points and/or random points drawn from a seed.",
)
@click.option(
    "-j",
    "--jobs",
    default=None,
    type=click.IntRange(1, 1024),
    help="Experiments run at once, each in its own workspace "
    "[default: 1; on a cluster, its workers' threads].",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Run on a Dask cluster (tcp://HOST:PORT): workers clone the git remote, pull and "
    "push through the DVC remote, and push the experiment refs back.",
)
@click.option(
    "--git-remote",
    default="origin",
    show_default=True,
    help="With --scheduler: the git remote the workers clone from and push refs to.",
)
@click.option(
    "--dvc-remote",
    default=None,
    help="With --scheduler: the DVC remote the workers use [default: the project's default].",
)
@click.option(
    "-n",
    "--name",
    default=None,
    help="The experiment's name (NAME-1, NAME-2... "
    "for several points); default exp-<digest of the point>.",
)
@option_repo
@option_json
def run(
    *,
    specs: tuple[str, ...],
    sweep_file: Path | None,
    jobs: int | None,
    scheduler: str | None,
    git_remote: str,
    dvc_remote: str | None,
    name: str | None,
    repo: Path,
    as_json: bool,
) -> int:
    """Run a sweep of params as DVC experiments of HEAD (refs/exps; `dvc exp show` sees them).

    Each experiment runs `ratchet repro` in its own temporary clone; the user's work tree is not
    touched. A failed experiment is recorded with its error and the sweep goes on; a point
    equal to an existing experiment's is reused. Exit 1 when any experiment failed.

    With --scheduler the experiments run on a Dask cluster's workers instead; HEAD must be on
    the git remote, and the workers need mlratchet and the project's dependencies installed.
    """
    from mlratchet.exitcodes import ExitCode
    from mlratchet.experiments import points, sweep

    found = points.grid(specs) if specs else []
    if sweep_file is not None:
        from mlratchet.yamlio import load_yaml

        found += points.from_sweep_file(load_yaml(sweep_file), str(sweep_file))
    cluster = None
    if scheduler is not None:
        from mlratchet.experiments.cluster import Cluster

        cluster = Cluster(scheduler, git_remote, dvc_remote)
    report = sweep.run(
        repo,
        found,
        jobs=jobs or (None if cluster else 1),
        name=name,
        on_event=_progress,
        cluster=cluster,
    )
    for o in report.outcomes:
        if o.status == "reused":
            note(f"{o.name}: the same params as an existing experiment; reused")
    if as_json:
        echo_json(report.to_json())
    else:
        for o in report.outcomes:
            sha = (o.sha or "")[:7] or "-"
            click.echo(f"{o.name}\t{o.status}\t{sha}\t{points.point_text(o.point)}")
    return ExitCode.OK if report.ok else ExitCode.CHECK_FAILED


def _progress(event: Any) -> None:
    if event.kind != "finished" or event.outcome is None:
        return
    o = event.outcome
    line = (
        f"[{event.done}/{event.total}] {o.name} {o.status} in {o.seconds:.1f} s "
        f"({event.running} running, {event.failed} failed, {event.elapsed:.0f} s elapsed)"
    )
    if o.status == "failed" and o.error:
        line += f": {o.error.splitlines()[0]}"
    note(line)


@click.command()
@click.argument("experiment")
@click.argument("branch_name", required=False)
@option_repo
@option_json
def branch(*, experiment: str, branch_name: str | None, repo: Path, as_json: bool) -> int:
    """Make a branch (default exp/NAME) at an experiment's commit, ready for a pull request.

    Promotion never starts from an experiment ref: push the branch, open the pull request, and
    CI, `ratchet verify` and the registry's gates apply as to any change.
    """
    from mlratchet.exitcodes import ExitCode
    from mlratchet.experiments import refs
    from mlratchet.gitio import toplevel

    result = refs.branch(toplevel(repo), experiment, branch_name)
    if as_json:
        echo_json(result.to_json())
    else:
        click.echo(result.branch)
        note(
            f"branch {result.branch} at {(result.exp.sha or '')[:7]} "
            f"(experiment {result.exp.name}); push it and open a pull request: "
            f"git push -u origin {result.branch}"
        )
    return ExitCode.OK
