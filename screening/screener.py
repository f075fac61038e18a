"""The Screener: current list snapshots + their name index -> screening results.

What the CLI, the HTTP service and an ERP integration all call::

    from screening import Screener
    screener = Screener.open()              # current snapshots; index cached on disk
    result = screener.screen("Rosoboronexport", country="RU")
    for hit in result.hits:
        print(hit.score, hit.source, hit.entry_id, hit.matched_name)

Batch screening is a pure function of (index, rows): :func:`screen_rows` needs nothing but a
``MatchIndex`` (picklable, so a worker process on another machine can hold one) and the rows.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import multiprocessing
import os
import pickle
import signal
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import chain, islice
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from screening.config import Settings, get_source_definition, load_settings
from screening.countries import to_iso2
from screening.errors import ConfigError, InputError, ScreeningError
from screening.matching.index import (
    INDEX_FORMAT,
    Candidate,
    MatchIndex,
    Query,
    explain_pairs,
    load_tables,
    merge_candidates,
)
from screening.models import (
    EntityType,
    Hit,
    NameKind,
    ScoreExplanation,
    ScreeningResult,
    SnapshotInfo,
    SnapshotRef,
)
from screening.names.knowledge import knowledge
from screening.names.normalize import has_lookalike_word

if TYPE_CHECKING:
    from screening.rules.result import ShipmentResult
    from screening.rules.ruleset import RuleSet
    from screening.shipments import Shipment

__all__ = [
    "BatchRow",
    "RejectedRow",
    "BatchResult",
    "Comparison",
    "Screener",
    "compare",
    "parse_kind",
    "screen_rows",
]

#: Names longer than this are rejected rather than screened (no real name is this long).
MAX_NAME_LENGTH = 1000

_KIND_ALIASES = {
    "person": EntityType.PERSON,
    "individual": EntityType.PERSON,
    "people": EntityType.PERSON,
    "natural person": EntityType.PERSON,
    "organization": EntityType.ORGANIZATION,
    "organisation": EntityType.ORGANIZATION,
    "entity": EntityType.ORGANIZATION,
    "company": EntityType.ORGANIZATION,
    "business": EntityType.ORGANIZATION,
    "legal person": EntityType.ORGANIZATION,
    "vessel": EntityType.VESSEL,
    "ship": EntityType.VESSEL,
    "aircraft": EntityType.AIRCRAFT,
    "unknown": EntityType.UNKNOWN,
}


def parse_kind(value: str | EntityType | None) -> EntityType | None:
    """``"person"``, ``"Individual"``, ``"company"``... -> EntityType; blank -> None."""
    if value is None or isinstance(value, EntityType):
        return value
    if not isinstance(value, str):
        raise InputError(f"type must be text, not {type(value).__name__}")
    text = " ".join(value.strip().casefold().replace("_", " ").split())
    if not text:
        return None
    kind = _KIND_ALIASES.get(text)
    if kind is None:
        raise InputError(f"unknown type {value!r} (use person, organization, vessel or aircraft)")
    return kind


class BatchRow(BaseModel):
    """One counterparty to screen in a batch. Extra fields are kept as they came."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str
    name: str
    country: str | None = None
    type: str | None = None


class RejectedRow(BaseModel):
    """A row of an input file that cannot be screened, kept in its place in the output."""

    model_config = ConfigDict(frozen=True)

    id: str
    line: int
    message: str


