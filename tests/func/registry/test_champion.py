"""Champion/challenger on the second, non-flights project: the holder of a stage is fetched and
scored with the candidate, by the project's own evaluation, on the same rows.

The wine project (tests/second_project.py) gets an evaluation hook of its own (``wine_eval.py``,
``registry.wine-model.evaluate``) and a staging gate on ``test.log_loss``. v0.0.1 (30 trees)
holds staging; each test trains a candidate and promotes it with the real CLI.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import second_project as sp
from helpers import commit_all, gen, git
from second_project import Project, ratchet

pytestmark = pytest.mark.slow

NAME = sp.CLASSIFIER.artifact

WINE_EVAL = '''\
"""The wine project's own evaluation: the evaluate stage's metrics for any model."""

from sklearn.metrics import accuracy_score, log_loss

from mlratchet import read_table


def evaluate(model, files):
    frame = read_table(files["data/test.parquet"])
    features, target = frame.drop(columns="target"), frame["target"]
    proba = model.predict_proba(features)
    predicted = model.classes_[proba.argmax(axis=1)]
    return {
        "test.accuracy": round(float(accuracy_score(target, predicted)), 6),
        "test.log_loss": round(float(log_loss(target, proba, labels=model.classes_)), 6),
    }
'''


def policy(on_incomparable: str = "fail") -> str:
    """The wine policy with champion/challenger on staging."""
    return f"""\
{sp.CLASSIFIER.rules}registry:
  {NAME}:
    contract: eval/validation.json
    evaluation_data: [data/test.parquet]
    evaluate: "wine_eval:evaluate"
    on_incomparable: {on_incomparable}
    stages:
      - name: staging
        verified: false
        contract: false
        compare: {{test.log_loss: {{}}}}
      - name: prod
        verified: true
monitor:
  reference: data/train.parquet
