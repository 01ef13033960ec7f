"""Stage ``train``: a seeded gradient-boosted classifier, shipped with its feature transformer.

The model file is a scikit-learn ``Pipeline(features, classifier)``: it takes prepared rows, the
same frames ``prepare`` writes and a serving batch yields, so there is no second featurisation
to drift from the first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flightdelay.flights import LABEL
from flightdelay.params import TrainParams
from mlratchet import limited_threads

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline


def fit_classifier(
    features: pd.DataFrame, params: TrainParams, categorical: list[bool]
) -> HistGradientBoostingClassifier:
    """Fit the classifier on a processed feature frame (its ``late`` column is the label)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    x = features.drop(columns=[LABEL])
    y = features[LABEL].to_numpy()
    clf = HistGradientBoostingClassifier(
        max_iter=params.max_iter,
        learning_rate=params.learning_rate,
        max_leaf_nodes=params.max_leaf_nodes,
        min_samples_leaf=params.min_samples_leaf,
        l2_regularization=params.l2_regularization,
        categorical_features=categorical,
        early_stopping=False,
        random_state=params.seed,
    )
    with limited_threads(params.n_threads):
        clf.fit(x, y)
    return clf


def assemble(
    transformer: ColumnTransformer, classifier: HistGradientBoostingClassifier
) -> Pipeline:
    """The served model: prepared rows in, probabilities out."""
    from sklearn.pipeline import Pipeline

    return Pipeline([("features", transformer), ("classifier", classifier)])


def train(features: pd.DataFrame, transformer: ColumnTransformer, params: TrainParams) -> Pipeline:
    """Fit the classifier on the training features and assemble the served pipeline."""
    from flightdelay.features import categorical_mask

    return assemble(transformer, fit_classifier(features, params, categorical_mask(transformer)))
