"""The ratchet command line: instant help, the version, and every row of the exit-code table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from helpers import ROOT
from mlratchet import __version__
from mlratchet.cli.group import COMMANDS, cli
from mlratchet.errors import (
    BadInputError,
    CheckFailedError,
    ConflictError,
    IntegrityError,
    RefusedError,
)
from mlratchet.exitcodes import ExitCode

HEAVY = ("pandas", "numpy", "sklearn", "dvc", "git", "scipy", "matplotlib", "pyarrow", "skops")


def test_help_imports_nothing_heavy() -> None:
    """`ratchet --help` lists every command without importing pandas, sklearn, DVC or git."""
    code = (
        "import sys\nfrom mlratchet.cli import main\nrc = main(['--help'])\n"
        f"heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "print('HEAVY', heavy, rc, file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY [] 0" in proc.stderr
    for name in COMMANDS:
        assert name in proc.stdout


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_help_imports_nothing_heavy(name: str) -> None:
    """`ratchet CMD --help` stays light for every command group."""
    code = (
        "import sys\nfrom mlratchet.cli import main\n"
        f"rc = main([{name!r}, '--help'])\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().endswith("[] 0")


def test_every_command_and_option_has_help() -> None:
    """Every command and every visible option explains itself (GTO's meta-test)."""
    ctx = click.Context(cli)

    def walk(command: click.Command, path: str) -> None:
        assert command.help or command.short_help, f"{path} has no help"
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, f"{path} {param.opts[0]} has no help"
        if isinstance(command, click.Group):
            for sub in command.list_commands(ctx):
                walk(command.get_command(ctx, sub), f"{path} {sub}")

    walk(cli, "ratchet")


def test_version() -> None:
    """`ratchet --version` and `python -m mlratchet --version` print the version."""
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"ratchet {__version__}"
    proc = subprocess.run(
        [sys.executable, "-m", "mlratchet", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"ratchet {__version__}"


def test_unknown_command_is_usage_error() -> None:
    """A usage error exits 2."""
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == ExitCode.BAD_INPUT


def test_params_check_valid() -> None:
    """`ratchet params check` accepts the reference project (JSON on stdout with --json)."""
    result = CliRunner().invoke(cli, ["params", "check", "-R", str(ROOT), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["valid"] is True
    assert "train.max_iter" in data["checked"]["params.yaml"]


def test_params_check_lists_every_problem_exit_2(tmp_path: Path) -> None:
    """Any project: each declared key that is missing or null is one stderr line; exit 2."""
    git_init = subprocess.run(["git", "init", "-q", str(tmp_path)], check=False)
    assert git_init.returncode == 0
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  fit:\n    cmd: python fit.py\n"
        "    params: [fit.lr, fit.depth, {conf/model.json: [alpha]}]\n"
    )
    (tmp_path / "params.yaml").write_text("fit:\n  lr: 0.1\n  depth: null\n")
    (tmp_path / "ratchet.yaml").write_text("metrix: {}\n")
    result = CliRunner().invoke(cli, ["params", "check", "-R", str(tmp_path)])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[:2] == [
        "error: params.yaml: fit.depth: has no value (null) (declared by stage 'fit')",
        "error: conf/model.json: no such params file (declared by stage 'fit')",
    ]
    assert lines[2].startswith("error: ratchet.yaml: metrix: unknown key")
    assert len(lines) == 3


def _command(exc: BaseException | None = None, rv: int = 0) -> click.Command:
    @click.command()
    def probe() -> int:
        """Raise or return what the test asks."""
        if exc is not None:
            raise exc
        return rv

    return probe


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (CheckFailedError("no"), ExitCode.CHECK_FAILED),
        (BadInputError("bad"), ExitCode.BAD_INPUT),
        (IntegrityError("hash"), ExitCode.INTEGRITY),
        (ConflictError("busy"), ExitCode.CONFLICT),
        (RefusedError("unsafe"), ExitCode.REFUSED),
        (KeyboardInterrupt(), ExitCode.INTERRUPTED),
        (RuntimeError("boom"), ExitCode.INTERNAL),
    ],
)
def test_exit_code_table(monkeypatch: pytest.MonkeyPatch, exc: BaseException, code: int) -> None:
    """Each library error maps to its row of the table, with one line on stderr."""
    monkeypatch.setitem(cli.commands, "probe", _command(exc))
    result = CliRunner().invoke(cli, ["probe"])
    assert result.exit_code == code
    assert result.stdout == ""
    assert result.stderr.strip()


def test_ok_and_check_said_no(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command's returned int is the exit code: 0 ok, 1 a check said no."""
    monkeypatch.setitem(cli.commands, "probe", _command(rv=0))
    assert CliRunner().invoke(cli, ["probe"]).exit_code == ExitCode.OK
    monkeypatch.setitem(cli.commands, "probe", _command(rv=1))
    assert CliRunner().invoke(cli, ["probe"]).exit_code == ExitCode.CHECK_FAILED


def test_internal_error_hints_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug exits 70 and says to rerun with --traceback; --traceback shows the exception."""
    monkeypatch.setitem(cli.commands, "probe", _command(RuntimeError("boom")))
    result = CliRunner().invoke(cli, ["probe"])
    assert result.exit_code == ExitCode.INTERNAL
    assert "rerun as `ratchet --traceback <command> ...`" in result.stderr
    for result in (
        CliRunner().invoke(cli, ["--traceback", "probe"]),
        CliRunner().invoke(cli, ["probe"], env={"RATCHET_TRACEBACK": "1"}),
    ):
        assert result.exit_code == ExitCode.INTERNAL  # still a bug, never a gate's "no"
        assert "Traceback (most recent call last)" in result.stderr
        assert "RuntimeError: boom" in result.stderr


def test_broken_pipe_is_not_an_internal_error() -> None:
    """`ratchet ... | head` exits 141 quietly, like a tool killed by SIGPIPE, not 70."""
    import os

    read_fd, write_fd = os.pipe()
    os.close(read_fd)  # the reader is gone: the first write raises BrokenPipeError
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlratchet",
            "params",
            "check",
            "--json",
            "-R",
            str(ROOT),
        ],
        stdout=write_fd,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    os.close(write_fd)
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr == ""


def test_a_missing_optional_dependency_names_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that needs an extra that is not installed: exit 2 and the pip line, not 70."""

    def needs_pandas() -> int:
        raise ModuleNotFoundError("No module named 'pandas'", name="pandas")

    monkeypatch.setitem(cli.commands, "needs-data", click.command("needs-data")(needs_pandas))
    result = CliRunner().invoke(cli, ["needs-data"])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "pip install 'mlratchet[data]'" in result.stderr
