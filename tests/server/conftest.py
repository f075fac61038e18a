"""Fixtures for the HTTP service: an app over the seed snapshots, driven by TestClient (no
socket is opened)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from screening.config import Settings, load_settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from screening.screener import Screener

KEY = "test-key-0123456789abcdef"

ClientFactory = Callable[..., "TestClient"]


def _client_class() -> type[TestClient]:
    pytest.importorskip("fastapi", reason="the server extra is not installed")
    pytest.importorskip("httpx", reason="TestClient needs httpx (in the server extra)")
    with warnings.catch_warnings():
        # Newer Starlette prefers the httpx2 package and warns when it falls back to httpx.
        warnings.filterwarnings("ignore", message=r".*install .httpx2. instead")
        from fastapi.testclient import TestClient
    return TestClient


@pytest.fixture
def make_client() -> Iterator[ClientFactory]:
    """``make_client(app, **kw)``: a TestClient, closed after the test."""
    cls = _client_class()
    made: list[TestClient] = []

    def make(app: FastAPI, **kw: Any) -> TestClient:
        c = cls(app, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def settings(seeded_home: Path) -> Settings:
    """A private data directory holding the seed snapshots (the same ones ``screener`` uses)."""
    return load_settings(home=seeded_home, environ={})


@pytest.fixture
def client(settings: Settings, screener: Screener, make_client: ClientFactory) -> TestClient:
    from screening.server import create_app

    return make_client(create_app(settings, screener=screener, reload_interval=3600))


@pytest.fixture
def keyed(settings: Settings, screener: Screener, make_client: ClientFactory) -> TestClient:
    """The app with an API key configured (requests carry no key unless they add one)."""
    from screening.server import create_app

    app = create_app(settings, screener=screener, api_key=KEY, reload_interval=3600)
    return make_client(app)
