"""`ratchet metrics|params` against the real `dvc` on generated repositories: the same bytes.

DVC orders files by Python's string hashing (``set`` iteration), which changes from run to run;
rows within a file are sorted. We list files in the order DVC collects them (stage order). To
compare bytes, DVC's row blocks are put in our file order; every line is otherwise compared
byte for byte, column widths included.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from helpers import commit_all, dvc, gen, git
from mlratchet.cli.group import cli
from mlratchet.metrics.render import json_safe

DVC_YAML_1 = """\
stages:
  train:
    cmd: python -c "pass"
    params:
      - lr
      - model.depth
      - extra.yaml:
          - opt.*
          - seeds
      - whole.toml:
      - config.py:
    metrics:
      - metrics/train.json:
          cache: false
  evaluate:
    cmd: python -c "pass"
    wdir: sub
    params:
      - rate
    metrics:
      - eval.yaml:
          cache: false
      - scores:
          cache: false
metrics:
  - summary.toml
params:
  - top.json
"""

FILES_1 = {
    "params.yaml": (
        "lr: 0.1\nmodel:\n  depth: 3\n  kind: tree\nlayers: [1, 2]\nflag: on\n"
        "empty:\nnested:\n  a: {b: 1, c: [x, y]}\n"
    ),
    "extra.yaml": "opt:\n  adam: 0.9\n  sgd: 0.1\nseeds: [1, 2]\nignored: 5\n",
    "whole.toml": '[section]\nname = "a"\nvalue = 1.5\n',
    "top.json": '{"alpha": 1, "beta": {"gamma": [1, 2]}}',
    "sub/params.yaml": "rate: 0.5\nunused: 1\n",
    "metrics/train.json": json.dumps(
        {
            "acc": 0.912345678,
            "loss": 0.25,
            "count": 100,
            "ok": True,
            "name": "baseline",
            "per_class": {"a": {"f1": 0.5, "support": 10}, "b": {"f1": 0.75, "support": 20}},
            "curve": [0.1, 0.2],
            "nothing": None,
            "removed": 1.0,
            "big": 123456789.123456,
            "tiny": 0.000001234,
        }
    ),
    "sub/eval.yaml": "roc_auc: 0.8\nthresholds:\n  t1: 0.3\nstatus: good\nrate: .nan\n",
    "sub/scores/a.json": '{"score": 1}',
    "sub/scores/b.json": '{"score": 2, "extra": {"x": 1}}',
    "summary.toml": "[summary]\nepochs = 10\nbest = 0.75\n",
    "scalar.json": "0.5",
    "config.py": "BATCH = 32\nNAMES = ['a', 'b']\n\nclass Train:\n    lr = 0.1\n",
}

DVC_YAML_2 = DVC_YAML_1.replace(
    "metrics:\n  - summary.toml\n", "metrics:\n  - summary.toml\n  - scalar.json\n  - late.json\n"
)

FILES_2 = {
    "dvc.yaml": DVC_YAML_2,
    "params.yaml": (
        "lr: 0.05\nmodel:\n  depth: 4\n  kind: tree\nlayers: [1, 2, 3]\nflag: off\n"
        "empty: 1\nnested:\n  a: {b: 2, c: [x]}\nnew_key: hello\n"
    ),
    "extra.yaml": "opt:\n  adam: 0.95\n  sgd: 0.1\n  rms: 0.2\nseeds: [1, 2]\nignored: 6\n",
    "whole.toml": '[section]\nname = "b"\nvalue = 1.5\nadded = true\n',
    "top.json": '{"alpha": 2, "beta": {"gamma": [1, 2]}}',
    "metrics/train.json": json.dumps(
        {
            "acc": 0.95,
            "loss": "n/a",
            "count": 120,
            "ok": False,
            "name": "candidate",
            "per_class": {"a": {"f1": 0.55, "support": 10}, "c": {"f1": 0.1, "support": 3}},
            "curve": [0.3],
            "nothing": 1,
            "big": 123456789.9,
            "tiny": 0.000002,
            "added": 7,
        }
    ),
    "sub/eval.yaml": "roc_auc: 0.81\nthresholds:\n  t1: 0.3\n  t2: 0.7\nstatus: better\nrate: 1\n",
    "sub/scores/b.json": '{"score": 3, "extra": {"x": 1}}',
    "sub/scores/c.json": '{"score": 4}',
    "summary.toml": "[summary]\nepochs = 12\nbest = 0.75\n",
    "scalar.json": "0.625",
    "late.json": '{"x": {"y": 1.5}}',
    "config.py": "BATCH = 64\nNAMES = ['a']\n\nclass Train:\n    lr = 0.1\n    wd = 1e-4\n",
}


@pytest.fixture(scope="module")
def shapes_repo(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Path:
    """A repo whose two commits differ in every way a metrics or params file can."""
    root = tmp_path_factory.mktemp("oracle") / "repo"
    root.mkdir()
    git(root, "init", "-q")
    dvc(root, "init", "-q")
    gen(root, {"dvc.yaml": DVC_YAML_1, **FILES_1})
    gen(root, {"sub/dvc.yaml": "stages:\n  inner:\n    cmd: echo\n    metrics: [inner.json]\n"})
    gen(root, {"sub/inner.json": '{"depth": {"value": 1}}'})
    commit_all(root, "one")
    git(root, "tag", "v1")
    gen(root, FILES_2)
    (root / "sub/scores/a.json").unlink()
    gen(root, {"sub/inner.json": '{"depth": {"value": 2}}'})
    commit_all(root, "two")
    # The workspace differs from HEAD too.
    gen(root, {"metrics/train.json": json.dumps({"acc": 0.96, "count": 120, "new": 1})})
    gen(root, {"params.yaml": FILES_2["params.yaml"].replace("lr: 0.05", "lr: 0.01")})
    return root


def dvc_stdout(root: Path, *args: str) -> str:
    """Run the real dvc; its stdout (it must succeed)."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = dvc(root, *args, env=env)
    return proc.stdout


