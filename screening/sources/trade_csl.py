"""The BIS lists from trade.gov's Consolidated Screening List (CSL) CSV.

The International Trade Administration publishes one CSV with the parties of eleven US export
and sanctions lists (DOMAIN.md §2.2). BIS publishes no machine-readable file of its own, so the
Entity List, Denied Persons List, Unverified List and Military End-User List come from here.
One module serves all four source ids; ``options.csl_code`` in ``lists/sources.toml`` (``EL``,
``DPL``, ``UVL``, ``MEU``) selects the rows whose ``source`` column carries that code in
parentheses ("Entity List (EL) - Bureau of Industry and Security").

The file has a header row of 29 named columns (any order; extra columns are ignored; a missing
one is a :class:`~screening.errors.ParseError`). Multi-valued cells are joined with ``"; "``.
The entry id is the CSL ``_id``. Rows are skipped and counted (``ParseResult.skipped``) when
they are a repeated header line, have the wrong number of columns, or lack an ``_id`` or a name.

A file that was cut off is refused (:class:`~screening.errors.ParseError`), not read minus its
tail: its last row ends inside a quoted field, or after a closing quote with too few fields and
no line break. (Data rows are quoted field by field; the real files use LF line breaks, and the
2025 excerpt ends with its last row's closing quote and no line break, so a missing final line
break is not itself a sign of a cut.) A cut exactly at the end of a row cannot be seen in the
file (the CSV has no end marker and no row count); the refresh's record-count guard is left to
catch that. One cut-off file is accepted, its cut row skipped and counted: the bundled seed
excerpt of 2023-11-30 (``seeds/trade_csl/2023-11-30``, known by its SHA-256), which is the
snapshot of every fresh install and is documented as cut off in ``seeds/README.md``.

Choices made here:

* ``type`` is blank on every BIS row. Blank is read as ``unknown`` — or ``person`` when the row
  gives dates of birth — not as ``organization``: the Denied Persons List is mostly people and
  the Entity List names individuals too (e.g. "Vasili Kuntsevich", "Abdul Satar Ghoura").
* Each address is ``"street, city, ..., CC"``: a final ISO-2 code (or a country name) is taken
  as the country and the rest kept as the address. Denied Persons List addresses in the United
  States often end ``"..., CITY, ST, 12345"`` with no country; a US state code followed by a
  ZIP code is read as country ``US`` (with ``state`` and ``postal_code`` set).
* Column names go into ``ListEntry.details`` as written by the CSL (``federal_register_notice``,
  ``start_date``, ``license_requirement``...); the vessel columns use the OFAC parser's keys
  (``gross_tonnage`` is stored as ``tonnage``) so vessel data reads the same from both sources.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping

from screening.config import SourceDefinition
from screening.countries import is_country_code
from screening.errors import ConfigError, ParseError
from screening.models import Address, EntityType, Identifier, ListEntry, Name, ParseResult
from screening.sources._decode import decode_payload, read_csv, refuse_cut_off
from screening.sources._remarks import country_value, to_iso2
from screening.sources.base import ListSource

COLUMNS = (
    "_id",
    "source",
    "entity_number",
    "type",
    "programs",
    "name",
    "title",
    "addresses",
    "federal_register_notice",
    "start_date",
    "end_date",
    "standard_order",
    "license_requirement",
    "license_policy",
    "call_sign",
    "vessel_type",
    "gross_tonnage",
    "gross_registered_tonnage",
    "vessel_flag",
    "vessel_owner",
    "remarks",
    "source_list_url",
    "alt_names",
    "citizenships",
    "dates_of_birth",
    "nationalities",
    "places_of_birth",
    "source_information_url",
    "ids",
)
# Columns copied verbatim into ListEntry.details: CSL column -> details key.
_DETAIL_COLUMNS = (
    ("federal_register_notice", "federal_register_notice"),
    ("start_date", "start_date"),
    ("end_date", "end_date"),
    ("standard_order", "standard_order"),
    ("license_requirement", "license_requirement"),
    ("license_policy", "license_policy"),
    ("call_sign", "call_sign"),
    ("vessel_type", "vessel_type"),
    ("gross_tonnage", "tonnage"),
    ("gross_registered_tonnage", "gross_registered_tonnage"),
    ("vessel_flag", "vessel_flag"),
    ("vessel_owner", "vessel_owner"),
    ("entity_number", "entity_number"),
    ("source", "csl_source"),
    ("source_list_url", "source_list_url"),
    ("source_information_url", "source_information_url"),
)
_TYPES = {
    "individual": EntityType.PERSON,
    "entity": EntityType.ORGANIZATION,
    "vessel": EntityType.VESSEL,
    "aircraft": EntityType.AIRCRAFT,
}
_SOURCE_CODE = re.compile(r"\(([^()]+)\)")
_US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI AS MP".split()
)
# A ZIP code; four digits too, since some DPL rows lost the leading zero ("NH, 3801").
_US_ZIP = re.compile(r"^\d{4,5}(?:-\d{4})?$")
# Labels in the CSL ``ids`` column that are facts, not documents (the CSL copies OFAC Remarks
# items there as "label, value").
_ID_COLUMN_DETAILS = {
    "website": "website",
    "email address": "email",
    "phone number": "phone",
    "target type": "target_type",
    "organization type:": "organization_type",
    "organization established date": "organization_established_date",
    "issuer name": "issuer_name",
}
_SANCTIONS_INFORMATION = ("listing date", "effective date", "purchase/sales for divestment date")
_MAX_LINE_NOTES = 20
# SHA-256 of seeds/trade_csl/2023-11-30/consolidated.csv (decompressed): an excerpt of a real
# download whose last row is cut off mid-record. It is the bundled seed, so it is read (its cut
# row skipped and counted) instead of refused like any other cut-off file.
_SEED_EXCERPT_SHA256 = "054553ac960f9db1e0b5f767f681fcbe230f32a20c2e67d3cbc87b2404e94e0d"


class Source(ListSource):
    """One BIS list (``options.csl_code``) out of the trade.gov Consolidated Screening List."""

    def __init__(self, definition: SourceDefinition) -> None:
        super().__init__(definition)
        code = self.definition.options.get("csl_code", "").strip()
        if not code:
            raise ConfigError(
                f"source {self.definition.id!r}: options.csl_code is required (EL, DPL, UVL, MEU)"
            )
        self.csl_code = code.upper()

    def parse(self, files: Mapping[str, bytes]) -> ParseResult:
        name = self.file_names()[0]
        data = _find(files, name)
        if data is None:
            raise ParseError(f"{name}: missing", source=self.id)
        return parse_csl(data, csl_code=self.csl_code, source=self.id, file=name)


def parse_csl(data: bytes, *, csl_code: str, source: str, file: str) -> ParseResult:
    """The entries of one CSL list (by its source code, e.g. ``"EL"``) in a CSL CSV file."""
    payload = decode_payload(data, file=file, source=source)
    result = ParseResult(entries=[])
    if payload.encoding == "latin-1":
        result.notes.append(f"{file}: not valid UTF-8, decoded as latin-1")
    parsed = read_csv(payload.text)
    if not parsed.rows:
        raise ParseError(f"{file}: no CSV header row", source=source)
    header_line, header = parsed.rows[0]
    columns = [c.strip().lower() for c in header]
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise ParseError(
            f"{file}: not a Consolidated Screening List CSV (header lacks {len(missing)} of "
            f"the {len(COLUMNS)} columns: {shown})",
            source=source,
        )
    index = {c: columns.index(c) for c in COLUMNS}
    width = len(columns)
    try:
        refuse_cut_off(
            parsed,
            columns=width,
            file=file,
            source=source,
            complete_end=f"with a row of {width} fields",
        )
    except ParseError:
        if hashlib.sha256(data).hexdigest() != _SEED_EXCERPT_SHA256:
            raise
        result.notes.append(f"{file}: the bundled seed excerpt, cut off by design")

    def skip(line: int, reason: str) -> None:
        result.skip(reason)
        if sum(result.skipped.values()) <= _MAX_LINE_NOTES:
            result.notes.append(f"{file} line {line}: {reason}")

    data_rows = 0
    other_lists: Counter[str] = Counter()
    seen: set[str] = set()
    for line, row in parsed.rows[1:]:
        if len(row) != width:
            skip(line, "wrong number of columns")
            continue
        if [c.strip().lower() for c in row] == columns:
            skip(line, "repeated header row")
            continue
        data_rows += 1
        list_source = row[index["source"]].strip()
        code = _list_code(list_source)
        if code != csl_code:
            other_lists[code or "?"] += 1
            continue
        entry_id = row[index["_id"]].strip()
        if not entry_id:
            skip(line, "empty _id")
        elif entry_id in seen:
            skip(line, "duplicate _id")
        elif not row[index["name"]].strip():
            skip(line, "empty name")
        else:
            seen.add(entry_id)
            result.entries.append(_entry(source, {c: row[i] for c, i in index.items()}))
    for line, reason in parsed.problems:
        skip(line, reason)
    if not data_rows:
        raise ParseError(f"{file}: no data rows after the header", source=source)
    result.notes.append(
        f"{file}: kept {len(result.entries):,} rows of list {csl_code} out of {data_rows:,} data "
        f"rows ({sum(other_lists.values()):,} belong to other lists)"
    )
    return result


def _entry(source: str, row: Mapping[str, str]) -> ListEntry:
    def cell(column: str) -> str | None:
        value = row[column].strip()
        return value or None

    name = _clean_name(row["name"])
    aliases: list[Name] = []
    seen = {name.casefold()}
    for written in _split(row["alt_names"]):
        alias = _clean_name(_strip_and(written))
        if alias and alias.casefold() not in seen:
            seen.add(alias.casefold())
            aliases.append(Name(name=alias))

    dates_of_birth = _split(row["dates_of_birth"])
    written_type = (cell("type") or "").lower()
    if written_type in _TYPES:
        entity_type = _TYPES[written_type]
    elif not written_type and dates_of_birth:
        entity_type = EntityType.PERSON
    else:
        entity_type = EntityType.UNKNOWN

    details = {key: v for column, key in _DETAIL_COLUMNS if (v := cell(column)) is not None}
    ids, gender = _ids(row["ids"], details)
    return ListEntry(
        source=source,
        entry_id=row["_id"].strip(),
        type=entity_type,
        name=name,
        aliases=tuple(aliases),
        programs=tuple(dict.fromkeys(_split(row["programs"]))),
        addresses=tuple(a for a in map(_address, _split(row["addresses"])) if a is not None),
        title=cell("title"),
        remarks=cell("remarks"),
        dates_of_birth=tuple(dates_of_birth),
        places_of_birth=tuple(_split(row["places_of_birth"])),
        nationalities=tuple(dict.fromkeys(map(country_value, _split(row["nationalities"])))),
        citizenships=tuple(dict.fromkeys(map(country_value, _split(row["citizenships"])))),
        gender=gender,
        ids=tuple(ids),
        details=details,
    )


def _address(text: str) -> Address | None:
    """``"Komitas 26/114, Yerevan, Armenia, AM"`` -> address "Komitas 26/114, Yerevan, Armenia",
    country AM."""
    text = _strip_and(text)
    if not text:
        return None
    parts = [p.strip() for p in text.split(",")]
    while len(parts) > 1 and not parts[-1]:
        parts.pop()  # "..., Hong Kong," -> "..., Hong Kong"
    last = parts[-1]
    if len(last) == 2 and last.isupper() and is_country_code(last):
        rest = ", ".join(p for p in parts[:-1] if p) or None
        return Address(address=rest, country=last, country_name=last)
    iso = to_iso2(last)
    if iso is not None:
        rest = ", ".join(p for p in parts[:-1] if p) or None
        return Address(address=rest, country=iso, country_name=last)
    if len(parts) >= 3 and parts[-2] in _US_STATES and _US_ZIP.match(last):
        street = ", ".join(p for p in parts[:-3] if p) or None
        return Address(
            address=street, city=parts[-3] or None, state=parts[-2], postal_code=last, country="US"
        )
    return Address(address=", ".join(parts))


def _ids(text: str, details: dict[str, str]) -> tuple[list[Identifier], str | None]:
    """The CSL ``ids`` column: ``"Passport, 836238033, KP; Gender, Male; Website, x.ru"``.

    Documents become :class:`Identifier`; ``Gender`` is returned; contact data, target type and
    sanctions information go into ``details``.
    """
    ids: list[Identifier] = []
    gender: str | None = None
    extra: dict[str, list[str]] = {}
    for item in _split(text):
        label, _, rest = item.partition(",")
        label, rest = label.strip(), rest.strip()
        lowered = label.lower()
        if not rest:
            continue
        if lowered == "gender":
            gender = rest.lower() if rest.lower() in ("male", "female") else rest
        elif lowered in _ID_COLUMN_DETAILS:
            extra.setdefault(_ID_COLUMN_DETAILS[lowered], []).append(rest)
        elif label.endswith((":", "-")) or lowered.startswith(_SANCTIONS_INFORMATION):
            extra.setdefault("sanctions_information", []).append(f"{label} {rest}")
        else:
            number, country = rest, None
            head, _, tail = rest.rpartition(",")
            tail = tail.strip()
            if head and len(tail) == 2 and tail.isupper() and is_country_code(tail):
                number, country = head.strip(), tail
            ids.append(Identifier(type=label, number=number, country=country, country_name=country))
    for key, values in extra.items():
        details[key] = "; ".join(dict.fromkeys(values))
    return ids, gender


def _list_code(list_source: str) -> str | None:
    """``"Entity List (EL) - Bureau of Industry and Security"`` -> ``"EL"``."""
    m = _SOURCE_CODE.search(list_source)
    return m.group(1).strip().upper() if m else None


def _split(cell: str) -> list[str]:
    """A ``"; "``-joined multi-value cell as a list of non-empty values."""
    return [v for v in (part.strip() for part in cell.split(";")) if v]


def _strip_and(text: str) -> str:
    """BIS writes the last of several aliases or addresses as ``"and X"``."""
    text = text.strip()
    return text[4:].strip() if text.startswith("and ") else text


def _clean_name(text: str) -> str:
    """A name without surrounding blanks; line breaks inside it become single spaces."""
    text = text.strip()
    return " ".join(text.split()) if any(c in text for c in "\r\n\t") else text


def _find(files: Mapping[str, bytes], name: str) -> bytes | None:
    """The file called ``name`` (any case, any directory); the only file when there is one."""
    if name in files:
        return files[name]
    for given, data in files.items():
        if given.replace("\\", "/").rsplit("/", 1)[-1].lower() == name.lower():
            return data
    if len(files) == 1:
        return next(iter(files.values()))
    return None
