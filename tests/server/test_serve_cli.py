"""``screening serve``: options, the loopback warning, the missing extra (uvicorn not started)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from screening.cli import ExitCode, app
from screening.cli._serve import is_loopback

runner = CliRunner()
KEY = "test-key-0123456789abcdef"


class FakeScreener:
    def list_warnings(self) -> tuple[str, ...]:
        return ("screened against the bundled seed snapshots",)


@pytest.fixture
def served(home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Stand-ins for create_app and uvicorn.run that record what they were given."""
    pytest.importorskip("fastapi", reason="the server extra is not installed")
    import uvicorn

    import screening.server

    seen: dict[str, Any] = {}

    def create_app(settings: Any, **kw: Any) -> Any:
        seen["settings"] = settings
        seen["create"] = kw
        return SimpleNamespace(state=SimpleNamespace(holder=SimpleNamespace(get=FakeScreener)))

    def run(application: Any, **kw: Any) -> None:
        seen["run"] = kw

    monkeypatch.setattr(screening.server, "create_app", create_app)
    monkeypatch.setattr(uvicorn, "run", run)
    return seen


def test_serves_on_loopback_by_default(served: dict[str, Any], home: Path) -> None:
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 0, result.output
    assert served["run"]["host"] == "127.0.0.1" and served["run"]["port"] == 8000
    assert served["run"]["log_config"]["loggers"]["screening"]["level"] == "INFO"
    assert served["create"]["api_key"] is None
    assert served["create"]["max_body"] == 1_000_000
    assert served["settings"].home == home
    assert "WARNING" not in result.stderr
    assert "serving http://127.0.0.1:8000 (no API key; bodies up to 1,000,000 bytes" in (
        result.stderr
    )
    assert "warning: screened against the bundled seed snapshots" in result.stderr


def test_binding_elsewhere_without_a_key_warns_loudly(served: dict[str, Any]) -> None:
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "9000"])
    assert result.exit_code == 0, result.output
    assert "WARNING: serving on 0.0.0.0:9000 WITHOUT an API key." in result.stderr
    assert served["run"]["host"] == "0.0.0.0" and served["run"]["port"] == 9000


def test_a_key_from_the_environment_silences_the_warning(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCREENING_API_KEY", KEY)
    result = runner.invoke(app, ["serve", "--host", "::", "--max-body", "2MB"])
    assert result.exit_code == 0, result.output
    assert "WARNING" not in result.stderr
    assert served["create"]["api_key"] == KEY and served["create"]["max_body"] == 2_000_000
    assert "serving http://[::]:8000 (API key required" in result.stderr
    assert KEY not in result.output  # the key itself is never printed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--api-key", "short"], "the API key is too short (at least 16 characters)"),
        (["--max-body", "lots"], "invalid size 'lots'"),
        (["--log-level", "loud"], "--log-level must be"),
    ],
)
def test_bad_options_exit_2(served: dict[str, Any], args: list[str], message: str) -> None:
    result = runner.invoke(app, ["serve", *args])
    assert result.exit_code == ExitCode.USAGE
    assert message in result.stderr
    assert "run" not in served


def test_without_the_server_extra(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn -> ImportError
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == ExitCode.USAGE
    assert "needs the server extra" in result.stderr
    assert "pip install 'screening[server]'" in result.stderr


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("screening.example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
