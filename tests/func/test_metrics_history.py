"""`ratchet metrics history` on real repositories: first-parent commits, tags, merges, ranges."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import commit_all, dvc, gen, git
from mlratchet.cli.group import cli
from mlratchet.metrics import history
from mlratchet.metrics.parse import flatten

STAGE = "stages:\n  train:\n    cmd: echo\n    metrics:\n      - m.json:\n          cache: false\n"


def _metrics(acc: float, loss: float) -> str:
    return json.dumps({"val": {"acc": acc, "loss": loss}, "name": f"run-{acc}"})


@pytest.fixture(scope="module")
def history_repo(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Path:
    """main: a commit without metrics, then five with, a tag, and a merge of a side branch."""
    root = tmp_path_factory.mktemp("history") / "repo"
    root.mkdir()
    git(root, "init", "-q")
    dvc(root, "init", "-q")
    gen(root, {"README": "x"})
    commit_all(root, "no metrics yet")
    gen(root, {"dvc.yaml": STAGE, "m.json": _metrics(0.5, 1.0)})
    commit_all(root, "first metrics")
    gen(root, {"m.json": _metrics(0.6, 0.9)})
    commit_all(root, "better")
    git(root, "tag", "v1")
    git(root, "tag", "-a", "v1-annotated", "-m", "annotated")
    git(root, "checkout", "-q", "-b", "side")
    gen(root, {"m.json": _metrics(0.1, 5.0)})
    commit_all(root, "side experiment")
    git(root, "checkout", "-q", "main")
    gen(root, {"other.txt": "unrelated"})
    commit_all(root, "unrelated change")
    git(root, "merge", "-q", "--no-ff", "-X", "theirs", "side", "-m", "merge side")
    gen(root, {"m.json": _metrics(0.7, 0.8), "extra.json": '{"val": {"acc": 1}}'})
    gen(root, {"dvc.yaml": STAGE + "metrics:\n  - extra.json\n"})
    commit_all(root, "latest, and a second metrics file")
    return root


def test_first_parent_history_newest_first_with_tags(history_repo: Path) -> None:
    """Every first-parent commit, newest first; side-branch commits are not listed; tags shown."""
    hist = history(history_repo)
    shas = git(history_repo, "rev-list", "--first-parent", "HEAD").split()
    assert [p.sha for p in hist.points] == shas
    assert len(shas) == 6
    side = git(history_repo, "rev-parse", "side")
    assert side not in [p.sha for p in hist.points]
    tagged = {p.sha: p.tags for p in hist.points if p.tags}
    assert tagged == {git(history_repo, "rev-parse", "v1"): ("v1", "v1-annotated")}
    accs = [p.metrics.get("m.json", {}).get("val.acc") for p in hist.points]
    assert accs == [0.7, 0.1, 0.6, 0.6, 0.5, None]  # the merge brought the side branch's value
    assert hist.points[-1].metrics == {}
    assert not hist.errors


def test_history_values_match_dvc_metrics_show_all_commits(history_repo: Path) -> None:
    """At every commit, our values are what `dvc metrics show -A --json` reads there."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    shown = json.loads(dvc(history_repo, "metrics", "show", "-A", "--json", env=env).stdout)
    for point in history(history_repo).points:
        theirs = shown[point.sha].get("data", {})
        assert point.metrics == {path: flatten(d["data"]) for path, d in theirs.items()}


def test_columns_qualify_a_key_found_in_two_files(history_repo: Path) -> None:
    """A key present in two files gets "path:key" column names; others keep the bare key."""
    names = [c.name for c in history(history_repo).columns]
    assert names == ["extra.json:val.acc", "m.json:val.acc", "name", "val.loss"]


def test_last_range_and_metric_selection(history_repo: Path) -> None:
    """--last keeps the newest N, A..B the range, --metric the columns (bare or path:key)."""
    assert len(history(history_repo, last=2).points) == 2
    ranged = history(history_repo, "v1..HEAD")
    assert [p.sha for p in ranged.points] == git(
        history_repo, "rev-list", "--first-parent", "v1..HEAD"
    ).split()
    picked = history(history_repo, metrics=("val.loss", "m.json:val.acc"))
    assert [c.name for c in picked.columns] == ["val.loss", "m.json:val.acc"]
    both = history(history_repo, metrics=("val.acc",)).columns
    assert [c.path for c in both] == ["extra.json", "m.json"]
    before = history(history_repo, "HEAD~1", metrics=("val.acc",)).columns
    assert [c.name for c in before] == ["val.acc"]  # one file holds it before HEAD


def invoke(repo: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["metrics", "history", *args, "-R", str(repo)])
    return result.exit_code, result.stdout, result.stderr


