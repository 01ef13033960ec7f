"""Stage featurize: fitted on train only; no column known after departure reaches the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from flightdelay import features
from flightdelay.flights import LEAKY_COLUMNS, SCHEDULING_TIME_COLUMNS
from flightdelay.params import FeaturizeParams, load_params
from helpers import ROOT

PARAMS = load_params(ROOT / "params.yaml").featurize


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {
        c: rng.normal(size=n)
        for c in sorted(SCHEDULING_TIME_COLUMNS - {"carrier", "origin", "dest"})
    }
    data.update(
        carrier=rng.choice(["UA", "AA", "B6"], n),
        origin=rng.choice(["EWR", "JFK", "LGA"], n),
        dest=rng.choice(["IAH", "LAX", "ORD", "SFO"], n),
        late=rng.integers(0, 2, n).astype("int8"),
    )
    for leaky in LEAKY_COLUMNS:
        data[leaky] = rng.normal(size=n)
    return pd.DataFrame(data)


def test_feature_names_exclude_leaky_columns() -> None:
    """The fitted transformer's outputs are exactly the configured scheduling-time columns."""
    transformer = features.fit(frame(200, 0), PARAMS)
    names = list(transformer.get_feature_names_out())
    assert names == [*PARAMS.numeric, *PARAMS.categorical]
    assert not LEAKY_COLUMNS & set(names)


def test_leaky_columns_cannot_change_the_features() -> None:
    """Scrambling every post-departure column leaves the features bit-identical."""
    train = frame(300, 1)
    transformer = features.fit(train, PARAMS)
    batch = frame(100, 2)
    scrambled = batch.copy()
    rng = np.random.default_rng(3)
    for leaky in LEAKY_COLUMNS:
        scrambled[leaky] = rng.normal(size=len(batch)) * 1e6
    pd.testing.assert_frame_equal(
        features.transform(transformer, batch), features.transform(transformer, scrambled)
    )


def test_fitted_on_train_only() -> None:
    """Categories first seen outside train are unknown (missing), not learned."""
    train = frame(300, 4)
    transformer = features.fit(train, PARAMS)
    batch = frame(5, 5)
    batch["dest"] = ["BOS", "IAH", "BOS", "LAX", "BOS"]
    out = features.transform(transformer, batch)
    assert out["dest"].isna().tolist() == [True, False, True, False, True]


def test_numeric_missing_values_stay_missing() -> None:
    """Missing weather stays missing (the trees route it) rather than being invented."""
    train = frame(100, 6)
    transformer = features.fit(train, PARAMS)
    batch = frame(3, 7)
    batch.loc[1, "wind_gust"] = np.nan
    assert features.transform(transformer, batch)["wind_gust"].isna().tolist() == [
        False,
        True,
        False,
    ]


def test_categorical_mask_marks_encoded_columns() -> None:
    """The classifier is told which features are categories."""
    transformer = features.fit(frame(50, 8), PARAMS)
    mask = features.categorical_mask(transformer)
    assert mask == [False] * len(PARAMS.numeric) + [True] * len(PARAMS.categorical)


def test_leaky_column_in_params_is_rejected_before_fitting() -> None:
    """A featurize section naming a leaky column cannot even be built."""
    with pytest.raises(ValueError, match="leak"):
        FeaturizeParams(numeric=("distance", "dep_delay"), categorical=(), min_frequency=0.0)
