"""A year of continuous training on the reference project, against a real bare git remote.

Month after month the next month of 2013 "arrives": the monitor compares it with the data of the
model in production; when it raises an alert, or when the schedule says so, the CT step runs
exactly what the CT workflow runs (`flightdelay advance`, `ratchet repro`, commit, `ratchet
verify`, push, `ratchet promote --to staging --push`, then production through its own gates).
At the end: the registry history, the audit, and the proof that no tag ever moved.

    python flightdelay/scripts/ct_year.py       # the whole year (make ct-demo), ~10 minutes
    python flightdelay/scripts/ct_year.py --fast --start-month 10 --workdir /tmp/ct  # the test

Writes a Markdown summary (--out) and a JSON record (--json) of every month.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository: flightdelay/scripts/ -> ../..
sys.path.insert(0, str(ROOT / "flightdelay" / "src"))

from flightdelay.window import Window, shifted, write  # noqa: E402 - after the path is set

ARTIFACT = "flight-delay"
STAGES = ("staging", "production")


@dataclass
class Month:
    """What happened when one month of data arrived."""

    month: int
    monitor: str = "-"  # ok | alert | - (no production model yet)
    drift: str = ""
    action: str = "-"  # retrain (alert) | retrain (schedule) | retrain (initial) | -
    window: str = ""
    staging: str = "-"
    production: str = "-"
    tags: list[str] = field(default_factory=list)


class Runner:
    """Runs commands in the CI checkout, as the workflow's steps would."""

    def __init__(self, checkout: Path, log: Path) -> None:
        self.checkout = checkout
        self.log = log.open("a", encoding="utf-8")
        bin_dir = str(Path(sys.executable).parent)
        self.env = {
            **os.environ,
            "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
            "PYTHONPATH": str(checkout / "src"),
            "DVC_NO_ANALYTICS": "1",
            "GIT_AUTHOR_NAME": os.environ.get("GIT_AUTHOR_NAME", "mlratchet CT"),
            "GIT_AUTHOR_EMAIL": os.environ.get("GIT_AUTHOR_EMAIL", "ct@example.com"),
            "GIT_COMMITTER_NAME": os.environ.get("GIT_COMMITTER_NAME", "mlratchet CT"),
            "GIT_COMMITTER_EMAIL": os.environ.get("GIT_COMMITTER_EMAIL", "ct@example.com"),
        }

    def __call__(self, *cmd: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            list(cmd),
            cwd=self.checkout,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        self.log.write(f"$ {' '.join(cmd)}  -> {proc.returncode}\n{proc.stdout}{proc.stderr}\n")
        self.log.flush()
        if proc.returncode not in ok:
            raise SystemExit(
                f"ct_year: `{' '.join(cmd)}` exited {proc.returncode}\n{proc.stderr[-3000:]}"
            )
        return proc

    def tags(self) -> dict[str, str]:
        out = self("git", "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/tags")
        return dict(line.split(" ", 1) for line in out.stdout.splitlines())


def seed_project(work: Path, start_month: int, fast: bool) -> Path:
    """The project's tracked files as the first commit of a bare remote, window at start."""
    seed = work / "seed"
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for rel in filter(None, files):
        if (ROOT / rel).is_file():
            (seed / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, seed / rel)
    params = seed / "params.yaml"
    write(params, shifted(Window(train=(1, 2), val=(3, 4), test=(5, 6)), start_month))
    if fast:  # a smaller model: the same loop, a fraction of the time
        text = params.read_text()
        params.write_text(re.sub(r"(?m)^(  max_iter:) \d+", r"\1 25", text, count=1))
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", f"seed: data through month {start_month}"],
    ):
        subprocess.run(cmd, cwd=seed, check=True)
    remote = work / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(remote)], check=True)
    checkout = work / "ci"
    subprocess.run(["git", "clone", "-q", str(remote), str(checkout)], check=True)
    return checkout


def promote(run: Runner, stage: str, rev: str) -> tuple[str, list[str]]:
    """Promote through the gates; a refusal is a result, not a failure of the loop."""
    proc = run(
        "ratchet", "promote", ARTIFACT, "--to", stage, "--rev", rev, "--push", "--json", ok=(0, 1)
    )
    data = json.loads(proc.stdout)
    if proc.returncode == 0:
        created = [t for t in (data["registration_tag"], data["tag"]) if t]
        return f"promoted {data['version']}", created
    failed = [g["gate"] for g in data["gates"] if g["result"] == "fail"]
    return f"refused ({', '.join(failed)})", []


def ct_step(run: Runner, month: int, reason: str, record: Month) -> None:
    """The CT workflow: advance, retrain, verify, commit, push, promote through the gates."""
    first = reason == "initial"
    if not first:
        run("flightdelay", "advance", "--through", str(month))
    run("ratchet", "repro")
    run("git", "add", "params.yaml", "dvc.lock", "metrics")
    what = "first model, data" if first else "data"
    run("git", "commit", "-q", "-m", f"ct: {what} through month {month} ({reason})")
    run("ratchet", "verify")
    run("ratchet", "repro")  # stores the compute record on the new commit
    run("dvc", "push", "-q")  # the data first: `promote --push` refuses a model others lack
    run("git", "push", "-q", "origin", "HEAD", "refs/notes/mlratchet")
    record.action = f"retrain ({reason})"
    record.window = run("flightdelay", "window").stdout.strip()
    record.staging, created = promote(run, "staging", "HEAD")
    record.tags += created
    if record.staging.startswith("promoted"):
        record.production, created = promote(run, "production", "HEAD")
        record.tags += created


