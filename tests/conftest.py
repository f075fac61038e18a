"""Shared fixtures: an isolated data directory and the bundled real files.

Tests never depend on ../shared: the real files they need are in seeds/ and tests/fixtures/.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

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


def official_files() -> dict[str, bytes]:
    """Official download URL -> the real file bundled as its seed (decompressed)."""
    from screening.config import source_definitions

    out: dict[str, bytes] = {}
    for d in source_definitions():
        if not d.seed:
            continue
        if d.files:
            urls = {name: d.url + name for name in d.files}
        else:
            urls = {d.url.rsplit("/", 1)[-1]: d.url}
        for name, url in urls.items():
            out[url] = read_gz(SEEDS / d.seed / f"{name}.gz")
    return out


def serve(mocked: responses.RequestsMock, url: str, body: bytes, **kw: object) -> None:
    """Serve ``body`` at ``url`` with an ETag and a Last-Modified, replacing any earlier body."""
    headers = {
        "ETag": '"' + hashlib.sha256(body).hexdigest()[:16] + '"',
        "Last-Modified": "Fri, 03 May 2024 10:00:00 GMT",
    }
    mocked.upsert(responses.GET, url, body=body, headers=headers, **kw)  # type: ignore[arg-type]


@pytest.fixture
def lists_online(mocked_http: responses.RequestsMock) -> dict[str, bytes]:
    """Every official list URL answers with the real bundled file (the seed's)."""
    files = official_files()
    for url, body in files.items():
        serve(mocked_http, url, body)
    return files
