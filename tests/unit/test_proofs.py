"""Proofs by record: a recorded proof matches only the same claim, recomputed on every read."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from mlratchet.dvclock import Entry, StageLock
from mlratchet.reproduce.environment import Environment, cpu_signature
from mlratchet.reproduce.proofs import ProvenBy, index_of, proof

LOCK = StageLock(
    name="train",
    cmd="python train.py",
    deps=(
        Entry("train.py", "a" * 32, 10, None, "md5"),
        Entry("data", "b" * 32 + ".dir", 5, 2, "md5"),
    ),
    params={"params.yaml": {"train.seed": 7, "train.rate": 0.3, "train.cols": ["a", "b"]}},
    outs=(Entry("model.bin", "c" * 32, 3, None, "md5"),),
)
ENV = Environment(
    python="3.11.7", implementation="CPython", platform="Linux-x86_64", packages={"numpy": "2.1.3"}
)
CPU = "x86_64:0123456789abcdef"
A = ProvenBy("1" * 40, "2026-12-01T00:00:00Z")


def recorded() -> dict[str, Any]:
    """A proof as it reads back from a note (JSON)."""
    return dict(json.loads(json.dumps(proof(LOCK, ENV, CPU, A))))


def test_a_recorded_proof_proves_the_same_claim() -> None:
    """Same cmd, deps, params, environment, CPU and outputs: proven by the verify that ran it."""
    assert index_of([recorded()]).find(LOCK, ENV, CPU) == A


@pytest.mark.parametrize(
    "edit",
    [
        lambda p: p["env"]["packages"].update(numpy="2.1.4"),
        lambda p: p["env"].update(python="3.12.0"),
        lambda p: p["env"].update(platform="Darwin-arm64"),
        lambda p: p.update(cpu="x86_64:fedcba9876543210"),
        lambda p: p.update(cmd="python train.py --fast"),
        lambda p: p["deps"].update({"train.py": "d" * 32}),
        lambda p: p["params"]["params.yaml"].update({"train.seed": 8}),
        lambda p: p["outs"].update({"model.bin": "e" * 32}),
    ],
    ids=["package", "python", "platform", "cpu", "cmd", "dep", "param", "out"],
)
def test_any_changed_field_of_the_record_never_matches(edit: Any) -> None:
    """An edited field (the stored key left as it was) is a different claim: not proven."""
    changed = copy.deepcopy(recorded())
    edit(changed)
    assert index_of([changed]).find(LOCK, ENV, CPU) is None


def test_the_current_environment_must_match() -> None:
    """A proof made under other package versions does not prove the stage here."""
    other = Environment(**{**ENV, "packages": {"numpy": "1.26.4"}})
    assert index_of([recorded()]).find(LOCK, other, CPU) is None
    assert index_of([recorded()]).find(LOCK, ENV, cpu_signature() + "x") is None


def test_the_earliest_verify_that_ran_it_is_named() -> None:
    """Of several verifies proving the same claim, the first one to have run it."""
    later = dict(recorded(), ran={"rev": "3" * 40, "verified_at": "2026-12-05T00:00:00Z"})
    assert index_of([later, recorded(), {"not": "a proof"}, None]).find(LOCK, ENV, CPU) == A
