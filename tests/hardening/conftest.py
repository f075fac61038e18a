"""Fixtures of the hardening suite: the CLI against the shared real Screener."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hardening_helpers import Cli, CliResult
from typer.testing import CliRunner

from screening.cli import app
from screening.screener import Screener


@pytest.fixture
def cli(screener: Screener, home: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run ``screening ARGS`` in-process. ``Screener.open`` hands out the session's real
    Screener over the seed (its index is already loaded), so a test pays for the command,
    not for loading the lists again."""

    def opened(cls: type[Screener], *args: Any, **kwargs: Any) -> Screener:
        return screener

    monkeypatch.setattr(Screener, "open", classmethod(opened))
    runner = CliRunner()

    def run(*args: str) -> CliResult:
        result = runner.invoke(app, [str(a) for a in args])
        return result.exit_code, result.stdout, result.stderr

    return run
