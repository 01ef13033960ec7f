"""`ratchet verify` against a full forced `dvc repro` of the reference pipeline, medians; and
incremental verify (issue 16) against `ratchet verify --full`.

Target (issue 3): verifying a commit in full costs at most 1.2x a full forced `dvc repro` of
the same pipeline. Both run on a scratch copy of the project (benchmarks/.work/verify) whose
committed dvc.lock is up to date: `dvc repro --force` re-runs every stage in place; `ratchet
verify --full` clones the commit into a sandbox, re-runs every stage there from an empty cache
and compares.

Target (issue 16): verifying a commit that changes only the evaluate stage's params costs at
most 0.4x a full verify of it. Set-up (untimed): commit A (the project) is verified in full,
which records its proofs in its note; commit B sets evaluate.threshold to 0.35 and is
reproduced and committed. Timed, alternately: `ratchet verify` of B (evaluate re-run, the
other stages proven by A's verify, their outputs fetched from the DVC cache and re-hashed) and
`ratchet verify --full` of B. B's own note is removed before every run (one `git notes
remove`, untimed), so that no run proves B's evaluate by an earlier run of the benchmark.

Usage: python benchmarks/bench_verify.py [--runs N] [--incremental-only]
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from harness import compare, project_env, scratch_copy, tool

WORK = Path(__file__).parent / ".work" / "verify"
TARGET = 1.2
INCREMENTAL_TARGET = 0.4
NOTES_REF = "refs/notes/mlratchet"


def _git(work: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=work, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def _commit_evaluate_change(work: Path, dvc: str, env: dict[str, str]) -> str:
    """Commit B: evaluate.threshold 0.3 -> 0.35, reproduced (only evaluate runs)."""
    params = work / "params.yaml"
    text = params.read_text(encoding="utf-8")
    if "threshold: 0.3 " not in text:
        raise SystemExit("params.yaml has no `evaluate.threshold: 0.3`: update the benchmark")
    params.write_text(text.replace("threshold: 0.3 ", "threshold: 0.35", 1), encoding="utf-8")
    subprocess.run([dvc, "repro", "--quiet"], cwd=work, env=env, check=True)
    _git(work, "add", "-A")
    _git(work, "commit", "-qm", "bench: evaluate.threshold 0.35")
    return _git(work, "rev-parse", "HEAD")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--incremental-only", action="store_true", help="skip verify --full vs dvc repro"
    )
    args = parser.parse_args()
    dvc, ratchet = tool("dvc"), tool("ratchet")
    work = scratch_copy(WORK)
    env = project_env(work)
    subprocess.run([dvc, "repro", "--quiet"], cwd=work, env=env, check=True)
    if _git(work, "status", "--porcelain", "dvc.lock"):
        raise SystemExit("the project's dvc.lock is not up to date: run `dvc repro` and commit")
    if not args.incremental_only:
        sides = compare(
            "Verify the reference pipeline: ratchet verify --full vs a forced dvc repro",
            {
                "ratchet verify --full": [ratchet, "verify", "--full"],
                "dvc repro --force": [dvc, "repro", "--force", "-q"],
            },
            runs=args.runs,
            warmup=0,
            cwd=work,
            env=env,
        )
        ratio = sides["ratchet verify --full"].median / sides["dvc repro --force"].median
        verdict = "meets" if ratio <= TARGET else "MISSES"
        print(f"\nverify ratio {ratio:.3f}x: {verdict} the {TARGET}x target")
    else:
        subprocess.run([ratchet, "verify", "--full"], cwd=work, env=env, check=True)
    b_sha = _commit_evaluate_change(work, dvc, env)

    def forget_b() -> None:
        subprocess.run(
            ["git", "notes", "--ref", NOTES_REF, "remove", "--ignore-missing", b_sha],
            cwd=work,
            capture_output=True,
            check=True,
        )

    sides = compare(
        "Verify a commit that changes only evaluate's params: incremental vs --full",
        {
            "ratchet verify (incremental)": [ratchet, "verify"],
            "ratchet verify --full": [ratchet, "verify", "--full"],
        },
        runs=args.runs,
        warmup=0,
        cwd=work,
        env=env,
        before_each=forget_b,
    )
    ratio = sides["ratchet verify (incremental)"].median / sides["ratchet verify --full"].median
    verdict = "meets" if ratio <= INCREMENTAL_TARGET else "MISSES"
    print(f"\nincremental verify ratio {ratio:.3f}x: {verdict} the {INCREMENTAL_TARGET}x target")


if __name__ == "__main__":
    main()
