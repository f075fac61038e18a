"""The exception tree. Every error the library raises on purpose is a ``ScreeningError``.

    ScreeningError
    ├── ConfigError            bad configuration file, environment variable or rule file
    ├── InputError             a caller's input cannot be used (bad file, bad field, bad row)
    ├── SourceError            a list source could not be brought in
    │   ├── DownloadError      network, HTTP status, timeout, size cap, TLS
    │   ├── ParseError         the payload is not the expected format (HTML page, empty body)
    │   └── ValidationError    it parsed, but fails a guard (record count dropped, no records)
    ├── StoreError             the local snapshot store cannot be read or written
    │   └── LockedError        another refresh holds the store's lock
    └── StaleDataError         a list snapshot is older than the allowed maximum age

Two kinds of trouble are kept apart (as nomenklatura does): a malformed *record* is skipped,
counted and reported, and the run goes on; a ``ScreeningError`` aborts the operation it was
raised in, and leaves every stored snapshot as it was.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DownloadError",
    "InputError",
    "LockedError",
    "ParseError",
    "ScreeningError",
    "SourceError",
    "StaleDataError",
    "StoreError",
    "ValidationError",
]


class ScreeningError(Exception):
    """Root of every error ``screening`` raises on purpose."""


class ConfigError(ScreeningError):
    """The configuration, an environment variable or a rule/data file is invalid."""


class InputError(ScreeningError):
    """A caller's input (a file, a row, a field) cannot be screened."""


class SourceError(ScreeningError):
    """A list source could not be fetched, parsed or validated."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source


class DownloadError(SourceError):
    """The download failed: network error, HTTP error status, timeout, size cap."""


class ParseError(SourceError):
    """The payload is not in the expected format."""


class ValidationError(SourceError):
    """The payload parsed but failed a guard (e.g. the record count fell too far)."""


class StoreError(ScreeningError):
    """The local snapshot store cannot be read or written."""


class LockedError(StoreError):
    """Another process holds the refresh lock."""


class StaleDataError(ScreeningError):
    """A list snapshot is older than the allowed maximum age."""
