"""_shipments commands."""

from __future__ import annotations

from screening.cli._app import app as app
