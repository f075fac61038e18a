"""Batch input files (``screening batch``, ``screening.inputs.read_rows``) that arrive broken.

Wrong encodings, missing or extra columns, empty and absurd names, binary garbage, over-long
lines: every row is screened or rejected with its line and a reason, a file that cannot be read
at all is refused with one line, and reading streams (memory does not grow with the file).
"""

from __future__ import annotations

import json
import random
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hardening_helpers import Cli

from screening.errors import InputError
from screening.inputs import LINE_LIMIT, RowProblem, read_rows
from screening.screener import _LOOKAHEAD, MAX_NAME_LENGTH, BatchRow, RejectedRow, Screener

ROWS = [
    ("1", "Rosoboroneksport", "RU"),
    ("2", "Müller Maschinenbau GmbH", "DE"),
    ("3", "Société Générale", "FR"),
    ("4", "Kral Aviation Ltd Şti", "TR"),
    ("5", "Рособоронэкспорт", "RU"),
]
CSV_TEXT = "id,name,country\r\n" + "".join(f"{i},{n},{c}\r\n" for i, n, c in ROWS)


def rows_of(path: Path, **kw: object) -> list[BatchRow | RowProblem]:
    return list(read_rows(path, **kw))  # type: ignore[arg-type]


def names(items: list[BatchRow | RowProblem]) -> list[str]:
    return [r.name for r in items if isinstance(r, BatchRow)]


def problems(items: list[BatchRow | RowProblem]) -> list[tuple[int, str]]:
    return [(r.line, r.message) for r in items if isinstance(r, RowProblem)]


