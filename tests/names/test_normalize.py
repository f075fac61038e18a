"""Normalisation: a listed name and its real-world spellings meet in one form."""

from __future__ import annotations

import pytest

from screening.names.knowledge import knowledge
from screening.names.normalize import clean, normalize_text, parse_name, to_latin
from screening.names.phonetic import phonetic_key, skeleton


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Roso\u200bboron\u00adeksport", "Rosoboroneksport"),  # zero-width space, soft hyphen
        ("Ros\u200d\u200cnef\u2060t", "Rosneft"),  # ZWJ, ZWNJ, word joiner
        ("\u202eRosneft\u202c", "Rosneft"),  # bidi override
        ("\ufeffGazprom", "Gazprom"),  # BOM
        ("ＲＯＳＮＥＦＴ", "ROSNEFT"),  # full-width letters (NFKC)
        ("R\u0336osneft", "Rosneft"),  # a combining overlay
    ],
)
def test_clean_removes_invisible_and_format_characters(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_homoglyphs_inside_latin_words_are_folded_not_transliterated() -> None:
    # Cyrillic а, о, е, р, с, у, х, К in Latin words: read as the letters they imitate.
    assert normalize_text("Rоsоbоrоnеksроrt") == ["rosoboroneksport"]
    assert normalize_text("Azia Shipping Сomрanу") == ["azia", "shipping", "company"]
    assert normalize_text("Maхim Кartvеlishvili") == ["maxim", "kartvelishvili"]


def test_cyrillic_words_are_transliterated() -> None:
    assert normalize_text("Рособоронэкспорт") == ["rosoboroneksport"]
    assert normalize_text("Шойгу Сергей Кужугетович") == ["shoygu", "sergey", "kuzhugetovich"]
    # Ukrainian, Kazakh letters
    assert normalize_text("Їжак Қазақстан") == ["izhak", "qazaqstan"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Yılmaz Ülker A.Ş.", ["yilmaz", "ulker", "a", "s"]),  # Turkish dotless i, umlauts
        ("İSTANBUL", ["istanbul"]),
        ("Çəmənzəminli", ["cemenzeminli"]),  # Azerbaijani schwa
        ("Ελληνικά", ["ellinika"]),  # Greek
        ("Հայաստան", ["hayastan"]),  # Armenian
        ("საქართველო", ["sakartvelo"]),  # Georgian
        ("合联电子", ["he", "lian", "dian", "zi"]),  # CJK: one syllable a part
    ],
)
def test_other_scripts_are_transliterated(raw: str, expected: list[str]) -> None:
    assert normalize_text(raw) == expected


def test_letter_spacing_is_joined() -> None:
    assert normalize_text("R o s n e f t") == ["rosneft"]
    assert normalize_text("R.O.S.N.E.F.T. Oil") == ["rosneft", "oil"]


def test_apostrophes_do_not_split_names() -> None:
    assert normalize_text("RA'D, Muhammad") == ["rad", "muhammad"]
    assert normalize_text("Кузьма") == ["kuzma"]  # soft sign


def test_person_names_in_natural_order_with_roles() -> None:
    parts = parse_name("SHOYGU, Sergey Kuzhugetovich", person=True, listed=True)
    assert parts.tokens == ("sergey", "kuzhugetovich", "shoygu")
    assert parts.roles == ("g", "m", "s")


def test_titles_leave_screened_person_names_unless_nothing_else_is_left() -> None:
    assert parse_name("HAMID, Sheikh Ahmad", person=True).tokens == ("ahmad", "hamid")
    # A list name keeps its title as its first given name: "Sheikh Hamid" and "Ahmad Hamid"
    # are both how people write it (the title weighs little in the score).
    listed = parse_name("HAMID, Sheikh Ahmad", person=True, listed=True)
    assert listed.tokens == ("sheikh", "ahmad", "hamid")
    assert listed.roles == ("g", "m", "s")
    # "Prince" is the given name here, not a title.
    assert parse_name("JOHNSON, Prince", person=True, listed=True).tokens == (
        "prince",
        "johnson",
    )


