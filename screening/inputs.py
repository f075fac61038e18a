"""Reading counterparty files for batch screening: CSV or JSONL, streamed row by row.

Encodings: a UTF-8 or UTF-16 byte-order mark is honoured, and UTF-16 without one is recognised
by its zero bytes; otherwise UTF-8 is expected and, if the start of the file is not valid UTF-8,
it is read as Windows-1252 (what spreadsheets on Windows write) with a warning. A UTF-8 file with
a stray Windows-1252 line further down (two exports pasted together) has just those bytes read
as Windows-1252, also with a warning naming the line. Binary data (NUL bytes, or many control
characters) is refused with a message.

A file is never loaded whole: memory stays flat however many rows it has. A physical line longer
than :data:`LINE_LIMIT` characters is skipped (and reported as that row's problem) without ever
being held in memory.

Every data row becomes a :class:`~screening.screener.BatchRow` or a :class:`RowProblem` (the
row number and why it cannot be screened); a file that cannot be read at all raises
:class:`~screening.errors.InputError`. A caller with its own rules for a row (the register,
whose rows must each carry an id) gives :func:`read_rows` its own check.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import json
import re
import sys
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, BinaryIO, NamedTuple

from screening.errors import InputError
from screening.screener import MAX_NAME_LENGTH, BatchRow, RejectedRow

__all__ = [
    "LINE_LIMIT",
    "RowCheck",
    "RowProblem",
    "detect_format",
    "extra_fields",
    "field_text",
    "name_problem",
    "open_text",
    "read_rows",
    "row_from_mapping",
]

#: CSV fields longer than this are cut by the reader; the row is then rejected as too long.
_FIELD_LIMIT = 4 * 1024 * 1024
csv.field_size_limit(min(_FIELD_LIMIT, sys.maxsize))

#: Characters in one physical line beyond which the line is skipped as not a counterparty row.
LINE_LIMIT = 2 * _FIELD_LIMIT

_SNIFF_BYTES = 64 * 1024
#: Share of control characters (other than tab, CR, LF) above which a file is binary data.
_BINARY_CONTROL_SHARE = 0.05
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13)) + b"\x7f"
_ESCAPED = re.compile("[\udc80-\udcff]+")


#: A row that cannot be screened: its id, line and why.
RowProblem = RejectedRow


def open_text(path: Path, warn: Callable[[str], None] | None = None) -> IO[str]:
    """Open a text file, choosing its encoding from a BOM or by validating UTF-8.

    Raises :class:`InputError` for a missing or unreadable file and for binary data.
    """
    try:
        raw = path.open("rb")
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a directory, not a file") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror}") from exc
    try:
        head = raw.read(_SNIFF_BYTES)
        raw.seek(0)
    except OSError as exc:
        raw.close()
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    stream: BinaryIO = raw
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif _looks_utf16(head):
        encoding = "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
    elif b"\x00" in head or _mostly_control(head):
        raw.close()
        raise InputError(f"{path}: binary data, not a CSV or JSONL text file")
    else:
        encoding = "utf-8"
        if not _valid_utf8_prefix(head):
            encoding = "cp1252"
            if warn:
                warn(f"{path}: not valid UTF-8; read as Windows-1252 (Latin-1)")
    if encoding in ("utf-8", "utf-8-sig"):
        stream = io.BufferedReader(_Utf8Repair(raw, path, warn))
    errors = "replace" if encoding == "cp1252" else "strict"
    return io.TextIOWrapper(stream, encoding=encoding, errors=errors, newline="")


class _Utf8Repair(io.RawIOBase):
    """A UTF-8 byte stream in which bytes that are not UTF-8 are re-read as Windows-1252.

    The start of the file was valid UTF-8 (or it would have been opened as Windows-1252), so
    a bad byte further down is a line pasted from another export: it is read as Windows-1252
    rather than failing the whole file, and a warning names its line (once per file).
    """

    def __init__(self, raw: BinaryIO, path: Path, warn: Callable[[str], None] | None) -> None:
        super().__init__()
        self._raw = raw
        self._path = path
        self._warn = warn
        self._reset()

    def _reset(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self._out = b""
        self._lines = 1  # the line the next decoded chunk starts on
        self._pos = 0  # bytes handed out so far
        self._warned = False
        self._eof = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if offset != 0 or whence != io.SEEK_SET:
            raise io.UnsupportedOperation("only a rewind to the start is supported")
        self._raw.seek(0)
        self._reset()
        return 0

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._raw.close()
        super().close()

    def readinto(self, buffer: Any) -> int:
        while not self._out and not self._eof:
            data = self._raw.read(_SNIFF_BYTES)
            self._eof = not data
            text = self._repair(self._decoder.decode(data, final=self._eof))
            self._lines += text.count("\n")
            self._out = text.encode("utf-8")
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        self._pos += n
        return n

    def _repair(self, text: str) -> str:
        match = _ESCAPED.search(text)
        if match is None:
            return text
        if not self._warned and self._warn is not None:
            self._warned = True
            line = self._lines + text.count("\n", 0, match.start())
            self._warn(
                f"{self._path}: line {line} is not valid UTF-8; its odd bytes were read as "
                "Windows-1252 (Latin-1)"
            )
        return _ESCAPED.sub(
            lambda m: bytes(ord(c) - 0xDC00 for c in m.group()).decode("cp1252", "replace"), text
        )


def _mostly_control(head: bytes) -> bool:
    """More control characters than text has: a few (an escape sequence pasted into a cell)
    are not enough, a twentieth of the sample is."""
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > max(16, _BINARY_CONTROL_SHARE * len(head))


def _looks_utf16(head: bytes) -> bool:
    sample = head[:200]
    if len(sample) < 4:
        return False
    zeros_even = sample[0::2].count(0)
    zeros_odd = sample[1::2].count(0)
    half = len(sample) // 2
    return zeros_odd > 0.4 * half or zeros_even > 0.4 * half


def _valid_utf8_prefix(head: bytes) -> bool:
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sample's end is fine.
        return exc.start >= len(head) - 3


def detect_format(path: Path) -> str:
    """``csv`` or ``jsonl`` from the extension; ``.json``/``.ndjson`` are JSONL."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv", ".txt", ""):
        return "csv"
    raise InputError(f"{path}: unknown input format {suffix!r} (use .csv or .jsonl)")


