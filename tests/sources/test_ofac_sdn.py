"""The OFAC SDN parser on the real legacy CSV files (2023-12-28 set, 2024-05-03 SDN.CSV)."""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.config import get_source_definition
from screening.errors import ParseError
from screening.models import EntityType, ListEntry, NameKind, ParseResult
from screening.sources.base import load_source


def raw_rows(data: bytes) -> list[list[str]]:
    """An independent reading of a legacy file: csv rows without the 0x1A line."""
    text = data.decode("utf-8").rstrip("\x1a")
    return [r for r in csv.reader(io.StringIO(text, newline="")) if r]


def parse(files: dict[str, bytes]) -> ParseResult:
    return load_source(get_source_definition("ofac_sdn")).parse(files)


def dump(entry: ListEntry) -> dict[str, object]:
    return entry.model_dump()


# --- the full real set ---------------------------------------------------------------------


def test_full_set_has_every_entry(sdn_result: ParseResult, sdn_files: dict[str, bytes]) -> None:
    rows = raw_rows(sdn_files["SDN.CSV"])
    assert len(sdn_result.entries) == 13_821 == len(rows)
    assert [e.entry_id for e in sdn_result.entries] == [r[0] for r in rows]
    assert all(e.name.strip() and e.name == e.name.strip() for e in sdn_result.entries)
    assert {e.source for e in sdn_result.entries} == {"ofac_sdn"}
    # The only rows dropped: three overflow remarks of entries no longer on the list.
    assert sdn_result.skipped == {"SDN_COMMENTS.CSV: remarks for unknown entry": 3}
    assert not any("latin-1" in n for n in sdn_result.notes)


def test_types_follow_the_sdn_type_column(
    sdn_result: ParseResult, sdn_files: dict[str, bytes]
) -> None:
    written = Counter(r[2].strip() for r in raw_rows(sdn_files["SDN.CSV"]))
    parsed = Counter(e.type for e in sdn_result.entries)
    assert parsed == {
        EntityType.PERSON: written["individual"],
        EntityType.ORGANIZATION: written["-0-"],
        EntityType.VESSEL: written["vessel"],
        EntityType.AIRCRAFT: written["aircraft"],
    }
    assert parsed[EntityType.PERSON] == 6_646


def test_every_alias_row_is_attached_to_its_entry(
    sdn: dict[str, ListEntry], sdn_files: dict[str, bytes]
) -> None:
    expected: dict[str, list[tuple[str, str]]] = {}
    for ent, _, kind, name, _ in raw_rows(sdn_files["ALT.CSV"]):
        expected.setdefault(ent, []).append((kind, name))
    assert sum(map(len, expected.values())) == 17_091
    for ent, entry in sdn.items():
        strong = [(a.kind.value, a.name) for a in entry.aliases if not a.weak]
        assert strong == expected.get(ent, []), ent


def test_every_address_row_is_attached_to_its_entry(
    sdn: dict[str, ListEntry], sdn_files: dict[str, bytes]
) -> None:
    expected: Counter[str] = Counter()
    for ent, _, street, city, country, remarks in raw_rows(sdn_files["ADD.CSV"]):
        if any(v.strip() != "-0-" for v in (street, city, country, remarks)):
            expected[ent] += 1
    assert Counter({k: len(e.addresses) for k, e in sdn.items() if e.addresses}) == expected


def test_bank_of_cuba_alias_and_addresses(sdn: dict[str, ListEntry]) -> None:
    bnc = sdn["306"]
    assert bnc.name == "BANCO NACIONAL DE CUBA"
    assert bnc.type is EntityType.ORGANIZATION
    assert bnc.programs == ("CUBA",)
    strong = [a for a in bnc.aliases if not a.weak]
    assert [(a.name, a.kind) for a in strong] == [("NATIONAL BANK OF CUBA", NameKind.AKA)]
    assert [(a.name, a.weak) for a in bnc.aliases if a.weak] == [("BNC", True)]
    zurich = bnc.addresses[0]
    assert (zurich.address, zurich.city) == ("Zweierstrasse 35", "Zurich CH-8022")
    assert (zurich.country, zurich.country_name) == ("CH", "Switzerland")
    assert [a.country for a in bnc.addresses] == ["CH", "ES", "JP", "PA"]
    assert bnc.remarks == "a.k.a. 'BNC'."


