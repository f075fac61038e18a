"""screening: sanctions and export-control exposure screening.

The public API is what ``__all__`` lists; everything else is private and may change.
"""

from __future__ import annotations

from screening.errors import (
    ConfigError,
    DownloadError,
    InputError,
    LockedError,
    ParseError,
    ScreeningError,
    SourceError,
    StaleDataError,
    StoreError,
    ValidationError,
)
from screening.models import (
    Address,
    EntityType,
    Hit,
    ListEntry,
    Name,
    NameKind,
    ScreeningResult,
    SnapshotInfo,
    SnapshotRef,
)

__version__ = "0.1.0"

__all__ = [
    "Address",
    "ConfigError",
    "DownloadError",
    "EntityType",
    "Hit",
    "InputError",
    "ListEntry",
    "LockedError",
    "Name",
    "NameKind",
    "ParseError",
    "ScreeningError",
    "ScreeningResult",
    "SnapshotInfo",
    "SnapshotRef",
    "SourceError",
    "StaleDataError",
    "StoreError",
    "ValidationError",
    "__version__",
]
