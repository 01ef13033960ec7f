"""`ratchet serve` against `mlflow models serve --env-manager local`: the same model, the same
machine, loopback only: requests per second and p50/p99 latency for 1-row and 100-row requests
at concurrency 1, 8 and 32 (wrk, Debian's package, one connection per concurrent client).

The model is the reference project's (trained in a scratch copy: benchmarks/.work/serve). MLflow
serves the same fitted estimator, loaded from our skops file inside MLflow's own virtual
environment (benchmarks/.venv-mlflow, `make mlflow-venv`) and saved with its sklearn flavour
(`pyfunc_predict_fn="predict_proba"`, so both sides compute probabilities). Both get the same
request bodies (MLflow's `dataframe_split`) and the same number of server processes. ratchet
serves with adaptive batching (`--batch-wait-ms`); every answer must be 200 on both sides.

Each (rows, concurrency) cell runs both sides alternately, `--reps` times, for `--seconds` each,
after a short warm-up; medians are reported. Bounded: at most reps x 12 runs of `--seconds`.

Usage: python benchmarks/bench_serve.py [--seconds 8] [--reps 3] [--workers 1] [--batch-wait-ms 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from harness import RESULTS, project_env, scratch_copy, tool

WORK = Path(__file__).parent / ".work" / "serve"
MLFLOW_PY = Path(__file__).parent / ".venv-mlflow" / "bin" / "python"
CONCURRENCY = (1, 8, 32)
ROWS = (1, 100)

SAVE_FOR_MLFLOW = """
import sys, mlflow.sklearn, skops.io as sio
src, dest = sys.argv[1], sys.argv[2]
model = sio.load(src, trusted=sio.get_untrusted_types(file=src))
mlflow.sklearn.save_model(
    model, dest, pyfunc_predict_fn="predict_proba",
    skops_trusted_types=sio.get_untrusted_types(file=src),
)
"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BODY_FILE"), "rb")
wrk.body = f:read("*a")
f:close()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited ({proc.returncode}) before it was ready: {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"not ready after {seconds} s: {url}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wrk(url: str, connections: int, seconds: int, body: Path, script: Path) -> dict[str, float]:
    """One wrk run: requests/s, p50 and p99 latency (ms), and non-200 answers."""
    out = subprocess.run(
        [
            "wrk",
            "-t",
            "1",
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "BODY_FILE": str(body)},
    ).stdout

    def ms(label: str) -> float:
        found = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not found:
            sys.exit(f"no {label}% latency in wrk's output:\n{out}")
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50": ms("50"),
        "p99": ms("99"),
        "bad": float(bad.group(1)) if bad else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def prepare(work: Path) -> tuple[Path, list[str], Path]:
    """Train the reference model in a scratch copy; its skops file, inputs and a row file."""
    import pandas as pd

    from mlratchet import load_model

    env = project_env(work)
    env["PYTHONPATH"] = f"{work / 'src'}:{work / 'flightdelay' / 'src'}"
    subprocess.run([tool("dvc"), "repro", "--quiet"], cwd=work, env=env, check=True)
    subprocess.run(["git", "add", "-A"], cwd=work, check=True)
    subprocess.run(["git", "commit", "-qm", "trained", "--allow-empty"], cwd=work, check=True)
    model_path = work / "models" / "model.skops"
    inputs = [str(c) for c in load_model(model_path).feature_names_in_]
    for candidate in sorted(work.glob("data/**/*.parquet")):
        columns = pd.read_parquet(candidate).columns
        if set(inputs) <= set(columns) and "val" in candidate.name:
            return model_path, inputs, candidate
    sys.exit(f"no parquet file under {work / 'data'} has the model's inputs {inputs}")


def bodies(rows_file: Path, inputs: list[str], out: Path) -> dict[int, Path]:
    import pandas as pd

    frame = pd.read_parquet(rows_file, columns=inputs).head(max(ROWS))
    found = {}
    for n in ROWS:
        part = frame.head(n)
        body = {"dataframe_split": json.loads(part.to_json(orient="split", index=False))}
        path = out / f"body-{n}.json"
        path.write_text(json.dumps(body), encoding="utf-8")
        found[n] = path
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batch-wait-ms", type=float, default=2.0)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    if not MLFLOW_PY.is_file():
        sys.exit(f"{MLFLOW_PY} is missing (make mlflow-venv)")
    work = scratch_copy(WORK)
    model_path, inputs, rows_file = prepare(work)
    scratch = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    try:
        mlflow_model = scratch / "mlflow-model"
        subprocess.run(
            [str(MLFLOW_PY), "-c", SAVE_FOR_MLFLOW, str(model_path), str(mlflow_model)],
            check=True,
        )
        request = bodies(rows_file, inputs, scratch)
        script = scratch / "post.lua"
        script.write_text(WRK_SCRIPT, encoding="utf-8")
        env = project_env(work)
        ports = {"mlflow": free_port(), "ratchet": free_port()}
        commands = {
            "mlflow": [
                str(MLFLOW_PY.parent / "mlflow"),
                "models",
                "serve",
                "-m",
                str(mlflow_model),
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(ports["mlflow"]),
                "-w",
                str(args.workers),
            ],
            "ratchet": [
                tool("ratchet"),
                "serve",
                "HEAD",
                "--host",
                "127.0.0.1",
                "--port",
                str(ports["ratchet"]),
                "--workers",
                str(args.workers),
                "--batch-wait-ms",
                str(args.batch_wait_ms),
            ],
        }
        envs = {  # MLflow starts `uvicorn` from PATH, as in its activated venv
            "mlflow": {**env, "PATH": f"{MLFLOW_PY.parent}{os.pathsep}{env['PATH']}"},
            "ratchet": env,
        }
        results = measure(
            commands,
            ports=ports,
            envs=envs,
            work=work,
            scratch=scratch,
            request=request,
            script=script,
            args=args,
        )
        report(results, args)
    finally:
        if os.environ.get("BENCH_KEEP") is None:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            print(f"kept {scratch}", file=sys.stderr)


Results = dict[str, dict[str, list[dict[str, float]]]]


def measure(
    commands: dict[str, list[str]],
    *,
    ports: dict[str, int],
    envs: dict[str, dict[str, str]],
    work: Path,
    scratch: Path,
    request: dict[int, Path],
    script: Path,
    args: argparse.Namespace,
) -> Results:
    """Start both servers, run every cell alternately, stop them."""
    procs = {}
    for side, cmd in commands.items():
        procs[side] = subprocess.Popen(
            cmd,
            cwd=work,
            env=envs[side],
            stdout=subprocess.DEVNULL,
            stderr=(scratch / f"{side}.log").open("wb"),
            start_new_session=True,
        )
    try:
        wait_ready(f"http://127.0.0.1:{ports['mlflow']}/ping", procs["mlflow"])
        wait_ready(f"http://127.0.0.1:{ports['ratchet']}/ready", procs["ratchet"])
        results: Results = {}
        for rows in ROWS:
            for conc in CONCURRENCY:
                cell = f"{rows} row(s), concurrency {conc}"
                results[cell] = {side: [] for side in commands}
                for side in commands:  # warm-up, untimed
                    wrk(
                        f"http://127.0.0.1:{ports[side]}/invocations",
                        conc,
                        1,
                        request[rows],
                        script,
                    )
                for _ in range(args.reps):
                    for side in commands:
                        url = f"http://127.0.0.1:{ports[side]}/invocations"
                        results[cell][side].append(
                            wrk(url, conc, args.seconds, request[rows], script)
                        )
    finally:
        for proc in procs.values():
            stop(proc)
    return results


def report(results: Results, args: argparse.Namespace) -> None:
    print(
        f"\n### ratchet serve vs mlflow models serve ({args.workers} worker(s) each, "
        f"{args.reps} x {args.seconds} s per cell, medians; ratchet --batch-wait-ms "
        f"{args.batch_wait_ms})\n"
    )
    print(
        "| request | ratchet req/s | mlflow req/s | throughput ratio | ratchet p50 ms "
        "| mlflow p50 ms | ratchet p99 ms | mlflow p99 ms | p99 ratio | non-200 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    summary = {}
    for cell, sides in results.items():
        med = {
            side: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            for side, runs in sides.items()
        }
        r, m = med["ratchet"], med["mlflow"]
        bad = sum(run["bad"] + run["socket_errors"] for runs in sides.values() for run in runs)
        print(
            f"| {cell} | {r['rps']:.0f} | {m['rps']:.0f} | {r['rps'] / m['rps']:.2f}x "
            f"| {r['p50']:.2f} | {m['p50']:.2f} | {r['p99']:.2f} | {m['p99']:.2f} "
            f"| {r['p99'] / m['p99']:.2f}x | {bad:.0f} |"
        )
        summary[cell] = {"medians": med, "runs": sides}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "serve.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
