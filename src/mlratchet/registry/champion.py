"""Champion/challenger: the version in a stage and the candidate, scored on the same rows.

A gate that compares a candidate with the holder of a stage only means something when both
numbers were measured on the same rows. Continuous training moves the data window, so the
metrics each version recorded at its own commit were measured on other months. Here, as TFX's
Evaluator does against its baseline model, both models are scored again, now, on the
candidate's evaluation rows:

1. the files the artifact's policy names under ``evaluation_data`` are read at the candidate's
   commit (a ``dvc.lock`` output re-hashed against its record, or a git-tracked file), and
   their md5s give ``rows_md5``, the identity of what both models are scored on;
2. the holder's model is fetched and re-hashed as ``ratchet registry get`` does
   (:func:`mlratchet.registry.deliver.get`); the candidate's model is its verified output;
3. each is loaded (:func:`mlratchet.modelio.loads`, the reviewed ``models.trusted_types``) and
   handed to the project's own evaluation, ``registry.NAME.evaluate: "module:function"``, which
   returns ``{metric: value}`` under the flat keys the ``compare`` gates name.

A holder whose model cannot be fetched, loaded or scored is *not comparable* (its
``error`` says why); the gate then fails closed unless the policy says ``on_incomparable: pass``.
A hash that does not match its record is an integrity failure (exit 3), never "not comparable".
"""

from __future__ import annotations

import hashlib
import math
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from mlratchet.errors import BadInputError, IntegrityError, RatchetError


class ScoredJSON(TypedDict):
    """One side of the comparison, as the model card stores it."""

    version: str
    commit: str
    model_md5: str | None
    scores: dict[str, Any] | None
    error: str | None


class ComparisonJSON(TypedDict):
    """``comparison`` in the model card."""

    rows_md5: str
    data: dict[str, str]
    evaluate: str
    champion: ScoredJSON
    challenger: ScoredJSON


@dataclass(frozen=True)
class Scored:
    """A model's scores on the rows (None, with the reason, when it could not be scored)."""

    version: str
    commit: str
    model_md5: str | None
    scores: Mapping[str, Any] | None
    error: str | None = None

    def to_json(self) -> ScoredJSON:
        """The side as JSON (non-finite numbers as strings)."""
        scores = None
        if self.scores is not None:
            scores = {key: _safe(value) for key, value in sorted(self.scores.items())}
        return {
            "version": self.version,
            "commit": self.commit,
            "model_md5": self.model_md5,
            "scores": scores,
            "error": self.error,
        }


@dataclass(frozen=True)
class Comparison:
    """The champion (the holder of the stage) and the challenger, on the same rows."""

    rows_md5: str
    data: Mapping[str, str]  # evaluation file -> its md5 at the candidate's commit
    evaluate: str  # the hook that scored both
    champion: Scored
    challenger: Scored

    def to_json(self) -> ComparisonJSON:
        """``comparison`` as the model card stores it."""
        return {
            "rows_md5": self.rows_md5,
            "data": dict(sorted(self.data.items())),
            "evaluate": self.evaluate,
            "champion": self.champion.to_json(),
            "challenger": self.challenger.to_json(),
        }


def _safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def rows_md5(data: Mapping[str, str]) -> str:
    """The identity of the evaluation rows: md5 of ``"<md5>  <path>\\n"`` lines, sorted by path
    (what ``md5sum`` prints for the files). One file: still this digest, not the file's md5."""
    text = "".join(f"{md5}  {path}\n" for path, md5 in sorted(data.items()))
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - an identity, as DVC's md5


