"""``ratchet exp show`` and ``ratchet exp diff`` on real git+DVC repositories, checked against
``dvc exp show``; experiment names as revisions of the other commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from expfixture import experiment_files, make_experiments
from helpers import commit_all, dvc, gen, git
from mlratchet import notes
from mlratchet.cli.group import cli

PARAMS = """\
# the only stage's params
train:
  lr: 0.1            # learning rate
  depth: 3
  layers: [8, 4]
  name: base
"""
DVC_YAML = """\
stages:
  train:
    cmd: python -c "pass"
    params: [train.lr, train.depth, train.layers, train.name]
    metrics:
      - metrics.json:
          cache: false
"""
RATCHET = """\
metrics:
  auc: {direction: higher, tolerance: 0.001}
  loss: {direction: lower}
"""
BASE_METRICS = {"auc": 0.70, "loss": 0.50, "rows": 100}


def invoke(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "-R", str(repo)])


def project(root: Path, prefix: str = "") -> str:
    """A tiny DVC project (in ``prefix`` below the git top), committed; its commit."""
    gen(
        root,
        {
            prefix + "params.yaml": PARAMS,
            prefix + "dvc.yaml": DVC_YAML,
            prefix + "ratchet.yaml": RATCHET,
            prefix + "metrics.json": json.dumps(BASE_METRICS),
        },
    )
    return commit_all(root, "baseline")


def exp(lr: float, auc: float, loss: float, prefix: str = "", **more: Any) -> dict[str, bytes]:
    metrics = {"auc": auc, "loss": loss, "rows": 100}
    return experiment_files(
        PARAMS, {"train.lr": lr, **more}, {"metrics.json": metrics}, prefix=prefix
    )


@pytest.fixture
def repo(tmp_repo: Path) -> Path:
    """Three experiments on HEAD: one better, one worse, one equal within tolerance."""
    base = project(tmp_repo)
    make_experiments(
        tmp_repo,
        base,
        [
            ("lr-0.05_a+b", exp(0.05, 0.75, 0.45)),
            ("worse", exp(0.3, 0.60, 0.55)),
            ("same", exp(0.1, 0.6995, 0.50, **{"train.depth": 4})),
        ],
    )
    return tmp_repo


def show_json(repo: Path, *args: str) -> dict[str, Any]:
    result = invoke(repo, "exp", "show", "--json", *args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_show_ranks_by_the_first_rule_and_judges_each_metric(repo: Path) -> None:
    """Best first by the first rule (auc, higher); every rule gets a verdict per experiment."""
    data = show_json(repo)
    names = [e["name"] for e in data["experiments"]]
    assert names == ["lr-0.05_a+b", "same", "worse"]
    assert [e["rank"] for e in data["experiments"]] == [1, 2, 3]
    assert data["primary"] == {"metric": "auc", "direction": "higher"}
    assert data["baseline"]["name"] == "main"
    assert data["baseline"]["metrics"] == {"metrics.json": BASE_METRICS}
    verdicts = {
        e["name"]: {v["key"]: v["status"] for v in e["verdicts"]} for e in data["experiments"]
    }
    assert verdicts == {
        "lr-0.05_a+b": {"auc": "improved", "loss": "improved"},
        "same": {"auc": "unchanged", "loss": "unchanged"},
        "worse": {"auc": "regressed", "loss": "regressed"},
    }
    assert data["swept"] == [["params.yaml", "train.lr"], ["params.yaml", "train.depth"]]
    first = data["experiments"][0]
    assert first["params"]["params.yaml"]["train.lr"] == 0.05
    assert first["params"]["params.yaml"]["train.layers"] == "[8, 4]"  # as read_params shows
    base = git(repo, "rev-parse", "HEAD")
    assert first["ref"] == f"refs/exps/{base[:2]}/{base[2:]}/lr-0.05_a+b"
    assert first["rev"] == git(repo, "rev-parse", first["ref"])


def test_show_table_md_and_csv(repo: Path) -> None:
    """The table marks verdicts; --md spells them; --csv has one row per experiment."""
    table = invoke(repo, "exp", "show").stdout
    lines = table.splitlines()
    assert lines[0].split()[:5] == ["Experiment", "Rank", "Status", "auc", "loss"]
    assert lines[1].split()[:3] == ["main", "-", "baseline"]
    assert "0.75 ↑" in lines[2] and lines[2].startswith("lr-0.05_a+b")
    assert "0.6 ↓" in lines[4]
    md = invoke(repo, "exp", "show", "--md").stdout
    assert md.startswith("| Experiment") and "0.75 (improved)" in md
    csv_lines = invoke(repo, "exp", "show", "--csv").stdout.splitlines()
    assert len(csv_lines) == 1 + 1 + 3  # header, baseline, experiments
    assert csv_lines[2].split(",")[:3] == ["lr-0.05_a+b", "1", "success"]


def test_show_agrees_with_dvc_exp_show(repo: Path) -> None:
    """Real `dvc exp show --json` reads the same params and metrics for every experiment."""
    ours = show_json(repo)
    proc = dvc(repo, "exp", "show", "--json")
    theirs = json.loads(proc.stdout)

    def flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, dict):
                out.update(flat(value, f"{prefix}{key}."))
            else:
                out[f"{prefix}{key}"] = str(value) if isinstance(value, list) else value
        return out

    dvc_rows = {
        e["name"]: {
            kind: {p: flat(f["data"]) for p, f in e["revs"][0]["data"][kind].items()}
            for kind in ("params", "metrics")
        }
        for entry in theirs
        for e in entry.get("experiments") or []
    }
    our_rows = {
        e["name"]: {"params": e["params"], "metrics": e["metrics"]} for e in ours["experiments"]
    }
    assert our_rows == dvc_rows
    assert len(our_rows) == 3


def test_primary_from_the_policy_and_sort_override(repo: Path) -> None:
    """experiments.primary picks the ranking metric; --sort overrides it (direction given)."""
    gen(repo, {"ratchet.yaml": RATCHET + "experiments:\n  primary: loss\n"})
    base = commit_all(repo, "rank by loss")
    make_experiments(repo, base, [("a", exp(0.2, 0.8, 0.3)), ("b", exp(0.3, 0.9, 0.2))])
    data = show_json(repo)
    assert data["primary"] == {"metric": "loss", "direction": "lower"}
    assert [e["name"] for e in data["experiments"]] == ["b", "a"]
    data = show_json(repo, "--sort", "rows:lower")
    assert data["primary"] == {"metric": "rows", "direction": "lower"}
    assert [e["rank"] for e in data["experiments"]] == [1, 1]  # a tie
    result = invoke(repo, "exp", "show", "--sort", "rows")
    assert result.exit_code == 2 and "rows:higher" in result.stderr


def test_failed_experiments_from_the_note(repo: Path) -> None:
    """A failed point recorded in the baseline's note is listed as failed, last, unranked."""
    base = git(repo, "rev-parse", "HEAD")
    record = {"params": [["params.yaml", "train.lr", 9.0]], "error": "stage train failed: boom"}
    notes.update(repo, base, "exp", {"failed": {"diverged": {**record, "at": "x"}}})
    data = show_json(repo)
    last = data["experiments"][-1]
    assert last["name"] == "diverged" and last["status"] == "failed"
    assert last["error"] == "stage train failed: boom"
    assert last["rank"] is None and last["rev"] is None and last["metrics"] == {}
    assert last["params"]["params.yaml"]["train.lr"] == 9.0
    assert "diverged" in invoke(repo, "exp", "show").stdout


