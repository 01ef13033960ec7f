"""The monitor's history: one JSON line per (batch, model), and realized performance over time.

``ratchet monitor BATCH --history FILE.jsonl`` records each run's outcome in ``FILE.jsonl``:

    {"batch": "2013-05", "model": "flight-delay#production", "version": "v1.2.0",
     "verdict": "alert", "drift": {"drifted": true, "features": ["temp", "dewp"]},
     "realized": {"roc_auc": 0.68, "cost_per_row": 4.1}, "validation": {"roc_auc": 0.71}}

``batch`` is the run's batch label (``--batch-label``; the batch file's or folder's stem by
default), ``model`` the model as the user named it (a series: ``NAME#production`` keeps one
line across the versions that pass through the stage), ``version`` the registry version it
resolved to (None: not a registry reference, or the work tree). ``realized`` holds the
realized metrics and business figures that have a value (empty without labels), ``validation``
the values they were judged against. A run whose (batch, model) the file already holds
replaces that line in place (a rerun is idempotent); any other is appended. The whole file is
rewritten atomically (:mod:`mlratchet.fsio`), so a reader never sees half a line, under a lock
on its folder, so that two monitors recording at once both keep their line.

A line that is not such an object is bad input (exit 2) naming ``FILE:LINE`` and what is
wrong, before the monitor runs. Blank lines are skipped; keys this version does not know are
kept as they are.

The entries, read back after the write, are the report's ``history`` (``--json``); the
Markdown and HTML reports render them as a table and a chart (:func:`markdown_lines`,
:func:`chart_png`): one panel per metric, one line per model series, the batches in the order
the file first names them.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from mlratchet.errors import BadInputError, ConflictError

if TYPE_CHECKING:
    from mlratchet.monitor.run import MonitorReport

#: What the report says when there is nothing to chart.
NO_HISTORY = "no history yet"
#: How long a monitor waits for another one to finish writing the same history file.
LOCK_SECONDS = 30.0
#: The keys every line holds.
KEYS = ("batch", "model", "version", "verdict", "drift", "realized", "validation")


class DriftJSON(TypedDict):
    """Whether the batch drifted as a dataset, and which features did."""

    drifted: bool
    features: list[str]


class HistoryEntry(TypedDict):
    """One line of the history file."""

    batch: str
    model: str | None
    version: str | None
    verdict: str
    drift: DriftJSON
    realized: dict[str, float]
    validation: dict[str, float]


class HistoryJSON(TypedDict):
    """``history`` in the monitor's report."""

    file: str
    batch: str
    action: str  # "appended" or "replaced"
    entries: list[HistoryEntry]


def _bad(path: Path, line: int, what: str) -> BadInputError:
    return BadInputError(
        f"{path}:{line}: {what}; fix or remove that line (one JSON object per line: batch, "
        "model, version, verdict, drift, realized, validation)"
    )


def _short(value: Any) -> str:
    """A value for a one-line message: its repr, cut at 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _numbers(path: Path, line: int, data: dict[str, Any], key: str) -> None:
    value = data[key]
    if not isinstance(value, dict):
        raise _bad(path, line, f"{key!r} must be an object {{name: number}}, got {_short(value)}")
    for name, number in value.items():
        finite = isinstance(number, int | float) and not isinstance(number, bool)
        if not finite or not math.isfinite(number):
            raise _bad(path, line, f"{key}.{name} must be a finite number, got {_short(number)}")


def _check(path: Path, line: int, data: Any) -> HistoryEntry:
    """``data`` as an entry, or bad input naming ``path:line`` and what is wrong."""
    if not isinstance(data, dict):
        raise _bad(path, line, f"not a JSON object but {type(data).__name__}")
    missing = [k for k in KEYS if k not in data]
    if missing:
        raise _bad(path, line, f"no key {missing[0]!r}")
    if not isinstance(data["batch"], str) or not data["batch"].strip():
        raise _bad(path, line, f"'batch' must be a non-empty string, got {_short(data['batch'])}")
    for key in ("model", "version"):
        if data[key] is not None and not isinstance(data[key], str):
            raise _bad(path, line, f"{key!r} must be a string or null, got {_short(data[key])}")
    if not isinstance(data["verdict"], str):
        raise _bad(path, line, f"'verdict' must be a string, got {_short(data['verdict'])}")
    drift = data["drift"]
    if (
        not isinstance(drift, dict)
        or not isinstance(drift.get("drifted"), bool)
        or not isinstance(drift.get("features"), list)
        or not all(isinstance(f, str) for f in drift["features"])
    ):
        shape = "{drifted: true|false, features: [names]}"
        raise _bad(path, line, f"'drift' must be {shape}, got {_short(drift)}")
    _numbers(path, line, data, "realized")
    _numbers(path, line, data, "validation")
    return data  # type: ignore[return-value]  # checked field by field above


def read_history(path: Path | str) -> list[HistoryEntry]:
    """The entries of a history file, in file order ([] if it does not exist yet).

    A malformed line, or two lines of the same (batch, model), is :class:`BadInputError`
    naming ``path:line``.
    """
    path = Path(path)
    if not path.exists():
        return []
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"{path}: cannot read the history file ({exc.strerror})") from None
    entries: list[HistoryEntry] = []
    seen: dict[tuple[str, str | None], int] = {}
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line.decode("utf-8"), parse_constant=_no_constant)
        except UnicodeDecodeError:
            raise _bad(path, number, "not UTF-8 text") from None
        except ValueError as exc:
            raise _bad(path, number, f"not JSON ({exc})") from None
        entry = _check(path, number, data)
        key = (entry["batch"], entry["model"])
        if key in seen:
            raise _bad(
                path,
                number,
                f"batch {key[0]!r} of model {key[1]!r} is already on line {seen[key]}",
            )
        seen[key] = number
        entries.append(entry)
    return entries


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def batch_label(current: Path | str, label: str | None) -> str:
    """The batch's label: ``label`` if given (non-blank), else the batch file's or folder's stem."""
    if label is not None:
        if not label.strip() or "\n" in label:
            raise BadInputError(
                f"--batch-label must be a non-blank line of text, got {_short(label)}"
            )
        return label
    stem = Path(str(current).rstrip("/")).stem
    if not stem:
        raise BadInputError(f"cannot name the batch {current!r}: give --batch-label LABEL")
    return stem