#: Checks one data row: (its line, its number among the data rows, its fields with keys
#: casefolded) -> the row to screen, or the reason it cannot be.
RowCheck = Callable[[int, int, dict[str, Any]], BatchRow | RowProblem]


def read_rows(
    path: Path,
    fmt: str | None = None,
    warn: Callable[[str], None] | None = None,
    *,
    require_id: bool = False,
    check: RowCheck | None = None,
) -> Iterator[BatchRow | RowProblem]:
    """Stream the rows of a counterparty file (CSV with a header, or JSONL).

    A row that cannot be read (malformed CSV, an unclosed quote, more fields than the header,
    not a JSON object, a JSON object giving a field twice, a field that is not valid text, a
    line over :data:`LINE_LIMIT`) is a :class:`RowProblem` in its place, known by the physical
    line it starts on (an unclosed quote costs only its own line: see :func:`_csv_rows`). A
    CSV header naming ``id``, ``name``, ``country`` or ``type`` twice is refused. Every other
    row is checked by ``check``, by default: it needs a usable name, and a row without an
    ``id`` is known by its row number.

    ``require_id`` (a register file, whose rows each name their own id; give a ``check`` that
    rejects a row without one): a CSV header without an ``id`` column is refused, and a row
    that cannot be read has an empty id, its row number not being an id (an unclosed quote's
    line gives the id written before the quote, when there is one).
    """
    fmt = fmt or detect_format(path)
    if fmt not in ("csv", "jsonl"):
        raise InputError(f"unknown input format {fmt!r} (use csv or jsonl)")
    problem_id: Callable[[int], str] = (lambda _: "") if require_id else str
    text = open_text(path, warn)
    try:
        if fmt == "csv":
            yield from _csv_rows(path, text, check or _mapping_row, require_id, problem_id, warn)
        else:
            yield from _jsonl_rows(text, check or _mapping_row, problem_id)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: undecodable text near byte {exc.start}: {exc.reason}") from exc
    finally:
        text.close()


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be screened (empty, not text, too long, binary, not valid text such
    as a lone UTF-16 surrogate from a JSON ``\\ud800`` escape), or None."""
    if name is None or (isinstance(name, str) and not name.strip()):
        return "name is empty"
    if not isinstance(name, str):
        return "name must be text"
    if len(name) > MAX_NAME_LENGTH:
        return f"name is longer than {MAX_NAME_LENGTH} characters"
    if "\x00" in name:
        return "name contains binary data"
    bad = _SURROGATE.search(name)
    if bad is not None:
        return _not_text("name", bad.group())
    return None


def row_from_mapping(line: int, number: int, values: Mapping[str, Any]) -> BatchRow | RowProblem:
    """A row read as a mapping: it needs a usable name; without an ``id`` it is known by its
    row ``number``; ``country`` and ``type`` are taken as text; other fields are kept. A row
    with a field that is not valid text (see :func:`_text_problem`) is rejected."""
    problem = _text_problem(values)
    if problem is not None:
        return RowProblem(id=_problem_row_id(values, number, str), line=line, message=problem)
    return _mapping_row(line, number, values)


def _mapping_row(line: int, number: int, values: Mapping[str, Any]) -> BatchRow | RowProblem:
    """:func:`row_from_mapping` for a row whose text :func:`_text_problem` has checked."""
    raw_id = values.get("id")
    rid = str(raw_id).strip() if raw_id not in (None, "") else str(number)
    name = values.get("name")
    problem = name_problem(name)
    if problem is not None:
        return RowProblem(id=rid, line=line, message=problem)
    assert isinstance(name, str)
    return BatchRow(
        id=rid,
        name=name,
        country=field_text(values, "country"),
        type=field_text(values, "type"),
        **extra_fields(values),
    )


#: A UTF-16 surrogate: only a lone one can be in a str (JSON's ``"\\ud800"``), and no
#: encoder will write it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _not_text(what: str, char: str) -> str:
    return f"{what} is not valid text (it holds a lone UTF-16 surrogate, \\u{ord(char):04x})"


def _text_problem(values: Mapping[str, Any]) -> str | None:
    """Why a row's fields cannot be written back out, or None: a lone UTF-16 surrogate (JSON's
    ``"\\ud800"``) in any field name or text value, nested ones too, would fail the output
    (and the register) when written as UTF-8.

    Such a row is **rejected** (named by the field), whichever field it is: replacing the
    character would quietly change what the caller gave (an id no longer matching theirs, an
    echoed field altered), and a rejected row is reported, never lost.
    """
    texts: list[str] = []
    for key, value in values.items():
        if isinstance(key, str):
            texts.append(key)
        if isinstance(value, str):
            texts.append(value)
        elif value is not None and not isinstance(value, int | float):
            break  # a nested value (or an odd one): look closer
    else:
        joined = "".join(texts)
        if joined.isascii() or _SURROGATE.search(joined) is None:
            return None
    name = values.get("name")
    if isinstance(name, str) and (bad := _SURROGATE.search(name)) is not None:
        return _not_text("name", bad.group())
    for key, value in values.items():
        if isinstance(key, str) and (bad := _SURROGATE.search(key)) is not None:
            return _not_text(f"the field name {_shown(key)!r}", bad.group())
        char = _surrogate_in(value)
        if char is not None:
            what = key if key in _ROW_FIELDS else f"the field {_shown(str(key))!r}"
            return _not_text(what, char)
    return None


def _surrogate_in(value: object, depth: int = 0) -> str | None:
    """The first lone surrogate in a value (text, or a JSON list or object of them)."""
    if isinstance(value, str):
        bad = _SURROGATE.search(value)
        return None if bad is None else bad.group()
    if depth > 100:
        return None
    if isinstance(value, Mapping):
        for k, v in value.items():
            found = _surrogate_in(k, depth + 1) or _surrogate_in(v, depth + 1)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for v in value:
            found = _surrogate_in(v, depth + 1)
            if found:
                return found
    return None


def _shown(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udXXX`` (safe to print and to encode)."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _problem_row_id(
    values: Mapping[str, Any], number: int, problem_id: Callable[[int], str]
) -> str:
    """The id to report a rejected row by: its own (any lone surrogate in it replaced by
    U+FFFD, so that the report can be written), else what ``problem_id`` gives."""
    raw = values.get("id")
    if raw in (None, ""):
        return problem_id(number)
    rid = _SURROGATE.sub("\ufffd", str(raw)).strip()
    return rid or problem_id(number)


def field_text(values: Mapping[str, Any], key: str) -> str | None:
    """A field as text without surrounding spaces; None when missing or blank."""
    v = values.get(key)
    if v is None:
        return None
    s = str(v).strip()
    return s or None


_ROW_FIELDS = ("id", "name", "country", "type")


def extra_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a row besides id, name, country and type, kept as they came."""
    return {k: v for k, v in values.items() if k not in _ROW_FIELDS and k}