def test_countries_resolve_to_iso2(sdn: dict[str, ListEntry]) -> None:
    unresolved = Counter(
        a.country_name
        for e in sdn.values()
        for a in e.addresses
        if a.country_name and not a.country
    )
    # Not countries: OFAC's own placeholders. Everything else resolves.
    assert set(unresolved) == {"undetermined", "Region: Commonwealth of Independent States"}
    resolved = {a.country for e in sdn.values() for a in e.addresses if a.country}
    assert all(len(c) == 2 and c.isupper() for c in resolved)
    assert {"RU", "IR", "KP", "TR", "CN", "AE"} <= resolved


def test_person_remarks(sdn: dict[str, ListEntry]) -> None:
    lira = sdn["19231"]  # LIRA SOTELO, Alfonso
    assert lira.type is EntityType.PERSON
    assert lira.dates_of_birth == ("24 May 1970", "02 Dec 1970")
    assert lira.places_of_birth == (
        "Mexico City, D.F., Mexico",
        "Ixtlahuatenco Pedro Ascencio Alquisiras, Guerrero, Mexico",
    )
    assert lira.citizenships == ("MX",)
    assert lira.gender == "male"
    passport = lira.ids[0]
    assert (passport.type, passport.number, passport.country) == ("Passport", "G02447186", "MX")
    assert (passport.issued, passport.expires) == ("01 Apr 2010", "01 Apr 2016")
    assert [(i.type, i.number) for i in lira.ids[1:]] == [
        ("R.F.C.", "LISA7005242Y8"),
        ("National ID No.", "25887069638"),
        ("C.U.R.P.", "LISA700524HDFRTL03"),
    ]
    assert [(a.name, a.weak) for a in lira.aliases] == [
        ("BAHENA MARTINEZ, Rogelio", False),
        ("EL ATLANTE", True),
    ]

    oo = sdn["32292"]  # OO, Aung Naing: nationality written "Burma"
    assert oo.nationalities == ("MM",) and oo.citizenships == ("MM",)
    assert oo.title == "Minister for Investment and Foreign Economic Relations"
    assert [i.number for i in oo.ids if i.type == "National ID No."] == [
        "7PAKHANAN013345",
        "5SAKANAN017289",
    ]

    naqdi = sdn["12057"]  # circa / ranges stay text; programs split on "] ["
    assert naqdi.dates_of_birth == ("1951 to 1953", "1960 to 1962", "Apr 1961", "1953")
    assert naqdi.programs == ("SDGT", "NPWMD", "IRGC", "IFSR", "IRAN-HR", "IRAN-EO13876")
    circa = [d for e in sdn.values() for d in e.dates_of_birth if d.startswith("circa")]
    assert "circa 1944" in circa


def test_vessel_fields_and_links(sdn: dict[str, ListEntry]) -> None:
    artavil = sdn["15036"]
    assert artavil.type is EntityType.VESSEL
    assert artavil.details["call_sign"] == "T2EU4"
    assert artavil.details["vessel_type"] == "Crude/Oil Products Tanker"
    assert artavil.details["tonnage"] == "99,144"
    assert artavil.details["gross_registered_tonnage"] == "56,068"
    assert artavil.details["vessel_flag"] == "Iran"
    assert artavil.details["former_vessel_flag"] == "Malta; Tuvalu; None Identified; Tanzania"
    assert [(i.type, i.number) for i in artavil.ids] == [("IMO", "9187629"), ("MMSI", "572469210")]
    assert artavil.linked_to == ("NATIONAL IRANIAN TANKER COMPANY",)
    assert [(a.name, a.kind, a.weak) for a in artavil.aliases] == [
        ("ABADAN", NameKind.FKA, False),
        ("SHONA", NameKind.FKA, False),
        ("ALPHA", NameKind.FKA, True),
    ]
    aircraft = sdn["15431"]  # EP-GOM
    assert aircraft.type is EntityType.AIRCRAFT
    assert aircraft.details["aircraft_model"] == "IL76-TD"
    assert ("Aircraft Manufacturer's Serial Number (MSN)", "1023409321") in {
        (i.type, i.number) for i in aircraft.ids
    }
    vessels = [e for e in sdn.values() if e.type is EntityType.VESSEL]
    assert sum(1 for v in vessels if any(i.type == "IMO" for i in v.ids)) > 700


