"""Shared set-up of the benchmarks against Evidently and pandera.

The peers are never dependencies of mlratchet: they live in their own virtual environment
under ``benchmarks/.work/peers`` (git-ignored), created on first use with the one command
:data:`INSTALL` documents. Evidently 0.7 imports a pandas internal removed in pandas 3, so
that environment pins ``pandas<3``.

The synthetic data (``benchmarks/synth.py``) is written once under ``benchmarks/.work/synth``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
PEERS = WORK / "peers"
SYNTH = WORK / "synth"
#: The peers' exact versions (the ones measured); pandas<3 because Evidently 0.7 needs it.
REQUIREMENTS = ["evidently==0.7.23", "pandera==0.35.0", "pandas<3", "pyarrow"]
INSTALL = (
    f"python3 -m venv {PEERS.relative_to(HERE.parent)} && "
    f"{(PEERS / 'bin/pip').relative_to(HERE.parent)} install "
    + " ".join(f"'{r}'" for r in REQUIREMENTS)
)


def peer_python() -> str:
    """The peers' interpreter, creating their environment if it is not there yet."""
    python = PEERS / "bin" / "python"
    ready = PEERS / ".installed"
    if not ready.is_file():
        print(f"setting up the peers' environment: {INSTALL}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        subprocess.run([str(PEERS / "bin/pip"), "install", "--quiet", *REQUIREMENTS], check=True)
        ready.touch()
    return str(python)


def synthetic(rows: int, *, current: bool, row_group: int = 250_000) -> Path:
    """The synthetic reference or current table of ``rows`` rows (written once)."""
    label = f"{rows // 1_000_000}m" if rows >= 1_000_000 else str(rows)
    path = SYNTH / f"{'cur' if current else 'ref'}_{label}.parquet"
    if not path.is_file():
        print(f"writing {path}", file=sys.stderr)
        cmd = [sys.executable, str(HERE / "synth.py"), str(rows), str(path)]
        cmd += ["--row-group", str(row_group)] + (["--current"] if current else [])
        subprocess.run(cmd, check=True)
    return path


def tolerate_alert(cmd: list[str]) -> list[str]:
    """Run ``cmd`` through sh so that exit 1 (an alert: a result, not a failure) counts as done."""
    quoted = " ".join(f"'{part}'" for part in cmd)
    return ["/bin/sh", "-c", f"{quoted} >/dev/null; [ $? -le 1 ]"]
