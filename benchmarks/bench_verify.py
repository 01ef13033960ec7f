"""`ratchet verify` against a full forced `dvc repro` of the reference pipeline, medians.

Target (issue 3): verifying a commit costs at most 1.2x a full forced `dvc repro` of the same
pipeline. Both run on a scratch copy of the project (benchmarks/.work/verify) whose committed
dvc.lock is up to date: `dvc repro --force` re-runs every stage in place; `ratchet verify`
clones the commit into a sandbox, re-runs every stage there from an empty cache and compares.

Usage: python benchmarks/bench_verify.py [--runs N]
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from harness import compare, project_env, scratch_copy, tool

WORK = Path(__file__).parent / ".work" / "verify"
TARGET = 1.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    dvc, ratchet = tool("dvc"), tool("ratchet")
    work = scratch_copy(WORK)
    env = project_env(work)
    subprocess.run([dvc, "repro", "--quiet"], cwd=work, env=env, check=True)
    status = subprocess.run(
        ["git", "status", "--porcelain", "dvc.lock"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    )
    if status.stdout.strip():
        raise SystemExit("the project's dvc.lock is not up to date: run `dvc repro` and commit")
    sides = compare(
        "Verify the reference pipeline: ratchet verify vs a forced dvc repro",
        {
            "ratchet verify": [ratchet, "verify"],
            "dvc repro --force": [dvc, "repro", "--force", "-q"],
        },
        runs=args.runs,
        warmup=0,
        cwd=work,
        env=env,
    )
    ratio = sides["ratchet verify"].median / sides["dvc repro --force"].median
    verdict = "meets" if ratio <= TARGET else "MISSES"
    print(f"\nverify ratio {ratio:.3f}x: {verdict} the {TARGET}x target")


if __name__ == "__main__":
    main()