class BatchResult(BaseModel):
    """The result of one batch row: its hits, or the reason it could not be screened."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    country: str | None = None
    type: str | None = None
    hits: tuple[Hit, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class Comparison(BaseModel):
    """How two names compare (``screening compare``)."""

    model_config = ConfigDict(frozen=True)

    name_a: str
    name_b: str
    score: float
    match: bool
    threshold: float
    explanation: ScoreExplanation | None = None


# -- the pure core: (index, query) -> hits ---------------------------------------------------


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise InputError("name must be text")
    text = name.strip()
    if not text:
        raise InputError("name is empty")
    if len(text) > MAX_NAME_LENGTH:
        raise InputError(f"name is longer than {MAX_NAME_LENGTH} characters ({len(text)})")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates: bytes that were not UTF-8 (a command-line argument in another
        # encoding) or a broken escape. They cannot be recorded in the audit trail either.
        raise InputError("name is not valid text (bytes that are not UTF-8)") from None
    return text


def _resolve(
    country: str | None, kind: str | EntityType | None
) -> tuple[str | None, EntityType | None, list[str]]:
    """Country and type of a query; unusable values become warnings, not failures: the name
    is still screened (without them the screening is only broader)."""
    warnings = []
    iso: str | None = None
    if kind is not None and not isinstance(kind, str | EntityType):
        raise InputError(f"type must be text, not {type(kind).__name__}")
    if country is not None and not isinstance(country, str):
        raise InputError(
            f"country must be text (an ISO code or a name), not {type(country).__name__}"
        )
    if country is not None and country.strip():
        iso = to_iso2(country)
        if iso is None:
            warnings.append(f"country {country!r} not recognised; screened without it")
    parsed: EntityType | None = None
    try:
        parsed = parse_kind(kind)
    except InputError as exc:
        warnings.append(f"{exc}; screened without a type")
    return iso, parsed, warnings


def to_hit(index: MatchIndex, q: Query, c: Candidate) -> Hit:
    matched, uq, uc = explain_pairs(q, c.name, c.pairs)
    return Hit(
        source=c.entry.source,
        entry_id=c.entry.entry_id,
        list_name=c.entry.list_name,
        matched_name=c.name.name,
        matched_name_kind=NameKind(c.name.kind),
        matched_name_weak=c.name.weak,
        primary_name=c.entry.primary_name,
        score=c.score,
        entity_type=EntityType(c.entry.type),
        programs=c.entry.programs,
        countries=c.entry.countries,
        snapshot_id=c.entry.snapshot_id,
        explanation=ScoreExplanation(
            method=c.method,
            query_normalized=" ".join(q.parts.tokens),
            candidate_normalized=" ".join(c.name.forms),
            matched_tokens=matched,
            unmatched_query_tokens=uq,
            unmatched_candidate_tokens=uc,
            adjustments=c.adjustments,
            components={"name_score": round(c.raw, 4), "final": c.score},
        ),
    )


def screen_name(
    index: MatchIndex,
    name: str,
    *,
    country: str | None = None,
    kind: str | EntityType | None = None,
    threshold: float,
    limit: int = 10,
) -> tuple[tuple[Hit, ...], tuple[str, ...]]:
    """Hits at or above ``threshold`` (best first) and warnings about the query."""
    text = _check_name(name)
    iso, parsed, warnings = _resolve(country, kind)
    q = index.prepare(text, parsed)
    if not q.forms:
        raise InputError("name has no letters or digits to screen")
    found = index.score_query(q, threshold=threshold, country=iso, limit=limit)
    readings = {id(c): q for c in found}
    if has_lookalike_word(text):
        # A word wholly in look-alike letters of another script (СІМЕХ) is also read as the
        # Latin word it imitates; the better reading of each entry counts.
        alt = index.prepare(text, parsed, fold_lookalike_words=True)
        if alt.exact != q.exact and alt.forms:
            more = index.score_query(alt, threshold=threshold, country=iso, limit=limit)
            readings.update({id(c): alt for c in more})
            found = merge_candidates(found, more, limit)
    return tuple(to_hit(index, readings[id(c)], c) for c in found), tuple(warnings)


def screen_rows(
    index: MatchIndex,
    rows: Iterable[BatchRow | RejectedRow],
    *,
    threshold: float,
    limit: int = 10,
) -> Iterator[BatchResult]:
    """Screen rows against an index: a pure function, safe to run in a worker process.
    One result per row, in order; a rejected row's result carries its error."""
    _check_threshold(threshold)
    _check_limit(limit)
    make = BatchResult.model_construct  # fields built here are already the right types
    for row in rows:
        if isinstance(row, RejectedRow):
            yield make(id=row.id, name="", error=f"line {row.line}: {row.message}")
            continue
        extra = dict(row.model_extra or {})
        try:
            hits, warnings = screen_name(
                index,
                row.name,
                country=row.country,
                kind=row.type,
                threshold=threshold,
                limit=limit,
            )
        except InputError as exc:
            yield make(
                id=row.id,
                name=row.name[:200],
                country=row.country,
                type=row.type,
                error=str(exc),
                extra=extra,
            )
            continue
        yield make(
            id=row.id,
            name=row.name,
            country=row.country,
            type=row.type,
            hits=hits,
            warnings=warnings,
            extra=extra,
        )