def test_remarks_overflow_is_appended_before_parsing(
    sdn: dict[str, ListEntry], sdn_files: dict[str, bytes]
) -> None:
    # TIAN, Yinyin: the weak alias 'snowsjohn' and the link are split across the two files.
    tian = sdn["28263"]
    assert ("snowsjohn", True) in {(a.name, a.weak) for a in tian.aliases}
    assert tian.linked_to == ("LAZARUS GROUP",)
    lazarus = sdn["27307"]
    assert "WHOIS HACKING TEAM" in {a.name for a in lazarus.aliases if a.weak}
    assert "APPLEWORM" in {a.name for a in lazarus.aliases if a.weak}
    for ent, overflow in raw_rows(sdn_files["SDN_COMMENTS.CSV"]):
        if ent in sdn:
            remarks = sdn[ent].remarks or ""
            assert len(remarks) > 1000 and remarks.endswith(overflow.strip())


def test_linked_to_names_a_listed_party(
    sdn: dict[str, ListEntry], cons_result: ParseResult
) -> None:
    names = {n.name for e in sdn.values() for n in e.names() if not n.weak}
    links = [link for e in sdn.values() for link in e.linked_to]
    assert len(links) > 5_000
    unresolved = {link for link in links if link not in names}
    # The few links that are not SDN names point at entries of the consolidated list.
    cons_names = {n.name for e in cons_result.entries for n in e.names()}
    assert unresolved <= cons_names
    # The closing period of the Remarks belongs to some names and not to others.
    # SDN names "SAZEH MORAKAB CO. LTD" but "NEW AHMADI LTD.", both linked at a Remarks' end.
    assert "SAZEH MORAKAB CO. LTD" in links and "SAZEH MORAKAB CO. LTD." not in links
    assert "NEW AHMADI LTD." in links and "NEW AHMADI LTD" not in links


def test_weak_aliases_are_flagged(sdn: dict[str, ListEntry]) -> None:
    weak = Counter(a.kind.value for e in sdn.values() for a in e.aliases if a.weak)
    written: Counter[str] = Counter()
    for entry in sdn.values():
        for m in re.finditer(r"(?:^|; )([afn])\.k\.a\. '", entry.remarks or ""):
            written[m.group(1) + "ka"] += 1
    assert weak == written
    assert weak["aka"] > 3_000
    # A strong alias (ALT.CSV) is never flagged weak.
    assert not any(a.weak and a.remarks for e in sdn.values() for a in e.aliases)


# --- the next publication with the older companion files ------------------------------------


def test_2024_sdn_csv_with_2023_companions(
    sdn_files: dict[str, bytes], sdn_2024_csv: bytes
) -> None:
    files = dict(sdn_files, **{"SDN.CSV": sdn_2024_csv})
    result = parse(files)
    assert len(result.entries) == 14_965
    listed = {e.entry_id for e in result.entries}
    orphan_aliases = sum(1 for r in raw_rows(files["ALT.CSV"]) if r[0] not in listed)
    orphan_addresses = sum(1 for r in raw_rows(files["ADD.CSV"]) if r[0] not in listed)
    assert orphan_aliases > 0 and orphan_addresses > 0
    assert result.skipped["ALT.CSV: alias for unknown entry"] == orphan_aliases
    assert result.skipped["ADD.CSV: address for unknown entry"] == orphan_addresses


