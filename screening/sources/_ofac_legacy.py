"""OFAC's legacy delimited files: one parser for the SDN set and the consolidated (non-SDN) set.

Both lists come as four headerless CSV files with the same columns (DOMAIN.md §1.4, OFAC
dat_spec of 2023-09-25); only the file names differ (:data:`SDN_LAYOUT`, :data:`CONS_LAYOUT`):

==========================  ====================================================================
primary (``SDN.CSV``)       ent_num, name, type, programs, title, call sign, vessel type,
                            tonnage, GRT, vessel flag, vessel owner, remarks
addresses (``ADD.CSV``)     ent_num, add_num, address, city/state/postal code, country, remarks
aliases (``ALT.CSV``)       ent_num, alt_num, type (aka/fka/nka), name, remarks
comments                    ent_num, remarks overflow (remarks over 1,000 characters continue
(``SDN_COMMENTS.CSV``)      here, mid-word; appended to the entry's remarks before parsing them)
==========================  ====================================================================

``-0-`` (usually followed by a space) is the null marker; lines end CRLF and the files end with
a 0x1A byte. Text is decoded as UTF-8, falling back to latin-1 (noted in the result).

Record-level damage is skipped and counted in ``ParseResult.skipped`` under ``"<FILE>: <reason>"``
(wrong column count, non-numeric or duplicate ent_num, empty name, an alias/address/comment for
an ent_num that is not in the primary file). Payload-level damage raises
:class:`~screening.errors.ParseError`: a missing file, an empty body, an HTML page, a file whose
rows are mostly not in the expected layout, or a file that was cut off.

Cut-off files. Every real OFAC legacy file we hold (SDN, ADD, ALT, SDN_COMMENTS of 2023-12-28,
SDN of 2024-05-03, the four CONS files of 2025-12) ends with a line break followed by exactly one
0x1A byte, the only 0x1A in the file. A file whose last row is incomplete (a quote still open,
a field cut with no line break after it, too few fields) lost its tail, and with it every row
after the cut: it is refused, whichever of the four files it is, rather than read without the
listed parties at its end. The 0x1A byte itself is *not* required: a file that ends with a
complete row and a line break but no 0x1A is read, with a note. Such a file is what a mirror or
a hand re-save produces (editors, "cleaning" scripts and ``rstrip`` drop the byte), and
refusing it would refuse a complete list; the price is that a file cut exactly at a line break
is not recognised here and is left to the refresh's count guards (``max_record_drop``): the
entries, and each file's rows, counted in ``ParseResult.rows`` (ALT.CSV cut at a line break
loses aliases but not one entry).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from screening._bulk import paused_gc
from screening.errors import ParseError
from screening.models import Address, EntityType, ListEntry, Name, NameKind, ParseResult
from screening.sources._decode import decode_payload, read_csv, refuse_cut_off
from screening.sources._remarks import parse_remarks, to_iso2
from screening.sources.base import ListSource

NULL = "-0-"
# At most this many "<file> line N: <reason>" notes per file, so a wrecked file stays readable.
_MAX_LINE_NOTES = 20

_TYPES = {
    "individual": EntityType.PERSON,
    "vessel": EntityType.VESSEL,
    "aircraft": EntityType.AIRCRAFT,
    "": EntityType.ORGANIZATION,  # OFAC writes -0- (null) for entities
}
_ALIAS_KINDS = {"aka": NameKind.AKA, "fka": NameKind.FKA, "nka": NameKind.NKA}
# Primary-file columns 6-11 (vessel data) -> ListEntry.details keys.
_VESSEL_COLUMNS = (
    (5, "call_sign"),
    (6, "vessel_type"),
    (7, "tonnage"),
    (8, "gross_registered_tonnage"),
    (9, "vessel_flag"),
    (10, "vessel_owner"),
)


@dataclass(frozen=True, slots=True)
class LegacyLayout:
    """The four file names of one OFAC legacy download."""

    primary: str
    addresses: str
    aliases: str
    comments: str

    @property
    def files(self) -> tuple[str, str, str, str]:
        return (self.primary, self.addresses, self.aliases, self.comments)


SDN_LAYOUT = LegacyLayout("SDN.CSV", "ADD.CSV", "ALT.CSV", "SDN_COMMENTS.CSV")
CONS_LAYOUT = LegacyLayout("CONS_PRIM.CSV", "CONS_ADD.CSV", "CONS_ALT.CSV", "CONS_COMMENTS.CSV")

_COLUMNS = {"primary": 12, "addresses": 6, "aliases": 5, "comments": 2}


class OfacLegacySource(ListSource):
    """A list published in OFAC's legacy four-file CSV layout."""

    layout: ClassVar[LegacyLayout]

    def parse(self, files: Mapping[str, bytes]) -> ParseResult:
        return parse_legacy(files, self.layout, source=self.id)


