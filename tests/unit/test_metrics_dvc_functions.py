"""Our metrics/params logic against DVC's own functions, on random data (DVC is the oracle).

DVC's functions run in-process here, so Hypothesis can try thousands of shapes: nested keys,
lists, nulls, booleans, strings, NaN and infinities, keys added and removed, files whose content
is one value. The repo-level tests (tests/func/test_metrics_oracle.py) run the real `dvc`.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mlratchet.metrics.diff import diff
from mlratchet.metrics.parse import extract_metrics, flat_view, flatten, format_dict, parse_text
from mlratchet.metrics.render import diff_table, format_field, layout, show_table

KEYS = st.text(alphabet="abcxyz_-AB01", min_size=1, max_size=4)
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)
LEAVES = st.one_of(
    st.integers(-(10**6), 10**6),
    FLOATS,
    st.booleans(),
    st.text(alphabet="abc 01.-", max_size=5),
    st.none(),
)
SCALARS = st.one_of(
    LEAVES,
    st.lists(st.one_of(st.integers(-5, 5), st.text(alphabet="ab", max_size=2)), max_size=3),
)
TREES = st.recursive(
    SCALARS, lambda children: st.dictionaries(KEYS, children, max_size=4), max_leaves=12
)
FILES = st.dictionaries(st.sampled_from(["m.json", "a/b.yaml", "c.toml"]), TREES, max_size=3)


def canonical(value: Any) -> str:
    """A text form in which NaN equals NaN (dict equality does not)."""
    return json.dumps(value, sort_keys=True, allow_nan=True, default=str)


def dvc_diff(old: dict, new: dict, *, with_unchanged: bool) -> dict:
    from dvc.utils.diff import diff as _diff
    from dvc.utils.diff import format_dict as _format

    wrap = lambda files: {p: {"data": d} for p, d in files.items()}  # noqa: E731
    return _diff(_format(wrap(old)), _format(wrap(new)), with_unchanged=with_unchanged)


def dvc_diff_md(result: dict, **kwargs: Any) -> str:
    """What `dvc.compare.show_diff` writes to stdout."""
    import io
    from contextlib import redirect_stdout

    from dvc.compare import show_diff

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        show_diff(result, **kwargs)
    return buffer.getvalue()


def _no_duplicate_keys(files: dict) -> bool:
    try:
        for data in files.values():
            if isinstance(data, dict):
                flatten(format_dict(data))
    except ValueError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(old=FILES, new=FILES, with_unchanged=st.booleans())
def test_diff_equals_dvc_diff(old: dict, new: dict, with_unchanged: bool) -> None:
    """Our diff of any two revisions' files is DVC's, key for key and value for value."""
    assume(_no_duplicate_keys(old) and _no_duplicate_keys(new))
    ours = diff(old, new, with_unchanged=with_unchanged)
    assert canonical(ours) == canonical(dvc_diff(old, new, with_unchanged=with_unchanged))


@settings(max_examples=300, deadline=None)
@given(
    old=FILES,
    new=FILES,
    precision=st.sampled_from([None, 0, 1, 2, 3, 5, 8, -1]),
    title=st.sampled_from(["Metric", "Param"]),
    revs=st.sampled_from([("HEAD", "workspace"), ("v1.0", "HEAD~1"), ("main", "feature/x")]),
    markdown=st.booleans(),
)
def test_diff_table_equals_dvc(
    *,
    old: dict,
    new: dict,
    precision: int | None,
    title: str,
    revs: tuple[str, str],
    markdown: bool,
) -> None:
    """The diff table (md and plain, metrics with rounding, params without) is DVC's bytes."""
    assume(_no_duplicate_keys(old) and _no_duplicate_keys(new))
    result = dvc_diff(old, new, with_unchanged=True)
    metrics = title == "Metric"
    digits = (precision or 5) if metrics else None
    expected = dvc_diff_md(
        result,
        title=title,
        markdown=markdown,
        precision=digits,
        round_digits=metrics,
        show_changes=metrics,
        a_rev=revs[0],
        b_rev=revs[1],
    )
    ours = diff_table(
        result,
        title=title,
        a_rev=revs[0],
        b_rev=revs[1],
        markdown=markdown,
        precision=digits,
        round_digits=metrics,
        show_change=metrics,
    )
    assert ours == expected


