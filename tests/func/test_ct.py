"""`ratchet ct` on a small non-flights project: refresh, retrain, verify, commit, push, promote.

The project: ``data.csv`` (git-tracked) is the data; the ``train`` stage's "model" is the mean
of its ``y`` column (``models/model.txt``, DVC-cached, artifact ``m``) and ``metrics.json``
(``cache: false``) holds it as ``score``. ``refresh.py good|bad|same`` appends rows that keep
the score above the staging gate (0.5), push it below, or nothing. Each test gets a bare git
remote and a local DVC remote of its own.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import commit_all, dvc, gen, git
from mlratchet import notes
from mlratchet.cli.group import cli

TRAIN = """\
import json
from pathlib import Path

rows = Path("data.csv").read_text().split()[1:]
score = round(sum(int(y) for y in rows) / len(rows), 6)
Path("models").mkdir(exist_ok=True)
Path("models/model.txt").write_text(f"mean {score}\\n")
Path("metrics.json").write_text(json.dumps({"score": score}, sort_keys=True) + "\\n")
"""

REFRESH = """\
import sys
from pathlib import Path

rows = {"good": "1\\n1\\n", "bad": "0\\n" * 8, "same": ""}[sys.argv[1]]
with Path("data.csv").open("a") as f:
    f.write(rows)
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py, data.csv]
    outs: [models/model.txt]
    metrics:
      - metrics.json:
          cache: false
artifacts:
  m:
    path: models/model.txt
    type: model
"""


def policy(refresh: str | None) -> str:
    """ratchet.yaml: a staging gate on score, and a ct section running ``refresh``."""
    text = """\
registry:
  m:
    stages:
      - name: staging
        contract: false
        thresholds:
          score: {min: 0.5}
"""
    if refresh is not None:
        text += f"ct:\n  refresh: [{refresh!r}]\n  commit: [data.csv]\n"
    return text


@pytest.fixture(scope="session")
def ct_template(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project with its pipeline run once and committed (score 2/3)."""
    root = tmp_path_factory.mktemp("ct-project") / "repo"
    shutil.copytree(template_repo, root, symlinks=True)
    gen(
        root,
        {
            "train.py": TRAIN,
            "refresh.py": REFRESH,
            "dvc.yaml": DVC_YAML,
            "data.csv": "y\n1\n1\n0\n",
            "ratchet.yaml": policy("python refresh.py good"),
        },
    )
    dvc(root, "repro", "-q")
    commit_all(root, "first model")
    return root


@pytest.fixture
def project(ct_template: Path, tmp_path: Path) -> Path:
    """A copy of the project with a bare git remote (origin) and a local DVC remote."""
    root = tmp_path / "repo"
    shutil.copytree(ct_template, root, symlinks=True)
    git(tmp_path, "init", "-q", "--bare", "remote.git")
    git(root, "remote", "add", "origin", str(tmp_path / "remote.git"))
    git(root, "push", "-q", "origin", "main")
    dvc(root, "remote", "add", "--local", "-d", "store", str(tmp_path / "dvc-store"))
    return root


def set_refresh(repo: Path, refresh: str | None) -> str:
    """Commit a ratchet.yaml whose ct.refresh is ``refresh`` (None: no ct section)."""
    gen(repo, {"ratchet.yaml": policy(refresh)})
    return commit_all(repo, "policy")


def ct(repo: Path, *args: str) -> tuple[int, dict[str, object] | None, str]:
    """Run `ratchet ct --json` in-process: (exit code, the JSON or None, stderr)."""
    result = CliRunner().invoke(cli, ["ct", "--json", *args, "-R", str(repo)])
    data = json.loads(result.stdout) if result.stdout.strip() else None
    return result.exit_code, data, result.stderr


def tags(repo: Path) -> list[str]:
    """The repository's tags."""
    return git(repo, "tag", "--list").split()


def test_first_run_promotes_and_pushes(project: Path) -> None:
    """New rows -> commit, verified, pushed with notes, promoted to staging with a pushed tag."""
    before = git(project, "rev-parse", "HEAD")
    code, data, err = ct(project)
    assert code == 0, err
    assert data is not None
    assert data["outcome"] == "promoted"
    assert [s["step"] for s in data["steps"]] == [  # type: ignore[attr-defined]
        "refresh",
        "repro",
        "commit",
        "verify",
        "push",
        "promote",
    ]
    head = git(project, "rev-parse", "HEAD")
    assert head != before and data["commit"] == head
    assert git(project, "rev-parse", "HEAD~1") == before
    assert set(data["committed"]) == {"data.csv", "dvc.lock", "metrics.json"}  # type: ignore[arg-type]
    assert "ratchet ct" in git(project, "log", "-1", "--format=%s")
    assert git(project, "status", "--porcelain", "--untracked-files=no") == ""
    assert data["tag"] == "m#staging#1"
    assert "m#staging#1" in tags(project)
    remote = project.parent / "remote.git"
    assert git(remote, "rev-parse", "main") == head
    assert "m#staging#1" in git(remote, "tag", "--list").split()
    note = notes.read(remote, head)
    assert note["verify"]["ok"] is True
    assert any((project.parent / "dvc-store").rglob("*")), "dvc push stored nothing"


