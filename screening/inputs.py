"""Reading counterparty files for batch screening: CSV or JSONL, streamed row by row.

Encodings: a UTF-8 or UTF-16 byte-order mark is honoured; otherwise UTF-8 is expected and, if
the file is not valid UTF-8, it is read as Windows-1252 (what spreadsheets on Windows write)
with a warning. A file is never loaded whole: memory stays flat however many rows it has.

Every data row becomes a :class:`~screening.screener.BatchRow` or a :class:`RowProblem` (the
row number and why it cannot be screened); a file that cannot be read at all raises
:class:`~screening.errors.InputError`.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from screening.errors import InputError
from screening.screener import MAX_NAME_LENGTH, BatchRow, RejectedRow

__all__ = ["RowProblem", "detect_format", "open_text", "read_rows"]

#: CSV fields longer than this are cut by the reader; the row is then rejected as too long.
_FIELD_LIMIT = 4 * 1024 * 1024
csv.field_size_limit(min(_FIELD_LIMIT, sys.maxsize))

_SNIFF_BYTES = 64 * 1024


#: A row that cannot be screened: its id, line and why.
RowProblem = RejectedRow


def open_text(path: Path, warn: Callable[[str], None] | None = None) -> IO[str]:
    """Open a text file, choosing its encoding from a BOM or by validating UTF-8."""
    try:
        raw = path.open("rb")
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path}: is a directory, not a file") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror}") from exc
    head = raw.read(_SNIFF_BYTES)
    raw.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in head and not _looks_utf16(head):
        raw.close()
        raise InputError(f"{path}: binary data, not a CSV or JSONL text file")
    elif _looks_utf16(head):
        encoding = "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
    else:
        encoding = "utf-8"
        if not _valid_utf8_prefix(head):
            encoding = "cp1252"
            if warn:
                warn(f"{path}: not valid UTF-8; read as Windows-1252 (Latin-1)")
    errors = "replace" if encoding == "cp1252" else "strict"
    return io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="")


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


def read_rows(
    path: Path, fmt: str | None = None, warn: Callable[[str], None] | None = None
) -> Iterator[BatchRow | RowProblem]:
    """Stream the rows of a counterparty file."""
    fmt = fmt or detect_format(path)
    text = open_text(path, warn)
    try:
        if fmt == "csv":
            yield from _csv_rows(path, text)
        elif fmt == "jsonl":
            yield from _jsonl_rows(path, text)
        else:
            raise InputError(f"unknown input format {fmt!r} (use csv or jsonl)")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: undecodable text near byte {exc.start}: {exc.reason}") from exc
    finally:
        text.close()


def _row(line: int, number: int, values: dict[str, Any]) -> BatchRow | RowProblem:
    raw_id = values.get("id")
    rid = str(raw_id).strip() if raw_id not in (None, "") else str(number)
    name = values.get("name")
    if name is None or (isinstance(name, str) and not name.strip()):
        return RowProblem(id=rid, line=line, message="name is empty")
    if not isinstance(name, str):
        return RowProblem(id=rid, line=line, message="name must be text")
    if len(name) > MAX_NAME_LENGTH:
        return RowProblem(
            id=rid, line=line, message=f"name is longer than {MAX_NAME_LENGTH} characters"
        )
    if "\x00" in name:
        return RowProblem(id=rid, line=line, message="name contains binary data")
    extra = {k: v for k, v in values.items() if k not in ("id", "name", "country", "type") and k}

    def text(key: str) -> str | None:
        v = values.get(key)
        if v is None:
            return None
        s = str(v).strip()
        return s or None

    return BatchRow(id=rid, name=name, country=text("country"), type=text("type"), **extra)


def _csv_rows(path: Path, text: IO[str]) -> Iterator[BatchRow | RowProblem]:
    sample = text.read(_SNIFF_BYTES)
    text.seek(0)
    if not sample.strip():
        raise InputError(f"{path}: empty file")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    if delimiter == "," and sample.split("\n", 1)[0].count(";") > sample.split("\n", 1)[0].count(
        ","
    ):
        delimiter = ";"
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise InputError(f"{path}: line 1: {exc}") from exc
    columns = [h.strip().lstrip("\ufeff").casefold() for h in header]
    if "name" not in columns:
        raise InputError(
            f"{path}: the header has no 'name' column (found: {', '.join(columns)[:200]})"
        )
    number = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield RowProblem(id=str(number), line=reader.line_num, message=f"malformed CSV: {exc}")
            continue
        if not values or not any(v.strip() for v in values):
            continue  # blank line
        number += 1
        if len(values) > len(columns):
            extra_values = values[len(columns) :]
            if any(v.strip() for v in extra_values):
                yield RowProblem(
                    id=str(number),
                    line=reader.line_num,
                    message=f"{len(values)} fields where the header has {len(columns)}",
                )
                continue
            values = values[: len(columns)]
        record = dict(zip(columns, values, strict=False))
        yield _row(reader.line_num, number, record)


def _jsonl_rows(path: Path, text: IO[str]) -> Iterator[BatchRow | RowProblem]:
    number = 0
    for line_no, line in enumerate(text, start=1):
        if not line.strip():
            continue
        number += 1
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RowProblem(id=str(number), line=line_no, message=f"not JSON: {exc.msg}")
            continue
        if not isinstance(value, dict):
            yield RowProblem(id=str(number), line=line_no, message="not a JSON object")
            continue
        yield _row(line_no, number, {str(k).casefold(): v for k, v in value.items()})