# Worker processes of a parallel batch hold one index each, loaded once.
_WORKER_INDEX: MatchIndex | None = None
# The Screener's cache epoch the worker's caches belong to (see Screener.clear_caches).
_WORKER_EPOCH = 0


def _worker_main(conn: Connection, path: str | None, inherited: list[Connection]) -> None:
    """A worker's life: screen the chunks this process's end of the pipe sends, one after
    another, and send back their results, until told to stop (an empty message) or the pipe
    closes. ``path``: the cached index to load (a spawned worker; a forked one inherits it)."""
    global _WORKER_INDEX
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the CLI's handler, inherited by fork
    for other in inherited:  # the other workers' pipe ends, copied by fork
        other.close()
    if path is not None:
        _WORKER_INDEX = MatchIndex.load(Path(path))
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not data:
            return
        try:
            out: tuple[str, Any] = ("ok", _worker_screen(pickle.loads(data)))
        except Exception as exc:  # a bug: reported by the parent, not lost in a worker
            out = ("error", f"{type(exc).__name__}: {exc}")
        conn.send_bytes(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))


class _Worker:
    """A worker process, this process's end of its pipe, and the chunks it holds."""

    __slots__ = ("process", "conn", "holding", "held_bytes")

    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        #: the slots of the chunks sent and not yet answered, oldest first, with their sizes
        self.holding: deque[tuple[_Slot, int]] = deque()
        self.held_bytes = 0


class _Slot:
    """A chunk's place in the output: its results once known, and who screens it."""

    __slots__ = ("results", "worker")

    def __init__(self, results: list[BatchResult] | None, worker: _Worker | None) -> None:
        self.results = results
        self.worker = worker


class _WorkerPool:
    """Worker processes holding the index, kept from one parallel batch to the next: a forked
    worker, and this process too, copy each page of the shared index they write to (every
    object read is written: its reference count), and on a batch of a thousand rows that
    copying took as long as the screening.

    Each worker has a pipe of its own, which this process writes chunks to and reads results
    from between the chunks it screens itself: no threads, so nothing waits for this
    process's interpreter lock to pass a chunk on. Where processes fork (Linux) and this
    process runs no other thread, the workers inherit the loaded index and start at once;
    else each loads the cached index file. Stopped by :meth:`close`, when the Screener is
    collected, or at exit."""

    def __init__(self, index: MatchIndex, path: Path, size: int) -> None:
        global _WORKER_INDEX
        fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
        ctx = multiprocessing.get_context("fork" if fork else "spawn")
        if fork:
            _WORKER_INDEX = index
            # The name tables and the country table, inherited by every worker instead of
            # being loaded by each on its first row.
            load_tables()
            to_iso2("US")
            # The cyclic garbage collector would write to every object it walks (the whole
            # index, in each process): frozen while the workers live, it leaves them alone.
            gc.freeze()
        self.workers: list[_Worker] = []
        self._stop = weakref.finalize(self, _stop_workers, self.workers, fork)
        new_process: Callable[..., BaseProcess] = ctx.Process  # type: ignore[attr-defined]
        for _ in range(size):
            mine, theirs = ctx.Pipe()
            process = new_process(
                target=_worker_main,
                args=(
                    theirs,
                    None if fork else str(path),
                    [w.conn for w in self.workers] if fork else [],
                ),
                daemon=True,
                name="screening-worker",
            )
            process.start()
            theirs.close()
            self.workers.append(_Worker(process, mine))

    def alive(self) -> bool:
        return all(w.process.is_alive() for w in self.workers)

    def close(self) -> None:
        self._stop()


