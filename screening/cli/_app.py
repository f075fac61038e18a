"""The Typer application, its global options and its error discipline.

Commands live in the sibling modules (one per command group) and only parse arguments, call
the library, render and exit. Every ``ScreeningError`` becomes one line on stderr and the exit
code of its kind; nothing reaches the user as a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import IO, Annotated, Any, NoReturn, TypeVar

import typer

from screening.config import Settings, load_settings
from screening.errors import (
    ConfigError,
    InputError,
    ScreeningError,
    SourceError,
    StaleDataError,
    StoreError,
)

F = TypeVar("F", bound=Callable[..., Any])


class ExitCode(IntEnum):
    """Exit codes, one meaning each (documented in the README)."""

    OK = 0  # done; nothing to review (no hits, shipment clear, all sources refreshed)
    REVIEW = 1  # potential match(es) found / shipment needs review
    USAGE = 2  # bad command line, configuration or input file
    DATA = 3  # a list could not be refreshed or imported, or the store is unusable
    BLOCK = 4  # a shipment decision is "block"
    STALE = 5  # a list snapshot is older than the allowed age (status --max-age)
    INTERNAL = 9  # a bug: please report it
    INTERRUPTED = 130  # Ctrl-C (SIGINT): stopped; what was stored before stays
    OUTPUT_CLOSED = 141  # the reader of the output went away (`| head`): results cut short


def exit_code_for(exc: BaseException) -> ExitCode:
    if isinstance(exc, ConfigError | InputError):
        return ExitCode.USAGE
    if isinstance(exc, StaleDataError):
        return ExitCode.STALE
    if isinstance(exc, SourceError | StoreError):
        return ExitCode.DATA
    return ExitCode.INTERNAL


def fail(message: str, code: ExitCode) -> NoReturn:
    """Print one line on stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(int(code))


app = typer.Typer(
    name="screening",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Screen counterparties and shipments against OFAC, BIS and other lists.",
)


def command(*args: Any, on: typer.Typer | None = None, **kwargs: Any) -> Callable[[F], F]:
    """``@app.command`` that turns library errors into one line and a documented exit code.

    ``on`` registers the command on a sub-application (``rules``, ``register``, ...) instead.
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*a: Any, **kw: Any) -> Any:
            try:
                return fn(*a, **kw)
            except ScreeningError as exc:
                fail(str(exc) or type(exc).__name__, exit_code_for(exc))
            except (typer.Exit, typer.Abort, typer.TyperException):
                raise
            except KeyboardInterrupt:
                typer.echo(
                    "interrupted (what was stored before stays: lists, register, audit trail)",
                    err=True,
                )
                raise typer.Exit(ExitCode.INTERRUPTED) from None
            except BrokenPipeError:
                # Output piped into `head` and the like: no message, but not "nothing to
                # review" either, as the rest of the results were never seen.
                with contextlib.suppress(OSError):
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, sys.stdout.fileno())  # no second error at exit's flush
                raise typer.Exit(ExitCode.OUTPUT_CLOSED) from None
            except OSError as exc:
                where = f": {exc.filename}" if exc.filename else ""
                fail(f"{exc.strerror or exc}{where}", ExitCode.DATA)
            except Exception as exc:  # a bug: one line, unless asked for the traceback
                if os.environ.get("SCREENING_DEBUG"):
                    raise
                fail(
                    f"internal error: {type(exc).__name__}: {exc} "
                    "(set SCREENING_DEBUG=1 for a traceback; please report it)",
                    ExitCode.INTERNAL,
                )

        (on or app).command(*args, **kwargs)(wrapper)
        return fn

    return decorate


@dataclass
class State:
    home: Path | None = None
    config: Path | None = None
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(home=self.home, config_file=self.config)
        return self._settings


@app.callback()
def _global(
    ctx: typer.Context,
    home: Annotated[
        str | None,
        typer.Option(
            "--home",
            help="Data directory (default: $SCREENING_HOME or the user data dir).",
            show_default=False,
        ),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            help="Config file (default: $SCREENING_CONFIG or HOME/config.toml).",
            show_default=False,
        ),
    ] = None,
) -> None:
    # An empty value (an unset variable in a script: --home "$DIR") would otherwise quietly
    # mean the current directory.
    for option, value in (("--home", home), ("--config", config)):
        if value is not None and not value.strip():
            fail(f"{option} is empty", ExitCode.USAGE)
    ctx.obj = State(
        home=Path(home) if home is not None else None,
        config=Path(config) if config is not None else None,
    )


def record_audit(settings: Settings, kind: str, **fields: Any) -> None:
    """Append a record of a screening to the audit trail (``screening.audit``).

    A screening that cannot be recorded fails the command (exit 3) after its result was shown:
    an unrecorded screening is not one a compliance team can rely on."""
    from screening.audit import AuditLog

    AuditLog.open(settings).append(kind, **fields)


@contextmanager
def atomic_text(path: Path) -> Iterator[IO[str]]:
    """A text file (a report) written next to ``path`` and moved into place once complete:
    a reader never sees half of it, and a failure leaves no temporary file behind."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            yield out
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def refuse_overwriting(output: Path, source: Path) -> None:
    """InputError when ``output`` is the file ``source`` (the results would replace it)."""
    try:
        same = output.exists() and source.exists() and output.samefile(source)
    except OSError:
        return
    if same:
        raise InputError(f"{output}: the results would overwrite the input; choose another file")


def sub_app(name: str, help: str) -> typer.Typer:
    """A command group (``screening NAME …``) registered on the main application."""
    group = typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.add_typer(group, name=name)
    return group


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    if not isinstance(obj, State):  # called without the callback (should not happen)
        obj = State()
        ctx.find_root().obj = obj
    return obj
