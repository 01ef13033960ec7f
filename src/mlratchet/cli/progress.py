"""The live per-stage display of ``ratchet repro`` and ``ratchet verify`` (stderr), and the tables.

On a terminal: a rich live table (one row per stage: state, elapsed time, last output line),
with each stage's output printed above it as it comes. Elsewhere (CI logs, a file): one plain
line per event. Either way it goes to stderr; stdout carries only the report.
"""

from __future__ import annotations

import threading
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
        import os
        import sys

        self.title = title
        self.live_mode = sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
        self.console: Any = None
        if self.live_mode:
            from rich.console import Console

            self.console = Console(stderr=True, highlight=False)
        self.rows: dict[str, _Row] = {}
        self._live: Any = None
        self._lock = threading.Lock()  # rows are read by rich's refresh thread

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
        with self._lock:
            self._handle(event)

    def _handle(self, event: Event) -> None:
        row = self.rows.get(event.stage) if event.stage else None
        if event.kind == "checking":
            self.rows[event.stage] = _Row()
        elif event.kind == "running":
            row = self.rows.setdefault(event.stage, _Row())
            row.status, row.command_started = "running", time.perf_counter()
            head = f"{event.stage}: running "
            self._line(head + event.text, head, event.text, "bold", "dim")
        elif event.kind == "output":
            if row is not None:
                row.last_line = event.text
            self._line(event.text, f"{event.stage} │ ", event.text, "dim", "")
        elif event.kind == "finished" and event.run is not None:
            row = self.rows.setdefault(event.stage, _Row())
            row.status, row.run = event.run.status, event.run
            icon, style = _ICONS.get(event.run.status, ("?", ""))
            text = f"{event.stage}: {event.run.status} in {seconds(event.run.seconds)}"
            self._line(text, f"{icon} ", text, style, "")
        elif event.kind == "message":
            self._line(f"dvc: {event.text}", "dvc: ", event.text, "yellow", "yellow")

    def _line(self, plain: str, head: str, text: str, head_style: str, text_style: str) -> None:
        """One line above the live view (terminal), or ``plain`` on stderr (elsewhere)."""
        if not self.live_mode:
            click.echo(plain, err=True)
            return
        from rich.text import Text

        line = Text(head, style=head_style)
        line.append(text, style=text_style)
        self.console.print(line)

    def _render(self) -> Any:
        from rich.spinner import Spinner
        from rich.table import Table

        table = Table.grid(padding=(0, 1))
        now = time.perf_counter()
        with self._lock:
            rows = list(self.rows.items())
        active = [(name, row) for name, row in rows if row.run is None]
        for name, row in active:
            elapsed = now - (row.command_started or row.started)
            detail = row.last_line[-80:] if row.status == "running" else "checking"
            table.add_row(
                Spinner("dots", style="cyan"),
                f"[bold]{_escape(name)}[/]",
                seconds(elapsed),
                f"[dim]{_escape(detail)}[/]",
            )
        done = sum(1 for _, row in rows if row.run is not None)
        table.add_row("", f"[dim]{self.title}: {done} stage(s) done[/]", "", "")
        return table


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@dataclass(frozen=True)
class Column:
    """A column of a report table."""

    name: str
    right: bool = False


@dataclass(frozen=True)
class Cell:
    """A table cell: its text, and a rich style for terminals."""

    text: str
    style: str = ""


STAGE_COLUMNS = (
    Column("stage"),
    Column("status"),
    Column("total", right=True),
    Column("command", right=True),
    Column("CPU", right=True),
    Column("peak RSS", right=True),
)


def stage_rows(runs: list[StageRun]) -> list[list[Cell]]:
    """Rows of stage runs: status, total time, command time, CPU time, peak RSS."""
    rows = []
    for run in runs:
        icon, style = _ICONS.get(run.status, ("?", ""))
        rows.append(
            [
                Cell(run.stage),
                Cell(f"{icon} {run.status}", style),
                Cell(seconds(run.seconds)),
                Cell(seconds(run.command_s)),
                Cell(seconds(run.cpu_s)),
                Cell(mib(run.peak_rss_mib)),
            ]
        )
    return rows


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


def print_table(title: str, columns: tuple[Column, ...], rows: list[list[Cell]]) -> None:
    """Print a table on stdout: rich on a terminal, plain aligned text elsewhere (no rich cost)."""
    import sys

    if not sys.stdout.isatty():
        widths = [
            max(len(col.name), *(len(row[i].text) for row in rows)) for i, col in enumerate(columns)
        ]

        def line(cells: list[str]) -> str:
            return "  ".join(
                text.rjust(w) if col.right else text.ljust(w)
                for text, w, col in zip(cells, widths, columns, strict=True)
            ).rstrip()

        click.echo(title)
        click.echo(line([col.name for col in columns]))
        for row in rows:
            click.echo(line([cell.text for cell in row]))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col.name, justify="right" if col.right else "left")
    for row in rows:
        table.add_row(
            *(f"[{c.style}]{_escape(c.text)}[/]" if c.style else _escape(c.text) for c in row)
        )
    Console(file=sys.stdout, highlight=False).print(table)
