"""``ratchet exp show --html``: the leaderboard page, checked as text and in headless Chromium."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from browser import open_page, screenshot
from expfixture import experiment_files, make_experiments
from helpers import commit_all, gen
from mlratchet.cli.group import cli
from mlratchet.experiments.html import render_html, write_html

BASE = "1f0c2d3e4b5a69788796a5b4c3d2e1f001234567"
ODD = "<b>&\"'odd"


def _sha(i: int) -> str:
    return f"{i:04x}" + "ab" * 18


def board(n: int = 12, *, failed: tuple[int, ...] = (5,), odd: int | None = 7) -> dict[str, Any]:
    """A leaderboard as ``Leaderboard.to_json()`` gives it: ``n`` experiments over two swept params
    (a number and a category) and three metrics, sorted best first by ``auc``."""
    solvers = ["lbfgs", "saga", "liblinear"]
    runs = []
    for i in range(n):
        c = round(0.01 * 2 ** (i % 7), 4)
        solver = solvers[i % 3]
        auc = round(0.80 + 0.01 * ((i * 7) % 13) / 2, 4)
        run: dict[str, Any] = {
            "name": ODD if i == odd else f"exp-{i:03d}",
            "baseline": BASE,
            "status": "success",
            "error": None,
            "params": {"params.yaml": {"train.C": c, "train.solver": solver, "seed": 7}},
            "metrics": {
                "metrics/metrics.json": {"auc": auc, "logloss": round(0.5 - (auc - 0.8), 4)},
                "metrics/eval.json": {"brier": round(0.2 - (auc - 0.8) / 3, 4), "note": "ok"},
            },
        }
        if i in failed:
            run.update(
                status="failed",
                rev=None,
                error=f"stage train failed: exit 1 <ValueError> & {ODD}",
                metrics={},
                verdicts=[],
            )
        else:
            old = 0.82
            status = "improved" if auc > old else "regressed" if auc < old else "unchanged"
            run["rev"] = _sha(i)
            run["verdicts"] = [
                {
                    "key": "auc",
                    "path": "metrics/metrics.json",
                    "old": old,
                    "new": auc,
                    "status": status,
                },
                {"key": "logloss", "path": None, "old": 0.48, "new": 0.4, "status": "unchanged"},
                {
                    "key": "brier",
                    "path": "metrics/eval.json",
                    "old": None,
                    "new": 0.1,
                    "status": "added",
                },
            ]
        run["ref"] = f"refs/exps/1f/{BASE[2:]}/{run['name']}"
        runs.append(run)
    good = sorted(
        (r for r in runs if r["status"] == "success"),
        key=lambda r: -r["metrics"]["metrics/metrics.json"]["auc"],
    )
    for rank, r in enumerate(good, 1):
        r["rank"] = rank
    bad = [dict(r, rank=None) for r in runs if r["status"] != "success"]
    return {
        "baseline": {
            "rev": BASE,
            "name": "main",
            "params": {"params.yaml": {"train.C": 0.1, "train.solver": "lbfgs", "seed": 7}},
            "metrics": {
                "metrics/metrics.json": {"auc": 0.82, "logloss": 0.48},
                "metrics/eval.json": {"brier": 0.19, "note": "ok"},
            },
        },
        "primary": {"metric": "auc", "direction": "higher"},
        "swept": [["params.yaml", "train.C"], ["params.yaml", "train.solver"]],
        "experiments": good + bad,
    }


def _rows(dom: str) -> list[str]:
    """The experiment names of the table's rows, in the DOM's order."""
    return [html.unescape(m) for m in re.findall(r'<tr class="exp[^"]*" data-name="([^"]*)"', dom)]


def _outside_urls(page: str) -> list[str]:
    """URLs the page would fetch from outside: src/href/action attributes, CSS url() and @import."""
    return (
        re.findall(
            r'(?:src|href|xlink:href|action)\s*=\s*["\']?\s*((?:https?:)?//[^"\'\s>]+)', page
        )
        + re.findall(r"url\(\s*['\"]?(?:https?:)?//", page)
        + re.findall(r"@import", page)
    )


# --- the page as text ---------------------------------------------------------------------------


def test_every_text_from_the_board_is_escaped() -> None:
    """An experiment name or an error with <, &, quotes appears only escaped, never as markup."""
    page = render_html(board())
    assert "<b>&" not in page
    assert ODD not in page
    assert html.escape(ODD, quote=True) in page
    assert "&lt;ValueError&gt; &amp;" in page
    # The only tags are ours: no stray <b> from the name (ours are <b> with no attributes too,
    # so count them: the escaped name adds none).
    assert page.count("<b>") == render_html(board(odd=None)).count("<b>")


def test_zero_experiments_gives_a_page_that_says_so() -> None:
    """With no experiment the page says so, with the baseline, and draws no table or chart."""
    raw = board(0)
    page = render_html(raw)
    assert 'id="no-experiments"' in page
    assert "No experiments on this baseline yet" in page
    assert BASE in page
    assert "<table" not in page
    assert "<svg" not in page
    assert "<b>0</b> experiments" in page


def test_absent_and_non_numeric_metrics_and_no_primary() -> None:
    """A metric that is a string or absent shows as text or a dash, charts only numeric metrics,
    and a board with no primary metric says so."""
    raw = board(4, failed=())
    raw["primary"] = None
    del raw["experiments"][0]["metrics"]["metrics/eval.json"]
    raw["experiments"][1]["metrics"]["metrics/metrics.json"]["auc"] = "n/a"
    page = render_html(raw)
    assert "Primary metric: none" in page
    assert 'data-metric="note"' not in page  # a string metric gets no chart
    assert 'data-metric="auc"' in page
    assert ">n/a " in page
    assert ">—" in page


def test_one_experiment_and_a_single_value_axis() -> None:
    """One experiment (every axis a single value) still draws its charts, with finite numbers."""
    page = render_html(board(1, failed=(), odd=None))
    assert page.count('class="chart"') == 3 * 2  # brier, logloss, auc (note is a string) x 2 params
    coordinates = re.findall(r'\b(?:c?[xy][12]?|d|r)="([^"]*)"', page)
    assert coordinates
    assert not [c for c in coordinates if re.search(r"nan|inf", c, re.IGNORECASE)]


def test_two_hundred_experiments_render_quickly_and_bounded() -> None:
    """200 experiments render in well under a second, into a page of bounded size."""
    raw = board(200, failed=(3, 50, 199), odd=None)
    start = time.perf_counter()
    page = render_html(raw)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, elapsed
    assert len(_rows(page)) == 200
    assert len(page) < 1_500_000
    assert page == render_html(raw)  # the same board gives the same bytes


def test_metrics_selects_the_charted_metrics() -> None:
    """``metrics`` keeps the charts, table columns and parallel axes to the named metrics (by
    key or ``path:key``); naming none of the board's metrics, or None, shows them all."""
    raw = board(6, failed=())
    page = render_html(raw, metrics={"auc", "metrics/eval.json:brier"})
    assert page.count('class="chart"') == 2 * 2
    assert re.findall(r'data-metric="([^"]*)"', page)[::2] == ["auc", "brier"]
    assert "<b>2</b> metrics of 4" in page
    assert ">logloss</th>" not in page
    assert ">auc ★</th>" in page
    everything = render_html(raw).count('class="chart"')
    assert everything == 3 * 2
    assert render_html(raw, metrics={"nowhere"}).count('class="chart"') == everything
    assert render_html(raw, metrics=None) == render_html(raw)