def _stop_workers(workers: list[_Worker], frozen: bool) -> None:
    for w in workers:
        with contextlib.suppress(OSError):
            if w.holding:
                w.process.terminate()  # a batch left unfinished: its results are not wanted
            else:
                w.conn.send_bytes(b"")
    for w in workers:
        w.process.join(timeout=5)
        if w.process.is_alive():  # pragma: no cover - a worker that will not stop
            w.process.kill()
            w.process.join()
        w.conn.close()
    if frozen:
        gc.unfreeze()


def _receive(w: _Worker) -> None:
    """The results of the oldest chunk ``w`` holds, into its slot (waits for them)."""
    slot, size = w.holding.popleft()
    w.held_bytes -= size
    try:
        status, payload = pickle.loads(w.conn.recv_bytes())
    except (EOFError, OSError):
        raise ScreeningError(
            f"a worker process of the batch ended unexpectedly (exit code "
            f"{w.process.exitcode}); the batch is incomplete"
        ) from None
    if status != "ok":
        raise ScreeningError(f"a worker process failed: {payload}")
    slot.results = [_unpack_result(p) for p in payload]


#: A batch of fewer rows than this (read ahead) is cut into about _CHUNKS_PER_PROCESS chunks per
#: process, of at least _MIN_CHUNK rows.
_LOOKAHEAD = 4096
_CHUNKS_PER_PROCESS = 32
_MIN_CHUNK = 8
#: Chunks a worker holds (one to screen, the next waiting in its pipe), and the bytes of them a
#: pipe is trusted to take without a wait.
_HELD = 2
_PIPE_ROOM = 48 * 1024

# Rows and results cross between processes as plain tuples: pickling pydantic models both
# ways would make the parent, not the workers, the bottleneck of a parallel batch.
_Packed = tuple[Any, ...]


def _pack_rows(rows: list[BatchRow | RejectedRow]) -> list[_Packed]:
    return [
        ("x", r.id, r.line, r.message)
        if isinstance(r, RejectedRow)
        else ("r", r.id, r.name, r.country, r.type, r.model_extra or {})
        for r in rows
    ]


def _unpack_rows(packed: list[_Packed]) -> Iterator[BatchRow | RejectedRow]:
    for p in packed:
        if p[0] == "x":
            yield RejectedRow.model_construct(id=p[1], line=p[2], message=p[3])
        else:
            yield BatchRow(id=p[1], name=p[2], country=p[3], type=p[4], **p[5])


_HIT_FIELDS = tuple(f for f in Hit.model_fields if f != "explanation")
_EXPLANATION_FIELDS = tuple(ScoreExplanation.model_fields)


def _pack_hit(h: Hit) -> _Packed:
    # A model's own pickling costs about 15 times as much as a tuple of its fields.
    e = h.explanation
    return (
        *(getattr(h, f) for f in _HIT_FIELDS),
        None if e is None else tuple(getattr(e, f) for f in _EXPLANATION_FIELDS),
    )


def _unpack_hit(p: _Packed) -> Hit:
    # Built and validated in the worker: the fields need no second validation.
    fields: dict[str, Any] = dict(zip(_HIT_FIELDS, p[:-1], strict=True))
    if p[-1] is not None:
        fields["explanation"] = ScoreExplanation.model_construct(
            **dict(zip(_EXPLANATION_FIELDS, p[-1], strict=True))
        )
    return Hit.model_construct(**fields)


def _pack_result(r: BatchResult) -> _Packed:
    return (
        r.id,
        r.name,
        r.country,
        r.type,
        tuple(map(_pack_hit, r.hits)),
        r.warnings,
        r.error,
        r.extra,
    )


