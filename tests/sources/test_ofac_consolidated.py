"""The OFAC consolidated (non-SDN) parser on the real CONS_*.CSV files of December 2025."""

from __future__ import annotations

import csv
import io
from collections import Counter

import pytest

from screening.config import get_source_definition
from screening.errors import ParseError
from screening.models import EntityType, NameKind, ParseResult
from screening.sources._ofac_legacy import CONS_LAYOUT, OfacLegacySource
from screening.sources.base import load_source


def raw_rows(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8").rstrip("\x1a")
    return [r for r in csv.reader(io.StringIO(text, newline="")) if r]


def parse(files: dict[str, bytes]) -> ParseResult:
    return load_source(get_source_definition("ofac_consolidated")).parse(files)


def test_source_uses_the_shared_legacy_parser() -> None:
    src = load_source(get_source_definition("ofac_consolidated"))
    assert isinstance(src, OfacLegacySource)
    assert src.layout == CONS_LAYOUT
    assert src.file_names() == CONS_LAYOUT.files


def test_full_set(cons_result: ParseResult, cons_files: dict[str, bytes]) -> None:
    rows = raw_rows(cons_files["CONS_PRIM.CSV"])
    assert len(cons_result.entries) == 442 == len(rows)
    assert cons_result.skipped == {}
    assert all(e.name and e.source == "ofac_consolidated" for e in cons_result.entries)
    types = Counter(e.type for e in cons_result.entries)
    assert types == {EntityType.ORGANIZATION: 363, EntityType.PERSON: 79}
    programs = Counter(p for e in cons_result.entries for p in e.programs)
    assert {"UKRAINE-EO13662", "NS-PLC", "CMIC-EO13959", "RUSSIA-EO14024"} <= set(programs)


def test_aliases_and_addresses_attach(
    cons_result: ParseResult, cons_files: dict[str, bytes]
) -> None:
    by_id = {e.entry_id: e for e in cons_result.entries}
    aliases: dict[str, list[str]] = {}
    for ent, _, _, name, _ in raw_rows(cons_files["CONS_ALT.CSV"]):
        aliases.setdefault(ent, []).append(name)
    for ent, entry in by_id.items():
        assert [a.name for a in entry.aliases if not a.weak] == aliases.get(ent, []), ent
    with_content = Counter(
        r[0] for r in raw_rows(cons_files["CONS_ADD.CSV"]) if any(v != "-0- " for v in r[2:])
    )
    assert Counter({k: len(e.addresses) for k, e in by_id.items() if e.addresses}) == with_content

    gpb = by_id["17016"]
    assert gpb.name == "GAZPROMBANK JOINT STOCK COMPANY"
    assert ("GAZPROMBANK OPEN JOINT STOCK COMPANY", NameKind.FKA) in {
        (a.name, a.kind) for a in gpb.aliases
    }
    assert [a.country for a in gpb.addresses] == ["RU", "MN", "KZ", "IN", "CN"]
    assert ("Tax ID No.", "7744001497", "RU") in {(i.type, i.number, i.country) for i in gpb.ids}
    assert ("SWIFT/BIC", "GAZPRUMM") in {(i.type, i.number) for i in gpb.ids}
    assert gpb.details["target_type"] == "Financial Institution; State-Owned Enterprise"

    haniya = by_id["9639"]
    assert haniya.type is EntityType.PERSON
    assert haniya.programs == ("NS-PLC",)
    assert (haniya.dates_of_birth, haniya.places_of_birth) == (("1962",), ("Shati",))
    # Its only CONS_ADD.CSV row is all nulls: no empty Address is made of it.
    assert haniya.addresses == ()


def test_overflow_remarks_are_appended(cons_result: ParseResult) -> None:
    rosselkhoz = next(e for e in cons_result.entries if e.entry_id == "17014")
    # "Registration Numbe" ends CONS_PRIM's 1,000 characters; "r 1027700342890 (Russia)"
    # begins CONS_COMMENTS.CSV.
    assert ("Registration Number", "1027700342890", "RU") in {
        (i.type, i.number, i.country) for i in rosselkhoz.ids
    }
    assert [(a.name, a.weak) for a in rosselkhoz.aliases if a.weak] == [("RUSAG", True)]


def test_sdn_file_names_are_not_accepted(sdn_small: dict[str, bytes]) -> None:
    with pytest.raises(ParseError, match="CONS_PRIM.CSV: missing"):
        parse(sdn_small)


def test_html_and_empty_payloads(cons_files: dict[str, bytes]) -> None:
    with pytest.raises(ParseError, match="CONS_PRIM.CSV: an HTML page"):
        parse(dict(cons_files, **{"CONS_PRIM.CSV": b"<html><body>Service Unavailable</body>"}))
    with pytest.raises(ParseError, match="CONS_ALT.CSV: empty body"):
        parse(dict(cons_files, **{"CONS_ALT.CSV": b"  \r\n"}))


def test_cut_in_half_is_refused(cons_files: dict[str, bytes]) -> None:
    data = cons_files["CONS_PRIM.CSV"]
    half = data[: len(data) // 2]
    with pytest.raises(ParseError, match=r"^CONS_PRIM.CSV: cut off: its last row ends mid-field"):
        parse(dict(cons_files, **{"CONS_PRIM.CSV": half}))