@settings(max_examples=200, deadline=None)
@given(files=FILES, precision=st.sampled_from([None, 1, 3, 5]), markdown=st.booleans())
def test_show_table_equals_dvc(files: dict, precision: int | None, markdown: bool) -> None:
    """`metrics show`'s table (a row per file, a column per key) is DVC's bytes."""
    import io
    from contextlib import redirect_stdout

    from dvc.compare import show_metrics

    metrics = {path: extract_metrics(data) for path, data in files.items()}
    assume(_no_duplicate_keys(metrics))
    flat = {path: flat_view(data, path, "workspace") for path, data in metrics.items()}
    assume("Path" not in {k for f in flat.values() for k in f})
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        show_metrics(
            {"workspace": {"data": {p: {"data": d} for p, d in metrics.items()}}},
            markdown=markdown,
            precision=precision or 5,
            round_digits=True,
        )
    assert show_table(flat, markdown=markdown, precision=precision or 5) == buffer.getvalue()


@settings(max_examples=300, deadline=None)
@given(data=TREES)
def test_extract_and_flatten_equal_dvc(data: Any) -> None:
    """Which leaves count as metrics, and their flat keys, are DVC's."""
    from dvc.repo.metrics.show import _extract_metrics
    from dvc.utils.flatten import flatten as dvc_flatten

    ours = extract_metrics(data)
    theirs = _extract_metrics(data, "m.json") or {}
    assert canonical(ours) == canonical(theirs)
    if isinstance(data, dict):
        try:
            expected = dvc_flatten(format_dict(data))
        except ValueError:
            with pytest.raises(ValueError, match="duplicated key"):
                flatten(format_dict(data))
            return
        assert canonical(flatten(format_dict(data))) == canonical(
            {str(k): v for k, v in expected.items()}
        )


@settings(deadline=None)  # the first example imports DVC
@given(value=st.one_of(LEAVES, st.lists(FLOATS, max_size=3)), precision=st.integers(-3, 10))
def test_format_field_equals_dvc(value: Any, precision: int) -> None:
    """A cell's text (rounding, str of floats, lists) is DVC's."""
    from dvc.compare import _format_field

    for round_digits in (True, False):
        try:
            expected = _format_field(value, precision, round_digits)
        except ValueError:  # DVC cannot "g"-format with a negative precision; nor can we
            with pytest.raises(ValueError):
                format_field(value, precision, round_digits)
            continue
        assert format_field(value, precision, round_digits) == expected


CELLS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6
) | st.text(alphabet="ab -_.|0123", max_size=8)


@settings(max_examples=500, deadline=None)
@given(
    headers=st.lists(
        st.text(alphabet="abcHEAD~^ -/", min_size=1, max_size=8), min_size=1, max_size=5
    ),
    data=st.data(),
    markdown=st.booleans(),
)
def test_layout_equals_tabulate(headers: list[str], data: st.DataObject, markdown: bool) -> None:
    """Our table layout is tabulate's (as DVC calls it) for any cells, ASCII or not."""
    from tabulate import tabulate

    rows = data.draw(st.lists(st.lists(CELLS, min_size=len(headers), max_size=len(headers))))
    expected = tabulate(
        rows,
        headers,
        tablefmt="github" if markdown else "plain",
        disable_numparse=True,
        missingval="-",
    )
    assert layout(headers, rows, markdown=markdown) == expected


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("m.json", '{"a": {"b": 1.5}, "n": NaN, "i": -Infinity}', {"a": {"b": 1.5}}),
        ("m.json", "", "error"),
        ("m.json", "{'a': 1}", "error"),
        ("m.yaml", "a: [1\n", "error"),
        ("m.toml", "a = \n", "error"),
        ("m.json", "null", {}),
        ("m.json", "0.5", None),
        ("m.JSON", "{}", {}),
        ("m.yaml", "a: yes\nb: 0o17\nc: 1:30\nd: .nan\n", {"a": "yes", "b": 15, "c": "1:30"}),
        ("m.yml", "~\n", {}),
        ("metrics", "a: 1\n", {"a": 1}),
        ("m.toml", "[a]\nb = 2\nc = 'x'\n", {"a": {"b": 2, "c": "x"}}),
        ("m.json", '{"a": [1, 2], "b": null, "c": {}}', {}),
    ],
)
def test_parse_by_suffix_as_dvc(path: str, text: str, expected: Any) -> None:
    """The parser is chosen by suffix and reads values as DVC's loaders do."""
    from dvc.repo.metrics.show import _extract_metrics
    from dvc.utils.serialize import PARSERS, ParseError

    from mlratchet.metrics.parse import MetricsFileError

    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if expected == "error":
        with pytest.raises(ParseError):
            PARSERS[suffix](text, path)
        with pytest.raises(MetricsFileError, match=f"^{path} at HEAD: malformed"):
            parse_text(text.encode(), path, "HEAD")
        return
    theirs = _extract_metrics(PARSERS[suffix](text, path), path) or {}
    ours = extract_metrics(parse_text(text.encode(), path, "HEAD"))
    assert canonical(ours) == canonical(theirs)
    if expected is not None:
        for key, value in expected.items():
            assert ours[key] == value
    if path == "m.yaml":
        assert math.isnan(ours["d"])