def _csv_rows(
    path: Path,
    text: IO[str],
    check: RowCheck,
    require_id: bool,
    problem_id: Callable[[int], str],
    warn: Callable[[str], None] | None = None,
) -> Iterator[BatchRow | RowProblem]:
    """The rows of a CSV file, each with the physical line it starts on.

    A quoted field may hold line breaks (a multi-line address from an ERP or Excel export):
    its record then spans several physical lines and is one row, known by its first line. But
    a quote that is never closed (``1,"Acme Ltd,TR``) would make the CSV reader swallow every
    line after it into one field. So a record whose quoted field runs over a line break is
    read as an **unclosed quote** when any of these holds:

    1. the field is still open at the end of the file, or after :data:`_SPAN_LINES` lines, or
       once it is longer than the field limit (no real cell is that long);
    2. the quote that would close it is followed by more text rather than a delimiter or the
       line's end (a CSV writer never writes that; it is the opening quote of a later row's
       quoted field);
    3. the record has more fields than the header;
    4. the line break is in the ``id`` or ``name`` column (an id or a name is one line).

    The record's first physical line is then rejected (``unclosed quote``, with the reason),
    and the lines after it are read again as rows of their own, so a single stray quote costs
    one row, never the rest of the file. A well-formed file never meets rules 1 to 3; rule 4
    costs a legitimate name with a line break in it its row (rejected, and its second line read
    as a row), which is the price of never losing rows silently.
    """
    sample = text.read(_SNIFF_BYTES)
    text.seek(0)
    if not sample.strip():
        raise InputError(f"{path}: empty file")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    first_line = sample.split("\n", 1)[0]
    if delimiter == "," and first_line.count(";") > first_line.count(","):
        delimiter = ";"
    lines = _Lines(_numbered_lines(text))
    header = _read_record(lines, delimiter, None)
    if header is None:
        raise InputError(f"{path}: empty file")
    if isinstance(header, _Unreadable):
        raise InputError(f"{path}: line 1 (the header): {header.message}")
    # The row fields are known whatever their case (``Name``); every other column keeps its
    # own spelling into the output.
    columns = [
        c.casefold() if c.casefold() in _ROW_FIELDS else c
        for c in (h.strip().lstrip("\ufeff") for h in header.values)
    ]
    missing = [c for c in (("id", "name") if require_id else ("name",)) if c not in columns]
    if missing:
        why = "a register needs a stable id and a name per counterparty; " if require_id else ""
        found = _printable(", ".join(columns))
        raise InputError(
            f"{path}: the header has no {' and no '.join(repr(c) for c in missing)} column "
            f"({why}found: {found})"
        )
    twice = [c for c in _ROW_FIELDS if columns.count(c) > 1]
    if twice:
        raise InputError(
            f"{path}: the header has the {twice[0]!r} column more than once, so which one to "
            f"read is unclear (found: {_printable(', '.join(columns))})"
        )
    columns = _distinct_columns(path, columns, warn)
    id_column = columns.index("id") if "id" in columns else None
    number = 0
    while True:
        record = _read_record(lines, delimiter, columns)
        if record is None:
            return
        if isinstance(record, _Unreadable):
            number += 1
            rid = problem_id(number)
            if record.values and id_column is not None and id_column < len(record.values) - 1:
                rid = record.values[id_column].strip() or rid  # read before the quote opened
            yield RowProblem(id=rid, line=record.line, message=record.message)
            continue
        values = record.values
        if not values or not any(v.strip() for v in values):
            continue  # blank line
        number += 1
        if len(values) > len(columns):
            if any(v.strip() for v in values[len(columns) :]):
                yield RowProblem(
                    id=problem_id(number),
                    line=record.line,
                    message=f"{len(values)} fields where the header has {len(columns)}",
                )
                continue
            values = values[: len(columns)]
        row = dict(zip(columns, values, strict=False))
        bad = None if "".join(values).isascii() else _text_problem(row)
        if bad is not None:
            yield RowProblem(
                id=_problem_row_id(row, number, problem_id), line=record.line, message=bad
            )
            continue
        yield check(record.line, number, row)


