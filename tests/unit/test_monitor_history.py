"""The monitor's history file: read, append, replace, refuse a bad line; its table and chart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mlratchet.cli.group import cli
from mlratchet.errors import BadInputError
from mlratchet.exitcodes import ExitCode
from mlratchet.monitor import history
from mlratchet.monitor.history import HistoryEntry


def report(verdict: str = "ok", drifted: tuple[str, ...] = (), **realized: float) -> Any:
    """The parts of a monitor report a history line is made of."""
    columns = [{"column": c, "drifted": c in drifted} for c in ("a", "b", "c")]
    out: dict[str, Any] = {
        "verdict": verdict,
        "drift": {"dataset_drift": len(drifted) >= 2, "columns": columns},
    }
    if realized:
        out["realized"] = {
            "metrics": [{"name": n, "realized": v, "validation": 0.9} for n, v in realized.items()],
            "business": [{"name": "cost_per_row", "realized": None, "validation": None}],
        }
    return out


def entry(batch: str, model: str | None = "m#prod", **realized: float) -> HistoryEntry:
    return history.entry_of(report(**realized), batch=batch, model=model, version="v1.0.0")


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_an_entry_holds_what_the_run_found() -> None:
    """Drifted features by name, realized metrics with a value and their validation values."""
    got = history.entry_of(
        report("alert", ("a", "c"), accuracy=0.7), batch="w1", model="m#prod", version="v2.0.0"
    )
    assert got == {
        "batch": "w1",
        "model": "m#prod",
        "version": "v2.0.0",
        "verdict": "alert",
        "drift": {"drifted": True, "features": ["a", "c"]},
        "realized": {"accuracy": 0.7},
        "validation": {"accuracy": 0.9},
    }
    assert history.entry_of(report(), batch="w1", model=None, version=None)["realized"] == {}


def test_append_then_replace_keeps_file_order(tmp_path: Path) -> None:
    """New (batch, model) pairs are appended; a rerun of one replaces its line where it is."""
    path = tmp_path / "hist" / "history.jsonl"
    assert history.read_history(path) == []
    first = history.record(path, entry("w1", accuracy=0.9))
    assert first["action"] == "appended" and len(first["entries"]) == 1
    history.record(path, entry("w1", "m@v1", accuracy=0.8))
    history.record(path, entry("w2", accuracy=0.7))
    again = history.record(path, entry("w1", accuracy=0.5))
    assert again["action"] == "replaced"
    assert [(e["batch"], e["model"]) for e in lines(path)] == [
        ("w1", "m#prod"),
        ("w1", "m@v1"),
        ("w2", "m#prod"),
    ]
    assert lines(path)[0]["realized"] == {"accuracy": 0.5}
    assert again["entries"] == lines(path) == history.read_history(path)
    assert path.read_text(encoding="utf-8").endswith("}\n")
    assert sorted(p.name for p in path.parent.iterdir()) == ["history.jsonl"]  # no temp file


def test_blank_lines_and_unknown_keys_are_kept_readable(tmp_path: Path) -> None:
    """A blank line is skipped; a key this version does not know survives a rewrite."""
    path = tmp_path / "h.jsonl"
    extra = {**entry("w1"), "note": "by hand"}
    path.write_text("\n" + json.dumps(extra) + "\n\n", encoding="utf-8")
    history.record(path, entry("w2"))
    assert [e.get("note") for e in lines(path)] == ["by hand", None]


GOOD = json.dumps(entry("w0"))


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object but list"),
        (json.dumps({k: v for k, v in entry("w1").items() if k != "verdict"}), "no key 'verdict'"),
        (json.dumps({**entry("w1"), "batch": ""}), "'batch' must be a non-empty string"),
        (json.dumps({**entry("w1"), "model": 3}), "'model' must be a string or null"),
        (json.dumps({**entry("w1"), "realized": {"accuracy": "high"}}), "realized.accuracy"),
        (json.dumps({**entry("w1"), "realized": [0.5]}), "'realized' must be an object"),
        (GOOD.replace('"validation": {}', '"validation": {"auc": NaN}'), "not JSON"),
        (json.dumps({**entry("w1"), "drift": {"drifted": "yes"}}), "'drift' must be"),
        (GOOD, "already on line 1"),
    ],
)
def test_a_bad_line_is_bad_input_naming_file_and_line(tmp_path: Path, line: str, says: str) -> None:
    """Each malformed line is refused with FILE:LINE and what is wrong with it."""
    path = tmp_path / "h.jsonl"
    path.write_text(GOOD + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(BadInputError) as caught:
        history.read_history(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:2: "), message
    assert says in message


def test_the_cli_refuses_a_bad_history_with_exit_2_before_monitoring(tmp_path: Path) -> None:
    """`ratchet monitor --history` with a bad line: exit 2, one stderr line naming file:line;
    nothing else is read (the batch does not even exist) and the file is left as it was."""
    path = tmp_path / "h.jsonl"
    path.write_text(GOOD + "\n\n{oops\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["monitor", str(tmp_path / "none.parquet"), "--history", str(path)]
    )
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert f"{path}:3: not JSON" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert path.read_text(encoding="utf-8") == GOOD + "\n\n{oops\n"


def test_a_batch_label_needs_a_history(tmp_path: Path) -> None:
    """--batch-label alone is bad input (exit 2) saying what it needs."""
    result = CliRunner().invoke(
        cli, ["monitor", str(tmp_path / "b.parquet"), "--batch-label", "week 1"]
    )
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "--history FILE.jsonl" in result.stderr


def test_the_batch_label_defaults_to_the_stem() -> None:
    """A file's stem, a folder's name (trailing slash or not); a blank label is refused."""
    assert history.batch_label("data/batches/2013-05.parquet", None) == "2013-05"
    assert history.batch_label("logs/week-1/", None) == "week-1"
    assert history.batch_label("s3://bucket/logs/week-2", None) == "week-2"
    assert history.batch_label("x.parquet", "2013-05") == "2013-05"
    with pytest.raises(BadInputError, match="--batch-label"):
        history.batch_label("x.parquet", "  ")


def test_no_realized_value_says_no_history_yet(tmp_path: Path) -> None:
    """Entries without labels: no chart, and the Markdown says "no history yet"."""
    found = history.record(tmp_path / "h.jsonl", entry("w1"))
    assert history.chart_png(found["entries"]) is None
    assert history.NO_HISTORY in "\n".join(history.markdown_lines(found))


def test_the_table_and_chart_follow_the_file(tmp_path: Path) -> None:
    """One row per (batch, model), batches in file order, a column per metric; the chart is a
    PNG, the same bytes for the same entries."""
    path = tmp_path / "h.jsonl"
    history.record(path, entry("2013-02", accuracy=0.9, f1=0.8))
    history.record(path, entry("2013-02", "m@v1", accuracy=0.9, f1=0.8))
    history.record(path, entry("2013-03", accuracy=0.85, f1=0.7))
    found = history.record(path, entry("2013-01", "m@v1", accuracy=0.95))
    header, rows = history.table(found["entries"])
    assert header[-2:] == ["accuracy", "f1"]
    assert [(r[0], r[1]) for r in rows] == [
        ("2013-02", "m#prod"),
        ("2013-02", "m@v1"),
        ("2013-03", "m#prod"),
        ("2013-01", "m@v1"),
    ]
    assert rows[-1][-2:] == ["0.95", "-"]
    text = "\n".join(history.markdown_lines(found))
    assert "| 2013-03 | m#prod | v1.0.0 | ok | - | 0.85 | 0.7 |" in text
    png = history.chart_png(found["entries"])
    assert png is not None and png.startswith(b"\x89PNG")
    assert history.chart_png(found["entries"]) == png


def test_monitors_recording_at_once_keep_every_line(tmp_path: Path) -> None:
    """Eight writers, five batches each, at the same time: all forty lines are in the file."""
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "h.jsonl"

    def write(model: int) -> None:
        for batch in range(5):
            history.record(path, entry(f"b{batch}", f"m{model}", accuracy=0.5))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(8)))
    found = {(e["batch"], e["model"]) for e in history.read_history(path)}
    assert found == {(f"b{b}", f"m{m}") for b in range(5) for m in range(8)}


def test_a_folder_is_no_history_file(tmp_path: Path) -> None:
    """--history naming a folder is bad input, saying so."""
    with pytest.raises(BadInputError, match="is a folder"):
        history.record(tmp_path, entry("w1"))
