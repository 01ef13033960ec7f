"""The model being monitored, and the data it was trained on, read at its commit.

``--model TEXT`` is resolved by :func:`mlratchet.revs.resolve` (a git revision, ``workspace``,
and the registry's ``NAME#STAGE`` / ``NAME@vX.Y.Z`` once the registry resolves them there). At
that commit, ``dvc.lock`` records the hash of the model file and of the training data
(``ratchet.monitor.reference`` and ``.training_features``); their bytes come from the local DVC
cache by that hash (the work tree's copies for ``workspace``), and each is re-hashed against the
record before use (a mismatch is exit 3). Nothing is checked out.

Any scikit-learn estimator or ``Pipeline`` (or another framework's model through the policy's
adapter) is seen through :mod:`mlratchet.adapter`: its inputs, the features its own transform
steps make (the one code path training used), its scores. Without recorded training features
(``monitor.training_features``), they are the reference rows through those same steps.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlratchet.errors import BadInputError, IntegrityError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from mlratchet.adapter import ModelView
    from mlratchet.dvclock import Entry
    from mlratchet.policy import ModelsPolicy, MonitorPolicy


@dataclass(frozen=True)
class ModelContext:
    """A model and its training data, as recorded at one revision."""

    text: str  # what the user typed
    sha: str | None  # None: the work tree
    artifact: str | None
    path: str
    model: Any
    view: ModelView  # the model through the adapter protocol
    reference_path: str
    reference: pa.Table  # the rows it was trained on
    training_features_path: str | None  # None: not recorded, computed from the reference
    training_features: pd.DataFrame  # their features as training computed them

    @property
    def label(self) -> str:
        """``TEXT (abc1234)`` for reports."""
        where = "workspace" if self.sha is None else self.sha[:7]
        return self.text if self.text == where else f"{self.text} ({where})"


def _artifact_name(text: str) -> str | None:
    """The registry artifact a model reference names (``NAME#STAGE``, ``NAME@vX.Y.Z``)."""
    for sep in ("#", "@v"):
        if sep in text and not text.startswith(sep):
            return text.split(sep, 1)[0]
    return None


def _artifact_path(repo: Path, sha: str | None, name: str | None) -> str:
    """The path of artifact ``name`` (or of the only model artifact) in dvc.yaml."""
    from mlratchet.yamlio import parse_yaml

    if sha is None:
        path = repo / "dvc.yaml"
        text = path.read_text(encoding="utf-8") if path.is_file() else None
    else:
        from mlratchet.gitio import read_blob

        blob = read_blob(repo, sha, "dvc.yaml")
        text = blob.decode("utf-8") if blob is not None else None
    data = parse_yaml(text, "dvc.yaml") if text else None
    artifacts = (data or {}).get("artifacts") or {}
    if name is not None:
        if name not in artifacts:
            raise BadInputError(f"dvc.yaml declares no artifact {name!r}")
        return str(artifacts[name]["path"])
    models = {n: a for n, a in artifacts.items() if a.get("type") == "model"}
    if len(models) != 1:
        found = ", ".join(sorted(models)) or "none"
        raise BadInputError(
            f"dvc.yaml declares {len(models)} model artifacts ({found}); name the one to "
            "monitor as NAME#STAGE or NAME@vX.Y.Z"
        )
    return str(next(iter(models.values()))["path"])


def _bytes_of(repo: Path, sha: str | None, entry: Entry) -> bytes:
    """An output's bytes as ``dvc.lock`` records them, re-hashed (exit 3 on a mismatch)."""
    from mlratchet.dvclock import cache_path
    from mlratchet.integrity import md5_of, verify_entry

    if sha is None:
        verify_entry(repo, entry)
        return (repo / entry.path).read_bytes()
    cached = cache_path(repo, entry)
    if not cached.is_file():
        raise BadInputError(
            f"{entry.path} at {sha[:7]} (md5 {entry.md5}) is not in the local DVC cache; "
            f"run `dvc fetch` (or `dvc pull`) for that commit first"
        )
    actual = md5_of(cached)
    if actual != entry.md5:
        raise IntegrityError(
            f"{entry.path} at {sha[:7]}: dvc.lock records md5 {entry.md5} but the cached copy "
            f"{cached} hashes to {actual}; the cache is corrupt (remove it and dvc fetch)"
        )
    return cached.read_bytes()


def load(
    repo: Path | str, text: str, policy: MonitorPolicy, models: ModelsPolicy | None = None
) -> ModelContext:
    """Resolve ``text`` and read the model and its training data at that revision."""
    import pyarrow.parquet as pq

    from mlratchet import modelio
    from mlratchet.adapter import view
    from mlratchet.dvclock import load_lock, outputs
    from mlratchet.revs import resolve

    repo = Path(repo)
    revision = resolve(repo, text)
    artifact = _artifact_name(text)
    path = _artifact_path(repo, revision.sha, artifact)
    where = "the workspace" if revision.sha is None else revision.sha[:7]
    outs = outputs(load_lock(repo, revision.sha))

    def entry(rel: str) -> Entry:
        if rel not in outs:
            raise BadInputError(f"dvc.lock at {where} records no output {rel!r}")
        return outs[rel]

    trusted = models.trusted_types if models is not None else ()
    source = f"{path} at {where}"
    model = modelio.loads(
        _bytes_of(repo, revision.sha, entry(path)), source=source, trusted=trusted
    )
    seen = view(model, adapter=models.adapter if models is not None else None, source=source)
    if policy.reference is None:
        raise BadInputError(
            "ratchet.yaml: monitor.reference names no dvc.lock output, so the rows the model "
            "was trained on are unknown; set it, or pass --reference FILE"
        )
    reference = pq.read_table(io.BytesIO(_bytes_of(repo, revision.sha, entry(policy.reference))))
    if policy.training_features is not None:
        blob = _bytes_of(repo, revision.sha, entry(policy.training_features))
        features = pq.read_table(io.BytesIO(blob)).to_pandas()
    else:
        missing = [n for n in seen.inputs if n not in reference.column_names]
        if missing:
            raise BadInputError(
                f"{policy.reference} at {where}: no column {missing[0]!r} (the model reads it)"
            )
        features = seen.features(reference.select(list(seen.inputs)).to_pandas())
    return ModelContext(
        text=text,
        sha=revision.sha,
        artifact=artifact,
        path=path,
        model=model,
        view=seen,
        reference_path=policy.reference,
        reference=reference,
        training_features_path=policy.training_features,
        training_features=features,
    )
