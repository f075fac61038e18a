"""Shipment files (``screening shipment``, ``screening.shipments.load_shipments``) that arrive
broken: wrong encodings, binary data, missing columns, names the screener cannot screen. A bad
record costs that record, never the file's other shipments; CSV files are read in two streaming
passes, so memory does not hold the rows.
"""

from __future__ import annotations

import json
import random
import tracemalloc
from pathlib import Path

import pytest
from hardening_helpers import Cli

from screening.errors import InputError
from screening.shipments import RecordError, Shipment, load_shipments

SAMPLES = Path(__file__).resolve().parents[2] / "seeds" / "samples"
KRAL = "642e3dd75e5b5e79cb71246c58e18eed7db51aba36595344322396f8"


def load(path: Path) -> list[Shipment | InputError]:
    return list(load_shipments(path))


def ids(items: list[Shipment | InputError]) -> list[str]:
    return [s.id for s in items if isinstance(s, Shipment)]


def errors(items: list[Shipment | InputError]) -> list[str]:
    return [str(e) for e in items if isinstance(e, InputError)]


def ship(sid: str, buyer: str, country: str = "TR") -> dict[str, object]:
    return {
        "id": sid,
        "route": ["DE", country],
        "parties": [
            {"role": "exporter", "name": "Weber Maschinenbau GmbH", "country": "DE"},
            {"role": "buyer", "name": buyer, "country": country},
        ],
        "goods": [{"hs_code": "8542.31"}],
    }


@pytest.mark.parametrize("sample", ["shipments.csv", "shipments.json"])
@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [
        ("utf-8", b"\xef\xbb\xbf"),
        ("utf-16", b""),  # with a byte-order mark
        ("utf-16-le", b""),  # without one: recognised by its zero bytes
        ("utf-16-be", b""),
    ],
)
def test_unicode_encodings_give_the_same_shipments(
    tmp_path: Path, sample: str, encoding: str, prefix: bytes
) -> None:
    original = SAMPLES / sample
    path = tmp_path / sample
    path.write_bytes(prefix + original.read_text(encoding="utf-8").encode(encoding))
    got = load(path)
    assert got == load(original)
    assert len(ids(got)) == 6


@pytest.mark.parametrize("sample", ["shipments.csv", "shipments.json"])
def test_windows_1252_is_refused_with_the_line(tmp_path: Path, sample: str) -> None:
    text = (SAMPLES / sample).read_text(encoding="utf-8")
    path = tmp_path / sample
    path.write_bytes(text.encode("cp1252", errors="replace"))
    first_bad = next(n for n, line in enumerate(text.splitlines(), start=1) if not line.isascii())
    with pytest.raises(InputError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}: line {first_bad}: not UTF-8 text (")
    assert str(err.value).endswith("save the file as UTF-8")


def test_a_csv_with_a_bad_line_is_refused_before_any_shipment(tmp_path: Path) -> None:
    """The first pass reads the whole file: no shipment is screened from a file that turns out
    to be unreadable further down."""
    text = (SAMPLES / "shipments.csv").read_text(encoding="utf-8")
    path = tmp_path / "s.csv"
    path.write_bytes(text.encode("utf-8") + b"S-9,2026-11-02,DE>TR,8542.31\n" + b"\xff\n")
    items = load_shipments(path)
    with pytest.raises(InputError, match="not UTF-8 text"):
        next(items)


@pytest.mark.parametrize(
    "content",
    [
        random.Random(3).randbytes(4000),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + bytes(range(256)) * 4,  # an .xlsx
    ],
    ids=["random", "png", "xlsx"],
)
@pytest.mark.parametrize("suffix", [".csv", ".json", ".jsonl"])
def test_binary_data_is_refused(tmp_path: Path, content: bytes, suffix: str) -> None:
    path = tmp_path / f"shipments{suffix}"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        load(path)
    assert str(err.value) == f"{path}: binary data, not a JSON, JSON Lines or CSV text file"


def test_missing_and_extra_columns(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("order_no,buyer_name,hs_code\nA-1,Ege Makina,845811\n", encoding="utf-8")
    with pytest.raises(InputError, match="no shipment_id column"):
        load(path)
    path.write_text(
        "shipment_id,buyer_name,buyer_country,hs_code\n"
        "A-1,Ege Makina,TR,845811,surplus\n"
        "B-2,Kral Aviation,TR,880730\n"
        "C-3,,TR\n",  # a buyer without a name (a party may have only a country)
        encoding="utf-8",
    )
    got = load(path)
    assert errors(got) == ["row 2: 5 cells but 4 columns"]
    assert ids(got) == ["B-2", "C-3"]
    third = got[-1]
    assert isinstance(third, Shipment) and third.parties[0].name is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("!!!", "'!!!' has no letters or digits to screen"),
        ("\u200b\u200d", "has no letters or digits to screen"),  # only invisible characters
        ("x" * (1024 * 1024), "longer than 1000 characters (1,048,576)"),
    ],
    ids=["punctuation", "invisible", "1MB"],
)
def test_a_party_name_the_screener_cannot_screen_rejects_its_shipment_only(
    tmp_path: Path, name: str, why: str
) -> None:
    path = tmp_path / "s.jsonl"
    records = [ship("S-1", "Ege Makina"), ship("S-2", name), ship("S-3", "Kral Aviation")]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    got = load(path)
    assert ids(got) == ["S-1", "S-3"]
    (err,) = [e for e in got if isinstance(e, InputError)]
    assert isinstance(err, RecordError)
    assert (err.shipment_id, err.location) == ("S-2", "line 2")
    assert str(err).startswith("shipment S-2: parties[1].name: ")
    assert why in str(err)
    assert len(str(err)) < 300


