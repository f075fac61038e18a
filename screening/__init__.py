"""screening: sanctions and export-control exposure screening.

    from screening import Screener
    screener = Screener.open()                      # current lists, seeded on first use
    result = screener.screen("Рособоронэкспорт", country="RU")
    for hit in result.hits:
        print(hit.score, hit.list_name, hit.entry_id, hit.matched_name)

The public API is what ``__all__`` lists; everything else is private and may change. Names are
imported on first use, so ``import screening`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    Identifier,
    ListEntry,
    Name,
    NameKind,
    ScoreExplanation,
    ScreeningResult,
    SnapshotInfo,
    SnapshotRef,
)

__version__ = "0.1.0"

# name -> module that defines it (imported when first used)
_LAZY = {
    "Settings": "screening.config",
    "load_settings": "screening.config",
    "Screener": "screening.screener",
    "BatchRow": "screening.screener",
    "BatchResult": "screening.screener",
    "RejectedRow": "screening.screener",
    "Comparison": "screening.screener",
    "compare": "screening.screener",
    "screen_rows": "screening.screener",
    "Store": "screening.store",
    "SnapshotDiff": "screening.store",
    "refresh": "screening._refresh",
    "import_files": "screening._refresh",
    "RefreshReport": "screening._refresh",
    "SourceOutcome": "screening._refresh",
    "status": "screening._status",
    "SourceStatus": "screening._status",
    "Shipment": "screening.shipments",
    "Party": "screening.shipments",
    "GoodsLine": "screening.shipments",
    "PartyRole": "screening.shipments",
    "load_shipments": "screening.shipments",
    "ShipmentResult": "screening.rules",
    "Finding": "screening.rules",
    "Decision": "screening.rules",
    "Severity": "screening.rules",
    "RuleSet": "screening.rules",
    "RuleSetVersion": "screening.rules",
    "load_ruleset": "screening.rules",
    "evaluate_shipment": "screening.rules",
}

__all__ = [
    "Address",
    "BatchResult",
    "BatchRow",
    "Comparison",
    "ConfigError",
    "Decision",
    "DownloadError",
    "EntityType",
    "Finding",
    "GoodsLine",
    "Hit",
    "Identifier",
    "InputError",
    "ListEntry",
    "LockedError",
    "Name",
    "NameKind",
    "ParseError",
    "Party",
    "PartyRole",
    "RefreshReport",
    "RejectedRow",
    "RuleSet",
    "RuleSetVersion",
    "ScoreExplanation",
    "Screener",
    "ScreeningError",
    "ScreeningResult",
    "Settings",
    "Severity",
    "Shipment",
    "ShipmentResult",
    "SnapshotDiff",
    "SnapshotInfo",
    "SnapshotRef",
    "SourceError",
    "SourceOutcome",
    "SourceStatus",
    "StaleDataError",
    "Store",
    "StoreError",
    "ValidationError",
    "__version__",
    "compare",
    "evaluate_shipment",
    "import_files",
    "load_ruleset",
    "load_settings",
    "load_shipments",
    "refresh",
    "screen_rows",
    "status",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'screening' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from screening._refresh import RefreshReport, SourceOutcome, import_files, refresh
    from screening._status import SourceStatus, status
    from screening.config import Settings, load_settings
    from screening.rules import (
        Decision,
        Finding,
        RuleSet,
        RuleSetVersion,
        Severity,
        ShipmentResult,
        evaluate_shipment,
        load_ruleset,
    )
    from screening.screener import (
        BatchResult,
        BatchRow,
        Comparison,
        RejectedRow,
        Screener,
        compare,
        screen_rows,
    )
    from screening.shipments import GoodsLine, Party, PartyRole, Shipment, load_shipments
    from screening.store import SnapshotDiff, Store
