"""Helpers for the rule tests: the default rule set, a real Entity List row, a fake screener.

The fake party screener stands in for ``Screener.screen``: it returns a hit for the names it
was given (by exact, case-insensitive name) and no hit for any other, and names one snapshot,
so the rules can be tested as the pure function they are.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from screening.models import EntityType, Hit, NameKind, ScreeningResult, SnapshotRef
from screening.rules import RuleSet, ShipmentResult, evaluate_shipment
from screening.shipments import Party, Shipment, parse_shipment

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "seeds" / "samples"
# The real trade.gov CSL file of 2023-11-30 (an excerpt holding 919 Entity List rows).
CSL = REPO / "seeds" / "trade_csl" / "2023-11-30" / "consolidated.csv.gz"
# Kral Aviation, Istanbul: added to the Entity List by 78 FR 75458 (12 Dec 2013).
KRAL_AVIATION_ID = "642e3dd75e5b5e79cb71246c58e18eed7db51aba36595344322396f8"

ScreenParty = Callable[[Party], ScreeningResult]


def csl_row(entry_id: str) -> dict[str, str]:
    """One row of the real trade.gov CSL file (seeds/), by its ``_id``."""
    text = gzip.decompress(CSL.read_bytes()).decode("utf-8")
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("_id") == entry_id:
            return row
    raise LookupError(entry_id)


def csl_snapshot() -> SnapshotRef:
    return SnapshotRef(
        source="bis_entity_list",
        snapshot_id=7,
        as_of=datetime(2023, 11, 30, tzinfo=UTC),
        sha256=hashlib.sha256(gzip.decompress(CSL.read_bytes())).hexdigest(),
        origin="seed",
        stale=True,
    )


def el_hit(row: Mapping[str, str], score: float = 1.0) -> Hit:
    """The hit a screener reports for an Entity List row of the CSL."""
    return Hit(
        source="bis_entity_list",
        entry_id=row["_id"],
        list_name="BIS Entity List",
        matched_name=row["name"],
        matched_name_kind=NameKind.PRIMARY,
        primary_name=row["name"],
        score=score,
        entity_type=EntityType.ORGANIZATION,
        countries=("TR",),
        snapshot_id=7,
    )


def sdn_hit(name: str, entry_id: str, score: float) -> Hit:
    return Hit(
        source="ofac_sdn",
        entry_id=entry_id,
        list_name="OFAC SDN",
        matched_name=name,
        matched_name_kind=NameKind.AKA,
        primary_name=name,
        score=score,
        programs=("RUSSIA-EO14024",),
    )


def fake_screener(
    hits: Mapping[str, Hit | list[Hit]] | None = None,
    snapshots: tuple[SnapshotRef, ...] = (),
    calls: list[str] | None = None,
) -> ScreenParty:
    table = {k.casefold(): (v if isinstance(v, list) else [v]) for k, v in (hits or {}).items()}

    def screen(party: Party) -> ScreeningResult:
        assert party.name is not None
        if calls is not None:
            calls.append(party.name)
        found = table.get(party.name.casefold(), [])
        return ScreeningResult(
            query=party.name,
            country=party.country,
            threshold=0.85,
            hits=tuple(found),
            snapshots=snapshots,
            warnings=tuple(f"{s.source} snapshot is stale" for s in snapshots if s.stale),
        )

    return screen


def shipment(**data: Any) -> Shipment:
    base: dict[str, Any] = {"id": "T-1", "parties": [], "route": [], "goods": []}
    base.update(data)
    return parse_shipment(base)


def evaluate(ruleset: RuleSet, screen: ScreenParty | None = None, **data: Any) -> ShipmentResult:
    return evaluate_shipment(shipment(**data), ruleset, screen or fake_screener())


def rule_ids(result: ShipmentResult) -> list[str]:
    return [f.rule_id for f in result.findings]
