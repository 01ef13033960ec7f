"""`ratchet contract infer` and `ratchet validate`: outputs and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from mlratchet.cli.group import cli
from mlratchet.exitcodes import ExitCode


def _data(tmp_path: Path) -> Path:
    path = tmp_path / "ref.csv"
    pd.DataFrame({"n": range(1, 101), "kind": ["a", "b"] * 50}).to_csv(path, index=False)
    return path


def test_infer_writes_a_contract_and_refuses_to_overwrite(tmp_path: Path) -> None:
    """-o writes the file (exit 0); a second run without --force is a conflict (exit 4)."""
    data, out = _data(tmp_path), tmp_path / "contracts" / "ref.yaml"
    runner = CliRunner()
    first = runner.invoke(cli, ["contract", "infer", str(data), "-o", str(out)])
    assert first.exit_code == 0, first.stderr
    text = out.read_text()
    assert text.startswith("# Data contract inferred by `ratchet contract infer")
    assert "  kind:\n    type: string\n    nullable: false\n" in text
    again = runner.invoke(cli, ["contract", "infer", str(data), "-o", str(out)])
    assert again.exit_code == ExitCode.CONFLICT
    assert "already exists; pass --force" in again.stderr
    assert out.read_text() == text
    forced = runner.invoke(cli, ["contract", "infer", str(data), "-o", str(out), "--force"])
    assert forced.exit_code == 0


def test_infer_to_stdout(tmp_path: Path) -> None:
    """Without -o the contract goes to stdout."""
    result = CliRunner().invoke(cli, ["contract", "infer", str(_data(tmp_path))])
    assert result.exit_code == 0
    assert "columns:\n  n:\n    type: integer" in result.stdout


def test_validate_exit_codes_and_outputs(tmp_path: Path) -> None:
    """0 valid, 1 invalid (every failure listed), 2 unreadable data or malformed contract."""
    data = _data(tmp_path)
    contract = tmp_path / "c.yaml"
    runner = CliRunner()
    assert runner.invoke(cli, ["contract", "infer", str(data), "-o", str(contract)]).exit_code == 0

    ok = runner.invoke(cli, ["validate", str(data), "-c", str(contract), "--json"])
    assert ok.exit_code == 0
    assert json.loads(ok.stdout)["valid"] is True

    bad = tmp_path / "bad.csv"
    bad.write_text("n,kind,extra\n1,a,x\n999,c,y\n2,,z\n")
    invalid = runner.invoke(cli, ["validate", str(bad), "-c", str(contract), "--json"])
    assert invalid.exit_code == ExitCode.CHECK_FAILED
    report = json.loads(invalid.stdout)
    rules = {(f["column"], f["rule"]) for f in report["failures"]}
    assert rules == {
        ("extra", "extra_column"),
        ("n", "max"),
        ("kind", "categories"),
        ("kind", "not_null"),
    }
    assert "invalid" in invalid.stderr

    md = runner.invoke(cli, ["validate", str(bad), "-c", str(contract), "--md"])
    assert md.exit_code == 1
    assert "| `n` | max |" in md.stdout
    assert "row 1: 999" in md.stdout

    plain = runner.invoke(cli, ["validate", str(bad), "-c", str(contract)])
    assert "kind: categories" in plain.stdout

    broken = tmp_path / "broken.yaml"
    broken.write_text(contract.read_text().replace("type: integer", "type: number"))
    malformed = runner.invoke(cli, ["validate", str(data), "-c", str(broken)])
    assert malformed.exit_code == ExitCode.BAD_INPUT
    assert f"{broken}:8: columns.n.type: must be one of" in malformed.stderr

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    unreadable = runner.invoke(cli, ["validate", str(empty), "-c", str(contract)])
    assert unreadable.exit_code == ExitCode.BAD_INPUT
    assert unreadable.stdout == ""
