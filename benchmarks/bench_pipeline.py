"""The reference pipeline: full run from scratch, and a no-op `dvc repro`, medians.

A scratch copy of the project (the files git tracks, as in the working tree) is made under
benchmarks/.work/. "From scratch" removes every output and the DVC cache (run-cache included)
before each run, so every stage computes.

Usage: python benchmarks/bench_pipeline.py [--full-runs N] [--noop-runs N]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from harness import compare, project_env, scratch_copy, tool

ROOT = Path(__file__).resolve().parents[1]
WORK = Path(__file__).parent / ".work" / "pipeline"


def floor_repo() -> Path:
    """A one-stage pipeline with one small dependency: DVC's own no-op floor."""
    floor = WORK.parent / "floor"
    shutil.rmtree(floor, ignore_errors=True)
    floor.mkdir(parents=True)
    (floor / "in.txt").write_text("x\n")
    (floor / "dvc.yaml").write_text(
        "stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n"
    )
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"], ["dvc", "repro", "-q"]):
        subprocess.run(cmd, cwd=floor, check=True)
    return floor


def clean_outputs() -> None:
    for rel in ("data/raw", "data/interim", "data/processed", "models", ".dvc/cache", ".dvc/tmp"):
        for path in (WORK / rel).glob("*"):
            if path.name != ".gitignore":
                shutil.rmtree(path) if path.is_dir() else path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full-runs", type=int, default=3)
    parser.add_argument("--noop-runs", type=int, default=10)
    args = parser.parse_args()
    dvc = tool("dvc")
    work = scratch_copy(WORK)
    env = project_env(work)
    compare(
        "Reference pipeline from scratch: dvc repro",
        {"dvc repro (from scratch)": [dvc, "repro", "--quiet"]},
        runs=args.full_runs,
        warmup=0,
        cwd=work,
        env=env,
        before_each=clean_outputs,
    )
    floor = floor_repo()
    compare(
        "Reference pipeline no-op: dvc repro, next to DVC's floor (a one-stage pipeline)",
        {
            "dvc repro (no-op, reference pipeline)": [dvc, "repro", "--quiet"],
            "dvc repro (no-op, one-stage floor)": [dvc, "--cd", str(floor), "repro", "--quiet"],
        },
        runs=args.noop_runs,
        warmup=1,
        cwd=work,
        env=env,
    )


if __name__ == "__main__":
    main()
