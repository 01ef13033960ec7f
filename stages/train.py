"""Stage train: fit the classifier on the processed training split.

Writes models/model.skops: the served pipeline (feature transformer + classifier).
"""

from mlratchet import modelio, tables
from mlratchet.params import load_params
from mlratchet.stagerun import run_stage
from mlratchet.training import train


def main() -> None:
    params = load_params().train
    transformer = modelio.load("models/features.skops")
    model = train(tables.read("data/processed/train.parquet"), transformer, params)
    modelio.save(model, "models/model.skops")


if __name__ == "__main__":
    run_stage("train", main)
