"""Screening the counterparty register: on adding, and again after every list change.

:func:`rescreen` screens each counterparty only against the list entries added or changed since
the snapshots it was last screened against (found by comparing the entries' content hashes in
the old and the current snapshots), drops alerts whose entry was removed, re-evaluates alerts on
changed entries and keeps the others. Counterparties last screened against the same snapshots
share one index of the changed entries, built once.

**Why the result equals a full re-screen.** A score depends only on the prepared name (its
parts, their weights from the frozen table ``lists/name_frequencies.tsv.gz``, the country and
type) and on the list entry's names; an unchanged entry (same content hash) scores what it
scored before as long as the name is prepared the same way. So each counterparty keeps a
fingerprint of its prepared name, taken against the full index; names are always prepared
against the current full index, and a counterparty whose fingerprint changed (a rare side effect
of a list change on spelling correction), or that was screened with another threshold or
matcher version, or against snapshots no longer stored, is screened against the full index
instead. ``rescreen(full=True)`` screens everyone against the full index.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from screening.audit import AuditLog
from screening.config import get_source_definition, source_definitions
from screening.countries import to_iso2
from screening.errors import ConfigError, InputError, StoreError
from screening.matching.index import INDEX_FORMAT, MatchIndex, Query
from screening.models import EntityType, Hit, ListEntry, SnapshotInfo, SnapshotRef
from screening.names.knowledge import knowledge
from screening.register import (
    AddReport,
    AlertEvent,
    CounterpartyData,
    CounterpartyState,
    Register,
    ScreeningOutcome,
    validate_row,
)
from screening.screener import BatchRow, RejectedRow, Screener, parse_kind, to_hit

if TYPE_CHECKING:
    from screening.audit import AuditRecord
    from screening.config import Settings
    from screening.store import Store

__all__ = [
    "REGISTER_LIMIT",
    "DeltaGroup",
    "RescreenReport",
    "add_and_screen",
    "matcher_version",
    "rescreen",
]

#: Most hits kept per counterparty (the matcher scores at most 100 candidates per name): every
#: hit at the threshold, in practice.
REGISTER_LIMIT = 100
#: Below this many names, one process is faster than starting workers.
_PARALLEL_FROM = 1000
_CHUNK = 500


# -- reports -------------------------------------------------------------------------------------


class DeltaGroup(BaseModel):
    """Counterparties last screened against the same snapshots, and what changed since."""

    model_config = ConfigDict(frozen=True)

    from_snapshots: dict[str, int]  # source -> snapshot id they were screened against
    counterparties: int
    changed: dict[str, int] = Field(default_factory=dict)  # source -> entries added or changed
    removed: dict[str, int] = Field(default_factory=dict)  # source -> entries removed


class RescreenReport(BaseModel):
    """What ``rescreen`` did: how many counterparties it screened and how, and the alert
    changes (``events``)."""

    model_config = ConfigDict(frozen=True)

    mode: Literal["delta", "full"]
    started_at: datetime
    finished_at: datetime
    counterparties: int  # in the register
    up_to_date: int = 0  # already screened against the current snapshots: nothing to do
    screened_delta: int = 0  # screened against the changed entries only
    screened_full: int = 0  # screened against every entry
    full_reasons: dict[str, int] = Field(default_factory=dict)  # why not delta, by reason
    groups: tuple[DeltaGroup, ...] = ()
    skipped: tuple[str, ...] = ()  # changed by someone else while this ran: not recorded
    problems: tuple[str, ...] = ()  # "id: why it could not be screened"
    events: tuple[AlertEvent, ...] = ()
    open_alerts: int = 0  # open alerts in the whole register afterwards
    snapshots: tuple[SnapshotRef, ...] = ()
    warnings: tuple[str, ...] = ()
    audit_seq: int | None = None

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def new_alerts(self) -> list[AlertEvent]:
        """New potential matches: new alerts and false positives reopened by a list change."""
        return [e for e in self.events if e.alerts]

    @property
    def removed_alerts(self) -> list[AlertEvent]:
        return [e for e in self.events if e.event == "removed"]

    @property
    def updated_alerts(self) -> list[AlertEvent]:
        return [e for e in self.events if e.event == "updated"]


# -- the matcher's identity and a name's fingerprint ----------------------------------------------


@cache
def matcher_version() -> str:
    """Names the matching behaviour: tool version, index format, name knowledge, frequencies.
    A counterparty screened under another version is screened again in full."""
    from screening import __version__
    from screening._resources import lists_path

    try:
        freq = hashlib.sha256(lists_path("name_frequencies.tsv.gz").read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigError(f"cannot read the name frequencies: {exc}") from exc
    return f"{__version__}/i{INDEX_FORMAT}/k{knowledge().version}/f{freq[:12]}"


def _fingerprint(q: Query, country: str | None) -> str:
    """Everything of a prepared name that a score depends on."""
    payload = [
        q.parts.tokens,
        q.parts.roles,
        sorted(q.parts.legal),
        q.forms,
        q.keys,
        [round(w, 9) for w in q.weights],
        q.roles,
        q.compact,
        q.exact,
        q.kind.value if q.kind else None,
        q.cjk,
        country,
    ]
    blob = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def _resolve(
    country: str | None, kind: str | None
) -> tuple[str | None, EntityType | None, list[str]]:
    """As the screener resolves a query's country and type (bad values: screened without)."""
    warnings = []
    iso = None
    if country:
        iso = to_iso2(country)
        if iso is None:
            warnings.append(f"country {country!r} not recognised; screened without it")
    parsed = None
    try:
        parsed = parse_kind(kind)
    except InputError as exc:
        warnings.append(f"{exc}; screened without a type")
    return iso, parsed, warnings


