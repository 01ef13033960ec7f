"""`ratchet report` on real git+dvc repos: one Markdown report of what a change does.

The project: a `prep` stage with a constant output and a `train` stage whose model bytes,
metrics and ROC curve depend on `train.quality`; `dvc.yaml` declares the model as artifact `fd`
and the ROC curve as a DVC plot; `ratchet.yaml` has metrics rules and the registry policy of
`fd` (stages staging, production; contract record metrics/validation.json). Three commits
train quality 0.70, 0.72, 0.75 (HEAD), each reproduced with real DVC.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import commit_all, dvc, gen, git, run
from mlratchet import notes
from mlratchet.report.mermaid import number

MARKER = "<!-- mlratchet-report -->"

PREP = "from pathlib import Path\nPath('data').mkdir(exist_ok=True)\n" + (
    "Path('data/raw.txt').write_text('raw rows\\n')\n"
)

TRAIN = """\
import json
from pathlib import Path

from ruamel.yaml import YAML

q = YAML(typ="safe").load(Path("params.yaml").read_text())["train"]["quality"]
Path("models").mkdir(exist_ok=True)
Path("models/model.bin").write_text(f"model of quality {q}\\n")
Path("data/features.csv").write_text(f"x,y\\n1,{q}\\n")
Path("metrics/plots/roc").mkdir(parents=True, exist_ok=True)
k = (1 - q) / q
roc = [{"fpr": i / 10, "tpr": round((i / 10) ** k, 6)} for i in range(11)]
Path("metrics/plots/roc/model.json").write_text(json.dumps(roc, indent=2) + "\\n")
metrics = {"model": {"val": {"auc": q, "loss": round(1 - q, 6)}}, "data": {"rows": 100}}
Path("metrics/metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\\n")
"""

DVC_YAML = """\
stages:
  prep:
    cmd: python prep.py
    deps: [prep.py]
    outs: [data/raw.txt]
  train:
    cmd: python train.py
    deps: [train.py, data/raw.txt]
    params: [train.quality]
    outs:
      - models/model.bin
      - data/features.csv
      - metrics/plots/roc:
          cache: false
    metrics:
      - metrics/metrics.json:
          cache: false
plots:
  - metrics/plots/roc/model.json:
      x: fpr
      y: tpr
artifacts:
  fd:
    path: models/model.bin
    type: model
"""

RULES = """\
metrics:
  model.val.auc: {direction: higher, tolerance: 0.001}
  model.val.loss: {direction: lower, tolerance: 0.001}
"""

REGISTRY = """\
registry:
  fd:
    contract: metrics/validation.json
    stages:
      - name: staging
        verified: false
        contract: false
        finite_metrics: false
      - name: production
        verified: false
        contract: false
        finite_metrics: false
"""

QUALITIES = (0.70, 0.72, 0.75)

CLOCK_STAGE = (
    "  clock:\n"
    '    cmd: python -c "import time, random; '
    "open('clock.txt','w').write(str(time.time()) + str(random.random()))\"\n"
    "    deps: [data/raw.txt]\n"
    "    outs: [clock.txt]\n"
)


def params(quality: float) -> str:
    """params.yaml text."""
    return f"train:\n  quality: {quality}\n"


def ratchet(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `ratchet` CLI, in a separate process."""
    return run([sys.executable, "-m", "mlratchet", *args], repo, check=False)


