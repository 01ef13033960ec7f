"""Model files: safe to load, and the same bytes for the same model.

Format: ``skops.io`` (a zip of a JSON schema plus ``.npy`` arrays). Unlike pickle or joblib,
loading it executes no code from the file: every type it names must be on an allow-list, and a
file that names any other type is refused (:class:`RefusedError`, exit 5).

skops alone is not byte-stable: zip entries carry the current time, the schema records each
object's memory address (``__id__``, used to restore shared references), and array entries are
named after those addresses (bytes entries after random UUIDs). :func:`dumps` normalises that:
addresses are renumbered in order of first appearance, each entry is renamed to the sha256 of
its content with the schema's references rewritten to match, and the zip is rebuilt with entries
in sorted order, a fixed timestamp and fixed permissions. Loading the normalised file with skops
gives back the same model, shared references included.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlratchet.errors import BadInputError, RefusedError
from mlratchet.fsio import write_bytes

#: Types that skops does not trust by default but that our models are made of. Anything else
#: in a model file is refused.
TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    # HistGradientBoostingClassifier's categorical preprocessor holds
    # partial(check_array, ...); skops lists the wrapped function as a type of its own, so
    # trusting `partial` does not trust whatever a file might wrap in it.
    "functools.partial",
    "sklearn.utils.validation.check_array",
)

_SCHEMA = "schema.json"
_EPOCH = (1980, 1, 1, 0, 0, 0)


def _canonical(node: Any, files: dict[str, str], ids: dict[int, int]) -> Any:
    """Rewrite file references through ``files`` and object ids to first-appearance order."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key in sorted(node):
            value = node[key]
            if key == "file" and isinstance(value, str) and value in files:
                out[key] = files[value]
            elif key == "__id__" and isinstance(value, int):
                out[key] = ids.setdefault(value, len(ids) + 1)
            else:
                out[key] = _canonical(value, files, ids)
        return out
    if isinstance(node, list):
        return [_canonical(item, files, ids) for item in node]
    return node


def normalise(data: bytes) -> bytes:
    """Rewrite a skops zip into its canonical, content-addressed form."""
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        schema = json.loads(src.read(_SCHEMA))
        members = {
            info.filename: src.read(info) for info in src.infolist() if info.filename != _SCHEMA
        }
    renames = {}
    for name, content in members.items():
        suffix = Path(name).suffix
        renames[name] = f"{hashlib.sha256(content).hexdigest()[:32]}{suffix}"
    schema = _canonical(schema, renames, {})
    entries = {renames[name]: content for name, content in members.items()}
    entries[_SCHEMA] = json.dumps(schema, indent=2, sort_keys=True).encode("utf-8")

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, whatever the platform
            out.writestr(info, entries[name], compresslevel=6)
    return buffer.getvalue()


def dumps(model: Any) -> bytes:
    """The canonical bytes of a model."""
    import skops.io as sio

    return normalise(sio.dumps(model))


def save(model: Any, path: Path | str) -> None:
    """Write a model to ``path`` atomically, in canonical form."""
    write_bytes(path, dumps(model))


def _sklearn_class(name: str) -> bool:
    """Whether ``name`` is a class scikit-learn itself defines (its estimators' own parts)."""
    import importlib

    module, _, attr = name.rpartition(".")
    if not module.startswith("sklearn."):
        return False
    try:
        found = getattr(importlib.import_module(module), attr, None)
    except ImportError:
        return False
    return isinstance(found, type) and str(found.__module__).startswith("sklearn.")


def untrusted_types(data: bytes, trusted: Iterable[str] = ()) -> list[str]:
    """The types a model file names that nobody trusts.

    Trusted: what skops trusts by default, the classes scikit-learn itself defines (a fitted
    forest's ``Tree``, a boosting model's predictors), :data:`TRUSTED_TYPES`, and ``trusted``
    (a project's reviewed list, ``models.trusted_types`` in ``ratchet.yaml``).
    """
    import skops.io as sio

    return _refused(set(sio.get_untrusted_types(data=data)), trusted)


def _refused(named: set[str], trusted: Iterable[str]) -> list[str]:
    allowed = set(TRUSTED_TYPES) | set(trusted)
    return sorted(n for n in named - allowed if not _sklearn_class(n))


def loads(data: bytes, *, source: str = "<bytes>", trusted: Iterable[str] = ()) -> Any:
    """Load a model; refuse a file that names a type outside the allow-list (exit 5)."""
    import skops.io as sio

    try:
        names = set(sio.get_untrusted_types(data=data))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise BadInputError(f"{source}: not a skops model file ({exc})") from None
    refused = _refused(names, trusted)
    if refused:
        raise RefusedError(
            f"{source}: refusing to load a model that names untrusted types: {', '.join(refused)}"
            " (review them, then list them under models.trusted_types in ratchet.yaml)"
        )
    return sio.loads(data, trusted=sorted(names))  # each one checked just above


def _project_trusted() -> tuple[str, ...]:
    """``models.trusted_types`` of the ``ratchet.yaml`` in the current directory, if any."""
    from mlratchet.policy import POLICY_FILE, load_policy

    path = Path(POLICY_FILE)
    return load_policy(path).models.trusted_types if path.is_file() else ()


def load(path: Path | str, *, trusted: Iterable[str] | None = None) -> Any:
    """Load a model file (see :func:`loads`).

    ``trusted``: types trusted beyond the defaults; None (a stage's call) reads the reviewed
    list of the ``ratchet.yaml`` in the current directory, the DVC root a stage runs in.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise BadInputError(f"{path}: no such model file") from None
    extra = _project_trusted() if trusted is None else tuple(trusted)
    return loads(data, source=str(path), trusted=extra)
