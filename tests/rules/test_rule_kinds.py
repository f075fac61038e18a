"""Each rule kind on its own: when it fires, when it does not, and what it says."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rules_helpers import el_hit, evaluate, fake_screener, rule_ids, sdn_hit

from screening.rules import Decision, RuleSet, Severity, load_ruleset
from screening.shipments import Party, PartyRole

US_EXPORTER = {"role": "exporter", "name": "Cascade Logic Devices Inc.", "country": "US"}


def one_rule(tmp_path: Path, body: str) -> RuleSet:
    """A rule set holding one rule (``body`` is the TOML of its [[rules]] table)."""
    path = tmp_path / "rules.toml"
    path.write_text(
        'name = "test"\nversion = "1"\n\n[documents.DOC]\ntitle = "A document"\n\n'
        f'[[rules]]\nid = "r"\ndescription = "d"\nsources = ["DOC"]\n{body}\n',
        encoding="utf-8",
    )
    return load_ruleset(path)


# -- party_list_match ------------------------------------------------------------------------


def test_any_hit_needs_review_and_a_strong_sdn_or_el_hit_blocks(
    ruleset: RuleSet, kral_row: dict[str, str]
) -> None:
    weak = evaluate(
        ruleset,
        fake_screener({"Kral Aviation": el_hit(kral_row, score=0.9)}),
        parties=[US_EXPORTER, {"role": "buyer", "name": "Kral Aviation", "country": "TR"}],
        route=["US", "TR"],
        goods=[{"hs_code": "9401.39"}],
    )
    assert rule_ids(weak) == ["party-list-match"]
    assert weak.decision is Decision.REVIEW
    assert weak.findings[0].message.startswith(
        "buyer 'Kral Aviation' (TR) may be on the BIS Entity List"
    )

    strong = evaluate(
        ruleset,
        fake_screener({"Kral Aviation": el_hit(kral_row, score=0.95)}),
        parties=[US_EXPORTER, {"role": "buyer", "name": "Kral Aviation", "country": "TR"}],
        route=["US", "TR"],
        goods=[{"hs_code": "9401.39"}],
    )
    assert rule_ids(strong) == ["party-strong-match", "party-list-match"]
    assert strong.decision is Decision.BLOCK


def test_a_strong_hit_on_another_list_does_not_block(ruleset: RuleSet) -> None:
    from screening.models import Hit, NameKind

    dpl = Hit(
        source="bis_denied_persons",
        entry_id="dpl-1",
        list_name="BIS Denied Persons List",
        matched_name="Anadolu Havacilik",
        matched_name_kind=NameKind.PRIMARY,
        primary_name="Anadolu Havacilik",
        score=1.0,
    )
    r = evaluate(
        ruleset,
        fake_screener({"Anadolu Havacilik": dpl}),
        parties=[US_EXPORTER, {"role": "buyer", "name": "Anadolu Havacilik", "country": "DE"}],
        route=["US", "DE"],
    )
    assert rule_ids(r) == ["party-list-match"]


def test_the_best_hit_is_named_with_the_count_of_the_others(ruleset: RuleSet) -> None:
    hits = [sdn_hit("VEKTOR OOO", "31001", 0.88), sdn_hit("VEKTOR, AO", "31002", 0.97)]
    r = evaluate(
        ruleset,
        fake_screener({"OOO Vektor": hits}),
        parties=[US_EXPORTER, {"role": "consignee", "name": "OOO Vektor", "country": "DE"}],
        route=["US", "DE"],
    )
    strong, listed = r.findings
    assert strong.hit is not None and strong.hit.entry_id == "31002"
    assert strong.message.endswith("score 0.97 (at least 0.95)")  # the 0.88 hit does not count
    assert listed.message == (
        "consignee 'OOO Vektor' (DE) may be on the OFAC SDN: entry 31002 'VEKTOR, AO' "
        "(alias (aka)) [RUSSIA-EO14024], score 0.97; 1 more hit(s)"
    )


def test_list_match_roles_and_lists_are_parameters(tmp_path: Path) -> None:
    rs = one_rule(
        tmp_path,
        'kind = "party_list_match"\nseverity = "high"\ndecision = "block"\n'
        'lists = ["ofac_sdn"]\nmin_score = 0.8\nroles = ["end_user"]',
    )
    screen = fake_screener({"Zeta": sdn_hit("ZETA", "1", 0.9)})
    as_buyer = evaluate(rs, screen, parties=[{"role": "buyer", "name": "Zeta"}])
    as_end_user = evaluate(rs, screen, parties=[{"role": "end_user", "name": "Zeta"}])
    # Not this rule's role: the hit is still put to review by the built-in finding (a rule
    # set cannot clear a shipment with a potential list match), never blocked by this rule.
    assert as_buyer.decision is Decision.REVIEW
    assert [f.rule_id for f in as_buyer.findings] == ["list-hit-without-rule"]
    assert as_end_user.decision is Decision.BLOCK


def test_each_distinct_party_is_screened_once(ruleset: RuleSet) -> None:
    calls: list[str] = []
    r = evaluate(
        ruleset,
        fake_screener(calls=calls),
        parties=[
            US_EXPORTER,
            {"role": "buyer", "name": "Maison Lefevre SARL", "country": "FR"},
            {"role": "consignee", "name": "Maison Lefevre SARL", "country": "FR"},
            {"role": "payer", "country": "FR"},
        ],
        route=["US", "FR"],
    )
    assert calls == ["Cascade Logic Devices Inc.", "Maison Lefevre SARL"]
    assert [p.screened for p in r.parties] == [True, True, True, False]


# -- party_not_screened ---------------------------------------------------------------------


def test_a_party_without_a_name_cannot_be_cleared(ruleset: RuleSet) -> None:
    import dataclasses

    parties = [
        US_EXPORTER,
        {"role": "buyer", "name": "Maison Lefevre SARL", "country": "FR"},
        {"role": "end_user", "name": "   ", "country": "FR"},
    ]
    r = evaluate(ruleset, fake_screener(), parties=parties, route=["US", "FR"])
    assert r.decision is Decision.REVIEW
    (f,) = [f for f in r.findings if f.rule_id == "party-not-screened"]
    assert (f.party_role, f.places, f.decision) == ("end_user", ("FR",), "review")
    assert f.message == "end user (FR) has no name, so it was not screened against the lists"
    assert [d.id for d in f.sources] == ["TRI-SEAL-2023-03-02"]
    assert not any("has no name" in w for w in r.warnings)  # said once, as the finding
    # With the rule taken out by the compliance officer, it is still said, as a warning.
    without = dataclasses.replace(
        ruleset, rules=tuple(x for x in ruleset.rules if x.kind != "party_not_screened")
    )
    r = evaluate(without, fake_screener(), parties=parties, route=["US", "FR"])
    assert r.decision is Decision.CLEAR
    assert "end user (FR) has no name and was not screened against the lists" in r.warnings


# -- restricted_destination ---------------------------------------------------------------------


def test_a_restricted_destination_needs_review_and_with_chpl_goods_blocks(ruleset: RuleSet) -> None:
    plain = evaluate(
        ruleset, parties=[US_EXPORTER], route=["US", "BY"], goods=[{"hs_code": "9401.39"}]
    )
    assert rule_ids(plain) == ["restricted-destination"]
    assert plain.findings[0].message == "restricted destination BY (Belarus): route destination"
    with_chpl = evaluate(
        ruleset, parties=[US_EXPORTER], route=["US", "BY"], goods=[{"hs_code": "8482.10"}]
    )
    assert rule_ids(with_chpl) == ["restricted-destination-chpl", "restricted-destination"]
    assert with_chpl.findings[0].chpl_tier == "3.B"
    assert with_chpl.decision is Decision.BLOCK


@pytest.mark.parametrize("where", ["route", "party"])
@pytest.mark.parametrize("place", ["Crimea", "UA-40", "Donetsk", "UA-09", "Kherson", "UA-23"])
def test_occupied_regions_of_ukraine_are_restricted(
    ruleset: RuleSet, where: str, place: str
) -> None:
    if where == "route":
        r = evaluate(ruleset, parties=[US_EXPORTER], route=["US", "PL", place])
    else:
        r = evaluate(
            ruleset,
            parties=[US_EXPORTER, {"role": "end_user", "name": "Z", "country": place}],
        )
    assert rule_ids(r) == ["restricted-destination"]
    assert r.findings[0].places[0].startswith("UA-")


def test_ukraine_outside_the_occupied_regions_is_not_restricted(ruleset: RuleSet) -> None:
    r = evaluate(
        ruleset,
        parties=[
            US_EXPORTER,
            {"role": "consignee", "name": "Lviv Tech", "country": "UA", "address": "Lviv"},
        ],
        route=["US", "PL", "UA"],
        goods=[{"hs_code": "8542.31"}],
    )
    assert r.decision is Decision.CLEAR


def test_a_restricted_origin_or_party_country_counts(ruleset: RuleSet) -> None:
    from_iran = evaluate(
        ruleset, parties=[{"role": "exporter", "name": "X", "country": "IR"}], route=["IR", "AE"]
    )
    assert rule_ids(from_iran) == ["restricted-destination"]
    assert "route origin" in from_iran.findings[0].message
    bank = evaluate(
        ruleset,
        parties=[US_EXPORTER, {"role": "bank", "name": "Some Bank", "country": "CU"}],
        route=["US", "MX"],
    )
    assert rule_ids(bank) == ["restricted-destination"]
    assert bank.findings[0].message == "restricted destination CU (Cuba): bank 'Some Bank' (CU)"


def test_restricted_destination_parameters(tmp_path: Path) -> None:
    rs = one_rule(
        tmp_path,
        'kind = "restricted_destination"\nseverity = "high"\ndecision = "review"\n'
        'places = ["Iran", "UA-43"]\nroute_positions = ["destination"]\nroles = []\n'
        'hs_codes = ["84"]',
    )
    assert (
        evaluate(
            rs, route=["IR", "DE"], goods=[{"hs_code": "8458.11"}], parties=[US_EXPORTER]
        ).decision
        is Decision.CLEAR
    )
    assert (
        evaluate(
            rs, route=["DE", "IR"], goods=[{"hs_code": "9401.39"}], parties=[US_EXPORTER]
        ).decision
        is Decision.CLEAR
    )
    hit = evaluate(rs, route=["DE", "IR"], goods=[{"hs_code": "8458.11"}], parties=[US_EXPORTER])
    assert hit.decision is Decision.REVIEW
    assert hit.findings[0].message.endswith("goods: 8458.11 (CHPL Tier 4.B)")
    # a party in a restricted place is ignored when roles = [] (a consignee: an end user's
    # place beyond the route given is where the goods go on to, so it is on the route)
    assert (
        evaluate(
            rs,
            route=["DE", "FR"],
            goods=[{"hs_code": "8458.11"}],
            parties=[{"role": "consignee", "name": "X", "country": "IR"}],
        ).decision
        is Decision.CLEAR
    )
    beyond = evaluate(
        rs,
        route=["DE", "FR"],
        goods=[{"hs_code": "8458.11"}],
        parties=[{"role": "end_user", "name": "X", "country": "IR"}],
    )
    assert beyond.decision is Decision.REVIEW and beyond.route == ("DE", "FR", "IR")
    assert "the route given ends in FR; the end user's place IR was added" in beyond.warnings[-1]


# -- chpl_via_risk_country ---------------------------------------------------------------------


def test_chpl_goods_via_a_risk_country_rank_tier_1_and_2_first(ruleset: RuleSet) -> None:
    r = evaluate(
        ruleset,
        parties=[US_EXPORTER, {"role": "consignee", "name": "Tashkent Trade", "country": "UZ"}],
        route=["US", "UZ"],
        goods=[
            {"hs_code": "8466.93"},  # 4.B
            {"hs_code": "9401.39"},  # not CHPL
            {"hs_code": "8517.62"},  # 2
            {"hs_code": "8541.10"},  # 3.A
            {"hs_code": "8542.39"},  # 1
        ],
    )
    assert [(f.chpl_tier, f.severity) for f in r.findings] == [
        ("1", Severity.HIGH),
        ("2", Severity.HIGH),
        ("3.A", Severity.MEDIUM),
        ("4.B", Severity.MEDIUM),
    ]
    assert r.findings[0].message == (
        "CHPL Tier 1 item 8542.39 (Electronic integrated circuits: other) goes to, via or with a "
        "party in a risk country: to UZ (Uzbekistan); "
        "consignee 'Tashkent Trade' (UZ)"
    )
    assert r.decision is Decision.REVIEW


def test_chpl_goods_with_only_a_payer_in_a_risk_country(ruleset: RuleSet) -> None:
    r = evaluate(
        ruleset,
        parties=[
            {"role": "exporter", "name": "Weber GmbH", "country": "DE"},
            {"role": "buyer", "name": "Lyon Instruments", "country": "FR"},
            {"role": "payer", "name": "Pearl River Pay", "country": "Hong Kong"},
        ],
        route=["DE", "FR"],
        goods=[{"hs_code": "9030.20"}],
    )
    assert rule_ids(r) == ["chpl-transshipment-risk", "payer-third-country"]
    assert r.findings[0].places == ("HK",)


def test_the_exporters_own_risk_country_does_not_count(ruleset: RuleSet) -> None:
    r = evaluate(
        ruleset,
        parties=[
            {"role": "exporter", "name": "Istanbul Rulman", "country": "TR"},
            {"role": "buyer", "name": "Lyon Mecanique", "country": "FR"},
        ],
        route=["TR", "FR"],
        goods=[{"hs_code": "8482.10"}],
    )
    assert r.decision is Decision.CLEAR


def test_non_chpl_goods_via_a_risk_country_are_clear(ruleset: RuleSet) -> None:
    r = evaluate(
        ruleset,
        parties=[US_EXPORTER, {"role": "buyer", "name": "Ege Tekstil", "country": "TR"}],
        route=["US", "TR"],
        goods=[{"hs_code": "6109.10"}],
    )
    assert r.decision is Decision.CLEAR


# -- risk_then_restricted_route -----------------------------------------------------------------


def test_a_risk_country_before_a_restricted_one_blocks_but_not_after(ruleset: RuleSet) -> None:
    before = evaluate(
        ruleset, parties=[US_EXPORTER], route=["US", "AM", "RU"], goods=[{"hs_code": "9401.39"}]
    )
    assert "transshipment-then-restricted" in rule_ids(before)
    assert before.decision is Decision.BLOCK
    after = evaluate(
        ruleset, parties=[US_EXPORTER], route=["RU", "AM"], goods=[{"hs_code": "9401.39"}]
    )
    assert "transshipment-then-restricted" not in rule_ids(after)
    assert after.decision is Decision.REVIEW


def test_a_route_derived_from_the_parties_is_used_and_said(ruleset: RuleSet) -> None:
    r = evaluate(
        ruleset,
        parties=[
            US_EXPORTER,
            {"role": "intermediate_consignee", "name": "Tbilisi Cargo Hub", "country": "GE"},
            {"role": "end_user", "name": "Minsk Optics", "country": "BY"},
        ],
    )
    block = next(f for f in r.findings if f.rule_id == "transshipment-then-restricted")
    assert block.message.startswith("route US > GE > BY (derived from the parties)")
    assert r.route == ("US", "GE", "BY") and r.route_derived


def test_end_users_beyond_the_route_are_not_on_the_way_to_each_other(ruleset: RuleSet) -> None:
    """Two end users the route given does not reach (TR, RU): the goods go on to each. Which
    party is listed first made TR look like a transit to RU (hypothesis found it)."""
    users = [
        {"role": "end_user", "name": "Ankara Parts", "country": "TR"},
        {"role": "end_user", "name": "Moscow Parts", "country": "RU"},
    ]
    results = [
        evaluate(ruleset, parties=[US_EXPORTER, *order], route=["US"])
        for order in (users, users[::-1])
    ]
    assert results[0].route == results[1].route == ("US", "RU", "TR")
    assert rule_ids(results[0]) == rule_ids(results[1])
    assert "transshipment-then-restricted" not in rule_ids(results[0])
    assert results[0].decision is results[1].decision is Decision.REVIEW
    assert any(i.startswith("restricted-destination") for i in rule_ids(results[0]))  # RU


# -- forwarder_as_end_user -----------------------------------------------------------------


def test_a_forwarder_as_consignee_with_no_end_user_needs_review(ruleset: RuleSet) -> None:
    r = evaluate(
        ruleset,
        parties=[
            US_EXPORTER,
            {"role": "consignee", "name": "Almaty Freight Forwarding LLP", "country": "KZ"},
        ],
        route=["US", "KZ"],
        goods=[{"hs_code": "9401.39"}],
    )
    assert rule_ids(r) == ["forwarder-as-end-user"]
    assert r.findings[0].message == (
        "consignee 'Almaty Freight Forwarding LLP' (KZ) looks like a freight forwarder "
        "(name contains 'freight') and no other end user is named"
    )


def test_the_forwarder_named_as_end_user_is_caught_by_name(ruleset: RuleSet) -> None:
    r = evaluate(
        ruleset,
        parties=[
            US_EXPORTER,
            {"role": "freight_forwarder", "name": "Silk Road Partners", "country": "KZ"},
            {"role": "end_user", "name": "SILK ROAD PARTNERS", "country": "KZ"},
        ],
        route=["US", "KZ"],
    )
    assert rule_ids(r) == ["forwarder-as-end-user"]
    assert "(also given as the freight forwarder)" in r.findings[0].message


@pytest.mark.parametrize(
    ("forwarder", "end_user"),
    [("Gulf Star FZE", "Gulf Star F.Z.E."), ("Silk-Road Partners LLP", "SILK ROAD PARTNERS")],
)
def test_the_forwarder_is_recognised_whatever_its_legal_form_and_punctuation(
    ruleset: RuleSet, forwarder: str, end_user: str
) -> None:
    # QA: "Gulf Star F.Z.E." as end user was not recognised as the forwarder "Gulf Star FZE".
    r = evaluate(
        ruleset,
        parties=[
            US_EXPORTER,
            {"role": "freight_forwarder", "name": forwarder, "country": "AE"},
            {"role": "end_user", "name": end_user, "country": "AE"},
        ],
        route=["US", "AE"],
    )
    assert "forwarder-as-end-user" in rule_ids(r)


def test_a_forwarder_consignee_with_a_real_end_user_is_fine(ruleset: RuleSet) -> None:
    r = evaluate(
        ruleset,
        parties=[
            US_EXPORTER,
            {"role": "consignee", "name": "Rotterdam Cargo B.V.", "country": "NL"},
            {"role": "end_user", "name": "Delft Instruments B.V.", "country": "NL"},
        ],
        route=["US", "NL"],
    )
    assert r.decision is Decision.CLEAR


def test_keywords_are_whole_words(ruleset: RuleSet) -> None:
    r = evaluate(
        ruleset,
        parties=[
            US_EXPORTER,
            {"role": "consignee", "name": "Cargolux Parts GmbH", "country": "DE"},
        ],
        route=["US", "DE"],
    )
    assert r.decision is Decision.CLEAR  # "Cargolux" is not the word "cargo"
    turkish = evaluate(
        ruleset,
        parties=[US_EXPORTER, {"role": "consignee", "name": "Öz Taşımacılık Ltd", "country": "DE"}],
        route=["US", "DE"],
    )
    assert rule_ids(turkish) == ["forwarder-as-end-user"]


# -- payer_third_country ------------------------------------------------------------------------


def test_a_payer_in_the_buyers_or_the_destination_country_is_fine(ruleset: RuleSet) -> None:
    parties = [
        {"role": "exporter", "name": "Weber GmbH", "country": "DE"},
        {"role": "buyer", "name": "Lyon Instruments", "country": "FR"},
    ]
    same_as_buyer = evaluate(
        ruleset,
        parties=[*parties, {"role": "payer", "name": "P", "country": "FR"}],
        route=["DE", "BE"],
    )
    same_as_destination = evaluate(
        ruleset,
        parties=[*parties, {"role": "payer", "name": "P", "country": "BE"}],
        route=["DE", "BE"],
    )
    third = evaluate(
        ruleset,
        parties=[*parties, {"role": "payer", "name": "P", "country": "CH"}],
        route=["DE", "BE"],
    )
    assert same_as_buyer.decision is Decision.CLEAR
    assert same_as_destination.decision is Decision.CLEAR
    assert rule_ids(third) == ["payer-third-country"]


def test_without_a_buyer_the_consignee_stands_in(ruleset: RuleSet) -> None:
    r = evaluate(
        ruleset,
        parties=[
            {"role": "exporter", "name": "Weber GmbH", "country": "DE"},
            {"role": "consignee", "name": "Lyon Instruments", "country": "FR"},
            {"role": "payer", "name": "P", "country": "PA"},
        ],
    )
    assert r.findings[0].message == (
        "payer 'P' (PA) pays from PA (Panama), not the consignee's country (FR) "
        "or the destination (FR)"
    )


# -- new_buyer_high_priority ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "incorporated", "hs_code", "fires"),
    [
        ("AZ", "2023-04-12", "8542.32", True),
        ("AZ", "2022-02-24", "8526.91", True),  # the day itself counts; Tier 2
        ("AZ", "2022-02-23", "8542.32", False),  # before the invasion
        ("JP", "2023-04-12", "8542.32", False),  # a GECC partner
        ("AZ", "2023-04-12", "8541.10", False),  # Tier 3.A, not 1-2
        ("AZ", None, "8542.32", False),  # date not given
    ],
)
def test_new_buyer_outside_the_coalition_with_tier_1_2_items(
    tmp_path: Path, country: str, incorporated: str | None, hs_code: str, fires: bool
) -> None:
    rs = load_ruleset()
    buyer: dict[str, object] = {"role": "buyer", "name": "New Co", "country": country}
    if incorporated:
        buyer["incorporated_on"] = incorporated
    r = evaluate(rs, parties=[US_EXPORTER, buyer], route=["US", "DE"], goods=[{"hs_code": hs_code}])
    assert ("new-buyer-high-priority" in rule_ids(r)) is fires


# -- residential_address ------------------------------------------------------------------


def test_a_residential_address_flag_needs_review(ruleset: RuleSet) -> None:
    r = evaluate(
        ruleset,
        parties=[
            US_EXPORTER,
            {
                "role": "buyer",
                "name": "Lyon Instruments",
                "country": "FR",
                "residential_address": True,
                "address": "3 rue des Lilas, Lyon",
            },
        ],
        route=["US", "FR"],
    )
    assert rule_ids(r) == ["residential-address"]
    assert r.findings[0].severity is Severity.LOW
    assert r.findings[0].message == (
        "buyer 'Lyon Instruments' (FR) does business from a residential address "
        "(3 rue des Lilas, Lyon)"
    )
    flagged_false = evaluate(
        ruleset,
        parties=[
            US_EXPORTER,
            {"role": "buyer", "name": "L", "country": "FR", "residential_address": False},
        ],
    )
    assert flagged_false.decision is Decision.CLEAR


# -- ordering, disabling ----------------------------------------------------------------


def test_a_disabled_rule_does_not_fire(tmp_path: Path) -> None:
    rs = one_rule(
        tmp_path,
        'kind = "residential_address"\nseverity = "low"\ndecision = "review"\nenabled = false',
    )
    r = evaluate(rs, parties=[{"role": "buyer", "name": "L", "residential_address": True}])
    assert r.decision is Decision.CLEAR


def test_findings_sort_by_decision_then_severity_then_tier(
    ruleset: RuleSet, kral_row: dict[str, str]
) -> None:
    r = evaluate(
        ruleset,
        fake_screener({"Kral Aviation": el_hit(kral_row, score=0.9)}),
        parties=[
            US_EXPORTER,
            {
                "role": "buyer",
                "name": "Kral Aviation",
                "country": "TR",
                "residential_address": True,
            },
            {"role": "end_user", "name": "Minsk Optics", "country": "BY"},
            {"role": "payer", "name": "P", "country": "SC"},
        ],
        route=["US", "TR", "BY"],
        goods=[{"hs_code": "9013.80"}, {"hs_code": "8542.33"}],
    )
    keys = [(Decision(f.decision).rank, f.severity.rank) for f in r.findings]
    assert keys == sorted(keys)
    assert r.findings[0].decision == "block"
    assert r.findings[-1].rule_id == "residential-address"
    chpl = [f.chpl_tier for f in r.findings if f.rule_id == "chpl-transshipment-risk"]
    assert chpl == ["1", "3.B"]


# -- properties ----------------------------------------------------------------------------

_PLACES = ["US", "DE", "FR", "TR", "KZ", "AE", "AZ", "HK", "RU", "BY", "IR", "UA", "UA-43", "JP"]
_HS = ["8542.31", "8532.24", "8458.11", "8807.30", "9401.39", "6109.10", "8541.10"]


@given(
    parties=st.lists(
        st.fixed_dictionaries(
            {
                "role": st.sampled_from([r.value for r in PartyRole]),
                "name": st.sampled_from(["Alpha Ltd", "Beta Logistics", "Kral Aviation", "Gamma"]),
                "country": st.sampled_from(_PLACES),
            },
            optional={
                "incorporated_on": st.dates().map(lambda d: d.isoformat()),
                "residential_address": st.booleans(),
            },
        ),
        min_size=1,
        max_size=6,
    ),
    route=st.lists(st.sampled_from(_PLACES), max_size=5),
    goods=st.lists(st.sampled_from(_HS).map(lambda c: {"hs_code": c}), max_size=4),
)
@settings(max_examples=150, deadline=None)
def test_the_decision_is_the_worst_finding_and_findings_are_ordered(
    parties: list[dict[str, object]], route: list[str], goods: list[dict[str, str]]
) -> None:
    rs = load_ruleset()
    hit = sdn_hit("KRAL AVIATION", "1", 0.97)
    r = evaluate(
        rs, fake_screener({"Kral Aviation": hit}), parties=parties, route=route, goods=goods
    )
    decisions = {f.decision for f in r.findings}
    expected = "block" if "block" in decisions else "review" if decisions else "clear"
    assert r.decision.value == expected
    keys = [(Decision(f.decision).rank, f.severity.rank) for f in r.findings]
    assert keys == sorted(keys)
    assert all(f.sources and f.message for f in r.findings)
    # adding a restricted end user can only make the decision worse
    worse = evaluate(
        rs,
        fake_screener({"Kral Aviation": hit}),
        parties=[*parties, {"role": "end_user", "name": "Omega", "country": "RU"}],
        route=route,
        goods=goods,
    )
    assert worse.decision.rank <= r.decision.rank
    assert worse.decision is not Decision.CLEAR


def test_a_route_given_that_stops_short_of_the_end_user_is_judged_to_the_end_user(
    ruleset: RuleSet,
) -> None:
    """QA: consignee in AE, end user in IR: BLOCK with the route derived (US > AE > IR), but
    only REVIEW with the shipping leg given as the route (US > AE)."""
    parties = [
        US_EXPORTER,
        {"role": "consignee", "name": "Gulf Star FZE", "country": "AE"},
        {"role": "end_user", "name": "Pars Electronic", "country": "IR"},
    ]
    goods = [{"hs_code": "8542.31"}]
    given = evaluate(ruleset, parties=parties, route=["US", "AE"], goods=goods)
    derived = evaluate(ruleset, parties=parties, goods=goods)
    assert derived.route == given.route == ("US", "AE", "IR")
    assert given.decision is derived.decision is Decision.BLOCK
    assert [f.rule_id for f in given.findings] == [f.rule_id for f in derived.findings]
    assert derived.route_derived and not given.route_derived
    assert any("the end user's place IR was added" in w for w in given.warnings)


# -- party_missing -----------------------------------------------------------------------------


def test_party_missing_fires_for_chpl_goods_without_an_end_user(tmp_path: Path) -> None:
    """QA: no rule kind could say "no end user is named"."""
    rs = one_rule(tmp_path, 'kind = "party_missing"\nseverity = "medium"\ndecision = "review"')
    consignee = {"role": "consignee", "name": "Weber GmbH", "country": "DE"}
    end_user = {"role": "end_user", "name": "Weber Werk GmbH", "country": "DE"}
    chips = [{"hs_code": "8542.31"}]
    r = evaluate(rs, parties=[US_EXPORTER, consignee], route=["US", "DE"], goods=chips)
    assert r.decision is Decision.REVIEW
    (f,) = r.findings
    assert f.message == "no end user is named for 8542.31 (CHPL Tier 1)"
    assert (f.party_role, f.hs_code, f.chpl_tier) == ("end_user", "8542.31", "1")
    chairs = [{"hs_code": "9401.39"}]
    assert evaluate(
        rs, parties=[US_EXPORTER, consignee], route=["US", "DE"], goods=chairs
    ).decision is (Decision.CLEAR)
    named = evaluate(
        rs, parties=[US_EXPORTER, consignee, end_user], route=["US", "DE"], goods=chips
    )
    assert named.decision is Decision.CLEAR


@pytest.mark.parametrize("placeholder", ["TBD", "T.B.D.", "N/A", "unknown", "To be advised"])
def test_a_placeholder_name_is_no_name(placeholder: str) -> None:
    # QA: an end user "TBD" was screened as if it were a name, and nothing was flagged.
    assert Party(role="end_user", name=placeholder, country="AE").name is None
    assert Party(role="end_user", name="TBD Logistics").name == "TBD Logistics"
