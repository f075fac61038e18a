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
import io
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, BinaryIO

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

    A row that cannot be read (malformed CSV, more fields than the header, not a JSON object,
    a line over :data:`LINE_LIMIT`) is a :class:`RowProblem` in its place; every other row is
    checked by ``check``, by default: it needs a usable name, and a row without an ``id`` is
    known by its row number.

    ``require_id`` (a register file, whose rows each name their own id; give a ``check`` that
    rejects a row without one): a CSV header without an ``id`` column is refused, and a row
    that cannot be read has an empty id, its row number not being an id.
    """
    fmt = fmt or detect_format(path)
    if fmt not in ("csv", "jsonl"):
        raise InputError(f"unknown input format {fmt!r} (use csv or jsonl)")
    problem_id: Callable[[int], str] = (lambda _: "") if require_id else str
    text = open_text(path, warn)
    try:
        if fmt == "csv":
            yield from _csv_rows(path, text, check or row_from_mapping, require_id, problem_id)
        else:
            yield from _jsonl_rows(text, check or row_from_mapping, problem_id)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: undecodable text near byte {exc.start}: {exc.reason}") from exc
    finally:
        text.close()


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be screened (empty, not text, too long, binary), or None."""
    if name is None or (isinstance(name, str) and not name.strip()):
        return "name is empty"
    if not isinstance(name, str):
        return "name must be text"
    if len(name) > MAX_NAME_LENGTH:
        return f"name is longer than {MAX_NAME_LENGTH} characters"
    if "\x00" in name:
        return "name contains binary data"
    return None


def row_from_mapping(line: int, number: int, values: Mapping[str, Any]) -> BatchRow | RowProblem:
    """A row read as a mapping: it needs a usable name; without an ``id`` it is known by its
    row ``number``; ``country`` and ``type`` are taken as text; other fields are kept."""
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
) -> Iterator[BatchRow | RowProblem]:
    sample = text.read(_SNIFF_BYTES)
    text.seek(0)
    if not sample.strip():
        raise InputError(f"{path}: empty file")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    if delimiter == "," and sample.split("\n", 1)[0].count(";") > sample.split("\n", 1)[0].count(
        ","
    ):
        delimiter = ";"
    skipped: list[int] = []
    reader = csv.reader(_bounded_lines(text, skipped), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise InputError(f"{path}: line 1: {exc}") from exc
    if skipped:
        raise InputError(f"{path}: line 1 (the header): {_TOO_LONG}")
    columns = [h.strip().lstrip("\ufeff").casefold() for h in header]
    missing = [c for c in (("id", "name") if require_id else ("name",)) if c not in columns]
    if missing:
        why = "a register needs a stable id and a name per counterparty; " if require_id else ""
        found = _printable(", ".join(columns))
        raise InputError(
            f"{path}: the header has no {' and no '.join(repr(c) for c in missing)} column "
            f"({why}found: {found})"
        )
    number = 0
    while True:
        failure: csv.Error | None = None
        values: list[str] | None = None
        try:
            values = next(reader)
        except StopIteration:
            pass
        except csv.Error as exc:
            failure = exc
        for line in skipped:  # over-long lines the reader was given as blank ones
            number += 1
            yield RowProblem(id=problem_id(number), line=line, message=_TOO_LONG)
        skipped.clear()
        if failure is not None:
            number += 1
            yield RowProblem(
                id=problem_id(number), line=reader.line_num, message=f"malformed CSV: {failure}"
            )
            continue
        if values is None:
            return
        if not values or not any(v.strip() for v in values):
            continue  # blank line
        number += 1
        if len(values) > len(columns):
            extra_values = values[len(columns) :]
            if any(v.strip() for v in extra_values):
                yield RowProblem(
                    id=problem_id(number),
                    line=reader.line_num,
                    message=f"{len(values)} fields where the header has {len(columns)}",
                )
                continue
            values = values[: len(columns)]
        yield check(reader.line_num, number, dict(zip(columns, values, strict=False)))


def _jsonl_rows(
    text: IO[str], check: RowCheck, problem_id: Callable[[int], str]
) -> Iterator[BatchRow | RowProblem]:
    number = 0
    skipped: list[int] = []
    for line_no, line in enumerate(_bounded_lines(text, skipped), start=1):
        if skipped:
            number += 1
            yield RowProblem(id=problem_id(number), line=line_no, message=_TOO_LONG)
            skipped.clear()
            continue
        if not line.strip():
            continue
        number += 1
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RowProblem(id=problem_id(number), line=line_no, message=f"not JSON: {exc.msg}")
            continue
        if not isinstance(value, dict):
            yield RowProblem(id=problem_id(number), line=line_no, message="not a JSON object")
            continue
        yield check(line_no, number, {str(k).casefold(): v for k, v in value.items()})


_TOO_LONG = f"line longer than {LINE_LIMIT:,} characters; skipped"


def _bounded_lines(text: IO[str], skipped: list[int]) -> Iterator[str]:
    """The physical lines of ``text``. A line longer than :data:`LINE_LIMIT` is read through in
    pieces (never held whole) and given as an empty line; its number goes to ``skipped``."""
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
            skipped.append(number)
            yield "\n"
            continue
        yield line


def _printable(text: str, limit: int = 200) -> str:
    """``text`` fit for a one-line message: control characters shown as ``?``, cut at ``limit``."""
    shown = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")
