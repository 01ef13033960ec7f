"""Proofs by record: a stage that a ``ratchet verify`` re-ran need not be re-run to be proven again.

When verify re-runs a stage and its outputs come out identical to ``dvc.lock``, it has proven
one fact: *this command, given dependencies of these hashes and these params, in this
environment, makes outputs of these hashes*. The verify note keeps that fact per stage (key
``proofs``): the lock entry's ``cmd``, ``deps`` (path -> md5), ``params`` and ``outs`` (path ->
md5), the stage's environment (:func:`mlratchet.reproduce.environment.stage_environment`:
Python, implementation, platform, package versions) and the CPU signature
(:func:`mlratchet.reproduce.environment.cpu_signature`), plus ``ran``: the verify that actually
re-ran it (commit and time).

A later verify, of any commit, proves a stage by record when some note holds a proof with the
same command, dependency hashes, params, environment and CPU (the *key*, a sha256 of those,
recomputed from the recorded fields on every read, so an edited field never matches), and the
same output hashes as the commit's lock. Its outputs are then fetched and re-hashed instead of
re-made. A proof is never reused across a changed environment: a different Python, package
version, platform or CPU is a different key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from mlratchet.dvclock import StageLock
from mlratchet.reproduce.environment import Environment


class ProvenByJson(TypedDict):
    """The verify that re-ran a stage: the commit verified and when."""

    rev: str
    verified_at: str


class ProofJson(TypedDict):
    """One stage's proof, as the verify note keeps it (key ``proofs``, by stage name)."""

    key: str
    cmd: str
    deps: dict[str, str | None]
    params: dict[str, dict[str, Any]]
    outs: dict[str, str | None]
    env: Environment
    cpu: str
    ran: ProvenByJson


@dataclass(frozen=True)
class ProvenBy:
    """The earlier verify whose re-run proves a stage: the commit it verified, and when."""

    rev: str
    verified_at: str

    def to_json(self) -> ProvenByJson:
        """The JSON shape."""
        return ProvenByJson(rev=self.rev, verified_at=self.verified_at)


def _plain(value: Any) -> Any:
    """``value`` as JSON reads it back (so a key computed now equals one computed from a note)."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _key(cmd: Any, deps: Any, params: Any, env: Any, cpu: Any) -> str:
    claim = {"cmd": cmd, "deps": deps, "params": params, "env": env, "cpu": cpu}
    text = json.dumps(claim, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fields(lock: StageLock, env: Environment, cpu: str) -> dict[str, Any]:
    data: dict[str, Any] = _plain(
        {
            "cmd": lock.cmd,
            "deps": {entry.path: entry.md5 for entry in lock.deps},
            "params": lock.params,
            "outs": {entry.path: entry.md5 for entry in lock.outs},
            "env": env,
            "cpu": cpu,
        }
    )
    return data


def proof(lock: StageLock, env: Environment, cpu: str, ran: ProvenBy) -> ProofJson:
    """The proof that a verify which re-ran (or proved) stage ``lock`` records."""
    data = _fields(lock, env, cpu)
    return ProofJson(
        key=_key(data["cmd"], data["deps"], data["params"], data["env"], data["cpu"]),
        cmd=data["cmd"],
        deps=data["deps"],
        params=data["params"],
        outs=data["outs"],
        env=data["env"],
        cpu=data["cpu"],
        ran=ran.to_json(),
    )


@dataclass(frozen=True)
class ProofIndex:
    """Every proof recorded in the notes: key -> (output hashes, the verify that ran it)."""

    by_key: Mapping[str, tuple[tuple[Mapping[str, Any], ProvenBy], ...]] = field(
        default_factory=dict
    )

    def __len__(self) -> int:
        return sum(len(found) for found in self.by_key.values())

    def find(self, lock: StageLock, env: Environment, cpu: str) -> ProvenBy | None:
        """The earliest verify that proves stage ``lock`` in this environment, or None."""
        data = _fields(lock, env, cpu)
        key = _key(data["cmd"], data["deps"], data["params"], data["env"], data["cpu"])
        matches = [ran for outs, ran in self.by_key.get(key, ()) if outs == data["outs"]]
        return min(matches, key=lambda ran: (ran.verified_at, ran.rev)) if matches else None


def _read(stage_proof: Any) -> tuple[str, Mapping[str, Any], ProvenBy] | None:
    """(key recomputed from the recorded fields, outs, ran) of one recorded proof; None if it
    is not a proof (a hand edit, another version's shape)."""
    if not isinstance(stage_proof, dict):
        return None
    try:
        ran = stage_proof["ran"]
        outs = stage_proof["outs"]
        key = _key(
            stage_proof["cmd"],
            stage_proof["deps"],
            stage_proof["params"],
            stage_proof["env"],
            stage_proof["cpu"],
        )
        by = ProvenBy(str(ran["rev"]), str(ran["verified_at"]))
    except (KeyError, TypeError, ValueError):
        return None
    if not isinstance(outs, dict) or not outs or any(v is None for v in outs.values()):
        return None
    return key, outs, by


def index_of(recorded: Iterable[Any]) -> ProofIndex:
    """An index of recorded proofs (anything that is not a proof is left out)."""
    found: dict[str, list[tuple[Mapping[str, Any], ProvenBy]]] = {}
    for stage_proof in recorded:
        read = _read(stage_proof)
        if read is not None:
            key, outs, by = read
            found.setdefault(key, []).append((outs, by))
    return ProofIndex({key: tuple(items) for key, items in found.items()})


def load_index(git_root: Path | str, note_key: str = "verify") -> ProofIndex:
    """Every proof in the verify notes of the repository (one ``git notes list``, one batch)."""
    from mlratchet import notes

    recorded = []
    for value in notes.read_key(git_root, note_key).values():
        proofs = value.get("proofs") if isinstance(value, dict) else None
        if isinstance(proofs, dict):
            recorded += list(proofs.values())
    return index_of(recorded)
