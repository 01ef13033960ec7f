"""Stage featurize: fit the feature transformer on train; transform every split.

Writes models/features.skops and data/processed/{train,val,test}.parquet (features + label).
"""

from pathlib import Path

from mlratchet import features, modelio, tables
from mlratchet.params import load_params
from mlratchet.stagerun import run_stage


def main() -> None:
    params = load_params().featurize
    splits = {
        s: tables.read(Path("data/interim") / f"{s}.parquet") for s in ("train", "val", "test")
    }
    transformer = features.fit(splits["train"], params)
    for split, frame in splits.items():
        processed = features.with_label(features.transform(transformer, frame), frame)
        tables.write(processed, Path("data/processed") / f"{split}.parquet")
    modelio.save(transformer, "models/features.skops")


if __name__ == "__main__":
    run_stage("featurize", main)