def test_nothing_new_makes_no_commit(project: Path) -> None:
    """A refresh that changes nothing: outcome "nothing new", exit 0, no commit, clean tree."""
    head = set_refresh(project, "python refresh.py same")
    code, data, err = ct(project)
    assert code == 0, err
    assert data is not None and data["outcome"] == "nothing new"
    assert "nothing new" in err
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "status", "--porcelain", "--untracked-files=no") == ""
    assert tags(project) == []


def test_worse_model_is_refused_by_the_gates(project: Path) -> None:
    """Rows that sink the score below the gate: exit 1, the commit stays, no tag."""
    head = set_refresh(project, "python refresh.py bad")
    code, data, err = ct(project, "--no-push")
    assert code == 1, err
    assert data is not None and data["outcome"] == "gates refused"
    assert git(project, "rev-parse", "HEAD~1") == head
    assert data["steps"][-1]["result"] == "refused"  # type: ignore[index]
    assert tags(project) == []
    assert git(project, "status", "--porcelain", "--untracked-files=no") == ""


def test_no_refresh_is_bad_input(project: Path) -> None:
    """Without ct.refresh in ratchet.yaml: exit 2, the message says what to add; nothing ran."""
    head = set_refresh(project, None)
    code, data, err = ct(project)
    assert code == 2
    assert data is not None and data["error"]["exit_code"] == 2  # type: ignore[index]
    assert "ct.refresh" in err and "ratchet.yaml" in err
    assert git(project, "rev-parse", "HEAD") == head


def test_failing_refresh_names_the_command_and_restores(project: Path) -> None:
    """A refresh that edits data then fails: exit 2 naming it and its status; tree restored."""
    set_refresh(project, "python refresh.py good && exit 3")
    code, _, err = ct(project)
    assert code == 2
    assert "exit 3" in err and "exited 3" in err
    assert git(project, "status", "--porcelain", "--untracked-files=no") == ""


def test_dirty_tree_is_refused(project: Path) -> None:
    """Uncommitted changes to a tracked file: exit 4 before any refresh runs."""
    (project / "data.csv").write_text("y\n1\n")
    code, _, err = ct(project)
    assert code == 4
    assert "data.csv" in err
    assert (project / "data.csv").read_text() == "y\n1\n"


def test_no_promote_stops_after_the_commit(project: Path) -> None:
    """--no-promote --no-push: outcome "committed", exit 0, no tag, remote untouched."""
    remote_head = git(project.parent / "remote.git", "rev-parse", "main")
    code, data, err = ct(project, "--no-promote", "--no-push")
    assert code == 0, err
    assert data is not None and data["outcome"] == "committed"
    assert tags(project) == []
    assert git(project.parent / "remote.git", "rev-parse", "main") == remote_head


def test_failing_stage_restores_the_tree(project: Path) -> None:
    """New data the stage cannot read: exit 1 naming the stage; data and outputs back at HEAD."""
    head = set_refresh(project, "echo oops >> data.csv")
    model = (project / "models/model.txt").read_text()
    code, _, err = ct(project)
    assert code == 1
    assert "stage 'train' failed" in err
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "status", "--porcelain", "--untracked-files=no") == ""
    assert (project / "models/model.txt").read_text() == model


def test_change_outside_ct_commit_is_refused_and_restored(project: Path) -> None:
    """A refresh that edits a tracked file ct.commit does not list: exit 2 naming it, restored."""
    set_refresh(project, "python refresh.py good && echo '# edited' >> train.py")
    code, _, err = ct(project)
    assert code == 2
    assert "train.py" in err and "ct.commit" in err
    assert git(project, "status", "--porcelain", "--untracked-files=no") == ""


def test_table_without_json(project: Path) -> None:
    """Without --json: a row per step on stdout, the outcome on stderr."""
    set_refresh(project, "python refresh.py same")
    result = CliRunner().invoke(cli, ["ct", "-R", str(project)])
    assert result.exit_code == 0, result.stderr
    steps = [line.split()[0] for line in result.stdout.splitlines()[1:] if line.strip()]
    assert steps[-3:] == ["refresh", "repro", "commit"]
    assert "ct: nothing new" in result.stderr
