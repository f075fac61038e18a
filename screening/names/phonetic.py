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

# Order matters: longer clusters first.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), r)
    for p, r in (
        (r"shch|sch|szcz", "sh"),
        (r"tch", "ch"),
        (r"dzh|dj|zh|j", "y"),
        (r"kh", "h"),
        (r"ph", "f"),
        (r"gh", "g"),
        (r"ck", "k"),
        (r"q", "k"),
        (r"x", "ks"),
        (r"w", "v"),
        (r"tz|ts", "T"),  # upper case: a phoneme of its own, kept apart from t, s and k
        (r"ch", "C"),
        (r"c(?=[eiy])", "s"),
        (r"c", "k"),
        (r"y", "i"),
        (r"ou|oo", "u"),
        (r"ee", "i"),
        (r"ff$", "v"),
        (r"(.)\1+", r"\1"),
    )
)
_NO_VOWELS = str.maketrans("", "", "aeiou")  # after the rules, y is i


@lru_cache(maxsize=262144)
def phonetic_key(token: str) -> str:
    """A spelling-insensitive key for one lower-case ASCII token."""
    if not token.isalpha():
        return token
    key = token
    for pattern, repl in _RULES:
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
