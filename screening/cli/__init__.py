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
    app(prog_name="screening")
