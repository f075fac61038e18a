"""Property and fuzz tests (hypothesis): the name normaliser, the parsers and readers on
arbitrary bytes, the rules engine with the real Screener, the spreadsheet guard.

Examples are kept modest (``max_examples`` 60-150, no deadline) so CI stays fast; the
properties themselves were run with thousands of examples while writing them.
"""

from __future__ import annotations

import gzip
import json
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import SEEDS

from screening.config import get_source_definition
from screening.errors import InputError, ParseError
from screening.formats.safe import spreadsheet_safe
from screening.inputs import read_rows
from screening.models import ScreeningResult, jsonable
from screening.names.knowledge import knowledge
from screening.names.normalize import clean, normalize_text, parse_name
from screening.rules import Decision, load_ruleset
from screening.rules.engine import evaluate_shipment
from screening.screener import BatchRow, RejectedRow, Screener
from screening.shipments import Party, PartyRole, Shipment, load_shipments, parse_shipment
from screening.sources._decode import decode_payload, read_csv
from screening.sources.base import load_source

SOME = settings(max_examples=150, deadline=None)
FEW = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

#: NFKC expands one code point to at most 18 (U+FDFA); transliteration spells some symbols out.
EXPANSION = 40

LATIN_NAMES = st.text(
    alphabet=st.sampled_from(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -.,'&()/"
    ),
    min_size=1,
    max_size=40,
)
INVISIBLE = [
    "\u200b", "\u200c", "\u200d", "\u2060", "\u2063", "\u00ad", "\ufeff", "\u034f", "\u180e",
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
    "\u200e", "\u200f", "\u061c", "\ufe0f", "\U000e0041",
]  # fmt: skip
COMBINING = ["\u0300", "\u0301", "\u0302", "\u0308", "\u030a", "\u0324", "\u0336", "\u0338"]


# -- the normaliser ----------------------------------------------------------------------------


@SOME
@given(st.text())
def test_clean_never_raises_is_idempotent_and_bounded(text: str) -> None:
    once = clean(text)
    assert clean(once) == once
    assert len(once) <= 18 * len(text)


@SOME
@given(st.text())
def test_normalize_text_never_raises_is_idempotent_and_bounded(text: str) -> None:
    tokens = normalize_text(text)
    assert all(t and t.isascii() and t.isalnum() and t == t.lower() for t in tokens)
    assert normalize_text(" ".join(tokens)) == tokens
    assert sum(map(len, tokens)) <= EXPANSION * len(text)


@SOME
@given(st.text(max_size=200), st.sampled_from([None, True, False]), st.booleans())
def test_parse_name_never_raises_and_is_bounded(
    text: str, person: bool | None, listed: bool
) -> None:
    parts = parse_name(text, person=person, listed=listed)
    assert len(parts.tokens) == len(parts.roles)
    assert all(t and t.isascii() for t in parts.tokens)
    assert sum(map(len, parts.tokens)) <= EXPANSION * len(text)


@SOME
@given(LATIN_NAMES, st.data())
def test_invisible_characters_anywhere_change_nothing(name: str, data: st.DataObject) -> None:
    chars = list(name)
    for _ in range(data.draw(st.integers(1, 6))):
        chars.insert(data.draw(st.integers(0, len(chars))), data.draw(st.sampled_from(INVISIBLE)))
    assert normalize_text("".join(chars)) == normalize_text(name)


@SOME
@given(LATIN_NAMES, st.data())
def test_combining_marks_on_letters_change_nothing(name: str, data: st.DataObject) -> None:
    marked = ""
    for c in name:
        marked += c
        if c.isalpha() and data.draw(st.booleans()):
            marked += data.draw(st.sampled_from(COMBINING))
    assert normalize_text(marked) == normalize_text(name)


@SOME
@given(LATIN_NAMES)
def test_full_width_letters_and_case_change_nothing(name: str) -> None:
    wide = "".join(
        chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in name
    )
    assert normalize_text(wide) == normalize_text(name)
    assert normalize_text(name.upper()) == normalize_text(name.lower())


