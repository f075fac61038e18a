"""Phonetic keys for romanised names.

Transliteration from Cyrillic and Arabic has many accepted spellings of one sound: ``Sergey`` /
``Sergei``, ``Zhukov`` / ``Jukoff``, ``Shcherbakov`` / ``Scherbakoff``, ``Tsarev`` / ``Tzareff``,
``Dvoinykh`` / ``Dvoinyh``, ``Yakub`` / ``Iakub``. ``phonetic_key`` maps them to one spelling;
``skeleton`` keeps only the consonants of that key, which is what the candidate index is keyed on
(vowels are where spellings and typos differ most).
"""

from __future__ import annotations

import re
from functools import lru_cache

# Order matters: longer clusters first. Each rule with the letters a match needs (every one of
# its alternatives contains one of them): a token without them skips the rule, whose
# substitution could change nothing.
_RULES: tuple[tuple[re.Pattern[str], str, str | None, str | None], ...] = tuple(
    (re.compile(p), r, *(*guard, None, None)[:2])
    for p, r, guard in (
        (r"shch|sch|szcz", "sh", ("c",)),
        (r"tch", "ch", ("tch",)),
        (r"dzh|dj|zh|j", "y", ("j", "zh")),
        (r"kh", "h", ("kh",)),
        (r"ph", "f", ("ph",)),
        (r"gh", "g", ("gh",)),
        (r"ck", "k", ("ck",)),
        (r"q", "k", ("q",)),
        (r"x", "ks", ("x",)),
        (r"w", "v", ("w",)),
        (r"tz|ts", "T", ("tz", "ts")),  # upper case: a phoneme of its own, apart from t, s, k
        (r"ch", "C", ("ch",)),
        (r"c(?=[eiy])", "s", ("c",)),
        (r"c", "k", ("c",)),
        (r"y", "i", ("y",)),
        (r"ou|oo", "u", ("ou", "oo")),
        (r"ee", "i", ("ee",)),
        (r"ff$", "v", ("ff",)),
        (r"(.)\1+", r"\1", ()),  # no guard: any letter doubled
    )
)
_NO_VOWELS = str.maketrans("", "", "aeiou")  # after the rules, y is i


@lru_cache(maxsize=262144)
def phonetic_key(token: str) -> str:
    """A spelling-insensitive key for one lower-case ASCII token."""
    if not token.isalpha():
        return token
    key = token
    for pattern, repl, needs, or_needs in _RULES:
        if needs is None or needs in key or (or_needs is not None and or_needs in key):
            key = pattern.sub(repl, key)
    return key


def skeleton(key: str) -> str:
    """The consonants of a phonetic key (the whole key when that leaves fewer than two)."""
    if not key.isalpha():
        return key
    s = key.translate(_NO_VOWELS)
    return s if len(s) >= 2 else key


def deletions(s: str) -> set[str]:
    """Every string one deletion away from ``s`` (for typo-tolerant lookup)."""
    return {s[:i] + s[i + 1 :] for i in range(len(s))}
