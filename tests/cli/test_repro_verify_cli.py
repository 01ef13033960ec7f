"""`ratchet repro` and `ratchet verify` through Click: exit codes, stdout and stderr."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import commit_all, dvc, gen
from mlratchet.cli.group import cli

PIPELINE = {
    "dvc.yaml": (
        "stages:\n"
        "  one:\n"
        "    cmd: python -c \"print('hi'); open('one.txt','w').write('1')\"\n"
        "    outs: [one.txt]\n"
    )
}


@pytest.fixture
def project(tmp_repo: Path) -> Path:
    """A reproduced, committed one-stage pipeline."""
    gen(tmp_repo, PIPELINE)
    dvc(tmp_repo, "repro", "-q")
    commit_all(tmp_repo, "one")
    return tmp_repo


def invoke(*args: str) -> tuple[int, str, str]:
    """Run the CLI in process; exit code, stdout, stderr."""
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_repro_ok_is_0_and_json_is_strict(project: Path) -> None:
    """A forced run exits 0; --json is the report, stage output on stderr."""
    code, out, err = invoke("repro", "-R", str(project), "--force", "--json")
    assert code == 0, err
    assert json.loads(out)["stages"][0]["status"] == "ran"
    assert "hi" in err and "hi" not in out


def test_repro_failing_stage_is_1(project: Path) -> None:
    """A failing stage exits 1 with the stage named on stderr."""
    gen(project, {"dvc.yaml": PIPELINE["dvc.yaml"].replace("print('hi')", "1/0")})
    code, _out, err = invoke("repro", "-R", str(project))
    assert code == 1
    assert "stage 'one' failed" in err and "ZeroDivisionError" in err


def test_verify_exit_codes_0_1_2_3(project: Path) -> None:
    """verify: 0 reproduced, 1 not reproduced, 2 unknown revision, 3 stale lock."""
    code, out, err = invoke("verify", "-R", str(project), "--md")
    assert code == 0, err
    assert out.startswith("**ratchet verify") and "| one | identical | one.txt |" in out
    assert invoke("verify", "-R", str(project), "--rev", "nope")[0] == 2
    gen(project, {"dvc.yaml": PIPELINE["dvc.yaml"].replace("'1'", "'2'")})
    commit_all(project, "cmd changed, lock not")
    code, _out, err = invoke("verify", "-R", str(project))
    assert code == 3 and "command in dvc.yaml differs" in err
    dvc(project, "repro", "-q")
    lock = (project / "dvc.lock").read_text()
    real = hashlib.md5(b"2", usedforsecurity=False).hexdigest()
    assert real in lock
    gen(project, {"dvc.lock": lock.replace(real, "c" * 32)})
    commit_all(project, "forged")
    code, _out, err = invoke("verify", "-R", str(project))
    assert code == 1 and "stage 'one' is not reproducible: one.txt" in err
