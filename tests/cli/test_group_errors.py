"""The root group's error translation: the environment, --traceback, --json (CliRunner)."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any, NoReturn

import pytest
from click.testing import CliRunner

from helpers import commit_all, gen
from mlratchet.cli.group import cli
from mlratchet.errors import IntegrityError
from mlratchet.reproduce import runner


def invoke(*args: str) -> tuple[int, str, str]:
    """Run the CLI in process; exit code, stdout, stderr."""
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def _raising(exc: BaseException) -> Any:
    def fake(*_args: object, **_kwargs: object) -> NoReturn:
        raise exc

    return fake


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.ENOSPC, "No space left on device"),
        (errno.EROFS, "Read-only file system"),
        (errno.EACCES, "Permission denied"),
        (errno.EDQUOT, "Disk quota exceeded"),
    ],
)
def test_environment_oserror_is_exit_2_not_a_bug(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, code: int, reason: str
) -> None:
    """A full disk, read-only fs or denied permission: exit 2, one line naming the path."""
    path = str(tmp_path / "dvc.lock")
    monkeypatch.setattr(runner, "repro", _raising(OSError(code, reason, path)))
    exit_code, _out, err = invoke("repro", "-R", str(tmp_path))
    assert exit_code == 2, err
    assert f"{path}: {reason} (the environment, not a bug)" in err
    assert "internal error" not in err and len(err.strip().splitlines()) == 1


def test_enospc_while_recording_keeps_the_stage_failure_visible(
    monkeypatch: pytest.MonkeyPatch, tmp_repo: Path
) -> None:
    """Disk full while storing the compute record of a failed run: exit 1, the stage named."""
    gen(tmp_repo, {"dvc.yaml": "stages:\n  bad:\n    cmd: python -c 'raise SystemExit(3)'\n"})
    commit_all(tmp_repo, "failing stage")
    monkeypatch.setattr(runner, "store", _raising(OSError(errno.ENOSPC, "No space", "x")))
    exit_code, _out, err = invoke("repro", "-R", str(tmp_repo))
    assert exit_code == 1, err
    assert "stage 'bad' failed" in err and "could not store the compute record" in err


def test_traceback_prints_it_and_still_exits_70(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--traceback shows a bug's traceback on stderr and keeps exit 70 (not a gate's 1)."""
    monkeypatch.setattr(runner, "repro", _raising(ZeroDivisionError("boom")))
    exit_code, _out, err = invoke("--traceback", "repro", "-R", str(tmp_path))
    assert exit_code == 70, err
    assert "Traceback (most recent call last)" in err and "ZeroDivisionError: boom" in err


def test_traceback_from_the_environment_still_exits_70(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """RATCHET_TRACEBACK=1 does the same as --traceback."""
    monkeypatch.setenv("RATCHET_TRACEBACK", "1")
    monkeypatch.setattr(runner, "repro", _raising(KeyError("k")))
    exit_code, _out, err = invoke("repro", "-R", str(tmp_path))
    assert exit_code == 70, err
    assert "Traceback (most recent call last)" in err


def test_json_error_object_on_stdout_for_a_library_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--json and a RatchetError: one JSON error object on stdout, the red line on stderr."""
    monkeypatch.setattr(runner, "repro", _raising(IntegrityError("dvc.lock: corrupt")))
    exit_code, out, err = invoke("repro", "-R", str(tmp_path), "--json")
    assert exit_code == 3
    assert json.loads(out) == {
        "error": {"message": "dvc.lock: corrupt", "exit_code": 3, "type": "IntegrityError"}
    }
    assert "error: dvc.lock: corrupt" in err


def test_json_error_object_on_stdout_for_a_bug(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """--json and an internal error: the JSON error object says exit 70 and the type."""
    monkeypatch.setattr(runner, "repro", _raising(ZeroDivisionError("boom")))
    exit_code, out, _err = invoke("repro", "-R", str(tmp_path), "--json")
    assert exit_code == 70
    error = json.loads(out)["error"]
    assert error["exit_code"] == 70 and error["type"] == "ZeroDivisionError"
    assert "boom" in error["message"]


def test_no_json_flag_leaves_stdout_empty_on_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without --json, an error prints nothing on stdout."""
    monkeypatch.setattr(runner, "repro", _raising(IntegrityError("dvc.lock: corrupt")))
    exit_code, out, _err = invoke("repro", "-R", str(tmp_path))
    assert exit_code == 3 and out == ""