def _look_alikes() -> dict[str, list[str]]:
    """Latin letter -> the Cyrillic and Greek letters TR39 lists as its confusables."""
    out: dict[str, list[str]] = {}
    for foreign, latin in knowledge().confusables.items():
        script = unicodedata.name(foreign, "").split(" ")[0]
        if (
            script in ("CYRILLIC", "GREEK")
            and len(latin) == 1
            and latin.isascii()
            and latin.isalpha()
            and unicodedata.category(foreign) in ("Ll", "Lu")
            and unicodedata.normalize("NFKC", foreign) == foreign
        ):
            out.setdefault(latin, []).append(foreign)
    return out


LOOK_ALIKES = _look_alikes()


@SOME
@given(
    st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2),
        min_size=1,
        max_size=4,
    ),
    st.data(),
)
def test_look_alike_letters_inside_latin_words_change_nothing(
    words: list[str], data: st.DataObject
) -> None:
    """Mixed-script words: any letters but one per word swapped for Cyrillic or Greek
    look-alikes (a word of look-alikes only is the whole-script case, see test_evasion)."""
    disguised = []
    for word in words:
        chars = list(word)
        swappable = [i for i, c in enumerate(chars) if c in LOOK_ALIKES][: len(chars) - 1]
        for i in swappable:
            if data.draw(st.booleans()):
                chars[i] = data.draw(st.sampled_from(LOOK_ALIKES[chars[i]]))
        disguised.append("".join(chars))
    assert normalize_text(" ".join(disguised)) == normalize_text(" ".join(words))


# -- parsers and readers on arbitrary bytes ----------------------------------------------------


@pytest.fixture(scope="module")
def consolidated_files() -> dict[str, bytes]:
    directory = SEEDS / "ofac_consolidated" / "2025-12"
    return {
        p.name.removesuffix(".gz"): gzip.decompress(p.read_bytes()) for p in directory.glob("*.gz")
    }


@FEW
@given(
    slot=st.sampled_from(["CONS_PRIM.CSV", "CONS_ADD.CSV", "CONS_ALT.CSV", "CONS_COMMENTS.CSV"]),
    garbage=st.binary(max_size=3000),
)
def test_the_consolidated_parser_raises_only_parse_error(
    consolidated_files: dict[str, bytes], slot: str, garbage: bytes
) -> None:
    source = load_source(get_source_definition("ofac_consolidated"))
    try:
        result = source.parse({**consolidated_files, slot: garbage})
    except ParseError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert all(e.name and e.entry_id for e in result.entries)


@SOME
@given(st.binary(max_size=2000))
def test_decoding_a_payload_raises_only_parse_error(data: bytes) -> None:
    try:
        payload = decode_payload(data, file="X.CSV", source="ofac_sdn")
    except ParseError:
        return
    rows = read_csv(payload.text)
    assert all(fields for _, fields in rows.rows)


@FEW
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".csv", ".jsonl", ".tsv"]))
def test_reading_any_bytes_as_a_batch_file_raises_only_input_error(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    path = tmp_path / f"in{suffix}"
    path.write_bytes(data)
    try:
        rows = list(read_rows(path))
    except InputError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert all(isinstance(r, BatchRow | RejectedRow) for r in rows)


@FEW
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".csv", ".json", ".jsonl"]))
def test_reading_any_bytes_as_a_shipment_file_raises_only_input_error(
    tmp_path: Path, data: bytes, suffix: str
) -> None:
    path = tmp_path / f"in{suffix}"
    path.write_bytes(data)
    try:
        items = list(load_shipments(path))
    except InputError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    for item in items:
        assert isinstance(item, Shipment | InputError)
        if isinstance(item, InputError):
            assert "\n" not in str(item)


# -- the rules engine with the real screener ---------------------------------------------------

