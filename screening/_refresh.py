"""Bring list sources up to date: download (or import), validate, store, diff.

:func:`refresh` is what ``screening refresh`` (and a nightly cron job) runs; :func:`import_files`
is the same pipeline for files downloaded by hand onto an air-gapped machine.

For each download feed (sources sharing a ``url_id`` share one download; the trade.gov CSL
feeds four BIS sources):

1. **fetch** every file of the feed with a conditional GET, using the ETag/Last-Modified recorded
   with the files of the current snapshots. Only when *every* file answers 304 is the feed
   unchanged; otherwise the 304 files are fetched again in full, because a snapshot is always
   parsed from one complete, consistent set of files.
2. per source: if the files' SHA-256s equal those behind the current snapshot, **unchanged**
   (nothing written; the snapshot is marked checked, so it does not go stale).
3. **parse** (an empty body or an HTML page is rejected before the parser sees it; malformed
   rows are skipped and counted by the parser), then **validate**: at least
   ``min_records`` records, unique ids, and no fall of more than ``max_record_drop`` against
   the current snapshot.
4. **write** the snapshot and make it current in one transaction, then **diff** it against the
   previous one: entries added, removed and changed, by id.

A failure anywhere fails that source only, with a one-line reason; its current snapshot stays
as it was and the other sources go on. A refresh lock (:mod:`screening.lock`) keeps two
refreshes or imports from running at once.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import requests
from pydantic import BaseModel, ConfigDict, Field

from screening.config import Settings, SourceDefinition, get_source_definition, source_definitions
from screening.errors import (
    ConfigError,
    DownloadError,
    InputError,
    ParseError,
    ScreeningError,
    StoreError,
    ValidationError,
)
from screening.lock import DEFAULT_LOCK_TIMEOUT, refresh_lock
from screening.models import ParseResult, RawFile, SnapshotInfo
from screening.seed import ensure_seeds
from screening.sources._http import FetchResult, fetch, new_session, redact
from screening.sources.base import ListSource, load_source
from screening.store import Origin, Store

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "RefreshReport",
    "SourceOutcome",
    "import_files",
    "refresh",
    "refresh_sources",
    "select_sources",
]

#: Seconds a refresh or import waits for another one to finish before giving up.


class SourceOutcome(BaseModel):
    """What a refresh or import did to one source."""

    model_config = ConfigDict(frozen=True)

    source: str
    status: Literal["updated", "unchanged", "failed"]
    #: Failure reason (one line), or a note on an update/unchanged ("not modified, HTTP 304").
    message: str | None = None
    error: str | None = None  # the exception class of a failure: DownloadError, ParseError, ...
    #: The new snapshot (updated), or the current one (unchanged, or kept after a failure).
    snapshot: SnapshotInfo | None = None
    previous_id: int | None = None
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)
    skipped: dict[str, int] = Field(default_factory=dict)
    #: What the parser noted about the files of an update ("no 0x1A end-of-file byte",
    #: "decoded as latin-1", the first skipped rows of each file, by line).
    notes: list[str] = Field(default_factory=list)
    seconds: float = 0.0  # wall time spent on this source (its share of a shared download)

    @property
    def failed(self) -> bool:
        return self.status == "failed"


class RefreshReport(BaseModel):
    """Every source's outcome of one refresh or import run."""

    model_config = ConfigDict(frozen=True)

    started_at: datetime
    finished_at: datetime
    outcomes: list[SourceOutcome]
    #: Snapshots written from the bundled seed files first (a store's very first run).
    seeded: list[SnapshotInfo] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no source failed."""
        return not any(o.failed for o in self.outcomes)

    @property
    def failed(self) -> list[SourceOutcome]:
        return [o for o in self.outcomes if o.failed]

    def outcome(self, source: str) -> SourceOutcome:
        for o in self.outcomes:
            if o.source == source:
                return o
        raise KeyError(source)


# -- choosing sources ------------------------------------------------------------------------


def select_sources(
    settings: Settings, names: Sequence[str] | None = None
) -> list[SourceDefinition]:
    """The sources to refresh: all enabled ones, or those named (a source id, or a feed id such
    as ``trade_csl`` meaning every enabled source of that feed).

    Raises :class:`~screening.errors.ConfigError` for an unknown or disabled name.
    """
    if not names:
        return settings.enabled_sources()
    out: dict[str, SourceDefinition] = {}
    feeds = {d.url_id for d in source_definitions()}
    for name in names:
        ids = {d.id for d in source_definitions()}
        if name not in ids and name in feeds:
            members = [d for d in settings.enabled_sources() if d.url_id == name]
            if not members:
                raise ConfigError(f"every source of the feed {name!r} is disabled")
            out.update((d.id, d) for d in members)
            continue
        if name not in ids:
            raise ConfigError(
                f"unknown source {name!r} (sources: {', '.join(sorted(ids))}; "
                f"feeds, meaning each of their sources: {', '.join(sorted(feeds - ids))})"
            )
        definition = get_source_definition(name)
        if not settings.is_enabled(definition):
            raise ConfigError(
                f"source {name!r} is disabled (enable it with SCREENING_{name.upper()}_ENABLED=1 "
                f"or [sources.{name}] enabled = true in the config file)"
            )
        out[definition.id] = definition
    return list(out.values())


# -- refresh ---------------------------------------------------------------------------------


def refresh(
    settings: Settings,
    sources: Sequence[str] | None = None,
    *,
    session: requests.Session | None = None,
    store: Store | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> RefreshReport:
    """Download, validate and store the current lists of ``sources`` (default: all enabled).

    Never raises for a source that fails: its outcome says why. Raises
    :class:`~screening.errors.ConfigError` for an unknown or disabled source name,
    :class:`~screening.errors.LockedError` when another refresh holds the lock past
    ``lock_timeout`` seconds, and :class:`~screening.errors.StoreError` when the store itself
    is unusable.
    """
    definitions = select_sources(settings, sources)
    loaded: list[ListSource] = []
    broken: list[SourceOutcome] = []
    for d in definitions:
        try:
            loaded.append(load_source(d))
        except ConfigError as exc:
            broken.append(_failure(d.id, exc, None, 0.0))
    report = refresh_sources(
        settings, loaded, session=session, store=store, lock_timeout=lock_timeout
    )
    if not broken:
        return report
    return report.model_copy(update={"outcomes": [*report.outcomes, *broken]})


def refresh_sources(
    settings: Settings,
    sources: Sequence[ListSource],
    *,
    session: requests.Session | None = None,
    store: Store | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> RefreshReport:
    """:func:`refresh` for already loaded :class:`ListSource` objects (any source, including
    ones not declared in ``lists/sources.toml``)."""
    started = _now()
    sess = session or new_session()
    try:
        with refresh_lock(settings.home, timeout=lock_timeout), _opened(settings, store) as st:
            seeded = ensure_seeds(st, settings)
            outcomes: list[SourceOutcome] = []
            for group in _feeds(sources):
                outcomes.extend(_refresh_feed(settings, st, group, sess))
    finally:
        if session is None:
            sess.close()
    return RefreshReport(started_at=started, finished_at=_now(), outcomes=outcomes, seeded=seeded)


def _feeds(sources: Sequence[ListSource]) -> list[list[ListSource]]:
    groups: dict[str, list[ListSource]] = {}
    for s in sources:
        groups.setdefault(s.definition.url_id, []).append(s)
    return list(groups.values())


def _refresh_feed(
    settings: Settings, store: Store, group: list[ListSource], session: requests.Session
) -> list[SourceOutcome]:
    t0 = time.perf_counter()
    first = group[0].definition
    base_url = settings.url_for(first)
    file_urls: dict[str, str] = {}
    for s in group:
        file_urls.update(s.file_urls(base_url))
    current = store.current()
    validators = _validators(group, current, file_urls)
    retrieved_at = _now()
    fetched: dict[str, FetchResult] = {}
    try:
        for name, url in file_urls.items():
            etag, last_modified = validators.get(name, (None, None))
            fetched[name] = fetch(
                url, http=settings.http, session=session, etag=etag, last_modified=last_modified
            )
        if validators and all(r.status == "not_modified" for r in fetched.values()):
            return _not_modified(store, group, current, first, base_url, fetched, t0)
        for name, result in list(fetched.items()):
            if result.status == "not_modified":  # others changed: need the complete set
                fetched[name] = fetch(file_urls[name], http=settings.http, session=session)
    except DownloadError as exc:
        store.record_feed(first.url_id, url=_stored_url(base_url), status="failed", error=str(exc))
        share = (time.perf_counter() - t0) / len(group)
        outcomes = []
        for s in group:
            outcome = _failure(s.id, exc, current.get(s.id), share)
            _note_failure(store, outcome)
            outcomes.append(outcome)
        return outcomes
    head = fetched[next(iter(file_urls))]
    store.record_feed(
        first.url_id,
        url=_stored_url(base_url),
        status="downloaded",
        etag=head.etag,
        last_modified=head.last_modified,
    )
    raw_files = {
        name: RawFile(
            name=name,
            url=_stored_url(file_urls[name]),
            sha256=hashlib.sha256(r.content).hexdigest(),
            size=len(r.content),
            etag=r.etag,
            last_modified=r.last_modified,
        )
        for name, r in fetched.items()
    }
    contents = {name: r.content for name, r in fetched.items()}
    fetch_share = (time.perf_counter() - t0) / len(group)
    outcomes = []
    for s in group:
        outcomes.append(
            _ingest(
                settings,
                store,
                s,
                contents,
                raw_files,
                origin="download",
                retrieved_at=retrieved_at,
                url=_stored_url(base_url),
                current=current.get(s.id),
                extra_seconds=fetch_share,
            )
        )
    return outcomes


def _not_modified(
    store: Store,
    group: list[ListSource],
    current: Mapping[str, SnapshotInfo],
    first: SourceDefinition,
    base_url: str,
    fetched: Mapping[str, FetchResult],
    t0: float,
) -> list[SourceOutcome]:
    head = next(iter(fetched.values()))
    store.record_feed(
        first.url_id,
        url=_stored_url(base_url),
        status="not modified",
        etag=head.etag,
        last_modified=head.last_modified,
    )
    share = (time.perf_counter() - t0) / len(group)
    outcomes = []
    for s in group:
        snap = current[s.id]
        store.mark_checked(snap.id)
        store.record_attempt(s.id, "unchanged", "not modified, HTTP 304", snap.id)
        outcomes.append(
            SourceOutcome(
                source=s.id,
                status="unchanged",
                message="not modified, HTTP 304",
                snapshot=snap,
                previous_id=snap.id,
                seconds=share,
            )
        )
    return outcomes


def _validators(
    group: list[ListSource],
    current: Mapping[str, SnapshotInfo],
    file_urls: Mapping[str, str],
) -> dict[str, tuple[str | None, str | None]]:
    """ETag/Last-Modified to send per file, taken from the files behind the current snapshots.

    Conditional GETs are used only when every source of the feed holds a downloaded snapshot
    made from the same files at the same URLs, each with a validator: a 304 then means exactly
    "what you store is what we serve". Anything else (a seed, an import never downloaded since,
    a new URL, a source newly enabled) gets a full download, which records the validators when
    the bytes are the same (see :func:`_note_validators`).
    """
    per_source: list[dict[str, RawFile]] = []
    for s in group:
        snap = current.get(s.id)
        if snap is None or snap.origin == "seed":
            return {}
        per_source.append({f.name: f for f in snap.files})
    out: dict[str, tuple[str | None, str | None]] = {}
    for name, url in file_urls.items():
        candidates = [files.get(name) for files in per_source]
        head = candidates[0]
        if head is None or not (head.etag or head.last_modified):
            return {}
        if head.url != _stored_url(url):
            return {}
        if any(c is None or c.sha256 != head.sha256 for c in candidates):
            return {}
        out[name] = (head.etag, head.last_modified)
    return out


# -- import ----------------------------------------------------------------------------------


def import_files(
    settings: Settings,
    source_id: str,
    paths: Sequence[Path],
    *,
    store: Store | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> RefreshReport:
    """Validate and store files downloaded by hand, exactly as :func:`refresh` would.

    ``source_id`` is a source id (``ofac_sdn``) or a feed id (``trade_csl``: every enabled
    source of the CSL). File names are matched to the expected names case-insensitively, with
    an optional ``.gz`` suffix (``sdn.csv``, ``SDN.CSV.gz``); a feed of one file (the CSL)
    takes a single file of any name. Raises :class:`~screening.errors.InputError` when the
    files do not make up the feed.
    """
    definitions = _import_targets(settings, source_id)
    sources = [load_source(d) for d in definitions]
    contents = _read_import(sources, paths, limit=settings.http.max_bytes)
    raw_files = {
        name: RawFile(
            name=name,
            url=path.resolve().as_uri(),
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
        )
        for name, (path, data) in contents.items()
    }
    data = {name: blob for name, (_, blob) in contents.items()}
    started = _now()
    with refresh_lock(settings.home, timeout=lock_timeout), _opened(settings, store) as st:
        seeded = ensure_seeds(st, settings)
        current = st.current()
        outcomes = [
            _ingest(
                settings,
                st,
                s,
                data,
                raw_files,
                origin="import",
                retrieved_at=started,
                url=None,
                current=current.get(s.id),
            )
            for s in sources
        ]
    return RefreshReport(started_at=started, finished_at=_now(), outcomes=outcomes, seeded=seeded)


def _import_targets(settings: Settings, name: str) -> list[SourceDefinition]:
    ids = {d.id for d in source_definitions()}
    if name not in ids:
        members = [d for d in source_definitions() if d.url_id == name]
        enabled = [d for d in members if settings.is_enabled(d)]
        if enabled:
            return enabled
        if members:
            raise ConfigError(f"every source of the feed {name!r} is disabled")
    return [get_source_definition(name)]


def _read_import(
    sources: Sequence[ListSource], paths: Sequence[Path], *, limit: int
) -> dict[str, tuple[Path, bytes]]:
    """The files of an import by expected name; each at most ``limit`` bytes (the download
    cap, ``http.max_bytes``), also once un-gzipped: a gzip bomb is refused, not expanded."""
    expected: dict[str, str] = {}  # upper-case name -> name
    required: set[str] = set()
    for s in sources:
        expected.update((n.upper(), n) for n in s.file_names())
        required.update(s.required_files())
    label = sources[0].id if len(sources) == 1 else sources[0].definition.url_id
    if not paths:
        raise InputError(f"{label}: no files given (expected {', '.join(expected.values())})")
    chosen: dict[str, Path] = {}
    if len(expected) == 1 and len(paths) == 1:
        chosen[next(iter(expected.values()))] = Path(paths[0])
    else:
        for path in paths:
            path = Path(path)
            key = path.name.upper()
            if key.endswith(".GZ"):
                key = key[:-3]
            name = expected.get(key)
            if name is None:
                raise InputError(
                    f"{path}: not a file of {label} (expected {', '.join(expected.values())})"
                )
            if name in chosen:
                raise InputError(f"{path}: {name} given twice ({chosen[name]})")
            chosen[name] = path
    missing = [n for n in expected.values() if n in required and n not in chosen]
    if missing:
        raise InputError(f"{label}: missing {', '.join(missing)}")
    out: dict[str, tuple[Path, bytes]] = {}
    for name, path in chosen.items():
        try:
            size = path.stat().st_size
            if size > limit:
                raise InputError(f"{path}: {size:,} bytes, more than the limit of {limit:,}")
            blob = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        if blob[:2] == b"\x1f\x8b":
            try:
                with gzip.GzipFile(fileobj=io.BytesIO(blob)) as unzipped:
                    blob = unzipped.read(limit + 1)
            except (OSError, EOFError, zlib.error) as exc:
                raise InputError(f"{path}: broken gzip file: {exc}") from exc
            if len(blob) > limit:
                raise InputError(
                    f"{path}: more than {limit:,} bytes once decompressed (the limit, setting "
                    "http.max_bytes); not imported"
                )
        out[name] = (path, blob)
    return out


# -- the shared pipeline ---------------------------------------------------------------------


def _ingest(
    settings: Settings,
    store: Store,
    source: ListSource,
    contents: Mapping[str, bytes],
    raw_files: Mapping[str, RawFile],
    *,
    origin: Origin,
    retrieved_at: datetime,
    url: str | None,
    current: SnapshotInfo | None,
    extra_seconds: float = 0.0,
) -> SourceOutcome:
    """Parse, validate, store and diff one source's files; a failure becomes its outcome."""
    t0 = time.perf_counter()
    names = [n for n in source.file_names() if n in contents]
    files = {n: contents[n] for n in names}
    mine = [raw_files[n] for n in names]
    try:
        if current is not None and not current.is_seed and _same_files(current, mine):
            # The source still serves these files, or an operator imports them again as the
            # current ones (an air-gapped site's nightly import): either way, not stale.
            store.mark_checked(current.id, retrieved_at)
            if origin == "download":
                current = _note_validators(store, current, mine)
            return _unchanged(
                store,
                source.id,
                current,
                f"same files as snapshot {current.id}",
                time.perf_counter() - t0 + extra_seconds,
            )
        _sniff(source, files)
        result = _parse(source, files)
        mine = [f.model_copy(update={"rows": result.rows_of(f.name)}) for f in mine]
        _validate(settings, source, result, current)
        _validate_files(settings, source, mine, current)
        if current is not None and not current.is_seed and _same_entries(store, current, result):
            # Other bytes, the same list (rows reordered, a file re-saved): no new snapshot, so
            # the kept history holds real changes only.
            store.mark_checked(current.id, retrieved_at)
            return _unchanged(
                store,
                source.id,
                current,
                f"same entries as snapshot {current.id} (the files changed, the list did not)",
                time.perf_counter() - t0 + extra_seconds,
                notes=result.notes,
            )
        info = store.write_snapshot(
            source.id,
            result.entries,
            origin=origin,
            retrieved_at=retrieved_at,
            published_at=result.published_at,
            url=url,
            files=mine,
            skipped=result.skipped,
        )
        diff = store.diff(current.id if current else None, info.id)
    except (ParseError, ValidationError, StoreError) as exc:
        outcome = _failure(source.id, exc, current, time.perf_counter() - t0 + extra_seconds)
        _note_failure(store, outcome)
        return outcome
    note: str | None = None
    if current is not None and current.is_seed:
        note = "replaces the bundled seed"
    store.record_attempt(source.id, "updated", note, info.id)
    return SourceOutcome(
        source=source.id,
        status="updated",
        message=note,
        snapshot=info,
        previous_id=current.id if current else None,
        added=diff.added,
        removed=diff.removed,
        changed=diff.changed,
        skipped=dict(result.skipped),
        notes=list(result.notes),
        seconds=time.perf_counter() - t0 + extra_seconds,
    )


