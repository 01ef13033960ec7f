"""The GitHub workflows: valid, hardened, and made only of steps a developer can run locally."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from helpers import ROOT
from mlratchet.cli.group import cli
from mlratchet.yamlio import load_yaml

WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
SHA = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def workflow(path: Path) -> dict:
    data = load_yaml(path)
    # YAML 1.2 keeps `on` a string key (PyYAML would read it as True).
    assert "on" in data, path.name
    return data


def steps(data: dict) -> list[tuple[str, dict]]:
    return [(job, step) for job, spec in data["jobs"].items() for step in spec.get("steps", [])]


def bin_tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_there_are_the_three_workflows() -> None:
    """CI, continuous training, continuous monitoring, and the release build."""
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "ct.yml", "monitor.yml", "release.yml"]


def zizmor(directory: Path) -> subprocess.CompletedProcess[str]:
    """zizmor's offline audits, the strictest persona, over a workflows directory."""
    return subprocess.run(
        [bin_tool("zizmor"), "--offline", "--persona=auditor", "--no-progress", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )


def schema_check(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    """check-jsonschema against GitHub's workflow schema."""
    return subprocess.run(
        [
            bin_tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_zizmor_finds_nothing() -> None:
    """zizmor (offline audits, the strictest persona) reports no finding."""
    proc = zizmor(ROOT / ".github/workflows")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


def test_workflows_match_githubs_schema() -> None:
    """check-jsonschema validates every workflow against GitHub's workflow schema."""
    proc = schema_check(WORKFLOWS)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_hardening(path: Path) -> None:
    """Least privilege, pinned actions, no credentials kept unless a job pushes, no injection."""
    assert_hardened(path)


def assert_hardened(path: Path) -> None:
    """The hardening a workflow of ours (or one `ratchet init` drafts) must have."""
    data = workflow(path)
    assert data["permissions"] == {}
    assert "concurrency" in data or all("concurrency" in j for j in data["jobs"].values())
    assert "pull_request_target" not in data["on"]
    for job, spec in data["jobs"].items():
        assert "permissions" in spec, f"{path.name}:{job} has no permissions of its own"
    for job, step in steps(data):
        if "uses" in step:
            assert SHA.match(step["uses"]), f"{path.name}:{job}: {step['uses']} is not a SHA"
            if step["uses"].startswith("actions/checkout@"):
                keep = step.get("with", {}).get("persist-credentials")
                pushes = "write" in str(data["jobs"][job]["permissions"].get("contents", ""))
                assert keep is pushes, f"{path.name}:{job}"
        if "run" in step:
            assert "${{" not in step["run"], f"{path.name}:{job}: expression inside run:"


#: The release workflow's only steps: the pinned build frontend, then the build.
RELEASE_STEPS = ("python -m pip install build==1.6.1", "python -m build --outdir dist/")


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"(?m)^([a-z][a-z-]*):", text))


def recipe(target: str, *variables: str) -> list[str]:
    """The commands `make -n` prints for a target (as if installed), with ``NAME=VALUE``s."""
    # --no-print-directory: under `make test` (MAKELEVEL > 0) make prints its "Entering
    # directory" lines among the commands
    command = ["make", "-n", "--no-print-directory", "-o", ".venv/.installed", target]
    proc = subprocess.run(
        [*command, "BASE=HEAD", *variables],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    joined = proc.stdout.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip()]


def run_steps() -> list[tuple[str, str, str]]:
    return [
        (path.name, job, step["run"].strip())
        for path in WORKFLOWS
        for job, step in steps(workflow(path))
        if "run" in step
    ]


@pytest.mark.parametrize(("name", "job", "command"), run_steps())
def test_every_run_step_is_a_make_target_or_a_ratchet_command(
    name: str, job: str, command: str
) -> None:
    """A workflow step is `make TARGET` (a real target) or a `ratchet` command Click accepts.

    The release build is the one exception: it installs the pinned `build` and runs it.
    """
    words = shlex.split(command)
    if name == "release.yml":
        assert command in RELEASE_STEPS, f"{name}:{job}: {command}"
    elif words[0] == "make":
        assert len(words) == 2 and words[1] in make_targets(), f"{name}:{job}: {command}"
        recipe(words[1])  # make can plan it
    else:
        assert words[0] == "ratchet", f"{name}:{job}: {command}"
        cli.make_context("ratchet", words[1:], resilient_parsing=True)


def ratchet_commands_of(target: str) -> set[tuple[str, ...]]:
    """The ratchet command paths (e.g. ("metrics", "diff")) a make target runs."""
    found = set()
    for line in recipe(target):
        for part in re.split(r"\|\||&&|;|\$\(|\)|\"", line):
            words = part.strip().split()
            if words[:1] == ["ratchet"]:
                path, group = [], cli
                for word in words[1:]:
                    ctx = click.Context(group)
                    if not isinstance(group, click.Group) or word.startswith("-"):
                        break
                    sub = group.get_command(ctx, word)
                    assert sub is not None, f"make {target}: no command ratchet {word}"
                    path.append(word)
                    group = sub
                found.add(tuple(path))
    return found


def test_the_tests_exercise_every_ratchet_command_the_workflows_run() -> None:
    """Each ratchet command behind a workflow step is invoked by some test in the suite."""
    targets = {shlex.split(c)[1] for _, _, c in run_steps() if c.startswith("make ")}
    commands = set().union(*(ratchet_commands_of(t) for t in targets))
    assert commands
    tests_text = "\n".join(
        p.read_text() for p in (ROOT / "tests").rglob("*.py") if p.name != Path(__file__).name
    )
    for path in sorted(commands):
        quoted = ", ".join(f'"{w}"' for w in path)
        spaced = "ratchet " + " ".join(path)
        assert quoted in tests_text or spaced in tests_text, f"no test runs ratchet {path}"


def test_make_ci_runs_what_ci_yml_runs() -> None:
    """`make ci` runs the check job's steps, in the same order (CI equals local)."""
    data = workflow(ROOT / ".github/workflows/ci.yml")
    job = [
        step["run"].split()[1]
        for _, step in steps({"jobs": {"c": data["jobs"]["check"]}})
        if "run" in step
    ]
    wanted = [t for t in job if t not in ("install", "notes-pull")]
    ci_line = re.search(r"(?m)^ci: (.*?)(?:  ##|$)", (ROOT / "Makefile").read_text()).group(1)
    assert ci_line.split() == wanted


def test_make_monitor_judges_a_served_log_with_its_labels_when_given_them() -> None:
    """Unset, `make monitor` builds the newest month's batch as before; with MONITOR_LOG and
    MONITOR_LABELS (the workflow's dispatch inputs `log` and `labels`) it runs one `ratchet
    monitor` of that log with --labels and --history, which Click accepts."""
    assert recipe("monitor")[0].startswith("flightdelay batch --month")
    (command,) = recipe("monitor", "MONITOR_LOG=logs/w1", "MONITOR_LABELS=labels.parquet")
    env = {"MONITOR_LOG": "logs/w1", "MONITOR_LABELS": "labels.parquet"}
    words = [env.get(w.removeprefix("$"), w) for w in shlex.split(command)]
    assert words[:5] == ["ratchet", "monitor", "logs/w1", "--labels", "labels.parquet"]
    assert words[words.index("--history") + 1] == "reports/monitor/history.jsonl"
    assert words[words.index("--model") + 1] == "flight-delay#production"
    cli.make_context("ratchet", words[1:], resilient_parsing=True)
    data = workflow(ROOT / ".github/workflows/monitor.yml")
    assert set(data["on"]["workflow_dispatch"]["inputs"]) == {"log", "labels"}
    (step,) = [step for _, step in steps(data) if step.get("run") == "make monitor"]
    assert step["env"] == {
        "MONITOR_LOG": "${{ inputs.log }}",
        "MONITOR_LABELS": "${{ inputs.labels }}",
    }
