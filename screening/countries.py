"""Country names and codes -> ISO 3166-1 alpha-2, from ``lists/countries.toml``."""

from __future__ import annotations

import re
import tomllib
from functools import cache

from anyascii import anyascii

from screening._resources import lists_path
from screening.errors import ConfigError

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _key(text: str) -> str:
    return _NON_ALNUM.sub(" ", anyascii(text).casefold()).strip()


@cache
def _tables() -> tuple[dict[str, str], dict[str, str]]:
    path = lists_path("countries.toml")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        countries: dict[str, list[str]] = raw["countries"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read country table: {exc}") from exc
    by_key: dict[str, str] = {}
    names: dict[str, str] = {}
    for code, spellings in countries.items():
        names[code] = spellings[0]
        by_key[_key(code)] = code
        for s in spellings:
            by_key.setdefault(_key(s), code)
    return by_key, names


def to_iso2(text: str | None) -> str | None:
    """The ISO-2 code for a country code or name ("TR", "TUR", "Türkiye", "Turkey",
    "Kyrgyz Republic", "Korea, North"), or ``None`` when it is not a known country."""
    if not text:
        return None
    by_key, _ = _tables()
    return by_key.get(_key(text))


def country_name(code: str) -> str:
    """The display name of an ISO-2 code (the code itself when unknown)."""
    return _tables()[1].get(code.upper(), code)


def is_country_code(code: str) -> bool:
    return code.upper() in _tables()[1]
