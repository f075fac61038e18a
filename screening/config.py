"""Settings: defaults, then the config file, then ``SCREENING_*`` environment variables.

The config file is TOML, at ``$SCREENING_HOME/config.toml`` unless ``SCREENING_CONFIG`` (or the
CLI's ``--config``) names another. Every key is optional::

    keep_snapshots = 5          # snapshots kept per source
    max_record_drop = 0.10      # reject a new snapshot with >10% fewer records than the last
    max_age_days = 7            # a snapshot older than this is reported stale
    threshold = 0.85            # default alert threshold for name matching

    [http]
    timeout = 60                # seconds, per connect and per read
    retries = 3                 # retries after the first attempt, with exponential backoff
    backoff = 1.0               # seconds before the first retry; doubles each time
    max_bytes = 268435456       # a download larger than this is rejected
    user_agent = "Mozilla/5.0 (...)"

    [urls]                      # mirrors: one key per download feed (url_id in lists/sources.toml)
    ofac_sdn = "http://127.0.0.1:8000/ofac/"
    trade_csl = "http://127.0.0.1:8000/csl/consolidated.csv"

    [sources.bis_denied_persons]
    enabled = false

Environment variables override the file: ``SCREENING_HOME``, ``SCREENING_CONFIG``,
``SCREENING_<URL_ID>_URL`` (e.g. ``SCREENING_OFAC_SDN_URL``, ``SCREENING_TRADE_CSL_URL``),
``SCREENING_<SOURCE_ID>_ENABLED`` (``0``/``1``), ``SCREENING_KEEP_SNAPSHOTS``,
``SCREENING_MAX_RECORD_DROP``, ``SCREENING_MAX_AGE_DAYS``, ``SCREENING_THRESHOLD``,
``SCREENING_HTTP_TIMEOUT``, ``SCREENING_HTTP_RETRIES``, ``SCREENING_USER_AGENT``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from screening._resources import lists_path
from screening._urls import redact
from screening.errors import ConfigError

# The OFAC host has answered 403 to non-browser User-Agents (DOMAIN.md §1.2): the WAF rule seen
# accepted only agents starting "Mozilla/<digit>" and at least 40 characters long.
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0 Safari/537.36 screening/0.1"
)


class SourceDefinition(BaseModel):
    """One list source as declared in ``lists/sources.toml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str  # official name of the list
    list_name: str  # short name shown in results ("OFAC SDN", "BIS Entity List")
    module: str  # the module under screening.sources that parses it
    url_id: str  # the download feed it comes from; sources sharing a feed share one download
    url: str  # official URL (a base URL ending in "/" when the feed has several files)
    files: tuple[str, ...] = ()  # file names under a base URL; empty = the URL is the file
    format: str
    publisher: str
    licence: str
    provenance: str
    docs_url: str | None = None
    enabled: bool = True
    options: dict[str, str] = Field(default_factory=dict)
    seed: str | None = None  # directory under seeds/ holding the bundled snapshot's files
    seed_published: str | None = None  # ISO date the seed's files were published

    @field_validator("id", "url_id")
    @classmethod
    def _identifier(cls, v: str) -> str:
        if not v.replace("_", "").isalnum() or not v.islower():
            raise ValueError("must be lower-case letters, digits and underscores")
        return v


def _not_a_bool(value: object) -> object:
    """A number setting given ``true``/``false`` is refused: read as 1/0 it could switch a
    guard off (``max_record_drop = true`` would allow any drop)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


def _check_url(url: str) -> str:
    """A source URL must be http(s) with a host (and a valid port, if any)."""
    shown = redact(url)  # no query string or user:password (a signed link, a secret)
    if url != url.strip() or any(c.isspace() for c in url):
        raise ValueError(f"{shown!r} contains spaces")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError as exc:
        raise ValueError(f"{shown!r} is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{shown!r} is not an http:// or https:// URL with a host")
    return url


class HttpSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout: float = Field(default=60.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)
    backoff: float = Field(default=1.0, ge=0)
    max_bytes: int = Field(default=256 * 1024 * 1024, gt=0)
    user_agent: str = DEFAULT_USER_AGENT

    _numbers = field_validator("timeout", "retries", "backoff", "max_bytes", mode="before")(
        _not_a_bool
    )


class SourceSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool | None = None


class Settings(BaseModel):
    """Everything configurable. Build it with :func:`load_settings`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path
    keep_snapshots: int = Field(default=5, ge=1)
    max_record_drop: float = Field(default=0.10, ge=0, le=1)
    max_age_days: float = Field(default=7, gt=0)
    threshold: float = Field(default=0.85, gt=0, le=1)
    http: HttpSettings = HttpSettings()
    urls: dict[str, str] = Field(default_factory=dict)
    sources: dict[str, SourceSettings] = Field(default_factory=dict)

    _numbers = field_validator(
        "keep_snapshots", "max_record_drop", "max_age_days", "threshold", mode="before"
    )(_not_a_bool)

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls: dict[str, str]) -> dict[str, str]:
        for k, v in urls.items():
            try:
                _check_url(v)
            except ValueError as exc:
                raise ValueError(
                    f"{k} (set by [urls] {k} or SCREENING_{k.upper()}_URL): {exc}"
                ) from None
        return urls

    @property
    def store_path(self) -> Path:
        return self.home / "screening.sqlite3"

    def url_for(self, definition: SourceDefinition) -> str:
        """The URL to fetch a source from: the configured mirror, else the official one."""
        return self.urls.get(definition.url_id, definition.url)

    def is_enabled(self, definition: SourceDefinition) -> bool:
        override = self.sources.get(definition.id)
        if override is not None and override.enabled is not None:
            return override.enabled
        return definition.enabled

    def enabled_sources(self) -> list[SourceDefinition]:
        return [d for d in source_definitions() if self.is_enabled(d)]