# -- the engine: names against an index, in this process or in workers ----------------------------

# (name, country, type, expected fingerprint: None = screen against the target index as is,
# "" = no usable fingerprint, screen against the full index)
_Item = tuple[str, str | None, str | None, str | None]
# (fingerprint, hits, warnings, error, screened against the full index)
_Result = tuple[str | None, tuple[Hit, ...], tuple[str, ...], str | None, bool]


class _Engine:
    def __init__(
        self, full: MatchIndex | Callable[[], MatchIndex], target: MatchIndex, threshold: float
    ) -> None:
        self._full = full
        self.target = target
        self.threshold = threshold

    @property
    def full(self) -> MatchIndex:
        """The index of every entry, loaded when first needed (a worker screening only the
        changes never needs it)."""
        if not isinstance(self._full, MatchIndex):
            self._full = self._full()
        return self._full

    def screen(self, item: _Item) -> _Result:
        name, country, kind, expected = item
        iso, parsed, warnings = _resolve(country, kind)
        # A name is prepared from the name and the bundled data only, the same way whatever
        # index prepares it (see MatchIndex.prepare).
        q = self.target.prepare(name.strip(), parsed)
        if not q.forms:
            return None, (), tuple(warnings), "name has no letters or digits to screen", False
        fp = _fingerprint(q, iso)
        index = self.target
        if expected is not None and expected != fp:
            index = self.full
        found = index.score_query(q, threshold=self.threshold, country=iso, limit=REGISTER_LIMIT)
        hits = tuple(to_hit(index, q, c) for c in found)
        return fp, hits, tuple(warnings), None, index is self.full


_WORKER: _Engine | None = None


def _worker_init(full_path: str, target: bytes | None, threshold: float) -> None:
    global _WORKER

    def load_full() -> MatchIndex:
        full = MatchIndex.load(Path(full_path))
        if full is None:  # pragma: no cover - the parent just wrote or loaded it
            raise RuntimeError(f"cannot load the name index {full_path}")
        return full

    if target is None:
        full = load_full()
        _WORKER = _Engine(full, full, threshold)
    else:
        _WORKER = _Engine(load_full, pickle.loads(target), threshold)