def registry_version(repo: Path, model_text: str | None, sha: str | None) -> str | None:
    """The registry version ``model_text`` resolved to: the version a ``NAME#STAGE`` or
    ``NAME@vX.Y.Z`` names, or the one version registered at ``sha``; None if not known."""
    if model_text is None or sha is None:
        return None
    from mlratchet.registry.state import find_shortcut, load_state, parse_shortcut

    state = load_state(repo)
    shortcut = parse_shortcut(model_text)
    if shortcut is not None:
        try:
            found = find_shortcut(state, shortcut)
        except BadInputError:  # resolved as a plain git revision of that name
            found = None
        if found is not None and found.commit == sha:
            return found.version
    versions = {
        v.version
        for artifact in state.artifacts.values()
        if (v := artifact.at_commit(sha)) is not None
    }
    return versions.pop() if len(versions) == 1 else None


def entry_of(
    report: MonitorReport, *, batch: str, model: str | None, version: str | None
) -> HistoryEntry:
    """The history line of one monitor report."""
    drift = report["drift"]
    features = [c["column"] for c in drift["columns"] if c["drifted"]]
    realized: dict[str, float] = {}
    validation: dict[str, float] = {}
    if "realized" in report:
        found = report["realized"]
        for figure in found["metrics"] + found["business"]:
            if figure["realized"] is not None:
                realized[figure["name"]] = figure["realized"]
            if figure["validation"] is not None:
                validation[figure["name"]] = figure["validation"]
    return {
        "batch": batch,
        "model": model,
        "version": version,
        "verdict": report["verdict"],
        "drift": {"drifted": bool(drift["dataset_drift"]), "features": features},
        "realized": realized,
        "validation": validation,
    }


def _line(entry: HistoryEntry) -> str:
    return json.dumps(entry, sort_keys=True, allow_nan=False, ensure_ascii=False)


@contextlib.contextmanager
def _writers_lock(path: Path) -> Iterator[None]:
    """Hold an ``flock`` on the history file's folder while its lines are read, changed and
    renamed into place, so that two monitors recording at once both keep their line (the file
    itself is replaced, so its folder is what is locked). Busy beyond ``LOCK_SECONDS``: exit 4."""
    from mlratchet.fsio import lock_within

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        if not lock_within(fd, LOCK_SECONDS, poll=0.05):
            raise ConflictError(
                f"{path}: another monitor has held its folder's lock for "
                f"{LOCK_SECONDS:.0f}s; retry when it is done"
            )
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def record(path: Path | str, entry: HistoryEntry) -> HistoryJSON:
    """Add ``entry`` to the history file (replacing the line of its (batch, model) if there is
    one), atomically and under a writers' lock; the entries read back."""
    from mlratchet.fsio import write_text

    path = Path(path)
    if path.is_dir():
        raise BadInputError(f"{path} is a folder; --history names a file (.jsonl)")
    with _writers_lock(path):
        entries = read_history(path)
        key = (entry["batch"], entry["model"])
        at = next((i for i, e in enumerate(entries) if (e["batch"], e["model"]) == key), None)
        if at is None:
            entries.append(entry)
        else:
            entries[at] = entry
        write_text(path, "".join(_line(e) + "\n" for e in entries))
        found = read_history(path)
    return {
        "file": str(path),
        "batch": entry["batch"],
        "action": "appended" if at is None else "replaced",
        "entries": found,
    }


