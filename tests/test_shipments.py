"""The shipment input model (normalisation, field-level errors) and the JSON/JSONL/CSV readers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from screening.errors import InputError
from screening.models import EntityType
from screening.shipments import (
    PartyRole,
    RecordError,
    Shipment,
    load_shipments,
    normalize_hs_code,
    parse_shipment,
    to_place,
)

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "seeds" / "samples"


def ship(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "S-1",
        "parties": [
            {"role": "exporter", "name": "Cascade Logic Devices Inc.", "country": "US"},
            {"role": "consignee", "name": "Steppe Components LLP", "country": "KZ"},
        ],
        "route": ["US", "KZ"],
        "goods": [{"hs_code": "8542.31", "description": "FPGA"}],
    }
    data.update(overrides)
    return data


def error_of(data: object) -> str:
    with pytest.raises(InputError) as info:
        parse_shipment(data)
    return str(info.value)


# -- countries, regions, roles -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("TR", "TR"),
        ("tr", "TR"),
        ("TUR", "TR"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("Kyrgyz Republic", "KG"),
        ("United Arab Emirates", "AE"),
        ("UAE", "AE"),
        ("Crimea", "UA-43"),
        ("Sevastopol", "UA-40"),
        ("ua-14", "UA-14"),
        ("Luhansk People's Republic", "UA-09"),
        ("Zaporozhye", "UA-23"),
    ],
)
def test_places_accept_codes_and_common_names(written: str, code: str) -> None:
    assert to_place(written) == code


def test_party_countries_and_route_are_normalised() -> None:
    s = parse_shipment(
        ship(
            parties=[
                {"role": "buyer", "name": "Bosphorus Elektronik", "country": "Türkiye"},
                {"role": "consignee", "name": "Tien Shan Trade", "country": "Kyrgyz Republic"},
            ],
            route=["United States", "Turkey", "kg", "Russian Federation"],
        )
    )
    assert [p.country for p in s.parties] == ["TR", "KG"]
    assert s.route == ["US", "TR", "KG", "RU"]


def test_an_occupied_region_given_as_country_becomes_country_and_region() -> None:
    s = parse_shipment(
        ship(parties=[{"role": "end_user", "name": "Krym Tekhnika", "country": "Crimea"}])
    )
    party = s.parties[0]
    assert (party.country, party.region, party.place) == ("UA", "UA-43", "UA-43")


def test_a_ukrainian_address_naming_an_occupied_region_sets_the_region() -> None:
    s = parse_shipment(
        ship(
            parties=[
                {
                    "role": "consignee",
                    "name": "Morskoy Servis",
                    "country": "Ukraine",
                    "address": "ul. Bolshaya Morskaya 12, Sevastopol",
                },
                {"role": "buyer", "name": "Kyiv Devices", "country": "UA", "address": "Kyiv"},
                # a Russian town of the same name is not the Ukrainian oblast
                {
                    "role": "payer",
                    "name": "Rostov Pay",
                    "country": "RU",
                    "address": "Donetsk, Rostov Oblast",
                },
            ]
        )
    )
    assert [p.place for p in s.parties] == ["UA-40", "UA", "RU"]


def test_a_region_outside_the_party_country_is_rejected() -> None:
    msg = error_of(
        ship(parties=[{"role": "buyer", "name": "X Ltd", "country": "RU", "region": "UA-43"}])
    )
    assert msg == "shipment S-1: parties[0]: region UA-43 is not in country RU"


def test_unknown_country_is_a_field_level_error() -> None:
    msg = error_of(
        ship(
            parties=[{"role": "buyer", "name": "X Ltd", "country": "Narnia"}],
            route=["US", "Atlantis"],
        )
    )
    assert "parties[0].country: 'Narnia' is not a country" in msg
    assert "route[1]: 'Atlantis' is not a country or region" in msg
    assert msg.startswith("shipment S-1: ")


@pytest.mark.parametrize(
    ("written", "role"),
    [
        ("end_user", PartyRole.END_USER),
        ("End User", PartyRole.END_USER),
        ("end-user", PartyRole.END_USER),
        ("FREIGHT FORWARDER", PartyRole.FREIGHT_FORWARDER),
        ("forwarder", PartyRole.FREIGHT_FORWARDER),
        ("Intermediate Consignee", PartyRole.INTERMEDIATE_CONSIGNEE),
    ],
)
def test_roles_accept_spelling_variants(written: str, role: PartyRole) -> None:
    s = parse_shipment(ship(parties=[{"role": written, "name": "X Ltd", "country": "DE"}]))
    assert s.parties[0].role is role


def test_unknown_role_names_the_known_roles() -> None:
    msg = error_of(ship(parties=[{"role": "shipper", "name": "X Ltd"}]))
    assert msg.startswith("shipment S-1: parties[0].role: 'shipper' is not a party role (exporter,")


def test_party_type_and_flags() -> None:
    s = parse_shipment(
        ship(
            parties=[
                {
                    "role": "buyer",
                    "name": "Ivan Petrov",
                    "type": "individual",
                    "residential_address": "yes",
                    "incorporated_on": "2023-01-05",
                }
            ]
        )
    )
    p = s.parties[0]
    assert p.incorporated_on is not None
    assert (p.type, p.residential_address, p.incorporated_on.isoformat()) == (
        EntityType.PERSON,
        True,
        "2023-01-05",
    )
    assert "not a party type" in error_of(
        ship(parties=[{"role": "buyer", "name": "X", "type": "robot"}])
    )
    assert "'maybe' is not true or false" in error_of(
        ship(parties=[{"role": "buyer", "name": "X", "residential_address": "maybe"}])
    )


def test_a_party_needs_a_name_or_a_country() -> None:
    assert error_of(ship(parties=[{"role": "payer"}])) == (
        "shipment S-1: parties[0]: a party needs a name or a country"
    )
    s = parse_shipment(ship(parties=[{"role": "payer", "country": "AE"}]))
    assert s.parties[0].name is None


# -- HS codes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    ["8542.31", "854231", "8542.31.0000", "8542 31 00 00", " 8542.31.00.00.11 ", "85423100"],
)
def test_hs_codes_are_matched_on_their_first_six_digits(written: str) -> None:
    s = parse_shipment(ship(goods=[{"hs_code": written}]))
    assert s.goods[0].hs6 == "854231"
    assert s.goods[0].hs_code == written.strip()


def test_an_integer_hs_code_is_accepted() -> None:
    assert parse_shipment(ship(goods=[{"hs_code": 845811}])).goods[0].hs6 == "845811"


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("85A2", "digits, dots and spaces only"),
        ("8542", "at least 6 digits"),
        ("8542-31", "digits, dots and spaces only"),
        ("", "no digits"),
        ("000123", "no chapter 00"),
        ("123456789012345", "more than 14 digits"),
        ("８５４２３１", "digits, dots and spaces only"),  # full-width digits
        ("08542.31", "5 digits before the first separator"),  # QA: read as chapter 08
        ("854.231", "3 digits before the first separator"),
    ],
)
def test_malformed_hs_codes_are_rejected_with_the_field(written: str, why: str) -> None:
    msg = error_of(ship(goods=[{"hs_code": written}]))
    assert msg.startswith(f"shipment S-1: goods[0].hs_code: {written!r} is not an HS code")
    assert why in msg


def test_the_issue_example_message() -> None:
    assert error_of(ship(goods=[{"hs_code": "85A2"}])) == (
        "shipment S-1: goods[0].hs_code: '85A2' is not an HS code (digits, dots and spaces only)"
    )


@given(st.text(max_size=40))
def test_hs_normalisation_raises_only_value_error(text: str) -> None:
    try:
        hs6 = normalize_hs_code(text)
    except ValueError:
        return
    assert len(hs6) == 6 and hs6.isascii() and hs6.isdigit()
    assert normalize_hs_code(hs6) == hs6


@given(
    st.dictionaries(
        st.sampled_from(["id", "parties", "route", "goods", "date", "extra"]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=12),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(["role", "name", "country", "hs_code", "region", "value"]),
                    inner,
                    max_size=4,
                )
            ),
            max_leaves=8,
        ),
    )
)
def test_arbitrary_records_give_a_shipment_or_an_input_error(data: dict[str, Any]) -> None:
    try:
        parse_shipment(data)
    except InputError as exc:
        assert str(exc)
        assert "\n" not in str(exc)


# -- other fields and errors -------------------------------------------------------------


def test_goods_numbers_and_currency() -> None:
    s = parse_shipment(
        ship(goods=[{"hs_code": "8542.31", "quantity": "200", "value": 48000, "currency": "usd"}])
    )
    assert (s.goods[0].quantity, s.goods[0].value, s.goods[0].currency) == (200, 48000, "USD")
    msg = error_of(ship(goods=[{"hs_code": "8542.31", "quantity": "lots", "value": -1}]))
    assert "goods[0].quantity: 'lots': input should be a valid number" in msg
    assert "goods[0].value: -1: input should be greater than or equal to 0" in msg
    assert "not an ISO 4217 currency code" in error_of(
        ship(goods=[{"hs_code": "8542.31", "currency": "dollars"}])
    )


def test_unknown_fields_and_missing_fields_are_named() -> None:
    msg = error_of(ship(goods=[{"hs_code": "8542.31", "hscode": "1"}]))
    assert msg == "shipment S-1: goods[0].hscode: unknown field"
    msg = error_of({"parties": [{"role": "buyer", "name": "X"}]})
    assert msg == "record 1: id: field required"
    assert error_of(ship(parties=[])).startswith("shipment S-1: parties: ")


def test_huge_values_do_not_make_huge_messages() -> None:
    msg = error_of(ship(goods=[{"hs_code": "8" * 1_000_000 + "x"}]))
    assert msg.startswith("shipment S-1: goods[0].hs_code: '888") and msg.endswith("…")
    assert len(msg) < 300
    assert error_of(ship(parties=[])) == (
        "shipment S-1: parties: list should have at least 1 item after validation, not 0"
    )


def test_many_errors_are_cut_to_five() -> None:
    msg = error_of(ship(goods=[{"hs_code": "x"} for _ in range(8)]))
    assert msg.count("is not an HS code") == 5
    assert msg.endswith("and 3 more")


def test_numeric_ids_are_text() -> None:
    assert parse_shipment(ship(id=1001)).id == "1001"


def test_the_route_is_derived_from_the_parties_when_missing() -> None:
    s = parse_shipment(
        ship(
            route=[],
            parties=[
                {"role": "end_user", "name": "E", "country": "RU"},
                {"role": "seller", "name": "S", "country": "DE"},
                {"role": "exporter", "name": "X", "country": "US"},
                {"role": "consignee", "name": "C", "country": "KZ"},
                {"role": "intermediate_consignee", "name": "I", "country": "TR"},
                {"role": "payer", "name": "P", "country": "AE"},
            ],
        )
    )
    assert s.route_is_derived
    assert s.effective_route() == ("US", "TR", "KZ", "RU")
    assert s.destination == "RU"


# -- files -------------------------------------------------------------------------------


def shipments(path: Path) -> list[Shipment | InputError]:
    return list(load_shipments(path))


def test_the_json_and_csv_samples_hold_the_same_shipments() -> None:
    from_json = shipments(SAMPLES / "shipments.json")
    from_csv = shipments(SAMPLES / "shipments.csv")
    assert all(isinstance(s, Shipment) for s in from_json)
    assert [s.id for s in from_json if isinstance(s, Shipment)] == [
        "S-1001",
        "S-1002",
        "S-1003",
        "S-1004",
        "S-1005",
        "S-1006",
    ]
    assert from_csv == from_json


def test_one_json_object_and_a_wrapped_array(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps(ship()), encoding="utf-8")
    assert [s.id for s in shipments(one) if isinstance(s, Shipment)] == ["S-1"]
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"shipments": [ship(), ship(id="S-2")]}), encoding="utf-8")
    assert [s.id for s in shipments(wrapped) if isinstance(s, Shipment)] == ["S-1", "S-2"]


def test_a_bad_record_does_not_stop_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mixed.json"
    bad = ship(id="S-2", goods=[{"hs_code": "85A2"}])
    path.write_text(json.dumps([ship(), bad, "nonsense", ship(id="S-4")]), encoding="utf-8")
    out = shipments(path)
    assert isinstance(out[0], Shipment) and isinstance(out[3], Shipment)
    assert isinstance(out[1], RecordError)
    assert (out[1].shipment_id, out[1].location) == ("S-2", "record 2")
    assert str(out[1]).startswith("shipment S-2: goods[0].hs_code: '85A2'")
    assert isinstance(out[2], RecordError)
    assert str(out[2]) == "record 3: a shipment must be a JSON object, not str"


def test_jsonl_goes_on_after_a_broken_line(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    lines = [json.dumps(ship()), "{not json", "", json.dumps(ship(id="S-3"))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = shipments(path)
    assert [type(x).__name__ for x in out] == ["Shipment", "RecordError", "Shipment"]
    assert str(out[1]).startswith("line 2: not valid JSON")


def test_jsonl_in_a_file_named_json_and_json_in_a_file_without_extension(tmp_path: Path) -> None:
    path = tmp_path / "lines.json"
    path.write_text(json.dumps(ship()) + "\n" + json.dumps(ship(id="S-2")) + "\n", encoding="utf-8")
    assert len([s for s in shipments(path) if isinstance(s, Shipment)]) == 2
    bare = tmp_path / "export"
    bare.write_text("\n  " + json.dumps([ship()]), encoding="utf-8")
    assert [s.id for s in shipments(bare) if isinstance(s, Shipment)] == ["S-1"]


def test_unreadable_files_raise_input_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("  \n", encoding="utf-8")
    with pytest.raises(InputError, match="the file is empty"):
        shipments(empty)
    broken = tmp_path / "broken.json"
    broken.write_text('[{"id": "S-1",', encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        shipments(broken)
    scalar = tmp_path / "scalar.json"
    scalar.write_text("42", encoding="utf-8")
    with pytest.raises(InputError, match="expected a shipment object or an array"):
        shipments(scalar)
    with pytest.raises(InputError, match="cannot read"):
        shipments(tmp_path / "missing.json")


def test_latin1_text_is_rejected_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    text = "shipment_id,buyer_name,hs_code\nS-1,Ege Makina,845811\nS-2,Büro Möbel,940139\n"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(InputError, match=r"line 3: not UTF-8 text"):
        shipments(path)


def test_utf16_and_utf8_byte_order_marks(tmp_path: Path) -> None:
    csv_text = (SAMPLES / "shipments.csv").read_text(encoding="utf-8")
    expected = shipments(SAMPLES / "shipments.csv")
    utf16 = tmp_path / "excel.csv"
    utf16.write_bytes(csv_text.encode("utf-16"))
    bom8 = tmp_path / "bom.csv"
    bom8.write_bytes(b"\xef\xbb\xbf" + csv_text.encode("utf-8"))
    assert shipments(utf16) == expected
    assert shipments(bom8) == expected


CSV_HEADER = (
    "shipment_id;route;hs_code;exporter_name;exporter_country;consignee_name;consignee_country"
)


def write_csv(tmp_path: Path, *rows: str, header: str = CSV_HEADER) -> Path:
    path = tmp_path / "erp.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_csv_rows_are_grouped_by_shipment_id_even_when_apart(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "A-1;DE>TR;8542.31;Weber GmbH;DE;Ege Makina;TR",
        "B-2;DE>FR;6109.10;Weber GmbH;DE;Maison Lefevre;FR",
        "A-1;;8532.24;;;;",  # shipment cells given once are enough
    )
    out = shipments(path)
    assert [s.id for s in out if isinstance(s, Shipment)] == ["A-1", "B-2"]
    first = out[0]
    assert isinstance(first, Shipment)
    assert [g.hs6 for g in first.goods] == ["854231", "853224"]
    assert first.route == ["DE", "TR"]
    assert [(p.role, p.name) for p in first.parties] == [
        (PartyRole.EXPORTER, "Weber GmbH"),
        (PartyRole.CONSIGNEE, "Ege Makina"),
    ]


def test_csv_conflicting_shipment_cells_reject_that_shipment_only(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "A-1;DE>TR;8542.31;Weber GmbH;DE;Ege Makina;TR",
        "A-1;DE>TR;8532.24;Weber GmbH;DE;Other Buyer;TR",
        "B-2;DE>FR;6109.10;Weber GmbH;DE;Maison Lefevre;FR",
    )
    out = shipments(path)
    assert isinstance(out[0], RecordError)
    assert str(out[0]) == (
        "shipment A-1: row 3: consignee_name 'Other Buyer' differs from 'Ege Makina' (row 2)"
    )
    assert (out[0].shipment_id, out[0].location) == ("A-1", "rows 2, 3")
    assert isinstance(out[1], Shipment)


def test_csv_goods_errors_name_the_row(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "A-1;DE>TR;8542.31;Weber GmbH;DE;Ege Makina;TR",
        "A-1;;85A2;;;;",
    )
    (err,) = shipments(path)
    assert str(err) == (
        "shipment A-1: row 3: hs_code: '85A2' is not an HS code (digits, dots and spaces only)"
    )


def test_csv_rows_without_id_or_with_extra_cells_are_rejected_and_reading_goes_on(
    tmp_path: Path,
) -> None:
    path = write_csv(
        tmp_path,
        ";DE>TR;8542.31;Weber GmbH;DE;Ege Makina;TR",
        "A-1;DE>TR;8542.31;Weber GmbH;DE;Ege Makina;TR;surplus",
        "B-2;DE>FR;6109.10;Weber GmbH;DE;Maison Lefevre;FR",
        ";;;;;;",
    )
    out = shipments(path)
    assert [str(e) for e in out if isinstance(e, InputError)] == [
        "row 2: shipment_id: empty",
        "row 3: 8 cells but 7 columns",
    ]
    assert [s.id for s in out if isinstance(s, Shipment)] == ["B-2"]


def test_csv_party_columns_with_an_unknown_role_are_an_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "A-1;;;;;", header="shipment_id;customer_name;hs_code;x;y;z")
    with pytest.raises(InputError, match="'customer' is not a party role"):
        shipments(path)
    path = write_csv(tmp_path, "A-1;X", header="shipment_id;consigne_country")
    with pytest.raises(InputError, match="'consigne' is not a party role"):
        shipments(path)


@pytest.mark.parametrize("column", ["end_user_ctry", "payer_countries", "buyer_incorporated"])
def test_csv_party_columns_with_an_unknown_field_are_an_error(tmp_path: Path, column: str) -> None:
    # QA: the column was dropped silently, and a BLOCK became a REVIEW.
    path = write_csv(tmp_path, "A-1,X,8542.31", header=f"shipment_id,{column},hs_code")
    with pytest.raises(InputError, match=rf"column '{column}': '\w+' is not a party field"):
        shipments(path)


@pytest.mark.parametrize("value", ["Infinity", 1e999, "inf", "-Infinity"])
def test_an_infinite_goods_value_is_refused(value: object) -> None:
    # QA: "Infinity" passed, and the JSON output and audit record then failed (exit 9).
    msg = error_of(ship(goods=[{"hs_code": "8542.31", "value": value}]))
    assert msg.startswith("shipment S-1: goods[0].value: ")
    msg = error_of(ship(goods=[{"hs_code": "8542.31", "quantity": value}]))
    assert msg.startswith("shipment S-1: goods[0].quantity: ")


def test_csv_needs_a_shipment_id_column_and_ignores_unrelated_columns(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no shipment_id column"):
        shipments(write_csv(tmp_path, "x", header="order,hs_code"))
    path = write_csv(
        tmp_path,
        "A-1,DE>FR,6109.10,Weber GmbH,DE,42,blue",
        header="Shipment ID,Route,HS Code,Exporter Name,exporter_country,line_no,colour",
    )
    (s,) = shipments(path)
    assert isinstance(s, Shipment)
    assert s.parties[0].name == "Weber GmbH"


def test_csv_route_separators(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "A-1,US → TR | KZ ; RU,8542.31,X Inc,US",
        header="shipment_id,route,hs_code,exporter_name,exporter_country",
    )
    (s,) = shipments(path)
    assert isinstance(s, Shipment)
    assert s.route == ["US", "TR", "KZ", "RU"]
