"""The data window of the reference project: which months of 2013 the pipeline trains and tests on.

New data "arrives" as the next month of the year. The window is the ``prepare`` section's split
months in ``params.yaml``; continuous training advances it in a commit, so every model in the
registry names, in its params, exactly the data it saw. The window only moves forward: the
validation and test spans keep their lengths and end at the newest month, and the training span
grows from the first month up to them.

.. code-block:: text

    through 10:  train 1-6   val 7-8    test 9-10
    through 12:  train 1-8   val 9-10   test 11-12

The file is edited round-trip (comments, order and flow style kept) and written atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flightdelay.params import PARAMS_FILE
from mlratchet import BadInputError

#: The data ends with December 2013.
LAST_MONTH = 12


@dataclass(frozen=True)
class Window:
    """The split months of the prepare stage."""

    train: tuple[int, ...]
    val: tuple[int, ...]
    test: tuple[int, ...]

    @property
    def end(self) -> int:
        """The newest month the pipeline uses."""
        return max(self.test)

    def describe(self) -> str:
        """``train 1-8, val 9-10, test 11-12``."""

        def span(months: tuple[int, ...]) -> str:
            lo, hi = min(months), max(months)
            return str(lo) if lo == hi else f"{lo}-{hi}"

        return f"train {span(self.train)}, val {span(self.val)}, test {span(self.test)}"


@dataclass(frozen=True)
class Advance:
    """What :func:`advance` did."""

    before: Window
    after: Window

    @property
    def advanced(self) -> bool:
        """Whether the window moved (False when there was no newer month)."""
        return self.after != self.before


def current(params_file: Path | str = PARAMS_FILE) -> Window:
    """The window in a params file (validated as the stages read it)."""
    from flightdelay.params import load_params

    prepare = load_params(params_file).prepare
    return Window(prepare.train_months, prepare.val_months, prepare.test_months)


def shifted(window: Window, through: int) -> Window:
    """The window moved so that its test span ends at month ``through``."""
    if not 1 <= through <= LAST_MONTH:
        raise BadInputError(f"--through must be a month from 1 to {LAST_MONTH}, got {through}")
    if through < window.end:
        raise BadInputError(
            f"the data window only moves forward: it ends at month {window.end}, "
            f"not going back to {through}"
        )
    n_test, n_val, start = len(window.test), len(window.val), min(window.train)
    test = tuple(range(through - n_test + 1, through + 1))
    val = tuple(range(test[0] - n_val, test[0]))
    # Moving forward only grows the training span, so a valid window stays valid.
    return Window(tuple(range(start, val[0])), val, test)


def advance(params_file: Path | str = PARAMS_FILE, *, through: int | None = None) -> Advance:
    """Move the window to end at ``through`` (default: one month more) and save the file.

    At the end of the data (December) with no ``through``, nothing changes.
    """
    before = current(params_file)
    target = through if through is not None else min(before.end + 1, LAST_MONTH)
    after = shifted(before, target)
    if after != before:
        write(params_file, after)
    return Advance(before, after)


def write(params_file: Path | str, window: Window) -> None:
    """Set the window in a params file as given (no forward-only check: for setting up a demo)."""
    from flightdelay.params import PrepareParams

    PrepareParams(15, window.train, window.val, window.test)  # the stages' own validation
    _write(Path(params_file), window)


def _write(path: Path, window: Window) -> None:
    """Rewrite the three split lists in place: only their text changes, nothing else in the file.

    ruamel's round-trip dump would re-wrap long lists and re-indent other sections; a line edit
    at the positions ruamel reports keeps the diff to exactly the months that moved.
    """
    from ruamel.yaml import YAML

    from mlratchet import write_text

    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    prepare = YAML(typ="rt").load(text)["prepare"]
    for key, months in (
        ("train_months", window.train),
        ("val_months", window.val),
        ("test_months", window.test),
    ):
        _key_line, _key_col, line, col = prepare.lc.data[key]
        old = lines[line]
        end = old.find("]", col)
        if old[col : col + 1] != "[" or end < 0:
            raise BadInputError(
                f"{path}: prepare.{key} must be a one-line list like [1, 2, 3] to be advanced"
            )
        lines[line] = f"{old[:col]}[{', '.join(map(str, months))}]{old[end + 1 :]}"
    write_text(path, "".join(lines))
