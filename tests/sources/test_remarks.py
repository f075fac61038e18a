"""The OFAC Remarks grammar, on real Remarks texts from the SDN and consolidated files."""

from __future__ import annotations

from screening.models import NameKind
from screening.sources._remarks import parse_remarks, split_items

# Real Remarks of SDN.CSV (2023-12-28), ent_nums 12436, 10632, 7163, 7940 and 7160.
CABO_VERDE = (
    "DOB 13 May 1967; alt. DOB 06 Jun 1970; POB Praia, Cabo Verde; nationality Cabo Verde; "
    "citizen Cabo Verde; alt. citizen Guinea-Bissau; Passport I066302 (Cabo Verde.  Previously "
    "Cape Verde.); alt. Passport CA0120780 (Guinea-Bissau) issued 08 Apr 2006 expires 07 Apr "
    "2009; National ID No. 16128971 (Cabo Verde.  Previously Cape Verde.); a.k.a. 'CHICO "
    "BARROS'."
)
KENYA = (
    "DOB 23 Jun 1976; POB Cairo, Egypt; citizen Egypt; alt. citizen Kenya; Kenyan ID No. "
    "12773667; Serial No. 201735161; a.k.a. 'HUSSEIN'; a.k.a. 'ANIS, Abu'; a.k.a. 'YUSSRR, "
    "Abu'; a.k.a. 'KHALID'."
)
FOOPIE = (
    "DOB 14 Mar 1974; alt. DOB 13 Apr 1974; alt. DOB 14 Apr 1974; alt. DOB 01 Aug 1970; POB "
    "Zanzibar, Tanzania; citizen Tanzania; a.k.a. 'AHMED, A.'; a.k.a. 'KHABAR, Abu'; a.k.a. "
    "'BAKR, Abu'; a.k.a. ''FOOPIE''; a.k.a. ''FUPI''; a.k.a. ''AHMED THE TANZANIAN''."
)
PALESTINIAN = (
    "DOB 01 Feb 1966; POB Hashmija, Iraq; nationality possibly Palestinian;arrested 23 Apr 2002; "
    "a.k.a. 'ABU ALI'."
)
ERITREA = (
    "DOB 1969; alt. DOB 10 Oct 1969; POB Xudur, Somalia; alt. POB Keren, Eritrea; nationality "
    "Eritrea; Passport 0310857 (Eritrea) issued 21 Aug 2006 expires 20 Aug 2008; National ID No. "
    "1372584 (Kenya); (Following data derived from an Eritrean passport issued under the alias "
    "name of Mukhtar Abdullahi Ali: Alt. DOB: 10 October 1969; Alt. POB: Keren Eritrea; "
    "nationality: Eritrean; National ID No.: 1372584, Kenya; Passport No.: 0310857, Eritrea, Issue "
    "Date 21 August 2006, Expire Date 20 August 2008); a.k.a. 'ABU MANSUR'; a.k.a. 'ABU MANSOUR'."
)


def test_items_and_the_closing_period() -> None:
    assert split_items(PALESTINIAN) == [
        "DOB 01 Feb 1966",
        "POB Hashmija, Iraq",
        "nationality possibly Palestinian",
        "arrested 23 Apr 2002",
        "a.k.a. 'ABU ALI'",
    ]
    assert split_items("Linked To: ROSNEFT OIL COMPANY.")[-1] == "Linked To: ROSNEFT OIL COMPANY"
    assert split_items("Linked To: T-RUBBER CO., LTD.")[-1] == "Linked To: T-RUBBER CO., LTD."
    assert split_items("Linked To: DIAMANTE S.A.")[-1] == "Linked To: DIAMANTE S.A."
    known = {"SAZEH MORAKAB CO. LTD"}
    assert split_items("Linked To: SAZEH MORAKAB CO. LTD.", known) == [
        "Linked To: SAZEH MORAKAB CO. LTD"
    ]


def test_documents_and_countries() -> None:
    facts = parse_remarks(CABO_VERDE)
    assert facts.dates_of_birth == ["13 May 1967", "06 Jun 1970"]
    assert facts.places_of_birth == ["Praia, Cabo Verde"]
    assert facts.nationalities == ["CV"]
    assert facts.citizenships == ["CV", "GW"]
    first, second, national = facts.ids
    assert (first.type, first.number, first.country) == ("Passport", "I066302", "CV")
    assert first.country_name == "Cabo Verde.  Previously Cape Verde."
    assert (second.number, second.country, second.issued, second.expires) == (
        "CA0120780",
        "GW",
        "08 Apr 2006",
        "07 Apr 2009",
    )
    assert (national.type, national.number) == ("National ID No.", "16128971")
    assert [(a.name, a.kind, a.weak) for a in facts.weak_aliases] == [
        ("CHICO BARROS", NameKind.AKA, True)
    ]


