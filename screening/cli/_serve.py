"""``screening serve``: the HTTP service (needs the ``server`` extra: fastapi and uvicorn)."""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Annotated, Any

import typer

from screening.cli._app import ExitCode, command, fail, state
from screening.errors import InputError

#: An API key shorter than this is refused: it would be guessable.
MIN_API_KEY_LENGTH = 16


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: addresses only this machine can reach."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


@command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[
        str,
        typer.Option(
            "--host", help="Address to bind. Anything but loopback needs --api-key (and TLS)."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="SCREENING_API_KEY",
            help="Require this key in the X-API-Key header (prefer the environment variable: "
            "a command line is visible to other users).",
            show_default=False,
        ),
    ] = None,
    max_body: Annotated[
        str,
        typer.Option("--max-body", metavar="SIZE", help="Largest request body (e.g. 1MB, 512KB)."),
    ] = "1MB",
    rules: Annotated[
        Path | None,
        typer.Option(
            "--rules",
            help="Shipment rule file (default: the bundled lists/rules/default.toml).",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    reload_interval: Annotated[
        float,
        typer.Option(
            "--reload-interval",
            metavar="SECONDS",
            min=1,
            help="How often to look for new list snapshots (a refresh) to load.",
        ),
    ] = 30.0,
    log_level: Annotated[
        str, typer.Option("--log-level", help="critical, error, warning, info or debug.")
    ] = "info",
) -> None:
    """Serve check, batch, shipment and status as JSON over HTTP (OpenAPI at /openapi.json).

    Binds to 127.0.0.1 unless --host says otherwise. Stop with Ctrl-C or SIGTERM.
    """
    try:
        import uvicorn

        from screening.server import create_app, parse_size
    except ImportError as exc:
        fail(
            f"`screening serve` needs the server extra ({exc.name} is missing): "
            "pip install 'screening[server]'",
            ExitCode.USAGE,
        )
    from screening.rules.ruleset import load_ruleset

    level = log_level.strip().lower()
    if level not in ("critical", "error", "warning", "info", "debug"):
        raise InputError(
            f"--log-level must be critical, error, warning, info or debug, not {level!r}"
        )
    limit = parse_size(max_body)
    key = api_key or None
    if key is not None and len(key) < MIN_API_KEY_LENGTH:
        raise InputError(f"the API key is too short (at least {MIN_API_KEY_LENGTH} characters)")
    where = f"[{host}]" if ":" in host else host
    if not is_loopback(host) and key is None:
        for line in (
            "!" * 78,
            f"WARNING: serving on {where}:{port} WITHOUT an API key.",
            "Anyone who can reach this address can screen names and shipments and read the",
            "list status. Set SCREENING_API_KEY (or --api-key), or bind to 127.0.0.1 behind a",
            "reverse proxy that authenticates and terminates TLS.",
            "!" * 78,
        ):
            typer.echo(line, err=True)
    settings = state(ctx).settings
    typer.echo("loading the lists ...", err=True)
    app = create_app(
        settings,
        api_key=key,
        max_body=limit,
        ruleset=load_ruleset(rules) if rules else None,
        reload_interval=reload_interval,
    )
    holder = app.state.holder
    for w in holder.get().list_warnings():
        typer.echo(f"warning: {w}", err=True)
    auth = "API key required" if key else "no API key"
    typer.echo(
        f"serving http://{where}:{port} ({auth}; bodies up to {limit:,} bytes; "
        f"OpenAPI at /openapi.json)",
        err=True,
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=level,
        log_config=_log_config(level),
        server_header=False,
    )


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging set-up, plus the service's own messages (lists reloaded, errors)."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["screening"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config