# --- damaged payloads --------------------------------------------------------------------------

HTML = b"<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head><body>Denied</body></html>"


@pytest.mark.parametrize("name", ["SDN.CSV", "ADD.CSV", "ALT.CSV", "SDN_COMMENTS.CSV"])
def test_html_page_is_rejected(sdn_files: dict[str, bytes], name: str) -> None:
    with pytest.raises(ParseError, match=f"{name}: an HTML page") as info:
        parse(dict(sdn_files, **{name: HTML}))
    assert info.value.source == "ofac_sdn"


@pytest.mark.parametrize("name", ["SDN.CSV", "ADD.CSV", "ALT.CSV"])
def test_empty_body_is_rejected(sdn_files: dict[str, bytes], name: str) -> None:
    with pytest.raises(ParseError, match=f"{name}: empty body"):
        parse(dict(sdn_files, **{name: b""}))
    with pytest.raises(ParseError, match=f"{name}: empty body"):
        parse(dict(sdn_files, **{name: b"\r\n\x1a"}))


def test_empty_overflow_file_is_allowed(sdn_small: dict[str, bytes]) -> None:
    assert parse({**sdn_small, "SDN_COMMENTS.CSV": b"\x1a"}).entries


def test_missing_or_swapped_files_are_rejected(sdn_files: dict[str, bytes]) -> None:
    files = dict(sdn_files)
    del files["ADD.CSV"]
    with pytest.raises(ParseError, match="ADD.CSV: missing"):
        parse(files)
    with pytest.raises(ParseError, match="SDN.CSV: not in the OFAC legacy layout"):
        parse(dict(sdn_files, **{"SDN.CSV": sdn_files["ADD.CSV"]}))
    with pytest.raises(ParseError, match="ALT.CSV: not in the OFAC legacy layout"):
        parse(dict(sdn_files, **{"ALT.CSV": sdn_files["ADD.CSV"]}))
    with pytest.raises(ParseError, match="gzip"):
        parse(dict(sdn_files, **{"SDN.CSV": gzip.compress(sdn_files["SDN.CSV"])}))


def test_file_names_match_without_case(sdn_small: dict[str, bytes]) -> None:
    lower = {f"downloads/{k.lower()}": v for k, v in sdn_small.items()}
    assert parse(lower).entries == parse(sdn_small).entries


