"""Command-line front door: ``screening …`` and ``python -m screening …``."""

from __future__ import annotations

# Importing the command modules registers their commands on ``app``.
from screening.cli import _lists as _lists  # refresh, import, status
from screening.cli import _match as _match  # check, batch, compare
from screening.cli import _register as _register  # register, rescreen, decide, audit
from screening.cli import _serve as _serve  # serve
from screening.cli import _shipments as _shipments  # shipment, rules
from screening.cli._app import ExitCode, app

__all__ = ["ExitCode", "app", "main"]


def main() -> None:
    """Run the CLI. Usage errors are one line on stderr (exit 2), like every other error."""
    import sys

    import typer

    for stream in (sys.stdout, sys.stderr):
        # A terminal or log whose encoding cannot show a character (PYTHONIOENCODING=latin-1
        # and the "−" of "+3 −1") gets an escape, not a crash after the work was done.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (stream.encoding or "").lower().replace("-", "") != "utf8":
            reconfigure(errors="backslashreplace")
    _interrupt_on_sigterm()
    try:
        code = app(prog_name="screening", standalone_mode=False)
    except typer.Abort:
        typer.echo("interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # a usage error: bad option, missing argument
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "screening"
        message = " ".join(str(getattr(exc, "format_message", exc.__str__)()).split())
        typer.echo(f"error: {message} (see '{where} --help')", err=True)
        sys.exit(int(getattr(exc, "exit_code", ExitCode.USAGE)))
    sys.exit(code if isinstance(code, int) else 0)


def _interrupt_on_sigterm() -> None:
    """SIGTERM (``timeout``, a service manager, a cron wrapper) stops a command as Ctrl-C
    does: the work in hand is rolled back, one line says so on stderr, and the exit code is
    130, where the default would kill the process without a word. ``refresh --every`` and
    ``serve`` put their own handlers in place to finish the current step first."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (an embedding program): leave signals alone
        pass
