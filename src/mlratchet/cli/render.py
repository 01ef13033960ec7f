"""Rendering helpers: data to stdout, messages to stderr."""

from __future__ import annotations

from typing import Any

import click


def echo_json(data: Any) -> None:
    """Strict, sorted JSON on stdout (never NaN or Infinity tokens)."""
    from mlratchet.fsio import dumps_json

    click.echo(dumps_json(data), nl=False)


def note(message: str) -> None:
    """A human message on stderr."""
    click.echo(message, err=True)


def fail(message: str) -> None:
    """A red line on stderr: a check said no."""
    click.secho(message, err=True, fg="red")
