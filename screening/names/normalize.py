"""Text -> comparable name parts.

The pipeline, applied alike to list names and to screened names so that they meet:

1. ``clean``: Unicode NFKC (full-width and mathematical letters, ligatures), removal of format
   characters (zero-width space/joiners, soft hyphen, bidi controls, BOM) and stray combining
   marks, control characters to spaces.
2. ``to_latin``: within a word that mixes Latin letters with look-alike letters of another
   script (Cyrillic ``а`` in ``Gаzprom``), the look-alikes are folded to the Latin letters they
   imitate (Unicode TR39 confusables, ``lists/confusables.toml``); every other non-Latin word is
   transliterated into Latin (anyascii: Cyrillic incl. Ukrainian, Belarusian, Kazakh, Kyrgyz;
   Turkish and Azerbaijani letters; Armenian, Georgian, Greek, Arabic, Persian, CJK).
3. ``tokenize``: case folding, apostrophes dropped (``Ra'd`` -> ``rad``), every other
   non-alphanumeric character splits words, runs of single letters joined (``R o s n e f t``).
4. ``parse_name``: legal forms (``ООО``, ``LLC``, ``Limited Liability Company``...) taken out of the
   name into canonical codes; person names in natural order (``SURNAME, Given`` -> ``Given
   SURNAME``), with the role of each part recorded.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from anyascii import anyascii

from screening.names.knowledge import knowledge

#: Characters removed outright: zero-width, soft hyphen, bidi controls, BOM, fillers.
_INVISIBLE = {
    *range(0x200B, 0x2010),  # zero-width space, ZWNJ, ZWJ, LRM, RLM
    *range(0x202A, 0x202F),  # bidi embedding/override controls
    *range(0x2060, 0x2070),  # word joiner, invisible operators, bidi isolates
    0x00AD,  # soft hyphen
    0x034F,  # combining grapheme joiner
    0x061C,  # Arabic letter mark
    0x115F,
    0x1160,
    0x3164,
    0xFFA0,  # Hangul fillers
    0x180E,  # Mongolian vowel separator
    0xFEFF,  # BOM / zero-width no-break space
}
_APOSTROPHES = "'’‘ʼʻ`´ʹʾʿ"
_SPLIT = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"\w+")
_NOISE_TOKENS = frozenset({"aka", "fka", "nka", "a k a", "f k a"})


class _CleanTable(dict[int, str | None]):
    """``str.translate`` table for :func:`clean`, filled per character on first sight."""

    def __missing__(self, o: int) -> str | None:
        c = chr(o)
        cat = unicodedata.category(c)
        out: str | None
        if o in _INVISIBLE or cat in ("Cf", "Mn", "Me"):
            out = None
        # Controls, line breaks and symbols (emoji, flags, ®, ★) separate words; they are
        # never part of a name (anyascii would spell an emoji out as English words).
        elif cat[0] == "S" or cat in ("Cc", "Zl", "Zp", "Co", "Cn"):
            out = " "
        else:
            out = c
        self[o] = out
        return out


_CLEAN = _CleanTable()


def clean(text: str) -> str:
    """NFKC, without invisible/format characters and stray combining marks."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return "".join(c if c >= " " else " " for c in text) if not text.isprintable() else text
    return text.translate(_CLEAN)


@lru_cache(maxsize=8192)
def _is_latin_letter(c: str) -> bool:
    return c.isascii() or unicodedata.name(c, "").startswith("LATIN")


def to_latin(text: str, *, fold_lookalike_words: bool = False) -> str:
    """Fold look-alike letters inside Latin words; transliterate other scripts.

    A word mixing scripts is read in the script of its unambiguous letters: ``Gаzprom`` (one
    Cyrillic ``а``) is Latin, ``Рocoбopoнэкcпopт`` (Latin ``o``, ``c``, ``p`` among Cyrillic
    ``б``, ``н``, ``э``) is Cyrillic. ``fold_lookalike_words``: also read a word written wholly
    in look-alike letters of another script (``СІМЕХ``) as the Latin word it imitates — an
    alternative reading the screener tries besides the transliteration.
    """
    if text.isascii():
        return text
    kb = knowledge()
    confusables = kb.confusables
    has_latin_word = any(
        all(_is_latin_letter(c) for c in m.group()) and any(c.isalpha() for c in m.group())
        for m in _WORD.finditer(text)
    )

    def word(m: re.Match[str]) -> str:
        w = m.group()
        if w.isascii():
            return w
        letters = [c for c in w if c.isalpha()]
        latin = sum(1 for c in letters if _is_latin_letter(c))
        foreign = [c for c in letters if not _is_latin_letter(c)]
        if foreign and all(c in confusables for c in foreign):
            if latin or has_latin_word or fold_lookalike_words:
                w = "".join(confusables.get(c, c) for c in w)
        elif foreign and latin:
            # A Cyrillic word with Latin look-alikes in it: give them back their script.
            w = "".join(kb.latin_to_cyrillic.get(c, c) for c in w)
        return _transliterate(w)

    return _WORD.sub(word, text)


