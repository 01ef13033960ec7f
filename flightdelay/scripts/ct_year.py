"""A year of continuous training on the reference project, against a real bare git remote.

The first model is trained on January (the initial window: train January, validate on
February, test on March; month splits are the pipeline's only granularity) and promoted to
production before February. Then, month after month from February to December, the month's
flights "arrive", labelled (``late`` is known within hours of landing): the monitor judges the
model in production on them, drift and realized performance (``ratchet monitor --labelled``);
the same month is scored for the first model, never retrained (``flight-delay@v<first>``), the
counterfactual. An alert (drift or realized decay), or the schedule, makes continuous training
due; the CT step runs exactly what the CT workflow runs (`flightdelay advance --through MONTH`,
`ratchet repro`, commit, `ratchet verify`, push, `ratchet promote --to staging --push`, then
production through its own gates, where the champion and the challenger are scored on the same
rows by the project's evaluate hook). The window only moves forward: while it already ends at
or after the month (February, March), CT has no newer month to train on and does not run.

At the end: the registry history, the audit, the proof that no tag ever moved, and what
retraining bought: production against never-retrained on every month (Markdown, JSON, PNG).

    python flightdelay/scripts/ct_year.py       # the whole year (make ct-demo), ~20 minutes
    python flightdelay/scripts/ct_year.py --fast --start-month 9 --workdir /tmp/ct  # the test

Writes a Markdown summary (--out), a JSON record (--json) and a chart (--png); all three are
rewritten after every month, so an interrupted run leaves the months it finished. Every monitor
run adds its line to ``realized-history.jsonl`` (``ratchet monitor --history``, batch label
``2013-MM``, one series for ``flight-delay#production`` and one for the first model), and the
last month's monitor report (``monitor/report.html``) charts that history; both go to
--report-dir (by default the folder of --out).
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
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # the repository: flightdelay/scripts/ -> ../..
sys.path.insert(0, str(ROOT / "flightdelay" / "src"))

from flightdelay.window import Window, write  # noqa: E402 - after the path is set

ARTIFACT = "flight-delay"
STAGES = ("staging", "production")
#: The champion/challenger scores the record keeps (the hook computes every evaluate metric).
SCORES = (
    "model.test.roc_auc",
    "model.val.roc_auc",
    "model.test.log_loss",
    "skill.val.roc_auc_lift",
    "skill.test.roc_auc_lift",
    "skill.val.log_loss_skill",
)
#: The realized figures the record keeps (monitor.realized in ratchet.yaml), and the one the
#: table and the chart lead with.
REALIZED = ("roc_auc", "log_loss", "recall", "cost_per_row")
HEADLINE = "roc_auc"


@dataclass
class Month:
    """What happened when one month of labelled flights arrived."""

    month: int
    production_version: str | None = None
    monitor: str = "-"  # ok | alert
    drift: str = ""
    alerts: list[str] = field(default_factory=list)
    realized: dict[str, float | None] = field(default_factory=dict)
    never_retrained: dict[str, float | None] = field(default_factory=dict)
    ct_due: str = "-"  # alert | schedule | -
    ct_ran: bool = False
    window: str = ""
    decision: str = "-"
    staging: str = "-"
    production: str = "-"
    champion: dict[str, Any] | None = None  # {version, rows_md5, scores}
    challenger: dict[str, Any] | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class Promotion:
    """One `ratchet promote` outcome."""

    text: str
    created: list[str]
    comparison: dict[str, Any] | None


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


def initial_window(start: int) -> Window:
    """Train on months 1..start, validate on the next month, test on the one after."""
    return Window(tuple(range(1, start + 1)), (start + 1,), (start + 2,))


def seed_project(work: Path, start_month: int, fast: bool) -> Path:
    """The project's tracked files as the first commit of a bare remote, at the initial window."""
    seed = work / "seed"
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for rel in filter(None, files):
        if (ROOT / rel).is_file():
            (seed / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, seed / rel)
    params = seed / "params.yaml"
    write(params, initial_window(start_month))
    if fast:  # a smaller model: the same loop, a fraction of the time (bigger steps, fewer)
        text = re.sub(r"(?m)^(  max_iter:) \d+", r"\1 25", params.read_text(), count=1)
        params.write_text(re.sub(r"(?m)^(  learning_rate:) [\d.]+", r"\1 0.3", text, count=1))
    for cmd in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", f"seed: the first model trains on months 1-{start_month}"],
    ):
        subprocess.run(cmd, cwd=seed, check=True)
    remote = work / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(remote)], check=True)
    checkout = work / "ci"
    subprocess.run(["git", "clone", "-q", str(remote), str(checkout)], check=True)
    return checkout


