"""From a raw payload to trustworthy CSV records: decoding, sniffing and damage-aware reading.

Shared by the CSV list parsers. Three steps, each of which either succeeds or says why not:

1. :func:`decode_payload` turns bytes into text (UTF-8, with or without a BOM; UTF-16 with a
   BOM; otherwise latin-1, which never fails) and rejects payloads that are not a CSV file at
   all: an empty body, an HTML error or login page, XML, JSON, compressed or binary data. Those
   raise :class:`~screening.errors.ParseError`.
2. :func:`read_csv` reads the text with :mod:`csv` in strict mode and returns only *complete*
   records. A row the csv module cannot parse (broken quoting, a field larger than the csv
   field limit) and a final record cut off mid-way are reported as problems, never returned:
   half a row is never imported.
3. The caller checks each record's shape (column count, key) and skips or keeps it.

How a cut-off final record is recognised: a well-formed file ends with a line break (OFAC adds
a 0x1A byte after it, which is ignored). When the text does not end with a line break, the last
record is accepted only if it ends with a closing quote, i.e. its last field is complete; a
quoted field still open at the end of the data is reported by the csv module itself. A file
cut exactly at a line break cannot be told from a shorter list by its content; the store's
record-count guard is what catches that.

A cut-off final record means the *file* was cut off, and every record after the cut is missing
with it: a list file with one is refused, not read minus its tail (a listed party at the end
of the file would screen clear). :func:`refuse_cut_off` is that check; the parsers call it
once they know how many fields a record has.
"""

from __future__ import annotations

import codecs
import csv
import io
from typing import NamedTuple

from screening.errors import ParseError

# How many characters at the start of a payload are inspected for HTML / XML / JSON markers.
_SNIFF_CHARS = 4096
# What an empty file may still contain: whitespace, a BOM, OFAC's 0x1A end-of-file byte.
_BLANK = " \t\r\n\x1a\ufeff"

TRUNCATED_LAST_ROW = "truncated last row"
MALFORMED_ROW = "malformed CSV row"
OVERSIZED_FIELD = "field larger than the CSV field limit"


class Payload(NamedTuple):
    """A decoded file: its text and the encoding that decoded it."""

    text: str
    encoding: str  # "utf-8", "utf-8-sig", "utf-16" or "latin-1"


class CsvRows(NamedTuple):
    """The complete records of a CSV text and the rows that had to be dropped."""

    rows: list[tuple[int, list[str]]]  # (line number where the record ends, fields)
    problems: list[tuple[int, str]]  # (line number, reason)
    terminated: bool = True  # the text ends with a line break (before any 0x1A bytes)
    eof_marker: bool = False  # the text ends with a 0x1A (Ctrl-Z) byte, as OFAC's files do


def decode_payload(data: bytes, *, file: str, source: str, allow_empty: bool = False) -> Payload:
    """Decode one downloaded file, rejecting anything that is not a text/CSV payload.

    ``allow_empty`` accepts a file with no content (only whitespace or a 0x1A byte) and returns
    empty text: some companion files (e.g. OFAC's remarks overflow) may legitimately be empty.
    """
    if data[:2] == b"\x1f\x8b":
        raise ParseError(f"{file}: gzip-compressed data, not a CSV file", source=source)
    if data[:4] == b"PK\x03\x04":
        raise ParseError(f"{file}: a ZIP archive, not a CSV file", source=source)
    encoding = "utf-8"
    if data[:3] == codecs.BOM_UTF8:
        encoding = "utf-8-sig"
    elif data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        encoding = "utf-16"
    if encoding != "utf-16" and b"\x00" in data[:65536]:
        raise ParseError(f"{file}: binary data (NUL bytes), not a CSV file", source=source)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding == "utf-16":
            raise ParseError(f"{file}: invalid UTF-16 text", source=source) from None
        if exc.reason == "unexpected end of data":
            # Valid UTF-8 cut in the middle of a character: the file was cut off. Keep the
            # complete part; the cut-off last record is dropped by read_csv.
            text = data[: exc.start].decode(encoding)
        else:
            text, encoding = data.decode("latin-1"), "latin-1"
    if "\x00" in text[:65536]:
        raise ParseError(f"{file}: binary data (NUL characters), not a CSV file", source=source)
    if not text.strip(_BLANK):
        if allow_empty:
            return Payload("", encoding)
        raise ParseError(f"{file}: empty body", source=source)
    lowered = text[:_SNIFF_CHARS].lstrip(_BLANK).lower()
    if lowered.startswith("<?xml"):
        raise ParseError(f"{file}: an XML document, not a CSV file", source=source)
    if lowered.startswith("<") or "<html" in lowered or "<!doctype" in lowered:
        raise ParseError(
            f"{file}: an HTML page, not a CSV file (an error or login page from the server?)",
            source=source,
        )
    if lowered[:1] in ("{", "["):
        raise ParseError(f"{file}: a JSON document, not a CSV file", source=source)
    return Payload(text, encoding)


def read_csv(text: str) -> CsvRows:
    """Every complete record of ``text``; malformed and cut-off rows go to ``problems``.

    Blank lines and a trailing 0x1A (Ctrl-Z) end-of-file byte are ignored.
    """
    body = text.rstrip("\x1a")
    eof_marker = text.rstrip(" \t\r\n").endswith("\x1a")
    tail = body.rstrip(" \t\x1a")
    terminated = tail.endswith(("\n", "\r"))
    reader = csv.reader(io.StringIO(body, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    problems: list[tuple[int, str]] = []
    last_failed = False
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            message = str(exc)
            if "unexpected end of data" in message:
                reason = TRUNCATED_LAST_ROW
            elif "field larger than field limit" in message:
                reason = OVERSIZED_FIELD
            else:
                reason = MALFORMED_ROW
            problems.append((reader.line_num, reason))
            last_failed = True
            continue
        last_failed = False
        if not row or (len(row) == 1 and not row[0].strip(" \t\x1a")):
            continue
        rows.append((reader.line_num, row))
    if rows and not terminated and not last_failed and not tail.endswith('"'):
        # The final record has no line break after it and does not end in a closing quote:
        # its last field may have been cut anywhere.
        line, _ = rows.pop()
        problems.append((line, TRUNCATED_LAST_ROW))
    return CsvRows(rows, problems, terminated, eof_marker)


def refuse_cut_off(
    parsed: CsvRows, *, columns: int, file: str, source: str, complete_end: str
) -> None:
    """Raise :class:`~screening.errors.ParseError` when ``parsed`` is a file that was cut off.

    Cut off means its final record is incomplete: a quoted field still open at the end of the
    data, an unquoted last field with no line break after it (see :func:`read_csv`), or, with
    no line break after it, fewer than ``columns`` fields (a cut right after a closing quote).
    ``complete_end`` says how a complete file of this format ends, for the message.
    """
    reason: str | None = None
    line = 0
    cut = [n for n, problem in parsed.problems if problem == TRUNCATED_LAST_ROW]
    last_problem = max((n for n, _ in parsed.problems), default=0)
    if cut:  # only ever the final record
        line, reason = cut[-1], "its last row ends mid-field"
    elif not parsed.terminated and parsed.rows and parsed.rows[-1][0] > last_problem:
        line, row = parsed.rows[-1]
        if len(row) < columns:
            reason = f"its last row has {len(row)} of the {columns} fields"
    if reason is not None:
        raise ParseError(
            f"{file}: cut off: {reason} (line {line:,}), so the rows after it are missing "
            f"(a complete file ends {complete_end}); not read",
            source=source,
        )