@cache
def source_definitions() -> tuple[SourceDefinition, ...]:
    """Every source declared in ``lists/sources.toml``, in file order."""
    path = lists_path("sources.toml")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read source definitions: {exc}") from exc
    out = []
    for sid, body in raw.get("sources", {}).items():
        try:
            out.append(SourceDefinition(id=sid, **body))
        except (ValidationError, TypeError) as exc:
            raise ConfigError(f"{path}: source {sid!r}: {_first_error(exc)}") from exc
    return tuple(out)


def get_source_definition(source_id: str) -> SourceDefinition:
    for d in source_definitions():
        if d.id == source_id:
            return d
    known = ", ".join(d.id for d in source_definitions())
    raise ConfigError(f"unknown source {source_id!r} (known: {known})")


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("screening", appauthor=False))


def load_settings(
    home: Path | str | None = None,
    config_file: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from defaults, the config file and the environment (in rising precedence).

    ``home`` and ``config_file`` (e.g. from CLI options) win over everything else.
    """
    env = os.environ if environ is None else environ
    home_path = Path(home or env.get("SCREENING_HOME") or default_home()).expanduser()
    if home_path.exists() and not home_path.is_dir():
        raise ConfigError(f"data directory {home_path}: not a directory")
    cfg_path = Path(config_file or env.get("SCREENING_CONFIG") or home_path / "config.toml")
    data: dict[str, Any] = {}
    if config_file is not None or "SCREENING_CONFIG" in env or cfg_path.exists():
        try:
            data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {cfg_path}") from exc
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{cfg_path}: {exc}") from exc
    data["home"] = home_path

    def put(key: str, value: str, *path: str) -> None:
        target = data
        for p in path:
            target = target.setdefault(p, {})
            if not isinstance(target, dict):
                raise ConfigError(f"{cfg_path}: [{'.'.join(path)}] must be a table")
        target[key] = value

    scalar_env = {
        "SCREENING_KEEP_SNAPSHOTS": ("keep_snapshots",),
        "SCREENING_MAX_RECORD_DROP": ("max_record_drop",),
        "SCREENING_MAX_AGE_DAYS": ("max_age_days",),
        "SCREENING_THRESHOLD": ("threshold",),
        "SCREENING_HTTP_TIMEOUT": ("http", "timeout"),
        "SCREENING_HTTP_RETRIES": ("http", "retries"),
        "SCREENING_USER_AGENT": ("http", "user_agent"),
    }
    for var, keys in scalar_env.items():
        if var in env:
            put(keys[-1], env[var], *keys[:-1])
    for d in source_definitions():
        url_var = f"SCREENING_{d.url_id.upper()}_URL"
        if url_var in env:
            put(d.url_id, env[url_var], "urls")
        enabled_var = f"SCREENING_{d.id.upper()}_ENABLED"
        if enabled_var in env:
            put("enabled", env[enabled_var], "sources", d.id)
    known_ids = {d.id for d in source_definitions()}
    for sid in data.get("sources", {}) if isinstance(data.get("sources"), dict) else ():
        if sid not in known_ids:
            raise ConfigError(f"{cfg_path}: [sources.{sid}]: unknown source")
    known_urls = {d.url_id for d in source_definitions()}
    for uid in data.get("urls", {}) if isinstance(data.get("urls"), dict) else ():
        if uid not in known_urls:
            raise ConfigError(
                f"{cfg_path}: [urls] {uid}: unknown feed (known: {sorted(known_urls)})"
            )
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"configuration: {_first_error(exc)}") from exc


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        return f"{loc}: {msg}" if loc else msg
    return str(exc)