def has_lookalike_word(text: str) -> bool:
    """Whether a word of ``text`` is written wholly in look-alike letters of another script
    (so that it also has a Latin reading, see :func:`to_latin`)."""
    if text.isascii():
        return False
    confusables = knowledge().confusables
    for m in _WORD.finditer(text):
        letters = [c for c in m.group() if c.isalpha()]
        if len(letters) >= 2 and all(not _is_latin_letter(c) and c in confusables for c in letters):
            return True
    return False


_CJK_RANGES = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def _transliterate(word: str) -> str:
    if word.isascii():
        return word
    if not _CJK_RANGES.search(word):
        return anyascii(word)
    out = []
    for c in word:
        if c.isascii():
            out.append(c)
            continue
        t = anyascii(c)
        o = ord(c)
        # CJK ideographs and syllabaries: one syllable each, so keep them apart.
        if 0x2E80 <= o <= 0x9FFF or 0xAC00 <= o <= 0xD7AF or 0xF900 <= o <= 0xFAFF:
            t = f" {t} "
        out.append(t)
    return "".join(out)


_GAP = re.compile(r"\s+")


def tokenize(latin: str) -> list[str]:
    """Lower-case ASCII tokens of already-latinised text."""
    text = latin.casefold()
    for a in _APOSTROPHES:
        if a in text:
            text = text.replace(a, "")
    if not text.isascii():
        text = anyascii(text).casefold()
    gaps = {len(g) for g in _GAP.findall(text)}
    if len(gaps) > 1:
        # Letter-spaced words ("S h o i g u  S e r g e i") keep the wider gaps between them.
        narrow = min(gaps)
        parts = re.split(rf"\s{{{narrow + 1},}}", text)
        return _join_spaced_letters([t for part in parts for t in _tokens(part)])
    return _tokens(text)


def _tokens(text: str) -> list[str]:
    return _join_spaced_letters([t for t in _SPLIT.split(text) if t])


def _join_spaced_letters(tokens: list[str]) -> list[str]:
    """``r o s n e f t`` -> ``rosneft``: runs of three or more single letters are one word."""
    if len(tokens) < 3 or sum(1 for t in tokens if len(t) == 1) < 3:
        return tokens
    out: list[str] = []
    run: list[str] = []
    for t in (*tokens, ""):
        if len(t) == 1 and t.isalpha():
            run.append(t)
            continue
        if len(run) >= 3:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if t:
            out.append(t)
    return out


def normalize_text(text: str) -> list[str]:
    """clean -> to_latin -> tokenize."""
    return tokenize(to_latin(clean(text)))


# Single-token legal forms that are unambiguous anywhere in a name; others are recognised only
# at the start or the end of a name.
_STRONG_LEGAL = frozenset(
    {
        "llc", "ooo", "jsc", "pjsc", "ojsc", "cjsc", "zao", "oao", "pao", "ltd", "gmbh", "fze",
        "fzco", "fzc", "fzllc", "plc", "inc", "ltda", "sarl", "doo", "mchj", "mmc", "limited",
        "corp", "corporation", "incorporated", "dmcc", "aktiengesellschaft", "pjs",
    }
)  # fmt: skip

ROLE_SURNAME = "s"
ROLE_GIVEN = "g"  # first given name
ROLE_MIDDLE = "m"  # further given names, patronymics
ROLE_NONE = "-"


@dataclass(frozen=True, slots=True)
class NameParts:
    """A name as the matcher sees it."""

    tokens: tuple[str, ...]  # natural order, legal forms removed
    legal: frozenset[str]  # canonical legal-form codes found in the name
    roles: tuple[str, ...]  # per token: ROLE_* (known for listed person names only)
    #: the tokens before abbreviations were written out ("valtex", "st" for VALTEX-ST, whose
    #: tokens are "valtex", "saint"), where that changed any; else None
    spelt: tuple[str, ...] | None = None

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