def test_the_name_limit_is_the_screeners() -> None:
    from screening.screener import MAX_NAME_LENGTH as SCREENER_LIMIT
    from screening.shipments import MAX_NAME_LENGTH

    assert MAX_NAME_LENGTH == SCREENER_LIMIT


def test_csv_rows_interleaved_are_grouped_in_order_of_first_appearance(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "\n\n"  # blank lines before the header
        "shipment_id,route,hs_code,buyer_name,buyer_country\n"
        "A,DE>TR,8542.31,Ege Makina,TR\n"
        "B,DE>FR,6109.10,Maison Lefevre,FR\n"
        "A,,8532.24,,\n"
        ",,8532.24,,\n"
        "C,DE>KZ,8542.31,Steppe LLP,KZ\n"
        "B,,6109.20,,\n",
        encoding="utf-8",
    )
    got = load(path)
    assert [getattr(s, "id", None) for s in got] == ["A", None, "B", "C"]  # A ends at row 6
    assert errors(got) == ["row 7: shipment_id: empty"]
    a, b = got[0], got[2]
    assert isinstance(a, Shipment) and isinstance(b, Shipment)
    assert [g.hs6 for g in a.goods] == ["854231", "853224"]
    assert [g.hs6 for g in b.goods] == ["610910", "610920"]


def csv_shipments(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("shipment_id,route,hs_code,exporter_name,exporter_country,buyer_name\n")
        for i in range(n):
            out.write(f"S-{i},US>TR,8542.31,Cascade Logic Inc,US,Bosphorus Number {i} Ltd\n")


def peak_memory(path: Path) -> tuple[int, int]:
    """(shipments read, peak bytes allocated), after a warm-up that loads the reference
    tables every shipment needs (countries, name normalisation)."""
    load(SAMPLES / "shipments.csv")
    tracemalloc.start()
    try:
        n = sum(1 for item in load_shipments(path) if isinstance(item, Shipment))
        return n, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_csv_shipments_stream(tmp_path: Path) -> None:
    """6,000 one-row shipments: about a hundred bytes each for the id pass, not the rows (held
    whole they took 1.4 kB a row, 8 MB here)."""
    path = tmp_path / "erp.csv"
    csv_shipments(path, 6_000)
    n, peak = peak_memory(path)
    assert n == 6_000
    assert peak < 2_000_000


def test_jsonl_shipments_stream(tmp_path: Path) -> None:
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    for path, n in ((small, 500), (large, 5_000)):
        with path.open("w", encoding="utf-8") as out:
            for i in range(n):
                out.write(json.dumps(ship(f"S-{i}", f"Buyer Number {i}")) + "\n")
    (n_small, peak_small), (n_large, peak_large) = peak_memory(small), peak_memory(large)
    assert (n_small, n_large) == (500, 5_000)
    assert peak_large < peak_small * 1.5 + 50_000


# -- through the CLI ---------------------------------------------------------------------------


def test_shipment_cli_a_hostile_record_does_not_hide_the_listed_party_after_it(
    tmp_path: Path, cli: Cli
) -> None:
    path = tmp_path / "s.jsonl"
    records = [
        ship("S-1", "Rosoboroneksport", "RU"),
        ship("S-2", "!!!"),
        ship("S-3", "A" * (1024 * 1024)),
        "not a shipment",
        ship("S-5", "Kral Aviation"),
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + "{broken\n", encoding="utf-8")
    code, out, err = cli("shipment", path, "--json")
    results = [json.loads(line) for line in out.splitlines()]
    screened = {r["shipment_id"]: r for r in results if "shipment_id" in r}
    assert set(screened) == {"S-1", "S-5"}
    assert screened["S-5"]["decision"] == "block"
    hits = [h for p in screened["S-5"]["parties"] for h in p["hits"]]
    assert any(h["entry_id"] == KRAL for h in hits)
    rejected = [r for r in results if "error" in r]
    assert [r["id"] for r in rejected] == ["S-2", "S-3", None, None]
    error_lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 4
    assert all(len(line) < 400 for line in error_lines)
    assert "Traceback" not in out + err
    assert code == 4  # a block outranks the rejected records


def test_shipment_cli_utf16_without_bom(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "erp.csv"
    text = (SAMPLES / "shipments.csv").read_text(encoding="utf-8")
    path.write_bytes(text.encode("utf-16-le"))
    code, out, err = cli("shipment", path)
    assert "6 shipment(s): " in out and "0 rejected" in out
    assert "error" not in err
    assert code == 4


def test_shipment_cli_binary_file_is_one_line_and_exit_2(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "shipments.json"
    path.write_bytes(random.Random(4).randbytes(2000))
    code, out, err = cli("shipment", path)
    assert (code, out) == (2, "")
    assert err.strip() == f"error: {path}: binary data, not a JSON, JSON Lines or CSV text file"


def test_a_jsonl_record_that_is_not_utf8_is_rejected_on_its_own(tmp_path: Path) -> None:
    """QA: Latin-1 bytes on line 5 of a JSON Lines file ended the run after four decisions
    were shown (exit 2, no output file, no audit record); each record stands on its own."""
    records = json.loads((SAMPLES / "shipments.json").read_text(encoding="utf-8"))
    lines = [json.dumps(r, ensure_ascii=False).encode("utf-8") for r in records]
    lines[4] = json.dumps(records[4], ensure_ascii=False).encode("latin-1", errors="replace")
    lines[4] = lines[4].replace(b'"id": "', b'"id": "\xe9', 1)
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    got = list(load_shipments(path))
    assert [g.id for g in got if not isinstance(g, InputError)] == [
        r["id"] for i, r in enumerate(records) if i != 4
    ]
    (bad,) = [g for g in got if isinstance(g, InputError)]
    assert str(bad).startswith("line 5: not UTF-8 text (")