def _worker_screen(items: list[_Item]) -> list[_Result]:
    if _WORKER is None:  # pragma: no cover
        raise RuntimeError("worker has no index")
    return [_WORKER.screen(i) for i in items]


def _workers(workers: int | None) -> int:
    """Worker processes: as asked, else one per core (up to 4); used only for 1,000 names or
    more."""
    from screening.screener import default_workers

    return workers if workers is not None else default_workers()


def _run(
    screener: Screener,
    target: MatchIndex,
    items: Sequence[_Item],
    threshold: float,
    workers: int,
) -> Iterator[_Result]:
    full = screener.index
    path = screener.index_path
    if workers <= 1 or len(items) < _PARALLEL_FROM or path is None or not path.exists():
        engine = _Engine(full, target, threshold)
        for item in items:
            yield engine.screen(item)
        return
    blob = None if target is full else pickle.dumps(target, protocol=pickle.HIGHEST_PROTOCOL)
    chunks = [list(items[i : i + _CHUNK]) for i in range(0, len(items), _CHUNK)]
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_worker_init, initargs=(str(path), blob, threshold)
    ) as pool:
        for results in pool.map(_worker_screen, chunks):
            yield from results


# -- list state: which entries are visible and what changed ----------------------------------------


def _primary_of(source: str) -> str | None:
    """The source whose records take precedence over equal ids (SDN over consolidated)."""
    try:
        return get_source_definition(source).options.get("duplicate_of")
    except ConfigError:
        return None


