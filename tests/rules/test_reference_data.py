"""The reference tables in lists/: the CHPL and the country tables, and their validation."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from screening.errors import ConfigError
from screening.rules import CHPL_TIERS, load_reference
from screening.rules.reference import place_in

LISTS = Path(__file__).resolve().parents[2] / "lists"

EU27 = set(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
)


def test_the_chpl_has_50_codes_in_the_published_tiers() -> None:
    ref = load_reference()
    assert len(ref.chpl) == 50
    assert Counter(i.tier for i in ref.chpl.values()) == {
        "1": 4,
        "2": 5,
        "3.A": 16,
        "3.B": 9,
        "4.A": 11,
        "4.B": 5,
    }
    assert {hs for hs, i in ref.chpl.items() if i.tier == "1"} == {
        "854231",
        "854232",
        "854233",
        "854239",
    }
    assert {hs for hs, i in ref.chpl.items() if i.tier == "4.B"} == {
        "845710",
        "845811",
        "845891",
        "845961",
        "846693",
    }
    assert ref.tier("880730") == "3.B"
    assert ref.tier("853224") == "2"
    assert ref.tier("854800") == "2"
    for not_on_the_list in ("847330", "854442", "853222", "845620", "940139"):
        assert ref.tier(not_on_the_list) is None
    assert all(i.description for i in ref.chpl.values())


def test_the_chpl_file_carries_its_provenance() -> None:
    import tomllib

    raw = tomllib.loads((LISTS / "chpl.toml").read_text(encoding="utf-8"))
    assert raw["published"] == date(2024, 2, 23)
    assert raw["version"] == "2024-02-23"
    assert raw["url"].startswith("https://www.bis.gov/")
    assert set(raw["tiers"]) == set(CHPL_TIERS)


def test_transshipment_risk_countries_are_the_18_of_june_2022_plus_additions() -> None:
    table = load_reference().tables["transshipment_risk"]
    named_2022 = {
        e.code for e in table.entries if any("FIN-2022-Alert003" in n for n in e.named_in)
    }
    assert named_2022 - {"HK"} == set(
        "AM BR CN GE IN IL KZ KG MX NI RS SG ZA TW TJ TR AE UZ".split()
    )
    assert table.codes == named_2022 | {"AZ"}
    az = next(e for e in table.entries if e.code == "AZ")
    assert "NOT among the 18" in (az.note or "")
    assert all(e.named_in for e in table.entries)
    assert table.date == date(2022, 6, 28)


def test_restricted_destinations_include_the_occupied_regions_by_iso_3166_2() -> None:
    ref = load_reference()
    restricted = ref.table("restricted")
    assert restricted == {
        "RU",
        "BY",
        "IR",
        "KP",
        "SY",
        "CU",
        "UA-43",
        "UA-40",
        "UA-14",
        "UA-09",
        "UA-65",
        "UA-23",
    }
    assert ref.region("Crimea") == "UA-43"
    assert ref.region("Zaporozhye") == "UA-23"
    assert ref.regions_in("prospekt Lenina 1, Donetsk, 83000") == ("UA-14",)
    assert place_in("UA-43", restricted) and not place_in("UA", restricted)
    assert place_in("RU", restricted) and not place_in("KZ", restricted)


def test_gecc_partners() -> None:
    ref = load_reference()
    gecc = ref.table("gecc")
    assert gecc == EU27 | set("AU CA IS JP LI NZ NO KR CH TW GB US".split())
    assert "SG" not in gecc  # disputed; left out
    assert not gecc & ref.table("restricted")


def test_every_table_has_source_date_and_version() -> None:
    ref = load_reference()
    for table in ref.tables.values():
        assert table.source and table.url.startswith("https://") and table.version
        assert isinstance(table.date, date)
    assert [f.name for f in ref.files] == ["chpl", "risk_countries"]
    assert all(len(f.sha256) == 64 for f in ref.files)


def bad_copy(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (LISTS / name).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('tier = "4.B"', 'tier = "5"', r"items\[45\]\.tier: '5' is not a CHPL tier"),
        ('hs6 = "8542.32"', 'hs6 = "8542.31"', "HS code 8542.31 is listed twice"),
        ('hs6 = "8542.31"', 'hs6 = "8542"', r"items\[0\]\.hs6: '8542' is not an HS-6 code"),
        (  # QA: full-width digits passed and silently took 8542.31 off the list
            'hs6 = "8542.31"',
            'hs6 = "８５４２.３１"',
            r"items\[0\]\.hs6: '８５４２.３１' is not an HS-6 code",
        ),
        (
            "published = 2024-02-23",
            'published = "Feb 2024"',
            "published: Input should be a valid date",
        ),
    ],
)
def test_a_broken_chpl_file_is_a_config_error(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    path = bad_copy(tmp_path, "chpl.toml", old, new)
    with pytest.raises(ConfigError, match=expected):
        load_reference(chpl_path=path)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('code = "AZ"', 'code = "AM"', r"\[transshipment_risk\]: AM listed twice"),
        ('code = "UA-43"', 'code = "ZZ-43"', r"restricted.entries\[6\].code: 'ZZ-43' is not"),
        (
            'named_in = ["EAR §746.7 (Iran)", "Iranian Transactions and Sanctions Regulations, '
            '31 CFR Part 560"]',
            "named_in = []",
            r"restricted.entries\[2\].named_in: List should have at least 1 item",
        ),
    ],
)
def test_a_broken_country_file_is_a_config_error(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    path = bad_copy(tmp_path, "risk_countries.toml", old, new)
    with pytest.raises(ConfigError, match=expected):
        load_reference(countries_path=path)