def _side(comparison: dict[str, Any], side: str) -> dict[str, Any]:
    scored = comparison[side]
    scores = scored.get("scores") or {}
    return {
        "version": scored.get("version"),
        "rows_md5": comparison["rows_md5"],
        "scores": {k: scores[k] for k in SCORES if k in scores},
        "error": scored.get("error"),
    }


def promote(run: Runner, stage: str, rev: str, *, force: str | None = None) -> Promotion:
    """Promote through the gates; a refusal is a result, not a failure of the loop.

    ``force``: the reason to promote past failed gates (the first model only), recorded in
    the tag and the model card as `ratchet promote --force --reason` does.
    """
    cmd = ["ratchet", "promote", ARTIFACT, "--to", stage, "--rev", rev, "--push", "--json"]
    proc = run(*cmd, ok=(0, 1))
    data = json.loads(proc.stdout)
    failed = [g["gate"] for g in data["gates"] if g["result"] == "fail"]
    if proc.returncode != 0 and force:
        proc = run(*cmd, "--force", "--reason", force)
        data = json.loads(proc.stdout)
    comparison = data.get("comparison")
    if proc.returncode == 0:
        created = [t for t in (data["registration_tag"], data["tag"]) if t]
        forced = f" by --force, past its failed gates ({', '.join(failed)})" if failed else ""
        return Promotion(f"promoted {data['version']}{forced}", created, comparison)
    return Promotion(f"refused ({', '.join(failed)})", [], comparison)


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
    record.ct_ran = True
    record.window = run("flightdelay", "window").stdout.strip()
    force = (
        "the year's starting point: the first model, trained on January, goes to production "
        "whatever its gates say, so that the year has a model to monitor"
        if first
        else None
    )
    judged = staging = promote(run, "staging", "HEAD", force=force)
    record.staging, record.tags = staging.text, record.tags + staging.created
    record.decision = f"staging {staging.text}"
    if staging.created:
        judged = production = promote(run, "production", "HEAD", force=force)
        record.production, record.tags = production.text, record.tags + production.created
        record.decision = f"production {production.text}"
    if judged.comparison:  # the last gate that judged: champion against challenger
        record.champion = _side(judged.comparison, "champion")
        record.challenger = _side(judged.comparison, "challenger")


def production_version(run: Runner) -> str | None:
    """The version of the artifact in production, if any."""
    view = json.loads(run("ratchet", "registry", "show", "--json").stdout)
    for art in view["artifacts"]:
        if art["name"] == ARTIFACT and art["stages"].get("production"):
            return str(art["stages"]["production"]["version"])
    return None


def window_end(run: Runner) -> int:
    """The newest month of the data window in the checkout's params.yaml."""
    return int(run("flightdelay", "window", "--end").stdout.strip())


def realized_figures(report: dict[str, Any]) -> dict[str, float | None]:
    """{name: value} of the monitor's realized metrics and cost, plus the month's total cost."""
    realized = report.get("realized") or {}
    figures = {f["name"]: f["realized"] for f in realized.get("metrics", [])}
    figures.update({f["name"]: f["realized"] for f in realized.get("business", [])})
    out: dict[str, float | None] = {k: figures.get(k) for k in REALIZED}
    judged = realized.get("rows", {}).get("judged")
    out["rows"] = judged
    cost = out.get("cost_per_row")
    out["cost_total"] = round(cost * judged, 2) if cost is not None and judged else None
    return out


@dataclass(frozen=True)
class Reports:
    """Where the monitor writes, as paths relative to the checkout (no absolute path ends up in
    a report): the history of every monitor run, and the last month's monitor report."""

    history: str  # <report dir>/realized-history.jsonl
    monitor: str  # <report dir>/monitor/ (report.html with the chart of the history)
    last_month: int = 12


def monitor(
    run: Runner, batch: str, model: str, *, label: str, history: str, out: str | None = None
) -> tuple[bool, dict[str, Any]]:
    """`ratchet monitor` of the labelled batch against a model, its line recorded in the
    history (one per month and model): (alert, report)."""
    cmd = ["ratchet", "monitor", batch, "--model", model, "--labelled", "--json"]
    cmd += ["--history", history, "--batch-label", label, *(["--out", out] if out else [])]
    proc = run(*cmd, ok=(0, 1))
    return proc.returncode == 1, json.loads(proc.stdout)