@pytest.mark.parametrize(
    "variant",
    [
        "ROMASHKA, OOO",
        "ООО «Ромашка»",
        "Romashka LLC",
        "Limited Liability Company Romashka",
        "Obshchestvo s Ogranichennoi Otvetstvennostyu Romashka",
        "TOO Romashka",
        "MChJ Romashka",
        "Romashka Limited Sirketi",
        "Romashka Ltd. Şti.",
    ],
)
def test_legal_forms_of_a_limited_liability_company_meet(variant: str) -> None:
    parts = parse_name(variant)
    assert parts.tokens == ("romashka",)
    assert parts.legal == frozenset({"llc"})


@pytest.mark.parametrize(
    ("variant", "code"),
    [
        ("JSC Radiozavod", "jsc"),
        ("АО «Радиозавод»", "jsc"),
        ("Radiozavod Joint Stock Company", "jsc"),
        ("PJSC Radiozavod", "pjsc"),
        ("ПАО Радиозавод", "pjsc"),
        ("Radiozavod Public Joint Stock Company", "pjsc"),
        ("Radiozavod Co., Ltd.", "ltd"),
        ("Radiozavod Company Limited", "ltd"),
        ("Radiozavod A.Ş.", "as"),
        ("Radiozavod Anonim Şirketi", "as"),
        ("Radiozavod FZE", "fze"),
        ("Radiozavod FZCO", "fze"),
        ("Radiozavod FZ-LLC", "fze"),
        ("Radiozavod GmbH", "gmbh"),
    ],
)
def test_legal_form_equivalents(variant: str, code: str) -> None:
    parts = parse_name(variant)
    assert parts.tokens == ("radiozavod",)
    assert parts.legal == frozenset({code})


def test_a_name_that_is_only_a_legal_form_keeps_it() -> None:
    assert parse_name("AO").tokens == ("ao",)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # The longer of two overlapping legal forms wins: an LLC, not "Co. Ltd." and two words.
        ("DAFENG ASIA CO Limited Liability Company", "DAFENG ASIA CO LLC"),
        ("UNITED ARCTIC COMPANY Limited Liability Company", "UNITED ARCTIC COMPANY LLC"),
        # A legal form with an abbreviated word: FREE ZONE Co. is a Free Zone Company.
        ("HAMRIYAH STEEL FREE ZONE Co.", "HAMRIYAH STEEL FREE ZONE COMPANY"),
        # Ukrainian private joint-stock company (приватне акціонерне товариство).
        ("ПрАТ «Мако Холдинг»", "AO Mako Kholding"),
    ],
)
def test_legal_forms_read_alike_whatever_the_spelling(a: str, b: str) -> None:
    assert parse_name(a) == parse_name(b)
    assert parse_name(a).legal


def test_abbreviations_are_written_out() -> None:
    assert parse_name("Danoush Trading Co").tokens == ("danoush", "trading", "company")
    assert parse_name("Acme Intl").tokens == ("acme", "international")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("sergey", "sergei"),
        ("zhukov", "jukoff"),
        ("shcherbakov", "scherbakoff"),
        ("tsarev", "tzareff"),
        ("dvoinykh", "dvoinyh"),
        ("yakub", "iakub"),
        ("electronic", "elektronik"),
    ],
)
def test_transliteration_variants_share_a_phonetic_key(a: str, b: str) -> None:
    assert phonetic_key(a) == phonetic_key(b)


def test_skeleton_keeps_consonants() -> None:
    assert skeleton(phonetic_key("sergey")) == "srg"
    assert skeleton(phonetic_key("ali")) == "ali"  # too short to strip


def test_given_name_variants_are_data() -> None:
    kb = knowledge()
    assert kb.given_name["sergei"] == kb.given_name["sergey"]
    assert kb.given_name["mohammed"] == kb.given_name["muhammad"] == kb.given_name["mohamed"]
    assert kb.given_name["yusuf"] == kb.given_name["youssef"]
    assert kb.given_name["aleksandr"] == kb.given_name["alexander"]


def test_to_latin_keeps_ascii_untouched() -> None:
    assert to_latin("Plain ASCII, Ltd.") == "Plain ASCII, Ltd."


def test_a_correction_is_kept_only_where_it_completes_a_legal_form() -> None:
    fixes = {"lnability": "liability", "stak": "stock"}.get

    def correct(token: str) -> str:
        return fixes(token) or token

    parts = parse_name("Limited LNability Company Stak Holdings", correct=correct)
    assert parts.tokens == ("stak", "holdings")  # "stak" is left as written
    assert parts.legal == {"llc"}
    assert parse_name("Stak Holdings", correct=correct).tokens == ("stak", "holdings")
