"""Shipments: the input model, its normalisation, and reading JSON, JSONL and CSV files.

A shipment is who is involved (parties, each with a role), where the goods go (the route) and
what the goods are (goods lines with HS codes)::

    {"id": "S-1001",
     "date": "2026-11-20",
     "parties": [{"role": "exporter", "name": "Acme Devices Inc.", "country": "US"},
                 {"role": "buyer", "name": "Anadolu Elektronik", "country": "Türkiye",
                  "address": "Ikitelli OSB, Istanbul", "incorporated_on": "2022-06-01"},
                 {"role": "consignee", "name": "Steppe Trade LLP", "country": "KZ"},
                 {"role": "end_user", "name": "OOO Vektor", "country": "RU"},
                 {"role": "payer", "name": "Gulf Link FZE", "country": "AE",
                  "residential_address": false}],
     "route": ["US", "TR", "KZ", "RU"],
     "goods": [{"hs_code": "8542.31.0000", "description": "FPGA", "quantity": 200,
                "value": 48000, "currency": "USD"}]}

Normalisation:

* **Roles**: exporter, seller, buyer, consignee, intermediate_consignee, end_user,
  freight_forwarder, payer, bank, other (case, spaces and hyphens do not matter: "End User",
  "end-user"; "forwarder" means freight_forwarder).
* **Countries** become ISO 3166-1 alpha-2 codes; names and ISO-3 codes are accepted
  ("Türkiye", "Turkey", "TUR", "Kyrgyz Republic"). A restricted region of Ukraine may be given
  by name or ISO 3166-2 code ("Crimea", "UA-43", "Sevastopol", "Donetsk"): the party's
  ``country`` is then ``UA`` and its ``region`` the subdivision code. A party in Ukraine whose
  address names such a region gets that region too. Route entries are places: ISO-2 codes or
  ISO 3166-2 subdivision codes.
* **HS codes** of 6 to 14 digits, with or without dots and spaces ("8542.31", "854231",
  "8542.31.0000", Turkish GTİP "8542.31.00.00.11"), are matched on their first six digits
  (``GoodsLine.hs6``); the code as written is kept for the record.

Anything malformed is an ``InputError`` naming the shipment and the field, e.g.
``shipment S-1: goods[0].hs_code: '85A2' is not an HS code``.

Files (:func:`load_shipments`): a JSON object (one shipment), a JSON array of them (or an
object ``{"shipments": [...]}``), JSON Lines (one shipment per line), or the CSV form below. The
format comes from the extension (``.json``, ``.jsonl``/``.ndjson``, ``.csv``/``.tsv``/``.txt``),
else from the first character. Text is UTF-8 (a UTF-8 or UTF-16 byte-order mark is honoured).
A record that cannot be used is yielded as an ``InputError`` and the file goes on; a file that
cannot be read at all raises one.

CSV form, for ERP exports (``seeds/samples/shipments.csv``): one row per goods line, rows
grouped by ``shipment_id`` (they need not be adjacent). Header names are case-insensitive;
the delimiter is ``,``, ``;`` or a tab (taken from the header line).

=============================  ============================================================
column                         meaning
=============================  ============================================================
``shipment_id``                required; the shipment's id (rows with the same id form one)
``date``                       shipment date, ``YYYY-MM-DD`` (optional)
``route``                      places in order, separated by ``>`` (``US>TR>KZ>RU``); also
                               ``;``, ``|`` or ``→``
``hs_code``                    the goods line's HS / HTS / CN / GTİP code
``description``, ``quantity``,  the rest of the goods line (optional)
``unit``, ``value``,
``currency``
``<role>_<field>``             a party: ``<role>`` is one of the roles above, ``<field>`` one
                               of ``name``, ``country``, ``region``, ``address``, ``type``
                               (person/organization), ``id`` (your own party id),
                               ``incorporated_on`` (``YYYY-MM-DD``), ``residential_address``
                               (true/false, yes/no, 1/0). E.g. ``exporter_name``,
                               ``consignee_country``, ``end_user_address``, ``payer_country``.
=============================  ============================================================

Shipment-level cells (``date``, ``route``, party columns) may be repeated on every row of a
shipment or given once; two different non-empty values for the same shipment are an error. A
row with an empty ``hs_code`` and no other goods cells adds no goods line. The CSV form holds
one party per role; use JSON for several parties of the same role. Other columns are ignored,
except that a column named like a party column with an unknown role (``customer_name``,
``consigne_country``) or a known role and an unknown field (``end_user_ctry``,
``payer_countries``) is an error rather than a party screened without what it meant to say.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date as Date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from screening.countries import to_iso2
from screening.errors import InputError
from screening.models import EntityType

__all__ = [
    "CSV_GOODS_COLUMNS",
    "CSV_PARTY_FIELDS",
    "CSV_SHIPMENT_COLUMNS",
    "GoodsLine",
    "Party",
    "PartyRole",
    "RecordError",
    "Shipment",
    "load_shipments",
    "normalize_hs_code",
    "parse_shipment",
    "to_place",
]


class PartyRole(StrEnum):
    """What a party does in a shipment."""

    EXPORTER = "exporter"
    SELLER = "seller"
    BUYER = "buyer"
    CONSIGNEE = "consignee"
    INTERMEDIATE_CONSIGNEE = "intermediate_consignee"
    END_USER = "end_user"
    FREIGHT_FORWARDER = "freight_forwarder"
    PAYER = "payer"
    BANK = "bank"
    OTHER = "other"


class RecordError(InputError):
    """One record of an input file that cannot be screened (the rest of the file goes on).

    ``shipment_id`` is the record's id when it has one; ``location`` says where the record is
    ("record 3", "line 7", "rows 4, 5").
    """

    def __init__(self, message: str, *, shipment_id: str | None, location: str) -> None:
        super().__init__(message)
        self.shipment_id = shipment_id
        self.location = location


#: Longest party name screened (``screening.screener.MAX_NAME_LENGTH``; no real name is longer).
MAX_NAME_LENGTH = 1000

_ROLE_ALIASES = {"forwarder": PartyRole.FREIGHT_FORWARDER, "enduser": PartyRole.END_USER}
_TYPE_ALIASES = {
    "person": EntityType.PERSON,
    "individual": EntityType.PERSON,
    "organization": EntityType.ORGANIZATION,
    "organisation": EntityType.ORGANIZATION,
    "company": EntityType.ORGANIZATION,
    "entity": EntityType.ORGANIZATION,
    "vessel": EntityType.VESSEL,
    "aircraft": EntityType.AIRCRAFT,
}
_SUBDIVISION = re.compile(r"^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$")
_HS_SEPARATORS = re.compile(r"[.\s]+")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}


def to_place(text: str) -> str | None:
    """A place code for a country or restricted-region name or code, or ``None``.

    ``"Türkiye"`` → ``"TR"``, ``"Crimea"`` → ``"UA-43"``, ``"ua-43"`` → ``"UA-43"``.
    """
    from screening.rules.reference import is_place_code, region_for_name

    text = text.strip()
    if not text:
        return None
    if _SUBDIVISION.match(text):
        code = text.upper()
        return code if is_place_code(code) else None
    region = region_for_name(text)
    if region is not None:
        return region
    return to_iso2(text)


def normalize_hs_code(text: str) -> str:
    """The first six digits of an HS / HTS / CN / GTİP code; ``ValueError`` when malformed."""
    digits = _HS_SEPARATORS.sub("", text)
    if not digits:
        raise ValueError(f"{text!r} is not an HS code (no digits)")
    if not digits.isdigit() or not digits.isascii():
        raise ValueError(f"{text!r} is not an HS code (digits, dots and spaces only)")
    if len(digits) < 6:
        raise ValueError(f"{text!r} is not an HS code (at least 6 digits are needed)")
    if len(digits) > 14:
        raise ValueError(f"{text!r} is not an HS code (more than 14 digits)")
    if digits[:2] == "00":
        raise ValueError(f"{text!r} is not an HS code (there is no chapter 00)")
    first = _HS_SEPARATORS.split(text.strip(), maxsplit=1)[0]
    if first != text.strip() and len(first) % 2:
        # HS codes are written in pairs of digits (85.42, 8542.31, 8542.31.00): an odd first
        # group ("08542.31") is a stray digit that would move every digit after it.
        raise ValueError(
            f"{text!r} is not an HS code ({len(first)} digits before the first separator; "
            "a heading has 4: 8542.31)"
        )
    return digits[:6]


def _place(value: object) -> object:
    if not isinstance(value, str):
        return value
    place = to_place(value)
    if place is None:
        raise ValueError(f"{value!r} is not a country or region")
    return place


def _blank_to_none(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        return None
    return value.strip() if isinstance(value, str) else value


Place = Annotated[str, BeforeValidator(_place)]
_OptText = Annotated[str | None, BeforeValidator(_blank_to_none)]


#: Names that say no name was given (compared without spaces, dots, slashes and dashes).
_PLACEHOLDER_NAMES = frozenset(
    {
        "unknown",
        "unknownenduser",
        "notknown",
        "na",
        "none",
        "nil",
        "tbd",
        "tba",
        "tbc",
        "tobeadvised",
        "tobedetermined",
        "tobeconfirmed",
        "xxx",
        "",
    }
)


class Party(BaseModel):
    """One party to a shipment. ``name`` is screened against the lists; ``country``/``region``
    feed the route rules; ``incorporated_on`` and ``residential_address`` are optional facts
    some rules use when present."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: PartyRole
    name: _OptText = None
    country: _OptText = None  # ISO 3166-1 alpha-2
    region: _OptText = None  # ISO 3166-2 subdivision (restricted regions of Ukraine)
    address: _OptText = None
    type: EntityType | None = None
    id: _OptText = None  # the caller's own party id (customer number...)
    incorporated_on: Date | None = None
    residential_address: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise_place(cls, data: Any) -> Any:
        """Split a region given as the country ("Crimea", "UA-43") into country + region, and
        take a restricted region named in the address of a party in Ukraine."""
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        country, region = out.get("country"), out.get("region")
        if isinstance(country, str) and country.strip():
            place = to_place(country)
            if place is not None and "-" in place:
                out["country"] = place[:2]
                if not (isinstance(region, str) and region.strip()):
                    out["region"] = place
        elif isinstance(region, str) and region.strip():
            place = to_place(region)
            if place is not None and "-" in place:
                out["country"] = place[:2]
        address = out.get("address")
        country = out.get("country")
        if (
            isinstance(address, str)
            and not out.get("region")
            and isinstance(country, str)
            and to_iso2(country) == "UA"
        ):
            from screening.rules.reference import regions_in

            found = regions_in(address)
            if found:
                out["region"] = found[0]
        return out

    @field_validator("name")
    @classmethod
    def _placeholder(cls, v: str | None) -> str | None:
        """A placeholder where a name should be ("TBD", "N/A", "unknown") is no name: the
        party cannot be screened, and the rules for unnamed parties apply."""
        if v is not None and re.sub(r"[\s./?()\-]+", "", v.casefold()) in _PLACEHOLDER_NAMES:
            return None
        return v

    @field_validator("role", mode="before")
    @classmethod
    def _role(cls, v: object) -> object:
        if isinstance(v, str):
            key = re.sub(r"[\s\-]+", "_", v.strip().casefold())
            if key in _ROLE_ALIASES:
                return _ROLE_ALIASES[key]
            try:
                return PartyRole(key)
            except ValueError:
                roles = ", ".join(r.value for r in PartyRole)
                raise ValueError(f"{v!r} is not a party role ({roles})") from None
        return v

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, v: object) -> object:
        if isinstance(v, str):
            key = v.strip().casefold()
            if not key:
                return None
            if key in _TYPE_ALIASES:
                return _TYPE_ALIASES[key]
            raise ValueError(f"{v!r} is not a party type (person, organization, vessel, aircraft)")
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        """A name the screener can screen: not absurdly long, with letters or digits (a party
        whose name cannot be screened must stop its shipment, not the whole file)."""
        if v is None:
            return None
        from screening.names.normalize import normalize_text

        if len(v) > MAX_NAME_LENGTH:
            raise ValueError(f"longer than {MAX_NAME_LENGTH} characters ({len(v):,})")
        if not normalize_text(v):
            raise ValueError(f"{v!r} has no letters or digits to screen")
        return v

    @field_validator("country")
    @classmethod
    def _country(cls, v: str | None) -> str | None:
        if v is None:
            return None
        code = to_iso2(v)
        if code is None:
            raise ValueError(f"{v!r} is not a country")
        return code

    @field_validator("region")
    @classmethod
    def _region(cls, v: str | None) -> str | None:
        if v is None:
            return None
        place = to_place(v)
        if place is None or "-" not in place:
            raise ValueError(f"{v!r} is not an ISO 3166-2 region code or a known region")
        return place

    @field_validator("residential_address", mode="before")
    @classmethod
    def _flag(cls, v: object) -> object:
        if isinstance(v, str):
            key = v.strip().casefold()
            if key in _TRUE:
                return True
            if key in _FALSE:
                return None if not key else False
            raise ValueError(f"{v!r} is not true or false")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Party:
        if self.name is None and self.country is None:
            raise ValueError("a party needs a name or a country")
        if self.region and self.country and self.region[:2] != self.country:
            raise ValueError(f"region {self.region} is not in country {self.country}")
        return self

    @property
    def place(self) -> str | None:
        """The most precise place known for the party: its region, else its country."""
        return self.region or self.country

    def label(self) -> str:
        """``consignee 'Kral Aviation' (TR)`` — how findings name a party."""
        role = self.role.value.replace("_", " ")
        name = f" {self.name!r}" if self.name else ""
        where = f" ({self.place})" if self.place else ""
        return f"{role}{name}{where}"