def test_sdn_cut_in_half_is_refused(sdn_files: dict[str, bytes]) -> None:
    data = sdn_files["SDN.CSV"]
    half = data[: len(data) // 2]
    assert not half.endswith(b"\r\n")  # the cut falls inside a row
    line = half.count(b"\r\n") + 1
    with pytest.raises(ParseError, match=rf"^SDN.CSV: cut off: .* \(line {line:,}\)") as info:
        parse(dict(sdn_files, **{"SDN.CSV": half}))
    assert info.value.source == "ofac_sdn"
    assert "\n" not in str(info.value)


def test_sdn_cut_anywhere_in_the_last_row_is_refused(sdn_small: dict[str, bytes]) -> None:
    small = sdn_small
    full = parse(small)
    data = small["SDN.CSV"]
    last_start = data.rstrip(b"\r\n\x1a").rfind(b"\r\n") + 2
    last_row = data[last_start:].rstrip(b"\r\n\x1a")
    assert last_row.startswith(b"7268,") and last_row.endswith(b"'JCT'.\"")
    # Every cut from the first byte of the row to just before its closing quote: inside the
    # ent_num, inside quotes, inside a "-0- " null, right after a closing quote mid-row.
    for cut in range(1, len(last_row)):
        with pytest.raises(ParseError, match=r"^SDN.CSV: cut off: its last row (ends|has)"):
            parse(dict(small, **{"SDN.CSV": data[: last_start + cut]}))
    # Cut right after the closing quote: the row is complete, only the line end and the 0x1A
    # byte are missing. Read, with a note (see test_cut_off_files for the 0x1A choice).
    whole = parse(dict(small, **{"SDN.CSV": data[: last_start + len(last_row)]}))
    assert [dump(e) for e in whole.entries] == [dump(e) for e in full.entries]
    assert whole.skipped == full.skipped
    assert "SDN.CSV: no 0x1A end-of-file byte" in " ".join(whole.notes)


def test_latin1_file_is_decoded(sdn_small: dict[str, bytes]) -> None:
    # The real OFAC files are plain ASCII; give the first name an accent, in latin-1.
    data = sdn_small["SDN.CSV"].replace(b"AEROCARIBBEAN", b"A\xc9ROCARIBBEAN", 1)
    result = parse(dict(sdn_small, **{"SDN.CSV": data}))
    assert result.entries[0].name == "A\u00c9ROCARIBBEAN AIRLINES"
    assert "SDN.CSV: not valid UTF-8, decoded as latin-1" in result.notes


def test_utf8_bom_is_ignored(sdn_small: dict[str, bytes]) -> None:
    small = sdn_small
    with_bom = parse(dict(small, **{"SDN.CSV": b"\xef\xbb\xbf" + small["SDN.CSV"]}))
    assert with_bom.entries == parse(small).entries


def test_malformed_rows_are_skipped_and_counted(sdn_small: dict[str, bytes]) -> None:
    small = sdn_small
    lines = small["SDN.CSV"].rstrip(b"\x1a").split(b"\r\n")[:-1]
    first = lines[0]
    bad = [
        first,  # duplicate ent_num
        b"X" + first,  # non-numeric ent_num
        first.rsplit(b",", 1)[0],  # 11 columns
        b"99999999,-0- ," + first.split(b",", 2)[2],  # empty (null) name
        b'99999998,"UNTERMINATED, -0- ,"x\r\n99999997',  # broken quoting swallows a line
    ]
    data = b"\r\n".join(lines[:5] + bad + lines[5:]) + b"\r\n\x1a"
    result = parse(dict(small, **{"SDN.CSV": data}))
    assert len(result.entries) == len(lines)
    assert result.skipped["SDN.CSV: duplicate ent_num"] == 1
    assert result.skipped["SDN.CSV: non-numeric ent_num"] == 1
    assert result.skipped["SDN.CSV: wrong number of columns"] >= 1
    assert result.skipped["SDN.CSV: empty name"] == 1
    assert result.skipped.get("SDN.CSV: malformed CSV row", 0) >= 1
    assert any(n.startswith("SDN.CSV line 6: duplicate ent_num") for n in result.notes)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    slot=st.sampled_from(["SDN.CSV", "ADD.CSV", "ALT.CSV", "SDN_COMMENTS.CSV"]),
    garbage=st.binary(max_size=3000),
)
def test_garbage_bytes_raise_only_parse_error(
    sdn_small: dict[str, bytes], slot: str, garbage: bytes
) -> None:
    files = dict(sdn_small)
    files[slot] = garbage
    try:
        result = parse(files)
    except ParseError:
        return
    assert all(e.name for e in result.entries)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_damaged_real_bytes_raise_only_parse_error(
    sdn_small: dict[str, bytes], data: st.DataObject
) -> None:
    files = dict(sdn_small)
    slot = data.draw(st.sampled_from(sorted(files)))
    body = bytearray(files[slot])
    for _ in range(data.draw(st.integers(1, 20))):
        at = data.draw(st.integers(0, len(body) - 1))
        body[at : at + 1] = data.draw(st.sampled_from([b'"', b",", b"\r\n", b"\x00", b"\xff", b""]))
    files[slot] = bytes(body)
    try:
        result = parse(files)
    except ParseError:
        return
    assert all(e.name and e.entry_id.isdigit() for e in result.entries)