def _unpack_result(p: _Packed) -> BatchResult:
    return BatchResult.model_construct(
        id=p[0],
        name=p[1],
        country=p[2],
        type=p[3],
        hits=tuple(map(_unpack_hit, p[4])),
        warnings=p[5],
        error=p[6],
        extra=p[7],
    )


def _worker_screen(args: tuple[list[_Packed], float, int, int]) -> list[_Packed]:
    global _WORKER_EPOCH
    packed, threshold, limit, epoch = args
    if _WORKER_INDEX is None:  # pragma: no cover - the initializer failed to load
        raise RuntimeError("worker has no index")
    if epoch != _WORKER_EPOCH:
        _WORKER_INDEX.clear_caches()
        _WORKER_EPOCH = epoch
    rows = _unpack_rows(packed)
    return [
        _pack_result(r) for r in screen_rows(_WORKER_INDEX, rows, threshold=threshold, limit=limit)
    ]


# -- the Screener ----------------------------------------------------------------------------


class Screener:
    """Loads the current snapshots of the enabled sources once and screens many names."""

    def __init__(
        self,
        index: MatchIndex,
        *,
        settings: Settings | None = None,
        threshold: float | None = None,
        index_path: Path | None = None,
        warnings: Sequence[str] = (),
        data_as_of: dict[int, datetime] | None = None,
    ) -> None:
        self.index = index
        self.settings = settings
        self.threshold = _check_threshold(
            threshold if threshold is not None else (settings.threshold if settings else 0.85)
        )
        self.index_path = index_path
        self._load_warnings = tuple(warnings)
        # snapshot id -> when its data were last known current (a refresh that found the
        # files unchanged makes a snapshot current again without a new one).
        self._as_of = dict(data_as_of or {})
        self._pool: _WorkerPool | None = None
        self._pool_lock = threading.Lock()  # held by the batch using the workers
        self._cache_epoch = 0

    def close(self) -> None:
        """Stop the worker processes a parallel batch started (kept for the next batch). The
        Screener stays usable; a later parallel batch starts them again."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def __enter__(self) -> Screener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def clear_caches(self) -> None:
        """Forget the results kept from earlier queries, here and in the worker processes (so
        that a benchmark measures cold queries). Results do not change."""
        self.index.clear_caches()
        self._cache_epoch += 1

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        *,
        sources: Sequence[str] | None = None,
        threshold: float | None = None,
    ) -> Screener:
        """The current snapshots of the enabled sources (seeded on first use), and their
        name index, from the cache under the data directory or built once and cached."""
        from screening._status import data_as_of
        from screening.seed import ensure_seeds
        from screening.store import Store

        settings = settings or load_settings()
        if isinstance(sources, str):
            sources = [sources]
        # An unknown source is an error, not a list screened as empty (a misspelt source
        # would otherwise clear every name).
        wanted = (
            [get_source_definition(s).id for s in sources]
            if sources
            else [d.id for d in settings.enabled_sources()]
        )
        warnings: list[str] = []
        with Store.open(settings) as store:
            ensure_seeds(store, settings)
            current = store.current()
            snaps = [current[s] for s in wanted if s in current]
            if not snaps:
                raise ConfigError(
                    f"no snapshot of {', '.join(wanted) or 'any source'} is stored, so there is "
                    f"nothing to screen against; run `screening refresh {' '.join(wanted)}`"
                )
            for s in wanted:
                if s not in current:
                    warnings.append(f"{s}: no snapshot stored; run `screening refresh {s}`")
            path = _index_path(settings, snaps)
            index = MatchIndex.load(path)
            if index is not None:
                with contextlib.suppress(OSError):  # a read-only cache is still a cache
                    os.utime(path)  # just used: its age decides which cached indexes stay
            if index is None or {s.id for s in index.snapshots} != {s.id for s in snaps}:
                data = store.read_current([s.source for s in snaps])
                pairs = [data[s.source] for s in snaps if s.source in data]
                index = MatchIndex.build(pairs)
                path = _index_path(settings, [info for info, _ in pairs])
                _save_index(index, path)
            as_of = {s.id: data_as_of(s, store.checked_at(s.id)) for s in index.snapshots}
        return cls(
            index,
            settings=settings,
            threshold=threshold,
            index_path=path,
            warnings=warnings,
            data_as_of=as_of,
        )

    @classmethod
    def from_entries(
        cls,
        data: Sequence[tuple[SnapshotInfo, Sequence[Any]]],
        *,
        threshold: float = 0.85,
    ) -> Screener:
        """A screener over entries held in memory (tests, one-off lists)."""
        return cls(MatchIndex.build(data), threshold=threshold)

    # -- results --------------------------------------------------------------------------

    def snapshot_refs(self, now: datetime | None = None) -> tuple[SnapshotRef, ...]:
        now = now or datetime.now(UTC)
        max_age = self.settings.max_age_days if self.settings else 7.0
        refs = []
        for s in self.index.snapshots:
            as_of = self._as_of.get(s.id, s.as_of)
            age_days = (now - as_of).total_seconds() / 86400
            refs.append(s.ref(as_of=as_of, stale=s.is_seed or age_days > max_age))
        return tuple(refs)

    def list_warnings(self, now: datetime | None = None) -> tuple[str, ...]:
        """Warnings about the lists screened against: seed or stale snapshots, missing lists."""
        out = list(self._load_warnings)
        refs = self.snapshot_refs(now)
        seeds = [r for r in refs if r.origin == "seed"]
        if seeds:
            names = ", ".join(f"{r.source} {r.as_of.date().isoformat()}" for r in seeds)
            out.append(
                f"screened against the bundled seed snapshots ({names}), not current data; "
                "run `screening refresh`"
            )
        for ref in refs:
            if ref.stale and ref.origin != "seed":
                day = ref.as_of.date().isoformat()
                out.append(f"{ref.source}: snapshot of {day} is stale; run `screening refresh`")
        return tuple(out)

    def screen(
        self,
        name: str,
        country: str | None = None,
        kind: str | EntityType | None = None,
        *,
        threshold: float | None = None,
        limit: int = 10,
    ) -> ScreeningResult:
        """Screen one name. Raises :class:`InputError` for an empty or absurd name."""
        th = self.threshold if threshold is None else _check_threshold(threshold)
        _check_limit(limit)
        hits, warnings = screen_name(
            self.index, name, country=country, kind=kind, threshold=th, limit=limit
        )
        iso, parsed, _ = _resolve(country, kind)
        return ScreeningResult(
            query=name,
            country=iso,
            type=parsed,
            threshold=th,
            hits=hits,
            snapshots=self.snapshot_refs(),
            warnings=(*warnings, *self.list_warnings()),
            screened_at=datetime.now(UTC),
            engine=engine_version(),
        )

    def screen_many(
        self,
        rows: Iterable[BatchRow | RejectedRow | Mapping[str, Any]],
        *,
        threshold: float | None = None,
        limit: int = 10,
        workers: int = 1,
        chunk_size: int = 256,
    ) -> Iterator[BatchResult]:
        """Screen rows in order. With ``workers`` > 1 this process screens along with
        ``workers - 1`` worker processes (each holding the loaded index); results still come
        in input order. The workers are kept for the next batch until :meth:`close`."""
        th = self.threshold if threshold is None else _check_threshold(threshold)
        _check_limit(limit)
        batch_rows = _batch_rows(rows)
        if (
            workers <= 1
            or self.index_path is None
            or not self.index_path.exists()
            # A batch that is using the workers already (another thread's, or one the caller
            # reads alongside this one): this one is screened here.
            or not self._pool_lock.acquire(blocking=False)
        ):
            yield from screen_rows(self.index, batch_rows, threshold=th, limit=limit)
            return
        try:
            yield from self._screen_parallel(batch_rows, th, limit, workers, chunk_size)
        finally:
            self._pool_lock.release()

    def _screen_parallel(
        self,
        batch_rows: Iterator[BatchRow | RejectedRow],
        th: float,
        limit: int,
        workers: int,
        chunk_size: int,
    ) -> Iterator[BatchResult]:
        # A batch that ends within the rows read ahead is cut finer, so that no process is
        # left with a long last chunk while the others wait.
        ahead = max(_LOOKAHEAD, 4 * chunk_size)
        head = list(islice(batch_rows, ahead))
        if len(head) < ahead:
            chunk_size = max(
                _MIN_CHUNK, min(chunk_size, len(head) // (_CHUNKS_PER_PROCESS * workers))
            )
        chunks = _chunks(chain(head, batch_rows), chunk_size)
        pool = self._worker_pool(workers - 1)
        task = (th, limit, self._cache_epoch)
        # In input order: the chunks the workers hold, and those this process screened itself
        # rather than wait for the workers.
        slots: deque[_Slot] = deque()
        chunk: list[BatchRow | RejectedRow] | None = None  # the next chunk, not yet placed
        ended = False
        try:
            while True:
                for w in pool.workers:  # what the workers have finished
                    while w.holding and w.conn.poll():
                        _receive(w)
                while slots and slots[0].results is not None:
                    yield from slots.popleft().results or ()
                for w in pool.workers:  # keep each worker _HELD chunks ahead
                    while len(w.holding) < _HELD:
                        if chunk is None and not ended:
                            chunk = next(chunks, None)
                            ended = chunk is None
                        if chunk is None:
                            break
                        data = pickle.dumps(
                            (_pack_rows(chunk), *task), protocol=pickle.HIGHEST_PROTOCOL
                        )
                        if w.holding and w.held_bytes + len(data) > _PIPE_ROOM:
                            break  # a write that could wait on a worker waiting on us
                        w.conn.send_bytes(data)
                        slot = _Slot(None, w)
                        slots.append(slot)
                        w.holding.append((slot, len(data)))
                        w.held_bytes += len(data)
                        chunk = None
                if not slots:
                    return
                first = slots[0]
                if first.results is not None:
                    continue
                if chunk is None and not ended:
                    chunk = next(chunks, None)
                    ended = chunk is None
                if chunk is not None:  # screened here while the workers screen theirs
                    results = list(screen_rows(self.index, chunk, threshold=th, limit=limit))
                    slots.append(_Slot(results, None))
                    chunk = None
                else:  # nothing left to screen here: wait for the oldest worker's chunk
                    assert first.worker is not None
                    _receive(first.worker)
        except BaseException as exc:
            # A batch left unfinished: an error, a worker that failed or died, or the caller
            # stopped reading while the workers held chunks (their pipes hold results nobody
            # will read). The next batch starts new workers.
            if not isinstance(exc, GeneratorExit) or any(w.holding for w in pool.workers):
                self.close()
            raise

    def _worker_pool(self, workers: int) -> _WorkerPool:
        """The worker processes of a parallel batch, started by the first and kept."""
        pool = self._pool
        if pool is not None and (len(pool.workers) != workers or not pool.alive()):
            self.close()  # another size asked for, or a worker gone
        if self._pool is None:
            assert self.index_path is not None
            self._pool = _WorkerPool(self.index, self.index_path, workers)
        return self._pool

    def screen_shipment(self, shipment: Shipment, ruleset: RuleSet | None = None) -> ShipmentResult:
        """Screen a shipment: every party's name and the route and goods rules."""
        from screening.rules.engine import evaluate_shipment
        from screening.rules.ruleset import load_ruleset
        from screening.shipments import Party

        rules = ruleset or load_ruleset()

        def screen_party(party: Party) -> ScreeningResult:
            return self.screen(party.name or "", country=party.country, kind=party.type)

        return evaluate_shipment(shipment, rules, screen_party)


