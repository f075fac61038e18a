"""The grammar of OFAC's Remarks field: dates and places of birth, nationality, documents, links.

OFAC's legacy files put most facts about an entry in one free-text Remarks column (DOMAIN.md
§1.5): ``;``-separated items of the form ``Label value``, the whole ending with ``.``. An
``alt.`` prefix marks an additional value of the same label, a country follows in parentheses,
and documents may add ``issued <date>`` / ``expires <date>``::

    DOB 10 Dec 1948; alt. DOB 1950; POB Cairo, Egypt; nationality Egypt; Gender Male;
    Passport 1084010 (Egypt) issued 12 Jan 2001 expires 11 Jan 2011; a.k.a. 'ABU ALI';
    Linked To: HIZBALLAH.

:func:`parse_remarks` reads those items into :class:`RemarkFacts`. Items it does not recognise
(titles, roles, free notes) are left alone: the caller keeps the full remarks text, so nothing
is lost. Values are kept as written (dates are not reformatted, ``circa 1960`` and
``1960 to 1962`` stay text); countries become ISO-2 codes where
:func:`screening.countries.to_iso2` knows the spelling.

The label tables below come from a survey of every item in the real SDN (2023-12-28,
2024-05-03) and consolidated (2025-12) files.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass, field
from functools import lru_cache

from screening.countries import to_iso2 as _to_iso2
from screening.models import Identifier, Name, NameKind

_ITEM_SPLIT = re.compile(r";\s*")
# The same few hundred country spellings recur tens of thousands of times in one list.
to_iso2 = lru_cache(maxsize=4096)(_to_iso2)
# Words that end in a period as an abbreviation: a final "LTD." keeps its period.
_ABBREVIATIONS = frozenset(
    {"LTD", "LTDA", "CO", "CORP", "INC", "BROS", "JR", "SR", "ST", "CIA", "PTY", "PVT", "BHD"}
    | {"MFG", "INTL", "NO", "DEPT", "ASSN", "GOVT", "SPA", "SRL", "SAS", "LLC", "PLC"}
)

_WEAK_ALIAS_HEADS = frozenset({"a.k.a.", "f.k.a.", "n.k.a."})
_WEAK_ALIAS = re.compile(r"^(?P<kind>[afn])\.k\.a\.\s*(?P<q>['\"])(?P<name>.*)(?P=q)\.?$", re.I)
_LINKED_TO = re.compile(r"^Linked To:\s*(?P<v>.+)$", re.IGNORECASE)
_CRYPTO = re.compile(r"^Digital Currency Address - (?P<cur>[A-Za-z0-9]+):?\s+(?P<v>\S+)")

# Items that are facts about the entry but not identifiers: label pattern -> details key. The
# value (group ``v``) is kept as written; the patterns are tried in order, as one regex.
_DETAIL_LABELS: tuple[tuple[str, str], ...] = (
    (r"Organization Established Date:?\s+(?P<v>.+)", "organization_established_date"),
    (r"Organization Type:?\s+(?P<v>.+)", "organization_type"),
    (r"Target Type:?\s+(?P<v>.+)", "target_type"),
    (r"Aircraft Model:?\s+(?P<v>.+)", "aircraft_model"),
    (r"Aircraft Manufacture Date:?\s+(?P<v>.+)", "aircraft_manufacture_date"),
    (r"Aircraft Operator:?\s+(?P<v>.+)", "aircraft_operator"),
    (r"Vessel Year of Build:?\s+(?P<v>.+)", "vessel_year_of_build"),
    (r"Vessel Flag:?\s+(?P<v>.+)", "vessel_flag_remark"),
    (r"Vessel Type:?\s+(?P<v>.+)", "vessel_type_remark"),
    (r"Vessel Call Sign:?\s+(?P<v>.+)", "vessel_call_sign_remark"),
    (r"Other Vessel Flag:?\s+(?P<v>.+)", "other_vessel_flag"),
    (r"Former Vessel Flag:?\s+(?P<v>.+)", "former_vessel_flag"),
    (r"Other Vessel Call Sign:?\s+(?P<v>.+)", "other_vessel_call_sign"),
    (r"Other Vessel Type:?\s+(?P<v>.+)", "other_vessel_type"),
    (r"(?P<v>https?://\S+)(?:\s+\(website\))?", "website"),
    (r"Website:?\s+(?P<v>.+)", "website"),
    (r"E-?mail(?: Address)?:?\s*(?P<v>\S+@\S+)", "email"),
    (r"(?:Phone|Telephone)(?: Number| No\.)?:?\s*(?P<v>.+)", "phone"),
    (r"Fax(?: No\.)?:?\s*(?P<v>.+)", "fax"),
    (
        r"(?P<v>(?:Secondary sanctions risk|Additional Sanctions Information"
        r"|Transactions Prohibited For Persons Owned or Controlled By"
        r"|Executive Order \d+ (?:Directive Determination|Directive Information|information)"
        r"|Listing Date \(|Effective Date \("
        r"|Purchase/Sales For Divestment Date|CAATSA Section|IFCA Determination"
        r"|For more information on directives).*)",
        "sanctions_information",
    ),
)
_DETAIL = re.compile(
    "|".join(
        f"(?P<d{i}>{pattern.replace('(?P<v>', f'(?P<v{i}>')})"
        for i, (pattern, _) in enumerate(_DETAIL_LABELS)
    ),
    re.IGNORECASE,
)

# Identity-document and registration labels as OFAC writes them -> Identifier.type.
# (An item "Passport RL 1794375 (Lebanon)" matches "Passport"; the number keeps "RL ...".)
_ID_LABELS: dict[str, str] = {
    label: label
    for label in (
        "Passport",
        "Diplomatic Passport",
        "Passport Booklet",
        "British National Overseas Passport",
        "Stateless Person Passport",
        "Stateless Person ID Card",
        "National ID No.",
        "National Foreign ID Number",
        "Personal ID Card",
        "Tazkira National ID Card",
        "Refugee ID Card",
        "Identification Number",
        "Turkish Identification Number",
        "Citizen's Card Number",
        "Kenyan ID No.",
        "Moroccan Personal ID No.",
        "Bosnian Personal ID No.",
        "UAE Identification",
        "Travel Document Number",
        "Birth Certificate Number",
        "Residency Number",
        "Driver's License No.",
        "Pilot License Number",
        "Seafarer's Identification Document",
        "Military Registration Number",
        "Electoral Registry No.",
        "Credencial electoral",
        "Cartilla de Servicio Militar Nacional",
        "Numero de Identidad",
        "Cedula No.",
        "C.U.R.P.",
        "C.U.I.",
        "C.U.I.P.",
        "C.U.I.T.",
        "I.F.E.",
        "D.N.I.",
        "N.I.E.",
        "N.I.F.",
        "C.I.F.",
        "C.I.N.",
        "R.F.C.",
        "RFC",
        "RTN",
        "NIT",
        "RUC",
        "RIF",
        "SSN",
        "LE Number",
        "VisaNumberID",
        "SRE Permit No.",
        "Permit Number",
        "Immigration No.",
        "Public Security and Immigration No.",
        "Romanian Permanent Resident CAN",
        "CNP (Personal Numerical Code)",
        "Italian Fiscal Code",
        "Fiscal Code",
        "Tax ID No.",
        "Paraguayan tax identification number",
        "Romanian Tax Registration",
        "US FEIN",
        "V.A.T. Number",
        "Numero Unico de Identificacao Tributaria (NUIT)",
        "Registration Number",
        "Registration ID",
        "Registration Certificate Number (Dubai)",
        "Public Registration Number",
        "Business Registration Number",
        "Business Registration Document",
        "Business Number",
        "Company Number",
        "UK Company Number",
        "Company ID: No.",
        "Commercial Registry Number",
        "Romanian C.R.",
        "C.R. No.",
        "Certificate of Incorporation Number",
        "Chamber of Commerce Number",
        "Istanbul Chamber of Comm. No.",
        "Dubai Chamber of Commerce Membership No.",
        "Central Registration System Number",
        "Enterprise Number",
        "Branch Unit Number",
        "Economic Register Number (CBLS)",
        "Government Gazette Number",
        "Folio Mercantil No.",
        "Matricula Mercantil No",
        "Trade License No.",
        "Tourism License No.",
        "Afghan Money Service Provider License Number",
        "MSB Registration Number",
        "License",
        "Registered Charity No.",
        "File Number",
        "Trademark number",
        "Legal Entity Number",
        "Unified Social Credit Code (USCC)",
        "United Social Credit Code Certificate (USCCC)",
        "Russian State Individual Business Registration Number Pattern (OGRNIP)",
        "Organization Code",
        "D-U-N-S Number",
        "SWIFT/BIC",
        "BIK (RU)",
        "ISIN",
        "Equity Ticker",
        "Chinese Commercial Code",
        "UN/LOCODE",
        "MMSI",
        "Vessel Registration Identification",
        "Aircraft Construction Number (also called L/N or S/N or F/N)",
        "Aircraft Manufacturer's Serial Number (MSN)",
        "Aircraft Serial Identification",
        "Aircraft Tail Number",
        "Previous Aircraft Tail Number",
        "Aircraft Mode S Transponder Code",
    )
} | {
    "Vessel Registration Identification IMO": "IMO",
    "International Maritime Organization No.": "IMO",
    "Identification Number IMO": "IMO Company Number",
    "Company Number IMO": "IMO Company Number",
}
_ID_LABEL = re.compile(
    r"^(?P<label>"
    + "|".join(re.escape(label) for label in sorted(_ID_LABELS, key=len, reverse=True))
    + r")(?:\s*[:#])?\s+(?P<rest>\S.*)$"
)
# A label not in the table still names a document when it ends in one of these words and the
# value after it holds a digit ("Kenyan ID No. 12773667", "Residency Number 117000439417").
_GENERIC_ID = re.compile(
    r"^(?P<label>[A-Z][\w'./-]*(?: [\w'./()-]+){0,5}? (?:No\.?|Number|ID|Card|Code|#))"
    r"(?:\s*:)?\s+(?P<rest>[^\s,]*\d.*)$"
)
_ID_VALUE = re.compile(
    r"^(?P<number>.+?)(?:\s+\((?P<country>[^()]+)\))?"
    r"(?:,?\s+issued\s+(?P<issued>.+?))?(?:,?\s+expires\s+(?P<expires>.+?))?\.?$"
)


@dataclass(slots=True)
class RemarkFacts:
    """What :func:`parse_remarks` found in one Remarks text."""

    dates_of_birth: list[str] = field(default_factory=list)
    places_of_birth: list[str] = field(default_factory=list)
    nationalities: list[str] = field(default_factory=list)  # ISO-2 where known, else as written
    citizenships: list[str] = field(default_factory=list)
    gender: str | None = None  # "male" / "female", or as written
    ids: list[Identifier] = field(default_factory=list)
    weak_aliases: list[Name] = field(default_factory=list)
    linked_to: list[str] = field(default_factory=list)
    details: dict[str, list[str]] = field(default_factory=dict)


def split_items(remarks: str, known_names: Container[str] = frozenset()) -> list[str]:
    """The ``;``-separated items of a Remarks text, the closing period removed.

    The period that ends the text is ambiguous after a name ("Linked To: X CO., LTD."): when
    ``known_names`` holds the name with or without it, that decides; else
    :func:`_strip_closing_period` guesses from the last word.
    """
    items = [item.strip() for item in _ITEM_SPLIT.split(remarks)]
    items = [item for item in items if item]
    if items and items[-1].endswith("."):
        last = items[-1]
        m = _LINKED_TO.match(last)
        if m and m["v"] in known_names:
            pass
        elif m and m["v"][:-1].rstrip() in known_names:
            items[-1] = last[:-1].rstrip()
        else:
            items[-1] = _strip_closing_period(last)
    return items


def parse_remarks(remarks: str | None, known_names: Container[str] = frozenset()) -> RemarkFacts:
    """Every fact this module understands in one Remarks text (see the module docstring).

    ``known_names`` (the list's primary names and aliases) resolves a "Linked To:" target at
    the end of the text, where the closing period may or may not belong to the name.
    """
    facts = RemarkFacts()
    if not remarks:
        return facts
    items = split_items(remarks, known_names)
    i = 0
    while i < len(items):
        item = items[i]
        if item.startswith("(") and ")" not in item:
            # "(Following data derived from an Eritrean passport ...: Alt. DOB: ...; ...)"
            # restates other items in another grammar: it stays in the text, unparsed.
            end = next((j for j in range(i + 1, len(items)) if items[j].endswith(")")), None)
            if end is not None:
                i = end + 1
                continue
        _parse_item(item, facts)
        i += 1
    return facts


def country_value(text: str) -> str:
    """A nationality / citizenship as ISO-2 when resolvable, else as written."""
    return to_iso2(text) or to_iso2(_first_sentence(text)) or text


def parse_identifier(label_type: str, rest: str) -> Identifier | None:
    """``rest`` is ``number [(country)] [issued date] [expires date]`` after a document label.

    A parenthesis that names no country stays part of the number: ``818178-2 (Cali)`` is a
    Colombian registry number of the Cali chamber, ``HRA 738077 (Stuttgart) (Germany)`` one
    of the Stuttgart court register, in Germany.
    """
    m = _ID_VALUE.match(rest.strip())
    if not m:
        return None
    number = m["number"].strip().rstrip(".").strip()
    if not number:
        return None
    if label_type in ("IMO", "IMO Company Number"):
        number = number.strip("()")
        if number.upper().startswith("IMO"):
            number = number[3:].strip()
    written = m["country"].strip() if m["country"] else None
    iso = (to_iso2(written) or to_iso2(_first_sentence(written))) if written else None
    if written and iso is None:
        number, written = f"{number} ({written})", None
    return Identifier(
        type=label_type,
        number=number,
        country=iso,
        country_name=written,
        issued=_clean(m["issued"]),
        expires=_clean(m["expires"]),
    )


def _parse_item(item: str, facts: RemarkFacts) -> None:
    head, _, rest = item.partition(" ")
    word = head.rstrip(":").lower()
    if word == "alt.":
        item = rest.lstrip()
        head, _, rest = item.partition(" ")
        word = head.rstrip(":").lower()
    value = rest.strip()
    if word in _WEAK_ALIAS_HEADS:
        _weak_alias(item, facts)
    elif word == "linked" and value[:3].lower() == "to:":
        _add(facts.linked_to, value[3:].strip())
    elif word == "dob" and value:
        _add(facts.dates_of_birth, _clean(value))
    elif word == "pob" and value:
        _add(facts.places_of_birth, _clean(value))
    elif word == "nationality" and value:
        if value.lower().startswith("of registration"):
            _add_detail(facts, "nationality_of_registration", value[len("of registration") :])
        else:
            _add(facts.nationalities, country_value(_clean(value) or ""))
    elif word in ("citizen", "citizenship") and value:
        _add(facts.citizenships, country_value(_clean(value) or ""))
    elif word == "gender" and value:
        gender = _clean(value) or ""
        facts.gender = gender.lower() if gender.lower() in ("male", "female") else gender
    elif word == "digital" and (m := _CRYPTO.match(item)):
        facts.ids.append(
            Identifier(type=f"Digital Currency Address - {m['cur'].upper()}", number=m["v"])
        )
    else:
        _parse_fact(item, facts)


def _weak_alias(item: str, facts: RemarkFacts) -> None:
    m = _WEAK_ALIAS.match(item)
    if not m:
        return
    name = m["name"].strip()
    if len(name) > 1 and name[0] == name[-1] == m["q"]:
        name = name[1:-1].strip()  # ''FOOPIE'' -> FOOPIE (doubled quotes)
    if name:
        kind = {"a": NameKind.AKA, "f": NameKind.FKA, "n": NameKind.NKA}[m["kind"].lower()]
        facts.weak_aliases.append(Name(name=name, kind=kind, weak=True))


def _parse_fact(item: str, facts: RemarkFacts) -> None:
    m = _ID_LABEL.match(item)
    if m:
        identifier = parse_identifier(_ID_LABELS[m["label"]], m["rest"])
        if identifier is not None:
            facts.ids.append(identifier)
            return
    d = _DETAIL.fullmatch(item)
    if d and d.lastgroup:
        i = int(d.lastgroup[1:])
        _add_detail(facts, _DETAIL_LABELS[i][1], d[f"v{i}"])
        return
    g = _GENERIC_ID.match(item)
    if g and "," not in g["label"]:
        identifier = parse_identifier(g["label"].rstrip(" #:").strip(), g["rest"])
        if identifier is not None:
            facts.ids.append(identifier)


def _add_detail(facts: RemarkFacts, key: str, value: str) -> None:
    cleaned = value.strip() if key == "sanctions_information" else _clean(value)
    if cleaned:
        _add(facts.details.setdefault(key, []), cleaned)


def _add(values: list[str], value: str | None) -> None:
    if value and value not in values:
        values.append(value)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().rstrip(".").strip()
    return value or None


def _first_sentence(text: str) -> str:
    """``Cabo Verde.  Previously Cape Verde.`` -> ``Cabo Verde``."""
    return text.split(".", 1)[0].strip()


def _strip_closing_period(item: str) -> str:
    """Drop the period that ends the Remarks, unless it belongs to an abbreviation.

    ``Linked To: ROSNEFT OIL COMPANY.`` -> ``... COMPANY``, but ``Linked To: X CO., LTD.`` and
    ``Linked To: Y S.A.`` keep theirs (OFAC does not double the period).
    """
    if not item.endswith("."):
        return item
    body = item[:-1].rstrip()
    last = body.rsplit(" ", 1)[-1].strip("'\"()")
    if "." in last or (len(last) == 1 and last.isalpha()) or last.upper() in _ABBREVIATIONS:
        return item
    return body
