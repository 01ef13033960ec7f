"""The service's counters, in Prometheus' text exposition format (version 0.0.4).

Written directly (the format is a few lines of text per metric), so serving needs no client
library. Every series carries the model served as labels of ``ratchet_model_info``; requests
and errors are counted by endpoint and status code, latency in a histogram by endpoint, rows
predicted, missing and +-inf values in inputs and in predictions, contract violations by
column and rule, and (``--follow``) versions swapped in and refused, by reason. Each worker
process counts its own requests (scrape each, or run one worker per pod and scale pods).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping

#: Latency buckets, seconds (Prometheus' client defaults, with finer steps below 10 ms).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return f"{{{inner}}}" if inner else ""


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class Metrics:
    """Counters and a latency histogram, safe to update from several threads."""

    def __init__(self, model: Mapping[str, str]) -> None:
        self._lock = threading.Lock()
        self.model: Labels = tuple(model.items())
        self.counters: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self.buckets: dict[Labels, list[int]] = {}
        self.sums: dict[Labels, float] = defaultdict(float)
        self.counts: dict[Labels, int] = defaultdict(int)

    def inc(self, name: str, value: float = 1, **labels: str) -> None:
        """Add ``value`` to counter ``name`` with ``labels``."""
        if value:
            with self._lock:
                self.counters[name][tuple(labels.items())] += value

    def set_model(self, model: Mapping[str, str]) -> None:
        """The model now served (``ratchet_model_info``'s labels)."""
        with self._lock:
            self.model = tuple(model.items())

    def request(self, endpoint: str, code: int, seconds: float) -> None:
        """One request answered: counted, timed, and counted as an error from 400 up."""
        key = (("endpoint", endpoint),)
        with self._lock:
            self.counters["ratchet_requests_total"][(*key, ("code", str(code)))] += 1
            if code >= 400:
                self.counters["ratchet_request_errors_total"][(*key, ("code", str(code)))] += 1
            counts = self.buckets.setdefault(key, [0] * len(BUCKETS))
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    counts[i] += 1
            self.sums[key] += seconds
            self.counts[key] += 1

    def render(self) -> str:
        """The exposition text."""
        with self._lock:
            lines = [
                "# HELP ratchet_model_info The model served (its registry version and md5).",
                "# TYPE ratchet_model_info gauge",
                f"ratchet_model_info{_labels(self.model)} 1",
            ]
            for name, help_text in HELP.items():
                series = self.counters.get(name, {})
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
                for labels, value in sorted(series.items()):
                    lines.append(f"{name}{_labels(labels)} {_number(value)}")
            name = "ratchet_request_duration_seconds"
            lines += [
                f"# HELP {name} Time to answer a request, by endpoint.",
                f"# TYPE {name} histogram",
            ]
            for key, counts in sorted(self.buckets.items()):
                for bound, count in zip(BUCKETS, counts, strict=True):
                    bucket = _labels((*key, ("le", _number(bound))))
                    lines.append(f"{name}_bucket{bucket} {count}")
                lines.append(f"{name}_bucket{_labels((*key, ('le', '+Inf')))} {self.counts[key]}")
                lines.append(f"{name}_sum{_labels(key)} {self.sums[key]!r}")
                lines.append(f"{name}_count{_labels(key)} {self.counts[key]}")
        return "\n".join(lines) + "\n"


#: The counters, and their help lines.
HELP = {
    "ratchet_requests_total": "Requests answered, by endpoint and HTTP status code.",
    "ratchet_request_errors_total": "Requests answered with a 4xx or 5xx code.",
    "ratchet_rows_predicted_total": "Rows the model scored.",
    "ratchet_model_calls_total": "Calls of the model (fewer than requests when batching).",
    "ratchet_input_missing_total": "Missing (null or NaN) numeric input values received.",
    "ratchet_input_infinite_total": "+-inf input values received.",
    "ratchet_prediction_nonfinite_total": "Predictions that were NaN or +-inf.",
    "ratchet_contract_violations_total": "Input rows failing a rule, by column and rule.",
    "ratchet_follow_swaps_total": "Newly promoted versions swapped in (--follow).",
    "ratchet_follow_failures_total": "New versions or registry states refused, by reason "
    "(--follow): fetch, registry, integrity, untrusted, smoke.",
}