def test_no_experiments(tmp_repo: Path) -> None:
    """No experiments: a note on stderr, exit 0, an empty list."""
    project(tmp_repo)
    result = invoke(tmp_repo, "exp", "show", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["experiments"] == []
    assert "no experiments" in result.stderr


def test_subdir_project(tmp_repo: Path) -> None:
    """A DVC project below the git top (dvc init --subdir): paths relative to it."""
    root = tmp_repo.parent / "mono"
    root.mkdir()
    git(root, "init", "-q")
    (root / "ml").mkdir()
    dvc(root / "ml", "init", "--subdir", "-q")
    gen(root, {"README": "top\n"})
    base = project(root, "ml/")
    make_experiments(root, base, [("sub-1", exp(0.2, 0.8, 0.4, prefix="ml/"))])
    data = show_json(root / "ml")
    (only,) = data["experiments"]
    assert only["metrics"] == {"metrics.json": {"auc": 0.8, "loss": 0.4, "rows": 100}}
    assert only["params"]["params.yaml"]["train.lr"] == 0.2
    assert [v["status"] for v in only["verdicts"]] == ["improved", "improved"]
    result = invoke(root / "ml", "metrics", "diff", "HEAD", "sub-1", "--json")
    assert json.loads(result.stdout)["metrics.json"]["auc"]["new"] == 0.8


def test_experiment_that_changed_dvc_yaml(repo: Path) -> None:
    """An experiment with its own dvc.yaml is read by it, not by the baseline's."""
    base = git(repo, "rev-parse", "HEAD")
    files = exp(0.2, 0.9, 0.1)
    files["dvc.yaml"] = DVC_YAML.replace("metrics.json", "other.json").encode()
    files["other.json"] = json.dumps({"auc": 0.99}).encode()
    make_experiments(repo, base, [("own-dvc-yaml", files)])
    data = show_json(repo)
    row = next(e for e in data["experiments"] if e["name"] == "own-dvc-yaml")
    assert row["metrics"] == {"other.json": {"auc": 0.99}}
    assert row["rank"] == 1


def test_all_baselines_and_ambiguous_names(repo: Path) -> None:
    """--all lists every baseline's experiments, each judged against its own baseline; a name
    on two baselines resolves to HEAD's, and is ambiguous once HEAD has none of that name."""
    first = git(repo, "rev-parse", "HEAD")
    gen(repo, {"metrics.json": json.dumps({"auc": 0.9, "loss": 0.1, "rows": 100})})
    second = commit_all(repo, "better baseline")
    make_experiments(repo, second, [("worse", exp(0.3, 0.85, 0.2))])
    data = show_json(repo, "--all")
    assert len(data["experiments"]) == 4
    worse = {e["baseline"]: e for e in data["experiments"] if e["name"] == "worse"}
    assert set(worse) == {first, second}
    assert worse[second]["verdicts"][0]["old"] == 0.9
    assert show_json(repo, "--baseline", first)["baseline"]["rev"] == first
    assert len(show_json(repo)["experiments"]) == 1
    ok = invoke(repo, "metrics", "diff", "HEAD", "worse", "--json")
    assert json.loads(ok.stdout)["metrics.json"]["auc"]["new"] == 0.85
    gen(repo, {"n.txt": "x"})
    commit_all(repo, "third")
    result = invoke(repo, "metrics", "diff", "HEAD", "worse")
    assert result.exit_code == 2
    assert "ambiguous" in result.stderr and first[:7] in result.stderr


def test_names_as_revisions(repo: Path) -> None:
    """metrics diff, params diff and exp diff take experiment names; unknown names stay exit 2."""
    result = invoke(repo, "metrics", "diff", "main", "lr-0.05_a+b", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["metrics.json"]["auc"] == {
        "old": 0.7,
        "new": 0.75,
        "diff": pytest.approx(0.05),
    }
    result = invoke(repo, "params", "diff", "main", "worse", "--json")
    assert json.loads(result.stdout)["params.yaml"]["train.lr"]["new"] == 0.3
    result = invoke(repo, "metrics", "diff", "main", "no-such-exp")
    assert result.exit_code == 2 and "no-such-exp" in result.stderr
    diff = invoke(repo, "exp", "diff", "lr-0.05_a+b", "worse", "--json")
    assert diff.exit_code == 0, diff.output
    data = json.loads(diff.stdout)
    assert data["params"]["params.yaml"]["train.lr"] == {
        "old": 0.05,
        "new": 0.3,
        "diff": pytest.approx(0.25),
    }
    assert data["metrics"]["metrics.json"]["auc"]["status"] == "regressed"
    text = invoke(repo, "exp", "diff", "main", "worse").stdout
    assert "Param" in text and "regressed" in text
    # verify resolves the name (this experiment, made by fast-import, has no dvc.lock)
    result = invoke(repo, "verify", "--rev", "worse")
    assert result.exit_code == 2 and "dvc.lock does not exist at worse (" in result.stderr


def test_html_option(repo: Path, tmp_path: Path) -> None:
    """--html FILE writes the page (when the HTML helper is installed)."""
    pytest.importorskip("mlratchet.experiments.html")
    out = tmp_path / "board.html"
    result = invoke(repo, "exp", "show", "--html", str(out))
    assert result.exit_code == 0, result.output
    assert out.is_file()