def test_write_html_takes_a_leaderboard_or_its_json(tmp_path: Path) -> None:
    """write_html accepts an object with to_json() as well as the dict, and writes the page."""

    class Board:
        def to_json(self) -> dict[str, Any]:
            return board(3, failed=())

    out = write_html(tmp_path / "sub" / "board.html", Board())
    assert out == tmp_path / "sub" / "board.html"
    assert out.read_text(encoding="utf-8") == render_html(board(3, failed=()))
    assert write_html(tmp_path / "b.html", board(3, failed=())).read_bytes() == out.read_bytes()
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["board.html"]  # no temporary left


# --- the page in a browser ----------------------------------------------------------------------


def test_the_browser_probe_sees_errors_and_requests(tmp_path: Path) -> None:
    """The probe the browser tests rely on catches console errors, exceptions and outside URLs."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
        '<img src="http://example.invalid/x.png"><script>console.error("boom");'
        "setTimeout(function () { null.x; }, 20);</script></body></html>",
        encoding="utf-8",
    )
    assert _outside_urls(page.read_text(encoding="utf-8")) == ["http://example.invalid/x.png"]
    run = open_page(page)
    assert run.ready
    assert any("boom" in e for e in run.errors), run.errors
    assert any("uncaught" in e for e in run.errors), run.errors
    assert any("example.invalid" in r for r in run.requests), run.requests


def test_the_page_in_chromium(tmp_path: Path) -> None:
    """In headless Chromium the page loads with no error and no request, has the table rows and
    the chart SVGs, sorts on a header click, and its screenshot is a real picture."""
    raw = board()
    page = write_html(tmp_path / "board.html", raw)
    text = page.read_text(encoding="utf-8")
    assert _outside_urls(text) == []

    run = open_page(page)
    assert run.ready
    assert run.errors == []
    assert run.requests == []
    assert 'data-ready="1"' in run.dom  # the page's script ran to its end
    names = [e["name"] for e in raw["experiments"]]
    assert _rows(run.dom) == names
    assert ODD in _rows(run.dom)
    assert run.dom.count('<figure class="chart"') == 3 * 2
    assert run.dom.count("<circle") >= 11 * 6 - 6  # the successful runs, in each chart
    assert 'class="pc"' in run.dom
    assert run.dom.count('<path class="exp"') == 11
    assert "stage train failed" in run.dom

    # A click on the "name" header sorts by name; a second click reverses.
    click = "document.querySelectorAll('#board thead th')[1].click();"
    by_name = open_page(page, after_load_js=click)
    assert by_name.errors == []
    assert _rows(by_name.dom) == sorted(names, key=str.lower)
    reversed_ = open_page(page, after_load_js=click * 2)
    assert _rows(reversed_.dom) == sorted(names, key=str.lower, reverse=True)
    # The primary metric's header (auc): ascending, the failed runs (no value) last.
    by_auc = open_page(
        page, after_load_js="document.querySelectorAll('#board thead th')[3].click();"
    )
    rows = _rows(by_auc.dom)
    assert rows[:11] == names[:11][::-1]
    assert rows[11] == names[11]

    png = screenshot(page, tmp_path / "board.png", width=1280, height=1400)
    from PIL import Image

    with Image.open(png) as img:
        assert img.size == (1280, 1400)
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None
    assert len(colours) > 50  # text, marks, charts: not one flat colour
    white = max(colours)[0] / (1280 * 1400)
    assert white < 0.97


@pytest.mark.parametrize("n", [0, 1, 200])
def test_edge_boards_in_chromium(tmp_path: Path, n: int) -> None:
    """No experiment, one, and two hundred: each page loads in Chromium with no error."""
    page = write_html(tmp_path / "board.html", board(n, failed=(), odd=None))
    run = open_page(page)
    assert run.ready
    assert run.errors == []
    assert run.requests == []
    assert 'data-ready="1"' in run.dom
    assert len(_rows(run.dom)) == n


# --- the metrics charted on a real repository -----------------------------------------------------

PARAMS = "train:\n  lr: 0.1\n  depth: 3\n"
DVC_YAML = """\
stages:
  train:
    cmd: python -c "pass"
    params: [train.lr, train.depth]
    metrics:
      - metrics.json:
          cache: false
