"""The BIS lists out of the real trade.gov Consolidated Screening List CSV.

The 2023-11-30 file is a real, damaged download: its header line appears twice and its last
row is cut off mid-record.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.config import get_source_definition
from screening.errors import ConfigError, ParseError
from screening.models import EntityType, ListEntry, ParseResult
from screening.sources.base import load_source
from screening.sources.trade_csl import COLUMNS, Source, parse_csl

DAMAGE = {"repeated header row": 1, "truncated last row": 1}
CODES = {
    "bis_entity_list": "EL",
    "bis_denied_persons": "DPL",
    "bis_unverified": "UVL",
    "bis_military_end_user": "MEU",
}


def parse(source_id: str, data: bytes) -> ParseResult:
    return load_source(get_source_definition(source_id)).parse({"consolidated.csv": data})


def raw_rows(data: bytes) -> list[list[str]]:
    """An independent, lenient reading: every 29-field row that is not a header."""
    rows = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    return [r for r in rows if len(r) == 29 and r[0] != "_id"]


def by_id(result: ParseResult) -> dict[str, ListEntry]:
    return {e.entry_id: e for e in result.entries}


Rows = list[list[str]]


def rewrite(data: bytes, edit: Callable[[list[str], Rows], tuple[list[str], Rows]]) -> bytes:
    """The CSV with ``edit(header, rows)`` applied, written back fully quoted."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    header, body = rows[0], rows[1:]
    header, body = edit(header, body)
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(body)
    return out.getvalue().encode("utf-8")


# --- the damaged 2023-11-30 file ------------------------------------------------------------


@pytest.mark.parametrize(
    ("source_id", "count"),
    [
        ("bis_entity_list", 919),
        ("bis_denied_persons", 577),
        ("bis_unverified", 186),
        ("bis_military_end_user", 71),
    ],
)
def test_counts_and_damage(
    csl_results: dict[str, ParseResult], csl_2023: bytes, source_id: str, count: int
) -> None:
    result = csl_results[source_id]
    code = CODES[source_id]
    written = [r for r in raw_rows(csl_2023) if f"({code})" in r[1]]
    assert len(result.entries) == count == len(written)
    assert [e.entry_id for e in result.entries] == [r[0] for r in written]
    assert result.skipped == DAMAGE
    assert "consolidated.csv line 2: repeated header row" in result.notes
    assert all(e.source == source_id for e in result.entries)
    assert all(e.name and e.name == e.name.strip() and "\n" not in e.name for e in result.entries)


def test_entity_list_entry(csl_results: dict[str, ParseResult]) -> None:
    entries = by_id(csl_results["bis_entity_list"])
    ghoura = entries["b6e959b59898e975daaae8fae3a8da1ec522f9f888cafc0e6401a16d"]
    assert ghoura.name == "Abdul Satar Ghoura"
    assert ghoura.type is EntityType.UNKNOWN  # the CSL leaves type blank on BIS rows
    assert [(a.address, a.country) for a in ghoura.addresses] == [
        ("501, 5th Floor, Amanullah Sancharaki Market Opp Chaman E Huzuri, Kabul", "AF"),
        ("Flat No. 41 Block No 24 Macroyan 3, Kabul", "AF"),
        ("127-128, Times Center, Saddar Road, Peshawar", "PK"),
        ("House Number 32, F-2, Khusal Khan Khattak Road, University Town, Peshawar", "PK"),
    ]
    assert ghoura.details["federal_register_notice"] == "76 FR 71867"
    assert ghoura.details["start_date"] == "2011-11-21"
    assert ghoura.details["license_requirement"] == (
        "For all items subject to the EAR. (See §744.11 of the EAR)."
    )
    assert ghoura.details["license_policy"] == "Presumption of denial."
    assert ghoura.details["csl_source"] == "Entity List (EL) - Bureau of Industry and Security"
    assert ghoura.details["source_list_url"].startswith("https://www.bis.doc.gov/")

    farid = next(e for e in entries.values() if e.name == "Fazal Rahim Farid")
    # alt_names "Fazel Rahim Farid; Farid; and Engineer Idris"
    assert [a.name for a in farid.aliases] == ["Fazel Rahim Farid", "Farid", "Engineer Idris"]
    assert all(not a.weak for e in entries.values() for a in e.aliases)


def test_addresses_take_their_country_from_the_last_part(
    csl_results: dict[str, ParseResult],
) -> None:
    for result in csl_results.values():
        for entry in result.entries:
            for address in entry.addresses:
                assert address.country is None or re.fullmatch("[A-Z]{2}", address.country)
    el = [a for e in csl_results["bis_entity_list"].entries for a in e.addresses]
    assert sum(1 for a in el if a.country) / len(el) > 0.98
    hong_kong = [a for a in el if a.country_name == "Hong Kong"]  # "..., Hong Kong," (no code)
    assert hong_kong and {a.country for a in hong_kong} == {"HK"}


