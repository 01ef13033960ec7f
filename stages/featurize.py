"""Stage featurize: fit the feature transformer on train; transform every split.

Writes models/features.skops and data/processed/{train,val,test}.parquet (features + label).
"""

from pathlib import Path

from flightdelay import features
from flightdelay.params import load_params
from mlratchet import read_table, run_stage, save_model, write_table


def main() -> None:
    params = load_params().featurize
    splits = {
        s: read_table(Path("data/interim") / f"{s}.parquet") for s in ("train", "val", "test")
    }
    transformer = features.fit(splits["train"], params)
    for split, frame in splits.items():
        processed = features.with_label(features.transform(transformer, frame), frame)
        write_table(processed, Path("data/processed") / f"{split}.parquet")
    save_model(transformer, "models/features.skops")


if __name__ == "__main__":
    run_stage("featurize", main)
