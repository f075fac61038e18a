"""An owner-only SQLite file in WAL mode with a versioned schema: what the snapshot store
(:mod:`screening.store`) and the counterparty register (:mod:`screening.register`) are built on.

:class:`SQLiteFile` opens (or creates) the file with owner-only permissions (the file 0600,
its directory 0700; SQLite gives its ``-wal`` and ``-shm`` files the permissions of the
database file), in WAL mode so that readers never wait for a writer, with a busy timeout and
``synchronous = FULL``. It creates the schema on first use and records its version in
``PRAGMA user_version``; a file of an older version is upgraded in one transaction by the
subclass's migration steps, and a newer version, or an SQLite database that is not one of ours,
is refused with a message. One connection, shared between threads and serialised by a lock.

Every failure becomes a :class:`~screening.errors.StoreError` whose message names the file and,
where it can tell, the cause: read-only directory, full disk; a subclass adds what a corrupt
file means for it (:meth:`SQLiteFile._error`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

from screening.errors import StoreError

__all__ = ["SQLiteFile"]


class SQLiteFile:
    """One SQLite database file and its connection (the base of ``Store`` and ``Register``).

    A subclass names the file (``_kind``), gives its schema and version, and may add to
    :meth:`_error`. Queries go through :meth:`_write` and :meth:`_read`, one transaction each.
    """

    #: What the file is called in messages: "cannot open the {_kind} PATH".
    _kind: ClassVar[str]
    #: What an SQLite database with other tables is not: "PATH is an SQLite database but …".
    _not_ours: ClassVar[str]
    #: ``CREATE`` statements separated by ``;``, run once in a new file.
    _schema: ClassVar[str]
    #: Recorded in ``PRAGMA user_version``; a file with a newer one is refused.
    _schema_version: ClassVar[int]
    #: How a file of an older schema version is brought up to date: version N -> the
    #: statements (separated by ``;``) that turn a version-N file into a version-N+1 one. All
    #: steps run in one transaction, so an upgrade that fails leaves the file as it was.
    _migrations: ClassVar[dict[int, str]] = {}

    def __init__(self, path: Path | str, *, timeout: float) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn = self._connect(timeout)
        try:
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    def _connect(self, timeout: float) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not self.path.exists():
                # Create the file with owner-only permissions; SQLite gives its -wal and -shm
                # files the permissions of the database file.
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        except OSError as exc:
            raise StoreError(
                f"cannot create the {self._kind} {self.path}: {exc.strerror or exc}"
            ) from exc
        try:
            conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the {self._kind} {self.path}: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"cannot open the {self._kind} {self.path}: WAL mode unavailable")
            conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as exc:
            conn.close()
            raise self._error(f"cannot open the {self._kind}", exc) from exc
        except StoreError:
            conn.close()
            raise
        return conn

    def _migrate(self) -> None:
        try:
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise self._error(f"cannot open the {self._kind}", exc) from exc
        if version == self._schema_version:
            return  # the usual case: no write transaction, so a read-only reader can open it
        with self._write(f"cannot initialise the {self._kind}") as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == self._schema_version:
                return
            if version > self._schema_version:
                raise StoreError(
                    f"the {self._kind} {self.path} has schema version {version}, newer than this "
                    f"version of screening understands ({self._schema_version}); upgrade screening"
                )
            tables = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()[0]
            if version == 0 and tables:
                raise StoreError(f"{self.path} is an SQLite database but {self._not_ours}")
            if version == 0:
                steps = [self._schema]
            else:
                missing = [
                    v for v in range(version, self._schema_version) if v not in self._migrations
                ]
                if missing:
                    raise StoreError(
                        f"the {self._kind} {self.path} has schema version {version}, which this "
                        f"version of screening cannot upgrade (no step from version {missing[0]})"
                    )
                steps = [self._migrations[v] for v in range(version, self._schema_version)]
            for script in steps:
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {int(self._schema_version)}")

    def _error(self, what: str, exc: sqlite3.Error) -> StoreError:
        """``exc`` as a one-line error: ``what`` failed, on which file, and the likely cause.
        A subclass recognises a corrupt file first (what to do about it depends on the file)."""
        text = str(exc)
        if "readonly" in text or "unable to open" in text:
            writable_dir = os.access(self.path.parent, os.W_OK)
            hint = (
                "the file is read-only"
                if writable_dir and not os.access(self.path, os.W_OK)
                else "is the directory writable?"
            )
            return StoreError(f"{what}: {self.path}: {text} ({hint})")
        if "disk is full" in text or "disk I/O error" in text:
            return StoreError(
                f"{what}: {self.path}: {text} (is the disk full?); nothing was changed"
            )
        return StoreError(f"{what}: {self.path}: {text}")

    def _begin(self, statement: str, what: str) -> sqlite3.Connection:
        try:
            self._conn.execute(statement)
        except sqlite3.Error as exc:
            raise self._error(what, exc) from exc
        return self._conn

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT), rolled back on any error; an
        SQLite error becomes a :class:`StoreError` saying ``what`` failed."""
        with self._lock:
            conn = self._begin("BEGIN IMMEDIATE", what)
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                if isinstance(exc, sqlite3.Error):
                    raise self._error(what, exc) from exc
                raise

    @contextmanager
    def _read(self, what: str | None = None) -> Iterator[sqlite3.Connection]:
        """One read transaction: every query inside sees the same database state. An SQLite
        error becomes a :class:`StoreError` saying ``what`` failed (default: "cannot read the
        register", or whatever the file is called)."""
        what = what or f"cannot read the {self._kind}"
        with self._lock:
            conn = self._begin("BEGIN", what)
            try:
                yield conn
            except sqlite3.Error as exc:
                raise self._error(what, exc) from exc
            finally:
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error:
                    pass

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
