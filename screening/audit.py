"""The audit trail: an append-only, tamper-evident record of every screening.

Every screening (``check``, ``batch``, ``shipment``, ``register`` add/remove, ``rescreen``,
``decide``) appends one record to ``HOME/audit/YYYY-MM.jsonl`` (one file per month, owner-only
permissions). A record holds what was screened, what came out, against which list snapshots
(ids and SHA-256s), with which threshold, rule-set and tool version, when (UTC) and by whom::

    {"hash":"…","input":{…},"kind":"check","prev_hash":"…","results":[…],"ruleset_version":null,
     "seq":42,"snapshots":[{"id":7,"sha256":"…","source":"ofac_sdn"}],"threshold":0.85,
     "ts":"2026-11-22T21:05:55.123456Z","user":"alice","v":1,"version":"0.1.0"}

**Tamper evidence.** ``hash`` is the SHA-256 of the record's canonical JSON (keys sorted, no
spaces, UTF-8) without ``hash``; ``prev_hash`` is the previous record's ``hash`` (64 zeros for
the first), and ``seq`` counts from 1 without gaps. Each line is the canonical JSON of the whole
record, so changing any byte of a record, removing or reordering records, or dropping a file
breaks the chain. ``HOME/audit/HEAD`` holds the last ``seq`` and ``hash``: cutting records off
the end shows as a gap against it (and a later append keeps the gap visible). Record the head
hash somewhere else from time to time (``screening audit verify`` prints it) and not even a
rewrite of the whole chain goes unnoticed.

**Concurrency.** Appends from several processes and threads are serialised by an advisory lock
(``flock``) on ``HOME/audit/.lock``; each record is written with one ``write`` on a file opened
for appending and ``fsync``-ed before the lock is released. A write that fails half-way (disk
full) is cut back, so a partial line never stays behind.

**Size.** Results are stored compactly (:func:`compact`): a hit is
``[source, entry_id, score, matched_name]``; a batch row is ``[id, name, country, type, hits]``.
Closed months may be compressed (``gzip 2026-10.jsonl``): the chain is over the records, not
the files' bytes, and ``verify``/``export`` read ``.jsonl.gz`` files too.
"""

from __future__ import annotations

import csv
import getpass
import gzip
import hashlib
import json
import os
import re
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from screening.errors import InputError, LockedError, StoreError
from screening.lock import try_lock, unlock
from screening.models import Hit, SnapshotRef

if TYPE_CHECKING:
    from screening.config import Settings

__all__ = [
    "FORMAT_VERSION",
    "GENESIS_HASH",
    "KINDS",
    "AuditLog",
    "AuditRecord",
    "AuditVerification",
    "compact",
    "compact_hit",
    "record_hash",
]

#: The layout version of a record (``v``): bump it when a field changes meaning.
FORMAT_VERSION = 1
#: ``prev_hash`` of the first record.
GENESIS_HASH = "0" * 64
#: What a record can be about.
KINDS = ("check", "batch", "shipment", "register", "rescreen", "decide")

AUDIT_DIR = "audit"
LOCK_FILE = ".lock"
HEAD_FILE = "HEAD"
_FILE_RE = re.compile(r"^(\d{4}-\d{2})\.jsonl(\.gz)?$")
_LOCK_TIMEOUT = 60.0
_POLL = 0.02
_TAIL_BLOCK = 64 * 1024

# -- canonical form ---------------------------------------------------------------------------


def canonical_bytes(value: object) -> bytes:
    """Canonical JSON: keys sorted, no whitespace, UTF-8, no NaN or infinity."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def record_hash(payload: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of a record's canonical JSON without its ``hash`` field."""
    body = {k: v for k, v in payload.items() if k != "hash"}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# -- compact results ----------------------------------------------------------------------------


def compact_hit(hit: Hit) -> list[Any]:
    """``[source, entry_id, score, matched_name]``: what a record keeps of a hit."""
    return [hit.source, hit.entry_id, hit.score, hit.matched_name]