class GoodsLine(BaseModel):
    """One line of goods. ``hs6`` (the first six digits) is what the rules compare."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hs_code: str
    description: _OptText = None
    quantity: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    unit: _OptText = None
    value: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    currency: _OptText = None

    @field_validator("hs_code", mode="before")
    @classmethod
    def _hs(cls, v: object) -> object:
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)
        if isinstance(v, str):
            normalize_hs_code(v)  # raises ValueError with the message
            return v.strip()
        return v

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if len(v) != 3 or not v.isalpha() or not v.isascii():
            raise ValueError(f"{v!r} is not an ISO 4217 currency code")
        return v.upper()

    @field_validator("quantity", "value", mode="before")
    @classmethod
    def _number(cls, v: object) -> object:
        return _blank_to_none(v)

    @property
    def hs6(self) -> str:
        return normalize_hs_code(self.hs_code)


class Shipment(BaseModel):
    """One shipment: parties, route and goods."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    date: Date | None = None
    parties: list[Party] = Field(min_length=1)
    route: list[Place] = Field(default_factory=list)
    goods: list[GoodsLine] = Field(default_factory=list)

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, v: object) -> object:
        if isinstance(v, int) and not isinstance(v, bool):
            return str(v)
        return v.strip() if isinstance(v, str) else v

    def parties_with(self, *roles: PartyRole) -> list[Party]:
        return [p for p in self.parties if p.role in roles]

    @property
    def route_is_derived(self) -> bool:
        return not self.route

    def end_user_places_beyond_route(self) -> tuple[str, ...]:
        """End users' places a given route does not reach: the goods go on to them. Sorted:
        the goods go on to each, none is on the way to another, so the order the parties are
        listed in must not make one look like a transit to the next."""
        if not self.route:
            return ()
        return tuple(
            sorted(
                {
                    p.place
                    for p in self.parties_with(PartyRole.END_USER)
                    if p.place and p.place not in self.route
                }
            )
        )

    def effective_route(self) -> tuple[str, ...]:
        """The route as given, going on to the end users' places it does not reach (a route
        of the shipping leg US > AE with an end user in IR is US > AE > IR); else one derived
        from the parties' places in the order exporter (or seller) → intermediate consignees →
        consignees → end users."""
        if self.route:
            return (*self.route, *self.end_user_places_beyond_route())
        origin = [p.place for p in self.parties_with(PartyRole.EXPORTER) if p.place]
        origin = origin or [p.place for p in self.parties_with(PartyRole.SELLER) if p.place]
        out: list[str] = origin[:1]
        for role in (PartyRole.INTERMEDIATE_CONSIGNEE, PartyRole.CONSIGNEE, PartyRole.END_USER):
            for p in self.parties_with(role):
                if p.place and (not out or out[-1] != p.place):
                    out.append(p.place)
        return tuple(out)

    @property
    def destination(self) -> str | None:
        """Where the goods end up: the last place of the (effective) route."""
        route = self.effective_route()
        return route[-1] if route else None


