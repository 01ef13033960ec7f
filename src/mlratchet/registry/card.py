"""The model card of a promotion: what was promoted, from what, judged how, by whom.

A card records the commit, the md5 of every output ``dvc.lock`` pins at that commit (data and
models), the parameters the pipeline ran with, the metrics, the gate table, the environment and
who promoted. It is stored in the assignment tag itself, after GTO's one-line message:

.. code-block:: text

    Assigning stage production to artifact flight-delay version v0.0.2

    Gates: 6 passed.
    Model card: ratchet registry show flight-delay@v0.0.2

    [mlratchet model card v1]
    { ...JSON... }

so it travels with the tag, cannot change without the tag changing, and GTO, which keeps the
whole message as the event's ``message``, reads the tag as its own.
"""

from __future__ import annotations

import math
import platform
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from mlratchet.dvclock import StageLock
from mlratchet.fsio import dumps_json
from mlratchet.registry.gates import GateJSON

if TYPE_CHECKING:
    from mlratchet.registry.champion import ComparisonJSON

CARD_MARKER = "[mlratchet model card v1]"
SCHEMA = "mlratchet.card/1"
_PACKAGES = ("mlratchet", "dvc", "scikit-learn", "skops", "numpy", "pandas", "pyarrow")


class Person(TypedDict):
    """Who promoted: git's tagger identity."""

    name: str
    email: str


class OutputRecord(TypedDict, total=False):
    """One output pinned by ``dvc.lock``."""

    stage: str
    md5: str | None
    size: int | None
    nfiles: int | None


class ModelCard(TypedDict):
    """The card stored in an assignment tag (JSON contract ``mlratchet.card/1``)."""

    schema: str
    artifact: str
    version: str
    stage: str
    tag: str
    commit: str
    path: str
    model_md5: str
    model_checked_in: str  # "workspace" or "cache": where its bytes were re-hashed
    outputs: dict[str, OutputRecord]
    params: dict[str, dict[str, Any]]
    metrics: dict[str, dict[str, Any]] | None
    gates: list[GateJSON]
    passed: bool
    forced: bool
    reason: str | None
    compared_with: dict[str, str] | None
    #: Champion/challenger on the same rows (``registry.NAME.evaluate``); None: not scored.
    comparison: ComparisonJSON | None
    environment: dict[str, Any]
    promoted_by: Person
    promoted_at: str


def environment() -> dict[str, Any]:
    """The software that judged the promotion (versions from package metadata, no imports)."""
    from importlib import metadata

    packages: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": packages,
    }


def lineage(stages: Mapping[str, StageLock]) -> tuple[dict[str, OutputRecord], dict[str, Any]]:
    """Every output of ``dvc.lock`` with its md5, and the params each stage ran with."""
    outputs: dict[str, OutputRecord] = {}
    params: dict[str, dict[str, Any]] = {}
    for stage in stages.values():
        for out in stage.outs:
            record: OutputRecord = {"stage": stage.name, "md5": out.md5, "size": out.size}
            if out.nfiles is not None:
                record["nfiles"] = out.nfiles
            outputs[out.path] = record
        for path, values in stage.params.items():
            params.setdefault(path, {}).update(values)
    return dict(sorted(outputs.items())), {k: dict(sorted(v.items())) for k, v in params.items()}


def _json_safe(value: Any) -> Any:
    """NaN and Inf as strings (the card is strict JSON); containers recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def safe_metrics(metrics: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Any] | None:
    """Metrics in strict JSON form (non-finite numbers as strings)."""
    if metrics is None:
        return None
    return {str(path): _json_safe(dict(values)) for path, values in metrics.items()}


def tag_message(headline: str, card: ModelCard) -> str:
    """The full tag message: GTO's line, a summary, and the card."""
    failed = [g for g in card["gates"] if g["result"] == "fail"]
    if card["forced"]:
        summary = (
            f"Forced past {len(failed)} failing gate(s) by {card['promoted_by']['name']}: "
            f"{card['reason']}"
        )
    else:
        passed = sum(1 for g in card["gates"] if g["result"] == "pass")
        summary = f"Gates: {passed} passed."
        if card["reason"]:
            summary += f" Reason: {card['reason']}"
    return (
        f"{headline}\n\n{summary}\n"
        f"Model card: ratchet registry show {card['artifact']}@{card['version']}\n\n"
        f"{CARD_MARKER}\n{dumps_json(card)}"
    )


