"""The root command group: lazy subcommands, global options, errors -> exit codes."""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import sys
from typing import Any, NoReturn

import click

from mlratchet import __version__
from mlratchet.errors import RatchetError, chain, missing_extra
from mlratchet.exitcodes import ExitCode, exit_code_for

#: name -> "module:attribute" of each top-level command; a module is imported only when needed.
COMMANDS: dict[str, str] = {
    "ct": "mlratchet.cli.ct:ct",
    "exp": "mlratchet.cli.exp:exp",
    "init": "mlratchet.cli.init:init",
    "metrics": "mlratchet.cli.metrics:metrics",
    "notes": "mlratchet.cli.notes:notes",
    "params": "mlratchet.cli.params:params",
    "promote": "mlratchet.cli.registry:promote",
    "register": "mlratchet.cli.registry:register",
    "registry": "mlratchet.cli.registry:registry",
    "report": "mlratchet.cli.report:report",
    "repro": "mlratchet.cli.repro:repro",
    "verify": "mlratchet.cli.verify:verify",
    # issue 6: contracts and monitoring
    "contract": "mlratchet.cli.contract:contract",
    "validate": "mlratchet.cli.validate:validate",
    "monitor": "mlratchet.cli.monitor:monitor",
    # issue 14: continuous delivery
    "serve": "mlratchet.cli.serve:serve",
}

#: stdout was closed before we finished writing (piped into `head`): 128 + SIGPIPE, as the shell
#: reports a tool killed by SIGPIPE. Only the CLI writes to pipes, so it is not in the core table.
BROKEN_PIPE = 141

EXIT_CODES_HELP = """\b
Exit codes:
  0    ok
  1    a check said no (not reproducible, invalid data, drift, gate refused, regression)
  2    usage or bad input (unreadable file, unknown revision, bad name; disk full, read-only)
  3    integrity failure (a hash that does not match its record, a corrupt artifact)
  4    conflict or busy (tag exists elsewhere, push rejected, lock held, dirty worktree)
  5    refused for safety (untrusted model type, a path escaping the repository)
  70   internal error (a bug: rerun as `ratchet --traceback CMD ...` and report it)
  130  interrupted
  141  stdout closed early (piped into head), as for a tool killed by SIGPIPE"""


#: errno values that say the machine refused a write or an access (a full disk, a read-only
#: file system, permissions): the environment's doing, not a bug, so bad input (exit 2).
ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def environment_error(exc: BaseException) -> OSError | None:
    """The OSError of the environment (disk full, read-only, denied) in ``exc``'s chain."""
    return next(
        (e for e in chain(exc) if isinstance(e, OSError) and e.errno in ENVIRONMENT_ERRNOS),
        None,
    )


def describe_environment_error(exc: OSError) -> str:
    """``cannot write PATH: No space left on device (the environment, not a bug)``."""
    verb = "access" if exc.errno in (errno.EACCES, errno.EPERM) else "write"
    where = f" {exc.filename}" if exc.filename is not None else ""
    reason = exc.strerror or os.strerror(exc.errno or 0)
    return f"cannot {verb}{where}: {reason} (the environment, not a bug)"


class ReportedError(click.ClickException):
    """A library error on its way out of Click, carrying its exit code."""

    def __init__(self, error: RatchetError) -> None:
        super().__init__(str(error))
        # Click declares exit_code on the class; each instance carries its own row of the table.
        self.exit_code = int(exit_code_for(error))  # type: ignore[misc]

    def show(self, file: Any = None) -> None:
        click.secho(f"error: {self.message}", err=True, fg="red")


def _wants_json(ctx: click.Context) -> bool:
    """Whether the subcommand was given ``--json`` (before any ``--``)."""
    args = list(ctx.args)
    if "--" in args:
        args = args[: args.index("--")]
    return "--json" in args


