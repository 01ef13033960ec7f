"""`ratchet registry show` against `gto show` on a registry of 600 tags: whole-process medians.

The workload is a git repository with the reference project's ``dvc.yaml`` and ``params.yaml``
and 150 commits; each commit is registered as a version of ``flight-delay`` and assigned
``dev``, ``staging`` and ``production`` (150 x 4 = 600 annotated tags, GTO's names and
messages, one second apart). Both tools then answer the same question: the latest version and
the version in each stage. ``registry history`` against ``gto history`` is timed too.

Usage: python benchmarks/bench_registry.py [--runs N] [--versions N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import compare, tool

ROOT = Path(__file__).resolve().parents[1]
ARTIFACT = "flight-delay"
STAGES = ("dev", "staging", "production")


def git(repo: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    """Run git in ``repo``; return stdout."""
    proc = subprocess.run(
        ["git", "-C", str(repo), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return proc.stdout.strip()


def build(repo: Path, versions: int) -> int:
    """The benchmark repository; returns the number of registry tags."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main", env=env)
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy2(ROOT / name, repo / name)
    git(repo, "add", "-A", env=env)
    stamp = 1_700_000_000
    shas = []
    for i in range(versions):
        (repo / "version.txt").write_text(f"{i}\n")
        git(repo, "add", "version.txt", env=env)
        git(
            repo,
            "commit",
            "-q",
            "-m",
            f"model {i}",
            env={**env, "GIT_COMMITTER_DATE": f"{stamp} +0000"},
        )
        shas.append(git(repo, "rev-parse", "HEAD", env=env))
    # Tag objects through one `git mktag` each, refs in one `git update-ref --stdin` transaction.
    updates = []
    counter = 0
    for i, sha in enumerate(shas):
        version = f"v1.{i}.0"
        named = [(f"{ARTIFACT}@{version}", f"Registering artifact {ARTIFACT} version {version}")]
        for stage in STAGES:
            counter += 1
            named.append(
                (
                    f"{ARTIFACT}#{stage}#{counter}",
                    f"Assigning stage {stage} to artifact {ARTIFACT} version {version}",
                )
            )
        for tag, message in named:
            stamp += 1
            body = (
                f"object {sha}\ntype commit\ntag {tag}\n"
                f"tagger Bench <bench@example.com> {stamp} +0000\n\n{message}\n"
            )
            obj = git(repo, "mktag", env=env, stdin=body)
            updates.append(f"create refs/tags/{tag} {obj}\n")
    git(repo, "update-ref", "--stdin", env=env, stdin="".join(updates))
    return len(updates)


def check_same_answer(repo: Path, ratchet: str, gto: str) -> None:
    """Both tools must report the same state before their times mean anything."""
    ours = json.loads(subprocess.check_output([ratchet, "registry", "show", "--json"], cwd=repo))
    theirs = json.loads(subprocess.check_output([gto, "show", "--json"], cwd=repo))
    (mine,) = [a for a in ours["artifacts"] if a["name"] == ARTIFACT]
    expected = theirs[ARTIFACT]
    stages = mine["stages"]
    answers = {stage: (stages.get(stage) or {}).get("version") for stage in expected["stage"]}
    if mine["latest"]["version"] != expected["version"] or answers != expected["stage"]:
        sys.exit(f"ratchet and gto disagree: {mine} vs {expected}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--versions", type=int, default=150, help="each makes 4 tags")
    args = parser.parse_args()
    ratchet, gto = tool("ratchet"), tool("gto")  # gto: a dev dependency
    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        repo = Path(tmp) / "repo"
        count = build(repo, args.versions)
        print(f"registry of {count} tags in {repo}")
        check_same_answer(repo, ratchet, gto)
        compare(
            f"registry show, {count} tags: ratchet registry show vs gto show",
            {
                "ratchet registry show": [ratchet, "registry", "show"],
                "gto show": [gto, "show"],
            },
            runs=args.runs,
            cwd=repo,
        )
        compare(
            f"registry history, {count} tags: ratchet registry history vs gto history",
            {
                "ratchet registry history --json": [ratchet, "registry", "history", "--json"],
                "gto history --json": [gto, "history", "--json"],
            },
            runs=max(3, args.runs // 2),
            cwd=repo,
        )


if __name__ == "__main__":
    main()