def test_denied_persons_us_addresses(csl_results: dict[str, ParseResult]) -> None:
    dpl = csl_results["bis_denied_persons"].entries
    villa = next(e for e in dpl if e.name == "AARON ABRAHAM VILLA")
    (address,) = villa.addresses
    assert (address.address, address.city, address.state) == ("3415 RIVERA AVENUE", "EL PASO", "TX")
    assert (address.postal_code, address.country) == ("79905", "US")
    assert villa.details["end_date"] == "2026-01-14"
    assert villa.details["standard_order"] == "Y"
    assert villa.remarks == "F.R. NOTICE ADDED"
    assert sum(1 for e in dpl for a in e.addresses if a.country == "US") > 300


def test_the_seed_excerpt_is_the_one_cut_off_file_read(csl_2023: bytes) -> None:
    # The bundled seed (= csl_2023) is cut off mid-record; it is read, with DAMAGE counted,
    # because it is the snapshot of every fresh install. The same cut one byte later or earlier
    # is an ordinary cut-off download, and refused.
    assert parse("bis_entity_list", csl_2023).skipped == DAMAGE
    for other in (csl_2023[:-1], csl_2023 + b"x"):
        with pytest.raises(ParseError, match=r"^consolidated.csv: cut off: its last row ends"):
            parse("bis_entity_list", other)


