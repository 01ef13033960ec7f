"""Sweep points: DVC's -S grid syntax, sweep files, and params written in place."""

from __future__ import annotations

import pytest

from mlratchet.errors import BadInputError
from mlratchet.experiments import points as p
from mlratchet.experiments.points import Assignment


def values(point: p.Point) -> dict[str, object]:
    return {a.key: a.value for a in point}


def test_grid_is_every_combination_with_yaml_values_and_ranges() -> None:
    grid = p.grid(["train.lr=0.05,0.1", "train.n=range(100,201,50)", "data:split.cols=[a, b]"])
    assert len(grid) == 6
    assert values(grid[0]) == {"train.lr": 0.05, "train.n": 100, "split.cols": ["a", "b"]}
    assert {a.file for a in grid[0]} == {"params.yaml", "data"}
    assert [values(g)["train.n"] for g in grid[:3]] == [100, 150, 200]


@pytest.mark.parametrize("spec", ["train.lr", "=1", "a..b=1", "x=range(1,5,0)", "x=range(a,3)"])
def test_bad_set_is_bad_input(spec: str) -> None:
    with pytest.raises(BadInputError):
        p.grid([spec])


def test_same_key_twice_is_refused() -> None:
    with pytest.raises(BadInputError, match="twice"):
        p.grid(["a=1", "a=2"])


def test_random_points_are_drawn_from_the_seed() -> None:
    sweep = {
        "seed": 3,
        "random": 5,
        "params": {"t.lr": {"loguniform": [0.01, 0.3]}, "t.n": {"int": [10, 20]}, "t.k": [1, 2]},
        "points": [{"t.lr": 0.08}],
    }
    first, again = p.from_sweep_file(sweep, "s.yaml"), p.from_sweep_file(sweep, "s.yaml")
    assert first == again and len(first) == 6
    assert values(first[0]) == {"t.lr": 0.08}
    for point in first[1:]:
        v = values(point)
        assert 0.01 <= v["t.lr"] <= 0.3 and 10 <= v["t.n"] <= 20 and v["t.k"] in (1, 2)
    other = p.from_sweep_file({**sweep, "seed": 4}, "s.yaml")
    assert other[1:] != first[1:]


@pytest.mark.parametrize(
    "data",
    [{"random": 2}, {"params": {"a": {"uniform": [2, 1]}}, "random": 1}, {"bogus": 1}, {}],
)
def test_bad_sweep_file_names_the_file(data: dict) -> None:
    with pytest.raises(BadInputError, match=r"s\.yaml"):
        p.from_sweep_file(data, "s.yaml")


TEXT = """\
# the team's params
train:
  lr: 0.08            # step size
  n: 150
  cols: [a, b,
         c]
"""


def test_apply_edits_one_line_in_place() -> None:
    out = p.apply(TEXT, [Assignment("params.yaml", "train.lr", 0.05)], "params.yaml")
    assert out == TEXT.replace("lr: 0.08 ", "lr: 0.05 ")


def test_apply_adds_keys_and_lists_keeping_comments() -> None:
    out = p.apply(
        TEXT,
        [Assignment("params.yaml", "train.cols", ["x"]), Assignment("params.yaml", "new.k", 1)],
        "params.yaml",
    )
    from mlratchet.yamlio import parse_yaml

    data = parse_yaml(out, "out")
    assert data["train"] == {"lr": 0.08, "n": 150, "cols": ["x"]} and data["new"] == {"k": 1}
    assert "# step size" in out and "# the team's params" in out


def test_apply_through_a_scalar_is_bad_input() -> None:
    with pytest.raises(BadInputError, match=r"train\.lr\.x"):
        p.apply(TEXT, [Assignment("params.yaml", "train.lr.x", 1)], "params.yaml")
