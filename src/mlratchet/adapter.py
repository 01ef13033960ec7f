"""Any model, seen the same way: its inputs, its features, its scores. The one home of that.

A model is what a project saved (a scikit-learn estimator or ``Pipeline`` in a skops file), or
what the project's adapter (``models.adapter: "module:function"`` in ``ratchet.yaml``) makes of
it: an object with ``predict``, and ``predict_proba`` for a classifier. Nothing here depends on
step names or on one project's columns; everything is found by protocol:

- **inputs**: the columns the model was fitted on (``feature_names_in_``);
- **features**: what the transform steps produce (a ``Pipeline``: every step but the last, as
  ``model[:-1].transform``; a bare estimator: its inputs as they are), as a float frame;
- **kind**: a classifier (``predict_proba``) or a regressor (``predict``);
- **scores**: the positive-class probability of a binary classifier, the top probability of a
  multiclass one (its confidence), the predicted value of a regressor; **predictions**: the
  index of the predicted class, or the value.

A feature counts as categorical when it is not numeric, or when it keeps the name of an input
column that is categorical in the data (an encoded category).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mlratchet.errors import BadInputError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

Kind = Literal["classifier", "regressor"]


def load_hook(spec: str, key: str) -> Any:
    """The function ``module:function`` that ratchet.yaml's ``key`` names (bad input if none).

    The one home of the project's hooks (the model adapter, the evaluation of
    champion/challenger, the business metric of realized performance).
    """
    import importlib

    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BadInputError(f"ratchet.yaml: {key} {spec!r}: cannot import ({exc})") from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise BadInputError(f"ratchet.yaml: {key} {spec!r}: {attr!r} is not a function")
    return function


def _load_adapter(spec: str) -> Any:
    return load_hook(spec, "models.adapter")


@dataclass(frozen=True)
class ModelView:
    """A loaded model, through the protocol above."""

    model: Any  # what was loaded
    predictor: Any  # what predicts: the model, or what the adapter returned
    kind: Kind
    inputs: tuple[str, ...]

    @property
    def steps(self) -> Any | None:
        """The transform steps (a Pipeline without its last step), or None."""
        steps = getattr(self.predictor, "steps", None)
        if isinstance(steps, list) and len(steps) > 1:
            return self.predictor[:-1]
        return None

    @property
    def final(self) -> Any:
        """The estimator that scores the features (a Pipeline's last step)."""
        steps = getattr(self.predictor, "steps", None)
        return steps[-1][1] if isinstance(steps, list) and steps else self.predictor

    def features(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The features the transform steps make of input rows (float columns, by name)."""
        import numpy as np
        import pandas as pd

        rows = frame[list(self.inputs)]
        steps = self.steps
        out = rows if steps is None else steps.transform(rows)
        if not isinstance(out, pd.DataFrame):
            if hasattr(out, "toarray"):
                out = out.toarray()
            out = np.asarray(out)
            names = _feature_names(steps, out.shape[1])
            out = pd.DataFrame(out, columns=names)
        out = out.reset_index(drop=True)
        numeric = [  # read once from the dtypes; a float64 column is already what we want
            c
            for c, dtype in out.dtypes.items()
            if pd.api.types.is_numeric_dtype(dtype) and dtype != np.float64
        ]
        if numeric:
            out[numeric] = out[numeric].astype("float64")
        out.columns = [str(c) for c in out.columns]
        return out

    def score(self, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Scores and predictions for feature rows (see the module's docstring)."""
        import numpy as np

        final = self.final
        x: Any = features if self.steps is not None else features[list(self.inputs)]
        if getattr(final, "feature_names_in_", None) is None and hasattr(x, "to_numpy"):
            x = x.to_numpy()  # fitted on an array (a step's output): give it one
        if self.kind == "classifier":
            proba = np.asarray(final.predict_proba(x), dtype=np.float64)
            scores = proba[:, 1] if proba.shape[1] == 2 else proba.max(axis=1)
            predictions = proba.argmax(axis=1).astype(np.float64)
        else:
            scores = np.asarray(final.predict(x), dtype=np.float64).reshape(-1)
            predictions = scores.copy()
        scores = np.ascontiguousarray(scores, dtype=np.float64)
        predictions[~np.isfinite(scores)] = np.nan
        return scores, predictions

    def feature_kinds(self, features: pd.DataFrame, input_kinds: dict[str, str]) -> dict[str, str]:
        """Each feature, numeric or categorical (see the module's docstring)."""
        import pandas as pd

        kinds = {}
        for name in features.columns:
            numeric = pd.api.types.is_numeric_dtype(features[name])
            categorical = not numeric or input_kinds.get(name) == "categorical"
            kinds[str(name)] = "categorical" if categorical else "numeric"
        return kinds


def _feature_names(steps: Any, width: int) -> list[str]:
    try:
        names = [str(n) for n in steps.get_feature_names_out()]
    except (AttributeError, TypeError, ValueError):
        names = []
    return names if len(names) == width else [f"x{i}" for i in range(width)]


def view(model: Any, *, adapter: str | None = None, source: str = "the model") -> ModelView:
    """See ``model`` through the protocol; bad input when it has no inputs or cannot score."""
    predictor = _load_adapter(adapter)(model) if adapter else model
    if hasattr(predictor, "predict_proba"):
        kind: Kind = "classifier"
    elif hasattr(predictor, "predict"):
        kind = "regressor"
    else:
        raise BadInputError(
            f"{source}: has neither predict_proba nor predict; name an adapter "
            "in ratchet.yaml (models.adapter: 'module:function')"
        )
    names = getattr(predictor, "feature_names_in_", None)
    if names is None:
        raise BadInputError(
            f"{source}: was fitted without column names (no feature_names_in_), so the columns "
            "it reads are unknown; fit it on a pandas DataFrame"
        )
    return ModelView(model, predictor, kind, tuple(str(n) for n in names))