def _distinct_columns(
    path: Path, columns: list[str], warn: Callable[[str], None] | None
) -> list[str]:
    """The header with a repeated other column (``note,note``) numbered from its second
    appearance (``note_2``), so that no cell is dropped for another of the same name. Columns
    without a name stay as they are (their cells are not kept)."""
    out: list[str] = []
    for c in columns:
        name, n = c, 1
        while c and name in out:
            n += 1
            name = f"{c}_{n}"
        if name != c and warn is not None:
            warn(f"{path}: the header has the {c!r} column more than once; kept as {name!r}")
        out.append(name)
    return out


#: The most physical lines one quoted CSV field may span (a multi-line address takes a few).
_SPAN_LINES = 1000


class _Record(NamedTuple):
    """A CSV record read whole: the physical line it starts on and its fields."""

    line: int
    values: list[str]


class _Unreadable(NamedTuple):
    """A CSV record that cannot be read: its first line, why, and (for an unclosed quote) the
    fields of its first line read on their own, the last one being the one left open."""

    line: int
    message: str
    values: tuple[str, ...] = ()


class _Lines:
    """Numbered physical lines (``None`` for one over :data:`LINE_LIMIT`) that can be given
    back to be read again."""

    def __init__(self, source: Iterator[tuple[int, str | None]]) -> None:
        self._source = source
        self._back: deque[tuple[int, str | None]] = deque()

    def next(self) -> tuple[int, str | None] | None:
        if self._back:
            return self._back.popleft()
        return next(self._source, None)

    def give_back(self, lines: list[tuple[int, str | None]]) -> None:
        self._back.extendleft(reversed(lines))