def _unchanged(
    store: Store,
    source_id: str,
    current: SnapshotInfo,
    message: str,
    seconds: float,
    notes: Sequence[str] = (),
) -> SourceOutcome:
    """The outcome of a source whose current snapshot stays, recorded as its last attempt."""
    store.record_attempt(source_id, "unchanged", message, current.id)
    return SourceOutcome(
        source=source_id,
        status="unchanged",
        message=message,
        snapshot=current,
        previous_id=current.id,
        notes=list(notes),
        seconds=seconds,
    )


def _note_validators(
    store: Store, current: SnapshotInfo, downloaded: Sequence[RawFile]
) -> SnapshotInfo:
    """The current snapshot, its files now carrying the URL and validators of this download
    of the same bytes (a new mirror, or a list first imported): later refreshes can then ask
    conditionally (a 304) instead of downloading in full every time."""
    fresh = {f.name: f for f in downloaded}
    files = tuple(
        f.model_copy(
            update={
                "url": fresh[f.name].url,
                "etag": fresh[f.name].etag,
                "last_modified": fresh[f.name].last_modified,
            }
        )
        if f.name in fresh and f.sha256 == fresh[f.name].sha256
        else f
        for f in current.files
    )
    if files == current.files:
        return current
    store.update_validators(current.id, files)
    return current.model_copy(update={"files": files})