def _echo_json_error(message: str, code: int, kind: str) -> None:
    """The one JSON object a failed ``--json`` command leaves on stdout."""
    from mlratchet.fsio import dumps_json

    error = {"error": {"message": message, "exit_code": code, "type": kind}}
    with contextlib.suppress(OSError):
        click.echo(dumps_json(error), nl=False)


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use, from a name -> "module:attr" map."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module_name, attr = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


class RatchetGroup(LazyGroup):
    """The root group: maps library errors, Ctrl-C and bugs to the exit-code table.

    A command returns an int (its exit code); the group exits with it. A full disk, a
    read-only file system or a denied permission is the environment's (exit 2), not a bug.
    ``--traceback`` prints a bug's traceback and still exits 70. A command given ``--json``
    that fails leaves one object on stdout: ``{"error": {"message", "exit_code", "type"}}``.
    """

    def invoke(self, ctx: click.Context) -> Any:
        as_json = _wants_json(ctx)
        try:
            rv = super().invoke(ctx)
        except RatchetError as exc:
            reported = ReportedError(exc)
            if as_json:
                _echo_json_error(str(exc), reported.exit_code, type(exc).__name__)
            raise reported from exc
        except KeyboardInterrupt:
            click.secho("interrupted", err=True, fg="red")
            ctx.exit(ExitCode.INTERRUPTED)
        except BrokenPipeError:
            # The reader went away (`ratchet ... | head`): not an error of ours. Point stdout at
            # /dev/null so the interpreter's final flush does not raise again, and exit as a
            # process killed by SIGPIPE would, like DVC and the shell's own tools.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(BROKEN_PIPE)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            self._unexpected(ctx, exc, as_json=as_json)
        if isinstance(rv, int) and rv != ExitCode.OK:
            ctx.exit(rv)
        return rv

    def _unexpected(self, ctx: click.Context, exc: Exception, *, as_json: bool) -> NoReturn:
        """A missing extra, the environment refusing, or a bug: report it and exit."""
        extra = missing_extra(exc) if isinstance(exc, ModuleNotFoundError) else None
        if extra is not None:  # an optional dependency is absent: say which extra brings it
            if as_json:
                _echo_json_error(str(extra), ExitCode.BAD_INPUT, type(extra).__name__)
            raise ReportedError(extra) from exc
        refused = environment_error(exc)
        if refused is not None:  # a full disk, a read-only file system, no permission
            message = describe_environment_error(refused)
            if as_json:
                _echo_json_error(message, ExitCode.BAD_INPUT, type(refused).__name__)
            click.secho(f"error: {message}", err=True, fg="red")
            ctx.exit(ExitCode.BAD_INPUT)
        if as_json:
            _echo_json_error(
                f"internal error: {type(exc).__name__}: {exc}",
                ExitCode.INTERNAL,
                type(exc).__name__,
            )
        if (ctx.obj or {}).get("traceback"):
            import traceback

            traceback.print_exc(file=sys.stderr)
        click.secho(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in mlratchet; rerun as `ratchet --traceback <command> ...` "
            "(or with RATCHET_TRACEBACK=1) and report it.",
            err=True,
            fg="red",
        )
        ctx.exit(ExitCode.INTERNAL)


@click.group(
    cls=RatchetGroup,
    lazy=COMMANDS,
    epilog=EXIT_CODES_HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(
    __version__, "-V", "--version", prog_name="ratchet", message="%(prog)s %(version)s"
)
@click.option(
    "--traceback",
    is_flag=True,
    hidden=True,
    envvar="RATCHET_TRACEBACK",
    help="Show the Python traceback of an internal error.",
)
@click.pass_context
def cli(ctx: click.Context, traceback: bool) -> None:
    """mlratchet: prove a commit reproduces, diff its metrics, promote models through gates."""
    ctx.ensure_object(dict)
    ctx.obj["traceback"] = traceback


def main(argv: list[str] | None = None) -> int:
    """The ``ratchet`` console script."""
    try:
        cli.main(args=argv, prog_name="ratchet", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0  # pragma: no cover - standalone mode always exits


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
