"""Fault cases of metrics and params reading: symlinks, missing files, git edge cases, secrets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from helpers import commit_all, dvc, gen, git
from mlratchet.cli.group import cli

STAGE = (
    "stages:\n"
    "  train:\n"
    "    cmd: echo\n"
    "    params: [lr]\n"
    "    metrics:\n"
    "      - metrics.json:\n"
    "          cache: false\n"
)


def invoke(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "-R", str(repo)])


@pytest.fixture
def repo(tmp_repo: Path) -> Path:
    """A committed stage with a git-tracked metrics file and params."""
    gen(
        tmp_repo,
        {"dvc.yaml": STAGE, "params.yaml": "lr: 0.1\n", "metrics.json": '{"auc": 0.8}'},
    )
    commit_all(tmp_repo, "baseline")
    return tmp_repo


# -- 1. symlinks ---------------------------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file outside the project holding something that must not be printed."""
    secret = tmp_path / "outside" / "secret.json"
    secret.parent.mkdir()
    secret.write_text('{"stolen": 42}', encoding="utf-8")
    return secret


def test_workspace_symlink_out_of_the_project_is_refused(repo: Path, outside: Path) -> None:
    """A metrics file that is a symlink to a file outside the project: exit 5, not printed."""
    (repo / "metrics.json").unlink()
    (repo / "metrics.json").symlink_to(outside)
    result = invoke(repo, "metrics", "show", "--json")
    assert result.exit_code == 5, result.output
    assert "stolen" not in result.output
    assert result.stderr.strip() == (
        f"error: metrics.json at workspace is a symlink to {outside.resolve()}, outside the "
        "project; refusing to read it (commit the file itself, or point the link inside the "
        "repository)"
    )


def test_committed_symlink_out_of_the_project_is_refused(repo: Path, outside: Path) -> None:
    """At a revision, a blob of mode 120000 leading out of the project is refused (exit 5)."""
    (repo / "metrics.json").unlink()
    (repo / "metrics.json").symlink_to(outside)
    head = commit_all(repo, "link out")[:7]
    for args, where in (
        (("metrics", "show", "--rev", "HEAD"), f"HEAD ({head})"),
        (("metrics", "history"), head),
    ):
        result = invoke(repo, *args)
        assert result.exit_code == 5, (args, result.output)
        assert "stolen" not in result.output
        assert f"metrics.json at {where} is a symlink to {outside}, outside" in result.stderr


def test_params_symlink_out_of_the_project_is_refused(repo: Path, outside: Path) -> None:
    """A params file linking out of the project is refused too: one reader for every kind."""
    target = outside.with_name("params.yaml")
    target.write_text("lr: 0.5\npassword: hunter2\n", encoding="utf-8")
    (repo / "params.yaml").unlink()
    (repo / "params.yaml").symlink_to(target)
    result = invoke(repo, "params", "diff", "HEAD")
    assert result.exit_code == 5, result.output
    assert "hunter2" not in result.output
    assert "params.yaml at workspace is a symlink to" in result.stderr


def test_report_plots_symlink_out_of_the_project_is_refused(repo: Path, outside: Path) -> None:
    """The report reads a DVC plot's data through the same reader: a plot file that links
    out of the project is exit 5 and its bytes are not rendered."""
    (repo / "dvc.yaml").write_text(
        (repo / "dvc.yaml").read_text() + "plots:\n  - plot.json: {x: step, y: auc}\n",
        encoding="utf-8",
    )
    (repo / "plot.json").symlink_to(outside)
    result = invoke(repo, "report", "--base", "HEAD")
    assert result.exit_code == 5, result.output
    assert "stolen" not in result.output and "plot.json" in result.stderr


def test_committed_symlink_inside_the_project_is_followed(repo: Path) -> None:
    """A committed relative symlink to a file in the repository reads that file's metrics."""
    gen(repo, {"real/metrics.json": '{"auc": 0.9}'})
    (repo / "metrics.json").unlink()
    (repo / "metrics.json").symlink_to("real/metrics.json")
    commit_all(repo, "link in")
    for rev in ("HEAD", "workspace"):
        result = invoke(repo, "metrics", "show", "--json", "--rev", rev)
        assert result.exit_code == 0, result.output
        shown = json.loads(result.stdout)[rev]["data"]["metrics.json"]["data"]
        assert shown == {"auc": 0.9}


