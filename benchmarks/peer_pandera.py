"""pandera with the rules of an mlratchet contract: dtype, nulls, range, categories.

Run in the peers' environment: peers/bin/python benchmarks/peer_pandera.py DATA CONTRACT
Reads the Parquet with pandas, builds a DataFrameSchema with the same rules as the contract
(type, nullable, in_range(min, max), isin(categories), unique) and validates lazily, so every
failure is collected, as `ratchet validate` does. Prints the number of failure cases.
"""

import sys
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import yaml

DTYPES = {"integer": "int64", "float": "float64", "string": "str", "boolean": "bool"}


def schema_of(contract: dict) -> pa.DataFrameSchema:
    columns = {}
    for name, rule in contract["columns"].items():
        checks = []
        if rule.get("min") is not None or rule.get("max") is not None:
            checks.append(
                pa.Check.in_range(rule.get("min", float("-inf")), rule.get("max", float("inf")))
            )
        if rule.get("categories") is not None:
            checks.append(pa.Check.isin(rule["categories"]))
        columns[name] = pa.Column(
            DTYPES[rule["type"]],
            checks=checks,
            nullable=rule["nullable"],
            unique=rule.get("unique", False),
        )
    return pa.DataFrameSchema(columns, strict=not contract.get("extra_columns", False))


def main() -> None:
    frame = pd.read_parquet(sys.argv[1])
    schema = schema_of(yaml.safe_load(Path(sys.argv[2]).read_text(encoding="utf-8")))
    try:
        schema.validate(frame, lazy=True)
        print(0)
    except pa.errors.SchemaErrors as exc:
        print(len(exc.failure_cases))


if __name__ == "__main__":
    main()
