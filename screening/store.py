"""Versioned list snapshots in SQLite: write, swap, diff, history.

One file, ``HOME/screening.sqlite3`` (owner-only, WAL mode so readers never wait for a writer:
see :mod:`screening._sqlite`). A snapshot is the complete list of one source as it was
retrieved once; entries are stored content-addressed
(``entry_data``: SHA-256 of the canonical JSON, i.e. ``ListEntry.content_hash()`` ->
zlib-compressed JSON of the entry with default-valued fields left out: a third smaller than the
canonical form and twice as fast to read back), so the next snapshot of
a list that changed by a few hundred entries adds a few hundred rows of data, not thirteen
thousand. ``snapshot_entries`` maps a snapshot to its entries, ``current`` names the snapshot each
source is screened against.

Writing a snapshot is one transaction: insert it, insert its entries, point ``current`` at it and
prune the snapshots beyond ``keep_snapshots``. A reader (one read transaction, see
:meth:`Store.read_current`) sees the old snapshot or the new one, never a mix; a writer killed
half-way leaves the old one current.

Snapshot ids come from ``AUTOINCREMENT`` and are never reused, so an id quoted in an audit
record names one snapshot forever (or none, once pruned).

Tables (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`):

- ``snapshots``: id, source, created_at, retrieved_at, published_at, checked_at, origin
  (download | import | seed), url, files_json (the raw files: name, URL, SHA-256, size,
  ETag, Last-Modified), record_count, skipped_json (reason -> rows skipped)
- ``entry_data``: hash (the 32 bytes of the SHA-256) -> zlib(JSON of a ListEntry without its
  default-valued fields)
- ``snapshot_entries``: (snapshot_id, entry_id) -> hash, seq (the parser's order)

An entry's JSON names its source, so ``entry_data`` rows are never shared between sources:
pruning a source's snapshots only has to look at that source's remaining snapshots.
- ``current``: source -> snapshot_id
- ``feed_state``: per download feed (url_id), the last fetch: checked_at, HTTP status, error
- ``source_state``: per source, the last refresh or import attempt: when, outcome, message

``checked_at`` is the last time a refresh found the source's files unchanged (HTTP 304 or the
same SHA-256s): the content is then known current as of that time although nothing new was
written. :mod:`screening._status` measures a downloaded snapshot's age from it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from screening._bulk import paused_gc
from screening._sqlite import SQLiteFile
from screening.errors import StoreError
from screening.models import ListEntry, RawFile, SnapshotInfo

if TYPE_CHECKING:
    from screening.config import Settings

__all__ = [
    "SCHEMA_VERSION",
    "FeedState",
    "SnapshotDiff",
    "SourceState",
    "Store",
    "canonical_json",
    "natural_key",
]

SCHEMA_VERSION = 1

Origin = Literal["download", "import", "seed"]
ORIGINS: tuple[str, ...] = ("download", "import", "seed")

_SCHEMA = """
CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL,
    retrieved_at TEXT NOT NULL,
    published_at TEXT,
    checked_at TEXT,
    origin TEXT NOT NULL CHECK (origin IN ('download', 'import', 'seed')),
    url TEXT,
    files_json TEXT NOT NULL,
    record_count INTEGER NOT NULL,
    skipped_json TEXT NOT NULL
);
CREATE INDEX snapshots_by_source ON snapshots (source, id);
CREATE TABLE entry_data (
    hash BLOB PRIMARY KEY,
    data BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE snapshot_entries (
    snapshot_id INTEGER NOT NULL,
    entry_id TEXT NOT NULL,
    hash BLOB NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, entry_id)
) WITHOUT ROWID;
CREATE TABLE current (
    source TEXT PRIMARY KEY,
    snapshot_id INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE feed_state (
    url_id TEXT PRIMARY KEY,
    url TEXT,
    etag TEXT,
    last_modified TEXT,
    checked_at TEXT,
    last_status TEXT,
    last_error TEXT
) WITHOUT ROWID;
CREATE TABLE source_state (
    source TEXT PRIMARY KEY,
    attempted_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    message TEXT,
    snapshot_id INTEGER
) WITHOUT ROWID;
"""

_SNAPSHOT_COLUMNS = (
    "id, source, created_at, retrieved_at, published_at, origin, url, files_json, "
    "record_count, skipped_json, checked_at"
)

_ENTRY_LIST: TypeAdapter[list[ListEntry]] = TypeAdapter(list[ListEntry])


def canonical_json(entry: ListEntry) -> bytes:
    """The canonical JSON of an entry: ``ListEntry.content_hash()`` is its SHA-256."""
    payload = json.dumps(entry.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return payload.encode("utf-8")


def natural_key(entry_id: str) -> tuple[int, int, str]:
    """Sort key putting numeric ids (OFAC ent_num) in numeric order, before other ids."""
    if entry_id.isdigit():
        return (0, int(entry_id), entry_id)
    return (1, 0, entry_id)


@dataclass(frozen=True)
class SnapshotDiff:
    """What changed from one snapshot to another, by entry id (each list sorted)."""

    old_id: int | None
    new_id: int
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True)
class FeedState:
    """The last fetch of a download feed."""

    url_id: str
    url: str | None
    etag: str | None
    last_modified: str | None
    checked_at: datetime | None
    last_status: str | None
    last_error: str | None


@dataclass(frozen=True)
class SourceState:
    """The last refresh or import attempt of a source."""

    source: str
    attempted_at: datetime
    outcome: str  # updated | unchanged | failed
    message: str | None
    snapshot_id: int | None


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _dt_required(value: str) -> datetime:
    return datetime.fromisoformat(value)


class Store(SQLiteFile):
    """The snapshot store. One SQLite connection; safe to share between threads (serialised).

    Open it with ``Store(path)`` or ``Store.open(settings)`` and close it (or use ``with``).
    Every method raises :class:`~screening.errors.StoreError` when the database cannot be
    read or written (read-only directory, corrupt file, disk full).
    """

    _kind = "store"
    _not_ours = "not a screening store; point SCREENING_HOME elsewhere or move the file aside"
    _schema = _SCHEMA
    _schema_version = SCHEMA_VERSION

    def __init__(self, path: Path | str, *, keep_snapshots: int = 5, timeout: float = 30.0) -> None:
        self.keep_snapshots = keep_snapshots
        super().__init__(path, timeout=timeout)

    @classmethod
    def open(cls, settings: Settings) -> Store:
        return cls(settings.store_path, keep_snapshots=settings.keep_snapshots)

    def _error(self, what: str, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in text:
            return StoreError(
                f"{what}: {self.path} is not a valid screening store ({text}); "
                "move it aside and run `screening refresh`"
            )
        if "malformed" in text or "corrupt" in text:
            return StoreError(
                f"{what}: {self.path} is corrupt ({text}); "
                "move it aside and run `screening refresh`"
            )
        return super()._error(what, exc)

    # -- reading ---------------------------------------------------------------------------

    @staticmethod
    def _info(row: Sequence[Any]) -> SnapshotInfo:
        files = tuple(RawFile.model_validate(f) for f in json.loads(row[7]))
        return SnapshotInfo(
            id=row[0],
            source=row[1],
            created_at=_dt_required(row[2]),
            retrieved_at=_dt_required(row[3]),
            published_at=_dt(row[4]),
            origin=row[5],
            url=row[6],
            files=files,
            record_count=row[8],
            skipped=json.loads(row[9]),
        )

    def current(self) -> dict[str, SnapshotInfo]:
        """Source id -> its current snapshot, for every source that has one."""
        with self._read("cannot read the store") as conn:
            rows = conn.execute(
                f"SELECT {_prefixed('s')} FROM current c JOIN snapshots s "
                "ON s.id = c.snapshot_id ORDER BY c.source"
            ).fetchall()
        return {row[1]: self._info(row) for row in rows}

    def read_current(
        self, sources: Iterable[str]
    ) -> dict[str, tuple[SnapshotInfo, list[ListEntry]]]:
        """The current snapshot and its entries for each source that has one, read in one
        transaction: a consistent set even while a refresh writes."""
        wanted = list(dict.fromkeys(sources))
        out: dict[str, tuple[SnapshotInfo, list[ListEntry]]] = {}
        with self._read("cannot read the store") as conn:
            for source in wanted:
                row = conn.execute(
                    f"SELECT {_prefixed('s')} FROM current c JOIN snapshots s "
                    "ON s.id = c.snapshot_id WHERE c.source = ?",
                    (source,),
                ).fetchone()
                if row is None:
                    continue
                info = self._info(row)
                out[source] = (info, self._entries(conn, info.id))
        return out

    def snapshot(self, snapshot_id: int) -> SnapshotInfo:
        with self._read("cannot read the store") as conn:
            row = conn.execute(
                f"SELECT {_SNAPSHOT_COLUMNS} FROM snapshots WHERE id = ?", (snapshot_id,)
            ).fetchone()
        if row is None:
            raise StoreError(f"no snapshot {snapshot_id} in the store (pruned or never written)")
        return self._info(row)

    def history(self, source: str) -> list[SnapshotInfo]:
        """Every stored snapshot of a source, newest first."""
        with self._read("cannot read the store") as conn:
            rows = conn.execute(
                f"SELECT {_SNAPSHOT_COLUMNS} FROM snapshots WHERE source = ? ORDER BY id DESC",
                (source,),
            ).fetchall()
        return [self._info(row) for row in rows]

    def checked_at(self, snapshot_id: int) -> datetime | None:
        """The last time a refresh confirmed this snapshot's files unchanged, if ever."""
        with self._read("cannot read the store") as conn:
            row = conn.execute(
                "SELECT checked_at FROM snapshots WHERE id = ?", (snapshot_id,)
            ).fetchone()
        return None if row is None else _dt(row[0])

    def entries(self, snapshot_id: int) -> list[ListEntry]:
        """The entries of a snapshot, in the order the parser produced them."""
        with self._read("cannot read the store") as conn:
            self._require(conn, snapshot_id)
            return self._entries(conn, snapshot_id)

    def entry_hashes(self, snapshot_id: int) -> dict[str, str]:
        """Entry id -> content hash (``ListEntry.content_hash()``) for a snapshot."""
        with self._read("cannot read the store") as conn:
            self._require(conn, snapshot_id)
            return self._hashes(conn, snapshot_id)

    def diff(self, old_id: int | None, new_id: int) -> SnapshotDiff:
        """Entries added, removed and changed from ``old_id`` (None: nothing) to ``new_id``."""
        with self._read("cannot read the store") as conn:
            self._require(conn, new_id)
            new = self._hashes(conn, new_id)
            if old_id is None:
                old: dict[str, str] = {}
            else:
                self._require(conn, old_id)
                old = self._hashes(conn, old_id)
        added = sorted(new.keys() - old.keys(), key=natural_key)
        removed = sorted(old.keys() - new.keys(), key=natural_key)
        changed = sorted((k for k in new.keys() & old.keys() if new[k] != old[k]), key=natural_key)
        return SnapshotDiff(old_id, new_id, added, removed, changed)

    def _require(self, conn: sqlite3.Connection, snapshot_id: int) -> None:
        if conn.execute("SELECT 1 FROM snapshots WHERE id = ?", (snapshot_id,)).fetchone() is None:
            raise StoreError(f"no snapshot {snapshot_id} in the store (pruned or never written)")

    @staticmethod
    def _hashes(conn: sqlite3.Connection, snapshot_id: int) -> dict[str, str]:
        rows = conn.execute(
            "SELECT entry_id, hash FROM snapshot_entries WHERE snapshot_id = ?", (snapshot_id,)
        )
        return {entry_id: digest.hex() for entry_id, digest in rows}

    def _entries(self, conn: sqlite3.Connection, snapshot_id: int) -> list[ListEntry]:
        rows = conn.execute(
            "SELECT d.data FROM snapshot_entries se JOIN entry_data d ON d.hash = se.hash "
            "WHERE se.snapshot_id = ? ORDER BY se.seq",
            (snapshot_id,),
        ).fetchall()
        try:
            # One JSON array validated in one call: far faster than an entry at a time.
            payload = b"[" + b",".join(zlib.decompress(row[0]) for row in rows) + b"]"
            with paused_gc():
                return _ENTRY_LIST.validate_json(payload)
        except (zlib.error, PydanticValidationError) as exc:
            raise StoreError(
                f"snapshot {snapshot_id} in {self.path} holds unreadable entries "
                f"({type(exc).__name__}); move the store aside and run `screening refresh`"
            ) from exc

    # -- writing ---------------------------------------------------------------------------

    def write_snapshot(
        self,
        source: str,
        entries: Sequence[ListEntry],
        *,
        origin: Origin,
        retrieved_at: datetime,
        published_at: datetime | None,
        url: str | None,
        files: Sequence[RawFile],
        skipped: dict[str, int],
        keep: int | None = None,
        only_if_absent: bool = False,
    ) -> SnapshotInfo:
        """Store a complete snapshot of ``source`` and make it current, in one transaction.

        Snapshots of the source beyond the newest ``keep`` (default: the store's
        ``keep_snapshots``, from ``Settings.keep_snapshots``) are pruned in the same transaction,
        with entry data no remaining snapshot refers to. With ``only_if_absent`` nothing is
        written when the source already has a snapshot (two processes seeding at once), and the
        current snapshot is returned instead.
        """
        if origin not in ORIGINS:
            raise StoreError(f"unknown snapshot origin {origin!r}")
        keep = self.keep_snapshots if keep is None else keep
        if keep < 1:
            raise StoreError("keep must be at least 1")
        rows_data: list[tuple[bytes, bytes]] = []
        rows_entries: list[tuple[str, bytes, int]] = []
        seen: set[str] = set()
        with paused_gc():
            for seq, entry in enumerate(entries):
                if entry.source != source:
                    raise StoreError(
                        f"entry {entry.entry_id} belongs to {entry.source!r}, not {source!r}"
                    )
                if entry.entry_id in seen:
                    raise StoreError(f"duplicate entry id {entry.entry_id} in a {source} snapshot")
                seen.add(entry.entry_id)
                digest = hashlib.sha256(canonical_json(entry)).digest()
                compact = entry.model_dump_json(exclude_defaults=True).encode("utf-8")
                rows_data.append((digest, zlib.compress(compact, 6)))
                rows_entries.append((entry.entry_id, digest, seq))
        files_json = json.dumps([f.model_dump(mode="json") for f in files])
        created = _now()
        with self._write(f"cannot write the {source} snapshot") as conn:
            if only_if_absent:
                row = conn.execute(
                    f"SELECT {_prefixed('s')} FROM current c JOIN snapshots s "
                    "ON s.id = c.snapshot_id WHERE c.source = ?",
                    (source,),
                ).fetchone()
                if row is not None:
                    return self._info(row)
            cur = conn.execute(
                "INSERT INTO snapshots (source, created_at, retrieved_at, published_at, origin, "
                "url, files_json, record_count, skipped_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    source,
                    _ts(created),
                    _ts(retrieved_at),
                    _ts(published_at),
                    origin,
                    url,
                    files_json,
                    len(rows_entries),
                    json.dumps(dict(sorted(skipped.items()))),
                ),
            )
            snapshot_id = cur.lastrowid
            assert snapshot_id is not None
            conn.executemany(
                "INSERT OR IGNORE INTO entry_data (hash, data) VALUES (?, ?)", rows_data
            )
            conn.executemany(
                "INSERT INTO snapshot_entries (snapshot_id, entry_id, hash, seq) "
                "VALUES (?, ?, ?, ?)",
                ((snapshot_id, eid, h, seq) for eid, h, seq in rows_entries),
            )
            conn.execute(
                "INSERT INTO current (source, snapshot_id) VALUES (?, ?) "
                "ON CONFLICT (source) DO UPDATE SET snapshot_id = excluded.snapshot_id",
                (source, snapshot_id),
            )
            self._prune(conn, source, keep)
            row = conn.execute(
                f"SELECT {_SNAPSHOT_COLUMNS} FROM snapshots WHERE id = ?", (snapshot_id,)
            ).fetchone()
        return self._info(row)

    @staticmethod
    def _prune(conn: sqlite3.Connection, source: str, keep: int) -> None:
        doomed = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM snapshots WHERE source = ? AND id NOT IN "
                "(SELECT snapshot_id FROM current) ORDER BY id DESC LIMIT -1 OFFSET ?",
                (source, keep - 1),
            )
        ]
        if not doomed:
            return
        doomed_set = set(doomed)
        kept = [
            row[0]
            for row in conn.execute("SELECT id FROM snapshots WHERE source = ?", (source,))
            if row[0] not in doomed_set
        ]
        hashes: set[bytes] = set()
        for sid in doomed:
            hashes.update(
                row[0]
                for row in conn.execute(
                    "SELECT hash FROM snapshot_entries WHERE snapshot_id = ?", (sid,)
                )
            )
            conn.execute("DELETE FROM snapshot_entries WHERE snapshot_id = ?", (sid,))
            conn.execute("DELETE FROM snapshots WHERE id = ?", (sid,))
        for sid in kept:  # entry data are per source: only its kept snapshots can share them
            hashes.difference_update(
                row[0]
                for row in conn.execute(
                    "SELECT hash FROM snapshot_entries WHERE snapshot_id = ?", (sid,)
                )
            )
        conn.executemany("DELETE FROM entry_data WHERE hash = ?", ((h,) for h in hashes))

    def mark_checked(self, snapshot_id: int, at: datetime | None = None) -> None:
        """Record that a refresh found this snapshot's files unchanged at ``at`` (now)."""
        with self._write("cannot update the store") as conn:
            conn.execute(
                "UPDATE snapshots SET checked_at = ? WHERE id = ?",
                (_ts(at or _now()), snapshot_id),
            )

    def update_validators(self, snapshot_id: int, files: Sequence[RawFile]) -> None:
        """Record where a snapshot's unchanged files were last downloaded from, with the
        validators (ETag, Last-Modified) that server gave them: the next refresh asks it
        conditionally. The files' bytes (SHA-256) are the snapshot's and do not change."""
        files_json = json.dumps([f.model_dump(mode="json") for f in files])
        with self._write("cannot update the store") as conn:
            conn.execute(
                "UPDATE snapshots SET files_json = ? WHERE id = ?", (files_json, snapshot_id)
            )

    # -- refresh bookkeeping ---------------------------------------------------------------

    def record_feed(
        self,
        url_id: str,
        *,
        url: str | None,
        status: str,
        error: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Remember the last fetch of a feed (for ``screening status``)."""
        with self._write("cannot update the store") as conn:
            conn.execute(
                "INSERT INTO feed_state (url_id, url, etag, last_modified, checked_at, "
                "last_status, last_error) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (url_id) DO UPDATE SET url = excluded.url, etag = excluded.etag, "
                "last_modified = excluded.last_modified, checked_at = excluded.checked_at, "
                "last_status = excluded.last_status, last_error = excluded.last_error",
                (url_id, url, etag, last_modified, _ts(at or _now()), status, error),
            )

    def feed_state(self, url_id: str) -> FeedState | None:
        with self._read("cannot read the store") as conn:
            row = conn.execute(
                "SELECT url_id, url, etag, last_modified, checked_at, last_status, last_error "
                "FROM feed_state WHERE url_id = ?",
                (url_id,),
            ).fetchone()
        if row is None:
            return None
        return FeedState(row[0], row[1], row[2], row[3], _dt(row[4]), row[5], row[6])

    def record_attempt(
        self,
        source: str,
        outcome: str,
        message: str | None = None,
        snapshot_id: int | None = None,
        at: datetime | None = None,
    ) -> None:
        """Remember the last refresh/import attempt of a source and its outcome."""
        with self._write("cannot update the store") as conn:
            conn.execute(
                "INSERT INTO source_state (source, attempted_at, outcome, message, snapshot_id) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET "
                "attempted_at = excluded.attempted_at, outcome = excluded.outcome, "
                "message = excluded.message, snapshot_id = excluded.snapshot_id",
                (source, _ts(at or _now()), outcome, message, snapshot_id),
            )

    def source_state(self, source: str) -> SourceState | None:
        with self._read("cannot read the store") as conn:
            row = conn.execute(
                "SELECT source, attempted_at, outcome, message, snapshot_id FROM source_state "
                "WHERE source = ?",
                (source,),
            ).fetchone()
        if row is None:
            return None
        return SourceState(row[0], _dt_required(row[1]), row[2], row[3], row[4])


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in _SNAPSHOT_COLUMNS.split(","))