def test_committed_relative_symlink_escaping_is_refused(repo: Path) -> None:
    """A committed link whose relative target climbs out of the project is refused at HEAD."""
    (repo / "metrics.json").unlink()
    (repo / "metrics.json").symlink_to("../../etc/passwd")
    commit_all(repo, "link up")
    result = invoke(repo, "metrics", "show", "--rev", "HEAD")
    assert result.exit_code == 5, result.output
    assert "is a symlink to ../../etc/passwd" in result.stderr


# -- 2. missing files and cache misses ----------------------------------------------------------

LOCK = (
    "schema: '2.0'\nstages:\n  train:\n    cmd: echo\n    outs:\n    - path: metrics.json\n"
    "      hash: md5\n      md5: 0123456789abcdef0123456789abcdef\n      size: 2\n"
)


def test_uncached_metrics_missing_from_work_tree_says_repro(repo: Path) -> None:
    """A `cache: false` metrics file gone from the work tree: missing, git-tracked, repro it."""
    gen(repo, {"dvc.lock": LOCK})
    commit_all(repo, "lock")
    (repo / "metrics.json").unlink()
    result = invoke(repo, "metrics", "show")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        "error: metrics.json at workspace: no such file; it is missing from the work tree, and "
        "it is git-tracked (`cache: false`), not DVC-cached, so `dvc pull` cannot bring it; run "
        "`ratchet repro` (or `git checkout -- metrics.json`)"
    )


DIR_STAGE = (
    "stages:\n"
    "  evaluate:\n"
    "    cmd: python write.py\n"
    "    deps: [write.py]\n"
    "    outs: [eval]\n"
    "metrics: [eval/metrics.json]\n"
)
WRITE = (
    "import os\nos.makedirs('eval', exist_ok=True)\nopen('eval/metrics.json', 'w').write('{}')\n"
)


@pytest.fixture
def dir_repo(tmp_repo: Path) -> tuple[Path, str]:
    """A metrics file inside a DVC-cached directory output, committed, then the cache emptied."""
    gen(tmp_repo, {"dvc.yaml": DIR_STAGE, "write.py": WRITE})
    dvc(tmp_repo, "repro", "-q")
    head = commit_all(tmp_repo, "eval")
    shutil.rmtree(tmp_repo / ".dvc" / "cache")
    shutil.rmtree(tmp_repo / "eval")
    return tmp_repo, head[:7]


def test_cache_miss_names_the_file_and_its_directory_output(dir_repo: tuple[Path, str]) -> None:
    """A cache miss of a file in a directory output names the file, then the directory."""
    repo, _head = dir_repo
    result = invoke(repo, "metrics", "show")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        "error: eval/metrics.json at workspace is in the DVC-cached directory output eval, "
        "which is not in the local cache; run `dvc pull`"
    )


def test_cache_miss_at_a_revision_says_how_to_fetch_that_revision(
    dir_repo: tuple[Path, str],
) -> None:
    """At a commit, the fix fetches that commit's data (`dvc pull` there), not the work tree's."""
    repo, head = dir_repo
    result = invoke(repo, "metrics", "show", "--rev", "HEAD")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().endswith(
        f"not in the local cache; run `dvc pull` after `git checkout {head}`, "
        "or `dvc fetch --all-commits`"
    )


# -- 3. an unreachable remote -------------------------------------------------------------------


def test_verify_with_unreachable_remote_names_the_remote(tmp_repo: Path, tmp_path: Path) -> None:
    """An input in no cache, the remote unreachable: the remote (name, URL) is named, not
    "not on the remote"."""
    store = tmp_path / "unmounted" / "store"
    gen(
        tmp_repo,
        {
            "data.txt": "hello\n",
            "count.py": "open('n.txt', 'w').write(str(len(open('data.txt').read())))\n",
            "dvc.yaml": (
                "stages:\n  count:\n    cmd: python count.py\n    deps: [count.py, data.txt]\n"
                "    outs: [n.txt]\n"
            ),
        },
    )
    dvc(tmp_repo, "add", "-q", "data.txt")
    dvc(tmp_repo, "repro", "-q")
    dvc(tmp_repo, "remote", "add", "-d", "store", str(store))
    commit_all(tmp_repo, "pipeline")
    shutil.rmtree(tmp_repo / ".dvc" / "cache")
    result = invoke(tmp_repo, "verify")
    assert result.exit_code == 2, result.output
    assert (
        f"the DVC remote 'store' ({store}) could not be reached: no such directory" in result.stderr
    )
    assert "nor on the remote" not in result.stderr


# -- 4. outside git, shallow clones -------------------------------------------------------------