_PLACES = ["US", "DE", "TR", "KZ", "AE", "AM", "CN", "HK", "RU", "BY", "IR", "UA", "UA-43"]
_HS = ["8542.31", "8532.24", "8471.50", "8807.30", "9401.39", "6109.10", "8526.91.0000"]
_NAMES = [
    "Rosoboroneksport",  # OFAC SDN 18782
    "Kral Aviation",  # BIS Entity List
    "R o s n e f t",
    "Anadolu Elektronik Sanayi ve Ticaret A.Ş.",
    "Weber Maschinenbau GmbH",
    "Steppe Components LLP",
    "ООО Вектор",
    "Gulf Link FZE",
    "Ｓｂｅｒｂａｎｋ",
]

PARTIES = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from([r.value for r in PartyRole]),
            "name": st.sampled_from(_NAMES),
            "country": st.sampled_from(_PLACES),
        },
        optional={"residential_address": st.booleans()},
    ),
    min_size=1,
    max_size=5,
)


@pytest.fixture(scope="module")
def screen_party(screener: Screener) -> Callable[[Party], ScreeningResult]:
    """The real screener's result for each name, screened once (without the country, which
    only refines scores): the properties are the engine's, not the matcher's."""
    results = {name: screener.screen(name) for name in _NAMES}
    return lambda party: results[party.name or ""]


@FEW
@given(
    parties=PARTIES,
    route=st.lists(st.sampled_from(_PLACES), min_size=1, max_size=4),
    goods=st.lists(st.sampled_from(_HS).map(lambda c: {"hs_code": c}), max_size=3),
    order=st.randoms(use_true_random=False),
)
def test_the_decision_does_not_depend_on_the_order_of_parties_and_goods(
    screen_party: Callable[[Party], ScreeningResult],
    parties: list[dict[str, Any]],
    route: list[str],
    goods: list[dict[str, str]],
    order: Any,
) -> None:
    """With the route given (a route derived from the parties follows their order on
    purpose: intermediate consignees in the order listed)."""
    rules = load_ruleset()
    shipment = parse_shipment({"id": "P-1", "parties": parties, "route": route, "goods": goods})
    result = evaluate_shipment(shipment, rules, screen_party)
    shuffled_parties, shuffled_goods = list(parties), list(goods)
    order.shuffle(shuffled_parties)
    order.shuffle(shuffled_goods)
    shuffled = {"id": "P-1", "parties": shuffled_parties, "route": route, "goods": shuffled_goods}
    again = evaluate_shipment(parse_shipment(shuffled), rules, screen_party)
    assert again.decision == result.decision
    assert sorted(f.rule_id for f in again.findings) == sorted(f.rule_id for f in result.findings)
    assert all(f.message and "\n" not in f.message for f in result.findings)
    json.dumps(jsonable(result))  # the result is always serialisable
    if any(p["name"] == "Rosoboroneksport" for p in parties):
        assert result.decision is Decision.BLOCK  # a strong SDN hit blocks, whatever else


@FEW
@given(
    parties=PARTIES,
    route=st.lists(st.sampled_from(_PLACES), max_size=4),
    goods=st.lists(st.sampled_from(_HS).map(lambda c: {"hs_code": c}), max_size=3),
)
def test_more_parties_never_make_a_shipment_look_better(
    screen_party: Callable[[Party], ScreeningResult],
    parties: list[dict[str, Any]],
    route: list[str],
    goods: list[dict[str, str]],
) -> None:
    """Adding a party who is on a list can only make the decision worse (or keep it)."""
    rules = load_ruleset()
    base = {"id": "P-1", "parties": parties, "route": route, "goods": goods}
    result = evaluate_shipment(parse_shipment(base), rules, screen_party)
    listed = {"role": "end_user", "name": "Rosoboroneksport", "country": "RU"}
    worse = evaluate_shipment(
        parse_shipment({**base, "parties": [*parties, listed]}), rules, screen_party
    )
    assert worse.decision is Decision.BLOCK
    assert worse.decision.rank <= result.decision.rank


# -- spreadsheets ------------------------------------------------------------------------------


@SOME
@given(st.text())
def test_no_cell_can_start_a_formula(value: str) -> None:
    safe = spreadsheet_safe(value)
    assert safe in (value, "'" + value)
    if safe[:1] in ("=", "+", "-", "@", "\t", "\r"):
        float(safe)  # only a plain signed number is left as it is
