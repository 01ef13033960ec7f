"""``ratchet serve``: the model a registry reference names, verified, behind HTTP."""

from __future__ import annotations

from pathlib import Path

import click

from mlratchet.cli.options import option_json, option_repo
from mlratchet.cli.render import echo_json, note


@click.command()
@click.argument("ref", required=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="The TCP port."
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Server processes (each verifies and loads the model).",
)
@click.option(
    "-c",
    "--contract",
    "contract_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Check requests against this contract's rules for the model's input columns "
    "[default: their types in the training rows, monitor.reference].",
)
@click.option(
    "--max-body-bytes",
    type=click.IntRange(1),
    default=10 << 20,
    show_default=True,
    help="Refuse a larger request body (413).",
)
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Append inputs, predictions, model version and request time to Parquet files here "
    "(`ratchet monitor DIR` reads them).",
)
@click.option(
    "--flush-rows", type=click.IntRange(1), default=1000, show_default=True, help="Log batch."
)
@click.option(
    "--flush-seconds",
    type=click.FloatRange(0.01),
    default=5.0,
    show_default=True,
    help="Write the log at least this often.",
)
@click.option(
    "--rotate-mb",
    type=click.FloatRange(0.001),
    default=8.0,
    show_default=True,
    help="Start a new log file past this size (each flush rewrites the current file whole).",
)
@click.option(
    "--rotate-seconds",
    type=click.FloatRange(1),
    default=3600.0,
    show_default=True,
    help="Start a new log file this often.",
)
@click.option(
    "--batch-wait-ms",
    type=click.FloatRange(0),
    default=0.0,
    show_default=True,
    help="Gather concurrent requests' rows into one model call, waiting at most this long "
    "for more (0: every request is its own call).",
)
@click.option(
    "--max-batch-rows",
    type=click.IntRange(1),
    default=256,
    show_default=True,
    help="Rows in one gathered model call, at most.",
)
@click.option(
    "--threads",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Compute threads (OpenMP, BLAS) the model uses in each worker process; scale with "
    "--workers instead: many threads per small request cost latency.",
)
@click.option("--remote", default=None, help="The DVC remote to fetch the model from.")
@click.option(
    "--follow",
    is_flag=True,
    help="Watch the stage (REF must be NAME#STAGE) and swap in each newly promoted version "
    "once verified and smoke-checked; a refused one leaves the old serving.",
)
@click.option(
    "--follow-interval",
    type=click.FloatRange(0.1),
    default=30.0,
    show_default=True,
    help="Seconds between two looks at the registry (--follow).",
)
@click.option(
    "--follow-remote",
    default=None,
    help="The git remote whose new tags --follow fetches [default: origin if it exists, "
    "else the local tags only].",
)
@click.option(
    "--check",
    is_flag=True,
    help="Verify and load the model, print what would be served, and exit.",
)
@click.option(
    "--manifest",
    is_flag=True,
    help="Print a Kubernetes Deployment and Service running this command, and exit.",
)
@option_repo
@option_json
def serve(  # noqa: PLR0917 - Click passes each option as an argument
    ref: str | None,
    host: str,
    port: int,
    workers: int,
    contract_path: Path | None,
    max_body_bytes: int,
    log_dir: Path | None,
    flush_rows: int,
    flush_seconds: float,
    rotate_mb: float,
    rotate_seconds: float,
    batch_wait_ms: float,
    max_batch_rows: int,
    threads: int,
    remote: str | None,
    follow: bool,
    follow_interval: float,
    follow_remote: str | None,
    check: bool,
    manifest: bool,
    repo: Path,
    as_json: bool,
) -> int:
    """Serve the model REF names over HTTP (MLflow's /invocations, KServe v1, /metrics).

    REF is NAME#STAGE, NAME@vX.Y.Z or a git revision [default: the artifact's last stage in
    ratchet.yaml]. The model starts only if its bytes match dvc.lock and the promotion's
    model card (exit 3), its types are trusted (exit 5) and its stage's tags are consistent
    (exit 3). Requests are checked before the model (422 lists every failure). SIGTERM drains
    the requests in flight and flushes the log. --follow swaps in the stage's newly promoted
    versions. See docs/serving.md.
    """
    from mlratchet.serve.server import ServeOptions, load
    from mlratchet.serve.server import serve as run_server

    options = ServeOptions(
        repo=str(repo),
        reference=ref,
        contract=str(contract_path) if contract_path else None,
        remote=remote,
        host=host,
        port=port,
        workers=workers,
        max_body_bytes=max_body_bytes,
        log_dir=str(log_dir) if log_dir else None,
        flush_rows=flush_rows,
        flush_seconds=flush_seconds,
        rotate_bytes=int(rotate_mb * (1 << 20)),
        rotate_seconds=rotate_seconds,
        batch_wait_ms=batch_wait_ms,
        max_batch_rows=max_batch_rows,
        threads=threads,
        follow=follow,
        follow_interval=follow_interval,
        follow_remote=follow_remote,
    )
    if manifest:
        from mlratchet.serve.manifest import manifest as build_manifest

        click.echo(build_manifest(options), nl=False)
        return 0
    loaded = load(options)
    info = loaded.info()
    if check:
        if as_json:
            echo_json(info)
        note(
            f"{info['reference']}: {info['name']} {info['version']} ({info['commit'][:7]}), "
            f"md5 {info['model_md5']} checked, {len(info['inputs'])} inputs"
        )
        return 0
    following = f", following {info['reference']}" if follow else ""
    note(
        f"serving {info['name']} {info['version']} ({info['commit'][:7]}, md5 "
        f"{info['model_md5']}) on http://{host}:{port} ({workers} worker"
        f"{'s' if workers > 1 else ''}){following}; SIGTERM or Ctrl-C stops it"
    )
    run_server(options, loaded)
    note("stopped")
    return 0
