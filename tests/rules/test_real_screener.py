"""The issue's scenarios through the real ``Screener`` on the bundled seed snapshot.

Skipped until ``screening.screener`` exists; it then checks that the real name matching and the
rules agree with the scenario decisions, and that a real Entity List row is found and named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rules_helpers import KRAL_AVIATION_ID, SAMPLES

from screening.config import load_settings
from screening.rules import Decision, ShipmentResult, load_ruleset
from screening.shipments import Shipment, load_shipments

screener_module = pytest.importorskip("screening.screener")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ShipmentResult]:
    home: Path = tmp_path_factory.mktemp("home")
    settings = load_settings(home=home, environ={})
    screener: Any = screener_module.Screener.open(settings)
    ruleset = load_ruleset()
    out = {}
    for item in load_shipments(SAMPLES / "shipments.json"):
        assert isinstance(item, Shipment), item
        out[item.id] = screener.screen_shipment(item, ruleset)
    return out


def test_the_real_screener_gives_the_scenario_decisions(
    results: dict[str, ShipmentResult],
) -> None:
    assert {sid: r.decision for sid, r in results.items()} == {
        "S-1001": Decision.BLOCK,  # FPGA via Istanbul and Kazakhstan to a Russian end user
        "S-1002": Decision.REVIEW,  # memory cards to a new Azerbaijani buyer
        "S-1003": Decision.REVIEW,  # CNC lathe to Turkey paid from the UAE
        "S-1004": Decision.BLOCK,  # Kral Aviation (Entity List) as consignee
        "S-1005": Decision.CLEAR,  # office chairs to Germany
        "S-1006": Decision.CLEAR,  # T-shirts from Germany to France
    }


def test_the_listed_consignee_is_found_and_named(results: dict[str, ShipmentResult]) -> None:
    r = results["S-1004"]
    consignee = next(p for p in r.parties if p.role == "consignee")
    assert KRAL_AVIATION_ID in [h.entry_id for h in consignee.hits]
    strong = [f for f in r.findings if f.rule_id == "party-strong-match"]
    assert any(
        f.party_role == "consignee" and f.hit is not None and f.hit.source == "bis_entity_list"
        for f in strong
    )


def test_clear_shipments_have_no_hits_and_results_name_their_snapshots(
    results: dict[str, ShipmentResult],
) -> None:
    for sid in ("S-1005", "S-1006"):
        assert all(not p.hits for p in results[sid].parties), sid
    for r in results.values():
        assert {s.source for s in r.snapshots} >= {"ofac_sdn", "bis_entity_list"}
        assert r.ruleset == load_ruleset().version_info


def test_a_list_hit_no_enabled_rule_reports_is_still_put_to_review(tmp_path: Path) -> None:
    """QA: with the list-match rules disabled in an edited rule set, a shipment to
    Rosoboronexport (score 1.00) was CLEAR, exit 0."""
    default = Path(load_ruleset().path)
    text = default.read_text(encoding="utf-8")
    for rule_id in ("party-list-match", "party-strong-match"):
        text = text.replace(f'id = "{rule_id}"\n', f'id = "{rule_id}"\nenabled = false\n')
    edited = tmp_path / "rules.toml"
    edited.write_text(text, encoding="utf-8")
    for table in ("chpl.toml", "risk_countries.toml", "countries.toml"):
        if (default.parent / table).exists():
            (tmp_path / table).write_bytes((default.parent / table).read_bytes())
    ruleset = load_ruleset(edited)
    assert not [r for r in ruleset.enabled_rules if r.kind == "party_list_match"]
    settings = load_settings(home=tmp_path / "home", environ={})
    screener: Any = screener_module.Screener.open(settings)
    shipment = Shipment.model_validate(
        {
            "id": "ROE",
            "parties": [
                {"role": "exporter", "name": "Weber GmbH", "country": "DE"},
                {"role": "consignee", "name": "Rosoboronexport", "country": "RU"},
            ],
            "route": ["DE", "FR"],
            "goods": [{"hs_code": "6109.10"}],
        }
    )
    result = screener.screen_shipment(shipment, ruleset)
    assert result.decision == Decision.REVIEW
    (finding,) = [f for f in result.findings if f.rule_id == "list-hit-without-rule"]
    assert finding.party_role == "consignee" and finding.hit is not None
    assert finding.hit.entry_id == "18782"
    assert "no enabled rule of the rule set reports this hit" in finding.message
    # With the default rules the hit is reported by them, not twice.
    default_result = screener.screen_shipment(shipment, load_ruleset())
    assert not [f for f in default_result.findings if f.rule_id == "list-hit-without-rule"]


def test_a_finding_says_where_its_country_table_names_each_place(
    results: dict[str, ShipmentResult],
) -> None:
    """QA: the AZ finding cited FIN-2022-Alert003, which the table itself says does not name
    AZ; the finding now carries the table entry's own basis and note."""
    (risk,) = [f for f in results["S-1002"].findings if f.rule_id == "chpl-transshipment-risk"]
    (basis,) = risk.basis
    assert basis.startswith("AZ (transshipment_risk): named in ")
    assert "Analyst addition: NOT among the 18 countries of FIN-2022-Alert003." in basis
    listed = [f for f in results["S-1004"].findings if f.kind == "party_list_match"]
    assert listed and all(f.basis == () for f in listed)  # a list match is not table-based
