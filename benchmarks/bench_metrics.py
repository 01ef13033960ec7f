"""`ratchet metrics history|diff` and `ratchet params diff` against DVC, side by side.

Builds (once, cached under benchmarks/.work/, by one ``git fast-import``) git+DVC repositories
with 1,000 and 10,000 commits on main, each changing the metrics (a metrics.json shaped like the
reference project's, ~80 keys) and every tenth changing params.yaml, with a tag every 100
commits; and one of 100,000 commits whose metrics.json has three keys. Then times whole
processes:

* ``ratchet metrics history --json`` over all commits, warm (the history index and the
  whole-history memo in place, as the previous read left them) and cold (``.git/mlratchet``
  removed first), vs ``dvc metrics show -A --json`` (target at 1,000
  commits: >= 100x faster); at 100,000 commits, ours alone, with peak memory (target: warm
  under 1 s, cold no slower than before the index);
* ``ratchet metrics diff A B --md`` vs ``dvc metrics diff A B --md`` (target: >= 3x);
* ``ratchet params diff A B --md`` vs ``dvc params diff A B --md``.

``--commit-graph`` times the histories with a commit-graph file in each repository (what ``git gc``
writes, and so what most clones that have lived a while hold; ``git log`` reads commits from it);
without it, they have none (as ``git fast-import`` leaves them).

``--baseline DIR`` adds a side running ``python -m mlratchet`` from ``DIR`` (a ``git archive`` of
an older ``src/``): the "before" of a change.

Usage: python benchmarks/bench_metrics.py [--runs N] [--history-runs N] [--commits N ...]
       [--large N] [--baseline DIR] [--commit-graph]
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

from harness import compare, tool

WORK = Path(__file__).parent / ".work"
VERSION = "1"  # bump when the repository's shape changes

DVC_YAML = """\
stages:
  prepare:
    cmd: python -c "pass"
    params: [prepare.late_minutes, prepare.train_months]
    metrics:
      - metrics/prepare.json:
          cache: false
  evaluate:
    cmd: python -c "pass"
    params: [train.learning_rate, train.max_iter, evaluate.threshold]
    metrics:
      - metrics/metrics.json:
          cache: false
