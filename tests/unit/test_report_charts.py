"""The report's chart numbers and Mermaid text: resampling, axis ranges, xychart-beta syntax."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlratchet.errors import BadInputError
from mlratchet.report import mermaid
from mlratchet.report.charts import nice_range, resample
from mlratchet.report.dvcplots import PlotDef, grid, parse_points, plot_defs

NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)")  # xychart.jison's NUMBER_WITH_DECIMAL


GRID = grid([[(0.0, 0.0), (1.0, 1.0)]])
ROC = PlotDef("roc", "roc.json", "fpr", "tpr")


def test_grid_spans_the_curves_in_20_steps() -> None:
    """21 evenly spaced categories over the curves' x range, exactly its ends."""
    assert len(GRID) == 21
    assert GRID[0] == 0.0 and GRID[-1] == 1.0 and GRID[1] == 0.05
    assert grid([[(2.0, 1.0)], [(2.0, 3.0)]]) == (2.0,)


def test_resample_interpolates_and_reads_the_top_of_a_step() -> None:
    """Linear between points; at an x where the curve jumps, the top of the jump; flat
    outside the points' range."""
    points = [(0.0, 0.0), (0.0, 0.2), (0.2, 0.6), (0.2, 0.7), (0.6, 0.9), (0.9, 1.0)]
    got = resample(points, [0.0, 0.1, 0.2, 0.4, 0.9, 1.0])
    assert got == (0.2, 0.4, 0.7, 0.8, 1.0, 1.0)
    assert resample([(0.5, 0.5)], [0.0, 1.0]) == (0.5, 0.5)


@given(
    st.lists(
        st.tuples(st.floats(0, 1), st.floats(0, 1)),
        min_size=1,
        max_size=30,
    )
)
def test_resample_stays_within_the_points(points: list[tuple[float, float]]) -> None:
    """Every resampled value lies between the smallest and largest y of the points."""
    ys = [y for _, y in points]
    for value in resample(points, GRID):
        assert min(ys) - 1e-6 <= value <= max(ys) + 1e-6


def test_parse_points_reads_dvc_plot_data_and_refuses_the_rest() -> None:
    """JSON records (or one key holding them), CSV and TSV by the plot's x and y fields;
    anything else is bad input naming the file."""
    assert parse_points(b'[{"fpr": 0, "tpr": 0.5}]', "f", ROC) == [(0.0, 0.5)]
    assert parse_points(b'{"roc": [{"fpr": 1, "tpr": 1}]}', "f", ROC) == [(1.0, 1.0)]
    csv_plot = PlotDef("pr", "pr.csv", "recall", "precision")
    assert parse_points(b"recall,precision\n0.5,0.9\n", "f", csv_plot) == [(0.5, 0.9)]
    tsv_plot = PlotDef("pr", "pr.tsv", "recall", "precision")
    assert parse_points(b"recall\tprecision\n1\t0.4\n", "f", tsv_plot) == [(1.0, 0.4)]
    for bad in (b"{", b"[]", b'[{"fpr": 0}]', b'[{"fpr": NaN, "tpr": 0}]', b'"x"'):
        with pytest.raises(BadInputError, match=r"^f: "):
            parse_points(bad, "f", ROC)


def test_plot_defs_reads_top_level_and_stage_plots() -> None:
    """Top-level {id: {x, y: {file: field}}} and a stage's {file: {x, y}} are chartable; a
    plot without x, or over an image, is not."""
    dvc_yaml = {
        "plots": [
            {"pr_curve": {"x": "recall", "y": {"plots/pr.json": "precision"}}},
            "plots/confusion.png",
            {"plots/no_x.json": {"y": "v"}},
        ],
        "stages": {"eval": {"plots": [{"eval/roc.csv": {"x": "fpr", "y": ["tpr"]}}]}},
    }
    assert plot_defs(dvc_yaml) == [
        PlotDef("pr_curve", "plots/pr.json", "recall", "precision"),
        PlotDef("eval/roc.csv", "eval/roc.csv", "fpr", "tpr"),
    ]


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=20))
def test_nice_range_holds_every_value(values: list[float]) -> None:
    """The range contains all values, is not empty, and its ends print as xychart numbers."""
    low, high = nice_range(values)
    assert low < high
    assert low <= min(values) and max(values) <= high
    assert NUMBER.fullmatch(mermaid.number(low)) and NUMBER.fullmatch(mermaid.number(high))


def test_nice_range_is_tight_for_close_metrics() -> None:
    """An AUC moving in the third decimal gets a range of that order, not 0..1."""
    low, high = nice_range([0.7012, 0.7123])
    assert (low, high) == (0.7, 0.714)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_numbers_never_use_exponents(value: float) -> None:
    """Every finite number prints in positional notation, within 6 significant digits."""
    text = mermaid.number(value)
    assert NUMBER.fullmatch(text), text
    assert math.isclose(float(text), value, rel_tol=1e-5, abs_tol=1e-300)


def test_number_refuses_nan() -> None:
    """NaN cannot be drawn: an error, not a token the parser would choke on."""
    with pytest.raises(ValueError, match="cannot draw"):
        mermaid.number(math.nan)


def test_text_is_one_safe_quoted_string() -> None:
    """No double quote, backtick or line break survives inside a quoted label; long ones are
    cut."""
    assert mermaid.text('a "b"\n`c`') == "\"a 'b' 'c'\""
    assert len(mermaid.text("x" * 100)) == mermaid.MAX_LABEL + 2


def test_xychart_lines_must_match_categories() -> None:
    """A line with a different number of points than categories is a bug, refused."""
    with pytest.raises(ValueError, match="2 points on 3 categories"):
        mermaid.xychart(
            title="t", categories=["a", "b", "c"], y_title="y", y_range=(0, 1), lines=[[0, 1]]
        )


def test_xychart_text() -> None:
    """The exact diagram: directive with the line colours, header, title, axes, lines."""
    text = mermaid.xychart(
        title="ROC: blue = head",
        categories=["0.00", "1.00"],
        x_title="fpr",
        y_title="tpr",
        y_range=(0.0, 1.0),
        lines=[[0.0, 1.0], [0.0, 0.5]],
        colours=["blue", "grey"],
    )
    assert text == (
        '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#1f77b4, #9e9e9e"}}}}%%\n'
        "xychart-beta\n"
        '    title "ROC: blue = head"\n'
        '    x-axis "fpr" ["0.00", "1.00"]\n'
        '    y-axis "tpr" 0 --> 1\n'
        "    line [0, 1]\n"
        "    line [0, 0.5]\n"
    )
    assert mermaid.fenced(text) == f"```mermaid\n{text}```\n"
