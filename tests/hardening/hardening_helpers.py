"""Helpers shared by the hardening tests."""

from __future__ import annotations

from collections.abc import Callable

#: (exit code, stdout, stderr)
CliResult = tuple[int, str, str]
#: ``cli("batch", path, ...)``: run the CLI in-process against the shared real Screener.
Cli = Callable[..., CliResult]