"""


@pytest.fixture(scope="session")
def champion_built(tmp_path_factory: pytest.TempPathFactory, hermetic_env: None) -> Project:
    """The wine project with v0.0.1 (30 trees) in staging (built once per session)."""
    project = sp.build(tmp_path_factory.mktemp("champion") / "repo", sp.CLASSIFIER)
    gen(project.dvc_root, {"wine_eval.py": WINE_EVAL, "ratchet.yaml": policy()})
    sp.reproduce(project, "v1: 30 trees")
    ratchet(project.dvc_root, "promote", NAME, "--to", "staging")
    return project


@pytest.fixture
def wine(champion_built: Project, tmp_path: Path) -> Project:
    """A fresh copy of that project."""
    return sp.copy(champion_built, tmp_path)


def candidate(project: Project, n_estimators: int, *, flatter: bool = False) -> str:
    """Train a candidate with ``n_estimators`` trees, push and commit it; return the commit.

    ``flatter``: its evaluate stage records a perfect log loss (its own numbers look better).
    """
    root = project.dvc_root
    (root / "params.yaml").write_text(sp.params_yaml(n_estimators), encoding="utf-8")
    if flatter:
        script = sp.evaluate_script(sp.CLASSIFIER).replace(
            '    write_json("eval/metrics.json", metrics)',
            '    metrics["test"]["log_loss"] = 0.0\n    write_json("eval/metrics.json", metrics)',
        )
        gen(root, {"stages/evaluate.py": script})
    return sp.reproduce(project, f"candidate: {n_estimators} trees")


def hook() -> ModuleType:
    """The project's evaluation module, imported from its source text."""
    spec = importlib.util.spec_from_loader("wine_eval_test", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(compile(WINE_EVAL, "wine_eval.py", "exec"), module.__dict__)  # noqa: S102 - our own text
    return module


def lock_md5(project: Project, rev: str, path: str) -> str:
    """The md5 dvc.lock records for ``path`` at ``rev``."""
    from mlratchet.dvclock import load_lock, outputs

    md5 = outputs(load_lock(project.dvc_root, rev))[path].md5
    assert md5 is not None
    return md5


def model_at(project: Project, rev: str) -> Any:
    """The model file of ``rev``, loaded from the DVC cache."""
    from mlratchet import modelio
    from mlratchet.dvclock import cache_path, load_lock, outputs

    entry = outputs(load_lock(project.dvc_root, rev))["models/model.skops"]
    return modelio.loads(cache_path(project.dvc_root, entry).read_bytes())


def staging_rows(out: str) -> dict[str, dict[str, str]]:
    """The gate rows of a ``promote --json`` output by gate name."""
    return {row["gate"]: row for row in json.loads(out)["gates"]}


def test_champion_and_challenger_are_scored_on_identical_rows(wine: Project) -> None:
    """The card records the rows' md5 and both models' scores on them: the holder's equal its
    evaluation on the candidate's rows, the candidate's equal what its own stage recorded."""
    holder = git(wine.git_root, "rev-parse", f"{NAME}@v0.0.1^{{commit}}")
    head = candidate(wine, 60)
    out = ratchet(wine.dvc_root, "promote", NAME, "--to", "staging", "--dry-run", "--json")
    card = json.loads(out.stdout)["card"]
    comparison = card["comparison"]
    test_md5 = lock_md5(wine, head, "data/test.parquet")
    expected = hashlib.md5(f"{test_md5}  data/test.parquet\n".encode()).hexdigest()  # noqa: S324
    assert comparison["rows_md5"] == expected
    assert comparison["data"] == {"data/test.parquet": test_md5}
    assert comparison["champion"]["version"] == "v0.0.1"
    assert comparison["champion"]["commit"] == holder
    assert comparison["champion"]["model_md5"] == lock_md5(wine, holder, "models/model.skops")
    assert comparison["challenger"]["commit"] == head
    files = {"data/test.parquet": wine.dvc_root / "data/test.parquet"}
    assert comparison["champion"]["scores"] == hook().evaluate(model_at(wine, holder), files)
    recorded = json.loads((wine.dvc_root / "eval/metrics.json").read_text())["test"]
    challenger = comparison["challenger"]["scores"]
    assert challenger == {k: recorded[k.removeprefix("test.")] for k in challenger}
    row = staging_rows(out.stdout)["test.log_loss vs staging"]
    assert row["actual"].startswith(f"same rows {expected[:8]}: ")


def test_a_worse_challenger_is_refused_though_its_own_numbers_look_better(
    wine: Project,
) -> None:
    """A candidate whose recorded log loss is perfect, but which scores worse than the holder
    on the same rows, is refused (exit 1): the gate judged the scores, not the records."""
    holder = git(wine.git_root, "rev-parse", f"{NAME}@v0.0.1^{{commit}}")
    candidate(wine, 1, flatter=True)
    recorded_new = json.loads((wine.dvc_root / "eval/metrics.json").read_text())["test"]
    old_text = git(wine.git_root, "show", f"{holder}:eval/metrics.json")
    assert recorded_new["log_loss"] < json.loads(old_text)["test"]["log_loss"]
    out = ratchet(wine.dvc_root, "promote", NAME, "--to", "staging", "--json", expect=1)
    result = json.loads(out.stdout)
    assert result["outcome"] == "refused"
    assert result["card"] is None  # refused: no tag, no card; the comparison is still given
    scores = result["comparison"]
    assert (
        scores["champion"]["scores"]["test.log_loss"]
        < scores["challenger"]["scores"]["test.log_loss"]
    )
    row = staging_rows(out.stdout)["test.log_loss vs staging"]
    assert row["result"] == "fail"
    assert "same rows" in row["actual"]
    assert f"{NAME}#staging#2" not in git(wine.git_root, "tag").split()


def _remove_everywhere(project: Project, md5: str) -> None:
    """Remove the object ``md5`` from the DVC cache and from the remote."""
    gone = 0
    for top in (project.dvc_root / ".dvc" / "cache", project.remote):
        for path in top.rglob(md5[2:]):
            if path.parent.name == md5[:2]:
                path.unlink()
                gone += 1
    assert gone == 2


def test_a_holder_that_cannot_be_fetched_fails_closed_unless_the_policy_lets_it(
    wine: Project,
) -> None:
    """The holder's model missing from cache and remote: not comparable, the gate fails (exit
    1); with ``on_incomparable: pass`` it is skipped, saying so, and the promotion goes ahead."""
    holder = git(wine.git_root, "rev-parse", f"{NAME}@v0.0.1^{{commit}}")
    candidate(wine, 60)
    _remove_everywhere(wine, lock_md5(wine, holder, "models/model.skops"))
    out = ratchet(wine.dvc_root, "promote", NAME, "--to", "staging", "--json", expect=1)
    row = staging_rows(out.stdout)["vs staging"]
    assert row["result"] == "fail"
    assert row["actual"].startswith("not comparable: v0.0.1: cannot fetch or load its model")
    gen(wine.dvc_root, {"ratchet.yaml": policy("pass")})
    commit_all(wine.git_root, "policy: on_incomparable: pass")
    out = ratchet(wine.dvc_root, "promote", NAME, "--to", "staging", "--json")
    result = json.loads(out.stdout)
    assert result["outcome"] == "promoted"
    row = staging_rows(out.stdout)["vs staging"]
    assert row["result"] == "skip"
    assert "on_incomparable: pass" in row["actual"]
    assert result["card"]["comparison"]["champion"]["scores"] is None


def test_a_holder_the_evaluation_cannot_score_is_not_comparable(wine: Project) -> None:
    """The project's evaluation failing on the holder's model (an old model the new code cannot
    read) is "not comparable", with the reason, and fails closed."""
    failing = WINE_EVAL.replace(
        "    frame = read_table",
        '    if model.max_iter == 30:\n        raise ValueError("an old model")\n'
        "    frame = read_table",
    )
    gen(wine.dvc_root, {"wine_eval.py": failing})
    candidate(wine, 60)
    out = ratchet(wine.dvc_root, "promote", NAME, "--to", "staging", "--json", expect=1)
    row = staging_rows(out.stdout)["vs staging"]
    assert row["result"] == "fail"
    assert row["actual"] == "not comparable: v0.0.1: wine_eval:evaluate failed on it: an old model"