def compact(value: object) -> Any:
    """A value as compact JSON data for an audit record.

    Hits become ``[source, entry_id, score, matched_name]``; a batch row (``BatchRow``) becomes
    ``[id, name, country, type]`` and a batch result (``BatchResult``) ``[id, name, country,
    type, hits]`` (``[id, name, country, type, null, error]`` when it was rejected); snapshot
    references become ``[source, snapshot_id, sha256]``; other models keep their fields that are
    not at their default value, without hit explanations (recomputable from the input and the
    snapshot) and snapshot lists (the record names its snapshots once). Datetimes become
    ISO-8601 strings, enums their values.
    """
    BatchResult, BatchRow, RejectedRow = _batch_types()
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, Hit):
        return compact_hit(value)
    if isinstance(value, BatchResult):
        if value.error is not None:
            return [value.id, value.name, value.country, value.type, None, value.error]
        return [
            value.id,
            value.name,
            value.country,
            value.type,
            [compact_hit(h) for h in value.hits],
        ]
    if isinstance(value, BatchRow):
        return [value.id, value.name, value.country, value.type]
    if isinstance(value, RejectedRow):
        return {"id": value.id, "line": value.line, "error": value.message}
    if isinstance(value, SnapshotRef):
        return [value.source, value.snapshot_id, value.sha256]
    if isinstance(value, Enum):
        return compact(value.value)
    if isinstance(value, datetime):
        return _ts(value) if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, BaseModel):
        out: dict[str, Any] = {}
        fields = type(value).model_fields
        for name, info in fields.items():
            if name in ("explanation", "snapshots"):
                continue  # recomputable from input and snapshot; the record names snapshots
            v = getattr(value, name)
            if v is None or v == info.default or (isinstance(v, tuple | list | dict) and not v):
                continue
            out[name] = compact(v)
        return out
    if isinstance(value, Mapping):
        return {str(k): compact(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [compact(v) for v in items]
    raise InputError(f"cannot record a {type(value).__name__} in the audit trail")


@cache
def _batch_types() -> tuple[type[Any], type[Any], type[Any]]:
    # Imported on first use: the screener may one day record its own screenings here.
    from screening.screener import BatchResult, BatchRow, RejectedRow

    return BatchResult, BatchRow, RejectedRow


def _snapshot_refs(snapshots: Sequence[SnapshotRef]) -> list[dict[str, Any]]:
    """``{"source", "id", "sha256"}`` per snapshot, plus ``"seed": true`` / ``"stale": true``
    when the screening used the bundled seed or a snapshot older than the allowed age."""
    out = []
    for s in sorted(snapshots, key=lambda s: (s.source, s.snapshot_id)):
        ref: dict[str, Any] = {"source": s.source, "id": s.snapshot_id, "sha256": s.sha256}
        if s.origin == "seed":
            ref["seed"] = True
        if s.stale:
            ref["stale"] = True
        out.append(ref)
    return out


# -- public models ------------------------------------------------------------------------------


class AuditRecord(BaseModel):
    """One record of the audit trail, as stored."""

    model_config = ConfigDict(frozen=True)

    v: int
    seq: int
    ts: datetime
    kind: str
    version: str
    user: str | None = None
    input: Any = None
    results: Any = None
    snapshots: tuple[dict[str, Any], ...] = ()
    ruleset_version: str | None = None
    threshold: float | None = None
    prev_hash: str
    hash: str

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> AuditRecord:
        data = dict(payload)
        data["ts"] = _parse_ts(str(data["ts"]))
        return cls.model_validate(data)

    def payload(self) -> dict[str, Any]:
        """The record as stored (the data its hash covers, plus ``hash``)."""
        return {
            "v": self.v,
            "seq": self.seq,
            "ts": _ts(self.ts),
            "kind": self.kind,
            "version": self.version,
            "user": self.user,
            "input": self.input,
            "results": self.results,
            "snapshots": list(self.snapshots),
            "ruleset_version": self.ruleset_version,
            "threshold": self.threshold,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


class AuditVerification(BaseModel):
    """What ``verify`` found: ``ok``, or the first broken record and why."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    records: int  # records checked and found intact (before the first broken one)
    files: tuple[str, ...] = ()
    last_seq: int | None = None
    last_hash: str | None = None
    broken_seq: int | None = None
    broken_file: str | None = None
    broken_line: int | None = None
    reason: str | None = None

    @property
    def message(self) -> str:
        if self.ok:
            if not self.records:
                return "audit trail is empty"
            return (
                f"audit trail intact: {self.records:,} records in {len(self.files)} file(s); "
                f"head seq {self.last_seq} hash {self.last_hash}"
            )
        where = ""
        if self.broken_file is not None:
            where = f" ({self.broken_file}" + (
                f" line {self.broken_line})" if self.broken_line is not None else ")"
            )
        what = f"record {self.broken_seq}" if self.broken_seq is not None else "the trail"
        return f"audit trail broken at {what}{where}: {self.reason}"


@dataclass(frozen=True)
class _Line:
    file: str
    line: int
    raw: bytes


# -- the log ------------------------------------------------------------------------------------


class AuditLog:
    """The audit trail of one data directory. Cheap to open; safe across processes."""

    def __init__(self, directory: Path, *, lock_timeout: float = _LOCK_TIMEOUT) -> None:
        self.directory = Path(directory)
        self.lock_timeout = lock_timeout
        self._thread_lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings) -> AuditLog:
        return cls(settings.home / AUDIT_DIR)

    # -- appending ------------------------------------------------------------------------

    def append(
        self,
        kind: str,
        *,
        input: object,
        results: object,
        snapshots: Sequence[SnapshotRef],
        threshold: float | None = None,
        ruleset_version: str | None = None,
    ) -> AuditRecord:
        """Append one record and return it (with its ``seq`` and ``hash``).

        ``input`` and ``results`` are made compact with :func:`compact` (models, hits, batch
        rows and results, plain JSON data). Raises :class:`~screening.errors.StoreError` when
        the trail cannot be written, :class:`~screening.errors.LockedError` when another
        process holds its lock for longer than the timeout.
        """
        from screening import __version__

        if kind not in KINDS:
            raise InputError(f"unknown audit record kind {kind!r} (one of {', '.join(KINDS)})")
        body = {
            "v": FORMAT_VERSION,
            "kind": kind,
            "version": __version__,
            "user": _user(),
            "input": compact(input),
            "results": compact(results),
            "snapshots": _snapshot_refs(snapshots),
            "ruleset_version": ruleset_version,
            "threshold": None if threshold is None else round(float(threshold), 6),
        }
        with self._locked():
            last_seq, last_hash, last_month = self._tail()
            head = self._read_head()
            seq = max(last_seq, head[0] if head else 0) + 1
            now = datetime.now(UTC)
            month = max(now.strftime("%Y-%m"), last_month or "")
            payload = dict(body, seq=seq, ts=_ts(now), prev_hash=last_hash)
            payload["hash"] = record_hash(payload)
            self._write_line(self.directory / f"{month}.jsonl", canonical_bytes(payload) + b"\n")
            self._write_head(seq, payload["hash"])
        return AuditRecord.from_payload(payload)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(
                f"cannot open the audit trail {self.directory}: {exc.strerror or exc}"
            ) from exc
        try:
            with self._thread_lock:
                deadline = time.monotonic() + self.lock_timeout
                while not try_lock(fd):
                    if time.monotonic() >= deadline:
                        raise LockedError(
                            f"the audit trail {self.directory} is locked by another process "
                            f"(waited {self.lock_timeout:g} s)"
                        )
                    time.sleep(_POLL)
                try:
                    yield
                finally:
                    unlock(fd)
        finally:
            os.close(fd)

    def _files(self) -> list[tuple[str, Path]]:
        """(month, path) of every record file, in chain order (a month's closed ``.gz`` part
        before its open ``.jsonl``)."""
        if not self.directory.is_dir():
            return []
        found = []
        for p in self.directory.iterdir():
            m = _FILE_RE.match(p.name)
            if m and p.is_file():
                found.append((m.group(1), 0 if m.group(2) else 1, p))
        found.sort(key=lambda t: (t[0], t[1]))
        return [(month, p) for month, _, p in found]

    def _tail(self) -> tuple[int, str, str | None]:
        """seq and hash of the last record, and the month of its file (0, genesis, None if
        there is none)."""
        for month, path in reversed(self._files()):
            raw = _last_line(path)
            if raw is None:
                continue
            try:
                rec = json.loads(raw)
                return int(rec["seq"]), str(rec["hash"]), month
            except (ValueError, KeyError, TypeError) as exc:
                raise StoreError(
                    f"the last audit record in {path} is unreadable ({exc}); "
                    "run `screening audit verify`"
                ) from exc
        return 0, GENESIS_HASH, None

    def _write_line(self, path: Path, data: bytes) -> None:
        created = not path.exists()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot write the audit trail {path}: {exc.strerror}") from exc
        try:
            size = os.fstat(fd).st_size
            if size and not _ends_with_newline(path, size):
                raise StoreError(
                    f"{path} ends with an incomplete audit record (a crash while writing?); "
                    "run `screening audit verify` and move the incomplete line aside"
                )
            try:
                view = memoryview(data)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                os.fsync(fd)
            except OSError as exc:
                try:
                    os.ftruncate(fd, size)  # never leave half a record behind
                except OSError:
                    pass
                raise StoreError(f"cannot write the audit trail {path}: {exc.strerror}") from exc
        finally:
            os.close(fd)
        if created:
            _fsync_dir(path.parent)

    def _read_head(self) -> tuple[int, str] | None:
        try:
            text = (self.directory / HEAD_FILE).read_text(encoding="ascii").split()
            return int(text[0]), text[1]
        except (OSError, ValueError, IndexError, UnicodeDecodeError):
            return None

    def _write_head(self, seq: int, digest: str) -> None:
        path = self.directory / HEAD_FILE
        tmp = path.with_name(f".{HEAD_FILE}.{os.getpid()}.{threading.get_ident()}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, f"{seq} {digest}\n".encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot write {path}: {exc.strerror}") from exc

    # -- reading --------------------------------------------------------------------------

    def _lines(self, since_month: str | None = None) -> Iterator[_Line]:
        for month, path in self._files():
            if since_month is not None and month < since_month:
                continue
            try:
                opener = gzip.open if path.suffix == ".gz" else open
                with opener(path, "rb") as f:
                    for n, raw in enumerate(f, start=1):
                        yield _Line(path.name, n, raw)
            except (OSError, EOFError) as exc:
                raise StoreError(f"cannot read the audit trail {path}: {exc}") from exc

    def records(self, since: datetime | None = None) -> Iterator[AuditRecord]:
        """Every readable record, in order (``since``: those at or after that time)."""
        since_utc = _utc(since) if since else None
        month = since_utc.strftime("%Y-%m") if since_utc else None
        for line in self._lines(month):
            try:
                rec = AuditRecord.from_payload(json.loads(line.raw))
            except (ValueError, KeyError, TypeError) as exc:
                raise StoreError(
                    f"unreadable audit record in {line.file} line {line.line}: {exc}; "
                    "run `screening audit verify`"
                ) from exc
            if since_utc is None or rec.ts >= since_utc:
                yield rec

    def verify(self) -> AuditVerification:
        """Check the whole chain: every record's canonical form and hash, the sequence, the
        links, and the head. Stops at the first broken record."""
        files = tuple(p.name for _, p in self._files())
        prev_seq, prev_hash, count = 0, GENESIS_HASH, 0

        def broken(line: _Line | None, seq: int | None, reason: str) -> AuditVerification:
            return AuditVerification(
                ok=False,
                records=count,
                files=files,
                last_seq=prev_seq or None,
                last_hash=prev_hash if prev_seq else None,
                broken_seq=seq,
                broken_file=line.file if line else None,
                broken_line=line.line if line else None,
                reason=reason,
            )

        for line in self._lines():
            expected = prev_seq + 1
            if not line.raw.endswith(b"\n"):
                return broken(line, expected, "incomplete record (no end of line)")
            try:
                payload = json.loads(line.raw)
            except (ValueError, UnicodeDecodeError):
                return broken(line, expected, "not valid JSON: the record was altered")
            if not isinstance(payload, dict) or not isinstance(payload.get("seq"), int):
                return broken(line, expected, "not an audit record: the record was altered")
            # An altered record is named by its place in the chain, whatever its seq now says.
            if canonical_bytes(payload) + b"\n" != line.raw:
                return broken(line, expected, "not in canonical form: the record was altered")
            if payload.get("hash") != record_hash(payload):
                return broken(line, expected, "hash mismatch: the record was altered")
            seq = payload["seq"]
            if seq != expected:
                what = (
                    f"records {expected}–{seq - 1} are missing"
                    if seq > expected
                    else f"sequence goes back (expected {expected})"
                )
                return broken(line, seq, what)
            if payload.get("prev_hash") != prev_hash:
                return broken(line, seq, "prev_hash does not match the previous record's hash")
            prev_seq, prev_hash = seq, payload["hash"]
            count += 1
        head = self._read_head()
        if head is not None:
            head_seq, head_hash = head
            if head_seq > prev_seq:
                return broken(
                    None,
                    prev_seq + 1,
                    f"records {prev_seq + 1}–{head_seq} are missing from the end "
                    f"(HEAD says {head_seq})",
                )
            if head_seq == prev_seq and head_hash != prev_hash:
                return broken(None, prev_seq, "the last record differs from the one HEAD names")
        return AuditVerification(
            ok=True,
            records=count,
            files=files,
            last_seq=prev_seq or None,
            last_hash=prev_hash if prev_seq else None,
        )

    def export(
        self,
        since: datetime | None,
        fmt: Literal["jsonl", "csv"],
        out: IO[str],
    ) -> int:
        """Write the records at or after ``since`` (all when None) to ``out`` as JSON Lines
        (each record exactly as stored: hashes still verify) or CSV (one row per record,
        ``input``/``results``/``snapshots`` as JSON cells). Returns the number written."""
        if fmt not in ("jsonl", "csv"):
            raise InputError(f"unknown export format {fmt!r} (use jsonl or csv)")
        count = 0
        writer = None
        if fmt == "csv":
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(_CSV_COLUMNS)
        for rec in self.records(since):
            payload = rec.payload()
            if writer is None:
                out.write(canonical_bytes(payload).decode("utf-8") + "\n")
            else:
                writer.writerow([_csv_cell(payload[c]) for c in _CSV_COLUMNS])
            count += 1
        return count


_CSV_COLUMNS = (
    "seq",
    "ts",
    "kind",
    "version",
    "user",
    "threshold",
    "ruleset_version",
    "snapshots",
    "input",
    "results",
    "prev_hash",
    "hash",
)


def _csv_cell(value: Any) -> str:
    from screening.formats.safe import spreadsheet_safe

    if value is None:
        return ""
    if isinstance(value, str):
        return spreadsheet_safe(value)
    if isinstance(value, int | float):
        return str(value)
    return spreadsheet_safe(canonical_bytes(value).decode("utf-8"))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _user() -> str | None:
    name = os.environ.get("USER") or os.environ.get("USERNAME")
    if name:
        return name
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name for this uid (a container)
        return None


def _last_line(path: Path) -> bytes | None:
    """The last line of a record file (None when it holds none)."""
    if path.suffix == ".gz":
        last = None
        with gzip.open(path, "rb") as f:
            for raw in f:
                last = raw
        return last.rstrip(b"\n") if last and last.strip() else None
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        end = f.tell()
        if end == 0:
            return None
        buf = b""
        pos = end
        while pos > 0:
            step = min(_TAIL_BLOCK, pos)
            pos -= step
            f.seek(pos)
            buf = f.read(step) + buf
            body = buf.rstrip(b"\n")
            cut = body.rfind(b"\n")
            if cut >= 0:
                return body[cut + 1 :]
        body = buf.rstrip(b"\n")
        return body or None


def _ends_with_newline(path: Path, size: int) -> bool:
    with path.open("rb") as f:
        f.seek(size - 1)
        return f.read(1) == b"\n"


def _fsync_dir(directory: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