"""
#: Two of the five metrics named: the primary (loss) and one more rule (auc).
POLICY = """\
metrics:
  auc: {direction: higher}
  loss: {direction: lower}
experiments:
  primary: loss
"""
FIVE = ("auc", "loss", "f1", "recall", "rows")


def _project(root: Path, policy: str | None) -> None:
    """Four experiments sweeping train.lr and train.depth, each reporting the five metrics."""
    files = {
        "params.yaml": PARAMS,
        "dvc.yaml": DVC_YAML,
        "metrics.json": '{"auc": 0.7, "loss": 0.5, "f1": 0.6, "recall": 0.55, "rows": 100}',
    }
    if policy is not None:
        files["ratchet.yaml"] = policy
    gen(root, files)
    base = commit_all(root, "baseline")
    experiments = []
    for i in range(4):
        metrics = {key: round(0.5 + 0.05 * i + 0.01 * j, 4) for j, key in enumerate(FIVE)}
        overrides = {"train.lr": 0.05 * (i + 1), "train.depth": 2 + i}
        experiments.append(
            (f"e{i}", experiment_files(PARAMS, overrides, {"metrics.json": metrics}))
        )
    make_experiments(root, base, experiments)


def _charts(repo: Path, tmp_path: Path, *args: str) -> list[str]:
    """The metric of each chart of ``exp show --html`` (with ``args``), as Chromium shows it."""
    out = tmp_path / "board.html"
    result = CliRunner().invoke(cli, ["exp", "show", "--html", str(out), *args, "-R", str(repo)])
    assert result.exit_code == 0, result.output
    run = open_page(out)
    assert run.ready
    assert run.errors == []
    assert run.requests == []
    figures = re.findall(r'<figure class="chart" data-metric="([^"]*)"', run.dom)
    assert len(figures) == run.dom.count("<figure")
    return figures


@pytest.mark.parametrize(
    ("policy", "args", "metrics"),
    [
        pytest.param(POLICY, (), ["loss", "auc"], id="the-policy-s-two"),
        pytest.param(
            POLICY, ("--all-metrics",), ["loss", "auc", "f1", "recall", "rows"], id="all-metrics"
        ),
        pytest.param("experiments: {}\n", (), sorted(FIVE), id="policy-names-none"),
        pytest.param(None, (), sorted(FIVE), id="no-ratchet-yaml"),
    ],
)
def test_exp_show_html_charts_the_policy_s_metrics(
    tmp_repo: Path, tmp_path: Path, policy: str | None, args: tuple[str, ...], metrics: list[str]
) -> None:
    """By default the page charts only the metrics ratchet.yaml names (primary first), one
    chart per swept param each; --all-metrics, or a policy naming none, charts every metric."""
    _project(tmp_repo, policy)
    figures = _charts(tmp_repo, tmp_path, *args)
    assert figures == [m for m in metrics for _ in range(2)]  # x train.lr, train.depth
