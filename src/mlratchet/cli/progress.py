"""The live per-stage display of ``ratchet repro`` and ``ratchet verify`` (stderr), and the tables.

On a terminal: a rich live table (one row per stage: state, elapsed time, last output line),
with each stage's output printed above it as it comes. Elsewhere (CI logs, a file): one plain
line per event. Either way it goes to stderr; stdout carries only the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from mlratchet.reproduce.engine import Event, StageRun

_ICONS = {
    "ran": ("✔", "green"),
    "restored": ("↺", "cyan"),
    "skipped": ("·", "dim"),
    "pulled": ("↓", "cyan"),
    "failed": ("✘", "red"),
    "not-run": ("-", "dim"),
}


def seconds(value: float | None) -> str:
    """A duration for tables: ``-`` when unknown."""
    if value is None:
        return "-"
    return f"{value:.2f} s" if value < 60 else f"{int(value // 60)} min {value % 60:04.1f} s"


def mib(value: float | None) -> str:
    """A memory size for tables."""
    return "-" if value is None else f"{value:.0f} MiB"


@dataclass
class _Row:
    status: str = "checking"
    started: float = field(default_factory=time.perf_counter)
    command_started: float | None = None
    last_line: str = ""
    run: StageRun | None = None


class StageDisplay:
    """Consumes engine events; use as a context manager around the run."""

    def __init__(self, title: str) -> None:
        from rich.console import Console

        self.title = title
        self.console = Console(stderr=True, highlight=False)
        self.live_mode = self.console.is_terminal
        self.rows: dict[str, _Row] = {}
        self._live: Any = None

    def __enter__(self) -> StageDisplay:
        if self.live_mode:
            from rich.live import Live

            self._live = Live(
                get_renderable=self._render,
                console=self.console,
                refresh_per_second=8,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None

    def __call__(self, event: Event) -> None:
        """Handle one event (called from the engine's threads, one at a time)."""
        row = self.rows.get(event.stage) if event.stage else None
        if event.kind == "checking":
            self.rows[event.stage] = _Row()
        elif event.kind == "running":
            row = self.rows.setdefault(event.stage, _Row())
            row.status, row.command_started = "running", time.perf_counter()
            self._line(
                f"[bold]{event.stage}[/]: running [dim]{_escape(event.text)}[/]",
                plain=f"{event.stage}: running {event.text}",
            )
        elif event.kind == "output":
            if row is not None:
                row.last_line = event.text
            self._line(f"[dim]{_escape(event.stage)} │[/] {_escape(event.text)}", plain=event.text)
        elif event.kind == "finished" and event.run is not None:
            row = self.rows.setdefault(event.stage, _Row())
            row.status, row.run = event.run.status, event.run
            icon, style = _ICONS.get(event.run.status, ("?", ""))
            text = f"{event.stage}: {event.run.status} in {seconds(event.run.seconds)}"
            self._line(f"[{style}]{icon}[/] {_escape(text)}", plain=text)
        elif event.kind == "message":
            self._line(f"[yellow]dvc: {_escape(event.text)}[/]", plain=f"dvc: {event.text}")

    def _line(self, rich_text: str, *, plain: str) -> None:
        if self.live_mode:
            self.console.print(rich_text)
        else:
            click.echo(plain, err=True)

    def _render(self) -> Any:
        from rich.spinner import Spinner
        from rich.table import Table

        table = Table.grid(padding=(0, 1))
        now = time.perf_counter()
        active = [(name, row) for name, row in self.rows.items() if row.run is None]
        for name, row in active:
            elapsed = now - (row.command_started or row.started)
            detail = row.last_line[-80:] if row.status == "running" else "checking"
            table.add_row(
                Spinner("dots", style="cyan"),
                f"[bold]{_escape(name)}[/]",
                seconds(elapsed),
                f"[dim]{_escape(detail)}[/]",
            )
        done = sum(1 for row in self.rows.values() if row.run is not None)
        table.add_row("", f"[dim]{self.title}: {done} stage(s) done[/]", "", "")
        return table


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def stage_table(runs: list[StageRun], title: str) -> Any:
    """A rich table of stage runs: status, total time, command time, CPU time, peak RSS."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name, justify in (
        ("stage", "left"),
        ("status", "left"),
        ("total", "right"),
        ("command", "right"),
        ("CPU", "right"),
        ("peak RSS", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for run in runs:
        icon, style = _ICONS.get(run.status, ("?", ""))
        table.add_row(
            _escape(run.stage),
            f"[{style}]{icon} {run.status}[/]",
            seconds(run.seconds),
            seconds(run.command_s),
            seconds(run.cpu_s),
            mib(run.peak_rss_mib),
        )
    return table


def stage_markdown(runs: list[StageRun]) -> str:
    """The same table in Markdown, for a pull request."""
    lines = [
        "| stage | status | total | command | CPU | peak RSS |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {run.stage} | {run.status} | {seconds(run.seconds)} | {seconds(run.command_s)} "
        f"| {seconds(run.cpu_s)} | {mib(run.peak_rss_mib)} |"
        for run in runs
    ]
    return "\n".join(lines) + "\n"


def print_table(table: Any) -> None:
    """Print a rich renderable on stdout."""
    import sys

    from rich.console import Console

    Console(file=sys.stdout, highlight=False).print(table)