def evaluation_files(
    root: Path, commit: str, paths: tuple[str, ...], scratch: Path
) -> tuple[dict[str, Path], dict[str, str]]:
    """``{path: local file}`` and ``{path: md5}`` for each evaluation file at ``commit``.

    A ``dvc.lock`` output is re-hashed against its record (its work-tree copy or the DVC cache;
    exit 3 on a mismatch); a git-tracked file is written from the commit into ``scratch``.
    """
    from mlratchet.dvclock import load_lock, outputs
    from mlratchet.gitio import read_blob
    from mlratchet.integrity import verify_output

    recorded = outputs(load_lock(root, commit))
    files: dict[str, Path] = {}
    md5s: dict[str, str] = {}
    for path in paths:
        if path in recorded:
            verified = verify_output(root, path, commit)
            files[path], md5s[path] = Path(verified.source), verified.md5
            continue
        blob = read_blob(root, commit, path)
        if blob is None:
            raise BadInputError(
                f"ratchet.yaml: evaluation_data {path!r} is neither a dvc.lock output nor a "
                f"file in git at {commit[:7]}"
            )
        local = scratch / "git" / path
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(blob)
        files[path] = local
        md5s[path] = hashlib.md5(blob).hexdigest()  # noqa: S324 - as DVC hashes
    return files, md5s


def _scores(hook: Any, model: Any, files: Mapping[str, Path], spec: str) -> dict[str, Any]:
    result = hook(model, dict(files))
    if not isinstance(result, Mapping):
        raise BadInputError(f"{spec} returned {type(result).__name__}, not {{metric: value}}")
    return {str(key): value for key, value in result.items()}


def _load(path: Path, source: str, trusted: tuple[str, ...]) -> Any:
    from mlratchet import modelio

    return modelio.loads(path.read_bytes(), source=source, trusted=trusted)


def compare(
    root: Path,
    *,
    artifact: str,
    stage: str,
    evaluate: str,
    evaluation_data: tuple[str, ...],
    trusted: tuple[str, ...],
    challenger: tuple[str, str, str],
    champion: tuple[str, str],
) -> Comparison:
    """Score the holder of ``stage`` and the candidate with ``evaluate`` on the same rows.

    ``challenger``: (version, commit, model path); ``champion``: (version, commit) of the holder.
    Bad input when the hook cannot be imported or the evaluation files cannot be read; exit 3
    when bytes do not match their record.
    """
    from mlratchet.adapter import load_hook
    from mlratchet.integrity import verify_output
    from mlratchet.registry.deliver import get

    hook = load_hook(evaluate, f"registry.{artifact}.evaluate")
    version, commit, path = challenger
    holder_version, holder_commit = champion
    with tempfile.TemporaryDirectory(prefix="ratchet-champion-") as tmp:
        scratch = Path(tmp)
        files, md5s = evaluation_files(root, commit, evaluation_data, scratch)
        own = verify_output(root, path, commit)
        source = f"{path} at {commit[:7]} ({version})"
        challenger_scores: dict[str, Any] | None
        challenger_error: str | None
        try:
            challenger_scores = _scores(
                hook, _load(Path(own.source), source, trusted), files, evaluate
            )
            challenger_error = None
        except IntegrityError:
            raise
        except Exception as exc:  # the project's code: any failure is reported
            challenger_scores, challenger_error = None, f"{evaluate} failed on {version}: {exc}"
        holder_md5: str | None = None
        holder_scores: dict[str, Any] | None
        holder_error: str | None
        try:
            delivered = get(root, f"{artifact}#{stage}", scratch / "champion" / Path(path).name)
            holder_md5 = delivered.md5
            where = f"{path} of {holder_version} ({holder_commit[:7]})"
            model = _load(delivered.out, where, trusted)
        except IntegrityError:
            raise
        except RatchetError as exc:
            holder_scores, holder_error = None, f"cannot fetch or load its model: {exc}"
        else:
            try:
                holder_scores, holder_error = _scores(hook, model, files, evaluate), None
            except Exception as exc:  # the project's code: any failure is reported
                holder_scores, holder_error = None, f"{evaluate} failed on it: {exc}"
    return Comparison(
        rows_md5=rows_md5(md5s),
        data=md5s,
        evaluate=evaluate,
        champion=Scored(holder_version, holder_commit, holder_md5, holder_scores, holder_error),
        challenger=Scored(version, commit, own.md5, challenger_scores, challenger_error),
    )