def split_message(message: str) -> tuple[str, ModelCard | None]:
    """A tag message -> (the text before the card, stripped; the card, or None)."""
    import json

    head, marker, rest = message.partition(f"\n{CARD_MARKER}\n")
    if not marker:
        return message.strip(), None
    try:
        card = json.loads(rest)
    except ValueError:
        return head.strip(), None
    if not isinstance(card, dict) or card.get("schema") != SCHEMA:
        return head.strip(), None
    return head.strip(), card  # type: ignore[return-value]


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def gate_table_markdown(gates: Sequence[GateJSON]) -> str:
    """The gate table as Markdown."""
    lines = ["| gate | required | actual | result |", "|---|---|---|---|"]
    for gate in gates:
        lines.append(
            f"| {_cell(gate['gate'])} | {_cell(gate['required'])} | {_cell(gate['actual'])} "
            f"| {gate['result']} |"
        )
    return "\n".join(lines)


def _scores_text(side: Any) -> str:
    scores = side.get("scores")
    if scores is None:
        return f"(not scored: {side.get('error')})"
    return ", ".join(f"{key} {value}" for key, value in scores.items())


def render_markdown(card: ModelCard) -> str:
    """The card as a Markdown document."""
    out = [
        f"# Model card: {card['artifact']} {card['version']} -> {card['stage']}",
        "",
        f"- tag: `{card['tag']}`",
        f"- commit: `{card['commit']}`",
        f"- model: `{card['path']}` md5 `{card['model_md5']}` "
        f"(re-hashed from the {card['model_checked_in']})",
        f"- promoted by: {card['promoted_by']['name']} <{card['promoted_by']['email']}> "
        f"at {card['promoted_at']}",
    ]
    if card["compared_with"]:
        other = card["compared_with"]
        out.append(f"- compared with: {other['version']} (`{other['commit'][:12]}`)")
    comparison = card.get("comparison")
    if comparison:
        out.append(
            f"- scored on the same rows (md5 `{comparison['rows_md5']}`) by "
            f"`{comparison['evaluate']}`: champion {comparison['champion']['version']} "
            f"{_scores_text(comparison['champion'])}; challenger "
            f"{comparison['challenger']['version']} {_scores_text(comparison['challenger'])}"
        )
    if card["forced"]:
        out.append(f"- **forced past failing gates**: {card['reason']}")
    elif card["reason"]:
        out.append(f"- reason: {card['reason']}")
    out += ["", "## Gates", "", gate_table_markdown(card["gates"]), ""]
    out += ["## Outputs (dvc.lock)", "", "| path | stage | md5 | size |", "|---|---|---|---|"]
    for path, record in card["outputs"].items():
        out.append(
            f"| `{_cell(path)}` | {record.get('stage', '')} | `{record.get('md5')}` "
            f"| {record.get('size')} |"
        )
    out += ["", "## Params", "", "| file | key | value |", "|---|---|---|"]
    for path, values in card["params"].items():
        for key, value in values.items():
            out.append(f"| {_cell(path)} | `{_cell(key)}` | `{_cell(value)}` |")
    out += ["", "## Metrics", ""]
    if card["metrics"] is None:
        out.append("(not recorded)")
    else:
        out += ["| file | metric | value |", "|---|---|---|"]
        for path, values in card["metrics"].items():
            for key, value in values.items():
                out.append(f"| {_cell(path)} | `{_cell(key)}` | {_cell(value)} |")
    env = card["environment"]
    out += ["", "## Environment", ""]
    python = f"{env.get('python')} ({env.get('implementation')})"
    out.append(f"- Python {python} on {env.get('platform')}")
    for name, version in (env.get("packages") or {}).items():
        out.append(f"- {name} {version}")
    return "\n".join(out) + "\n"
