"""Shared fixtures: an isolated data directory and the bundled real files.

Tests never depend on ../shared: the real files they need are in seeds/ and tests/fixtures/.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
FIXTURES = REPO / "tests" / "fixtures"


def read_gz(path: Path | str) -> bytes:
    """The decompressed bytes of a ``.gz`` file (seeds and fixtures are stored gzipped)."""
    return gzip.decompress(Path(path).read_bytes())


def real_file(relative: str) -> bytes:
    """A real list file by path under seeds/ or tests/fixtures/, decompressed if gzipped.

    ``real_file("ofac_sdn/2023-12-28/SDN.CSV")`` finds ``seeds/ofac_sdn/2023-12-28/SDN.CSV.gz``.
    """
    for base in (SEEDS, FIXTURES):
        for candidate in (base / relative, base / f"{relative}.gz"):
            if candidate.is_file():
                data = candidate.read_bytes()
                return gzip.decompress(data) if candidate.suffix == ".gz" else data
    raise FileNotFoundError(relative)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SCREENING_* variable from the developer's shell leaks into a test."""
    for var in list(os.environ):
        if var.startswith("SCREENING_"):
            monkeypatch.delenv(var)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> Iterator[Path]:
    """An empty data directory, set as SCREENING_HOME (created on first use, as in real life)."""
    path = tmp_path / "home"
    monkeypatch.setenv("SCREENING_HOME", str(path))
    yield path