def test_cut_in_half_is_refused(csl_2023: bytes) -> None:
    half = csl_2023[: len(csl_2023) // 2]
    for source_id in CODES:
        with pytest.raises(ParseError, match=r"^consolidated.csv: cut off: ") as info:
            parse(source_id, half)
        assert info.value.source == source_id


def test_cut_inside_an_entity_list_row_is_refused(
    csl_2023: bytes, csl_results: dict[str, ParseResult]
) -> None:
    victim = csl_results["bis_entity_list"].entries[-1]
    start = csl_2023.index(f'"{victim.entry_id}"'.encode())
    end = csl_2023.index(b"\n", start)
    # Inside the _id, further in, just before the last closing quote, and right after a
    # closing quote in the middle of the row (a complete field, but too few of them).
    mid_row = csl_2023.index(b'","', start + 200) + 1
    for cut in (start + 10, start + 200, end - 1, mid_row):
        with pytest.raises(ParseError, match=r"^consolidated.csv: cut off: its last row"):
            parse("bis_entity_list", csl_2023[:cut])
    with pytest.raises(ParseError, match=r"its last row has \d+ of the 29 fields"):
        parse("bis_entity_list", csl_2023[:mid_row])
    # Cut at the end of the row: nothing in the file says rows are missing (no end marker, no
    # row count); rows after it are lost and the refresh's record-count guard has to judge.
    result = parse("bis_entity_list", csl_2023[:end])
    assert result.entries[-1] == victim
    assert result.skipped == {"repeated header row": 1}


def test_cut_inside_a_utf8_character_is_refused(csl_2023: bytes) -> None:
    section = "§".encode()
    last = csl_2023.rindex(section)
    with pytest.raises(ParseError, match=r"^consolidated.csv: cut off: its last row ends"):
        parse("bis_entity_list", csl_2023[: last + 1])


# --- the 2025 layout --------------------------------------------------------------------------


def test_2025_excerpt_has_the_same_header(csl_2025: bytes, csl_2023: bytes) -> None:
    header_2025 = next(csv.reader(io.StringIO(csl_2025.decode())))
    header_2023 = next(csv.reader(io.StringIO(csl_2023.decode())))
    assert header_2025 == header_2023 == list(COLUMNS)


def test_2025_excerpt(csl_2025: bytes) -> None:
    results = {sid: parse(sid, csl_2025) for sid in CODES}
    assert {sid: len(r.entries) for sid, r in results.items()} == dict.fromkeys(CODES, 1)
    assert all(r.skipped == {} for r in results.values())
    (cetc,) = results["bis_entity_list"].entries
    assert cetc.name.endswith("13th Research Institute (CETC 13)")
    assert [a.name for a in cetc.aliases] == [
        "Hebei Semiconductor Research Institute",
        "HSRI",
        "Hebei Institute of Semiconductors",
        "Hebei Semiconductor Institute",
        "Hebei Semiconductor",
        "CETC Research Institute 13",
    ]
    assert [a.country for a in cetc.addresses] == ["CN", "CN", "CN"]
    assert cetc.addresses[1].address == "21 Changsheng Street, Shijiazhuang, Hebei"
    assert cetc.details["federal_register_notice"] == "83 FR 37423; 87 FR 77505"
    (ash,) = results["bis_denied_persons"].entries
    assert (ash.name, ash.addresses[0].country, ash.remarks) == ("I. ASH", "US", "50 YEAR DENIAL")


def test_ofac_rows_of_the_csl(csl_2025: bytes) -> None:
    """Other CSL lists parse too (the module keys on the code): typed rows, ids, gender."""
    sdn = parse_csl(csl_2025, csl_code="SDN", source="csl_sdn", file="consolidated.csv")
    (rim,) = sdn.entries
    assert (rim.entry_id, rim.name, rim.type) == ("52291", "RIM, Ryong Nam", EntityType.PERSON)
    assert rim.dates_of_birth == ("1978-12-05",)
    assert rim.nationalities == ("KP",)
    assert rim.gender == "male"
    assert [(i.type, i.number, i.country) for i in rim.ids] == [("Passport", "836238033", "KP")]
    assert rim.details["sanctions_information"].startswith("Secondary sanctions risk:")
    assert [a.country for a in rim.addresses] == ["CN", "KP"]
    ssi = parse_csl(csl_2025, csl_code="SSI", source="csl_ssi", file="consolidated.csv")
    sme = by_id(ssi)["18283"]
    assert sme.type is EntityType.ORGANIZATION
    assert ("SWIFT/BIC", "RUDVRUMM") in {(i.type, i.number) for i in sme.ids}
    assert sme.details["website"] == "mspbank.ru"


def test_columns_in_any_order_and_extra_columns(csl_2025: bytes) -> None:
    def shuffle(header: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
        order = sorted(range(len(header)), key=lambda i: header[i][::-1])
        return (
            ["extra_column", *(header[i] for i in order)],
            [["x", *(row[i] for i in order)] for row in rows],
        )

    shuffled = rewrite(csl_2025, shuffle)
    for sid in CODES:
        assert parse(sid, shuffled).entries == parse(sid, csl_2025).entries


def test_blank_type_with_dates_of_birth_is_a_person(csl_2025: bytes) -> None:
    def add_dob(header: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
        dob = header.index("dates_of_birth")
        for row in rows:
            if "(UVL)" in row[1]:
                row[dob] = "1970-01-01"
        return header, rows

    (atlas,) = parse("bis_unverified", rewrite(csl_2025, add_dob)).entries
    assert atlas.type is EntityType.PERSON and atlas.dates_of_birth == ("1970-01-01",)


def test_duplicate_id_is_skipped(csl_2025: bytes) -> None:
    def duplicate(header: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
        el = next(r for r in rows if "(EL)" in r[1])
        return header, [*rows, list(el)]

    result = parse("bis_entity_list", rewrite(csl_2025, duplicate))
    assert len(result.entries) == 1 and result.skipped == {"duplicate _id": 1}


# --- payloads that are not the CSL ------------------------------------------------------------


def test_missing_column_is_rejected(csl_2025: bytes) -> None:
    def drop(header: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
        i = header.index("license_policy")
        return header[:i] + header[i + 1 :], [r[:i] + r[i + 1 :] for r in rows]

    with pytest.raises(ParseError, match="license_policy") as info:
        parse("bis_entity_list", rewrite(csl_2025, drop))
    assert info.value.source == "bis_entity_list"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "an HTML page"),
        (b'{"results": []}', "a JSON document"),
        (b"\x1f\x8b\x08\x00compressed", "gzip"),
        (",".join(COLUMNS).encode() + b"\r\n", "no data rows"),
        (b"name\tsource\tid\r\nA\tB\tC\r\n", "not a Consolidated Screening List CSV"),
    ],
)
def test_not_a_csl_file(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse("bis_entity_list", body)


def test_ofac_file_is_not_a_csl(sdn_small: dict[str, bytes]) -> None:
    with pytest.raises(ParseError, match="not a Consolidated Screening List CSV"):
        parse("bis_entity_list", sdn_small["SDN.CSV"])


def test_csl_code_is_required() -> None:
    definition = get_source_definition("bis_entity_list").model_copy(update={"options": {}})
    with pytest.raises(ConfigError, match="csl_code"):
        Source(definition)


def test_any_single_file_name_is_accepted(csl_2025: bytes) -> None:
    src = load_source(get_source_definition("bis_military_end_user"))
    assert (
        src.parse({"/tmp/downloaded.csv": csl_2025}).entries
        == parse("bis_military_end_user", csl_2025).entries
    )
    with pytest.raises(ParseError, match="consolidated.csv: missing"):
        src.parse({"a.csv": csl_2025, "b.csv": csl_2025})


@settings(max_examples=80, deadline=None)
@given(garbage=st.binary(max_size=4000))
def test_garbage_bytes_raise_only_parse_error(garbage: bytes) -> None:
    try:
        result = parse("bis_entity_list", garbage)
    except ParseError:
        return
    assert all(e.name and e.entry_id for e in result.entries)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_damaged_real_bytes_raise_only_parse_error(csl_2025: bytes, data: st.DataObject) -> None:
    body = bytearray(csl_2025)
    for _ in range(data.draw(st.integers(1, 20))):
        at = data.draw(st.integers(0, len(body) - 1))
        body[at : at + 1] = data.draw(st.sampled_from([b'"', b",", b"\r\n", b"\x00", b"\xff", b""]))
    try:
        result = parse("bis_entity_list", bytes(body))
    except ParseError:
        return
    assert len(result.entries) <= 1