# --- rendering ---------------------------------------------------------------------------------


def series(entries: list[HistoryEntry]) -> tuple[list[str], list[str | None], list[str]]:
    """The batches (in the order the file first names them), the model series (likewise) and
    the realized metrics (likewise) of the entries."""
    batches = list(dict.fromkeys(e["batch"] for e in entries))
    models = list(dict.fromkeys(e["model"] for e in entries))
    metrics = list(dict.fromkeys(name for e in entries for name in e["realized"]))
    return batches, models, metrics


def _model_name(model: str | None) -> str:
    return model if model is not None else "(no model)"


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def table(entries: list[HistoryEntry]) -> tuple[list[str], list[list[str]]]:
    """The entries as a table: one row per (batch, model), batches in file order; a column per
    realized metric."""
    batches, models, metrics = series(entries)
    header = ["batch", "model", "version", "verdict", "drifted features", *metrics]
    by_key = {(e["batch"], e["model"]): e for e in entries}
    rows = []
    for batch in batches:
        for model in models:
            found = by_key.get((batch, model))
            if found is not None:
                rows.append(
                    [
                        batch,
                        _model_name(model),
                        found["version"] or "-",
                        found["verdict"],
                        ", ".join(found["drift"]["features"]) or "-",
                        *(_cell(found["realized"].get(m)) for m in metrics),
                    ]
                )
    return header, rows


def markdown_lines(history: HistoryJSON) -> list[str]:
    """The "Realized performance over time" section of the monitor's Markdown report."""
    entries = history["entries"]
    lines = ["### Realized performance over time", ""]
    if not series(entries)[2]:
        return [*lines, f"{NO_HISTORY}: no batch in `{history['file']}` has realized metrics.", ""]
    header, rows = table(entries)
    lines += [
        f"`{history['file']}`: {len(entries)} entries; this batch `{history['batch']}` "
        f"{history['action']}.",
        "",
        "| " + " | ".join(header) + " |",
        "|---|---|---|---|---|" + "---:|" * (len(header) - 5),
    ]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return [*lines, ""]


def chart_png(entries: list[HistoryEntry]) -> bytes | None:
    """Realized performance over the batches: one panel per metric, one line per model series
    (its validation values dotted); None when no entry has a realized value."""
    batches, models, metrics = series(entries)
    if not metrics:
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from mlratchet.pngio import figure_png

    by_key = {(e["batch"], e["model"]): e for e in entries}
    width = min(14.0, max(6.0, 0.5 * len(batches) + 3))
    fig = Figure(figsize=(width, 2.2 * len(metrics) + 0.8))
    axes = fig.subplots(len(metrics), 1, sharex=True, squeeze=False)[:, 0]
    xs = list(range(len(batches)))
    nan = float("nan")
    for ax, name in zip(axes, metrics, strict=True):
        for i, model in enumerate(models):
            colour = f"C{i % 10}"
            rows = [by_key.get((b, model)) for b in batches]
            realized = [r["realized"].get(name, nan) if r else nan for r in rows]
            if all(math.isnan(v) for v in realized):
                continue
            # Series that coincide (one model under two names) stay visible: the later ones
            # are drawn thinner, dashed, with smaller markers, on top of the earlier ones.
            ax.plot(
                xs,
                realized,
                linestyle=("-", "--", "-.")[min(i, 2)],
                marker="osD^v"[i % 5],
                markersize=max(3.0, 6.5 - 1.5 * i),
                linewidth=max(1.0, 2.0 - 0.5 * i),
                color=colour,
                label=_model_name(model),
            )
            validation = [r["validation"].get(name, nan) if r else nan for r in rows]
            if not all(math.isnan(v) for v in validation):
                ax.plot(xs, validation, ":", color=colour, linewidth=1)
        ax.set_ylabel(name, fontsize=8)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    axes[0].set_title("Realized performance by batch (dotted: at validation)", fontsize=9)
    axes[0].legend(fontsize=7, loc="best")
    axes[-1].set_xticks(xs)
    turned = len(batches) > 6
    axes[-1].set_xticklabels(
        batches, rotation=30 if turned else 0, ha="right" if turned else "center"
    )
    axes[-1].set_xlim(-0.5, len(batches) - 0.5)
    fig.tight_layout()
    return figure_png(fig, dpi=80)
