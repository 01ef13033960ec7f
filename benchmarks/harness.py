"""A small, public benchmark harness: whole-process runs, alternated, medians and ratios.

Each benchmark script builds its workload, then calls :func:`compare` with the commands to time
side by side (ours and the peer's). Runs alternate A, B, A, B... so that load on the machine
hits both sides alike; the report gives each side's median wall time, its spread, and the ratio
of medians. Peak memory (max RSS of the process tree) comes from ``resource.getrusage`` of the
children, as ``/usr/bin/time -v`` reports it.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Side:
    """Timings of one command."""

    label: str
    cmd: Sequence[str]
    wall: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)


def run_once(
    cmd: Sequence[str], cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one run of ``cmd``; a failing command stops the bench."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=None if env is None else dict(env),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-2000:]
            command = " ".join(cmd)
            raise SystemExit(f"benchmark command failed ({proc.returncode}): {command}\n{tail}")
    return wall, usage.ru_maxrss / 1024


def compare(
    title: str,
    sides: Mapping[str, Sequence[str]],
    *,
    runs: int = 10,
    warmup: int = 1,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    before_each: Callable[[], None] | None = None,
) -> dict[str, Side]:
    """Time each command ``runs`` times, alternating, after ``warmup`` untimed runs each."""
    timed = {label: Side(label, cmd) for label, cmd in sides.items()}
    for _ in range(warmup):
        for side in timed.values():
            if before_each:
                before_each()
            run_once(side.cmd, cwd, env)
    for _ in range(runs):
        for side in timed.values():
            if before_each:
                before_each()
            wall, rss = run_once(side.cmd, cwd, env)
            side.wall.append(wall)
            side.peak_rss_mb.append(rss)
    report(title, timed)
    return timed


def report(title: str, sides: Mapping[str, Side]) -> None:
    """Print a Markdown table of medians and ratios and save it as JSON under results/."""
    labels = list(sides)
    base = sides[labels[-1]].median
    print(f"\n### {title}\n")
    print("| command | runs | median s | min s | max s | peak RSS MiB | ratio to last |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for side in sides.values():
        print(
            f"| `{' '.join(side.cmd)}` | {len(side.wall)} | {side.median:.3f} "
            f"| {min(side.wall):.3f} | {max(side.wall):.3f} | {max(side.peak_rss_mb):.0f} "
            f"| {side.median / base:.2f}x |"
        )
    RESULTS.mkdir(exist_ok=True)
    slug = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")
    payload = {label: {**asdict(s), "median": s.median} for label, s in sides.items()}
    (RESULTS / f"{slug}.json").write_text(json.dumps(payload, indent=2) + "\n")
    sys.stdout.flush()


def tool(name: str) -> str:
    """The console script ``name`` next to this interpreter, else on PATH (else exit, saying so)."""
    local = Path(sys.executable).with_name(name)
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        sys.exit(f"{name} is not installed (make install)")
    return found


def project_env(work: Path) -> dict[str, str]:
    """The environment stage commands of a scratch copy run in: this interpreter first on PATH
    (stages call `python`), the copy's own ``src/``, no DVC analytics."""
    return {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "PYTHONPATH": str(work / "src"),
        "DVC_NO_ANALYTICS": "1",
    }


def scratch_copy(dest: Path) -> Path:
    """The project's tracked files, as in the working tree, in a fresh git repo at ``dest``."""
    shutil.rmtree(dest, ignore_errors=True)
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
    ).stdout.split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    subprocess.run(["git", "commit", "-qm", "bench"], cwd=dest, check=True)
    return dest