def ratchet(root: Path, *args: str, code: int = 0) -> str:
    """Run ratchet on ``root``; its stdout."""
    result = CliRunner().invoke(cli, [*args, "-R", str(root)])
    assert result.exit_code == code, (result.output, result.stderr)
    return result.stdout


def in_our_order(theirs: str, ours: str) -> str:
    """DVC's table with its row blocks in our file order (rows within a file untouched)."""
    lines = theirs.split("\n")
    md = lines[0].startswith("|")
    head_n = 2 if md else 1
    head, body = lines[:head_n], [line for line in lines[head_n:] if line]

    def path_of(line: str) -> str:
        return line.split("|")[1].strip() if md else line.split("  ", maxsplit=1)[0]

    order = list(dict.fromkeys(path_of(line) for line in ours.split("\n")[head_n:] if line))
    blocks: dict[str, list[str]] = {}
    for line in body:
        blocks.setdefault(path_of(line), []).append(line)
    assert sorted(blocks) == sorted(order), (blocks.keys(), order)
    rebuilt = head + [line for path in order for line in blocks[path]]
    tail = "\n\n" if theirs.endswith("\n\n") else "\n"
    return "\n".join(rebuilt) + tail


CASES = [
    ("metrics", "diff", "HEAD~1", "HEAD", "--md"),
    ("metrics", "diff", "HEAD~1", "HEAD", "--md", "--all"),
    ("metrics", "diff", "v1", "HEAD", "--all"),
    ("metrics", "diff", "HEAD~1", "HEAD", "--md", "--precision", "2"),
    ("metrics", "diff", "HEAD~1", "HEAD", "--md", "--precision", "0"),
    ("metrics", "diff", "HEAD~1", "HEAD", "--md", "--all", "--precision", "9"),
    ("metrics", "diff", "--md"),
    ("metrics", "diff", "HEAD~1", "--md"),
    ("metrics", "diff", "workspace", "v1", "--md"),
    ("metrics", "diff", "HEAD", "HEAD~1"),
    ("params", "diff", "HEAD~1", "HEAD", "--md"),
    ("params", "diff", "v1", "HEAD", "--md", "--all"),
    ("params", "diff", "--md"),
    ("params", "diff", "HEAD~1"),
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(c) for c in CASES])
def test_tables_are_dvcs_bytes(shapes_repo: Path, args: tuple[str, ...]) -> None:
    """`ratchet metrics|params diff` prints the table `dvc` prints, byte for byte."""
    ours = ratchet(shapes_repo, *args)
    theirs = dvc_stdout(shapes_repo, *args)
    assert ours.count("\n") > 3
    assert ours == in_our_order(theirs, ours)


@pytest.mark.parametrize(
    "args",
    [
        ("metrics", "diff", "HEAD~1", "HEAD", "--json", "--all"),
        ("metrics", "diff", "--json"),
        ("params", "diff", "HEAD~1", "HEAD", "--json", "--all"),
        ("params", "diff", "--json"),
    ],
)
def test_json_has_dvcs_shape_and_values(shapes_repo: Path, args: tuple[str, ...]) -> None:
    """--json is DVC's {path: {key: {old, new, diff}}}, NaN spelled "NaN" (strict JSON)."""
    ours = json.loads(ratchet(shapes_repo, *args))  # strict: would fail on a bare NaN
    theirs = json_safe(json.loads(dvc_stdout(shapes_repo, *args)))
    assert ours == theirs
    assert ours


