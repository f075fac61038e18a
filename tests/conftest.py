"""Shared fixtures: an isolated data directory and the bundled real files.

Tests never depend on ../shared: the real files they need are in seeds/ and tests/fixtures/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import responses

if TYPE_CHECKING:
    from screening.screener import Screener

from support import FIXTURES, REPO, SEEDS, official_files, read_gz, real_file, serve

__all__ = ["FIXTURES", "REPO", "SEEDS", "official_files", "read_gz", "real_file", "serve"]


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


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the seed snapshots of every default source, built once per test run.
    Use ``seeded_home`` to get a private copy."""
    from screening.config import load_settings
    from screening.seed import ensure_seeds
    from screening.store import Store

    settings = load_settings(home=tmp_path_factory.mktemp("seeded"), environ={})
    with Store.open(settings) as store:
        ensure_seeds(store, settings)
    return settings.store_path


@pytest.fixture
def seeded_home(home: Path, seeded_db: Path) -> Path:
    """``home`` with a copy of the seeded store (every default source at its seed snapshot)."""
    home.mkdir(mode=0o700, parents=True)
    shutil.copy2(seeded_db, home / seeded_db.name)
    return home


@pytest.fixture
def mocked_http() -> Iterator[responses.RequestsMock]:
    """The ``responses`` mock: no request leaves the process."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def lists_online(mocked_http: responses.RequestsMock) -> dict[str, bytes]:
    """Every official list URL answers with the real bundled file (the seed's)."""
    files = official_files()
    for url, body in files.items():
        serve(mocked_http, url, body)
    return files


@pytest.fixture(scope="session")
def screener_home(tmp_path_factory: pytest.TempPathFactory, seeded_db: Path) -> Path:
    """A data directory with the seed snapshots and their cached name index (built once)."""
    from screening.config import load_settings
    from screening.screener import Screener

    path = tmp_path_factory.mktemp("screener-home")
    shutil.copy2(seeded_db, path / seeded_db.name)
    Screener.open(load_settings(home=path, environ={}))
    return path


@pytest.fixture(scope="session")
def screener(screener_home: Path) -> Screener:
    """A Screener over the seed snapshots (shared by the tests; do not mutate)."""
    from screening.config import load_settings
    from screening.screener import Screener

    return Screener.open(load_settings(home=screener_home, environ={}))


@pytest.fixture
def screened_home(home: Path, screener_home: Path) -> Path:
    """``home`` holding a copy of the seeded store and its cached name index."""
    shutil.copytree(screener_home, home)
    return home
