"""Real listed names behind the spellings people write, and names that must not alert.

Every positive is a real entry of the bundled seed: OFAC SDN (2023-12-28) or the BIS Entity
List rows of the CSL (2023-11-30).
"""

from __future__ import annotations

import pytest

from screening.errors import InputError
from screening.screener import Screener

ROSOBORONEXPORT = ("ofac_sdn", "18782")  # ROSOBORONEKSPORT OAO
SHOIGU = ("ofac_sdn", "35173")  # SHOIGU, Sergei Kuzhugetovich
SBERBANK = ("ofac_sdn", "18715")  # JOINT STOCK COMPANY SBERBANK
VEB_ASIA = ("ofac_sdn", "18295")  # VEB ASIA LIMITED
KRAL = ("bis_entity_list", "642e3dd75e5b5e79cb71246c58e18eed7db51aba36595344322396f8")
AVISTAR = ("bis_entity_list", "b97ecf324d19b97364b64fd25f27f3e497b0e0dbcc296f149a89ec04")


def keys(screener: Screener, name: str, **kw: object) -> list[tuple[str, str]]:
    result = screener.screen(name, **kw)  # type: ignore[arg-type]
    return [(h.source, h.entry_id) for h in result.hits]


@pytest.mark.parametrize(
    ("query", "expected", "cls"),
    [
        ("ROSOBORONEKSPORT OAO", ROSOBORONEXPORT, "exact"),
        ("rosoboroneksport oao", ROSOBORONEXPORT, "lowercase"),
        ("Рособоронэкспорт", ROSOBORONEXPORT, "cyrillic script"),
        ("ОАО «Рособоронэкспорт»", ROSOBORONEXPORT, "cyrillic with legal form and quotes"),
        ("Rоsоbоrоnеksроrt", ROSOBORONEXPORT, "homoglyphs"),
        ("Roso\u200bboron\u00adeksport", ROSOBORONEXPORT, "zero width / soft hyphen"),
        ("R o s o b o r o n e k s p o r t", ROSOBORONEXPORT, "letter spacing"),
        ("Rosoboroneksprot", ROSOBORONEXPORT, "typo"),
        ("Vresor S.r.o.", ("ofac_sdn", "44579"), "two letters swapped in a short name"),
        ("Llc Forat", ("ofac_sdn", "43139"), "two letters swapped at the end"),
        ("Rosoboron Eksport", ROSOBORONEXPORT, "split word"),
        ("OSTECEC LTD", ("ofac_sdn", "42868"), "hyphenated short parts run together"),
        ("Amed Ali Saleh", ("ofac_sdn", "17928"), "mistyped common given name (Ahmed)"),
        ("Sayed Shah", ("ofac_sdn", "13172"), "title and surname of SHAH, Sayed Wazir"),
        ("Khalil Taha", ("ofac_sdn", "10119"), "four middle names left out"),
        ("Seyed Ghoreishi", ("ofac_sdn", "39096"), "title and surname of GHOREISHI, Seyed …"),
        (
            "Mohamed Hassane Ismail",
            ("ofac_sdn", "42279"),
            "an organisation's name whose words read as given names, as the list spells them",
        ),
        ("MJchael Makuei Lueth", ("ofac_sdn", "20998"), "mistyped given name (Michael)"),
        (
            "CatoSi Consulting Ab",
            ("bis_entity_list", "6c203370dbc6e42c6513aa618db7ded9f46494e092f4e25aefa5d965"),
            "typo the index cannot see, in a part also found as a pair",
        ),
        ("ZARECHE4 OOO", ("ofac_sdn", "35331"), "hyphenated name and number run together"),
        ("JAISHIMOHAMMED", ("ofac_sdn", "6935"), "three hyphenated parts run together"),
        ("LLC VALTEXST", ("ofac_sdn", "37888"), "VALTEX-ST run together (ST is not Saint)"),
        ("LLC NMTEKH", ("ofac_sdn", "35011"), "NM-TEKH run together (TEKH is not written out)"),
        ("BARLY OFFSHORE", ("ofac_sdn", "22264"), "a generic word the list splits (OFF-SHORE)"),
        ("Bank-e ShaWr", ("ofac_sdn", "13138"), "a typo beside two generic words"),
        (
            "Abdul Mallah",
            ("ofac_sdn", "32178"),
            "AL-MALLAH, 'Abd-al-Jalil: among a hundred names sharing its common parts",
        ),
        ("SILVER BRIDGE SHIPPING COHKG", ("ofac_sdn", "27533"), "CO-HKG run together"),
        ("DAFENG ASIA CO Limited Liability Company", ("ofac_sdn", "45982"), "LLC spelt out"),
        ("HAMRIYAH STEEL FREE ZONE Co.", ("ofac_sdn", "42079"), "free zone company, abbreviated"),
        (
            "P.ad",
            ("bis_entity_list", "deed08e9cf163f1fd81d6910e72beb6ae9f0534f8d59e5f1a79d10e8"),
            "an exact name of two parts that thousands of names share",
        ),
        ("THIEVESINLAW", ("ofac_sdn", "23223"), "three parts run together, short ones inside"),
        (
            "KOMSOMOLSKONAMUR AVIATION PLANT",
            ("ofac_sdn", "35341"),
            "a three-part town run together beside words the index finds",
        ),
        (
            "PUBLIC JOINTSTOCK COMPANY ODKUFIMSKOYE MOTOROSTROITELNOYE PRODUCTION ASSOCIATION",
            ("ofac_sdn", "35353"),
            "joint-stock written run together",
        ),
        ("Rosoboroneksport JSC", ROSOBORONEXPORT, "legal form variant"),
        ("Joint Stock Compayn Rosoboroneksport", ROSOBORONEXPORT, "typo in the legal form"),
        ("Jint Stock Company Rosoboroneksport", ROSOBORONEXPORT, "short legal word mistyped"),
        (
            "Public Joint Stock Comany Kremny",
            ("ofac_sdn", "38176"),
            "legal word mistyped as another list name happens to spell it",
        ),
        (
            "Limited LNability Company Spetstechnotrade",
            ("ofac_sdn", "45932"),
            "typo in a word of a multi-word legal form",
        ),
        ("Sergei Shoigu", SHOIGU, "dropped patronymic"),
        ("Sergey Kuzhugetovich Shoygu", SHOIGU, "transliteration"),
        ("Shoigu Sergei Kuzhugetovich", SHOIGU, "surname first, no comma"),
        ("Шойгу Сергей Кужугетович", SHOIGU, "cyrillic person"),
        ("SHOIGU, Sergei", SHOIGU, "list style"),
        ("Sberbank", SBERBANK, "legal form dropped"),
        ("AO Sberbank", SBERBANK, "legal form variant (AO = JSC)"),
        ("VEB Asia Ltd", VEB_ASIA, "Ltd = Limited"),
        ("Kral Aviation Ltd Sti", KRAL, "Turkish legal form"),
        ("KRAL AVİATİON", KRAL, "Turkish dotted capital I"),
        (
            "Avistar Havacılık Bilişim Turizm İnşaat Sanayi ve Ticaret Ltd. Şti.",
            AVISTAR,
            "Turkish diacritics and abbreviated legal form",
        ),
    ],
)
def test_listed_party_is_found_behind_its_spellings(
    screener: Screener, query: str, expected: tuple[str, str], cls: str
) -> None:
    found = keys(screener, query)
    assert expected in found, f"{cls}: {query!r} -> {found[:3]}"
    assert found[0] == expected or screener.screen(query).hits[0].score == 1.0


