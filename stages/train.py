"""Stage train: fit the classifier on the processed training split.

Writes models/model.skops: the served pipeline (feature transformer + classifier).
"""

from flightdelay.params import load_params
from flightdelay.training import train
from mlratchet import load_model, read_table, run_stage, save_model


def main() -> None:
    params = load_params().train
    transformer = load_model("models/features.skops")
    model = train(read_table("data/processed/train.parquet"), transformer, params)
    save_model(model, "models/model.skops")


if __name__ == "__main__":
    run_stage("train", main)