def in_production(run: Runner) -> bool:
    """Whether a version of the artifact is in production."""
    view = json.loads(run("ratchet", "registry", "show", "--json").stdout)
    return any(a["name"] == ARTIFACT and a["stages"].get("production") for a in view["artifacts"])


def monitor(run: Runner, month: int, record: Month) -> bool:
    """Monitor the month's batch against the production model; True on an alert."""
    batch = f"data/batches/2013-{month:02d}.parquet"
    run("flightdelay", "batch", "--month", str(month), "-o", batch)
    proc = run(
        "ratchet", "monitor", batch, "--model", f"{ARTIFACT}#production", "--json", ok=(0, 1)
    )
    data = json.loads(proc.stdout)
    record.monitor = "alert" if proc.returncode == 1 else "ok"
    drift = data.get("drift", {})
    drifted = drift.get("drifted", drift.get("n_drifted"))
    total = drift.get("features", drift.get("n_features"))
    if isinstance(drifted, list):
        drifted = len(drifted)
    if isinstance(total, list | dict):
        total = len(total)
    record.drift = f"{drifted}/{total} features drifted" if drifted is not None else ""
    kinds = [a["kind"] if isinstance(a, dict) else str(a) for a in data.get("alerts", [])]
    if kinds:
        record.drift += f" ({', '.join(kinds)})"
    return proc.returncode == 1


def markdown(months: list[Month], history: str, audit_ok: bool, moved: list[str]) -> str:
    lines = [
        "# A year of continuous training (simulated on NYC flights 2013)",
        "",
        "| month | monitor vs production | retrained | data window | staging | production |",
        "|---:|---|---|---|---|---|",
    ]
    for m in months:
        lines.append(
            f"| {m.month} | {m.monitor} {m.drift} | {m.action} | {m.window} | {m.staging} "
            f"| {m.production} |"
        )
    lines += [
        "",
        f"Registry audit: {'clean' if audit_ok else 'FINDINGS'}; "
        f"tags moved during the year: {len(moved)}.",
        "",
        "## `ratchet registry history flight-delay`",
        "",
        "```",
        history.rstrip(),
        "```",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--start-month",
        type=int,
        default=6,
        help="the newest month of data at the start (default 6)",
    )
    parser.add_argument(
        "--schedule-every",
        type=int,
        default=3,
        help="retrain at least every N months without an alert (default 3)",
    )
    parser.add_argument("--workdir", type=Path, default=ROOT / "reports" / "ct-year" / "work")
    parser.add_argument("--fast", action="store_true", help="a smaller model (for tests)")
    parser.add_argument("--out", type=Path, help="write the Markdown summary here")
    parser.add_argument("--json", dest="json_out", type=Path, help="write the record here")
    args = parser.parse_args()

    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    checkout = seed_project(args.workdir, args.start_month, args.fast)
    run = Runner(checkout, args.workdir / "commands.log")
    run("dvc", "remote", "add", "--local", "-d", "shared", str(args.workdir / "dvc-remote"))

    months: list[Month] = []
    first = Month(args.start_month, window="")
    ct_step(run, args.start_month, "initial", first)
    months.append(first)
    seen = run.tags()
    moved: list[str] = []
    last_retrain = args.start_month
    for month in range(args.start_month + 1, 13):
        record = Month(month)
        if in_production(run):
            alert = monitor(run, month, record)
            reason = "alert" if alert else "schedule"
            due = alert or month - last_retrain >= args.schedule_every
        else:
            record.monitor, reason, due = "- (no model in production)", "no production model", True
        if due:
            ct_step(run, month, reason, record)
            last_retrain = month
        run("dvc", "push", "-q")
        now = run.tags()
        moved += [t for t, obj in seen.items() if now.get(t) != obj]
        seen = now
        months.append(record)
        print(
            f"month {month}: monitor {record.monitor}, {record.action}, "
            f"staging {record.staging}, production {record.production}",
            file=sys.stderr,
        )

    history = run("ratchet", "registry", "history", ARTIFACT).stdout
    audit_ok = run("ratchet", "registry", "audit", ok=(0, 3)).returncode == 0
    remote_tags = subprocess.run(
        ["git", "ls-remote", "--tags", str(args.workdir / "remote.git")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    remote = {
        line.split("\t")[1].removeprefix("refs/tags/"): line.split("\t")[0]
        for line in remote_tags.splitlines()
        if not line.endswith("^{}")
    }
    text = markdown(months, history, audit_ok, moved)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(text)
    record = {
        "months": [asdict(m) for m in months],
        "audit_ok": audit_ok,
        "moved": moved,
        "local_tags": seen,
        "remote_tags": remote,
    }
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return 0 if audit_ok and not moved and remote == seen else 1


if __name__ == "__main__":
    raise SystemExit(main())