NOT_A_REPO = "(run inside a git repository, or git init)"


@pytest.mark.parametrize(
    "args", [("metrics", "diff"), ("params", "diff"), ("metrics", "show"), ("metrics", "history")]
)
def test_outside_git_says_not_a_git_repository(tmp_path: Path, args: tuple[str, ...]) -> None:
    """Outside any git repository: exit 2 `not a git repository: PATH`, not `unknown revision`."""
    result = invoke(tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        f"error: not a git repository: {tmp_path.resolve()} {NOT_A_REPO}"
    )


@pytest.fixture
def shallow(repo: Path, tmp_path: Path) -> Path:
    """A depth-1 clone of a repository with two commits."""
    gen(repo, {"metrics.json": '{"auc": 0.9}'})
    commit_all(repo, "better")
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", repo.as_uri(), str(clone))
    return clone


def test_shallow_clone_missing_revision_says_unshallow(shallow: Path) -> None:
    """A revision beyond a shallow clone's history: exit 2, the clone is shallow, unshallow."""
    result = invoke(shallow, "metrics", "diff", "HEAD~1")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        "error: unknown revision 'HEAD~1': the clone is shallow; run `git fetch --unshallow` "
        "(or check out with fetch-depth: 0)"
    )


def test_shallow_history_says_where_it_is_cut(shallow: Path) -> None:
    """`metrics history` in a shallow clone says on stderr that the history stops there."""
    head = git(shallow, "rev-parse", "--short=7", "HEAD")
    result = invoke(shallow, "metrics", "history")
    assert result.exit_code == 0, result.output
    assert f"history stops at {head}: the clone is shallow" in result.stderr
    assert head in result.stdout


# -- 5. secrets in params -------------------------------------------------------------------------


@pytest.fixture
def secret_repo(repo: Path) -> Path:
    """Params with a password, a token, a key and a masked-by-policy host, changed in the work
    tree."""
    gen(
        repo,
        {
            "params.yaml": "lr: 0.1\ndb:\n  password: hunter2\n  host: db.internal\n"
            "api_token: t0k\nkey: 1234\n",
            "ratchet.yaml": "params:\n  mask: ['db.host']\n",
        },
    )
    commit_all(repo, "secrets")
    gen(
        repo,
        {
            "params.yaml": "lr: 0.2\ndb:\n  password: swordfish\n  host: db2.internal\n"
            "api_token: t1k\nkey: 5678\n"
        },
    )
    return repo


LEAKS = ("hunter2", "swordfish", "t0k", "t1k", "1234", "5678", "db.internal", "db2.internal")


@pytest.mark.parametrize("fmt", [(), ("--md",), ("--json",)])
def test_params_diff_masks_secrets(secret_repo: Path, fmt: tuple[str, ...]) -> None:
    """`params diff` (table, --md, --json) prints `***` for secret-looking and masked keys."""
    result = invoke(secret_repo, "params", "diff", *fmt)
    assert result.exit_code == 0, result.output
    assert not [leak for leak in LEAKS if leak in result.stdout], result.stdout
    assert "***" in result.stdout
    assert "0.2" in result.stdout  # an ordinary param is shown
    if fmt == ("--json",):
        changes = json.loads(result.stdout)["params.yaml"]
        assert changes["db.password"] == {"old": "***", "new": "***"}
        assert changes["key"] == {"old": "***", "new": "***"}  # no numeric diff either


def test_report_params_section_masks_secrets(secret_repo: Path) -> None:
    """The report's params section (Markdown and JSON) masks the same keys."""
    for fmt in ((), ("--json",)):
        result = invoke(secret_repo, "report", "--base", "HEAD", *fmt)
        assert result.exit_code in (0, 1), result.output
        assert not [leak for leak in LEAKS if leak in result.stdout], result.stdout
        assert "***" in result.stdout


# -- 6. a report where no check ran -------------------------------------------------------------


def test_report_without_checks_claims_no_pass(repo: Path) -> None:
    """No check ran: the report says nothing was judged (clean Markdown) and its JSON ok is null."""
    markdown = invoke(repo, "report", "--base", "HEAD")
    assert markdown.exit_code == 0, markdown.output
    assert "No check ran: nothing was judged." in markdown.stdout
    assert ".**." not in markdown.stdout
    assert "not a pass" in markdown.stderr
    data = json.loads(invoke(repo, "report", "--base", "HEAD", "--json").stdout)
    assert data["ok"] is None
    assert {c["state"] for c in data["checks"]} == {"not run"}
