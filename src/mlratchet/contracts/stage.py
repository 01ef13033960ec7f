"""The pipeline's ``validate`` stage: raw tables against committed contracts, one record.

The record (``metrics/validation.json``) has a top-level ``"valid"`` (the registry's "data
contract passed" gate reads it) and one validation report per table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlratchet.contracts.checks import ValidationReport
from mlratchet.errors import CheckFailedError


class ContractViolatedError(CheckFailedError):
    """Raw data broke its contract: the pipeline stops here (exit 1)."""

    def __init__(self, broken: dict[str, ValidationReport], record_path: str) -> None:
        parts = []
        for report in broken.values():
            rules = ", ".join(
                f"{f['column'] or '(table)'} {f['rule']} ({f['count']})"
                for f in report["failures"][:5]
            )
            more = len(report["failures"]) - 5
            parts.append(
                f"{report['data']} breaks {report['contract']}: {rules}"
                + (f" and {more} more" if more > 0 else "")
            )
        super().__init__(
            "; ".join(parts) + f"; details in {record_path}. Fix the data, or review the "
            "contract and commit the change if the data is right."
        )


def validate_tables(
    tables: dict[str, tuple[Path, Path]], record_path: str
) -> tuple[dict[str, Any], ContractViolatedError | None]:
    """Validate each table; the record to write, and the error to stop with if any failed."""
    from mlratchet.contracts import validate_file

    reports = {table: validate_file(data, contract) for table, (data, contract) in tables.items()}
    record = {
        "valid": all(r["valid"] for r in reports.values()),
        "tables": reports,
    }
    broken = {t: r for t, r in reports.items() if not r["valid"]}
    return record, (ContractViolatedError(broken, record_path) if broken else None)