def _same_entries(store: Store, current: SnapshotInfo, result: ParseResult) -> bool:
    if len(result.entries) != current.record_count:
        return False
    return {e.entry_id: e.content_hash() for e in result.entries} == store.entry_hashes(current.id)


def _same_files(current: SnapshotInfo, files: Sequence[RawFile]) -> bool:
    old = {f.name: f.sha256 for f in current.files}
    new = {f.name: f.sha256 for f in files}
    return bool(new) and old == new


def _sniff(source: ListSource, files: Mapping[str, bytes]) -> None:
    """Reject the payloads every list format rejects: an empty file, an HTML page."""
    for name in source.required_files():
        if name not in files:
            raise ParseError(f"{name}: missing from the download", source=source.id)
    for name, blob in files.items():
        head = blob[:2048].lstrip(b"\xef\xbb\xbf \t\r\n\x1a").lower()
        if not head.strip():
            raise ParseError(f"{name}: empty file", source=source.id)
        if head.startswith(b"<") and (b"<html" in head or b"<!doctype html" in head):
            raise ParseError(
                f"{name}: got an HTML page (an error or block page?), not the list file",
                source=source.id,
            )


def _parse(source: ListSource, files: Mapping[str, bytes]) -> ParseResult:
    try:
        return source.parse(files)
    except ScreeningError as exc:
        if isinstance(exc, ParseError | ValidationError):
            raise
        raise ParseError(str(exc), source=source.id) from exc
    except Exception as exc:  # a parser bug must not stop the other sources
        raise ParseError(
            f"the {source.id} parser failed ({type(exc).__name__}: {exc}); "
            "this is a bug, please report it",
            source=source.id,
        ) from exc