def _read_record(
    lines: _Lines, delimiter: str, columns: list[str] | None
) -> _Record | _Unreadable | None:
    """The next CSV record (None at the end of the file). ``columns`` is None for the header.
    See :func:`_csv_rows` for how a quote left open is told from a multi-line field."""
    first = lines.next()
    if first is None:
        return None
    start, text = first
    if text is None:
        return _Unreadable(start, _TOO_LONG)
    if (
        '"' not in text
        or _plain_line(delimiter).match(text)
        or not _scan_quotes(text, delimiter, False)[0]
    ):
        return _parse_record(start, [text], delimiter)
    held: list[tuple[int, str | None]] = []
    size = len(text)
    why: str | None = None
    while why is None:
        nxt = lines.next()
        if nxt is None:
            why = "it is still open at the end of the file"
            break
        held.append(nxt)
        line = nxt[1]
        if line is None or size + len(line) > _FIELD_LIMIT or len(held) > _SPAN_LINES:
            why = f"it is still open {len(held):,} lines on"
            break
        size += len(line)
        still_open, text_after = _scan_quotes(line, delimiter, True)
        if text_after:
            why = f"the quote on line {nxt[0]} that would close it is followed by more text"
        elif not still_open:
            break
    if why is None:
        record = _parse_record(start, [text] + [t for _, t in held if t is not None], delimiter)
        if isinstance(record, _Unreadable) or columns is None:
            return record
        if len(record.values) > len(columns) and any(
            v.strip() for v in record.values[len(columns) :]
        ):
            why = f"the row would have {len(record.values)} fields, the header {len(columns)}"
        else:
            for i, (column, value) in enumerate(zip(columns, record.values, strict=False)):
                if column in ("id", "name") and ("\n" in value or "\r" in value):
                    why = f"it would put a line break in the {column} (column {i + 1})"
                    break
        if why is None:
            return record
    lines.give_back(held)
    opened = _parse_record(start, [text], delimiter)
    return _Unreadable(
        start,
        f"unclosed quote: a quoted field opened on this line is not closed ({why}); "
        "the lines after it are read as rows",
        tuple(opened.values) if isinstance(opened, _Record) else (),
    )


def _parse_record(start: int, texts: list[str], delimiter: str) -> _Record | _Unreadable:
    """The fields of one record given as its physical lines."""
    try:
        return _Record(start, next(csv.reader(texts, delimiter=delimiter), []))
    except csv.Error as exc:
        return _Unreadable(start, f"malformed CSV: {exc}")