def test_labels_not_in_the_table_still_make_documents() -> None:
    facts = parse_remarks(KENYA)
    assert [(i.type, i.number) for i in facts.ids] == [
        ("Kenyan ID No.", "12773667"),
        ("Serial No.", "201735161"),
    ]
    assert facts.citizenships == ["EG", "KE"]
    assert [a.name for a in facts.weak_aliases] == ["HUSSEIN", "ANIS, Abu", "YUSSRR, Abu", "KHALID"]


def test_quoted_aliases_keep_their_apostrophes() -> None:
    facts = parse_remarks(FOOPIE)
    assert [a.name for a in facts.weak_aliases] == [
        "AHMED, A.",
        "KHABAR, Abu",
        "BAKR, Abu",
        "FOOPIE",
        "FUPI",
        "AHMED THE TANZANIAN",
    ]
    assert len(facts.dates_of_birth) == 4
    # Real names with an ayin keep it: a.k.a. ''ABD-AL-'IZ' -> 'ABD-AL-'IZ
    assert parse_remarks("a.k.a. ''ABD-AL-'IZ'").weak_aliases[0].name == "'ABD-AL-'IZ"


def test_unresolvable_nationality_stays_as_written() -> None:
    facts = parse_remarks(PALESTINIAN)
    assert facts.nationalities == ["possibly Palestinian"]
    assert facts.dates_of_birth == ["01 Feb 1966"]


def test_parenthetical_aside_is_not_parsed_twice() -> None:
    facts = parse_remarks(ERITREA)
    assert facts.dates_of_birth == ["1969", "10 Oct 1969"]
    assert facts.places_of_birth == ["Xudur, Somalia", "Keren, Eritrea"]
    assert facts.nationalities == ["ER"]
    assert [(i.type, i.number, i.country) for i in facts.ids] == [
        ("Passport", "0310857", "ER"),
        ("National ID No.", "1372584", "KE"),
    ]
    assert [a.name for a in facts.weak_aliases] == ["ABU MANSUR", "ABU MANSOUR"]


def test_entity_and_vessel_items() -> None:
    # Real remarks of ent_num 17016 (GAZPROMBANK, consolidated list), shortened.
    facts = parse_remarks(
        "SWIFT/BIC GAZPRUMM; Website www.gazprombank.ru; Secondary sanctions risk: See Section 11 "
        "of Executive Order 14024.; Organization Established Date 31 Jul 1990; Target Type "
        "Financial Institution; alt. Target Type State-Owned Enterprise; Tax ID No. 7744001497 "
        "(Russia); Legal Entity Number 253400WSS48YWMBUA688; Registration Number 1027700167110 "
        "(Russia)."
    )
    assert [(i.type, i.number, i.country) for i in facts.ids] == [
        ("SWIFT/BIC", "GAZPRUMM", None),
        ("Tax ID No.", "7744001497", "RU"),
        ("Legal Entity Number", "253400WSS48YWMBUA688", None),
        ("Registration Number", "1027700167110", "RU"),
    ]
    assert facts.details["website"] == ["www.gazprombank.ru"]
    assert facts.details["target_type"] == ["Financial Institution", "State-Owned Enterprise"]
    assert facts.details["organization_established_date"] == ["31 Jul 1990"]
    assert facts.details["sanctions_information"][0].startswith("Secondary sanctions risk")
    # ent_num 15036 (ARTAVIL), a vessel
    vessel = parse_remarks(
        "Vessel Registration Identification IMO 9187629; MMSI 572469210; f.k.a. 'ALPHA'; "
        "Linked To: NATIONAL IRANIAN TANKER COMPANY."
    )
    assert [(i.type, i.number) for i in vessel.ids] == [("IMO", "9187629"), ("MMSI", "572469210")]
    assert vessel.linked_to == ["NATIONAL IRANIAN TANKER COMPANY"]
    assert [(a.name, a.kind) for a in vessel.weak_aliases] == [("ALPHA", NameKind.FKA)]


def test_roles_and_notes_are_left_alone() -> None:
    facts = parse_remarks(
        "Member of the State Duma of the Federal Assembly; ICTY indictee; Doctor."
    )
    assert facts == parse_remarks(None)


def test_parenthesis_that_is_no_country_stays_in_the_number() -> None:
    # Real items of SDN.CSV: a Colombian chamber, a German court register, no space at all.
    facts = parse_remarks(
        "Matricula Mercantil No 818178-2 (Cali); Registration Number HRA 738077 (Stuttgart) "
        "(Germany); Registration Number IT022428/2014(G)."
    )
    assert [(i.number, i.country, i.country_name) for i in facts.ids] == [
        ("818178-2 (Cali)", None, None),
        ("HRA 738077 (Stuttgart)", "DE", "Germany"),
        ("IT022428/2014(G)", None, None),
    ]


def test_unclosed_parenthesis_does_not_hide_the_rest() -> None:
    facts = parse_remarks("(note without end; DOB 1969; Gender Male; a.k.a. 'ABU ALI'.")
    assert facts.dates_of_birth == ["1969"]
    assert facts.gender == "male"
    assert [a.name for a in facts.weak_aliases] == ["ABU ALI"]
