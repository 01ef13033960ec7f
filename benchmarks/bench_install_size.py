"""The toolkit's core install against DVC's alone: disk size of each fresh virtual environment.

Builds the mlratchet wheel from this checkout, then makes four virtual environments under a
temporary folder and installs, with the repository's constraints: nothing (the venv's own
baseline), DVC alone, mlratchet's core, mlratchet[data] and mlratchet[all].
Reports the size of each site-packages (MiB, as ``du`` counts it) and the core's ratio to DVC's.

    python benchmarks/bench_install_size.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
RESULTS = Path(__file__).parent / "results"


def _size_mib(path: Path) -> float:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            fp = Path(dirpath) / name
            if not fp.is_symlink():
                total += fp.stat().st_size
    return total / 2**20


def _venv(where: Path, *requirements: str) -> float:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    quiet = {**os.environ, "PIP_NO_WARN_SCRIPT_LOCATION": "1"}
    pip = [str(where / "bin" / "python"), "-m", "pip", "install", "--quiet", "-c", str(CONSTRAINTS)]
    if requirements:
        subprocess.run([*pip, *requirements], check=True, env=quiet, stderr=subprocess.DEVNULL)
    (site,) = (where / "lib").glob("python*/site-packages")
    return _size_mib(site)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp:
        scratch = Path(tmp)
        wheels = scratch / "wheels"
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
            check=True,
        )
        (wheel,) = wheels.glob("mlratchet-*.whl")
        sizes = {
            "empty venv": _venv(scratch / "empty"),
            "dvc alone": _venv(scratch / "dvc", "dvc"),
            "mlratchet core": _venv(scratch / "core", str(wheel)),
            "mlratchet[data]": _venv(scratch / "data", f"{wheel}[data]"),
            "mlratchet[all]": _venv(scratch / "full", f"{wheel}[all]"),
        }
    ratio = sizes["mlratchet core"] / sizes["dvc alone"]
    for label, mib in sizes.items():
        print(f"{label:28s} {mib:8.1f} MiB")
    print(f"core / dvc alone: {ratio:.2f}x")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "install_size.json").write_text(
        json.dumps({"mib": sizes, "core_over_dvc": ratio}, indent=2, sort_keys=True) + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
