"""`ratchet --help` / `--version` against `dvc --version`: whole-process start-up, medians.

Usage: python benchmarks/bench_cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse

from harness import compare, tool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    ratchet = tool("ratchet")
    dvc = tool("dvc")
    compare(
        "CLI start-up: ratchet --help, ratchet --version, dvc --version",
        {
            "ratchet --help": [ratchet, "--help"],
            "ratchet --version": [ratchet, "--version"],
            "dvc --version": [dvc, "--version"],
        },
        runs=args.runs,
        warmup=2,
    )


if __name__ == "__main__":
    main()