def one_month(
    run: Runner, month: int, first_version: str, *, due_by_schedule: bool, reports: Reports
) -> Month:
    """The month's labelled flights arrive: judge the first model (never retrained) and the one
    in production, then CT if due and the window can move. Both go into the history (the
    production model last: in the last month its monitor report charts every line)."""
    record = Month(month, production_version=production_version(run))
    batch = f"data/batches/2013-{month:02d}.parquet"
    run("flightdelay", "batch", "--month", str(month), "-o", batch)
    label = f"2013-{month:02d}"
    _, fixed = monitor(
        run, batch, f"{ARTIFACT}@{first_version}", label=label, history=reports.history
    )
    record.never_retrained = realized_figures(fixed)
    last = reports.monitor if month == reports.last_month else None
    alert, report = monitor(
        run, batch, f"{ARTIFACT}#production", label=label, history=reports.history, out=last
    )
    record.monitor = "alert" if alert else "ok"
    record.drift = drift_summary(report)
    record.alerts = sorted({a["kind"] for a in report.get("alerts", [])})
    record.realized = realized_figures(report)
    record.ct_due = "alert" if alert else ("schedule" if due_by_schedule else "-")
    end = window_end(run)
    if record.ct_due != "-" and month <= end:
        record.decision = f"no CT: the window already ends at month {end}"
    elif record.ct_due != "-":
        ct_step(run, month, record.ct_due, record)
    return record


def drift_summary(data: dict[str, Any]) -> str:
    """`3/20 features drifted`, from the monitor's report."""
    drift = data.get("drift", {})
    drifted = drift.get("drifted", drift.get("n_drifted"))
    total = drift.get("features", drift.get("n_features"))
    if isinstance(drifted, list):
        drifted = len(drifted)
    if isinstance(total, list | dict):
        total = len(total)
    return f"{drifted}/{total} drifted" if drifted is not None else ""


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _score(side: dict[str, Any] | None, key: str = "model.test.roc_auc") -> str:
    if not side:
        return "-"
    value = side["scores"].get(key)
    return f"{side['version']} {_fmt(value)}" if value is not None else f"{side['version']} -"


def summary(months: list[Month]) -> dict[str, Any]:
    """What retraining bought: production against never-retrained over the months both exist."""
    both = [m for m in months if m.realized.get(HEADLINE) is not None]
    both = [m for m in both if m.never_retrained.get(HEADLINE) is not None]
    if not both:
        return {"months": []}

    def mean(values: list[float]) -> float:
        return round(sum(values) / len(values), 4)

    def total(side: str) -> float:
        return round(sum(float(getattr(m, side).get("cost_total") or 0.0) for m in both), 2)

    out: dict[str, Any] = {"months": [m.month for m in both]}
    for side in ("realized", "never_retrained"):
        out[side] = {
            f"mean_{HEADLINE}": mean([float(getattr(m, side)[HEADLINE]) for m in both]),
            "mean_log_loss": mean([float(getattr(m, side)["log_loss"] or 0.0) for m in both]),
            "total_cost": total(side),
            "flights": sum(int(getattr(m, side).get("rows") or 0) for m in both),
        }
    diverged = [m.month for m in both if m.realized != m.never_retrained]
    out["months_with_a_retrained_model"] = diverged
    out[f"mean_{HEADLINE}_gain"] = round(
        out["realized"][f"mean_{HEADLINE}"] - out["never_retrained"][f"mean_{HEADLINE}"], 4
    )
    out["cost_saved"] = round(
        out["never_retrained"]["total_cost"] - out["realized"]["total_cost"], 2
    )
    served = [m for m in both if m.month in diverged]
    if served:  # the months where the two differ: a retrained model was serving
        gain = [float(m.realized[HEADLINE]) - float(m.never_retrained[HEADLINE]) for m in served]
        out["while_retrained"] = {
            "months": [m.month for m in served],
            f"mean_{HEADLINE}_gain": mean(gain),
            "cost_saved": round(
                sum(
                    float(m.never_retrained.get("cost_total") or 0.0)
                    - float(m.realized.get("cost_total") or 0.0)
                    for m in served
                ),
                2,
            ),
            "months_better": sum(g > 0 for g in gain),
        }
    out["retrains"] = sum(m.ct_ran for m in months)
    out["promotions_to_production"] = sum(m.production.startswith("promoted") for m in months)
    return out