# --------------------------------------------------------------------------------------------
# Errors


_MAX_MESSAGE = 240


def _loc_text(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part and not part.startswith("function-"):
            out += f".{part}" if out else str(part)
    return out


def _error_text(err: Mapping[str, Any]) -> str:
    kind = err.get("type")
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    value = err.get("input")
    if kind == "missing":
        msg = "field required"
    elif kind == "extra_forbidden":
        msg = "unknown field"
    else:
        msg = f"{msg[:1].lower()}{msg[1:]}" if kind != "value_error" else msg
        if kind != "value_error" and isinstance(value, str | int | float | bool):
            msg = f"{value!r}: {msg}"
    # a huge value (a 1 MB "name") must not make a huge message
    return msg if len(msg) <= _MAX_MESSAGE else msg[: _MAX_MESSAGE - 1] + "…"


def _describe_error(exc: ValidationError, *, rename: Mapping[int, str] | None = None) -> str:
    """A one-line, field-level account of a pydantic error (at most five problems).

    ``rename`` maps a goods index to a text that replaces ``goods[i]`` (e.g. ``row 4``).
    """
    parts: list[str] = []
    errors = exc.errors()
    for err in errors[:5]:
        loc = tuple(err["loc"])
        if rename is not None and len(loc) >= 2 and loc[0] == "goods" and isinstance(loc[1], int):
            where = rename.get(loc[1], f"goods[{loc[1]}]")
            rest = _loc_text(loc[2:])
            location = f"{where}: {rest}" if rest else where
        else:
            location = _loc_text(loc)
        text = _error_text(err)
        parts.append(f"{location}: {text}" if location else text)
    if len(errors) > 5:
        parts.append(f"and {len(errors) - 5} more")
    return "; ".join(parts)


def _record_label(data: object, fallback: str) -> tuple[str | None, str]:
    if isinstance(data, Mapping):
        sid = data.get("id")
        if isinstance(sid, str | int) and not isinstance(sid, bool) and str(sid).strip():
            return str(sid).strip(), f"shipment {str(sid).strip()}"
    return None, fallback


def parse_shipment(
    data: object, *, location: str = "record 1", rename: Mapping[int, str] | None = None
) -> Shipment:
    """Validate one shipment (a mapping, e.g. parsed JSON); ``RecordError`` when malformed."""
    sid, label = _record_label(data, location)
    if not isinstance(data, Mapping):
        raise RecordError(
            f"{location}: a shipment must be a JSON object, not {type(data).__name__}",
            shipment_id=None,
            location=location,
        )
    try:
        return Shipment.model_validate(data)
    except ValidationError as exc:
        text = _describe_error(exc, rename=rename)
        raise RecordError(f"{label}: {text}", shipment_id=sid, location=location) from exc


# --------------------------------------------------------------------------------------------
# Files


def _lines(path: Path) -> Iterator[str]:
    """The file's lines as text: UTF-8 (a byte-order mark is skipped), or UTF-16 when it starts
    with a UTF-16 byte-order mark or its zero bytes say so. Undecodable bytes are an
    ``InputError`` naming the line; binary data is refused before anything is read."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with raw:
        try:
            head = raw.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        encoding = _utf16_encoding(head)
        if encoding is None and (b"\x00" in head or _mostly_control(head)):
            raise InputError(f"{path}: binary data, not a JSON, JSON Lines or CSV text file")
        if encoding is not None:
            text = io.TextIOWrapper(raw, encoding=encoding, newline="")
            n = 0
            while True:
                try:
                    line = text.readline()
                except UnicodeDecodeError as exc:
                    raise InputError(f"{path}: after line {n}: not UTF-16 text") from exc
                if not line:
                    return
                n += 1
                yield line.removeprefix("\ufeff") if n == 1 else line
        if head[:3] == codecs.BOM_UTF8:
            raw.read(3)
        for n, data in enumerate(raw, start=1):
            try:
                yield data.decode("utf-8")
            except UnicodeDecodeError as exc:
                # Said where it is read: a JSON Lines record is rejected on its own, a JSON
                # document or a CSV file as a whole (see _strict).
                yield _Undecodable(
                    data.decode("utf-8", "replace"),
                    f"{path}: line {n}: not UTF-8 text ({exc.reason} at column "
                    f"{exc.start + 1}); save the file as UTF-8",
                )


class _Undecodable(str):
    """A line whose bytes are not UTF-8, decoded with replacement characters, and why."""

    message: str

    def __new__(cls, text: str, message: str) -> _Undecodable:
        line = super().__new__(cls, text)
        line.message = message
        return line


def _strict(lines: Iterable[str]) -> Iterator[str]:
    """The lines, raising InputError at one that is not UTF-8 text."""
    for line in lines:
        if isinstance(line, _Undecodable):
            raise InputError(line.message)
        yield line


_SNIFF_BYTES = 4096
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13)) + b"\x7f"


def _utf16_encoding(head: bytes) -> str | None:
    """``utf-16`` (with a byte-order mark), ``utf-16-le``/``-be`` (text whose every other byte
    is zero, as UTF-16 without a BOM), else ``None``."""
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    sample = head[:400]
    if len(sample) < 4:
        return None
    half = len(sample) // 2
    if sample[1::2].count(0) > 0.4 * half:
        return "utf-16-le"
    if sample[0::2].count(0) > 0.4 * half:
        return "utf-16-be"
    return None


def _mostly_control(head: bytes) -> bool:
    """Binary data: more than a twentieth of the sample (and more than a stray few) are
    control characters other than tab, CR and LF."""
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > max(16, 0.05 * len(head))


def _detect_format(path: Path, first: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    return "json" if first and first in "{[" else "csv"


def load_shipments(path: Path | str) -> Iterator[Shipment | InputError]:
    """Every shipment in a JSON, JSONL or CSV file, in file order.

    A record that cannot be used is yielded as a :class:`RecordError` (an ``InputError``) and
    reading goes on; a file that cannot be read or parsed at all raises ``InputError``.
    """
    path = Path(path)
    lines = _lines(path)
    leading: list[str] = []
    for line in lines:  # blank lines before the content, kept for line numbers
        leading.append(line)
        if line.strip():
            break
    else:
        raise InputError(f"{path}: the file is empty")
    fmt = _detect_format(path, leading[-1].lstrip()[:1])
    content = itertools.chain(leading, lines)
    if fmt == "csv":
        yield from _read_csv(
            _strict(content), path, last_rows=_csv_last_rows(_strict(_lines(path)), path)
        )
    elif fmt == "jsonl":
        yield from _read_jsonl(content, path)
    else:
        yield from _read_json("".join(_strict(content)), path)


def _read_json(text: str, path: Path) -> Iterator[Shipment | InputError]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # JSON Lines in a .json file
            yield from _read_jsonl(io.StringIO(text), path)
            return
        raise InputError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    if isinstance(data, Mapping) and "shipments" in data and "id" not in data:
        data = data["shipments"]
    if isinstance(data, Mapping):
        yield _try(data, "record 1")
    elif isinstance(data, list):
        for i, item in enumerate(data, start=1):
            yield _try(item, f"record {i}")
    else:
        raise InputError(f"{path}: expected a shipment object or an array of shipments")


def _read_jsonl(lines: Iterable[str], path: Path) -> Iterator[Shipment | InputError]:
    for n, line in enumerate(lines, start=1):
        if isinstance(line, _Undecodable):
            yield RecordError(
                line.message.removeprefix(f"{path}: "), shipment_id=None, location=f"line {n}"
            )
            continue
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RecordError(
                f"line {n}: not valid JSON: {exc.msg}", shipment_id=None, location=f"line {n}"
            )
            continue
        yield _try(data, f"line {n}")


def _try(data: object, location: str) -> Shipment | InputError:
    try:
        return parse_shipment(data, location=location)
    except InputError as exc:
        return exc


# -- CSV ---------------------------------------------------------------------------------------

#: Shipment-level CSV columns (besides the party columns).
CSV_SHIPMENT_COLUMNS: tuple[str, ...] = ("shipment_id", "date", "route")
#: Goods-line CSV columns, one goods line per row.
CSV_GOODS_COLUMNS: tuple[str, ...] = (
    "hs_code",
    "description",
    "quantity",
    "unit",
    "value",
    "currency",
)
#: ``<role>_<field>`` party columns take these fields.
CSV_PARTY_FIELDS: tuple[str, ...] = (
    "name",
    "country",
    "region",
    "address",
    "type",
    "id",
    "incorporated_on",
    "residential_address",
)
_ROUTE_SPLIT = re.compile(r"\s*(?:>|→|;|\|)\s*")
_ROLES_LONGEST_FIRST = sorted((r.value for r in PartyRole), key=len, reverse=True)


def _column_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().casefold())


def _party_column(col: str) -> tuple[str, str] | None:
    for role in _ROLES_LONGEST_FIRST:
        if col.startswith(role + "_") and col[len(role) + 1 :] in CSV_PARTY_FIELDS:
            return role, col[len(role) + 1 :]
    return None


def _check_columns(columns: list[str], path: Path) -> None:
    if "shipment_id" not in columns:
        raise InputError(f"{path}: the CSV header has no shipment_id column")
    for col in columns:
        if col in CSV_SHIPMENT_COLUMNS or col in CSV_GOODS_COLUMNS or _party_column(col):
            continue
        role = next((r for r in _ROLES_LONGEST_FIRST if col.startswith(r + "_")), None)
        if role is not None:
            # A known role with a field it does not have (end_user_ctry, payer_countries):
            # ignoring it would screen the party without what the column meant to say.
            raise InputError(
                f"{path}: column {col!r}: {col[len(role) + 1 :]!r} is not a party field "
                f"({', '.join(CSV_PARTY_FIELDS)}); rename or drop the column"
            )
        if col.endswith(("_name", "_country")):
            prefix = col.rsplit("_", 1)[0]
            roles = ", ".join(r.value for r in PartyRole)
            raise InputError(
                f"{path}: column {col!r}: {prefix!r} is not a party role ({roles}); "
                "rename or drop the column"
            )
    dupes = sorted({c for c in columns if c and columns.count(c) > 1})
    if dupes:
        raise InputError(f"{path}: column(s) {', '.join(dupes)} appear more than once")


class _CsvShipment:
    """The rows of one shipment seen so far."""

    __slots__ = ("error", "goods", "goods_rows", "rows", "values", "where")

    def __init__(self) -> None:
        self.values: dict[str, str] = {}  # shipment-level column -> value
        self.where: dict[str, int] = {}  # column -> row the value came from
        self.goods: list[dict[str, str]] = []
        self.goods_rows: list[int] = []
        self.rows: list[int] = []
        self.error: str | None = None

    def add(self, row_no: int, row: Mapping[str, str], shared: Iterable[str]) -> None:
        self.rows.append(row_no)
        for col in shared:
            value = row.get(col, "")
            if not value:
                continue
            known = self.values.get(col)
            if known is None:
                self.values[col] = value
                self.where[col] = row_no
            elif known != value and self.error is None:
                self.error = (
                    f"row {row_no}: {col} {value!r} differs from {known!r} (row {self.where[col]})"
                )
        goods = {c: row[c] for c in CSV_GOODS_COLUMNS if row.get(c)}
        if goods:
            self.goods.append(goods)
            self.goods_rows.append(row_no)


def _row_error(row_no: int, message: str) -> RecordError:
    return RecordError(f"row {row_no}: {message}", shipment_id=None, location=f"row {row_no}")


def _csv_rows(
    lines: Iterable[str], path: Path
) -> tuple[list[str], Iterator[tuple[int, list[str] | str]]]:
    """The header's column keys, and per data row its number and its cells (or why it cannot
    be read). Blank lines before the header are skipped; row numbers count them."""
    it = iter(lines)
    skipped = 0
    header_line = next(it, "")
    while header_line and not header_line.strip():
        skipped += 1
        header_line = next(it, "")
    delimiter = max((",", ";", "\t"), key=header_line.count)
    reader = csv.reader(itertools.chain([header_line], it), delimiter=delimiter)
    try:
        columns = [_column_key(c) for c in next(reader)]
    except (csv.Error, StopIteration) as exc:
        raise InputError(f"{path}: the CSV header cannot be read: {exc}") from exc
    _check_columns(columns, path)

    def rows() -> Iterator[tuple[int, list[str] | str]]:
        row_no = skipped + 1  # the header
        while True:
            row_no += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield row_no, str(exc)
                continue
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(columns):
                yield row_no, f"{len(cells)} cells but {len(columns)} columns"
                continue
            yield row_no, cells

    return columns, rows()


def _csv_last_rows(lines: Iterable[str], path: Path) -> dict[int, int]:
    """First pass over a CSV file: the hash of each shipment id -> the number of its last row.

    Memory is a few dozen bytes per shipment, not the rows themselves. Two ids with the same
    hash only make the second pass hold a shipment until the later of their last rows.
    """
    columns, rows = _csv_rows(lines, path)
    at = columns.index("shipment_id")
    last: dict[int, int] = {}
    for row_no, cells in rows:
        if isinstance(cells, str) or at >= len(cells):
            continue
        sid = cells[at].strip()
        if sid:
            last[hash(sid)] = row_no
    return last


def _read_csv(
    lines: Iterable[str], path: Path, *, last_rows: Mapping[int, int] | None = None
) -> Iterator[Shipment | InputError]:
    """Group the rows by shipment id and validate each group, in order of first appearance.

    With ``last_rows`` (from :func:`_csv_last_rows`) a shipment is validated and given out as
    soon as its last row is read, and nothing else is kept: memory stays flat however long the
    file. Rows that belong to no shipment (no id, too many cells, broken quoting) are reported
    where they are met.
    """
    columns, rows = _csv_rows(lines, path)
    shared = [c for c in columns if c in ("date", "route") or _party_column(c)]
    groups: dict[str, _CsvShipment] = {}  # open shipments, in order of first appearance
    done: set[str] = set()  # open shipments whose last row has been read
    for row_no, cells in rows:
        if isinstance(cells, str):
            yield _row_error(row_no, cells)
            continue
        row = {c: v.strip() for c, v in zip(columns, cells, strict=False) if c}
        sid = row.get("shipment_id", "")
        if not sid:
            yield _row_error(row_no, "shipment_id: empty")
            continue
        group = groups.get(sid)
        if group is None:
            group = groups[sid] = _CsvShipment()
        group.add(row_no, row, shared)
        if last_rows is not None and last_rows.get(hash(sid)) == row_no:
            done.add(sid)
            while groups and next(iter(groups)) in done:
                first = next(iter(groups))
                done.discard(first)
                yield _csv_shipment(first, groups.pop(first))
    for sid, group in groups.items():
        yield _csv_shipment(sid, group)


def _csv_shipment(sid: str, group: _CsvShipment) -> Shipment | InputError:
    rows = ", ".join(str(r) for r in group.rows)
    location = f"row {rows}" if len(group.rows) == 1 else f"rows {rows}"
    if group.error is not None:
        return RecordError(f"shipment {sid}: {group.error}", shipment_id=sid, location=location)
    parties: dict[str, dict[str, str]] = {}
    for col, value in group.values.items():
        pc = _party_column(col)
        if pc is not None:
            role, field = pc
            parties.setdefault(role, {"role": role})[field] = value
    data: dict[str, Any] = {
        "id": sid,
        "parties": [parties[r.value] for r in PartyRole if r.value in parties],
        "goods": group.goods,
    }
    if "date" in group.values:
        data["date"] = group.values["date"]
    if "route" in group.values:
        data["route"] = [p for p in _ROUTE_SPLIT.split(group.values["route"]) if p]
    rename = {i: f"row {r}" for i, r in enumerate(group.goods_rows)}
    try:
        return parse_shipment(data, location=location, rename=rename)
    except InputError as exc:
        return exc