def _validate(
    settings: Settings, source: ListSource, result: ParseResult, current: SnapshotInfo | None
) -> None:
    n = len(result.entries)
    if n < source.min_records:
        skipped = sum(result.skipped.values())
        extra = f" ({skipped:,} rows skipped)" if skipped else ""
        raise ValidationError(
            f"only {n:,} records{extra}, fewer than the {source.min_records:,} a complete "
            f"{source.id} list has; not stored",
            source=source.id,
        )
    ids: set[str] = set()
    for entry in result.entries:
        if entry.source != source.id:
            raise ValidationError(
                f"the parser produced an entry of {entry.source!r}; not stored", source=source.id
            )
        if entry.entry_id in ids:
            raise ValidationError(
                f"entry id {entry.entry_id} appears twice; not stored", source=source.id
            )
        ids.add(entry.entry_id)
    if current is not None and current.record_count > 0:
        floor = current.record_count * (1 - settings.max_record_drop)
        if n < floor:
            drop = 1 - n / current.record_count
            raise ValidationError(
                f"{n:,} records, {_share(drop)} fewer than the {current.record_count:,} of "
                f"snapshot {current.id} (limit {settings.max_record_drop:.0%}, setting "
                "max_record_drop); not stored",
                source=source.id,
            )


#: A file's row count is guarded only when the last snapshot's had at least this many rows
#: (a 13-row remarks file may lose two rows for real).
MIN_GUARDED_ROWS = 100


