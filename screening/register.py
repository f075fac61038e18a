"""The counterparty register: who is screened continuously, their alerts and analysts' decisions.

One SQLite file, ``HOME/register.sqlite3`` (owner-only, WAL: readers never wait for a writer;
see :mod:`screening._sqlite`).

- ``counterparties``: the register id (the caller's own, required), name, country, type, the
  extra fields as they came (JSON), when added and updated, and the state of the last screening:
  when, the snapshot ids it was screened against (``{source: snapshot_id}``), the threshold,
  the matcher version and a fingerprint of the name as the matcher prepared it. Re-screening only
  the list entries that changed since is exact while those are unchanged (see
  :mod:`screening.rescreen`). ``rev`` counts writes: a re-screen never overwrites a counterparty
  that changed while it ran.
- ``alerts``: per counterparty its current hits: list entry (source, entry id), the entry's
  content hash when it was screened, score, matched name, the whole hit (JSON, with its
  explanation), first and last seen, and a status: ``open`` (to review), ``false_positive`` or
  ``true_match`` (decided).
- ``decisions``: every analyst decision, kept for good (also after a counterparty is removed):
  counterparty, list entry and its content hash, a fingerprint of the counterparty as it was,
  ``false_positive`` or ``true_match``, reason, analyst, when. The latest decision on an alert
  applies while the counterparty is unchanged; a false positive only while the list entry is
  unchanged too (same content hash): when the entry changes, the alert opens again.

Every change (add, remove, re-screen, decision) also appends a record to the audit trail
(:mod:`screening.audit`) in the same transaction: if the record cannot be written, nothing
changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from screening._sqlite import SQLiteFile
from screening.errors import InputError, StoreError
from screening.inputs import extra_fields, field_text, name_problem, read_rows
from screening.models import Hit, SnapshotRef
from screening.screener import BatchRow, RejectedRow, parse_kind

if TYPE_CHECKING:
    from screening.audit import AuditRecord
    from screening.config import Settings
    from screening.screener import Screener

__all__ = [
    "REGISTER_FILE",
    "AddReport",
    "Alert",
    "AlertEvent",
    "AlertStatus",
    "Counterparty",
    "Decision",
    "DecisionKind",
    "Register",
    "add_counterparties",
    "add_file",
    "counterparty_fingerprint",
    "decide",
    "parse_entry_ref",
    "read_register_rows",
    "remove_counterparties",
]

REGISTER_FILE = "register.sqlite3"
SCHEMA_VERSION = 1
#: Longest register id accepted.
MAX_ID_LENGTH = 200

AlertStatus = Literal["open", "false_positive", "true_match"]
DecisionKind = Literal["false_positive", "true_match"]
EventKind = Literal["new", "reopened", "updated", "removed"]

_SCHEMA = """
CREATE TABLE counterparties (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    country TEXT,
    type TEXT,
    extra_json TEXT NOT NULL,
    added_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    rev INTEGER NOT NULL,
    screened_at TEXT,
    snapshots_json TEXT,
    threshold REAL,
    matcher TEXT,
    query_fp TEXT,
    problem TEXT
) WITHOUT ROWID;
CREATE TABLE alerts (
    counterparty_id TEXT NOT NULL,
    source TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    entry_hash TEXT NOT NULL,
    snapshot_id INTEGER,
    score REAL NOT NULL,
    matched_name TEXT NOT NULL,
    hit_json TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'false_positive', 'true_match')),
    PRIMARY KEY (counterparty_id, source, entry_id)
) WITHOUT ROWID;
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    counterparty_id TEXT NOT NULL,
    source TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    entry_hash TEXT NOT NULL,
    counterparty_fp TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('false_positive', 'true_match')),
    reason TEXT NOT NULL,
    analyst TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
