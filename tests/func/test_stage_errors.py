"""Stage scripts on bad input: one clear line naming file and key, a documented exit, no output."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from helpers import copy_project, run


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("stage-errors") / "project")


def run_stage(project: Path, stage: str, params: str) -> tuple[int, str]:
    (project / "params.yaml").write_text(params, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    proc = run([sys.executable, f"stages/{stage}.py"], project, check=False, env=env)
    return proc.returncode, proc.stderr


@pytest.fixture
def original(project: Path) -> str:
    text = (project / "params.yaml").read_text()
    yield text
    (project / "params.yaml").write_text(text)


@pytest.mark.parametrize(
    ("stage", "edit", "code", "message"),
    [
        (
            "train",
            ("max_iter: 150", "max_iter: ten"),
            2,
            "params.yaml: train.max_iter: must be an integer, got 'ten'",
        ),
        (
            "train",
            ("  max_iter: 150\n", ""),
            2,
            "params.yaml: train.max_iter: missing required key",
        ),
        (
            "train",
            ("  max_iter: 150\n", "  max_iter: 150\n  max_depth: 3\n"),
            2,
            "params.yaml: train.max_depth: unknown key",
        ),
        ("prepare", ("late_minutes: 15", "late_minutes: [15"), 2, "params.yaml: line"),
        (
            "ingest",
            ("weather.csv: 5d1e", "weather.csv: 0d1e"),
            3,
            "ingest.sha256.weather.csv expects 0d1e",
        ),
    ],
)
def test_bad_input(  # noqa: PLR0917 - pytest passes parametrized values positionally
    project: Path, original: str, stage: str, edit: tuple[str, str], code: int, message: str
) -> None:
    """The stage exits with the table's code, names the file and key, and writes nothing."""
    assert edit[0] in original
    rc, stderr = run_stage(project, stage, original.replace(edit[0], edit[1], 1))
    assert rc == code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"stage {stage}: error: ")
    assert message in lines[0]
    written = [
        p
        for d in ("data", "models")
        for p in (project / d).rglob("*")
        if p.is_file() and p.name != ".gitignore"
    ]
    assert written == []
