"""The model to serve, loaded only with proof: its bytes, its types, its registry state.

:func:`load` resolves the reference (``NAME#STAGE``, ``NAME@vX.Y.Z``, a git revision; by
default the artifact's last policy stage) with :func:`mlratchet.registry.deliver.verify`: the
registry's state must be consistent (a moved or future-dated stage tag is exit 3), the bytes
must hash to what ``dvc.lock`` (and the promotion's model card) records (exit 3). The bytes are
then loaded with :func:`mlratchet.modelio.loads` under the project's allow-list
(``models.trusted_types``; an untrusted type is exit 5) and seen through
:mod:`mlratchet.adapter`, the one place that defines a model's inputs and scores.

The **serving contract** says what a request must hold: the model's input columns, each with
the rules of a contract file (``--contract``, else the policy's
``registry.NAME.serving_contract`` at the served commit; restricted to those columns) or, for
a column it does not name, the type the column had in the rows the model was trained on
(``monitor.reference`` in ``dvc.lock`` at the served commit, when that file is in the DVC
cache). A column of unknown type is only required to be present.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from mlratchet.errors import BadInputError

if TYPE_CHECKING:
    from mlratchet.adapter import ModelView
    from mlratchet.contracts import Contract
    from mlratchet.registry.card import ModelCard
    from mlratchet.registry.deliver import Verified


class VersionInfo(TypedDict):
    """What ``GET /version`` answers (and ``ratchet serve --check --json`` prints)."""

    reference: str
    name: str
    version: str
    stage: str | None
    commit: str
    model_md5: str
    source: str
    kind: str
    inputs: list[str]
    contract: str
    card: ModelCard | None


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to serve, and the proof it was loaded with."""

    reference: str
    verified: Verified
    view: ModelView
    contract: Contract | None  # the typed inputs' rules; None: no input's type is known
    contract_source: str  # where the rules came from ("" if nowhere)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The columns a request must hold, in the model's order."""
        return self.view.inputs

    def info(self) -> VersionInfo:
        """The version served, as ``GET /version`` reports it."""
        found = self.verified
        return {
            "reference": self.reference,
            "name": found.artifact,
            "version": found.version,
            "stage": found.stage,
            "commit": found.commit,
            "model_md5": found.md5,
            "source": found.source,
            "kind": self.view.kind,
            "inputs": list(self.view.inputs),
            "contract": self.contract_source,
            "card": found.card,
        }


def default_reference(repo: Path | str) -> str:
    """``NAME#STAGE`` of the one artifact ``ratchet.yaml`` gives stages, at its last stage."""
    from mlratchet.dvcroot import find_root
    from mlratchet.policy import policy_at

    policy = policy_at(find_root(repo).path, None)[0]
    names = sorted(policy.registry)
    if len(names) != 1:
        raise BadInputError(
            f"ratchet.yaml gives registry stages to {len(names)} artifacts "
            f"({', '.join(names) or 'none'}); name the model to serve (NAME#STAGE)"
        )
    return f"{names[0]}#{policy.holder_stage(names[0])}"


def training_rows(root: Path, commit: str) -> tuple[Path, str] | None:
    """The training rows (``monitor.reference`` in ``dvc.lock`` at ``commit``) in the DVC
    cache, re-hashed, and that file's path; None when they are not to be had."""
    from mlratchet.dvclock import cache_path, load_lock, outputs
    from mlratchet.fsio import md5_file
    from mlratchet.policy import policy_at

    reference = policy_at(root, commit)[0].monitor.reference
    if reference is None:
        return None
    entry = outputs(load_lock(root, commit)).get(reference)
    if entry is None or entry.md5 is None or entry.is_dir:
        return None
    cached = cache_path(root, entry)
    if not cached.is_file() or md5_file(cached) != entry.md5:
        return None
    return cached, reference


def _training_types(root: Path, commit: str, inputs: tuple[str, ...]) -> tuple[dict[str, Any], str]:
    """The Arrow types the inputs had in the training rows at ``commit``
    (:func:`training_rows`); ({}, "") when they are not to be had."""
    import pyarrow.parquet as pq

    found = training_rows(root, commit)
    if found is None:
        return {}, ""
    cached, reference = found
    schema = pq.read_schema(cached)
    types = {name: schema.field(name).type for name in inputs if name in schema.names}
    return types, f"{reference} at {commit[:7]} (types)"


def _policy_contract(root: Path, commit: str, artifact: str) -> tuple[Contract | None, str]:
    """The policy's ``serving_contract`` for ``artifact``, read at ``commit`` (or None)."""
    from mlratchet.contracts import parse_contract
    from mlratchet.gitio import read_blob
    from mlratchet.policy import policy_at

    declared = policy_at(root, commit)[0].registry.get(artifact)
    path = declared.serving_contract if declared is not None else None
    if path is None:
        return None, ""
    source = f"{path} at {commit[:7]}"
    blob = read_blob(root, commit, path)
    if blob is None:
        raise BadInputError(
            f"ratchet.yaml at {commit[:7]}: registry.{artifact}.serving_contract names {path}, "
            "which that commit does not hold; commit the contract file"
        )
    return parse_contract(blob.decode("utf-8", "replace"), source), source


def serving_contract(
    root: Path,
    commit: str,
    inputs: tuple[str, ...],
    contract_path: Path | None,
    artifact: str | None = None,
) -> tuple[Contract | None, str]:
    """The rules a request's rows must follow (see the module's docstring)."""
    from mlratchet.contracts import Column, Contract, load_contract
    from mlratchet.contracts.infer import contract_type
    from mlratchet.contracts.spec import Rows

    columns: dict[str, Column] = {}
    sources = []
    declared, source = (
        (load_contract(contract_path), str(contract_path))
        if contract_path is not None
        else _policy_contract(root, commit, artifact)
        if artifact is not None
        else (None, "")
    )
    if declared is not None:
        columns = {n: c for n, c in declared.columns.items() if n in inputs}
        sources.append(source)
    untyped = tuple(n for n in inputs if n not in columns)
    if untyped:
        types, source = _training_types(root, commit, untyped)
        for name, arrow_type in types.items():
            kind = contract_type(name, arrow_type, source)
            columns[name] = Column(type=kind, nullable=True)
        if types:
            sources.append(source)
    if not columns:
        return None, ""
    ordered = {n: columns[n] for n in inputs if n in columns}
    return Contract(1, ordered, Rows(min=1), extra_columns=True), " + ".join(sources)


def load(
    repo: Path | str,
    reference: str | None = None,
    *,
    contract_path: Path | None = None,
    remote: str | None = None,
) -> LoadedModel:
    """Verify, load and see the model ``reference`` names (see the module's docstring)."""
    from mlratchet import modelio
    from mlratchet.adapter import view
    from mlratchet.dvcroot import find_root
    from mlratchet.policy import policy_at
    from mlratchet.registry.deliver import verify

    root = find_root(repo).path
    text = reference or default_reference(root)
    found = verify(root, text, remote=remote, revisions=True)
    models = policy_at(root, None)[0].models
    source = f"{found.path} of {text} ({found.version})"
    model = modelio.loads(found.cached.read_bytes(), source=source, trusted=models.trusted_types)
    seen = view(model, adapter=models.adapter, source=source)
    contract, contract_source = serving_contract(
        root, found.commit, seen.inputs, contract_path, found.artifact
    )
    return LoadedModel(text, found, seen, contract, contract_source)