def report(repo: Path, *args: str) -> str:
    """`ratchet report ARGS` on stdout; it must exit 0."""
    proc = ratchet(repo, "report", *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def section(text: str, title: str) -> str:
    """The body of the `### title...` section of a report."""
    match = re.search(rf"^### {re.escape(title)}[^\n]*\n(.*?)(?=^### |\Z)", text, re.M | re.S)
    assert match, f"no section {title!r} in:\n{text}"
    return match.group(1)


def retrain(repo: Path, quality: float, rules: str = RULES) -> None:
    """Set the quality and the metrics rules in the work tree and reproduce with DVC (nothing
    committed)."""
    gen(repo, {"params.yaml": params(quality), "ratchet.yaml": rules + REGISTRY})
    dvc(repo, "repro", "-q")


@pytest.fixture(scope="session")
def report_template(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project with three reproduced commits (built once per session)."""
    root = tmp_path_factory.mktemp("report-project") / "repo"
    shutil.copytree(template_repo, root, symlinks=True)
    gen(root, {"prep.py": PREP, "train.py": TRAIN, "dvc.yaml": DVC_YAML})
    for quality in QUALITIES:
        retrain(root, quality)
        commit_all(root, f"train quality {quality}")
    return root


@pytest.fixture
def project(report_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the project for one test."""
    dest = tmp_path / "project"
    shutil.copytree(report_template, dest, symlinks=True)
    return dest


def short(repo: Path, rev: str) -> str:
    """The 7-digit sha of ``rev``."""
    return git(repo, "rev-parse", rev)[:7]


# -- the report's frame and metrics ---------------------------------------------------------
def test_marker_first_and_metrics_table_is_the_cli_table(project: Path) -> None:
    """The marker is line 1, the title names both commits, and the metrics table is byte for
    byte `ratchet metrics diff BASE HEAD --check --md`."""
    text = report(project, "--base", "HEAD~1", "--head", "HEAD")
    lines = text.splitlines()
    assert lines[0] == MARKER
    assert lines[1] == (
        f"## mlratchet report: `HEAD~1 ({short(project, 'HEAD~1')})` → "
        f"`HEAD ({short(project, 'HEAD')})`"
    )
    cli = ratchet(project, "metrics", "diff", "HEAD~1", "HEAD", "--check", "--md")
    assert cli.returncode == 0, cli.stderr
    body = section(text, "Metrics vs base")
    assert cli.stdout.rstrip("\n") in body
    assert "| Status" in cli.stdout and "improved" in body
    assert "✅ Checks passed:** metrics (2 rules)" in text


def test_regression_is_regressed_and_the_report_still_exits_0(project: Path) -> None:
    """A worse workspace model: `regressed` rows, a failed status line, exit 0 (the report
    informs; `metrics diff --check` is the gate), the failure named on stderr."""
    retrain(project, 0.71)
    proc = ratchet(project, "report", "--base", "HEAD")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    body = section(text, "Metrics vs base")
    assert re.search(r"\| model\.val\.auc +\| 0\.75 +\| 0\.71 .*\| regressed", body)
    assert re.search(r"\| model\.val\.loss .*\| regressed", body)
    assert "2 of 2 rules said no" in body
    assert "**❌ 1 check failed:** metrics (2 of 2 rules said no" in text
    assert "checks failed (metrics)" in proc.stderr
    gate = ratchet(project, "metrics", "diff", "HEAD", "workspace", "--check", "--md")
    assert gate.returncode == 1
    assert gate.stdout.rstrip("\n") in body


def test_base_without_rules_falls_back_to_the_heads(project: Path) -> None:
    """A base with no `ratchet: metrics` rules: judged by the head's rules, and the report says
    so instead of failing."""
    retrain(project, 0.75, rules="")
    commit_all(project, "no rules yet")
    retrain(project, 0.74)
    text = report(project, "--base", "HEAD")
    body = section(text, "Metrics vs base")
    assert "declares no metrics rules: judged by the head's rules" in body
    assert "Rules from ratchet.yaml at head workspace" in body
    assert re.search(r"\| model\.val\.auc .*\| regressed", body)


def test_no_rules_anywhere_is_a_plain_diff(project: Path) -> None:
    """Neither side declares rules: the plain DVC table, no verdict, the metrics check not run."""
    retrain(project, 0.75, rules="")
    commit_all(project, "no rules")
    retrain(project, 0.74, rules="")
    text = report(project, "--base", "HEAD")
    cli = ratchet(project, "metrics", "diff", "HEAD", "workspace", "--md")
    body = section(text, "Metrics vs base")
    assert cli.stdout.rstrip("\n") in body
    assert "Status" not in body
    assert "no metrics rules at base or head" in body
    assert "**Not run:** metrics (" in text


def test_params_diff_is_the_cli_table(project: Path) -> None:
    """The params section is `ratchet params diff BASE HEAD --md`."""
    text = report(project, "--base", "HEAD~1", "--head", "HEAD")
    cli = ratchet(project, "params", "diff", "HEAD~1", "HEAD", "--md")
    body = section(text, "Params vs base")
    assert cli.stdout.rstrip("\n") in body
    assert re.search(r"\| params\.yaml \| train\.quality +\| 0\.72 +\| 0\.75", body)
    same = report(project, "--base", "HEAD", "--head", "HEAD")
    assert "No params changed." in section(same, "Params vs base")


# -- dvc.lock hashes ------------------------------------------------------------------------
def test_changed_output_hashes_are_listed_and_unchanged_counted(project: Path) -> None:
    """Each output whose md5 changed: path, both short md5s, sizes; the model marked as the
    artifact; the unchanged prep output counted, not listed."""
    from mlratchet.dvclock import load_lock, outputs

    base = outputs(load_lock(project, git(project, "rev-parse", "HEAD~1")))
    head = outputs(load_lock(project, git(project, "rev-parse", "HEAD")))
    body = section(report(project, "--base", "HEAD~1", "--head", "HEAD"), "Data and model")
    for path in ("models/model.bin", "data/features.csv"):
        old, new = base[path].md5, head[path].md5
        assert old and new and old != new
        assert re.search(rf"\| `{re.escape(path)}`[^|]* \| `{old[:8]}` \| `{new[:8]}` \|", body)
    roc_old, roc_new = base["metrics/plots/roc"].md5, head["metrics/plots/roc"].md5
    assert roc_old and roc_new
    assert f"`{roc_old[:8]}.dir` | `{roc_new[:8]}.dir`" in body
    assert "`models/model.bin` (artifact `fd`)" in body
    assert "data/raw.txt" not in body
    assert "1 other output unchanged." in body
    size = head["models/model.bin"].size  # "model of quality 0.72\n" -> 0.75: the same size
    assert base["models/model.bin"].size == size
    assert f"(artifact `fd`) | `{base['models/model.bin'].md5[:8]}` " in body
    assert f"| {size} B → {size} B (+0 B) |" in body


# -- data contract --------------------------------------------------------------------------
def test_contract_absent(project: Path) -> None:
    """No metrics/validation.json: one line, and the contract check is not run."""
    text = report(project, "--base", "HEAD")
    assert "⚪ no metrics/validation.json at workspace" in section(text, "Data contract")
    assert "data contract (no metrics/validation.json" in text.splitlines()[3]


def test_contract_valid(project: Path) -> None:
    """`"valid": true` passes, naming the tables."""
    record = {"valid": True, "tables": {"flights": {"valid": True, "failures": []}}}
    gen(project, {"metrics/validation.json": json.dumps(record)})
    text = report(project, "--base", "HEAD")
    assert "✅ `metrics/validation.json`: valid (1 tables: flights)." in text
    assert "data contract (metrics/validation.json valid)" in text.splitlines()[3]


def test_contract_invalid_lists_a_few_failures(project: Path) -> None:
    """`"valid": false` fails the status line and lists the first five failures, then a count."""
    failures = [
        {"column": f"c{i}", "rule": "max", "expected": 1, "count": i + 1, "examples": []}
        for i in range(7)
    ]
    record = {
        "valid": False,
        "tables": {
            "flights": {"valid": False, "failures": failures},
            "weather": {"valid": True, "failures": []},
        },
    }
    gen(project, {"metrics/validation.json": json.dumps(record)})
    text = report(project, "--base", "HEAD")
    body = section(text, "Data contract")
    assert "❌ `metrics/validation.json`: invalid (tables: flights), 7 rules failed:" in body
    assert "- flights: column `c0` broke `max` (1 rows)" in body
    assert "- flights: column `c4` broke `max` (5 rows)" in body
    assert "c5" not in body
    assert "- … and 2 more" in body
    assert "**❌ 1 check failed:** data contract (7 rules failed)" in text


def test_contract_unreadable_does_not_crash(project: Path) -> None:
    """A validation file that is not JSON is reported, not raised."""
    gen(project, {"metrics/validation.json": "{not json"})
    text = report(project, "--base", "HEAD")
    assert "⚪ not JSON" in section(text, "Data contract")


# -- verify ---------------------------------------------------------------------------------
def test_verify_absent_then_ok_then_for_another_lock(project: Path) -> None:
    """No note: says the command to run; after `ratchet verify`: reproduced; a work tree whose
    dvc.lock differs from the verified one: the verdict is for another lock."""
    head = short(project, "HEAD")
    body = section(report(project, "--base", "HEAD~1", "--head", "HEAD"), "Reproducibility")
    assert f"⚪ Not verified yet: run `ratchet verify --rev {head}`." in body
    proc = ratchet(project, "verify")
    assert proc.returncode == 0, proc.stderr
    text = report(project, "--base", "HEAD~1", "--head", "HEAD")
    assert f"✅ `{head}` reproduced bit for bit on " in section(text, "Reproducibility")
    assert "reproducibility (ratchet verify: reproduced bit for bit)" in text
    same_lock = report(project, "--base", "HEAD~1")  # the workspace: HEAD's lock, unchanged
    assert "reproduced bit for bit" in section(same_lock, "Reproducibility")
    retrain(project, 0.76)
    other = section(report(project, "--base", "HEAD"), "Reproducibility")
    assert f"the verify record on {head} is for another dvc.lock" in other
    assert "commit the work tree's dvc.lock, then run `ratchet verify`" in other


def test_verify_not_reproduced_names_stage_and_output(project: Path) -> None:
    """A nondeterministic stage: the report fails reproducibility and names the stage, the
    output and the recorded md5."""
    gen(project, {"dvc.yaml": DVC_YAML.replace("\nplots:\n", "\n" + CLOCK_STAGE + "plots:\n")})
    dvc(project, "repro", "-q")
    commit_all(project, "a clock")
    assert ratchet(project, "verify").returncode == 1
    text = report(project, "--base", "HEAD~1", "--head", "HEAD")
    body = section(text, "Reproducibility")
    record = notes.read(project, git(project, "rev-parse", "HEAD"))["verify"]
    clock = next(s for s in record["stages"] if s["stage"] == "clock")
    expected = clock["outputs"][0]["expected"]
    assert "**not-reproduced**" in body
    assert re.search(rf"\| clock \| `clock\.txt` \| differs \| `{expected[:8]}` \|", body)
    assert "reproducibility (ratchet verify: not-reproduced)" in text


# -- compute --------------------------------------------------------------------------------
def _cells(record: dict[str, float]) -> list[str]:
    rss = f"{record['peak_rss_mib']:.0f} MiB"
    return [f"{record['seconds']:.1f} s", f"{record['cpu_s']:.1f} s", rss]


def test_compute_table_compares_the_repro_notes(project: Path) -> None:
    """`ratchet repro --force` at base and at head: one row per stage with both sides' wall,
    CPU and peak RSS from the notes, and the change in wall time."""
    root = project
    for rev in ("HEAD~1", "main"):
        git(root, "checkout", "-q", rev)
        dvc(root, "checkout", "-q")
        proc = ratchet(root, "repro", "--force")
        assert proc.returncode == 0, proc.stderr
    base_sha, head_sha = git(root, "rev-parse", "HEAD~1"), git(root, "rev-parse", "HEAD")
    base = notes.read(root, base_sha)["repro"]["stages"]
    head = notes.read(root, head_sha)["repro"]["stages"]
    body = section(report(root, "--base", "HEAD~1", "--head", "HEAD"), "Compute per stage")
    for stage in ("prep", "train"):
        row = f"| {stage} | " + " | ".join([*_cells(base[stage]), *_cells(head[stage])]) + " |"
        assert row in body
        delta = head[stage]["seconds"] - base[stage]["seconds"]
        assert f"{'+' if delta >= 0 else '-'}{abs(delta):.1f} s (" in body
    assert body.index("| prep |") < body.index("| train |")  # pipeline order


def test_compute_records_of_the_work_tree_and_missing_sides(project: Path) -> None:
    """No notes at all: one line. An uncommitted `ratchet repro`: the work tree's records
    (pending a commit) are the head side; a stage whose run matches HEAD's lock entry lands on
    HEAD's note; a side without records is `-` and one line says so."""
    nothing = section(report(project, "--base", "HEAD~1", "--head", "HEAD"), "Compute per stage")
    assert "no compute records for base or head" in nothing
    assert "|" not in nothing
    retrain(project, 0.76)
    proc = ratchet(project, "repro", "--force")
    assert proc.returncode == 0, proc.stderr
    number = r"[0-9.]+ s \| [0-9.]+ s \| \d+ MiB"
    body = section(report(project, "--base", "HEAD"), "Compute per stage")
    assert re.search(rf"\| train \| - \| - \| - \| {number} \| - \|", body)  # pending
    assert re.search(rf"\| prep \| {number} \| {number} \| [+-]", body)  # same entry as HEAD
    assert "`-`: no `repro` record of the stage on that side" in body
    older = section(report(project, "--base", "HEAD~1"), "Compute per stage")
    assert f"no compute record for HEAD~1 ({short(project, 'HEAD~1')})" in older


# -- production -----------------------------------------------------------------------------
def gto(repo: Path, *args: str) -> None:
    """The real `gto`, writing GTO-format registry tags."""
    run([str(Path(sys.executable).parent / "gto"), *args], repo)


def test_production_without_and_with_a_version(project: Path) -> None:
    """No production version: one line. With GTO tags putting the first model in production:
    its table is `ratchet metrics diff fd#production HEAD --check --md`; production at the
    base commit: one line pointing above."""
    body = section(report(project, "--base", "HEAD~1", "--head", "HEAD"), "Metrics vs `production`")
    assert "**fd**: no version of fd is in production yet." in body
    first = git(project, "rev-parse", "HEAD~2")
    gto(project, "register", "fd", first)
    gto(project, "assign", "fd", "--version", "v0.0.1", "--stage", "production")
    body = section(report(project, "--base", "HEAD~1", "--head", "HEAD"), "Metrics vs `production`")
    assert f"**fd** v0.0.1 in `production` (commit `{first[:7]}`, tag `fd#production#1`):" in body
    cli = ratchet(project, "metrics", "diff", "fd#production", "HEAD", "--check", "--md")
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.rstrip("\n") in body
    at_base = report(project, "--base", "HEAD~2", "--head", "HEAD")
    assert "the version in production is the base commit: as above" in at_base


# -- charts ---------------------------------------------------------------------------------
NUMBER = r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)"
STRING = r'"[^"\n]*"'


def xycharts(text: str) -> list[dict[str, object]]:
    """Every ```mermaid block, checked against the xychart-beta grammar we use; parsed."""
    charts = []
    for block in re.findall(r"^```mermaid\n(.*?)^```$", text, re.M | re.S):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if lines[0].startswith("%%{"):
            assert re.fullmatch(r"%%\{init: \{.*\}\}%%", lines[0])
            json.loads(lines[0][len("%%{init: ") : -len("}%%")])  # the directive is JSON
            lines = lines[1:]
        assert lines[0] == "xychart-beta"
        chart: dict[str, object] = {"lines": []}
        for line in lines[1:]:
            if m := re.fullmatch(rf"title ({STRING})", line):
                chart["title"] = m.group(1).strip('"')
            elif m := re.fullmatch(rf"x-axis (?:{STRING} )?\[({STRING}(?:, {STRING})*)\]", line):
                chart["x"] = re.findall(STRING, m.group(1))
            elif m := re.fullmatch(rf"y-axis {STRING} ({NUMBER}) --> ({NUMBER})", line):
                chart["y"] = (float(m.group(1)), float(m.group(2)))
            elif m := re.fullmatch(rf"line \[({NUMBER}(?:, {NUMBER})*)\]", line):
                chart["lines"].append([float(v) for v in m.group(1).split(", ")])  # type: ignore[attr-defined]
            else:
                raise AssertionError(f"not xychart-beta grammar: {line!r}")
        assert {"title", "x", "y"} <= set(chart)
        low, high = chart["y"]  # type: ignore[misc]
        assert low < high
        for values in chart["lines"]:  # type: ignore[attr-defined]
            assert len(values) == len(chart["x"])  # type: ignore[arg-type]
            assert all(low <= v <= high for v in values)
        charts.append(chart)
    return charts


def test_mermaid_charts_follow_the_grammar(project: Path) -> None:
    """A history chart per declared metric (commits oldest to newest, the base marked, the
    workspace last) and the ROC plot dvc.yaml declares, head vs base on 21 FPR categories,
    all valid xychart-beta."""
    retrain(project, 0.8)
    text = report(project, "--base", "HEAD~1")
    charts = xycharts(section(text, "Charts"))
    assert len(charts) == 3
    auc, loss, roc = charts
    shas = [short(project, r) for r in ("HEAD~2", "HEAD~1", "HEAD")]
    assert auc["x"] == [f'"{shas[0]}"', f'"{shas[1]} (base)"', f'"{shas[2]}"', '"workspace"']
    assert auc["lines"] == [[0.7, 0.72, 0.75, 0.8]]
    assert str(auc["title"]).startswith("model.val.auc, last 4 commits")
    assert loss["lines"] == [[0.3, 0.28, 0.25, 0.2]]
    assert roc["x"] == [f'"{number(round(i * 0.05, 6))}"' for i in range(21)]  # 0, 0.05, ..., 1
    head_line, base_line = roc["lines"]  # type: ignore[misc]
    k_head, k_base = (1 - 0.8) / 0.8, (1 - 0.72) / 0.72
    assert head_line[2] == pytest.approx(0.1**k_head, abs=1e-5)  # a grid point of the file
    assert base_line[1] == pytest.approx((0.1**k_base) / 2, abs=1e-5)  # halfway to 0.1
    assert roc["title"] == (
        f"metrics/plots/roc/model.json: blue = head workspace, orange = base HEAD~1 ({shas[1]})"
    )


def test_a_committed_work_tree_is_not_charted_twice(project: Path) -> None:
    """Once the change is committed, the work tree's metrics are HEAD's: the history chart ends
    at HEAD's commit instead of repeating it as a "workspace" point."""
    retrain(project, 0.8)
    commit_all(project, "train quality 0.8")
    charts = xycharts(section(report(project, "--base", "HEAD~1"), "Charts"))
    shas = [short(project, r) for r in ("HEAD~3", "HEAD~2", "HEAD~1", "HEAD")]
    assert charts[0]["x"] == [f'"{shas[0]}"', f'"{shas[1]}"', f'"{shas[2]} (base)"', f'"{shas[3]}"']
    assert charts[0]["lines"] == [[0.7, 0.72, 0.75, 0.8]]


def test_a_report_fits_in_a_github_comment(project: Path, tmp_path: Path) -> None:
    """A change to thousands of metrics still makes a comment GitHub accepts (65,536
    characters): the judged rows stay, the rest is counted and named; the job summary and
    `--max-chars 0` keep every row; a tiny limit is a usage error."""
    metrics = json.loads((project / "metrics/metrics.json").read_text())

    def write(shift: float, auc: float) -> None:
        metrics["model"]["val"]["auc"] = auc
        metrics["extra"] = {f"k{i:04d}": round(i + shift, 3) for i in range(3000)}
        gen(project, {"metrics/metrics.json": json.dumps(metrics, indent=2) + "\n"})
        # Recorded in dvc.lock as the pipeline's output: a hand-edited, unrecorded metrics
        # file is refused by every reader that judges.
        dvc(project, "commit", "-f", "-q")

    write(0.0, 0.75)
    commit_all(project, "3,000 extra metrics")
    write(0.5, 0.76)
    commit_all(project, "every extra metric moves")

    summary = tmp_path / "summary.md"
    text = report(project, "--base", "HEAD~1", "--head", "HEAD", "--summary", str(summary))
    assert text == "" and summary.exists()  # --summary alone: nothing on stdout
    comment = report(project, "--base", "HEAD~1", "--head", "HEAD")
    assert len(comment.encode("utf-16-le")) // 2 <= 65_536
    assert comment.startswith("<!-- mlratchet-report -->\n")
    body = section(comment, "Metrics vs base")
    assert "| metrics/metrics.json | model.val.auc " in body and "| improved " in body
    assert "| extra.k2999 " not in body
    shown = body.count("| metrics/metrics.json | extra.")
    assert 0 < shown < 3000
    assert (
        f"_{3000 - shown:,} more metrics left out to fit GitHub's size limit: "
        "run `ratchet metrics diff HEAD~1 HEAD --md`._"
    ) in body
    for title in ("Params vs base", "Data contract", "Reproducibility", "Compute per stage"):
        section(comment, title)

    whole = summary.read_text()
    assert len(whole) > 65_536 and whole.count("| metrics/metrics.json | extra.") == 3000
    unlimited = report(project, "--base", "HEAD~1", "--head", "HEAD", "--max-chars", "0")
    assert unlimited == whole

    cut = report(project, "--base", "HEAD~1", "--head", "HEAD", "--max-chars", "1000")
    assert len(cut) <= 1000 and cut.startswith("<!-- mlratchet-report -->\n")
    assert cut.endswith(
        "_The report was cut at 1,000 characters (GitHub's size limit); "
        "run `ratchet report` for the whole of it._\n"
    )
    tiny = ratchet(project, "report", "--base", "HEAD~1", "--max-chars", "10")
    assert tiny.returncode == 2 and "--max-chars" in tiny.stderr


def test_missing_inputs_degrade_to_one_line_each(project: Path) -> None:
    """Against the first commit (no pipeline at all), every section explains itself in a line
    and the report is still written."""
    first = git(project, "rev-list", "--max-parents=0", "HEAD")
    text = report(project, "--base", first, "--head", "HEAD")
    assert text.startswith(MARKER + "\n")
    assert f"no dvc.lock at {first[:7]}" in section(text, "Data and model")
    charts = section(text, "Charts")
    assert f"metrics/plots/roc/model.json: no metrics/plots/roc/model.json at {first[:7]}" in charts
    assert "no compute records for base or head" in text
    assert re.search(r"\| model\.val\.auc +\| - +\| 0\.75 .*\| added", text)


def test_plots_dir_writes_the_same_pngs_twice(project: Path, tmp_path: Path) -> None:
    """--plots-dir writes the history PNG and one per DVC plot, byte-identical on a rerun, and the
    Markdown points to the workflow's artifacts."""
    out = tmp_path / "plots"
    text = report(project, "--base", "HEAD~1", "--head", "HEAD", "--plots-dir", str(out))
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(first) == {"metrics-history.png", "plot-metrics-plots-roc-model.png"}
    assert all(data.startswith(b"\x89PNG") for data in first.values())
    report(project, "--base", "HEAD~1", "--head", "HEAD", "--plots-dir", str(out))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    pngs = "(`metrics-history.png`, `plot-metrics-plots-roc-model.png`)"
    assert f"{pngs} are in this workflow run's artifacts" in text


# -- output and exit codes ------------------------------------------------------------------
def test_out_is_atomic_and_summary_appends(project: Path, tmp_path: Path) -> None:
    """--out replaces the file whole (no temporary left, nothing on stdout); --summary appends
    one report per run, as $GITHUB_STEP_SUMMARY expects."""
    out = tmp_path / "out" / "report.md"
    out.parent.mkdir()
    out.write_text("old content that is longer than nothing\n" * 1000)
    proc = ratchet(project, "report", "--base", "HEAD~1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert out.read_text().startswith(MARKER)
    assert "old content" not in out.read_text()
    assert [p.name for p in out.parent.iterdir()] == ["report.md"]
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    for _ in range(2):
        report(project, "--base", "HEAD~1", "--summary", str(summary))
    text = summary.read_text()
    assert text.startswith("# earlier step\n\n" + MARKER)
    assert text.count(MARKER) == 2
    assert text.count(out.read_text()) == 2


def test_json_is_strict_and_structured(project: Path) -> None:
    """--json: strict JSON (no NaN tokens) with the same verdicts as the Markdown."""
    retrain(project, 0.71)
    proc = ratchet(project, "report", "--base", "HEAD", "--json")
    assert proc.returncode == 0, proc.stderr

    def refuse(token: str) -> None:
        raise AssertionError(f"non-strict JSON token {token}")

    data = json.loads(proc.stdout, parse_constant=refuse)
    assert data["schema"] == "mlratchet.report/1"
    assert data["ok"] is False
    assert data["base"] == {"name": "HEAD", "sha": git(project, "rev-parse", "HEAD")}
    assert data["head"] == {"name": "workspace", "sha": None}
    entry = data["metrics"]["diff"]["metrics/metrics.json"]["model.val.auc"]
    assert entry["status"] == "regressed" and entry["old"] == 0.75 and entry["new"] == 0.71
    assert {c["name"]: c["state"] for c in data["checks"]} == {
        "metrics": "failed",
        "data contract": "not run",
        "reproducibility": "not run",
    }
    assert len(data["charts"]["plots"][0]["grid"]) == 21
    both = ratchet(project, "report", "--base", "HEAD", "--json", "--summary", "s.md")
    assert both.returncode == 2


def test_bad_revision_is_exit_2_in_one_line(project: Path) -> None:
    """An unknown base or head: exit 2, one line naming it, nothing on stdout."""
    for args in (["--base", "nope"], ["--base", "HEAD", "--head", "nope"]):
        proc = ratchet(project, "report", *args)
        assert proc.returncode == 2
        assert proc.stdout == ""
        assert proc.stderr.strip() == "error: unknown revision 'nope'"