def parse_legacy(files: Mapping[str, bytes], layout: LegacyLayout, *, source: str) -> ParseResult:
    """Parse one OFAC legacy download (file name -> raw bytes) into list entries."""
    with paused_gc():  # ~10^5 acyclic objects: see screening._bulk
        return _parse_legacy(files, layout, source=source)


def _parse_legacy(files: Mapping[str, bytes], layout: LegacyLayout, *, source: str) -> ParseResult:
    result = ParseResult(entries=[])
    texts: dict[str, str] = {}
    for name in layout.files:
        data = _find(files, name)
        if data is None:
            raise ParseError(
                f"{name}: missing (an OFAC download is {', '.join(layout.files)})", source=source
            )
        payload = decode_payload(
            data, file=name, source=source, allow_empty=name == layout.comments
        )
        if payload.encoding == "latin-1":
            result.notes.append(f"{name}: not valid UTF-8, decoded as latin-1")
        texts[name] = payload.text

    reader = _Reader(result, source)
    primary = reader.records(texts[layout.primary], layout.primary, _COLUMNS["primary"])
    entries: dict[str, list[str]] = {}
    for line, row in primary:
        key = row[0]
        if key in entries:
            reader.skip(layout.primary, line, "duplicate ent_num")
        elif _value(row[1]) is None:
            reader.skip(layout.primary, line, "empty name")
        else:
            entries[key] = row

    overflow: dict[str, list[str]] = {}
    for line, row in reader.records(texts[layout.comments], layout.comments, _COLUMNS["comments"]):
        if row[0] not in entries:
            reader.skip(layout.comments, line, "remarks for unknown entry")
        else:
            overflow.setdefault(row[0], []).append(row[1])

    aliases: dict[str, list[Name]] = {}
    unknown_kinds: Counter[str] = Counter()
    for line, row in reader.records(texts[layout.aliases], layout.aliases, _COLUMNS["aliases"]):
        alias = _value(row[3])
        if row[0] not in entries:
            reader.skip(layout.aliases, line, "alias for unknown entry")
        elif alias is None:
            reader.skip(layout.aliases, line, "empty alias name")
        else:
            written_kind = (_value(row[2]) or "").lower()
            kind = _ALIAS_KINDS.get(written_kind)
            if kind is None:
                unknown_kinds[written_kind] += 1
                kind = NameKind.AKA
            aliases.setdefault(row[0], []).append(
                Name(name=alias, kind=kind, remarks=_value(row[4]))
            )
    for written_kind, n in unknown_kinds.items():
        result.notes.append(
            f"{layout.aliases}: {n} aliases of unknown type {written_kind!r} read as a.k.a."
        )

    addresses: dict[str, list[Address]] = {}
    empty_addresses = 0
    for line, row in reader.records(
        texts[layout.addresses], layout.addresses, _COLUMNS["addresses"]
    ):
        if row[0] not in entries:
            reader.skip(layout.addresses, line, "address for unknown entry")
            continue
        street, city, country, remarks = (_value(v) for v in row[2:6])
        if street is None and city is None and country is None and remarks is None:
            empty_addresses += 1
            continue
        addresses.setdefault(row[0], []).append(
            Address(
                address=street,
                city=city,
                country=to_iso2(country),
                country_name=country,
                remarks=remarks,
            )
        )
    if empty_addresses:
        result.notes.append(
            f"{layout.addresses}: {empty_addresses:,} address rows with every field null ignored"
        )

    # Every name on the list, to resolve "Linked To:" targets at the end of a Remarks text.
    known_names = {row[1].strip() for row in entries.values()}
    known_names.update(a.name for names in aliases.values() for a in names)
    unknown_types: Counter[str] = Counter()
    for key, row in entries.items():
        result.entries.append(
            _entry(
                source,
                key,
                row,
                overflow=overflow.get(key, ()),
                strong_aliases=aliases.get(key, ()),
                addresses=addresses.get(key, ()),
                known_names=known_names,
                unknown_types=unknown_types,
            )
        )
    for written_type, n in unknown_types.items():
        result.notes.append(
            f"{layout.primary}: {n} entries of unknown type {written_type!r} typed 'unknown'"
        )
    return result


