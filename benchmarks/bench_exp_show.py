"""`ratchet exp show --json` against `dvc exp show --json`, at 10, 100 and 1,000 experiments.

Builds (once per size, cached under benchmarks/.work/) a copy of the reference project (its
tracked files: params.yaml, dvc.yaml, dvc.lock, ratchet.yaml and its three metrics JSON files)
with N experiments on HEAD, made in one `git fast-import` by tests/expfixture.py: each sets
train.learning_rate and train.max_iter in params.yaml and has its own metrics/metrics.json,
metrics/prepare.json and metrics/validation.json (the reference files, numbers redrawn).

Before timing, both tools must agree on every experiment's params and metrics. Then whole
processes are timed, alternating (harness.compare), twice: with DVC's experiment cache
(``.dvc/tmp/exps/cache``, DVC's results of experiments it has shown before) removed before each
run, which is what a fresh clone, CI, or new experiments see, and warm. ratchet keeps no cache.
Target: ratchet >= 30x faster at 1,000 (cold).

Usage: python benchmarks/bench_exp_show.py [--sizes 10,100,1000] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness import ROOT, compare, scratch_copy, tool

sys.path.insert(0, str(ROOT / "tests"))
from expfixture import experiment_files, make_experiments

WORK = Path(__file__).parent / ".work"
VERSION = "1"  # bump when the repository's shape changes
METRICS = ("metrics/metrics.json", "metrics/prepare.json", "metrics/validation.json")


def _redraw(value: Any, rng: random.Random) -> Any:
    """``value`` with every float replaced by a random one of the same magnitude."""
    if isinstance(value, dict):
        return {k: _redraw(v, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [_redraw(v, rng) for v in value]
    if isinstance(value, float):
        return round(value * rng.uniform(0.9, 1.1), 6)
    return value


def build(repo: Path, count: int) -> None:
    """The reference project's tracked files at ``repo`` with ``count`` experiments on HEAD."""
    marker = repo / ".git" / f"bench-exp-show-{VERSION}-{count}"
    if marker.exists():
        return
    scratch_copy(repo)
    params = (repo / "params.yaml").read_text()
    metrics = {path: json.loads((repo / path).read_text()) for path in METRICS}
    rng = random.Random(count)
    experiments = []
    for i in range(count):
        overrides = {
            "train.learning_rate": round(rng.uniform(0.02, 0.2), 4),
            "train.max_iter": rng.randint(50, 400),
        }
        values = {path: _redraw(data, rng) for path, data in metrics.items()}
        experiments.append((f"exp-{i:04d}", experiment_files(params, overrides, values)))
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    make_experiments(repo, head, experiments)
    marker.touch()


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, name + "."))
        else:
            out[name] = str(value) if isinstance(value, list) else value
    return out


def agree(ratchet: str, dvc: str, repo: Path, env: dict[str, str]) -> int:
    """Check that both tools read the same params and metrics for every experiment."""
    ours = json.loads(
        subprocess.run(
            [ratchet, "exp", "show", "--json"], cwd=repo, capture_output=True, check=True
        ).stdout
    )
    theirs = json.loads(
        subprocess.run(
            [dvc, "exp", "show", "--json"], cwd=repo, capture_output=True, env=env, check=True
        ).stdout
    )
    dvc_rows = {}
    for entry in theirs:
        for exp in entry.get("experiments") or []:
            rev = exp["revs"][0]
            dvc_rows[exp["name"]] = {
                kind: {p: _flat(f["data"]) for p, f in rev["data"][kind].items()}
                for kind in ("params", "metrics")
            }
    our_rows = {
        e["name"]: {"params": e["params"], "metrics": e["metrics"]} for e in ours["experiments"]
    }
    if our_rows != dvc_rows:
        missing = set(dvc_rows) ^ set(our_rows)
        sys.exit(
            f"ratchet exp show and dvc exp show disagree (names differing: {sorted(missing)[:5]})"
        )
    return len(our_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--runs", type=int, default=5, help="runs per command (3 at 1,000)")
    args = parser.parse_args()
    ratchet, dvc = tool("ratchet"), tool("dvc")
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    summary = []
    for count in (int(s) for s in args.sizes.split(",")):
        repo = WORK / f"exp-show-{count}"
        build(repo, count)
        listed = agree(ratchet, dvc, repo, env)
        if listed != count:
            sys.exit(f"ratchet exp show listed {listed} experiments, not {count}")
        commands = {
            "ratchet exp show --json": [ratchet, "exp", "show", "--json"],
            "dvc exp show --json": [dvc, "exp", "show", "--json"],
        }
        cache = repo / ".dvc" / "tmp" / "exps" / "cache"
        cold = compare(
            f"exp show with {count} experiments, DVC's exp cache cleared before each run",
            commands,
            runs=args.runs if count < 1000 else min(args.runs, 3),
            warmup=0 if count >= 1000 else 1,
            cwd=repo,
            env=env,
            before_each=lambda cache=cache: shutil.rmtree(cache, ignore_errors=True),
        )
        warm = compare(
            f"exp show with {count} experiments, DVC's exp cache warm",
            commands,
            runs=args.runs,
            warmup=1,
            cwd=repo,
            env=env,
        )
        summary.append((count, "cold", *(side.median for side in cold.values())))
        summary.append((count, "warm", *(side.median for side in warm.values())))
    print("\n### Summary\n")
    for count, kind, ours_s, theirs_s in summary:
        speedup = theirs_s / ours_s
        goal = ""
        if count >= 1000 and kind == "cold":
            goal = " (target >= 30x: " + ("met)" if speedup >= 30 else "NOT met)")
        print(
            f"- {count} experiments, {kind}: ratchet {ours_s:.3f} s, dvc {theirs_s:.3f} s, "
            f"{speedup:.1f}x faster{goal}"
        )


if __name__ == "__main__":
    main()
