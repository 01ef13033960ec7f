"""`ratchet repro` against `dvc repro` on the reference pipeline: no-op and forced, medians.

Target (issue 3): a no-op `ratchet repro` costs at most 1.1x a no-op `dvc repro`. A forced
run shows what the measuring shell and the compute record add when every stage runs.

A scratch copy of the project (the files git tracks, as in the working tree) is made under
benchmarks/.work/repro and reproduced once; stage commands import its own `src/`.

Usage: python benchmarks/bench_repro.py [--noop-runs N] [--forced-runs N]
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from harness import compare, project_env, scratch_copy, tool

ROOT = Path(__file__).resolve().parents[1]
WORK = Path(__file__).parent / ".work" / "repro"
NOOP_TARGET = 1.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--noop-runs", type=int, default=15)
    parser.add_argument("--forced-runs", type=int, default=2)
    args = parser.parse_args()
    dvc, ratchet = tool("dvc"), tool("ratchet")
    work = scratch_copy(WORK)
    env = project_env(work)
    subprocess.run([dvc, "repro", "--quiet"], cwd=work, env=env, check=True)
    noop = compare(
        "No-op repro of the reference pipeline: ratchet vs dvc",
        {"ratchet repro (no-op)": [ratchet, "repro"], "dvc repro (no-op)": [dvc, "repro", "-q"]},
        runs=args.noop_runs,
        warmup=2,
        cwd=work,
        env=env,
    )
    ratio = noop["ratchet repro (no-op)"].median / noop["dvc repro (no-op)"].median
    verdict = "meets" if ratio <= NOOP_TARGET else "MISSES"
    print(f"\nno-op ratio {ratio:.3f}x: {verdict} the {NOOP_TARGET}x target")
    if args.forced_runs:
        compare(
            "Forced repro of the reference pipeline: ratchet vs dvc",
            {
                "ratchet repro --force": [ratchet, "repro", "--force"],
                "dvc repro --force": [dvc, "repro", "--force", "-q"],
            },
            runs=args.forced_runs,
            warmup=0,
            cwd=work,
            env=env,
        )


if __name__ == "__main__":
    main()