def _entry(
    source: str,
    key: str,
    row: list[str],
    *,
    overflow: Sequence[str],
    strong_aliases: Sequence[Name],
    addresses: Sequence[Address],
    known_names: Container[str],
    unknown_types: Counter[str],
) -> ListEntry:
    name = _value(row[1]) or ""
    written_type = (_value(row[2]) or "").lower()
    entity_type = _TYPES.get(written_type)
    if entity_type is None:
        unknown_types[written_type] += 1
        entity_type = EntityType.UNKNOWN
    remarks_raw = "" if _value(row[11]) is None else row[11]
    remarks = (remarks_raw + "".join(overflow)).strip() or None
    facts = parse_remarks(remarks, known_names)

    names: list[Name] = list(strong_aliases)
    seen = {name.casefold(), *(a.name.casefold() for a in names)}
    for weak in facts.weak_aliases:
        if weak.name.casefold() not in seen:
            seen.add(weak.name.casefold())
            names.append(weak)

    details = {key: v for col, key in _VESSEL_COLUMNS if (v := _value(row[col])) is not None}
    for detail, values in facts.details.items():
        details[detail] = "; ".join(values)

    return ListEntry(
        source=source,
        entry_id=key,
        type=entity_type,
        name=name,
        aliases=tuple(names),
        programs=_programs(row[3]),
        addresses=tuple(addresses),
        title=_value(row[4]),
        remarks=remarks,
        dates_of_birth=tuple(facts.dates_of_birth),
        places_of_birth=tuple(facts.places_of_birth),
        nationalities=tuple(facts.nationalities),
        citizenships=tuple(facts.citizenships),
        gender=facts.gender,
        ids=tuple(facts.ids),
        linked_to=tuple(facts.linked_to),
        details=details,
    )


class _Reader:
    """Reads one headerless OFAC file into well-formed rows, counting everything it drops."""

    def __init__(self, result: ParseResult, source: str) -> None:
        self.result = result
        self.source = source
        self._line_notes: Counter[str] = Counter()

    def skip(self, file: str, line: int, reason: str) -> None:
        self.result.skip(f"{file}: {reason}")
        self._line_notes[file] += 1
        if self._line_notes[file] <= _MAX_LINE_NOTES:
            self.result.notes.append(f"{file} line {line}: {reason}")

    def records(self, text: str, file: str, columns: int) -> list[tuple[int, list[str]]]:
        """Rows with ``columns`` fields and a numeric ent_num (normalised, e.g. ``"0306"`` ->
        ``"306"``); raises ParseError when the file as a whole is not in that layout or was
        cut off."""
        if not text:
            return []
        parsed = read_csv(text)
        good: list[tuple[int, list[str]]] = []
        bad = len(parsed.problems)
        for line, reason in parsed.problems:
            self.skip(file, line, reason)
        for line, row in parsed.rows:
            if len(row) != columns:
                bad += 1
                self.skip(file, line, "wrong number of columns")
                continue
            key = row[0].strip()
            if not (key.isascii() and key.isdigit()):
                bad += 1
                self.skip(file, line, "non-numeric ent_num")
                continue
            row[0] = str(int(key))
            good.append((line, row))
        self.result.rows[file] = len(good) + bad
        if not good or bad > len(good):
            raise ParseError(
                f"{file}: not in the OFAC legacy layout ({bad:,} of {bad + len(good):,} rows lack "
                f"{columns} columns with a numeric ent_num first)",
                source=self.source,
            )
        refuse_cut_off(
            parsed,
            columns=columns,
            file=file,
            source=self.source,
            complete_end="with a line break and a 0x1A byte",
        )
        if not parsed.eof_marker:
            self.result.notes.append(
                f"{file}: no 0x1A end-of-file byte (re-saved or mirrored?); its last row is "
                "complete, so it is read"
            )
        return good


def _find(files: Mapping[str, bytes], name: str) -> bytes | None:
    """The file called ``name``; names are matched without regard to case or directory."""
    if name in files:
        return files[name]
    for given, data in files.items():
        if given.replace("\\", "/").rsplit("/", 1)[-1].upper() == name.upper():
            return data
    return None


def _value(field: str) -> str | None:
    """A field with OFAC's null marker and surrounding blanks removed; ``None`` when empty."""
    if field == "-0- ":  # by far the most common value: skip the strip
        return None
    value = field.strip()
    if not value or value == NULL:
        return None
    return value


def _programs(field: str) -> tuple[str, ...]:
    """``"UKRAINE-EO13662] [RUSSIA-EO14024"`` -> ``("UKRAINE-EO13662", "RUSSIA-EO14024")``."""
    value = _value(field)
    if value is None:
        return ()
    programs = (p.strip(" []") for p in value.split("] ["))
    return tuple(dict.fromkeys(p for p in programs if p))