def test_cli_table_json_csv(history_repo: Path) -> None:
    """The three outputs agree: a table for people, JSON and CSV for programs."""
    code, table, _ = invoke(history_repo, "--metric", "val.loss", "--last", "3")
    assert code == 0
    lines = table.splitlines()
    assert lines[0].split() == ["Revision", "Date", "Tags", "val.loss"]
    assert [line.split()[-1] for line in lines[1:]] == ["0.8", "5.0", "0.9"]
    code, text, _ = invoke(history_repo, "--json", "--metric", "val.loss")
    data = json.loads(text)
    assert code == 0
    assert [d["metrics"].get("m.json", {}).get("val.loss") for d in data] == [
        0.8,
        5.0,
        0.9,
        0.9,
        1.0,
        None,
    ]
    assert data[3]["tags"] == ["v1", "v1-annotated"]
    assert data[0]["date"].endswith("Z")
    code, text, _ = invoke(history_repo, "--csv", "--metric", "val.loss", "--metric", "name")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["rev", "date", "tags", "val.loss", "name"]
    assert rows[4][2:] == ["v1 v1-annotated", "0.9", "run-0.6"]
    assert rows[-1][3:] == ["", ""]


def test_plot_is_a_deterministic_png(history_repo: Path, tmp_path: Path) -> None:
    """--plot writes a PNG, the same bytes each time; stdout stays quiet."""
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    code, out, err = invoke(history_repo, "--plot", str(first), "--metric", "val.loss")
    assert (code, out) == (0, "")
    assert "wrote" in err
    invoke(history_repo, "--plot", str(second), "--metric", "val.loss")
    assert first.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--rev", "nope"), "unknown revision 'nope'"),
        (("--rev", "v1...HEAD"), "use A..B"),
        (("--rev", "workspace"), "history needs commits"),
        (("--metric", "val.f1"), "--metric 'val.f1': no metrics file in this history has it"),
        (("--plot", "{tmp}/x.png", "--metric", "name"), "no numeric metric"),
        (("--json", "--csv"), "--json and --csv cannot be used together"),
        (("--last", "0"), "0 is not in the range x>=1"),
    ],
)
def test_cli_errors_exit_2(
    history_repo: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    """Bad revisions, ranges, metrics and flags: exit 2 with one line saying what is wrong."""
    code, out, err = invoke(history_repo, *(a.format(tmp=tmp_path) for a in args))
    assert code == 2
    assert out == ""
    assert message in err
    assert not (tmp_path / "x.png").exists()


def test_plot_refuses_an_unreadable_chart(
    history_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More lines than the chart can show: exit 2 asking for --metric, no file written."""
    from mlratchet.metrics import plot

    monkeypatch.setattr(plot, "MAX_LINES", 2)
    code, _out, err = invoke(history_repo, "--plot", str(tmp_path / "x.png"))
    assert code == 2
    assert "3 metrics would make an unreadable chart; choose up to 2 with --metric KEY" in err
    assert not (tmp_path / "x.png").exists()


def test_malformed_file_at_a_commit_is_reported_exit_2(tmp_repo: Path) -> None:
    """A commit with a malformed metrics file: the rest still prints, the error names it, exit 2."""
    gen(tmp_repo, {"dvc.yaml": STAGE, "m.json": _metrics(0.5, 1.0)})
    commit_all(tmp_repo, "good")
    gen(tmp_repo, {"m.json": "{broken"})
    bad = commit_all(tmp_repo, "bad")
    gen(tmp_repo, {"m.json": _metrics(0.6, 0.9)})
    commit_all(tmp_repo, "good again")
    code, out, err = invoke(tmp_repo, "--json")
    assert code == 2
    data = json.loads(out)
    assert [d["metrics"].get("m.json", {}).get("val.acc") for d in data] == [0.6, None, 0.5, None]
    assert data[1]["errors"] == {
        "m.json": f"m.json at {bad[:7]}: malformed JSON: "
        "Expecting property name enclosed in double quotes "
        "(line 1, column 2)"
    }
    assert f"{bad[:7]}: m.json at {bad[:7]}: malformed JSON" in err


def test_history_reads_cached_metrics_and_reports_missing_cache(tmp_repo: Path) -> None:
    """DVC-cached metrics come from the cache by each commit's dvc.lock; a gap says dvc pull."""
    stage = "stages:\n  s:\n    cmd: python w.py\n    deps: [w.py, n.txt]\n    metrics: [o.json]\n"
    script = "import json\njson.dump({'n': len(open('n.txt').read())}, open('o.json', 'w'))\n"
    gen(tmp_repo, {"dvc.yaml": stage, "w.py": script, "n.txt": "a"})
    dvc(tmp_repo, "repro", "-q")
    commit_all(tmp_repo, "one")
    gen(tmp_repo, {"n.txt": "abc"})
    dvc(tmp_repo, "repro", "-q")
    commit_all(tmp_repo, "two")
    hist = history(tmp_repo)
    assert [p.metrics.get("o.json") for p in hist.points[:2]] == [{"n": 3}, {"n": 1}]
    for path in (tmp_repo / ".dvc" / "cache").rglob("*"):
        if path.is_file():
            path.unlink()
    code, _out, err = invoke(tmp_repo)
    assert code == 2
    assert "is DVC-cached and not in the local cache; run `dvc pull`" in err