def engine_version() -> str:
    """The version of screening and of its name knowledge that scores are computed with."""
    from screening import __version__

    return f"screening {__version__}; names {knowledge().version}"


def _check_threshold(value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value <= 1.0:
        raise InputError(f"threshold must be a number in (0, 1], not {value!r}")
    return float(value)


def _check_limit(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"limit must be a whole number of at least 1, not {value!r}")
    return value


def _batch_rows(
    rows: Iterable[BatchRow | RejectedRow | Mapping[str, Any]],
) -> Iterator[BatchRow | RejectedRow]:
    """Rows given as models pass; a mapping is read as a batch file's row is (a row that
    cannot be screened becomes a RejectedRow, its result an error, and the batch goes on)."""
    from screening.inputs import row_from_mapping

    for number, r in enumerate(rows, 1):
        if isinstance(r, BatchRow | RejectedRow):
            yield r
        elif isinstance(r, Mapping):
            yield row_from_mapping(number, number, r)
        else:
            yield RejectedRow(
                id=str(number),
                line=number,
                message=f"a row must be a mapping with a name, not {type(r).__name__}",
            )


def _chunks(
    rows: Iterator[BatchRow | RejectedRow], size: int
) -> Iterator[list[BatchRow | RejectedRow]]:
    chunk: list[BatchRow | RejectedRow] = []
    for r in rows:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _index_path(settings: Settings, snaps: Sequence[SnapshotInfo]) -> Path:
    h = hashlib.sha256(f"{INDEX_FORMAT}|{knowledge().version}".encode())
    for s in sorted(snaps, key=lambda s: s.id):
        h.update(f"|{s.source}:{s.id}:{s.sha256}".encode())
    return settings.home / "index" / f"names-{h.hexdigest()[:24]}.pickle"


#: Cached indexes kept: the most recently used, one per set of snapshots (a set of sources
#: chosen in Python next to the CLI's enabled sources must not evict each other's index).
INDEX_CACHE_KEEP = 4


def _save_index(index: MatchIndex, path: Path) -> None:
    """Cache the index; keep the INDEX_CACHE_KEEP most recently used ones (indexes of older
    snapshot sets age out). A cache that cannot be written (read-only data directory) only
    costs the next command a rebuild."""
    try:
        index.save(path)
    except Exception:  # noqa: BLE001 - the cache is an optimisation, never a failure
        return
    cached = []
    for p in path.parent.glob("names-*.pickle"):
        try:
            cached.append((p.stat().st_mtime, p))
        except OSError:
            continue
    cached.sort(reverse=True)
    for _, old in cached[INDEX_CACHE_KEEP:]:
        if old != path:
            old.unlink(missing_ok=True)


def compare(
    name_a: str,
    name_b: str,
    kind: str | EntityType | None = None,
    *,
    threshold: float = 0.85,
) -> Comparison:
    """Compare two names as the screener would compare a query with a listed name (every
    part weighted alike, as there is no list to tell common from rare parts)."""
    from screening.models import ListEntry

    threshold = _check_threshold(threshold)
    a = _check_name(name_a)
    b = _check_name(name_b)
    parsed = parse_kind(kind)
    listed_type = parsed or EntityType.UNKNOWN
    if parsed is None and _looks_like_listed_person(b):
        listed_type = EntityType.PERSON  # written as lists write persons: "SURNAME, Given"
    entry = ListEntry(source="compare", entry_id="b", name=b, type=listed_type)
    now = datetime.now(UTC)
    snap = SnapshotInfo(
        id=0, source="compare", created_at=now, retrieved_at=now, origin="import", record_count=1
    )
    index = MatchIndex.build([(snap, [entry])], uniform_weights=True)
    q = index.prepare(a, parsed)
    if not q.forms or not any(n.forms for n in index.names):
        raise InputError("name has no letters or digits to compare")
    found = index.score_query(q, threshold=0.0, limit=1)
    if not found:
        return Comparison(name_a=a, name_b=b, score=0.0, match=False, threshold=threshold)
    hit = to_hit(index, q, found[0])
    return Comparison(
        name_a=a,
        name_b=b,
        score=hit.score,
        match=hit.score >= threshold,
        threshold=threshold,
        explanation=hit.explanation,
    )


def _looks_like_listed_person(name: str) -> bool:
    from screening.names.normalize import parse_name

    if name.count(",") != 1:
        return False
    return not parse_name(name, person=False).legal


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))