@pytest.mark.parametrize(
    "query",
    [
        "Trading LLC",
        "International Group",
        "Import Export Company",
        "General Trading Company Limited",
        "Jones Limited Company",
        "Anadolu Elektronik Sanayi ve Ticaret A.Ş.",
        "Müller Maschinenbau GmbH",
        "Вячеслав Бенедиктович Беляков",
        "Nazlim Karanbay Demirel",
        "Hans-Rudolf Linke",
        "احسان منصوری",
        "Çəmənzəminli MMC",
        "Shenzhen Bright Star Electronics",
    ],
)
def test_unlisted_names_do_not_alert(screener: Screener, query: str) -> None:
    assert keys(screener, query) == []


def test_a_name_screens_the_same_whatever_was_screened_before(screener: Screener) -> None:
    # "Hasan" and "Hassane" read as the same given name, but the list's MOHAMED HASSANE ISMAIL
    # is found through the spelling as written: results remembered for one spelling must not
    # be served for the other.
    assert ("ofac_sdn", "42279") not in keys(screener, "Mohamed Hasan Ismail")
    assert ("ofac_sdn", "42279") in keys(screener, "Mohamed Hassane Ismail")


def test_chinese_characters_match_only_the_same_syllables(screener: Screener) -> None:
    # 张伟 is Zhang Wei: the listed ZHANG, Wei. 杨伟 (Yang Wei) and 杨建 (Yang Jian) are other
    # names, though the rules that make Zhukov and Jukoff one key would read Zhang as Yang;
    # 张建平 (Zhang Jian Ping) is not ZHANG, Jiang Ping.
    zhang_wei = ("ofac_sdn", "45391")
    assert zhang_wei in keys(screener, "张伟")
    assert keys(screener, "杨伟") == []
    assert keys(screener, "杨建") == []
    assert ("ofac_sdn", "9340") not in keys(screener, "张建平")


