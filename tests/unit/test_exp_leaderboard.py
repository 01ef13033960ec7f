"""The leaderboard's ranking, primary metric and swept params, and the in-place params parse."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlratchet.errors import BadInputError, ParamsError
from mlratchet.experiments.leaderboard import (
    Baseline,
    Primary,
    Row,
    _Edits,
    primary_of,
    rank,
    swept,
)
from mlratchet.metrics.parse import parse_text
from mlratchet.policy import MetricRule, Policy, parse_policy


def row(name: str, auc: Any = None, *, status: str = "success", baseline: str = "b") -> Row:
    metrics = {} if auc is None else {"m.json": {"auc": auc}}
    return Row(name, f"refs/exps/x/{name}", None, baseline, status, None, {}, metrics)  # type: ignore[arg-type]


def test_rank_best_first_ties_share_a_rank_missing_last() -> None:
    """Higher is better: best first; equal values share a rank; no number and failed last."""
    rows = [
        row("c", 0.7),
        row("a", 0.9),
        row("failed", status="failed"),
        row("nan", float("nan")),
        row("b", 0.7),
        row("none"),
    ]
    out = rank(rows, Primary("auc", "higher"))
    assert [r.name for r in out] == ["a", "b", "c", "nan", "none", "failed"]
    assert [r.rank for r in out] == [1, 2, 2, None, None, None]


def test_rank_lower_is_better_and_no_primary_by_name() -> None:
    """Lower is better reverses the order; without a primary rows are by name, unranked."""
    rows = [row("x", 0.2), row("y", 0.1), row("z", True)]
    assert [r.name for r in rank(rows, Primary("auc", "lower"))] == ["y", "x", "z"]
    plain = rank(rows, None)
    assert [r.name for r in plain] == ["x", "y", "z"]
    assert all(r.rank is None for r in plain)


def test_primary_from_policy() -> None:
    """experiments.primary, else the first rule; no rule, no primary; --sort needs a direction."""
    rules = {"metrics": {"auc": {"direction": "higher"}, "loss": {"direction": "lower"}}}
    assert primary_of(parse_policy(rules, "p")) == Primary("auc", "higher")
    chosen = parse_policy({**rules, "experiments": {"primary": "loss"}}, "p")
    assert primary_of(chosen) == Primary("loss", "lower")
    assert primary_of(Policy()) is None
    assert primary_of(Policy(), "rows", "lower") == Primary("rows", "lower")
    assert primary_of(chosen, "auc") == Primary("auc", "higher")
    with pytest.raises(BadInputError, match="rows:higher"):
        primary_of(Policy(), "rows")


def test_primary_must_have_a_rule() -> None:
    """A primary metric without a rule under metrics: is a policy error naming the key."""
    with pytest.raises(ParamsError, match=r"experiments\.primary: 'auc' has no rule"):
        parse_policy({"experiments": {"primary": "auc"}}, "ratchet.yaml")
    assert (
        MetricRule("higher")
        == parse_policy(
            {"metrics": {"auc": {"direction": "higher"}}, "experiments": {"primary": "auc"}}, "p"
        ).metrics["auc"]
    )


def test_swept_lists_changed_added_and_removed_params() -> None:
    """A param counts as swept when some experiment changed, added or removed it."""
    base = Baseline("b", "main", {"params.yaml": {"lr": 0.1, "depth": 3, "gone": 1}}, {})
    rows = [
        Row("one", "r", "s", "b", "success", None, {"params.yaml": {"lr": 0.2, "depth": 3}}, {}),
        Row(
            "two",
            "r",
            "s",
            "b",
            "success",
            None,
            {"params.yaml": {"lr": 0.1, "depth": 3, "gone": 1, "new": 5}},
            {},
        ),
    ]
    assert swept({"b": base}, rows) == (
        ("params.yaml", "lr"),
        ("params.yaml", "gone"),
        ("params.yaml", "new"),
    )


# -- the in-place parse equals the whole parse --------------------------------------------
BASE = """\
# comment
train:
  lr: 0.1            # learning rate
  depth: 3
  name: base
  flag: true
  when: 2020-01-02
  layers: [8, 4]
  nested: {a: 1, b: 2}
  folded: one
    two
eval:
  - threshold: 0.3
  - metric: "auc"
"""
VALUES = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(json.dumps),
    st.sampled_from(
        [
            "off",
            "NO",
            "0123",
            "1:30",
            "'quoted'",
            '"dq"',
            "null",
            "~",
            "1e3",
            "0x1F",
            ".inf",
            "[1, 2]",
            "{a: 1}",
            "a: b",
            "|",
            "!!str 5",
            "2021-03-04",
            "yes  # comment",
            "- item",
            '"unterminated',
            "",
        ]
    ),
)
#: The lines a value may be written on.
LINES = {2: "  lr: ", 3: "  depth: ", 4: "  name: ", 10: "  folded: ", 13: "  - metric: "}


@settings(deadline=None)  # a parse under a loaded CI machine can take 400 ms
@given(st.dictionaries(st.sampled_from(sorted(LINES)), VALUES, min_size=1, max_size=3))
def test_in_place_parse_equals_whole_parse(edits: dict[int, str]) -> None:
    """Whatever one-line values are written, the shortcut gives the whole parse, or declines."""
    lines = BASE.splitlines(keepends=True)
    for number, value in edits.items():
        lines[number] = LINES[number] + value + "\n"
    text = "".join(lines)
    try:
        whole = parse_text(text.encode(), "params.yaml", "t")
    except BadInputError:
        whole = None
    parsed = parse_text(BASE.encode(), "params.yaml", "t")
    fast = _Edits().parse(("base", BASE.encode, parsed), text.encode())
    if fast is not None:
        assert whole is not None
        assert fast == whole
        assert repr(fast) == repr(whole)  # types too (1 is not 1.0, "1" is not 1)
    # The baseline's parse (shared with the result where nothing was edited) is untouched.
    assert repr(parsed) == repr(parse_text(BASE.encode(), "params.yaml", "t"))


def test_in_place_parse_is_used_for_scalar_edits() -> None:
    """The common edit (a number replaced in place) takes the shortcut."""
    parsed = parse_text(BASE.encode(), "params.yaml", "t")
    text = BASE.replace("lr: 0.1 ", "lr: 0.05").replace("depth: 3", "depth: 4")
    fast = _Edits().parse(("base", BASE.encode, parsed), text.encode())
    assert fast is not None
    assert fast["train"]["lr"] == 0.05 and fast["train"]["depth"] == 4
    assert parsed["train"]["lr"] == 0.1  # the baseline's parse is not touched
    folded = BASE.replace("folded: one", "folded: three")
    assert _Edits().parse(("base", BASE.encode, parsed), folded.encode()) is None
