"""Shipment rules: route, goods and party risk rules kept as data, and their evaluation.

    from screening.rules import evaluate_shipment, load_ruleset
    from screening.shipments import load_shipments

    ruleset = load_ruleset()                      # lists/rules/default.toml
    for shipment in load_shipments(Path("shipments.json")):
        result = evaluate_shipment(shipment, ruleset, screen_party)
        print(result.decision, [f.message for f in result.findings])

``screen_party`` screens one party's name (``Screener.screen_shipment`` supplies it).
"""

from __future__ import annotations

from screening.rules.engine import ScreenParty, evaluate_shipment
from screening.rules.model import KINDS, Decision, Rule, Severity
from screening.rules.reference import CHPL_TIERS, ChplItem, DataFileRef, Reference, load_reference
from screening.rules.result import Finding, GoodsResult, PartyResult, ShipmentResult
from screening.rules.ruleset import (
    RuleSet,
    RuleSetVersion,
    SourceDocument,
    default_ruleset_path,
    load_ruleset,
)

__all__ = [
    "CHPL_TIERS",
    "KINDS",
    "ChplItem",
    "DataFileRef",
    "Decision",
    "Finding",
    "GoodsResult",
    "PartyResult",
    "Reference",
    "Rule",
    "RuleSet",
    "RuleSetVersion",
    "ScreenParty",
    "Severity",
    "ShipmentResult",
    "SourceDocument",
    "default_ruleset_path",
    "evaluate_shipment",
    "load_reference",
    "load_ruleset",
]