"""


def _metrics(rng: random.Random) -> dict:
    def block() -> dict:
        tp, fp, tn, fn = (rng.randint(1000, 50000) for _ in range(4))
        names = ["accuracy", "average_precision", "brier", "f1", "log_loss", "precision"]
        out: dict = {name: round(rng.random(), 6) for name in names}
        out.update(recall=round(rng.random(), 6), roc_auc=round(rng.random(), 6))
        out["confusion"] = {"fn": fn, "fp": fp, "tn": tn, "tp": tp}
        return out

    models = ("logreg", "majority", "model")
    data = {
        "data": {s: {"late_rate": round(rng.random(), 6), "rows": 55628} for s in ("test", "val")}
    }
    data.update({m: {s: block() for s in ("test", "val")} for m in models})
    return data


def _params(i: int) -> str:
    return (
        f"prepare:\n  late_minutes: {15 + i % 3}\n  train_months: [1, 2, 3, 4, 5, 6, 7, 8]\n"
        f"train:\n  learning_rate: {0.05 + (i % 7) / 100:.2f}\n  max_iter: {100 + i}\n"
        f"evaluate:\n  threshold: 0.3\n"
    )


def _blob(path: str, text: str) -> bytes:
    data = text.encode()
    return b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data)


def _small_metrics(rng: random.Random, i: int) -> dict:
    """A metrics file of four keys (the 100,000-commit workload: history length, not width)."""
    return {"accuracy": round(rng.random(), 6), "f1": round(rng.random(), 6), "step": i}


def build(repo: Path, commits: int, *, small: bool = False) -> None:
    """A fresh repository with ``commits`` commits on main, made by one git fast-import."""
    marker = repo / ".git" / f"bench-metrics-{VERSION}-{commits}{'-small' if small else ''}"
    if marker.exists():
        return
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=repo, check=True, env=env)
    dvc_files = {
        rel: (repo / rel).read_text() for rel in (".dvc/config", ".dvc/.gitignore", ".dvcignore")
    }
    rng = random.Random(20130101)
    stream = bytearray()
    when = 1_700_000_000
    for i in range(commits):
        message = f"commit {i}".encode()
        stream += b"commit refs/heads/main\nmark :%d\n" % (i + 1)
        stream += b"committer Bench <bench@example.com> %d +0000\n" % (when + 60 * i)
        stream += b"data %d\n%s\n" % (len(message), message)
        if i:
            stream += b"from :%d\n" % i
        if i == 0:
            for rel, text in dvc_files.items():
                stream += _blob(rel, text)
            stream += _blob("dvc.yaml", DVC_YAML)
        if i % 10 == 0:
            stream += _blob("params.yaml", _params(i))
            prepare = {"rows": {"flights": 336776 - i}, "late_rate": round(rng.random(), 6)}
            stream += _blob("metrics/prepare.json", json.dumps(prepare, indent=2))
        values = _small_metrics(rng, i) if small else _metrics(rng)
        stream += _blob("metrics/metrics.json", json.dumps(values, indent=2, sort_keys=True))
        stream += b"\n"
        if i % 100 == 99:
            stream += b"reset refs/tags/v0.%d\nfrom :%d\n\n" % (i // 100, i + 1)
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=bytes(stream), check=True)
    subprocess.run(["git", "reset", "-q", "--hard", "main"], cwd=repo, check=True)
    marker.touch()


def commit_graph(repo: Path, *, wanted: bool) -> None:
    """Write the repository's commit-graph (as ``git gc`` does), or remove it."""
    info = repo / ".git" / "objects" / "info"
    for path in [*info.glob("commit-graph"), *info.glob("commit-graphs/*")]:
        path.unlink()
    if wanted:
        subprocess.run(["git", "commit-graph", "write", "--reachable"], cwd=repo, check=True)


