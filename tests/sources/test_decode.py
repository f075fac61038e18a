"""Decoding and damage-aware CSV reading shared by the CSV list parsers."""

from __future__ import annotations

import codecs

import pytest

from screening.errors import ParseError
from screening.sources._decode import (
    MALFORMED_ROW,
    TRUNCATED_LAST_ROW,
    decode_payload,
    read_csv,
    refuse_cut_off,
)

ROW = (
    b'306,"BANCO NACIONAL DE CUBA",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"a.k.a. \'BNC\'."'
)


def decode(data: bytes, **kw: bool) -> tuple[str, str]:
    return tuple(decode_payload(data, file="F.CSV", source="s", **kw))  # type: ignore[return-value]


def test_encodings() -> None:
    assert decode(ROW) == (ROW.decode(), "utf-8")
    assert decode(codecs.BOM_UTF8 + ROW) == (ROW.decode(), "utf-8-sig")
    assert decode(codecs.BOM_UTF16_LE + ROW.decode().encode("utf-16-le"))[0] == ROW.decode()
    assert decode("CAFÉ,1".encode("latin-1")) == ("CAFÉ,1", "latin-1")
    # Valid UTF-8 cut inside a character: the complete part stays UTF-8.
    assert decode("CAFÉ".encode()[:-1]) == ("CAF", "utf-8")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "F.CSV: empty body"),
        (b" \r\n\x1a", "F.CSV: empty body"),
        (b"\r\n  <!DOCTYPE html><html>", "an HTML page"),
        (b"<HTML><BODY>Access Denied</BODY></HTML>", "an HTML page"),
        (b'<?xml version="1.0"?><sdnList/>', "an XML document"),
        (b'{"error": "throttled"}', "a JSON document"),
        (b"PK\x03\x04rest", "a ZIP archive"),
        (b"\x1f\x8b\x08rest", "gzip-compressed"),
        (b"306,\x00\x00\x00", "binary data"),
    ],
)
def test_not_csv(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as info:
        decode(data)
    assert info.value.source == "s"


def test_empty_allowed() -> None:
    assert decode(b"\x1a", allow_empty=True) == ("", "utf-8")


def test_read_csv_complete_rows() -> None:
    text = ROW.decode() + "\r\n\r\n" + ROW.decode() + "\r\n\x1a"
    rows = read_csv(text)
    assert [line for line, _ in rows.rows] == [1, 3]
    assert rows.problems == []
    assert len(rows.rows[0][1]) == 12


def test_read_csv_last_row_without_line_end() -> None:
    row = ROW.decode()
    assert read_csv(row).problems == []  # ends in a closing quote: complete
    assert read_csv(row[:-1]).problems == [(1, TRUNCATED_LAST_ROW)]  # quote still open
    cut_null = row.rsplit(",", 1)[0] + ",-0"
    assert read_csv(cut_null).problems == [(1, TRUNCATED_LAST_ROW)]  # unquoted: may be cut
    assert read_csv(row + "\r\n" + "307,").rows[0][1][0] == "306"


def test_read_csv_broken_quoting_mid_file() -> None:
    text = f'{ROW.decode()}\r\n1,"x"y,z\r\n{ROW.decode()}\r\n'
    rows = read_csv(text)
    assert rows.problems == [(2, MALFORMED_ROW)]
    assert [line for line, _ in rows.rows] == [1, 3]


def refuse(text: str) -> None:
    refuse_cut_off(read_csv(text), columns=12, file="F.CSV", source="s", complete_end="well")


def test_how_a_text_ends() -> None:
    row = ROW.decode()
    ends = {
        row + "\r\n\x1a": (True, True),
        row + "\n\x1a": (True, True),
        row + "\r\n": (True, False),
        row: (False, False),
        row + "\x1a": (False, True),
    }
    for text, (terminated, marker) in ends.items():
        parsed = read_csv(text)
        assert (parsed.terminated, parsed.eof_marker) == (terminated, marker), repr(text[-3:])
        refuse(text)  # each ends with a complete row: not cut off


def test_refuse_cut_off() -> None:
    row = ROW.decode()
    two = row + "\r\n" + row
    with pytest.raises(
        ParseError, match=r"^F.CSV: cut off: its last row ends mid-field \(line 2\)"
    ):
        refuse(two[:-1])  # inside the last quoted field
    with pytest.raises(ParseError, match="its last row ends mid-field"):
        refuse(two[: two.rindex("-0-") + 2])  # inside an unquoted null
    with pytest.raises(ParseError, match=r"its last row has 2 of the 12 fields \(line 2\)"):
        refuse(two[: two.index('",', len(row) + 2) + 1])  # right after a closing quote
    # A short row followed by a line break is a malformed row of a complete file: the
    # parser skips it; it says nothing about the end of the file.
    refuse(row + '\r\n306,"X"\r\n\x1a')
