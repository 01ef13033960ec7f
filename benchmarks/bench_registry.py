"""`ratchet registry show` against `gto show` on registries of 600, 6,000 and 10,000 tags.

Each workload is a git repository made by one ``git fast-import``: commits, each registered as
a version of each artifact and assigned ``dev``, ``staging`` and ``production`` (4 annotated
tags per artifact per commit, GTO's names and messages, one second apart). At 600 tags, three
shapes: one artifact (``flight-delay``, declared in the reference project's ``dvc.yaml``); 50
artifacts; 10 artifacts that no ``dvc.yaml`` declares. At 6,000 and 10,000 tags, the first.
Both tools answer the same question (the latest version and the version in each stage of
every artifact), checked equal before timing. ``registry history`` against ``gto history``
is timed too, at 600 tags (``gto`` takes minutes at 6,000). Whole-process medians; ours warm
(the registry index in place) and cold (``.git/mlratchet`` removed first); ``--baseline DIR``
adds ``python -m mlratchet`` from ``DIR`` (a ``git archive`` of an older ``src/``) as "before".

Usage: python benchmarks/bench_registry.py [--runs N] [--tags 600 6000 10000] [--no-history]
       [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
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


def build(repo: Path, versions: int, artifacts: int = 1, declared: bool = True) -> int:
    """The benchmark repository, made by one ``git fast-import``; returns the number of tags.

    ``versions`` commits, each registered as a version of each of ``artifacts`` artifacts and
    assigned its three stages (4 tags per artifact per commit). With ``declared``, the first
    artifact is ``flight-delay`` of the reference ``dvc.yaml``; else every artifact is
    undeclared (named ``model-N``, and ``dvc.yaml`` declares none).
    """
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    names = [ARTIFACT] if declared else []
    names += [f"model-{k}" for k in range(artifacts - len(names))]
    stream = bytearray()

    def blob(path: str, data: bytes) -> None:
        stream.extend(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))

    def data(text: str) -> bytes:
        raw = text.encode()
        return b"data %d\n%s\n" % (len(raw), raw)

    stamp = 1_700_000_000
    for i in range(versions):
        stream += b"commit refs/heads/main\nmark :%d\n" % (i + 1)
        stream += b"committer Bench <bench@example.com> %d +0000\n" % stamp
        stream += data(f"model {i}")
        if i:
            stream += b"from :%d\n" % i
        else:
            blob("dvc.yaml", (ROOT / "dvc.yaml").read_bytes() if declared else b"stages: {}\n")
            blob("params.yaml", (ROOT / "params.yaml").read_bytes())
        blob("version.txt", f"{i}\n".encode())
        stream += b"\n"
    counters = dict.fromkeys(names, 0)
    tags = 0
    for i in range(versions):
        version = f"v1.{i}.0"
        for name in names:
            named = [(f"{name}@{version}", f"Registering artifact {name} version {version}")]
            for stage in STAGES:
                counters[name] += 1
                named.append(
                    (
                        f"{name}#{stage}#{counters[name]}",
                        f"Assigning stage {stage} to artifact {name} version {version}",
                    )
                )
            for tag, message in named:
                stamp += 1
                stream += b"tag %s\nfrom :%d\n" % (tag.encode(), i + 1)
                stream += b"tagger Bench <bench@example.com> %d +0000\n" % stamp
                stream += data(message + "\n")[:-1]
                tags += 1
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input=bytes(stream), check=True)
    git(repo, "reset", "-q", "--hard", "main")
    return tags


def check_same_answer(repo: Path, ratchet: str, gto: str) -> None:
    """Both tools must report the same state before their times mean anything."""
    ours = json.loads(subprocess.check_output([ratchet, "registry", "show", "--json"], cwd=repo))
    theirs = json.loads(subprocess.check_output([gto, "show", "--json"], cwd=repo))
    mine = {a["name"]: a for a in ours["artifacts"] if a["registered"]}
    if set(mine) != set(theirs):
        sys.exit(f"ratchet and gto list different artifacts: {sorted(mine)} vs {sorted(theirs)}")
    for name, expected in theirs.items():
        stages = mine[name]["stages"]
        answers = {stage: (stages.get(stage) or {}).get("version") for stage in expected["stage"]}
        if mine[name]["latest"]["version"] != expected["version"] or answers != expected["stage"]:
            sys.exit(f"ratchet and gto disagree on {name}: {mine[name]} vs {expected}")


#: name -> (versions per artifact per 600 tags, artifacts, whether the first is in dvc.yaml)
WORKLOADS = {
    "one artifact in dvc.yaml": (150, 1, True),
    "50 artifacts": (3, 50, True),
    "10 artifacts not in dvc.yaml": (15, 10, False),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10, help="runs at 600 tags (1 above)")
    parser.add_argument(
        "--tags", type=int, nargs="+", default=[600, 6000, 10000], help="registry sizes"
    )
    parser.add_argument("--no-history", action="store_true", help="skip registry history")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="a source tree (its src/) to time as 'before', e.g. from git archive",
    )
    args = parser.parse_args()
    ratchet, gto = tool("ratchet"), tool("gto")  # gto: a dev dependency
    with tempfile.TemporaryDirectory(prefix="bench-registry-") as tmp:
        for size in args.tags:
            for label, (versions, artifacts, declared) in WORKLOADS.items():
                if size != 600 and label != "one artifact in dvc.yaml":
                    continue  # the larger sizes: the reference shape only
                repo = Path(tmp) / f"{size}-{artifacts}-{declared}"
                count = build(repo, versions * size // 600, artifacts, declared)
                print(f"\nregistry of {count} tags ({label}) in {repo}")
                check_same_answer(repo, ratchet, gto)
                runs = args.runs if size <= 600 else 1  # gto show takes minutes there
                index = repo / ".git" / "mlratchet"
                sides = {
                    "ratchet registry show": [ratchet, "registry", "show"],
                    "ratchet registry show (cold)": [
                        "sh",
                        "-c",
                        f'rm -rf "{index}" && exec "$0" registry show',
                        ratchet,
                    ],
                }
                if args.baseline is not None:
                    sides["before"] = [
                        "env",
                        f"PYTHONPATH={args.baseline}",
                        sys.executable,
                        "-m",
                        "mlratchet",
                        "registry",
                        "show",
                    ]
                sides["gto show"] = [gto, "show"]
                compare(
                    f"registry show, {count} tags, {label}: ratchet registry show vs gto show",
                    sides,
                    runs=runs,
                    warmup=1 if size <= 600 else 0,
                    cwd=repo,
                )
                if not args.no_history and size <= 600 and label == "one artifact in dvc.yaml":
                    compare(
                        f"registry history, {count} tags: ratchet registry history vs gto history",
                        {
                            "ratchet registry history --json": [
                                ratchet,
                                "registry",
                                "history",
                                "--json",
                            ],
                            "gto history --json": [gto, "history", "--json"],
                        },
                        runs=max(3, runs // 2),
                        cwd=repo,
                    )


if __name__ == "__main__":
    main()
