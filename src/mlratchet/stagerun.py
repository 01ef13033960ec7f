"""The entry point of a pipeline stage script: run it, turn its errors into exit codes.

A stage script (``stages/*.py``) is a process entry point, like the CLI: it reads params, makes
library calls and writes outputs. :func:`run_stage` gives it the same contract as ``ratchet``:
one red line on stderr naming the stage and what is wrong, and a documented exit code.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import NoReturn

from mlratchet.errors import RatchetError
from mlratchet.exitcodes import ExitCode, exit_code_for
from mlratchet.runtime import pin_numeric_kernels


def run_stage(name: str, main: Callable[[], object]) -> NoReturn:
    """Run a stage's ``main`` and exit with the status of the exit-code table."""
    pin_numeric_kernels()
    try:
        main()
    except RatchetError as exc:
        print(f"stage {name}: error: {exc}", file=sys.stderr)
        sys.exit(exit_code_for(exc))
    except KeyboardInterrupt:
        print(f"stage {name}: interrupted", file=sys.stderr)
        sys.exit(ExitCode.INTERRUPTED)
    except Exception:
        traceback.print_exc()
        print(f"stage {name}: internal error (a bug; the traceback is above)", file=sys.stderr)
        sys.exit(ExitCode.INTERNAL)
    sys.exit(ExitCode.OK)