def strip_legal_forms(tokens: list[str]) -> tuple[list[str], set[str]]:
    """Remove legal-form phrases; return the remaining tokens and the canonical codes."""
    kb = knowledge()
    forms = kb.legal_forms
    starts = kb.legal_form_starts
    # Abbreviations written out count too ("FREE ZONE Co." is FREE ZONE COMPANY, an FZCO).
    written = [kb.abbreviations.get(t, t) for t in tokens]
    found: set[str] = set()
    keep = [True] * len(tokens)
    n = len(tokens)
    # Every legal-form phrase in the name; where two overlap, the longer one is the legal
    # form ("CO LIMITED LIABILITY COMPANY" ends in an LLC, not in "Co. Ltd." and two words).
    spans: list[tuple[int, int, str]] = []
    for i in range(n):
        longest = max(starts.get(tokens[i], 0), starts.get(written[i], 0))
        for size in range(min(longest, n - i), 0, -1):
            code = forms.get(tuple(tokens[i : i + size])) or forms.get(tuple(written[i : i + size]))
            if code is None:
                continue
            anywhere = size >= 2 or tokens[i] in _STRONG_LEGAL
            at_edge = i == 0 or i + size == n
            if anywhere or at_edge:
                spans.append((i, size, code))
                break
    for i, size, code in sorted(spans, key=lambda s: (-s[1], s[0])):
        if all(keep[i : i + size]):
            for j in range(i, i + size):
                keep[j] = False
            found.add(code)
    rest = [t for t, k in zip(tokens, keep, strict=True) if k]
    # Edge forms exposed by the removals (e.g. "AO" before a stripped "ZAVOD, LLC").
    while len(rest) > 1 and (code := forms.get((rest[-1],))) is not None:
        found.add(code)
        rest.pop()
    while len(rest) > 1 and (code := forms.get((rest[0],))) is not None:
        found.add(code)
        rest.pop(0)
    if not rest:  # the name is nothing but a legal form: keep it as the name
        return [t for t in tokens if t not in _NOISE_TOKENS], set()
    return [t for t in rest if t not in _NOISE_TOKENS] or rest, found


def parse_name(
    text: str,
    *,
    person: bool | None = None,
    listed: bool = False,
    fold_lookalike_words: bool = False,
    correct: Callable[[str], str] | None = None,
) -> NameParts:
    """Parse a name. ``person``: True/False when the type is known, None when not.

    ``correct`` puts a mistyped word right (a screened name's "Limited LNability Company"):
    a correction is kept only where it lets a legal form be recognised and removed, and the
    words that stay in the name keep their own spelling.

    For listed person names (``listed=True``) written ``SURNAME, Given Names`` the roles of the
    parts are recorded; a screened name with one comma is put in natural order the same way
    unless it is known to be an organisation.
    """
    cleaned = to_latin(clean(text), fold_lookalike_words=fold_lookalike_words)
    surname_part: list[str] = []
    given_part: list[str] = []
    if person is not False and cleaned.count(",") == 1:
        left, right = cleaned.split(",")
        surname_part = tokenize(left)
        given_part = tokenize(right)
        if not surname_part or not given_part or tuple(given_part) in knowledge().legal_forms:
            surname_part, given_part = [], []
    honor = knowledge().honorifics
    if person and surname_part:
        # Titles go, unless nothing else is left of the given names ("JOHNSON, Prince"). A
        # list name keeps them as its first given names ("SHAH, Sayed Wazir": screened names
        # give it as "Sayed Shah" as often as "Wazir Shah"); they weigh little either way.
        if not listed:
            given_part = [t for t in given_part if t not in honor] or given_part
        tokens = given_part + surname_part
        roles = [ROLE_GIVEN] + [ROLE_MIDDLE] * (len(given_part) - 1)
        roles += [ROLE_SURNAME] * len(surname_part)
        pairs = list(zip(tokens, roles, strict=True))
        return NameParts(
            tuple(t for t, _ in pairs),
            frozenset(),
            tuple(r if listed else ROLE_NONE for _, r in pairs),
        )
    tokens = given_part + surname_part if surname_part else tokenize(cleaned)
    if person:
        tokens = [t for t in tokens if t not in honor] or tokens
        return NameParts(tuple(tokens), frozenset(), (ROLE_NONE,) * len(tokens))
    rest, legal = strip_legal_forms(tokens)
    if correct is not None:
        fixed = [correct(t) for t in tokens]
        if fixed != tokens:
            rest_fixed, legal_fixed = strip_legal_forms(fixed)
            if len(rest_fixed) < len(rest):
                spelt = {f: t for t, f in zip(tokens, fixed, strict=True) if f != t}
                rest, legal = [spelt.get(t, t) for t in rest_fixed], legal_fixed
    abbreviations = knowledge().abbreviations
    written = [abbreviations.get(t, t) for t in rest]
    return NameParts(
        tuple(written),
        frozenset(legal),
        (ROLE_NONE,) * len(written),
        tuple(rest) if written != rest else None,
    )