@functools.cache
def _plain_line(delimiter: str) -> re.Pattern[str]:
    """A line that is a whole record by the book: every quoted field closes and is followed by
    a delimiter or the line's end (the quick way past :func:`_scan_quotes`)."""
    d = re.escape(delimiter)
    field = f'(?:"(?:[^"]++|"")*+"|[^"{d}\\r\\n]*+)'
    return re.compile(f"{field}(?:{d}{field})*+(?:\\r\\n|\\n|\\r)?\\Z")


def _scan_quotes(line: str, delimiter: str, in_quotes: bool) -> tuple[bool, bool]:
    """Follow the quotes of one physical line as the ``csv`` module reads them (a quote opens a
    field only at its start, ``""`` inside one is a quote, another quote closes it).

    ``in_quotes``: the line starts inside a quoted field opened on an earlier line. Returns
    (a quoted field is open at the line's end, the quote closing the earlier line's field is
    followed by text rather than a delimiter or the line's end).
    """
    pos = 0
    continuing = in_quotes
    while True:
        i = line.find('"', pos)
        if i < 0:
            return in_quotes, False
        if in_quotes:
            if line.startswith('"', i + 1):
                pos = i + 2  # a doubled quote: a quote in the field
                continue
            in_quotes = False
            pos = i + 1
            if continuing:
                continuing = False
                if line[pos : pos + 1] not in (delimiter, "\r", "\n", ""):
                    return False, True
        else:
            if i == 0 or line[i - 1] == delimiter:
                in_quotes = True
            pos = i + 1


def _jsonl_rows(
    text: IO[str], check: RowCheck, problem_id: Callable[[int], str]
) -> Iterator[BatchRow | RowProblem]:
    number = 0
    for line_no, line in _numbered_lines(text):
        if line is None:
            number += 1
            yield RowProblem(id=problem_id(number), line=line_no, message=_TOO_LONG)
            continue
        if not line.strip():
            continue
        number += 1
        try:
            value = json.loads(line, object_pairs_hook=_json_object)
        except json.JSONDecodeError as exc:
            yield RowProblem(id=problem_id(number), line=line_no, message=f"not JSON: {exc.msg}")
            continue
        if not isinstance(value, dict):
            yield RowProblem(id=problem_id(number), line=line_no, message="not a JSON object")
            continue
        row = {str(k).casefold(): v for k, v in value.items()}
        if isinstance(value, _Repeated):
            yield RowProblem(
                id=_problem_row_id(row, number, problem_id),
                line=line_no,
                message=f"the key {value.repeated!r} is given more than once",
            )
            continue
        bad = _text_problem(row)
        if bad is not None:
            yield RowProblem(id=_problem_row_id(row, number, problem_id), line=line_no, message=bad)
            continue
        yield check(line_no, number, row)


class _Repeated(dict[str, Any]):
    """A JSON object naming ``id``, ``name``, ``country`` or ``type`` more than once (in any
    case): which one to read is unclear, so its row is rejected."""

    def __init__(self, pairs: list[tuple[str, Any]], repeated: str) -> None:
        super().__init__(pairs)
        self.repeated = repeated


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        folded = key.casefold()
        if folded in _ROW_FIELDS and folded in seen:
            return _Repeated(pairs, folded)
        seen.add(folded)
    return dict(pairs)


_TOO_LONG = f"line longer than {LINE_LIMIT:,} characters; skipped"


def _numbered_lines(text: IO[str]) -> Iterator[tuple[int, str | None]]:
    """The physical lines of ``text``, numbered from 1. A line longer than :data:`LINE_LIMIT`
    is read through in pieces (never held whole) and given as None."""
    number = 0
    while True:
        line = text.readline(LINE_LIMIT)
        if not line:
            return
        number += 1
        if len(line) >= LINE_LIMIT and not line.endswith(("\n", "\r")):
            while True:
                rest = text.readline(LINE_LIMIT)
                if not rest or rest.endswith(("\n", "\r")):
                    break
            yield number, None
            continue
        yield number, line


def _printable(text: str, limit: int = 200) -> str:
    """``text`` fit for a one-line message: control characters shown as ``?``, cut at ``limit``."""
    shown = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")
