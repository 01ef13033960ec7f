"""``ratchet exp export --mlflow URL``: the experiments as runs of an MLflow tracking server."""

from __future__ import annotations

from pathlib import Path

import click

from mlratchet.cli.options import (
    option_exp_all,
    option_exp_baseline,
    option_json,
    option_policy,
    option_repo,
)
from mlratchet.cli.render import echo_json, note


@click.command("export")
@click.option(
    "--mlflow",
    "tracking_uri",
    metavar="URL",
    default=None,
    help="The MLflow tracking server's URL, e.g. http://127.0.0.1:5000 (a store such as "
    "sqlite:///mlflow.db is served by `mlflow server --backend-store-uri` first) "
    "[default: $MLFLOW_TRACKING_URI].",
)
@click.option(
    "--experiment",
    "experiment",
    metavar="NAME",
    default=None,
    help="The MLflow experiment to log into, created if missing [default: the repository's "
    "folder name].",
)
@option_exp_all
@option_exp_baseline
@option_json
@option_policy
@option_repo
def export(
    *,
    tracking_uri: str | None,
    experiment: str | None,
    all_baselines: bool,
    baseline: str | None,
    as_json: bool,
    policy_file: Path | None,
    repo: Path,
) -> int:
    """Log the experiments (and their baseline commit) into MLflow: one run each, with its
    params, metrics, commit and experiment ref as tags, and the environment it ran in.

    Idempotent: a run exported before is found by its commit (tag mlratchet.commit) and
    updated, never duplicated. Failed experiments become FAILED runs. Speaks MLflow's REST API:
    no MLflow package needed. Credentials: MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME
    and MLFLOW_TRACKING_PASSWORD.
    """
    from mlratchet.exitcodes import ExitCode
    from mlratchet.experiments.mlflow_export import export as export_runs

    result = export_runs(
        repo,
        tracking_uri=tracking_uri,
        experiment=experiment,
        all_baselines=all_baselines,
        baseline=baseline,
        policy_file=policy_file,
    )
    for warning in result.warnings:
        note(f"warning: {warning}")
    if as_json:
        echo_json(result.to_json())
        return ExitCode.OK
    for run in result.runs:
        click.echo(f"{run.action:9}  {run.run_id}  {run.name} ({run.status.lower()})")
    note(
        f"MLflow experiment {result.experiment!r} (id {result.experiment_id}) at "
        f"{result.tracking_uri}: {result.count('created')} created, "
        f"{result.count('updated')} updated, {result.count('unchanged')} unchanged"
    )
    return ExitCode.OK