def test_generic_words_alone_never_match_a_distinctive_name(screener: Screener) -> None:
    # "Sberbank Trading" shares the distinctive word; "Trading Bank" shares only generic words.
    assert SBERBANK in keys(screener, "Sberbank")
    assert SBERBANK not in keys(screener, "Trading Bank Company")


def test_type_mismatch_lowers_but_never_hides_an_exact_match(screener: Screener) -> None:
    as_org = screener.screen("SHOIGU, Sergei Kuzhugetovich", kind="organization")
    hit = next(h for h in as_org.hits if (h.source, h.entry_id) == SHOIGU)
    assert hit.score >= as_org.threshold
    assert any("type" in a for a in hit.explanation.adjustments)  # type: ignore[union-attr]


def test_country_refines_the_score(screener: Screener) -> None:
    base = screener.screen("Rosoboronexport").hits[0].score
    same = screener.screen("Rosoboronexport", country="RU").hits[0].score
    other = screener.screen("Rosoboronexport", country="Türkiye").hits[0].score
    assert same >= base >= other
    assert other >= screener.threshold  # still alerts


def test_weak_alias_counts_less(screener: Screener) -> None:
    # BANCO NACIONAL DE CUBA has the weak a.k.a. 'BNC' in its remarks (OFAC ent_num 306).
    result = screener.screen("BNC", threshold=0.5)
    weak = [h for h in result.hits if h.entry_id == "306"]
    assert weak and weak[0].matched_name_weak
    assert weak[0].score < 1.0


def test_every_hit_is_explained(screener: Screener) -> None:
    hit = screener.screen("Irina Shoigu").hits[0]  # SHOIGU, Irina Aleksandrovna (38656)
    assert (hit.source, hit.entry_id) == ("ofac_sdn", "38656")
    e = hit.explanation
    assert e is not None
    assert e.method == "tokens"
    assert {m[0] for m in e.matched_tokens} == {"irina", "shoigu"}
    assert e.unmatched_candidate_tokens == ("aleksandrovna (middle name)",)
    assert hit.matched_name_kind.value == "primary"
    assert hit.list_name == "OFAC SDN"
    assert hit.programs == ("RUSSIA-EO14024",)
    assert e.components["final"] == hit.score


def test_result_names_the_snapshots_and_warns_they_are_seeds(screener: Screener) -> None:
    result = screener.screen("Sberbank")
    sources = {s.source for s in result.snapshots}
    assert {"ofac_sdn", "bis_entity_list"} <= sources
    assert all(s.stale and s.origin == "seed" for s in result.snapshots)
    assert any("seed" in w for w in result.warnings)


@pytest.mark.parametrize("bad", ["", "   ", "x" * 5000])
def test_unusable_names_are_input_errors(screener: Screener, bad: str) -> None:
    with pytest.raises(InputError):
        screener.screen(bad)


def test_unknown_country_is_a_warning_not_a_failure(screener: Screener) -> None:
    result = screener.screen("Sberbank", country="Atlantis")
    assert result.hits
    assert any("Atlantis" in w for w in result.warnings)


def test_a_typo_in_the_rarest_part_does_not_decide_the_candidates(screener: Screener) -> None:
    """'HaGith' (Harith) is the query's rarest part and finds only GAITH: were it alone to
    bring in the candidates, the listed AL-DARI, Muthanna Harith would never be scored."""
    hits = screener.screen("Muthanna HaGith Al-dari", kind="person").hits
    assert hits and (hits[0].source, hits[0].entry_id) == ("ofac_sdn", "11493")