def _visible(hashes: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """Entry hashes as the index sees them: a record also on the list that takes precedence
    is screened there only (``MatchIndex.build`` drops it), so it counts as absent here."""
    out: dict[str, dict[str, str]] = {}
    for source, entries in hashes.items():
        primary = _primary_of(source)
        shadow = hashes.get(primary, {}) if primary else {}
        out[source] = {k: h for k, h in entries.items() if k not in shadow}
    return out


class _Hashes:
    """Entry hashes per snapshot id, read once."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[int, dict[str, str]] = {}

    def get(self, snapshot_id: int) -> dict[str, str]:
        found = self._cache.get(snapshot_id)
        if found is None:
            found = self.store.entry_hashes(snapshot_id)
            self._cache[snapshot_id] = found
        return found


class _Lists:
    """The current snapshots screened against: their ids and (visible) entry hashes."""

    def __init__(self, ids: Mapping[str, int], raw: Mapping[str, Mapping[str, str]]) -> None:
        self.ids = dict(ids)
        self.raw = raw
        self.visible = _visible(raw)

    def entry_hash(self, hit: Hit) -> str:
        return self.visible[hit.source][hit.entry_id]

    def gone(self, source: str, entry_id: str, alert_hash: str) -> str | None:
        """Why an alert's entry is no longer there as it was (None: it is unchanged)."""
        entries = self.visible.get(source)
        if entries is None:
            return f"{source} is no longer screened"
        now = entries.get(entry_id)
        if now is None:
            primary = _primary_of(source)
            if primary and entry_id in self.raw.get(primary, {}):
                return f"now screened as {primary} entry {entry_id}"
            return f"removed from the list in snapshot {self.ids[source]}"
        if now != alert_hash:
            return "the list entry changed and no longer matches"
        return None

    def removal_reasons(self, old: Sequence[tuple[Hit, str]]) -> dict[tuple[str, str], str]:
        if not old:
            return {}
        out = {}
        for hit, alert_hash in old:
            why = self.gone(hit.source, hit.entry_id, alert_hash)
            if why is not None:
                out[(hit.source, hit.entry_id)] = why
        return out


def _source_rank(source: str) -> int:
    for i, d in enumerate(source_definitions()):
        if d.id == source:
            return i
    return 1_000


def _best(hits: Iterable[Hit]) -> list[Hit]:
    """Hits in the matcher's order, at most :data:`REGISTER_LIMIT`."""
    ordered = sorted(
        hits,
        key=lambda h: (
            -h.score,
            _source_rank(h.source),
            h.matched_name_kind.value != "primary",
            h.entry_id,
        ),
    )
    return ordered[:REGISTER_LIMIT]


# -- register add ----------------------------------------------------------------------------------


def add_and_screen(
    settings: Settings,
    rows: Iterable[BatchRow | RejectedRow | Mapping[str, Any]],
    *,
    label: str | None = None,
    screener: Screener | None = None,
    workers: int | None = None,
) -> AddReport:
    """What :func:`screening.register.add_counterparties` does (see there)."""
    given, rejected = _collect(rows)
    log = AuditLog.open(settings)
    with Register.open(settings) as reg:
        existing = {c.id: c for c in reg.counterparties(list(given))} if given else {}
        counts: Counter[str] = Counter()
        to_screen: list[CounterpartyData] = []
        extra_only: list[CounterpartyData] = []
        for _, cp in given.values():
            old = existing.get(cp.id)
            if old is not None and cp.unset:
                # no country (type) column: the counterparty keeps the one on record
                cp = dataclasses.replace(
                    cp,
                    country=old.country if "country" in cp.unset else cp.country,
                    type=old.type if "type" in cp.unset else cp.type,
                )
            if old is None or (old.name, old.country, old.type) != (cp.name, cp.country, cp.type):
                to_screen.append(cp)
            elif old.extra != _as_stored(cp.extra):
                extra_only.append(cp)
            else:
                counts["unchanged"] += 1

        outcomes: list[ScreeningOutcome] = []
        screened: list[CounterpartyData] = []
        warnings: list[str] = []
        refs: tuple[SnapshotRef, ...] = ()
        threshold: float | None = None
        if to_screen:
            screener = screener or Screener.open(settings)
            threshold = screener.threshold
            refs = screener.snapshot_refs()
            warnings.extend(screener.list_warnings())
            snaps = {s.source: s.id for s in screener.index.snapshots}
            hashes = _current_hashes(settings, screener.index.snapshots)
            items: list[_Item] = [(c.name, c.country, c.type, None) for c in to_screen]
            results = _run(screener, screener.index, items, threshold, _workers(workers))
            for cp, (fp, hits, notes, error, _) in zip(to_screen, results, strict=True):
                if error is not None:
                    rejected.append(RejectedRow(id=cp.id, line=given[cp.id][0], message=error))
                    continue
                counts["added" if cp.id not in existing else "updated"] += 1
                warnings.extend(f"{cp.id}: {w}" for w in notes)
                screened.append(cp)
                outcomes.append(
                    ScreeningOutcome(
                        counterparty_id=cp.id,
                        snapshots=snaps,
                        threshold=threshold,
                        matcher=matcher_version(),
                        query_fp=fp,
                        hits=[(h, hashes[h.source][h.entry_id]) for h in hits],
                        removal_reason="the counterparty's name, country or type changed",
                    )
                )
        rejected.sort(key=lambda r: r.line)
        audit_seq: list[int] = []

        def record(events: list[AlertEvent], skipped: list[str]) -> AuditRecord:
            hits = {
                o.counterparty_id: [
                    [h.source, h.entry_id, h.score, h.matched_name] for h, _ in o.hits
                ]
                for o in outcomes
                if o.hits
            }
            rec = log.append(
                "register",
                input={
                    "action": "add",
                    "file": label,
                    "rows": [[c.id, c.name, c.country, c.type] for c in screened],
                    "extra_updated": [c.id for c in extra_only],
                },
                results={
                    "hits": hits,  # the complete hits; events: what else changed
                    "events": _events_compact([e for e in events if e.event != "new"]),
                    "rejected": [[r.line, r.id, r.message] for r in rejected],
                    "unchanged": counts["unchanged"],
                },
                snapshots=refs,
                threshold=threshold,
            )
            audit_seq.append(rec.seq)
            return rec

        events, _ = reg.record(outcomes, upserts=[*screened, *extra_only], audit=record)
        ids = {c.id for c in screened}
        open_alerts = sum(1 for a in reg.alerts(status="open") if a.counterparty_id in ids)
    return AddReport(
        added=counts["added"],
        updated=counts["updated"],
        updated_extra=len(extra_only),
        unchanged=counts["unchanged"],
        screened=len(outcomes),
        rejected=tuple(rejected),
        events=tuple(events),
        open_alerts=open_alerts,
        warnings=tuple(warnings),
        snapshots=refs,
        audit_seq=audit_seq[0] if audit_seq else None,
    )


def _collect(
    rows: Iterable[BatchRow | RejectedRow | Mapping[str, Any]],
) -> tuple[dict[str, tuple[int, CounterpartyData]], list[RejectedRow]]:
    """Valid rows by id (with their row number), and the rejected ones."""
    given: dict[str, tuple[int, CounterpartyData]] = {}
    rejected: list[RejectedRow] = []
    for position, row in enumerate(rows, start=1):
        checked = _checked(row, position)
        if isinstance(checked, RejectedRow):
            rejected.append(checked)
        elif checked.id in given:
            first = given[checked.id][0]
            rejected.append(
                RejectedRow(
                    id=checked.id,
                    line=position,
                    message=f"id {checked.id!r} given again (first in data row {first})",
                )
            )
        else:
            given[checked.id] = (position, checked)
    return given, rejected


def _checked(
    row: BatchRow | RejectedRow | Mapping[str, Any], position: int
) -> CounterpartyData | RejectedRow:
    if isinstance(row, RejectedRow):
        return row
    if isinstance(row, BatchRow):
        values: dict[str, Any] = dict(row.model_extra or {})
        values.update(id=row.id, name=row.name)
        values.update(
            (k, getattr(row, k)) for k in ("country", "type") if k in row.model_fields_set
        )
    elif isinstance(row, Mapping):
        values = {str(k).casefold(): v for k, v in row.items()}
    else:
        return RejectedRow(id="", line=position, message="not a counterparty row")
    checked = validate_row(values, position)
    if isinstance(checked, RejectedRow):
        return checked
    return CounterpartyData(
        id=checked.id,
        name=checked.name,
        country=checked.country,
        type=checked.type,
        extra=dict(checked.model_extra or {}),
        unset=frozenset(k for k in ("country", "type") if k not in checked.model_fields_set),
    )


def _as_stored(extra: Mapping[str, Any]) -> dict[str, Any]:
    """Extra fields as they read back from the register."""
    result: dict[str, Any] = json.loads(
        json.dumps(dict(extra), ensure_ascii=False, sort_keys=True, default=str)
    )
    return result


def _current_hashes(
    settings: Settings, snapshots: Sequence[SnapshotInfo]
) -> dict[str, dict[str, str]]:
    """Visible entry hashes of the snapshots an index was built from."""
    from screening.store import Store

    with Store.open(settings) as store:
        return _visible({s.source: store.entry_hashes(s.id) for s in snapshots})


def _events_compact(events: Sequence[AlertEvent]) -> dict[str, list[list[Any]]]:
    out: dict[str, list[list[Any]]] = {}
    for e in events:
        out.setdefault(e.event, []).append(e.compact())
    return out


# -- rescreen --------------------------------------------------------------------------------------


def rescreen(
    settings: Settings,
    *,
    full: bool = False,
    screener: Screener | None = None,
    workers: int | None = None,
) -> RescreenReport:
    """Screen the register against the current snapshots: each counterparty against the
    entries added or changed since it was last screened (``full``: against every entry),
    dropping alerts on removed entries. Records the alerts and appends an audit record.
    ``workers``: processes for the screening (default: one per core, up to 4, from 1,000
    names)."""
    from screening.store import Store

    started = datetime.now(UTC)
    screener = screener or Screener.open(settings)
    threshold = screener.threshold
    snaps = {s.source: s for s in screener.index.snapshots}
    current_ids = {src: s.id for src, s in snaps.items()}
    matcher = matcher_version()
    n_workers = _workers(workers)
    log = AuditLog.open(settings)
    with Register.open(settings) as reg, Store.open(settings) as store:
        states = reg.states()
        digest = reg.digest()
        old_alerts: dict[str, list[tuple[Hit, str]]] = defaultdict(list)
        for a in reg.alerts():
            old_alerts[a.counterparty_id].append((a.hit, a.entry_hash))
        cache = _Hashes(store)
        lists = _Lists(current_ids, {src: cache.get(sid) for src, sid in current_ids.items()})
        current = lists.visible

        reasons: Counter[str] = Counter()
        full_todo: list[CounterpartyState] = []
        groups: dict[tuple[tuple[str, int], ...], list[CounterpartyState]] = defaultdict(list)
        up_to_date = 0
        for cp in states:
            why = _needs_full(cp, full, threshold, matcher)
            if why:
                reasons[why] += 1
                full_todo.append(cp)
            elif cp.snapshots == current_ids:
                up_to_date += 1
            else:
                groups[tuple(sorted(cp.snapshots.items()))].append(cp)

        outcomes: list[ScreeningOutcome] = []
        problems: list[str] = []
        group_reports: list[DeltaGroup] = []
        entries: list[tuple[SnapshotInfo, list[ListEntry]]] | None = None
        delta_count = 0
        for key, members in groups.items():
            old_ids = dict(key)
            try:
                old = _visible({src: cache.get(sid) for src, sid in old_ids.items()})
            except StoreError:
                reasons["the snapshots it was screened against are no longer stored"] += len(
                    members
                )
                full_todo.extend(members)
                continue
            changed = {
                src: {k for k, h in cur.items() if old.get(src, {}).get(k) != h}
                for src, cur in current.items()
            }
            removed = {
                src: set(entries_old) - set(current.get(src, {}))
                for src, entries_old in old.items()
            }
            group_reports.append(
                DeltaGroup(
                    from_snapshots=old_ids,
                    counterparties=len(members),
                    changed={s: len(v) for s, v in changed.items() if v},
                    removed={s: len(v) for s, v in removed.items() if v},
                )
            )
            if entries is None:
                entries = [(s, store.entries(s.id)) for s in screener.index.snapshots]
            delta = MatchIndex.build(entries, only=changed)
            items: list[_Item] = [(c.name, c.country, c.type, c.query_fp or "") for c in members]
            results = _run(screener, delta, items, threshold, n_workers)
            for cp, (fp, hits, _, error, used_full) in zip(members, results, strict=True):
                old_hits = old_alerts.get(cp.id, [])
                if error is not None:
                    outcomes.append(_problem(cp, error, current_ids, threshold, matcher))
                    problems.append(f"{cp.id}: {error}")
                    continue
                if used_full:
                    reasons["its name is prepared differently against the new lists"] += 1
                    outcomes.append(_outcome(cp, fp, hits, old_hits, lists, threshold, matcher))
                    continue
                delta_count += 1
                outcomes.append(
                    _merged(cp, fp, hits, old_hits, changed, removed, lists, threshold, matcher)
                )

        if full_todo:
            items = [(c.name, c.country, c.type, None) for c in full_todo]
            results = _run(screener, screener.index, items, threshold, n_workers)
            for cp, (fp, hits, _, error, _) in zip(full_todo, results, strict=True):
                if error is not None:
                    outcomes.append(_problem(cp, error, current_ids, threshold, matcher))
                    problems.append(f"{cp.id}: {error}")
                    continue
                outcomes.append(
                    _outcome(cp, fp, hits, old_alerts.get(cp.id, []), lists, threshold, matcher)
                )

        refs = screener.snapshot_refs()
        mode: Literal["delta", "full"] = "full" if full else "delta"
        audit_seq: list[int] = []
        screened_full = len(outcomes) - delta_count - len(problems)

        def record(events: list[AlertEvent], skipped: list[str]) -> AuditRecord:
            rec = log.append(
                "rescreen",
                input={
                    "mode": mode,
                    "register_sha256": digest,
                    "counterparties": len(states),
                    "up_to_date": up_to_date,
                    "delta": [
                        {
                            "from": g.from_snapshots,
                            "counterparties": g.counterparties,
                            "changed": g.changed,
                            "removed": g.removed,
                        }
                        for g in group_reports
                    ],
                    "full": dict(reasons),
                },
                results={
                    "events": _events_compact(events),
                    "problems": problems,
                    "skipped": skipped,
                },
                snapshots=refs,
                threshold=threshold,
            )
            audit_seq.append(rec.seq)
            return rec

        events, skipped = reg.record(outcomes, audit=record)
        open_alerts = len(reg.alerts(status="open"))
    return RescreenReport(
        mode=mode,
        started_at=started,
        finished_at=datetime.now(UTC),
        counterparties=len(states),
        up_to_date=up_to_date,
        screened_delta=delta_count,
        screened_full=screened_full,
        full_reasons=dict(reasons),
        groups=tuple(group_reports),
        skipped=tuple(skipped),
        problems=tuple(problems),
        events=tuple(events),
        open_alerts=open_alerts,
        snapshots=refs,
        warnings=screener.list_warnings(),
        audit_seq=audit_seq[0] if audit_seq else None,
    )


def _needs_full(cp: CounterpartyState, full: bool, threshold: float, matcher: str) -> str | None:
    """Why a counterparty must be screened against every entry (None: a delta will do)."""
    if full:
        return "full re-screen requested"
    if cp.screened_at is None or cp.query_fp is None:
        return "never screened"
    if cp.threshold != threshold:
        return "the threshold changed"
    if cp.matcher != matcher:
        return "the matching changed (new version)"
    return None


def _outcome(
    cp: CounterpartyState,
    fp: str | None,
    hits: Sequence[Hit],
    old: Sequence[tuple[Hit, str]],
    lists: _Lists,
    threshold: float,
    matcher: str,
) -> ScreeningOutcome:
    """A complete screening against the full index."""
    return ScreeningOutcome(
        counterparty_id=cp.id,
        snapshots=lists.ids,
        threshold=threshold,
        matcher=matcher,
        query_fp=fp,
        hits=[(h, lists.entry_hash(h)) for h in hits],
        rev=cp.rev,
        removal_reasons=lists.removal_reasons(old),
    )


def _problem(
    cp: CounterpartyState,
    error: str,
    current_ids: Mapping[str, int],
    threshold: float,
    matcher: str,
) -> ScreeningOutcome:
    return ScreeningOutcome(
        counterparty_id=cp.id,
        snapshots=current_ids,
        threshold=threshold,
        matcher=matcher,
        query_fp=None,
        hits=[],
        rev=cp.rev,
        problem=error,
        removal_reason=f"the counterparty cannot be screened: {error}",
    )


def _merged(
    cp: CounterpartyState,
    fp: str | None,
    delta_hits: Sequence[Hit],
    old: Sequence[tuple[Hit, str]],
    changed: Mapping[str, set[str]],
    removed: Mapping[str, set[str]],
    lists: _Lists,
    threshold: float,
    matcher: str,
) -> ScreeningOutcome:
    """The hits on changed entries plus the alerts on unchanged ones, kept as they were."""
    hits: list[Hit] = list(delta_hits)
    for hit, entry_hash in old:
        src, eid = hit.source, hit.entry_id
        if eid in changed.get(src, ()) or eid in removed.get(src, ()):
            continue  # re-evaluated (in delta_hits if still a hit) or gone
        if lists.gone(src, eid, entry_hash) is None:
            hits.append(hit.model_copy(update={"snapshot_id": lists.ids[src]}))
    return ScreeningOutcome(
        counterparty_id=cp.id,
        snapshots=lists.ids,
        threshold=threshold,
        matcher=matcher,
        query_fp=fp,
        hits=[(h, lists.entry_hash(h)) for h in _best(hits)],
        rev=cp.rev,
        removal_reasons=lists.removal_reasons(old),
    )