CREATE INDEX decisions_by_alert ON decisions (counterparty_id, source, entry_id, id);
"""


# -- models -------------------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Counterparty(_Frozen):
    """A counterparty in the register and the state of its last screening."""

    id: str
    name: str
    country: str | None = None
    type: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    added_at: datetime
    updated_at: datetime
    screened_at: datetime | None = None
    snapshots: dict[str, int] = Field(default_factory=dict)  # source -> snapshot id screened
    threshold: float | None = None
    open_alerts: int = 0
    problem: str | None = None  # why it could not be screened, if it could not


class Alert(_Frozen):
    """A current hit of a counterparty on a list entry."""

    counterparty_id: str
    source: str
    entry_id: str
    entry_hash: str  # the list entry's content hash when it was last screened
    snapshot_id: int | None
    score: float
    matched_name: str
    hit: Hit
    first_seen: datetime
    last_seen: datetime
    status: AlertStatus


class Decision(_Frozen):
    """An analyst's decision on an alert."""

    id: int
    counterparty_id: str
    source: str
    entry_id: str
    entry_hash: str
    decision: DecisionKind
    reason: str
    analyst: str
    decided_at: datetime


class AlertEvent(_Frozen):
    """A change to a counterparty's alerts: a ``new`` alert, a false positive ``reopened``
    because its list entry changed, an alert ``updated`` (entry or score changed, still a
    hit) or ``removed`` (entry delisted, changed and no longer a hit, counterparty changed)."""

    event: EventKind
    counterparty_id: str
    name: str
    country: str | None = None
    type: str | None = None
    source: str
    entry_id: str
    status: AlertStatus | None = None  # after the change (None once removed)
    score: float | None = None
    matched_name: str | None = None
    hit: Hit | None = None
    reason: str | None = None

    @property
    def alerts(self) -> bool:
        """True for the events to act on: a new open (or true-match) alert or a reopened one."""
        return self.event in ("new", "reopened")

    def compact(self) -> list[Any]:
        """``[counterparty id, source, entry id, score, matched name]`` (or the reason when
        removed), for the audit trail."""
        if self.event == "removed":
            return [self.counterparty_id, self.source, self.entry_id, self.reason]
        out: list[Any] = [
            self.counterparty_id,
            self.source,
            self.entry_id,
            self.score,
            self.matched_name,
        ]
        if self.status != "open":
            out.append(self.status)
        return out


class AddReport(_Frozen):
    """What ``register add`` did."""

    added: int = 0
    updated: int = 0  # name, country or type changed: screened again
    updated_extra: int = 0  # only extra fields changed: not screened again
    unchanged: int = 0
    screened: int = 0
    rejected: tuple[RejectedRow, ...] = ()
    events: tuple[AlertEvent, ...] = ()
    open_alerts: int = 0  # open alerts of the counterparties screened
    warnings: tuple[str, ...] = ()
    snapshots: tuple[SnapshotRef, ...] = ()
    audit_seq: int | None = None

    @property
    def new_alerts(self) -> list[AlertEvent]:
        return [e for e in self.events if e.alerts]


# -- plain data passed between the screening engine and the store -------------------------------


@dataclass(frozen=True)
class CounterpartyData:
    """A counterparty as given (validated)."""

    id: str
    name: str
    country: str | None
    type: str | None
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: fields the input did not have ("country", "type"): an existing counterparty keeps its own
    unset: frozenset[str] = frozenset()

    @property
    def fingerprint(self) -> str:
        return counterparty_fingerprint(self.name, self.country, self.type)


@dataclass(frozen=True)
class CounterpartyState:
    """A stored counterparty and its screening state (what a re-screen needs)."""

    id: str
    name: str
    country: str | None
    type: str | None
    rev: int
    screened_at: datetime | None
    snapshots: dict[str, int]
    threshold: float | None
    matcher: str | None
    query_fp: str | None
    problem: str | None


@dataclass(frozen=True)
class ScreeningOutcome:
    """The complete current hits of one counterparty after a screening, for :meth:`record`."""

    counterparty_id: str
    snapshots: Mapping[str, int]
    threshold: float
    matcher: str
    query_fp: str | None
    hits: Sequence[tuple[Hit, str]]  # (hit, the list entry's content hash)
    rev: int | None = None  # the rev it was screened at: skipped if it changed meanwhile
    problem: str | None = None
    #: Why an alert not among ``hits`` went away, by (source, entry id); else ``removal_reason``
    removal_reasons: Mapping[tuple[str, str], str] = field(default_factory=dict)
    removal_reason: str = "no longer a potential match at the threshold"