@pytest.mark.parametrize("md", [True, False])
def test_metrics_show_is_dvcs_bytes(shapes_repo: Path, md: bool) -> None:
    """`ratchet metrics show` prints `dvc metrics show`'s table (the workspace)."""
    flags = ["--md"] if md else []
    ours = ratchet(shapes_repo, "metrics", "show", *flags)
    theirs = dvc_stdout(shapes_repo, "metrics", "show", *flags)
    assert ours == theirs


def test_metrics_show_json_has_dvcs_shape(shapes_repo: Path) -> None:
    """`metrics show --json` is DVC's {rev: {"data": {path: {"data": ...}}}}.

    DVC names the work tree "" when no revision is asked for ("workspace" with -a); we always
    name it "workspace" (documented in docs/metrics.md).
    """
    ours = json.loads(ratchet(shapes_repo, "metrics", "show", "--json"))
    theirs = json_safe(json.loads(dvc_stdout(shapes_repo, "metrics", "show", "--json")))
    assert ours == {"workspace": theirs[""]}
    head = json.loads(ratchet(shapes_repo, "metrics", "show", "--json", "--rev", "HEAD~1"))
    assert list(head) == ["HEAD~1"]
    assert head["HEAD~1"]["data"]["sub/scores/a.json"] == {"data": {"score": 1}}


@pytest.fixture(scope="module")
def cached_repo(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Path:
    """Metrics that DVC caches (cache: true, not in git), at two commits."""
    root = tmp_path_factory.mktemp("cached") / "repo"
    root.mkdir()
    git(root, "init", "-q")
    dvc(root, "init", "-q")
    stage = (
        "stages:\n  score:\n    cmd: python write.py\n    deps: [write.py, n.txt]\n"
        "    metrics: [out/score.json]\n"
    )
    script = (
        "import json, os\nn = int(open('n.txt').read())\nos.makedirs('out', exist_ok=True)\n"
        "json.dump({'score': n / 7, 'n': n}, open('out/score.json', 'w'))\n"
    )
    gen(root, {"dvc.yaml": stage, "write.py": script, "n.txt": "1"})
    dvc(root, "repro", "-q")
    commit_all(root, "one")
    gen(root, {"n.txt": "2"})
    dvc(root, "repro", "-q")
    commit_all(root, "two")
    return root


def test_cached_metrics_are_read_from_the_dvc_cache(cached_repo: Path) -> None:
    """A DVC-cached metrics file is read at each revision by its dvc.lock hash, as DVC does."""
    assert git(cached_repo, "ls-files", "out") == "out/.gitignore"  # not the metrics file
    args = ("metrics", "diff", "HEAD~1", "HEAD", "--md")
    ours = ratchet(cached_repo, *args)
    assert ours == dvc_stdout(cached_repo, *args)
    assert "0.14286" in ours
    assert "0.28571" in ours


@pytest.mark.parametrize(
    "args",
    [
        ("metrics", "show", "--md"),
        ("metrics", "show"),
        ("metrics", "diff", "--md"),
        ("metrics", "diff"),
        ("params", "diff", "--md", "--all"),
    ],
)
def test_nothing_to_show_is_dvcs_bytes(tmp_repo: Path, args: tuple[str, ...]) -> None:
    """No metrics or params at all: DVC's empty table (headers only with --md, nothing plain)."""
    assert ratchet(tmp_repo, *args) == dvc_stdout(tmp_repo, *args)


def test_dvc_project_in_a_subdirectory_of_the_git_repo(tmp_path: Path) -> None:
    """`dvc init --subdir`: paths are relative to the DVC root, read from git under it."""
    top = tmp_path / "mono"
    root = top / "ml"
    root.mkdir(parents=True)
    git(top, "init", "-q")
    dvc(root, "init", "-q", "--subdir")
    gen(root, {"dvc.yaml": DVC_YAML_1, **FILES_1})
    gen(top, {"other/dvc.yaml": "stages:\n  x:\n    cmd: echo\n    metrics: [m.json]\n"})
    commit_all(top, "one")
    gen(root, FILES_2)
    commit_all(top, "two")
    for args in (("metrics", "diff", "HEAD~1", "HEAD", "--md"), ("params", "diff", "HEAD~1")):
        ours = ratchet(root, *args)
        assert "sub/eval.yaml" in ours or "params.yaml" in ours
        assert ours == in_our_order(dvc_stdout(root, *args), ours)