# -- encodings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [
        ("utf-8", b""),
        ("utf-8", b"\xef\xbb\xbf"),  # Excel's "CSV UTF-8"
        ("utf-16", b""),  # with its byte-order mark (Excel's "Unicode text")
        ("utf-16-le", b""),  # without one
        ("utf-16-be", b""),
    ],
)
def test_unicode_encodings_read_the_same_rows(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(prefix + CSV_TEXT.encode(encoding))
    warnings: list[str] = []
    got = rows_of(path, warn=warnings.append)
    assert names(got) == [n for _, n, _ in ROWS]
    assert [r.country for r in got if isinstance(r, BatchRow)] == [c for _, _, c in ROWS]
    assert warnings == []


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_a_windows_1252_file_is_read_with_a_warning(tmp_path: Path, encoding: str) -> None:
    latin = [r for r in ROWS if r[0] in ("1", "2", "3")]  # no Ş, no Cyrillic in Windows-1252
    text = "id,name,country\n" + "".join(f"{i},{n},{c}\n" for i, n, c in latin)
    path = tmp_path / "excel.csv"
    path.write_bytes(text.encode(encoding))
    warnings: list[str] = []
    got = rows_of(path, warn=warnings.append)
    assert names(got) == [n for _, n, _ in latin]
    assert warnings == [f"{path}: not valid UTF-8; read as Windows-1252 (Latin-1)"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_windows_1252_line_deep_in_a_utf8_file_does_not_stop_it(
    tmp_path: Path, suffix: str
) -> None:
    """Two exports pasted together: the bad bytes come after the part that was sniffed."""
    n = 6000  # well past the first 64 KiB
    if suffix == ".csv":
        lines = ["id,name"] + [f"{i},Ünal Name Number {i}" for i in range(n)]
    else:
        lines = [
            json.dumps({"id": i, "name": f"Ünal Name Number {i}"}, ensure_ascii=False)
            for i in range(n)
        ]
    head = "\n".join(lines[: n - 10]) + "\n"
    tail = "\n".join(lines[n - 10 :]) + "\n"
    path = tmp_path / f"pasted{suffix}"
    path.write_bytes(head.encode("utf-8") + tail.encode("cp1252"))
    assert len(head.encode()) > 64 * 1024
    warnings: list[str] = []
    got = rows_of(path, warn=warnings.append)
    assert len(got) == n and not problems(got)
    assert names(got)[-1] == f"Ünal Name Number {n - 1}"  # decoded, not mangled
    first_bad = n - 10 + 1  # head holds lines[: n - 10]
    assert warnings == [
        f"{path}: line {first_bad} is not valid UTF-8; its odd bytes were read as "
        "Windows-1252 (Latin-1)"
    ]


def test_broken_utf16_fails_the_file_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(CSV_TEXT.encode("utf-16") + b"\x00\xd8")  # a lone high surrogate
    with pytest.raises(InputError) as err:
        rows_of(path)
    assert str(err.value).startswith(f"{path}: undecodable text")
    assert "\n" not in str(err.value)


# -- columns -----------------------------------------------------------------------------------


def test_missing_name_column(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,company,country\n1,Rosneft,RU\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"the header has no 'name' column \(found: id, company"):
        rows_of(path)


def test_a_hostile_header_is_shown_without_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,\x1b[31mred\x1b[0m,x\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        rows_of(path)
    assert "\x1b" not in str(err.value)
    assert "?[31mred?[0m" in str(err.value)


def test_extra_and_missing_cells(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        "id,name,country\n"
        "1,Rosneft,RU,surplus\n"  # an extra value: rejected
        "2,Sberbank,RU,,\n"  # empty extra cells (a spreadsheet's trailing commas): fine
        "3,Kral Aviation\n"  # a missing country: fine
        "4\n",  # no name at all
        encoding="utf-8",
    )
    got = rows_of(path)
    assert names(got) == ["Sberbank", "Kral Aviation"]
    assert problems(got) == [(2, "4 fields where the header has 3"), (5, "name is empty")]
    assert [r.id for r in got] == ["1", "2", "3", "4"]


def test_extra_columns_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("ID,Name,Customer No,Note\n1,Rosneft,C-9,=cmd\n", encoding="utf-8")
    (row,) = rows_of(path)
    assert isinstance(row, BatchRow)
    assert row.model_extra == {"Customer No": "C-9", "Note": "=cmd"}  # as spelt in the header


# -- names -------------------------------------------------------------------------------------


def test_empty_absurd_and_binary_names_are_rejected_per_row(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    records = [
        {"id": "a", "name": "Rosneft"},
        {"id": "b", "name": ""},
        {"id": "c", "name": "   "},
        {"id": "d", "name": None},
        {"id": "e", "name": 42},
        {"id": "f", "name": "x" * (1024 * 1024)},  # a 1 MB name
        {"id": "g", "name": "Ros\x00neft"},
        {"id": "h"},
        {"id": "i", "name": "Sberbank"},
    ]
    text = "".join(json.dumps(r) + "\n" for r in records) + "[1, 2]\nnot json\n"
    path.write_text(text, encoding="utf-8")
    got = rows_of(path)
    assert names(got) == ["Rosneft", "Sberbank"]
    assert problems(got) == [
        (2, "name is empty"),
        (3, "name is empty"),
        (4, "name is empty"),
        (5, "name must be text"),
        (6, f"name is longer than {MAX_NAME_LENGTH} characters"),
        (7, "name contains binary data"),
        (8, "name is empty"),
        (10, "not a JSON object"),
        (11, "not JSON: Expecting value"),
    ]


def test_huge_fields_and_lines_cost_one_row_not_the_file(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        "id,name\n"
        "1,Rosneft\n"
        f"2,{'A' * (1024 * 1024)}\n"  # 1 MB name: too long to screen
        f"3,{'B' * (5 * 1024 * 1024)}\n"  # 5 MB: more than the CSV field limit
        f"4,{'C' * (LINE_LIMIT + 10)}\n"  # longer than a line may be: skipped unread
        "5,Sberbank\n",
        encoding="utf-8",
    )
    got = rows_of(path)
    assert names(got) == ["Rosneft", "Sberbank"]
    assert [r.id for r in got] == ["1", "2", "3", "4", "5"]
    (long_name, big_field, long_line) = [r for r in got if isinstance(r, RowProblem)]
    assert long_name.message == f"name is longer than {MAX_NAME_LENGTH} characters"
    assert big_field.message.startswith("malformed CSV: field larger than field limit")
    assert long_line.line == 5
    assert long_line.message == f"line longer than {LINE_LIMIT:,} characters; skipped"


def test_an_over_long_jsonl_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    big = json.dumps({"name": "Z" * (LINE_LIMIT + 1)})
    path.write_text(f'{{"name": "Rosneft"}}\n{big}\n{{"name": "Sberbank"}}\n', encoding="utf-8")
    got = rows_of(path)
    assert names(got) == ["Rosneft", "Sberbank"]
    assert problems(got) == [(2, f"line longer than {LINE_LIMIT:,} characters; skipped")]


# -- files that are not counterparty files -----------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        random.Random(6).randbytes(5000),  # random bytes
        bytes(b % 31 + 1 for b in random.Random(7).randbytes(5000)),  # controls, no NUL
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,  # an image
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4,  # a ZIP (an .xlsx)
        b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4,  # gzip
    ],
    ids=["random", "controls", "png", "zip", "gzip"],
)
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_binary_data_is_refused(tmp_path: Path, content: bytes, suffix: str) -> None:
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        rows_of(path)
    assert str(err.value) == f"{path}: binary data, not a CSV or JSONL text file"


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty file"), (b" \r\n\t\r\n", "empty file")],
)
def test_empty_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        rows_of(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        rows_of(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a directory"):
        rows_of(tmp_path)


# -- streaming ---------------------------------------------------------------------------------


def write_rows(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("id,name,country\n")
        for i in range(n):
            out.write(f"c{i},Müller Trading Number {i} GmbH,DE\n")


def peak_memory(path: Path) -> tuple[int, int]:
    """(rows read, peak bytes allocated while reading them)."""
    tracemalloc.start()
    try:
        n = sum(1 for _ in read_rows(path))
        return n, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reading_streams_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    """A million rows is scripts/stress-inputs' job; here 5,000 against 40,000 rows (1.6 MB):
    the peak is the same and far below the size of the rows held at once."""
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    write_rows(small, 5_000)
    write_rows(large, 40_000)
    n_small, peak_small = peak_memory(small)
    n_large, peak_large = peak_memory(large)
    assert (n_small, n_large) == (5_000, 40_000)
    assert peak_large < 1_000_000  # 40,000 BatchRows held at once would take ~30 MB
    assert peak_large < peak_small * 1.5 + 100_000


# -- through the CLI ---------------------------------------------------------------------------


def test_batch_cli_reports_every_row_and_screens_the_good_ones(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "mixed.csv"
    lines = [
        "id,name,country",
        "p1,Rosoboroneksport,RU",
        "p2,,RU",
        "p3,Sberbank,RU,surplus",
        f"p4,{'x' * (1024 * 1024)},DE",
        "p5,!!!,DE",
        "p6,Kral Aviation Ltd Sti,Türkiye",
        "p7,Anadolu Elektronik,Narnia",
    ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-16"))
    code, out, err = cli("batch", path, "--workers", "1")
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == ["p1", "p2", "3", "p4", "p5", "p6", "p7"]
    by_id = {r["id"]: r for r in records}
    assert by_id["p1"]["hits"][0]["entry_id"] == "18782"
    assert by_id["p6"]["hits"][0]["source"] == "bis_entity_list"
    assert by_id["p2"]["error"] == "line 3: name is empty"
    assert by_id["3"]["error"] == "line 4: 4 fields where the header has 3"
    assert by_id["p4"]["error"] == f"line 5: name is longer than {MAX_NAME_LENGTH} characters"
    assert by_id["p5"]["error"] == "name has no letters or digits to screen"
    assert by_id["p7"]["hits"] == []
    assert by_id["p7"]["warnings"] == ["country 'Narnia' not recognised; screened without it"]
    assert all(len(r["name"]) <= 1000 for r in records)  # the 1 MB name is not echoed back
    assert "7 rows: 2 with potential matches, 4 rejected" in err
    assert "Traceback" not in out + err
    assert code == 1  # potential matches outrank rejected rows


def test_batch_cli_windows_1252_file(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("id;name;country\n1;Müller GmbH;DE\n2;Sberbank;RU\n".encode("cp1252"))
    code, out, err = cli("batch", path, "--workers", "1")
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["name"] for r in records] == ["Müller GmbH", "Sberbank"]
    assert f"warning: {path}: not valid UTF-8; read as Windows-1252 (Latin-1)" in err
    assert code == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (random.Random(9).randbytes(3000), "binary data"),
        (b"id,company\n1,Rosneft\n", "the header has no 'name' column"),
        (b"", "empty file"),
    ],
    ids=["binary", "no-name-column", "empty"],
)
def test_batch_cli_unreadable_file_is_one_line_and_exit_2(
    tmp_path: Path, cli: Cli, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    code, out, err = cli("batch", path)
    assert code == 2
    assert out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: {path}: ") and message in line


def test_batch_cli_csv_output_is_safe_for_spreadsheets(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "formulas.csv"
    path.write_text(
        'id,name,=HYPERLINK("http://evil.test")\n'
        "=1+1,Rosneft,@SUM(A1)\n"
        "-2,+Sberbank,-cmd|' /C calc'!A0\n",
        encoding="utf-8",
    )
    code, out, _ = cli("batch", path, "--format", "csv", "--workers", "1")
    assert code == 1
    cells = [c for line in out.splitlines() for c in line.split(",")]
    dangerous = [c for c in cells if c.lstrip('"')[:1] in ("=", "+", "-", "@")]
    assert dangerous == ["-2"] * len([c for c in cells if c == "-2"])  # a plain number stays
    assert out.splitlines()[0].split(",")[4] == '"\'=HYPERLINK(""http://evil.test"")"'
    assert "'=1+1" in out and "'@SUM(A1)" in out and "'+Sberbank" in out


def test_parallel_screening_reads_ahead_a_bounded_window(screener: Screener) -> None:
    pulled = 0

    def rows() -> Iterator[RejectedRow]:
        nonlocal pulled
        for i in range(20_000):
            pulled += 1
            yield RejectedRow(id=str(i), line=i + 2, message="cheap to screen")

    results = screener.screen_many(rows(), workers=2, chunk_size=64)
    first = next(results)
    assert first.id == "0"
    read_ahead = pulled
    sum(1 for _ in results)
    # The first rows tell a short batch (cut finer) from a long one; then a few chunks.
    assert read_ahead <= _LOOKAHEAD + 64 * 2 * 8, f"{read_ahead:,} of 20,000 rows read first"


def batch_peak(cli: Cli, path: Path) -> int:
    tracemalloc.start()
    try:
        code, _, err = cli("batch", path, "--workers", "1", "-o", path.with_suffix(".jsonl"))
        assert code == 2, err  # every row rejected (empty names): cheap rows, same path
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_batch_cli_memory_does_not_grow_with_the_file(tmp_path: Path, cli: Cli) -> None:
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    for path, n in ((small, 2_000), (large, 12_000)):
        path.write_text("id,name\n" + "".join(f"r{i},\n" for i in range(n)), encoding="utf-8")
    batch_peak(cli, small)  # warm-up: imports, caches
    peak_small, peak_large = batch_peak(cli, small), batch_peak(cli, large)
    assert peak_large < peak_small + 500_000, (peak_small, peak_large)


def test_register_files_are_read_by_the_same_reader(tmp_path: Path) -> None:
    """``screening register add`` reads its files through ``open_text`` too: UTF-16 without a
    BOM, a stray Windows-1252 line, binary data."""
    from screening.register import read_register_rows

    path = tmp_path / "register.csv"
    text = "id,name,country\r\n" + "".join(f"r{i},Name Number {i},DE\r\n" for i in range(3000))
    path.write_bytes(text.encode("utf-16-le"))
    assert sum(isinstance(r, BatchRow) for r in read_register_rows(path)) == 3000
    path.write_bytes(text.encode() + "r-x,Müller Büro GmbH,DE\r\n".encode("cp1252"))
    warnings: list[str] = []
    rows = list(read_register_rows(path, warn=warnings.append))
    assert rows[-1].name == "Müller Büro GmbH"  # type: ignore[union-attr]
    assert warnings and "line 3002 is not valid UTF-8" in warnings[0]
    path.write_bytes(random.Random(5).randbytes(3000))
    with pytest.raises(InputError, match="binary data"):
        list(read_register_rows(path))


# -- unclosed quotes ---------------------------------------------------------------------------


def row_view(items: list[BatchRow | RowProblem]) -> list[tuple[str, int | str, str]]:
    """Each row as (id, its name or its line, "" or its problem)."""
    return [
        (r.id, r.line, r.message) if isinstance(r, RowProblem) else (r.id, r.name, "")
        for r in items
    ]


def test_an_unclosed_quote_costs_its_row_not_the_rest_of_the_file(tmp_path: Path) -> None:
    """QA's file: the quote opened in row 1 is never closed; it used to swallow every later
    row into row 1's name (1 row read, 0 matches, exit 0)."""
    path = tmp_path / "u.csv"
    later = [f"{i},Trading Company Number {i},DE" for i in range(4, 204)]
    path.write_text(
        'id,name,country\n1,"Acme Ltd,TR\n2,Kral Aviation,TR\n3,Rosoboronexport,RU\n'
        + "\n".join(later)
        + "\n",
        encoding="utf-8",
    )
    got = rows_of(path)
    assert [r.id for r in got] == [str(i) for i in range(1, 204)]
    (bad,) = [r for r in got if isinstance(r, RowProblem)]
    assert bad.line == 2
    assert bad.message == (
        "unclosed quote: a quoted field opened on this line is not closed (it is still open at "
        "the end of the file); the lines after it are read as rows"
    )
    assert names(got) == ["Kral Aviation", "Rosoboronexport"] + [
        f"Trading Company Number {i}" for i in range(4, 204)
    ]
    assert [r.country for r in got if isinstance(r, BatchRow)] == ["TR", "RU"] + ["DE"] * 200


def test_an_unclosed_quote_closed_by_a_later_quoted_field(tmp_path: Path) -> None:
    """The next quote in the file opens a later row's quoted field: what would close the open
    field is followed by text, which a CSV writer never writes."""
    path = tmp_path / "u.csv"
    path.write_text(
        'id,name,country\n1,"Acme Ltd,TR\n2,Kral Aviation,TR\n3,"Foo, Inc",RU\n4,Sberbank,RU\n',
        encoding="utf-8",
    )
    got = rows_of(path)
    assert row_view(got)[0][:2] == ("1", 2)
    assert "the quote on line 4 that would close it is followed by more text" in row_view(got)[0][2]
    assert row_view(got)[1:] == [
        ("2", "Kral Aviation", ""),
        ("3", "Foo, Inc", ""),
        ("4", "Sberbank", ""),
    ]


def test_an_unclosed_quote_closed_by_a_stray_quote(tmp_path: Path) -> None:
    """A second typo closes the field cleanly; the rows it swallowed give it away: a line
    break in the name (rule 4), or more fields than the header (rule 3)."""
    path = tmp_path / "u.csv"
    path.write_text(
        'id,name,country\n1,"Acme Ltd,TR\n2,Kral Aviation,TR\n3,Foo",RU\n', encoding="utf-8"
    )
    got = row_view(rows_of(path))
    assert got[0][:2] == ("1", 2)
    assert "it would put a line break in the name (column 2)" in got[0][2]
    assert got[1:] == [("2", "Kral Aviation", ""), ("3", 'Foo"', "")]

    path.write_text(
        "id,name,note,country\n"
        '1,Acme Ltd,"unfinished,TR\n'
        "2,Kral Aviation,fine,TR\n"
        '3,Sberbank",note,RU\n',
        encoding="utf-8",
    )
    got = row_view(rows_of(path))
    assert got[0][:2] == ("1", 2)
    assert "the row would have 5 fields, the header 4" in got[0][2]
    assert got[1:] == [("2", "Kral Aviation", ""), ("3", 'Sberbank"', "")]


def test_multi_line_cells_of_a_real_export_still_read_as_one_row(tmp_path: Path) -> None:
    """ERP and Excel exports quote multi-line addresses (CRLF inside, doubled quotes, commas):
    each is one row, known by the physical line it starts on."""
    path = tmp_path / "erp.csv"
    path.write_bytes(
        b"id,name,address,country,note\r\n"
        b'1,Acme Ltd,"Acme Tower\r\nBldg 5, Floor 3, Room 12\r\nMaslak, Sariyer, Istanbul",TR,\r\n'
        b'2,Kral Aviation,"Hangar ""B""\r\n\r\nAnkara",TR,"two\nlines"\r\n'
        b'3,Rosoboronexport,"Moscow",RU,"""quoted"""\r\n'
        b"4,Sberbank,,RU,\r\n"
    )
    got = rows_of(path)
    assert not problems(got)
    assert [(r.id, r.name) for r in got if isinstance(r, BatchRow)] == [
        ("1", "Acme Ltd"),
        ("2", "Kral Aviation"),
        ("3", "Rosoboronexport"),
        ("4", "Sberbank"),
    ]
    extras = [r.model_extra for r in got if isinstance(r, BatchRow)]
    assert extras[0] == {
        "address": "Acme Tower\r\nBldg 5, Floor 3, Room 12\r\nMaslak, Sariyer, Istanbul",
        "note": "",
    }
    assert extras[1] == {"address": 'Hangar "B"\r\n\r\nAnkara', "note": "two\nlines"}
    assert extras[2] == {"address": "Moscow", "note": '"quoted"'}
    # The lines the rows start on: a rejected row after them names the right line.
    path.write_bytes(path.read_bytes() + b"5,,RU,,\r\n")
    assert problems(rows_of(path)) == [(11, "name is empty")]


def test_any_file_a_csv_writer_writes_reads_back_the_same(tmp_path: Path) -> None:
    """Random cells full of quotes, delimiters and line breaks (all but the id and the name,
    which are one line), written by the csv module as a spreadsheet would: every row reads
    back as written, on the line it starts on."""
    import csv

    rng = random.Random(11)
    pieces = ['"', ",", ";", "\n", "\r\n", " ", "Acme", "Ltd", "ü", "'", '""', "x,y"]

    def cell(multi_line: bool) -> str:
        chosen = [rng.choice(pieces) for _ in range(rng.randrange(0, 8))]
        text = "".join(p for p in chosen if multi_line or "\n" not in p)
        return text

    for delimiter, suffix in ((",", ".csv"), ("\t", ".tsv")):
        rows = [
            [f"r{i}", "N" + cell(False), cell(True), cell(True), cell(True)] for i in range(300)
        ]
        path = tmp_path / f"written{suffix}"
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, delimiter=delimiter)
            writer.writerow(["id", "name", "address", "country", "note"])
            writer.writerows(rows)
        got = rows_of(path)
        assert not problems(got)
        assert [
            [r.id, r.name, r.model_extra["address"], r.country or "", r.model_extra["note"]]  # type: ignore[index, union-attr]
            for r in got
        ] == [[r[0], r[1], r[2], r[3].strip(), r[4]] for r in rows]
        starts, line = [], 2
        for r in rows:
            starts.append(line)
            line += sum(c.count("\n") for c in r) + 1
        path.write_text(path.read_text(encoding="utf-8") + "bad,,\n", encoding="utf-8")
        assert problems(rows_of(path)) == [(line, "name is empty")]


def test_a_name_with_a_line_break_is_taken_for_an_unclosed_quote(tmp_path: Path) -> None:
    """The documented cost of rule 4: a name is one line, so a quoted name running over a line
    break is read as an unclosed quote; its row is rejected (never screened as a cut name),
    and the line after it is read as a row of its own."""
    path = tmp_path / "in.csv"
    path.write_text('id,name,country\n1,"Acme Ltd\nBranch",TR\n2,Sberbank,RU\n', encoding="utf-8")
    got = row_view(rows_of(path))
    assert got[0][:2] == ("1", 2) and "line break in the name" in got[0][2]
    assert got[1:] == [('Branch"', "TR", ""), ("2", "Sberbank", "")]


def test_a_quote_open_for_too_many_lines_is_unclosed(tmp_path: Path) -> None:
    """A field is never held over more than 1,000 lines: memory stays bounded."""
    path = tmp_path / "in.csv"
    path.write_text(
        'id,name,note\n1,Acme,"open\n' + "".join(f"{i},Name {i},fine\n" for i in range(2, 3002)),
        encoding="utf-8",
    )
    got = rows_of(path)
    assert [r.id for r in got] == [str(i) for i in range(1, 3002)]
    assert problems(got) == [
        (
            2,
            "unclosed quote: a quoted field opened on this line is not closed (it is still open "
            "1,001 lines on); the lines after it are read as rows",
        )
    ]


def test_an_unclosed_quote_before_an_over_long_line(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        f'id,name\n1,"Acme\n2,{"C" * (LINE_LIMIT + 10)}\n3,Sberbank\n', encoding="utf-8"
    )
    got = rows_of(path)
    assert [r.id for r in got] == ["1", "2", "3"]
    assert [line for line, _ in problems(got)] == [2, 3]
    assert problems(got)[1][1] == f"line longer than {LINE_LIMIT:,} characters; skipped"
    assert names(got) == ["Sberbank"]


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        (".csv", 'id;name;country\n1;"Acme Ltd;TR\n2;Kral Aviation;TR\n'),
        (".tsv", 'id\tname\tcountry\n1\t"Acme Ltd\tTR\n2\tKral Aviation\tTR\n'),
    ],
    ids=["semicolon", "tab"],
)
def test_unclosed_quotes_with_other_delimiters(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"in{suffix}"
    path.write_text(text, encoding="utf-8")
    got = row_view(rows_of(path))
    assert got[0][:2] == ("1", 2) and got[0][2].startswith("unclosed quote")
    assert got[1:] == [("2", "Kral Aviation", "")]


def test_a_multi_line_header_cell_and_an_unclosed_quote_in_the_header(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('id,name,"Customer\nNo"\n1,,C-1\n', encoding="utf-8")
    assert problems(rows_of(path)) == [(3, "name is empty")]
    path.write_text('id,"name,country\n1,Acme,TR\n2,Sberbank,RU\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        rows_of(path)
    assert str(err.value).startswith(f"{path}: line 1 (the header): unclosed quote")
    assert "\n" not in str(err.value)


def test_batch_cli_unclosed_quote_screens_every_other_row(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "u.csv"
    path.write_text(
        'id,name,country\n1,"Acme Ltd,TR\n2,Kral Aviation,TR\n3,Rosoboronexport,RU\n',
        encoding="utf-8",
    )
    code, out, err = cli("batch", path, "--workers", "1")
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == ["1", "2", "3"]
    assert records[0]["error"].startswith("line 2: unclosed quote: ")
    assert records[1]["hits"][0]["source"] == "bis_entity_list"
    assert records[2]["hits"][0]["entry_id"] == "18782"
    assert "3 rows: 2 with potential matches, 1 rejected" in err
    assert code == 1


# -- text that cannot be written ---------------------------------------------------------------

SURROGATE_ROWS = (
    '{"id": "1", "name": "Rosneft"}\n'
    '{"id": "2", "name": "Bad \\ud800 name"}\n'
    '{"id": "3\\udc00", "name": "Sberbank"}\n'
    '{"id": "4", "name": "Sberbank", "country": "R\\udfffU"}\n'
    '{"id": "5", "name": "Sberbank", "type": "\\ud83d"}\n'
    '{"id": "6", "name": "Sberbank", "Note": "a \\ud800"}\n'
    '{"id": "7", "name": "Sberbank", "refs": [{"x": ["\\ud800"]}]}\n'
    '{"id": "8", "name": "Sberbank", "k\\ud800": 1}\n'
    '{"id": "9", "name": "Kral Aviation \\ud83d\\ude00"}\n'
)


def test_lone_surrogates_reject_their_row(tmp_path: Path) -> None:
    """JSON can spell a lone UTF-16 surrogate (\\ud800), which no output can write: the row is
    rejected, whichever field holds it; a proper pair (an emoji) is fine."""
    path = tmp_path / "in.jsonl"
    path.write_text(SURROGATE_ROWS, encoding="utf-8")
    got = rows_of(path)
    assert [r.id for r in got] == ["1", "2", "3\ufffd", "4", "5", "6", "7", "8", "9"]
    assert names(got) == ["Rosneft", "Kral Aviation \U0001f600"]
    assert problems(got) == [
        (2, "name is not valid text (it holds a lone UTF-16 surrogate, \\ud800)"),
        (3, "id is not valid text (it holds a lone UTF-16 surrogate, \\udc00)"),
        (4, "country is not valid text (it holds a lone UTF-16 surrogate, \\udfff)"),
        (5, "type is not valid text (it holds a lone UTF-16 surrogate, \\ud83d)"),
        (6, "the field 'note' is not valid text (it holds a lone UTF-16 surrogate, \\ud800)"),
        (7, "the field 'refs' is not valid text (it holds a lone UTF-16 surrogate, \\ud800)"),
        (
            8,
            "the field name 'k\\\\ud800' is not valid text (it holds a lone UTF-16 surrogate, "
            "\\ud800)",
        ),
    ]
    for r in got:  # everything read can be written
        r.model_dump_json().encode("utf-8")


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_batch_cli_lone_surrogates_do_not_stop_the_run(tmp_path: Path, cli: Cli, fmt: str) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(SURROGATE_ROWS, encoding="utf-8")
    code, out, err = cli("batch", path, "--workers", "1", "--format", fmt)
    assert "internal error" not in err and "Traceback" not in out + err
    assert "9 rows: " in err and "7 rejected" in err
    if fmt == "jsonl":
        records = [json.loads(line) for line in out.splitlines()]
        assert [r["id"] for r in records] == ["1", "2", "3\ufffd", "4", "5", "6", "7", "8", "9"]
        assert records[1]["error"] == (
            "line 2: name is not valid text (it holds a lone UTF-16 surrogate, \\ud800)"
        )
        assert [bool(r.get("error")) for r in records] == [False] + [True] * 7 + [False]
    else:
        import csv
        import io

        lines = list(csv.DictReader(io.StringIO(out)))  # a line per hit, one for no hits
        ids = [r["id"] for r in lines]
        assert sorted(set(ids), key=ids.index) == ["1", "2", "3\ufffd"] + list("456789")
        assert [r["id"] for r in lines if r["error"]] == ["2", "3\ufffd"] + list("45678")
    assert code in (0, 1, 2)


def test_screen_many_rejects_a_mapping_with_a_lone_surrogate(screener: Screener) -> None:
    results = list(
        screener.screen_many(
            [{"id": "a", "name": "Sberbank", "note": "\ud800"}, {"id": "b", "name": "Sberbank"}]
        )
    )
    assert [r.id for r in results] == ["a", "b"]
    assert results[0].error == (
        "line 1: the field 'note' is not valid text (it holds a lone UTF-16 surrogate, \\ud800)"
    )
    assert results[1].error is None and results[1].hits


# -- repeated columns --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", ["id,name,name", "id,Name,country, NAME ", "ID,name,id", "id,name,type,Type"]
)
def test_a_header_naming_a_row_field_twice_is_refused(tmp_path: Path, header: str) -> None:
    path = tmp_path / "in.csv"
    path.write_text(f"{header}\n1,Acme,Sberbank,x\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        rows_of(path)
    message = str(err.value)
    assert message.startswith(f"{path}: the header has the ")
    assert "column more than once" in message and "\n" not in message


def test_a_repeated_other_column_keeps_every_cell_under_a_numbered_name(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        "id,Name,Note,note,note,CustomerRef,,\n1,Acme Ltd,a,b,c,R-1,x,y\n", encoding="utf-8"
    )
    warnings: list[str] = []
    (row,) = rows_of(path, warn=warnings.append)
    assert isinstance(row, BatchRow) and row.name == "Acme Ltd"
    # A column other than the row fields keeps its own spelling; a repeated one is numbered.
    assert row.model_extra == {"Note": "a", "note": "b", "note_2": "c", "CustomerRef": "R-1"}
    assert warnings == [
        f"{path}: the header has the 'note' column more than once; kept as 'note_2'"
    ]


def test_batch_cli_csv_output_keeps_repeated_columns(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,name,note,note\n1,Rosneft,first,second\n", encoding="utf-8")
    code, out, err = cli("batch", path, "--format", "csv", "--workers", "1")
    assert code == 1
    header, first = out.splitlines()[:2]
    assert header.startswith("id,name,country,type,note,note_2,")
    assert first.startswith("1,Rosneft,,,first,second,")
    assert "kept as 'note_2'" in err


def test_batch_cli_repeated_name_column_is_exit_2(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("id,name,name\n1,Acme Ltd,Sberbank\n", encoding="utf-8")
    code, out, err = cli("batch", path)
    assert (code, out) == (2, "")
    assert err.strip().splitlines() == [
        f"error: {path}: the header has the 'name' column more than once, so which one to read "
        "is unclear (found: id, name, name)"
    ]


def test_a_json_object_naming_a_row_field_twice_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"id": "1", "name": "Acme", "name": "Sberbank"}\n'
        '{"id": "2", "name": "Acme", "NAME": "Sberbank"}\n'
        '{"id": "3", "name": "Rosneft", "x": 1, "x": 2}\n',
        encoding="utf-8",
    )
    got = rows_of(path)
    assert [r.id for r in got] == ["1", "2", "3"]
    assert problems(got) == [
        (1, "the key 'name' is given more than once"),
        (2, "the key 'name' is given more than once"),
    ]