def counterparty_fingerprint(name: str, country: str | None, kind: str | None) -> str:
    """What a decision was about: the counterparty's name, country and type."""
    payload = json.dumps([name, country, kind], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _snapshot_ids(value: str | None) -> dict[str, int]:
    """A counterparty's stored ``snapshots_json``: source -> snapshot id."""
    return {k: int(v) for k, v in json.loads(value or "{}").items()}


# -- reading a register file ----------------------------------------------------------------------


def read_register_rows(
    path: Path, fmt: str | None = None, warn: Callable[[str], None] | None = None
) -> Iterator[BatchRow | RejectedRow]:
    """Stream the rows of a register file (CSV with a header, or JSONL).

    Unlike a batch file, every row needs its own ``id`` (the register id the caller knows the
    counterparty by): a CSV without an ``id`` column is refused, a row with an empty id is
    rejected with its line number. Other columns besides ``name``, ``country`` and ``type``
    are kept as they are.
    """
    return read_rows(
        path, fmt, warn, require_id=True, check=lambda line, _, values: validate_row(values, line)
    )


def validate_row(values: Mapping[str, Any], line: int) -> BatchRow | RejectedRow:
    """One register row checked: an id, a usable name, a known type (a bad country is only a
    warning when screened: the name is then screened more broadly, never less)."""
    raw_id = values.get("id")
    rid = "" if raw_id is None else str(raw_id).strip()
    if not rid:
        return RejectedRow(id="", line=line, message="id is empty (the register needs one)")
    if len(rid) > MAX_ID_LENGTH or any(ord(c) < 32 for c in rid):
        return RejectedRow(
            id=rid[:MAX_ID_LENGTH],
            line=line,
            message=f"id must be at most {MAX_ID_LENGTH} printable characters",
        )
    name = values.get("name")
    problem = name_problem(name)
    if problem is not None:
        return RejectedRow(id=rid, line=line, message=problem)
    assert isinstance(name, str)
    kind = field_text(values, "type")
    try:
        parse_kind(kind)
    except InputError as exc:
        return RejectedRow(id=rid, line=line, message=str(exc))
    # A field the row does not have at all (no such column in the file) is left unset, so
    # that adding the row keeps what the register holds for it; a blank one clears it.
    given = {"country": field_text(values, "country"), "type": kind}
    return BatchRow(
        id=rid,
        name=" ".join(name.split()),
        **{k: v for k, v in given.items() if k in values},
        **extra_fields(values),
    )


def parse_entry_ref(value: str) -> tuple[str, str]:
    """``"ofac_sdn:36"`` -> ``("ofac_sdn", "36")``."""
    source, sep, entry_id = value.strip().partition(":")
    if not sep or not source.strip() or not entry_id.strip():
        raise InputError(f"{value!r}: name the list entry as SOURCE:ENTRY_ID (e.g. ofac_sdn:36)")
    return source.strip(), entry_id.strip()


# -- the store ----------------------------------------------------------------------------------


class Register(SQLiteFile):
    """The register file. One connection; safe to share between threads (serialised)."""

    _kind = "register"
    _not_ours = "not a register"
    _schema = _SCHEMA
    _schema_version = SCHEMA_VERSION

    def __init__(self, path: Path | str, *, timeout: float = 60.0) -> None:
        super().__init__(path, timeout=timeout)

    @classmethod
    def open(cls, settings: Settings) -> Register:
        return cls(settings.home / REGISTER_FILE)

    def _error(self, what: str, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return StoreError(f"{what}: {self.path} is not a valid register ({text})")
        return super()._error(what, exc)

    # -- reading --------------------------------------------------------------------------

    def counterparties(self, ids: Iterable[str] | None = None) -> list[Counterparty]:
        """Counterparties (all, or those ``ids``), by id, with their number of open alerts."""
        sql = (
            "SELECT c.id, c.name, c.country, c.type, c.extra_json, c.added_at, c.updated_at, "
            "c.screened_at, c.snapshots_json, c.threshold, c.problem, "
            "(SELECT count(*) FROM alerts a WHERE a.counterparty_id = c.id "
            "AND a.status = 'open') FROM counterparties c"
        )
        with self._read() as conn:
            if ids is None:
                rows = conn.execute(sql + " ORDER BY c.id").fetchall()
            else:
                rows = [
                    r
                    for i in dict.fromkeys(ids)
                    for r in conn.execute(sql + " WHERE c.id = ?", (i,)).fetchall()
                ]
        return [
            Counterparty(
                id=r[0],
                name=r[1],
                country=r[2],
                type=r[3],
                extra=json.loads(r[4]),
                added_at=datetime.fromisoformat(r[5]),
                updated_at=datetime.fromisoformat(r[6]),
                screened_at=_dt(r[7]),
                snapshots=_snapshot_ids(r[8]),
                threshold=r[9],
                problem=r[10],
                open_alerts=r[11],
            )
            for r in rows
        ]

    def count(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT count(*) FROM counterparties").fetchone()[0])

    def states(self) -> list[CounterpartyState]:
        """Every counterparty's screening state, by id."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, name, country, type, rev, screened_at, snapshots_json, threshold, "
                "matcher, query_fp, problem FROM counterparties ORDER BY id"
            ).fetchall()
        # Most counterparties share their screening time and snapshots (screened in one run):
        # parse each distinct value once.
        stamps: dict[str | None, datetime | None] = {}
        snapshots: dict[str | None, dict[str, int]] = {}
        out = []
        for r in rows:
            stamp = stamps.get(r[5])
            if stamp is None and r[5] not in stamps:
                stamp = stamps[r[5]] = _dt(r[5])
            snaps = snapshots.get(r[6])
            if snaps is None:
                snaps = snapshots[r[6]] = _snapshot_ids(r[6])
            out.append(
                CounterpartyState(
                    id=r[0],
                    name=r[1],
                    country=r[2],
                    type=r[3],
                    rev=r[4],
                    screened_at=stamp,
                    snapshots=dict(snaps),
                    threshold=r[7],
                    matcher=r[8],
                    query_fp=r[9],
                    problem=r[10],
                )
            )
        return out

    def alerts(
        self, counterparty_id: str | None = None, status: AlertStatus | None = None
    ) -> list[Alert]:
        """Current alerts (of one counterparty, of one status), by counterparty, best first."""
        sql = (
            "SELECT counterparty_id, source, entry_id, entry_hash, snapshot_id, score, "
            "matched_name, hit_json, first_seen, last_seen, status FROM alerts"
        )
        where, args = [], []
        if counterparty_id is not None:
            where.append("counterparty_id = ?")
            args.append(counterparty_id)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY counterparty_id, score DESC, source, entry_id"
        with self._read() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [_alert(r) for r in rows]

    def decisions(self, counterparty_id: str | None = None) -> list[Decision]:
        """Every decision ever taken (on one counterparty), oldest first."""
        sql = (
            "SELECT id, counterparty_id, source, entry_id, entry_hash, decision, reason, "
            "analyst, decided_at FROM decisions"
        )
        args: tuple[str, ...] = ()
        if counterparty_id is not None:
            sql += " WHERE counterparty_id = ?"
            args = (counterparty_id,)
        with self._read() as conn:
            rows = conn.execute(sql + " ORDER BY id", args).fetchall()
        return [
            Decision(
                id=r[0],
                counterparty_id=r[1],
                source=r[2],
                entry_id=r[3],
                entry_hash=r[4],
                decision=r[5],
                reason=r[6],
                analyst=r[7],
                decided_at=datetime.fromisoformat(r[8]),
            )
            for r in rows
        ]

    def digest(self) -> str:
        """SHA-256 over every counterparty's (id, name, country, type), by id: names the
        register's content in an audit record without repeating it."""
        h = hashlib.sha256()
        with self._read() as conn:
            for row in conn.execute(
                "SELECT id, name, country, type FROM counterparties ORDER BY id"
            ):
                h.update(json.dumps(list(row), ensure_ascii=False).encode("utf-8") + b"\n")
        return h.hexdigest()

    # -- writing --------------------------------------------------------------------------

    def record(
        self,
        outcomes: Sequence[ScreeningOutcome],
        *,
        upserts: Sequence[CounterpartyData] = (),
        audit: Callable[[list[AlertEvent], list[str]], AuditRecord | None] | None = None,
        now: datetime | None = None,
    ) -> tuple[list[AlertEvent], list[str]]:
        """In one transaction: insert or update ``upserts``, then record each outcome (the
        counterparty's screening state and its complete set of current hits), and call
        ``audit(events, skipped)`` before committing (an error there rolls everything back).

        Returns the alert events and the ids of outcomes skipped because the counterparty
        changed (or was removed) after it was screened.
        """
        now = now or _now()
        stamp = _ts(now)
        events: list[AlertEvent] = []
        skipped: list[str] = []
        with self._write("cannot write the register") as conn:
            for cp in upserts:
                self._upsert(conn, cp, stamp)
            # Read once what the outcomes are checked against (inside the write transaction:
            # nobody else writes until it ends).
            if len(outcomes) > 100:
                current = {
                    r[0]: r[1:]
                    for r in conn.execute("SELECT id, name, country, type, rev FROM counterparties")
                }
            else:
                current = {
                    o.counterparty_id: r
                    for o in outcomes
                    if (
                        r := conn.execute(
                            "SELECT name, country, type, rev FROM counterparties WHERE id = ?",
                            (o.counterparty_id,),
                        ).fetchone()
                    )
                    is not None
                }
            alerted = {r[0] for r in conn.execute("SELECT DISTINCT counterparty_id FROM alerts")}
            updates = []
            snapshots_json: dict[tuple[tuple[str, int], ...], str] = {}
            for out in outcomes:
                row = current.get(out.counterparty_id)
                if row is None or (out.rev is not None and row[3] != out.rev):
                    skipped.append(out.counterparty_id)
                    continue
                name, country, kind, _ = row
                snaps = tuple(sorted(out.snapshots.items()))
                snaps_json = snapshots_json.get(snaps)
                if snaps_json is None:
                    snaps_json = snapshots_json[snaps] = json.dumps(dict(snaps))
                updates.append(
                    (
                        stamp,
                        snaps_json,
                        out.threshold,
                        out.matcher,
                        out.query_fp,
                        out.problem,
                        out.counterparty_id,
                    )
                )
                if out.hits or out.counterparty_id in alerted:
                    events.extend(
                        self._replace_alerts(
                            conn,
                            out,
                            CounterpartyData(out.counterparty_id, name, country, kind),
                            stamp,
                        )
                    )
            conn.executemany(
                "UPDATE counterparties SET screened_at = ?, snapshots_json = ?, threshold = ?, "
                "matcher = ?, query_fp = ?, problem = ?, rev = rev + 1 WHERE id = ?",
                updates,
            )
            if audit is not None:
                audit(events, skipped)
        return events, skipped

    @staticmethod
    def _upsert(conn: sqlite3.Connection, cp: CounterpartyData, stamp: str) -> None:
        extra = json.dumps(dict(cp.extra), ensure_ascii=False, sort_keys=True, default=str)
        row = conn.execute(
            "SELECT name, country, type FROM counterparties WHERE id = ?", (cp.id,)
        ).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO counterparties (id, name, country, type, extra_json, added_at, "
                "updated_at, rev) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                (cp.id, cp.name, cp.country, cp.type, extra, stamp, stamp),
            )
            return
        conn.execute(
            "UPDATE counterparties SET name = ?, country = ?, type = ?, extra_json = ?, "
            "updated_at = ?, rev = rev + 1 WHERE id = ?",
            (cp.name, cp.country, cp.type, extra, stamp, cp.id),
        )

    @staticmethod
    def _latest_decisions(
        conn: sqlite3.Connection, counterparty_id: str
    ) -> dict[tuple[str, str], tuple[str, str, str]]:
        """(source, entry id) -> (decision, entry hash, counterparty fingerprint), latest."""
        out: dict[tuple[str, str], tuple[str, str, str]] = {}
        for source, entry_id, decision, entry_hash, cp_fp in conn.execute(
            "SELECT source, entry_id, decision, entry_hash, counterparty_fp FROM decisions "
            "WHERE counterparty_id = ? ORDER BY id",
            (counterparty_id,),
        ):
            out[(source, entry_id)] = (decision, entry_hash, cp_fp)
        return out

    def _replace_alerts(
        self,
        conn: sqlite3.Connection,
        out: ScreeningOutcome,
        cp: CounterpartyData,
        stamp: str,
    ) -> list[AlertEvent]:
        old = {
            (r[0], r[1]): r
            for r in conn.execute(
                "SELECT source, entry_id, entry_hash, score, matched_name, status, first_seen "
                "FROM alerts WHERE counterparty_id = ?",
                (cp.id,),
            )
        }
        if not old and not out.hits:
            return []
        decisions = self._latest_decisions(conn, cp.id) if out.hits else {}
        fp = cp.fingerprint
        events: list[AlertEvent] = []
        conn.execute("DELETE FROM alerts WHERE counterparty_id = ?", (cp.id,))
        for hit, entry_hash in out.hits:
            key = (hit.source, hit.entry_id)
            decided = decisions.get(key)
            status = _status(decided, entry_hash, fp)
            prev = old.pop(key, None)
            conn.execute(
                "INSERT INTO alerts (counterparty_id, source, entry_id, entry_hash, snapshot_id, "
                "score, matched_name, hit_json, first_seen, last_seen, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cp.id,
                    hit.source,
                    hit.entry_id,
                    entry_hash,
                    hit.snapshot_id,
                    hit.score,
                    hit.matched_name,
                    hit.model_dump_json(exclude_none=True),
                    prev[6] if prev else stamp,
                    stamp,
                    status,
                ),
            )
            event: EventKind | None = None
            if prev is None:
                event = "new" if status != "false_positive" else None
            elif prev[5] == "false_positive" and status == "open":
                event = "reopened"
            elif (prev[2], prev[3], prev[4]) != (entry_hash, hit.score, hit.matched_name):
                event = "updated"
            if event is not None:
                events.append(
                    AlertEvent(
                        event=event,
                        counterparty_id=cp.id,
                        name=cp.name,
                        country=cp.country,
                        type=cp.type,
                        source=hit.source,
                        entry_id=hit.entry_id,
                        status=status,
                        score=hit.score,
                        matched_name=hit.matched_name,
                        hit=hit,
                        reason=_reopened_because(decided, fp) if event == "reopened" else None,
                    )
                )
        for (source, entry_id), prev in old.items():
            events.append(
                AlertEvent(
                    event="removed",
                    counterparty_id=cp.id,
                    name=cp.name,
                    country=cp.country,
                    type=cp.type,
                    source=source,
                    entry_id=entry_id,
                    score=prev[3],
                    matched_name=prev[4],
                    reason=out.removal_reasons.get((source, entry_id), out.removal_reason),
                )
            )
        return events

    def remove(
        self,
        ids: Sequence[str],
        *,
        audit: Callable[[list[AlertEvent]], AuditRecord | None] | None = None,
    ) -> list[AlertEvent]:
        """Remove counterparties and their alerts (their decisions stay on record)."""
        events: list[AlertEvent] = []
        with self._write("cannot write the register") as conn:
            for cid in dict.fromkeys(ids):
                row = conn.execute(
                    "SELECT name, country, type FROM counterparties WHERE id = ?", (cid,)
                ).fetchone()
                if row is None:
                    raise InputError(f"no counterparty {cid!r} in the register")
                for source, entry_id, score, matched in conn.execute(
                    "SELECT source, entry_id, score, matched_name FROM alerts "
                    "WHERE counterparty_id = ? ORDER BY source, entry_id",
                    (cid,),
                ).fetchall():
                    events.append(
                        AlertEvent(
                            event="removed",
                            counterparty_id=cid,
                            name=row[0],
                            country=row[1],
                            type=row[2],
                            source=source,
                            entry_id=entry_id,
                            score=score,
                            matched_name=matched,
                            reason="counterparty removed from the register",
                        )
                    )
                conn.execute("DELETE FROM alerts WHERE counterparty_id = ?", (cid,))
                conn.execute("DELETE FROM counterparties WHERE id = ?", (cid,))
            if audit is not None:
                audit(events)
        return events

    def add_decision(
        self,
        counterparty_id: str,
        source: str,
        entry_id: str,
        decision: DecisionKind,
        reason: str,
        analyst: str,
        *,
        audit: Callable[[Decision, Alert, AlertStatus], AuditRecord | None] | None = None,
        now: datetime | None = None,
    ) -> tuple[Decision, Alert]:
        """Record a decision on an existing alert and apply it. Returns the decision and the
        alert as it now stands."""
        stamp = _ts(now or _now())
        with self._write("cannot write the register") as conn:
            cp = conn.execute(
                "SELECT name, country, type FROM counterparties WHERE id = ?", (counterparty_id,)
            ).fetchone()
            if cp is None:
                raise InputError(f"no counterparty {counterparty_id!r} in the register")
            row = conn.execute(
                "SELECT counterparty_id, source, entry_id, entry_hash, snapshot_id, score, "
                "matched_name, hit_json, first_seen, last_seen, status FROM alerts "
                "WHERE counterparty_id = ? AND source = ? AND entry_id = ?",
                (counterparty_id, source, entry_id),
            ).fetchone()
            if row is None:
                current = [
                    f"{s}:{e}"
                    for s, e in conn.execute(
                        "SELECT source, entry_id FROM alerts WHERE counterparty_id = ? "
                        "ORDER BY score DESC",
                        (counterparty_id,),
                    )
                ]
                have = f"its alerts: {', '.join(current[:10])}" if current else "it has no alerts"
                raise InputError(
                    f"counterparty {counterparty_id!r} has no alert on {source}:{entry_id} ({have})"
                )
            before = _alert(row)
            fp = counterparty_fingerprint(cp[0], cp[1], cp[2])
            cur = conn.execute(
                "INSERT INTO decisions (counterparty_id, source, entry_id, entry_hash, "
                "counterparty_fp, decision, reason, analyst, decided_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    counterparty_id,
                    source,
                    entry_id,
                    before.entry_hash,
                    fp,
                    decision,
                    reason,
                    analyst,
                    stamp,
                ),
            )
            status: AlertStatus = decision
            conn.execute(
                "UPDATE alerts SET status = ? WHERE counterparty_id = ? AND source = ? "
                "AND entry_id = ?",
                (status, counterparty_id, source, entry_id),
            )
            assert cur.lastrowid is not None
            made = Decision(
                id=cur.lastrowid,
                counterparty_id=counterparty_id,
                source=source,
                entry_id=entry_id,
                entry_hash=before.entry_hash,
                decision=decision,
                reason=reason,
                analyst=analyst,
                decided_at=datetime.fromisoformat(stamp),
            )
            after = before.model_copy(update={"status": status})
            if audit is not None:
                audit(made, after, before.status)
        return made, after


def _reopened_because(decision: tuple[str, str, str] | None, cp_fp: str) -> str:
    """Why a false positive no longer holds: the counterparty or the list entry changed."""
    if decision is not None and decision[2] != cp_fp:
        return "the counterparty's name, country or type changed since the decision"
    return "the list entry changed"


def _status(decision: tuple[str, str, str] | None, entry_hash: str, cp_fp: str) -> AlertStatus:
    """The status a hit gets from the latest decision on it."""
    if decision is None:
        return "open"
    kind, decided_hash, decided_fp = decision
    if decided_fp != cp_fp:
        return "open"  # decided about the counterparty as it was then
    if kind == "true_match":
        return "true_match"
    return "false_positive" if decided_hash == entry_hash else "open"


def _alert(r: Sequence[Any]) -> Alert:
    return Alert(
        counterparty_id=r[0],
        source=r[1],
        entry_id=r[2],
        entry_hash=r[3],
        snapshot_id=r[4],
        score=r[5],
        matched_name=r[6],
        hit=Hit.model_validate_json(r[7]),
        first_seen=datetime.fromisoformat(r[8]),
        last_seen=datetime.fromisoformat(r[9]),
        status=r[10],
    )


# -- operations (each appends its audit record) ----------------------------------------------------


def add_file(
    settings: Settings,
    path: Path,
    *,
    fmt: str | None = None,
    screener: Screener | None = None,
    workers: int | None = None,
    warn: Callable[[str], None] | None = None,
) -> AddReport:
    """``screening register add FILE``: read a CSV or JSONL register file, insert or update
    its counterparties and screen the new and changed ones."""
    rows = read_register_rows(path, fmt, warn)
    return add_counterparties(settings, rows, label=path.name, screener=screener, workers=workers)


def add_counterparties(
    settings: Settings,
    rows: Iterable[BatchRow | RejectedRow | Mapping[str, Any]],
    *,
    label: str | None = None,
    screener: Screener | None = None,
    workers: int | None = None,
) -> AddReport:
    """Insert or update counterparties and screen those that are new or whose name, country
    or type changed (against the current snapshots, every hit at the threshold), recording
    their alerts. Rows without an id, with an unusable name or an unknown type are rejected
    with a reason; the others go on. ``workers``: processes for the screening (default: one
    per core, up to 4, from 1,000 names)."""
    from screening.rescreen import add_and_screen

    return add_and_screen(settings, rows, label=label, screener=screener, workers=workers)


def remove_counterparties(settings: Settings, ids: Sequence[str] | str) -> list[AlertEvent]:
    """Remove counterparties (their alerts with them; decisions stay on record)."""
    from screening.audit import AuditLog

    if isinstance(ids, str):
        ids = [ids]  # one id, not its letters
    if not ids:
        raise InputError("no counterparty id given")
    log = AuditLog.open(settings)

    def record(events: list[AlertEvent]) -> AuditRecord:
        return log.append(
            "register",
            input={"action": "remove", "ids": list(dict.fromkeys(ids))},
            results={"removed_alerts": [e.compact()[:3] for e in events]},
            snapshots=(),
        )

    with Register.open(settings) as reg:
        return reg.remove(ids, audit=record)


def decide(
    settings: Settings,
    counterparty_id: str,
    entry: str | tuple[str, str],
    decision: DecisionKind,
    reason: str,
    analyst: str | None = None,
) -> tuple[Decision, Alert]:
    """Record an analyst's decision on an existing alert (``entry``: ``"SOURCE:ENTRY_ID"`` or
    a (source, entry id) pair). A false positive stops alerting for this counterparty until
    the list entry changes; a true match stays one. Returns the decision and the alert."""
    from screening.audit import AuditLog

    source, entry_id = parse_entry_ref(entry) if isinstance(entry, str) else entry
    if decision not in ("false_positive", "true_match"):
        raise InputError(f"decision must be false_positive or true_match, not {decision!r}")
    why = " ".join((reason or "").split())
    if not why:
        raise InputError("give the reason for the decision (--reason)")
    who = " ".join((analyst or "").split()) or os.environ.get("USER") or os.environ.get("USERNAME")
    if not who:
        raise InputError(
            "say who decides (the analyst: --analyst NAME, or analyst= in Python; $USER is not set)"
        )
    log = AuditLog.open(settings)

    def record(made: Decision, alert: Alert, previous: AlertStatus) -> AuditRecord:
        refs = _snapshot_ref(settings, alert.snapshot_id)
        return log.append(
            "decide",
            input={
                "counterparty": made.counterparty_id,
                "source": made.source,
                "entry_id": made.entry_id,
                "entry_hash": made.entry_hash,
                "decision": made.decision,
                "reason": made.reason,
                "analyst": made.analyst,
            },
            results={
                "decision_id": made.id,
                "status": alert.status,
                "previous_status": previous,
                "alert": [alert.source, alert.entry_id, alert.score, alert.matched_name],
            },
            snapshots=refs,
        )

    with Register.open(settings) as reg:
        return reg.add_decision(
            counterparty_id.strip(), source, entry_id, decision, why, who, audit=record
        )


def _snapshot_ref(settings: Settings, snapshot_id: int | None) -> tuple[SnapshotRef, ...]:
    """The snapshot an alert came from, if the store still holds it."""
    from screening.store import Store

    if snapshot_id is None:
        return ()
    try:
        with Store.open(settings) as store:
            info = store.snapshot(snapshot_id)
    except StoreError:
        return ()
    return (info.ref(),)
