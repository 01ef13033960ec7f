"""The public API of mlratchet.metrics: every name resolves to what it says, cheaply."""

from __future__ import annotations

import subprocess
import sys


def test_every_public_name_resolves_even_after_its_submodule() -> None:
    """`from mlratchet.metrics import history` is the function even if the module loaded first."""
    code = (
        "import importlib, sys, types\n"
        "for sub in ('history', 'diff', 'api', 'verdict', 'collect', 'parse'):\n"
        "    importlib.import_module('mlratchet.metrics.' + sub)\n"
        "import mlratchet.metrics as m\n"
        "bad = [n for n in m.__all__ if isinstance(getattr(m, n), types.ModuleType)]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_history_does_not_import_the_verdict() -> None:
    """The history command's imports stay light: no policy, params schema or verdict."""
    code = (
        "import sys\nfrom mlratchet.metrics import history\n"
        "print(sorted(m for m in ('mlratchet.policy', 'mlratchet.params', "
        "'mlratchet.metrics.verdict', 'pandas', 'dvc') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
