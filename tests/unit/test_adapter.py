"""Any scikit-learn model (or another, through an adapter) seen by protocol, not by step names."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlratchet import modelio
from mlratchet.adapter import view
from mlratchet.errors import BadInputError, RefusedError


@pytest.fixture(scope="module")
def wine() -> tuple[pd.DataFrame, pd.Series]:
    """scikit-learn's bundled wine data, as a frame."""
    from sklearn.datasets import load_wine

    data = load_wine(as_frame=True)
    return data.data, data.target


def test_pipeline_of_scaler_and_logistic_regression(wine: tuple) -> None:
    """A Pipeline's features are what its steps before the last make; scores are probabilities."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = wine
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(x, y)
    seen = view(model)
    assert seen.kind == "classifier"
    assert seen.inputs == tuple(x.columns)
    features = seen.features(x)
    assert list(features.columns) == list(x.columns)  # StandardScaler keeps the names
    assert np.allclose(features.mean().to_numpy(), 0, atol=1e-9)
    scores, predictions = seen.score(features)
    assert np.allclose(scores, model.predict_proba(x).max(axis=1))  # multiclass: confidence
    assert (predictions == model.predict(x)).all()


def test_one_part_column_transformer_and_a_regressor() -> None:
    """A one-part ColumnTransformer pipeline of a regressor: values are the scores."""
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_diabetes(as_frame=True)
    x, y = data.data, data.target
    model = Pipeline(
        [("only", ColumnTransformer([("scale", StandardScaler(), ["bmi", "bp"])])), ("r", Ridge())]
    ).fit(x, y)
    seen = view(model)
    assert seen.kind == "regressor"
    features = seen.features(x)
    assert features.shape == (len(x), 2)
    scores, predictions = seen.score(features)
    assert np.allclose(scores, model.predict(x))
    assert np.array_equal(scores, predictions)


def test_bare_forest_loads_by_default_and_scores_binary(tmp_path: Path) -> None:
    """A saved RandomForestClassifier loads with no review (scikit-learn's own types) and a
    binary classifier's score is the positive class's probability."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    data = load_breast_cancer(as_frame=True)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(data.data, data.target)
    modelio.save(forest, tmp_path / "m.skops")
    loaded = modelio.load(tmp_path / "m.skops", trusted=())
    seen = view(loaded)
    scores, _ = seen.score(seen.features(data.data))
    assert np.allclose(scores, forest.predict_proba(data.data)[:, 1])


class Doubler:
    """A transformer of this test's own: not a type anybody has reviewed."""

    def fit(self, x: pd.DataFrame, y: object = None) -> Doubler:
        self.feature_names_in_ = np.asarray(x.columns, dtype=object)
        return self

    def transform(self, x: pd.DataFrame) -> pd.DataFrame:
        return x * 2


def test_untrusted_type_is_refused_until_reviewed(tmp_path: Path, wine: tuple) -> None:
    """A model holding an unreviewed type is refused (exit 5 naming it); listed as trusted, it
    loads."""
    from sklearn.pipeline import make_pipeline
    from sklearn.tree import DecisionTreeClassifier

    x, y = wine
    model = make_pipeline(Doubler(), DecisionTreeClassifier(max_depth=2, random_state=0)).fit(x, y)
    path = tmp_path / "custom.skops"
    modelio.save(model, path)
    name = f"{Doubler.__module__}.Doubler"
    with pytest.raises(RefusedError, match=name):
        modelio.load(path, trusted=())
    assert view(modelio.load(path, trusted=[name])).kind == "classifier"


def test_a_malicious_type_is_refused_even_under_sklearn_names(tmp_path: Path) -> None:
    """Trusting scikit-learn's own classes does not trust a function or a foreign type."""
    assert modelio._sklearn_class("sklearn.tree._tree.Tree")
    assert not modelio._sklearn_class("sklearn.utils.validation.check_array")  # a function
    assert not modelio._sklearn_class("builtins.eval")
    assert not modelio._sklearn_class("os.system")


def test_an_adapter_wraps_a_model_of_another_framework(tmp_path: Path, monkeypatch) -> None:
    """`models.adapter: module:function` makes any object scoreable; a bad one is named."""
    (tmp_path / "myadapter.py").write_text(
        "import numpy as np\n"
        "class Wrapped:\n"
        "    feature_names_in_ = np.array(['a', 'b'])\n"
        "    def __init__(self, booster): self.booster = booster\n"
        "    def predict(self, x): return self.booster['w'] * x['a'] + x['b']\n"
        "def wrap(booster): return Wrapped(booster)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    seen = view({"w": 2.0}, adapter="myadapter:wrap")
    assert seen.kind == "regressor"
    scores, _ = seen.score(seen.features(pd.DataFrame({"a": [1.0, 2.0], "b": [0.5, 0.5]})))
    assert scores.tolist() == [2.5, 4.5]
    with pytest.raises(BadInputError, match=r"models\.adapter 'nosuchmodule:wrap'"):
        view({}, adapter="nosuchmodule:wrap")
    sys.modules.pop("myadapter", None)


def test_a_model_fitted_without_column_names_is_bad_input(wine: tuple) -> None:
    """Without feature_names_in_, the columns a model reads are unknown: said, not guessed."""
    from sklearn.tree import DecisionTreeClassifier

    x, y = wine
    model = DecisionTreeClassifier(max_depth=2, random_state=0).fit(x.to_numpy(), y)
    with pytest.raises(BadInputError, match="fitted without column names"):
        view(model)