def _history_sides(ratchet: str, repo: Path, baseline: Path | None) -> dict[str, list[str]]:
    """``metrics history --json`` with the index (warm), and without (cold: removed first);
    with ``baseline``, the same command from another source tree (a "before" figure)."""
    index = repo / ".git" / "mlratchet"
    sides = {
        "ratchet metrics history (warm)": [ratchet, "metrics", "history", "--json"],
        "ratchet metrics history (cold)": [
            "sh",
            "-c",
            f'rm -rf "{index}" && exec "$0" metrics history --json',
            ratchet,
        ],
    }
    if baseline is not None:
        sides["before (no index)"] = [
            "env",
            f"PYTHONPATH={baseline}",
            sys.executable,
            "-m",
            "mlratchet",
            "metrics",
            "history",
            "--json",
        ]
    return sides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="runs per command for the diffs")
    parser.add_argument("--history-runs", type=int, default=3, help="runs for the history")
    parser.add_argument(
        "--commits", type=int, nargs="+", default=[1000, 10000], help="histories against DVC"
    )
    parser.add_argument(
        "--large", type=int, default=100_000, help="a history timed without DVC (0: none)"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="a source tree (its src/) to time as 'before', e.g. from git archive",
    )
    parser.add_argument(
        "--commit-graph", action="store_true", help="time with a commit-graph (as git gc writes)"
    )
    args = parser.parse_args()
    ratchet = tool("ratchet")
    dvc = tool("dvc")
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    summary = []
    for commits in args.commits:
        repo = WORK / f"metrics-history-{commits}"
        build(repo, commits)
        commit_graph(repo, wanted=args.commit_graph)
        points = json.loads(
            subprocess.run(
                [ratchet, "metrics", "history", "--json"], cwd=repo, capture_output=True, check=True
            ).stdout
        )
        if len(points) != commits:
            sys.exit(f"ratchet metrics history listed {len(points)} commits, not {commits}")
        runs = args.history_runs if commits <= 1000 else 1
        sides = _history_sides(ratchet, repo, args.baseline)
        sides["dvc metrics show -A"] = [dvc, "metrics", "show", "-A", "--json"]
        timed = compare(
            f"metrics history over {commits} commits",
            sides,
            runs=runs,
            warmup=1 if commits <= 1000 else 0,
            cwd=repo,
            env=env,
        )
        warm = timed["ratchet metrics history (warm)"].median
        theirs = timed["dvc metrics show -A"].median
        summary.append(
            f"- history, {commits} commits: warm {warm:.3f} s, cold "
            f"{timed['ratchet metrics history (cold)'].median:.3f} s, dvc {theirs:.3f} s, "
            f"{theirs / warm:.0f}x faster warm"
            + (" (target at 1,000: >= 100x)" if commits == 1000 else "")
        )
    if args.large:
        repo = WORK / f"metrics-history-{args.large}-small"
        build(repo, args.large, small=True)
        commit_graph(repo, wanted=args.commit_graph)
        timed = compare(
            f"metrics history over {args.large} commits (three keys a commit)",
            _history_sides(ratchet, repo, args.baseline),
            runs=args.history_runs,
            warmup=1,
            cwd=repo,
            env=env,
        )
        for label, side in timed.items():
            summary.append(
                f"- history, {args.large} commits, {label}: {side.median:.3f} s, "
                f"peak {max(side.peak_rss_mb):.0f} MiB"
            )

    commits = args.commits[0]
    repo = WORK / f"metrics-history-{commits}"
    old, new = f"HEAD~{commits // 2}", "HEAD"
    # The outputs agree before anything is timed.
    ours = subprocess.run(
        [ratchet, "metrics", "diff", old, new, "--md"], cwd=repo, capture_output=True, check=True
    ).stdout
    theirs_out = subprocess.run(
        [dvc, "metrics", "diff", old, new, "--md"],
        cwd=repo,
        capture_output=True,
        env=env,
        check=True,
    ).stdout
    if sorted(ours.splitlines()) != sorted(theirs_out.splitlines()):
        sys.exit("ratchet metrics diff and dvc metrics diff disagree: fix that first")
    results = {}
    results["metrics diff"] = compare(
        f"metrics diff {old} {new}",
        {
            "ratchet metrics diff": [ratchet, "metrics", "diff", old, new, "--md"],
            "dvc metrics diff": [dvc, "metrics", "diff", old, new, "--md"],
        },
        runs=args.runs,
        cwd=repo,
        env=env,
    )
    results["metrics diff workspace"] = compare(
        "metrics diff HEAD workspace (the defaults)",
        {
            "ratchet metrics diff": [ratchet, "metrics", "diff", "--md"],
            "dvc metrics diff": [dvc, "metrics", "diff", "--md"],
        },
        runs=args.runs,
        cwd=repo,
        env=env,
    )
    results["params diff"] = compare(
        f"params diff {old} {new}",
        {
            "ratchet params diff": [ratchet, "params", "diff", old, new, "--md"],
            "dvc params diff": [dvc, "params", "diff", old, new, "--md"],
        },
        runs=args.runs,
        cwd=repo,
        env=env,
    )
    print("\n### Targets\n")
    print("\n".join(summary))
    targets = {"metrics diff": 3.0, "metrics diff workspace": 3.0}
    for name, sides_timed in results.items():
        ours_side, theirs_side = sides_timed.values()
        speedup = theirs_side.median / ours_side.median
        goal = targets.get(name)
        verdict = (
            ""
            if goal is None
            else f" (target >= {goal:.0f}x: {'met' if speedup >= goal else 'NOT met'})"
        )
        print(
            f"- {name}: ratchet {ours_side.median:.3f} s, dvc {theirs_side.median:.3f} s, "
            f"{speedup:.1f}x faster{verdict}"
        )


if __name__ == "__main__":
    main()
