"""A sweep of 8 experiments of the reference pipeline: `ratchet exp run -j 2` against DVC's queue
(`dvc exp run --queue` + `dvc queue start -j 2`, waited for), and `ratchet exp run --scheduler`
on a Dask cluster of 2 local worker processes (one thread each), wall time, medians.

The cluster side goes through a bare git remote and the project's local DVC remote, as a real
cluster would (each worker clones, pulls the baseline's outputs, pushes its own back).

Both sides run the same 8 points (learning_rate x max_iter x max_leaf_nodes) from the same
baseline in a scratch copy of the project (benchmarks/.work/exp-sweep) whose pipeline has run
once. Before each run the experiments of the other run and DVC's run-cache are removed, so each
side trains 8 models (train and evaluate) and neither restores results from the other.

Usage: python benchmarks/bench_exp_sweep.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path

from harness import compare, project_env, scratch_copy, tool

WORK = Path(__file__).parent / ".work" / "exp-sweep"
GRID = ["train.learning_rate=0.05,0.1", "train.max_iter=100,150", "train.max_leaf_nodes=15,31"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    dvc, ratchet = tool("dvc"), tool("ratchet")
    work = scratch_copy(WORK)
    env = project_env(work)
    env["PYTHONPATH"] = f"{work / 'src'}:{work / 'flightdelay' / 'src'}"
    subprocess.run([dvc, "repro", "--quiet"], cwd=work, env=env, check=True)
    subprocess.run(["git", "add", "-A"], cwd=work, check=True)
    subprocess.run(["git", "commit", "-qm", "baseline", "--allow-empty"], cwd=work, check=True)
    sets = [arg for spec in GRID for arg in ("-S", spec)]
    origin = WORK.parent / "exp-sweep-origin.git"
    shutil.rmtree(origin, ignore_errors=True)
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    subprocess.run(["git", "remote", "add", "origin", str(origin)], cwd=work, check=True)
    subprocess.run(["git", "push", "-q", "origin", "HEAD:refs/heads/main"], cwd=work, check=True)
    subprocess.run([dvc, "push", "--quiet"], cwd=work, env=env, check=True)

    def reset() -> None:
        subprocess.run(
            [dvc, "queue", "remove", "--all"], cwd=work, env=env, capture_output=True, check=False
        )
        subprocess.run(
            [dvc, "exp", "remove", "--all-commits"],
            cwd=work,
            env=env,
            capture_output=True,
            check=False,
        )
        refs = subprocess.run(
            ["git", "for-each-ref", "--format=%(refname)", "refs/exps"],
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for ref in refs.split():
            subprocess.run(["git", "update-ref", "-d", ref], cwd=work, check=True)
            subprocess.run(
                ["git", "update-ref", "-d", ref], cwd=origin, capture_output=True, check=False
            )
        shutil.rmtree(work / ".dvc" / "cache" / "runs", ignore_errors=True)

    dvc_queue = (
        f"{dvc} exp run --queue {' '.join(sets)} >/dev/null && {dvc} queue start -j 2 >/dev/null"
        f" && while {dvc} queue status 2>/dev/null | grep -qE 'Queued|Running'; do sleep 1; done"
        f' && test "$({dvc} exp ls --name-only | grep -c .)" -ge 8'
    )
    from distributed import LocalCluster

    os.environ.update(env)  # the workers run the stages: the same PATH and PYTHONPATH
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        compare(
            "exp sweep: 8 experiments of the reference pipeline, 2 at a time",
            {
                "ratchet": [ratchet, "exp", "run", "-j", "2", *sets],
                "dvc": ["bash", "-c", dvc_queue],
                "ratchet-dask": [
                    ratchet,
                    "exp",
                    "run",
                    *sets,
                    "--scheduler",
                    cluster.scheduler_address,
                ],
            },
            runs=args.runs,
            warmup=0,
            cwd=work,
            env=env,
            before_each=reset,
        )


if __name__ == "__main__":
    main()
