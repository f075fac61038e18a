"""Reference data for the shipment rules: the CHPL and the country tables, from ``lists/``.

``lists/chpl.toml`` holds the Common High Priority List (50 HS-6 codes in tiers 1, 2, 3.A, 3.B,
4.A, 4.B); ``lists/risk_countries.toml`` the transshipment-risk countries, the restricted
destinations (with the occupied regions of Ukraine as ISO 3166-2 codes) and the GECC partners.
Both are validated on load; a bad file is a ``ConfigError`` naming the file and the entry.

A *place* throughout the rules is an ISO 3166-1 alpha-2 country code (``"TR"``) or an ISO
3166-2 subdivision code (``"UA-43"``, Crimea). A place matches a set when the set holds the
place itself or the country the place lies in: ``"UA-43"`` matches ``{"UA"}`` and
``{"UA-43"}``, while ``"UA"`` (Ukraine at large) does not match ``{"UA-43"}``.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from anyascii import anyascii
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from screening._resources import lists_path
from screening.countries import is_country_code
from screening.errors import ConfigError

__all__ = [
    "CHPL_TIERS",
    "TABLE_NAMES",
    "ChplItem",
    "DataFileRef",
    "Reference",
    "format_hs6",
    "is_place_code",
    "load_reference",
    "place_country",
    "place_in",
    "region_for_name",
    "regions_in",
]

#: The CHPL tiers, highest concern first (the order findings are ranked in).
CHPL_TIERS: tuple[str, ...] = ("1", "2", "3.A", "3.B", "4.A", "4.B")

#: The country tables a rule file may refer to as ``"@name"``.
TABLE_NAMES: tuple[str, ...] = ("transshipment_risk", "restricted", "gecc")

_SUBDIVISION = re.compile(r"^([A-Z]{2})-[A-Z0-9]{1,3}$")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def is_place_code(code: str) -> bool:
    """Whether ``code`` is an ISO-2 country code or an ISO 3166-2 subdivision of a known one."""
    m = _SUBDIVISION.match(code)
    if m:
        return is_country_code(m.group(1))
    return len(code) == 2 and code.isupper() and is_country_code(code)


def place_country(place: str) -> str:
    """The ISO-2 country a place lies in (``"UA-43"`` → ``"UA"``)."""
    return place[:2]


def place_in(place: str, places: frozenset[str]) -> bool:
    """Whether ``place`` is in ``places``, itself or by the country it lies in."""
    return place in places or place_country(place) in places


def format_hs6(hs6: str) -> str:
    """``"854231"`` → ``"8542.31"`` (the form the CHPL and the findings use)."""
    return f"{hs6[:4]}.{hs6[4:6]}"


def _name_key(text: str) -> str:
    return _NON_ALNUM.sub(" ", anyascii(text).casefold()).strip()


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChplItem(_Model):
    """One CHPL line: an HS-6 code, its tier and what it covers."""

    hs6: str  # six digits, no dot
    tier: str
    description: str

    @field_validator("hs6", mode="before")
    @classmethod
    def _hs6(cls, v: object) -> object:
        if isinstance(v, str):
            digits = v.replace(".", "").replace(" ", "")
            if len(digits) != 6 or not digits.isdigit() or not digits.isascii():
                raise ValueError(f"{v!r} is not an HS-6 code (six ASCII digits)")
            return digits
        return v

    @field_validator("tier")
    @classmethod
    def _tier(cls, v: str) -> str:
        if v not in CHPL_TIERS:
            raise ValueError(f"{v!r} is not a CHPL tier ({', '.join(CHPL_TIERS)})")
        return v

    @property
    def code(self) -> str:
        return format_hs6(self.hs6)


class _ChplFile(_Model):
    title: str
    publisher: str
    url: str
    published: date
    version: str
    hs_edition: str
    tiers: dict[str, str]
    items: list[ChplItem] = Field(min_length=1)

    @field_validator("tiers")
    @classmethod
    def _tiers(cls, v: dict[str, str]) -> dict[str, str]:
        if set(v) != set(CHPL_TIERS):
            raise ValueError(f"must describe exactly the tiers {', '.join(CHPL_TIERS)}")
        return v


class TableEntry(_Model):
    """One country (or region) of a country table, with where it is named."""

    code: str
    name: str
    named_in: list[str] = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    note: str | None = None

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not is_place_code(v):
            raise ValueError(f"{v!r} is not an ISO 3166 country or subdivision code")
        return v


class CountryTable(_Model):
    """A named set of places with its provenance."""

    title: str
    source: str
    url: str
    date: date
    version: str
    note: str | None = None
    entries: list[TableEntry] = Field(min_length=1)

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(e.code for e in self.entries)


class _CountriesFile(_Model):
    version: str
    transshipment_risk: CountryTable
    restricted: CountryTable
    gecc: CountryTable


class DataFileRef(_Model):
    """Which version of a data file a result was produced with."""

    name: str  # "chpl", "risk_countries", or a rule file's name
    version: str
    sha256: str


@dataclass(frozen=True)
class Reference:
    """The loaded reference data the rules resolve ``@tables`` and CHPL tiers against."""

    chpl: dict[str, ChplItem]  # HS-6 digits -> item
    chpl_title: str
    chpl_url: str
    tables: dict[str, CountryTable]
    files: tuple[DataFileRef, ...]
    _regions: dict[str, str]  # normalised region name -> ISO 3166-2 code

    def tier(self, hs6: str) -> str | None:
        item = self.chpl.get(hs6)
        return item.tier if item else None

    def table(self, name: str) -> frozenset[str]:
        return self.tables[name].codes

    def region(self, text: str) -> str | None:
        """The ISO 3166-2 code of a region named in the tables ("Crimea" → "UA-43")."""
        return self._regions.get(_name_key(text))

    def regions_in(self, text: str) -> tuple[str, ...]:
        """Region codes whose names occur as whole words in a free-text address."""
        key = f" {_name_key(text)} "
        found: dict[str, None] = {}
        for name, code in self._regions.items():
            if f" {name} " in key:
                found[code] = None
        return tuple(found)

    def place_name(self, place: str) -> str | None:
        for table in self.tables.values():
            for e in table.entries:
                if e.code == place:
                    return e.name
        return None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc


def _parse_toml(path: Path, data: bytes) -> tuple[dict[str, Any], str]:
    try:
        return tomllib.loads(data.decode("utf-8")), hashlib.sha256(data).hexdigest()
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


def _error_text(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ""
    for part in err["loc"]:
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{loc}: {msg}" if loc else msg


def _load_chpl(path: Path, data: bytes) -> tuple[_ChplFile, str]:
    raw, sha = _parse_toml(path, data)
    try:
        chpl = _ChplFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_error_text(exc)}") from exc
    seen: set[str] = set()
    for item in chpl.items:
        if item.hs6 in seen:
            raise ConfigError(f"{path}: HS code {item.code} is listed twice")
        seen.add(item.hs6)
    return chpl, sha


def _load_countries(path: Path, data: bytes) -> tuple[_CountriesFile, str]:
    raw, sha = _parse_toml(path, data)
    try:
        tables = _CountriesFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_error_text(exc)}") from exc
    for name in TABLE_NAMES:
        codes = [e.code for e in getattr(tables, name).entries]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise ConfigError(f"{path}: [{name}]: {', '.join(dupes)} listed twice")
    return tables, sha


def _regions(tables: Iterable[CountryTable]) -> dict[str, str]:
    out: dict[str, str] = {}
    for table in tables:
        for e in table.entries:
            if "-" in e.code:
                for n in (e.name, *e.aliases):
                    out.setdefault(_name_key(n), e.code)
    return out


def load_reference(chpl_path: Path | None = None, countries_path: Path | None = None) -> Reference:
    """The CHPL and country tables (the bundled ``lists/`` files unless paths are given).

    The files are read on every call and parsed again only when their content changed.
    """
    chpl_path = (chpl_path or lists_path("chpl.toml")).resolve()
    countries_path = (countries_path or lists_path("risk_countries.toml")).resolve()
    return _load_reference(
        chpl_path, _read_bytes(chpl_path), countries_path, _read_bytes(countries_path)
    )


@cache
def _load_reference(
    chpl_path: Path, chpl_data: bytes, countries_path: Path, countries_data: bytes
) -> Reference:
    chpl, chpl_sha = _load_chpl(chpl_path, chpl_data)
    countries, countries_sha = _load_countries(countries_path, countries_data)
    tables = {name: getattr(countries, name) for name in TABLE_NAMES}
    return Reference(
        chpl={i.hs6: i for i in chpl.items},
        chpl_title=f"{chpl.title} ({chpl.published.isoformat()})",
        chpl_url=chpl.url,
        tables=tables,
        files=(
            DataFileRef(name="chpl", version=chpl.version, sha256=chpl_sha),
            DataFileRef(name="risk_countries", version=countries.version, sha256=countries_sha),
        ),
        _regions=_regions(tables.values()),
    )


@cache
def _bundled_regions() -> Reference:
    return load_reference()


def region_for_name(text: str) -> str | None:
    """The ISO 3166-2 code of a restricted region named in the bundled tables, if any."""
    return _bundled_regions().region(text)


def regions_in(address: str) -> tuple[str, ...]:
    """Codes of the restricted regions of the bundled tables named in a free-text address."""
    return _bundled_regions().regions_in(address)
