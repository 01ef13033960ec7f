"""The data window: it moves forward only, keeps its validation and test spans, edits 3 lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from flightdelay.cli import cli
from flightdelay.params import load_params
from flightdelay.window import Window, advance, current, shifted
from helpers import ROOT
from mlratchet.errors import BadInputError

REFERENCE = Window(train=(1, 2, 3, 4, 5, 6, 7, 8), val=(9, 10), test=(11, 12))


def small_params(tmp_path: Path, end: int = 8) -> Path:
    """The reference params with the window ending at month ``end``."""
    path = tmp_path / "params.yaml"
    text = (ROOT / "params.yaml").read_text()
    window = shifted(Window(train=(1, 2), val=(3, 4), test=(5, 6)), end)
    text = text.replace(
        "train_months: [1, 2, 3, 4, 5, 6, 7, 8]",
        f"train_months: [{', '.join(map(str, window.train))}]",
    )
    text = text.replace("val_months: [9, 10]", f"val_months: [{', '.join(map(str, window.val))}]")
    text = text.replace(
        "test_months: [11, 12]", f"test_months: [{', '.join(map(str, window.test))}]"
    )
    path.write_text(text)
    return path


def test_reference_window() -> None:
    """The committed params train on January-August and test on November-December."""
    assert current(ROOT / "params.yaml") == REFERENCE


@given(st.integers(min_value=6, max_value=12))
def test_shift_keeps_spans_and_order(through: int) -> None:
    """Shifted windows end at the given month, keep val/test lengths and stay time-ordered."""
    window = shifted(Window(train=(1, 2), val=(3, 4), test=(5, 6)), through)
    assert window.end == through
    assert len(window.val) == 2 and len(window.test) == 2
    assert window.train[0] == 1
    months = [*window.train, *window.val, *window.test]
    assert months == list(range(1, through + 1))


def test_never_moves_back() -> None:
    """Going back in time is refused."""
    with pytest.raises(BadInputError, match="only moves forward"):
        shifted(REFERENCE, 10)


def test_advance_edits_only_the_split_lines(tmp_path: Path) -> None:
    """Advancing by one month changes exactly the three split lines; the result is valid."""
    path = small_params(tmp_path, end=8)
    before = path.read_text().splitlines()
    done = advance(path)
    after = path.read_text().splitlines()
    assert done.advanced
    assert done.after == Window(train=(1, 2, 3, 4, 5), val=(6, 7), test=(8, 9))
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert [b.strip() for _, b in changed] == [
        "train_months: [1, 2, 3, 4, 5]",
        "val_months: [6, 7]",
        "test_months: [8, 9]",
    ]
    assert load_params(path).prepare.test_months == (8, 9)


def test_advance_at_the_end_of_the_data_is_a_no_op(tmp_path: Path) -> None:
    """In December there is no newer month: nothing is written."""
    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text())
    mtime = path.stat().st_mtime_ns
    assert not advance(path).advanced
    assert path.stat().st_mtime_ns == mtime


def test_cli_advance_and_window(tmp_path: Path) -> None:
    """`flightdelay advance --through` moves the window; `flightdelay window --json` shows it."""
    path = small_params(tmp_path, end=6)
    runner = CliRunner()
    result = runner.invoke(cli, ["advance", "--through", "9", "--params", str(path)])
    assert result.exit_code == 0, result.output
    assert "test 5-6 -> train 1-5, val 6-7, test 8-9" in result.stderr
    result = runner.invoke(cli, ["window", "--params", str(path), "--json"])
    assert '"end": 9' in result.stdout
    result = runner.invoke(cli, ["window", "--params", str(path), "--end"])
    assert result.stdout == "9\n"
    result = runner.invoke(cli, ["advance", "--through", "7", "--params", str(path)])
    assert result.exit_code == 2
    assert "only moves forward" in result.stderr
