"""Stage ``featurize``: the one transformation from prepared rows to model inputs.

A scikit-learn ``ColumnTransformer`` fitted on the training split only: numeric columns pass
through (missing values stay missing; the gradient-boosted trees handle them), categorical
columns are ordinal-encoded with rare and unseen categories folded into one code. Only the
columns listed in ``params.yaml`` reach it, and the params schema refuses any column that is
only known after departure (see :data:`flightdelay.flights.LEAKY_COLUMNS`).

Training, evaluation and serving all call :func:`transform` (serving through the fitted
transformer that the model pipeline carries), so there is one code path, not two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flightdelay.flights import LABEL
from flightdelay.params import FeaturizeParams

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.compose import ColumnTransformer


def build_transformer(params: FeaturizeParams) -> ColumnTransformer:
    """An unfitted transformer for the configured columns."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OrdinalEncoder

    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
        min_frequency=params.min_frequency or None,
        dtype=np.float64,
    )
    transformer = ColumnTransformer(
        [
            ("num", "passthrough", list(params.numeric)),
            ("cat", encoder, list(params.categorical)),
        ],
        remainder="drop",
        verbose_feature_names_out=False,
    )
    return transformer.set_output(transform="pandas")


def fit(train: pd.DataFrame, params: FeaturizeParams) -> ColumnTransformer:
    """Fit the transformer on the training split."""
    return build_transformer(params).fit(train)


def transform(transformer: ColumnTransformer, frame: pd.DataFrame) -> pd.DataFrame:
    """Model inputs for prepared rows: float64 columns named as the features."""
    out = transformer.transform(frame)
    return out.astype("float64").reset_index(drop=True)


def with_label(features: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """The feature frame with the prepared frame's label appended as the last column."""
    out = features.copy()
    out[LABEL] = frame[LABEL].to_numpy()
    return out


def categorical_mask(transformer: ColumnTransformer) -> list[bool]:
    """For each output feature, whether it is an encoded category."""
    categorical = set(transformer.transformers_[1][2])
    return [name in categorical for name in transformer.get_feature_names_out()]
