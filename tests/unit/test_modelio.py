"""Model files: no code execution on load, and the same bytes for the same model."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from test_features import frame

from flightdelay import features, training
from flightdelay.params import load_params
from helpers import ROOT
from mlratchet import modelio
from mlratchet.errors import BadInputError, RefusedError

PARAMS = load_params(ROOT / "params.yaml")


class Sneaky(ClassifierMixin, BaseEstimator):
    """A type no allow-list knows: loading it would run code from the file's author."""

    def fit(self, x: object, y: object) -> Sneaky:
        return self


def fitted_pipeline(seed: int = 0):
    train = frame(400, seed)
    transformer = features.fit(train, PARAMS.featurize)
    processed = features.with_label(features.transform(transformer, train), train)
    small = PARAMS.train.__class__(**{**PARAMS.train.__dict__, "max_iter": 5})
    return training.train(processed, transformer, small), train


def test_same_model_same_bytes() -> None:
    """Two fits with the same seed serialise to identical bytes (no timestamps, no ids)."""
    first, _ = fitted_pipeline()
    second, _ = fitted_pipeline()
    assert modelio.dumps(first) == modelio.dumps(second)


def test_round_trip_is_stable_and_predicts_the_same(tmp_path: Path) -> None:
    """save -> load -> save gives the same bytes, and the loaded model predicts identically."""
    model, train = fitted_pipeline(1)
    modelio.save(model, tmp_path / "m.skops")
    loaded = modelio.load(tmp_path / "m.skops")
    assert modelio.dumps(loaded) == (tmp_path / "m.skops").read_bytes()
    np.testing.assert_array_equal(model.predict_proba(train), loaded.predict_proba(train))


def test_zip_entries_have_fixed_metadata() -> None:
    """Entries are sorted, dated 1980-01-01 and named by content, not by memory address."""
    model, _ = fitted_pipeline(2)
    with zipfile.ZipFile(io.BytesIO(modelio.dumps(model))) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_untrusted_type_is_refused(tmp_path: Path) -> None:
    """A model file naming a type outside the allow-list is refused, not loaded."""
    import skops.io as sio

    path = tmp_path / "evil.skops"
    path.write_bytes(sio.dumps(Sneaky().fit(None, None)))
    with pytest.raises(RefusedError, match=r"evil\.skops: refusing .*Sneaky"):
        modelio.load(path)


def test_pickle_is_not_a_model(tmp_path: Path) -> None:
    """A pickle (code execution on load) is rejected as not a model file."""
    import pickle

    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(HistGradientBoostingClassifier()))
    with pytest.raises(BadInputError, match="not a skops model file"):
        modelio.load(path)


def test_missing_model_file(tmp_path: Path) -> None:
    """A missing model file is bad input naming the path."""
    with pytest.raises(BadInputError, match="no such model file"):
        modelio.load(tmp_path / "nope.skops")


def test_served_pipeline_takes_prepared_rows() -> None:
    """The model file is the whole serving path: prepared rows in, probabilities out."""
    model, train = fitted_pipeline(3)
    proba = model.predict_proba(pd.concat([train.head(3)]))[:, 1]
    assert proba.shape == (3,)
    assert ((proba >= 0) & (proba <= 1)).all()
