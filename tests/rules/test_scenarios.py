"""The situations of issue 4 §6, end to end through the default rule set.

Each scenario is a shipment of seeds/samples/shipments.json (the same file the README and the
CLI use); the party screener is a fake that knows one real Entity List row.
"""

from __future__ import annotations

import pytest
from rules_helpers import (
    KRAL_AVIATION_ID,
    SAMPLES,
    csl_snapshot,
    el_hit,
    fake_screener,
    rule_ids,
)

from screening.rules import Decision, RuleSet, ShipmentResult, evaluate_shipment
from screening.shipments import Shipment, load_shipments


@pytest.fixture(scope="module")
def samples() -> dict[str, Shipment]:
    out = {}
    for item in load_shipments(SAMPLES / "shipments.json"):
        assert isinstance(item, Shipment), item
        out[item.id] = item
    return out


@pytest.fixture(scope="module")
def results(
    samples: dict[str, Shipment], ruleset: RuleSet, kral_row: dict[str, str]
) -> dict[str, ShipmentResult]:
    screen = fake_screener({kral_row["name"]: el_hit(kral_row)}, snapshots=(csl_snapshot(),))
    return {sid: evaluate_shipment(s, ruleset, screen) for sid, s in samples.items()}


def test_the_entity_list_row_is_real(kral_row: dict[str, str]) -> None:
    assert kral_row["source"] == "Entity List (EL) - Bureau of Industry and Security"
    assert kral_row["name"] == "Kral Aviation"
    assert kral_row["addresses"].endswith(", TR")
    assert kral_row["federal_register_notice"].startswith("78 FR 75458")


def test_us_fpga_via_istanbul_and_kazakhstan_to_a_russian_end_user_is_blocked(
    results: dict[str, ShipmentResult],
) -> None:
    r = results["S-1001"]
    assert r.decision is Decision.BLOCK
    assert rule_ids(r) == [
        "restricted-destination-chpl",
        "transshipment-then-restricted",
        "chpl-transshipment-risk",  # 8542.31, Tier 1
        "chpl-transshipment-risk",  # 8532.24, Tier 2
        "restricted-destination",
    ]
    block = r.findings[1]
    assert block.message == (
        "route US > TR > KZ > RU passes through risk country TR (Türkiye), KZ (Kazakhstan) "
        "before restricted destination RU (Russia)"
    )
    assert [s.id for s in block.sources] == [
        "FIN-2022-Alert003",
        "TRI-SEAL-2023-03-02",
        "QUINT-SEAL-2023-12-11",
    ]
    tiers = [(f.hs_code, f.chpl_tier) for f in r.findings if f.rule_id == "chpl-transshipment-risk"]
    assert tiers == [("8542.31", "1"), ("8532.24", "2")]
    assert "end user 'OOO Uralskie Pribory' (RU)" in r.findings[0].message


def test_memory_cards_to_a_new_azerbaijani_buyer_need_review(
    results: dict[str, ShipmentResult],
) -> None:
    r = results["S-1002"]
    assert r.decision is Decision.REVIEW
    assert rule_ids(r) == ["chpl-transshipment-risk", "new-buyer-high-priority"]
    new_buyer = r.findings[1]
    assert new_buyer.party_name == "Caspian Digital Supply MMC"
    assert "incorporated on 2023-04-12 (on or after 2022-02-24)" in new_buyer.message
    assert (new_buyer.hs_code, new_buyer.chpl_tier) == ("8542.32", "1")


def test_a_cnc_lathe_to_a_turkish_buyer_paid_from_the_uae_needs_review(
    results: dict[str, ShipmentResult],
) -> None:
    r = results["S-1003"]
    assert r.decision is Decision.REVIEW
    assert sorted(rule_ids(r)) == ["chpl-transshipment-risk", "payer-third-country"]
    payer = next(f for f in r.findings if f.rule_id == "payer-third-country")
    assert payer.message == (
        "payer 'Mirdif Horizon Trading FZE' (AE) pays from AE (United Arab Emirates), "
        "not the buyer's country (TR) or the destination (TR)"
    )
    chpl = next(f for f in r.findings if f.rule_id == "chpl-transshipment-risk")
    assert (chpl.hs_code, chpl.chpl_tier) == ("8458.11", "4.B")


def test_a_listed_turkish_company_as_consignee_is_blocked_naming_the_entry(
    results: dict[str, ShipmentResult],
) -> None:
    r = results["S-1004"]
    assert r.decision is Decision.BLOCK
    strong = [f for f in r.findings if f.rule_id == "party-strong-match"]
    assert [f.party_role for f in strong] == ["buyer", "consignee"]
    assert strong[1].hit is not None and strong[1].hit.entry_id == KRAL_AVIATION_ID
    assert strong[1].message == (
        f"consignee 'Kral Aviation' (TR) matches the BIS Entity List: entry {KRAL_AVIATION_ID} "
        "'Kral Aviation' (primary name), score 1.00 (at least 0.95)"
    )
    assert r.findings[0].decision == "block"
    consignee = next(p for p in r.parties if p.role == "consignee")
    assert [h.entry_id for h in consignee.hits] == [KRAL_AVIATION_ID]
    assert "party-list-match" in rule_ids(r)


def test_office_chairs_to_germany_and_t_shirts_to_france_are_clear(
    results: dict[str, ShipmentResult],
) -> None:
    for sid in ("S-1005", "S-1006"):
        assert results[sid].decision is Decision.CLEAR
        assert results[sid].findings == ()


@pytest.mark.parametrize("written", ["8542.31.0000", "854231", "8542 31", "85423100"])
def test_hs_code_spellings_give_the_same_result(
    samples: dict[str, Shipment],
    results: dict[str, ShipmentResult],
    ruleset: RuleSet,
    written: str,
) -> None:
    base = samples["S-1001"]
    goods = [
        g.model_copy(update={"hs_code": written}) if g.hs6 == "854231" else g for g in base.goods
    ]
    variant = base.model_copy(update={"goods": goods})
    r = evaluate_shipment(variant, ruleset, fake_screener())
    expected = results["S-1001"]
    assert r.decision == expected.decision
    assert r.findings == expected.findings
    assert r.goods[0].hs_code == written and r.goods[0].hs6 == "8542.31"


def test_every_result_carries_the_rule_set_version_and_the_snapshots(
    results: dict[str, ShipmentResult], ruleset: RuleSet
) -> None:
    for r in results.values():
        assert r.ruleset == ruleset.version_info
        assert r.ruleset.version == "2026.11.23.2"
        assert len(r.ruleset.sha256) == 64
        assert [ref.name for ref in r.ruleset.references] == ["chpl", "risk_countries"]
        assert r.snapshots == (csl_snapshot(),)
        assert r.warnings == ("bis_entity_list snapshot is stale",)


def test_findings_cite_their_source_documents(results: dict[str, ShipmentResult]) -> None:
    for r in results.values():
        for f in r.findings:
            assert f.sources, f.rule_id
            assert all(s.title for s in f.sources)