def _validate_files(
    settings: Settings, source: ListSource, files: Sequence[RawFile], current: SnapshotInfo | None
) -> None:
    """Refuse a file whose rows fell by more than ``max_record_drop`` against the same file
    of the last snapshot: an alias or address file cut exactly at a line break reads as a
    complete file, and the entries' count does not show it."""
    if current is None:
        return
    before = {f.name.upper(): f.rows for f in current.files if f.rows is not None}
    for f in files:
        old = before.get(f.name.upper())
        if f.rows is None or old is None or old < MIN_GUARDED_ROWS:
            continue
        if f.rows < old * (1 - settings.max_record_drop):
            drop = 1 - f.rows / old
            raise ValidationError(
                f"{f.name}: {f.rows:,} rows, {_share(drop)} fewer than the {old:,} of snapshot "
                f"{current.id} (limit {settings.max_record_drop:.0%}, setting max_record_drop; "
                "cut off?); not stored",
                source=source.id,
            )


def _share(fraction: float) -> str:
    """A share as a percentage that never rounds a part up to the whole ("99.9%", not
    "100%", for 1 record of 919)."""
    text = f"{fraction:.0%}"
    if text == "100%" and fraction < 1.0:
        return f"{min(fraction, 0.999):.1%}"
    return text


def _failure(
    source: str, exc: ScreeningError, current: SnapshotInfo | None, seconds: float
) -> SourceOutcome:
    return SourceOutcome(
        source=source,
        status="failed",
        message=" ".join(str(exc).split()) or type(exc).__name__,
        error=type(exc).__name__,
        snapshot=current,
        previous_id=current.id if current else None,
        seconds=seconds,
    )


def _note_failure(store: Store, outcome: SourceOutcome) -> None:
    try:
        store.record_attempt(outcome.source, "failed", outcome.message)
    except StoreError:
        pass  # the outcome carries the failure; a store that cannot record it fails elsewhere


# -- helpers ---------------------------------------------------------------------------------


@contextmanager
def _opened(settings: Settings, store: Store | None) -> Iterator[Store]:
    if store is not None:
        yield store
        return
    with Store.open(settings) as st:
        yield st


def _stored_url(url: str) -> str:
    """The configured URL as recorded with a snapshot: without user:password, and without a
    query string (a signed link's signature) or fragment."""
    return redact(url)


def _now() -> datetime:
    return datetime.now(UTC)