def markdown(
    first: Month,
    months: list[Month],
    *,
    totals: dict[str, Any],
    history: str,
    audit_ok: bool | None,
    moved: list[str],
) -> str:
    lines = [
        "# A year of continuous training (simulated on NYC flights 2013)",
        "",
        f"The first model ({first.window}): staging {first.staging}; production "
        f"{first.production}. Each month's flights arrive labelled: "
        "the model in production is judged on them (drift and realized performance, "
        "`ratchet monitor --labelled`), and so is the first model, never retrained. "
        "Champion and challenger: `model.test.roc_auc` of both on the candidate's rows (the "
        "same rows, one `rows_md5`), as the last gate that judged scored them. Cost: "
        "`monitor.realized.cost` in ratchet.yaml, dollars per flight (total for the month in "
        "parentheses).",
        "",
        "| month | production | drift | realized ROC-AUC | cost $/flight (month) "
        "| never retrained: ROC-AUC | never retrained: cost | CT | challenger | champion "
        "| decision |",
        "|---:|---|---|---:|---:|---:|---:|---|---|---|---|",
    ]
    for m in months:
        r, n = m.realized, m.never_retrained
        ct = f"ran ({m.ct_due})" if m.ct_ran else ("due, " + m.ct_due if m.ct_due != "-" else "-")
        lines.append(
            f"| {m.month} | {m.production_version or '-'} | {m.monitor}: {m.drift} "
            f"| {_fmt(r.get('roc_auc'))} | {_fmt(r.get('cost_per_row'), 2)} "
            f"({_fmt(r.get('cost_total'), 0)}) | {_fmt(n.get('roc_auc'))} "
            f"| {_fmt(n.get('cost_per_row'), 2)} ({_fmt(n.get('cost_total'), 0)}) | {ct} "
            f"| {_score(m.challenger)} | {_score(m.champion)} | {m.decision} |"
        )
    lines += ["", "## What retraining bought", ""]
    if totals.get("months"):
        p, n = totals["realized"], totals["never_retrained"]
        span = f"{min(totals['months'])}-{max(totals['months'])}"
        lines += [
            f"Over months {span} ({p['flights']} flights): CT ran {totals['retrains']} "
            f"time(s), {totals['promotions_to_production']} model(s) promoted to production; "
            "months with a retrained model in production: "
            f"{', '.join(map(str, totals['months_with_a_retrained_model'])) or 'none'}.",
            "",
            "| | mean realized ROC-AUC | mean log loss | total cost ($) |",
            "|---|---:|---:|---:|",
            f"| production (retrained by CT) | {p['mean_roc_auc']:.4f} | "
            f"{p['mean_log_loss']:.4f} | {p['total_cost']:,.0f} |",
            f"| first model, never retrained | {n['mean_roc_auc']:.4f} | "
            f"{n['mean_log_loss']:.4f} | {n['total_cost']:,.0f} |",
            f"| difference | {totals['mean_roc_auc_gain']:+.4f} | "
            f"{p['mean_log_loss'] - n['mean_log_loss']:+.4f} | "
            f"{p['total_cost'] - n['total_cost']:+,.0f} |",
            "",
        ]
        served = totals.get("while_retrained")
        if served:
            lines += [
                f"While a retrained model served ({len(served['months'])} months): realized "
                f"ROC-AUC {served['mean_roc_auc_gain']:+.4f} on average, better in "
                f"{served['months_better']} of {len(served['months'])} months, and "
                f"${served['cost_saved']:,.0f} of cost saved at the policy's cost matrix.",
                "",
            ]
    if audit_ok is not None:
        lines += [
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
    else:
        lines += ["(run in progress: the registry history follows at the end)", ""]
    return "\n".join(lines)


def chart(months: list[Month], path: Path) -> None:
    """Realized ROC-AUC and cost per flight by month: production against never-retrained."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from mlratchet import save_figure

    fig = Figure(figsize=(8, 6))
    top, bottom = fig.subplots(2, 1, sharex=True)
    x = [m.month for m in months]
    for side, label, style in (
        ("realized", "production (CT)", "-o"),
        ("never_retrained", "first model, never retrained", "--s"),
    ):
        for ax, key in ((top, "roc_auc"), (bottom, "cost_per_row")):
            ys = [getattr(m, side).get(key) for m in months]
            ax.plot(x, [float("nan") if y is None else y for y in ys], style, label=label)
    for m in months:
        if m.production.startswith("promoted"):
            top.axvline(m.month + 0.5, color="grey", linestyle=":", linewidth=1)
    top.set(ylabel="realized ROC-AUC", title="Realized performance by month (2013)")
    bottom.set(ylabel="cost per flight ($)", xlabel="month (dotted: a new model in production)")
    bottom.set_xticks(range(min(x, default=1), max(x, default=12) + 1))
    top.legend(loc="best")
    top.grid(alpha=0.3)
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)


def save(args: argparse.Namespace, text: str, record: dict[str, Any], months: list[Month]) -> None:
    """Write the Markdown, the JSON and the chart (after every month, and at the end)."""
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    if args.png and months:
        args.png.parent.mkdir(parents=True, exist_ok=True)
        chart(months, args.png)


def fresh_reports(args: argparse.Namespace, checkout: Path) -> Reports:
    """The report folder's history and monitor report, emptied for a new year."""
    given = args.report_dir or next(
        (p.parent for p in (args.out, args.json_out, args.png) if p), args.workdir
    )
    folder = Path(os.path.relpath(given.resolve(), checkout.resolve()))
    (checkout / folder / "realized-history.jsonl").unlink(missing_ok=True)
    shutil.rmtree(checkout / folder / "monitor", ignore_errors=True)
    return Reports(history=str(folder / "realized-history.jsonl"), monitor=str(folder / "monitor"))


def parse_args() -> argparse.Namespace:
    """The command line, checked."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--start-month",
        type=int,
        default=1,
        help="the first model trains on months 1..N (then validates on N+1, tests on N+2); "
        "the year is monitored from month N+1 (default 1: January, February to December)",
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
    parser.add_argument("--png", type=Path, help="write the chart of realized performance here")
    parser.add_argument(
        "--report-dir",
        type=Path,
        help="write the monitor's history (realized-history.jsonl) and the last month's monitor "
        "report (monitor/report.html, with the chart of that history) here (default: the folder "
        "of --out, --json or --png, else the workdir)",
    )
    args = parser.parse_args()
    if not 1 <= args.start_month <= 10:
        parser.error("--start-month must be 1..10 (validation and test months must follow)")
    return args


def main() -> int:
    args = parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    checkout = seed_project(args.workdir, args.start_month, args.fast)
    run = Runner(checkout, args.workdir / "commands.log")
    reports = fresh_reports(args, checkout)
    run("dvc", "remote", "add", "--local", "-d", "shared", str(args.workdir / "dvc-remote"))

    first = Month(args.start_month)
    ct_step(run, args.start_month, "initial", first)
    first_version = production_version(run)
    if first_version is None:
        raise SystemExit(f"ct_year: the first model was not promoted: {first.decision}")
    first.production_version = first_version
    seen = run.tags()
    moved: list[str] = []
    months: list[Month] = []
    last_retrain = args.start_month

    def record_of(totals: dict[str, Any], audit_ok: bool | None) -> dict[str, Any]:
        return {
            "first": asdict(first),
            "first_version": first_version,
            "months": [asdict(m) for m in months],
            "summary": totals,
            "audit_ok": audit_ok,
            "moved": moved,
            "local_tags": seen,
        }

    for month in range(args.start_month + 1, 13):
        due = month - last_retrain >= args.schedule_every
        record = one_month(run, month, first_version, due_by_schedule=due, reports=reports)
        if record.ct_ran:
            last_retrain = month
        run("dvc", "push", "-q")
        now = run.tags()
        moved += [t for t, obj in seen.items() if now.get(t) != obj]
        seen = now
        months.append(record)
        print(
            f"month {month}: {record.production_version} monitor {record.monitor} "
            f"{record.alerts}, roc_auc {_fmt(record.realized.get('roc_auc'))} "
            f"(never retrained {_fmt(record.never_retrained.get('roc_auc'))}), "
            f"CT {record.ct_due} ran={record.ct_ran}: {record.decision}",
            file=sys.stderr,
        )
        totals = summary(months)
        save(
            args,
            markdown(first, months, totals=totals, history="", audit_ok=None, moved=moved),
            record_of(totals, None),
            months,
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
    totals = summary(months)
    text = markdown(first, months, totals=totals, history=history, audit_ok=audit_ok, moved=moved)
    final = record_of(totals, audit_ok)
    final["remote_tags"] = remote
    save(args, text, final, months)
    print(text)
    return 0 if audit_ok and not moved and remote == seen else 1


if __name__ == "__main__":
    raise SystemExit(main())
