"""Name knowledge compiled from ``lists/names.toml`` and ``lists/confusables.toml``.

The TOML files hold the data (legal forms, generic words, honorifics, given-name variants,
look-alike letters) with their provenance; this module validates them and compiles them into the
lookup tables the normaliser and the matcher use.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from screening._resources import lists_path
from screening.errors import ConfigError

_SPLIT = re.compile(r"[^a-z0-9]+")


class _NamesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    legal_forms: dict[str, list[str]]
    generic: dict[str, list[str]]
    honorifics: dict[str, list[str]]
    abbreviations: dict[str, str]
    given_names: dict[str, list[list[str]]]


@dataclass(frozen=True, slots=True)
class NameKnowledge:
    version: str
    #: phrase (tuple of tokens) -> canonical legal-form code
    legal_forms: dict[tuple[str, ...], str]
    #: first token of a legal-form phrase -> the longest phrase it begins, in tokens
    legal_form_starts: dict[str, int]
    generic: frozenset[str]
    honorifics: frozenset[str]
    #: spelling -> canonical spelling of the same given name
    given_name: dict[str, str]
    #: abbreviation -> the word written out
    abbreviations: dict[str, str]
    #: look-alike letter of another script -> Latin letter
    confusables: dict[str, str]
    #: Latin letter -> the Cyrillic letter it looks like (lower case), for Latin look-alikes
    #: inside Cyrillic words
    latin_to_cyrillic: dict[str, str]


def phrase_tokens(text: str) -> tuple[str, ...]:
    return tuple(t for t in _SPLIT.split(text.casefold()) if t)


def _read_toml(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _latin_to_cyrillic(confusables: dict[str, str]) -> dict[str, str]:
    """Latin letters that double as Russian ones in print -> those Russian letters."""
    out: dict[str, str] = {}
    for ch in "аеорсух":
        if ch in confusables:
            out[confusables[ch]] = ch
    for ch in "АВЕКМНОРСТУХ":
        if ch in confusables:
            out[confusables[ch].upper()] = ch
    return out


def _starts(phrases: dict[tuple[str, ...], str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in phrases:
        out[p[0]] = max(out.get(p[0], 0), len(p))
    return out


@cache
def knowledge() -> NameKnowledge:
    """The compiled name knowledge (loaded once per process)."""
    path = lists_path("names.toml")
    try:
        data = _NamesFile.model_validate(_read_toml(path))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: {loc}: {err['msg']}") from exc

    legal: dict[tuple[str, ...], str] = {}
    for code, variants in data.legal_forms.items():
        for v in (code, *variants):
            # A hyphenated form is also written run together ("jointstock company").
            for spelling in (v, v.replace("-", "")):
                toks = phrase_tokens(spelling)
                if toks:
                    legal.setdefault(toks, code)
    given: dict[str, str] = {}
    for group in data.given_names.get("variants", []):
        forms = [" ".join(phrase_tokens(v)) for v in group]
        forms = [f for f in forms if f and " " not in f]
        if forms:
            for f in forms:
                given.setdefault(f, forms[0])

    cpath = lists_path("confusables.toml")
    raw = _read_toml(cpath).get("confusables", {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{cpath}: [confusables] must be a table")
    confusables = {str(k): str(v) for k, v in raw.items() if len(str(k)) == 1}

    return NameKnowledge(
        version=data.version,
        legal_forms=legal,
        legal_form_starts=_starts(legal),
        generic=frozenset(t for w in data.generic.get("words", []) for t in phrase_tokens(w)),
        honorifics=frozenset(t for w in data.honorifics.get("words", []) for t in phrase_tokens(w)),
        given_name=given,
        abbreviations={k.casefold(): v.casefold() for k, v in data.abbreviations.items()},
        confusables=confusables,
        latin_to_cyrillic=_latin_to_cyrillic(confusables),
    )
