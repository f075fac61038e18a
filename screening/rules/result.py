"""What screening a shipment returns: one decision, the findings behind it, and provenance."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from screening.models import EntityType, Hit, SnapshotRef
from screening.rules.model import Decision, RuleDecision, Severity
from screening.rules.ruleset import RuleSetVersion, SourceDocument
from screening.shipments import PartyRole

__all__ = ["Finding", "GoodsResult", "PartyResult", "ShipmentResult"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Finding(_Frozen):
    """One rule that fired, and why, in words a person can act on."""

    rule_id: str
    kind: str
    decision: RuleDecision
    severity: Severity
    message: str
    sources: tuple[SourceDocument, ...]
    party_role: PartyRole | None = None
    party_name: str | None = None
    places: tuple[str, ...] = ()  # the countries / regions that made the rule fire
    hs_code: str | None = None  # HS-6, "8542.31"
    chpl_tier: str | None = None
    hit: Hit | None = None  # the list entry, for list-match rules
    #: Why each of ``places`` counts, from the country tables: where the table says the place is
    #: named, and the table's note (an analyst's addition is said to be one).
    basis: tuple[str, ...] = ()


class PartyResult(_Frozen):
    """A party as screened, with its name hits (empty when it was not screened: no name)."""

    role: PartyRole
    name: str | None = None
    country: str | None = None
    region: str | None = None
    type: EntityType | None = None
    screened: bool
    hits: tuple[Hit, ...] = ()


class GoodsResult(_Frozen):
    """A goods line as the rules saw it."""

    hs_code: str  # as written
    hs6: str  # "8542.31"
    chpl_tier: str | None = None
    description: str | None = None


class ShipmentResult(_Frozen):
    """The decision on one shipment: ``block``, ``review`` or ``clear`` (the worst finding's
    decision; clear when nothing fired), with every finding sorted by decision, severity and
    CHPL tier, every party's hits, the rule-set version and the list snapshots screened."""

    shipment_id: str
    decision: Decision
    findings: tuple[Finding, ...] = ()
    parties: tuple[PartyResult, ...] = ()
    goods: tuple[GoodsResult, ...] = ()
    route: tuple[str, ...] = ()  # the route the rules used
    route_derived: bool = False  # True when the shipment gave no route (taken from the parties)
    ruleset: RuleSetVersion
    snapshots: tuple[SnapshotRef, ...] = ()
    warnings: tuple[str, ...] = ()
