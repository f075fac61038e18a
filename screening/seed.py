"""The bundled seed snapshot: real (old) list files shipped in ``seeds/``.

A fresh install has no network-fetched data yet, so :func:`ensure_seeds` stores a snapshot of
every enabled source that has none, parsed from ``seeds/<seed>/<FILE>.gz`` (the ``seed`` of its
``lists/sources.toml`` table). Such a snapshot has ``origin = "seed"`` and the files' publish
date as both ``published_at`` and ``retrieved_at``; it is always reported stale, with its date,
so nobody mistakes it for current data. The first ``screening refresh`` diffs against it.

Screening commands and :func:`screening.refresh` call :func:`ensure_seeds` before
reading the store; once a source has any snapshot it is a no-op costing one query.
"""

from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, date, datetime

from screening._resources import seeds_path
from screening.config import Settings, SourceDefinition
from screening.errors import ParseError, ScreeningError
from screening.models import ParseResult, RawFile, SnapshotInfo
from screening.sources.base import ListSource, load_source
from screening.store import Store

__all__ = ["ensure_seeds", "seed_date"]


def seed_date(definition: SourceDefinition) -> datetime | None:
    """The publish date of a source's seed files (midnight UTC), if it has a seed."""
    if not definition.seed_published:
        return None
    try:
        day = date.fromisoformat(definition.seed_published)
    except ValueError as exc:
        raise ParseError(
            f"{definition.id}: seed_published {definition.seed_published!r} is not an ISO date",
            source=definition.id,
        ) from exc
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def ensure_seeds(store: Store, settings: Settings) -> list[SnapshotInfo]:
    """Store the seed snapshot of every enabled source that has no snapshot yet.

    Returns the snapshots written (empty when every source already had one). Raises
    :class:`~screening.errors.ParseError` when a bundled seed file is missing or unreadable
    (a broken installation) and :class:`~screening.errors.StoreError` when the store cannot
    be written.
    """
    current = store.current()
    todo = [d for d in settings.enabled_sources() if d.id not in current and d.seed]
    if not todo:
        return []
    blobs: dict[tuple[str, str], bytes] = {}  # (seed dir, file) -> bytes; shared feeds read once
    written: list[SnapshotInfo] = []
    for definition in todo:
        source = load_source(definition)
        files = _seed_files(source, blobs)
        result = _parse(source, files)
        published = seed_date(definition) or result.published_at
        if published is None:
            raise ParseError(
                f"{definition.id}: the seed has no publish date (set seed_published)",
                source=definition.id,
            )
        raw_files = [
            RawFile(
                name=name,
                sha256=hashlib.sha256(blob).hexdigest(),
                size=len(blob),
                rows=result.rows_of(name),
            )
            for name, blob in files.items()
        ]
        info = store.write_snapshot(
            definition.id,
            result.entries,
            origin="seed",
            retrieved_at=published,
            published_at=published,
            url=None,
            files=raw_files,
            skipped=result.skipped,
            only_if_absent=True,
        )
        if info.is_seed and info.id not in {w.id for w in written}:
            written.append(info)
    return written


def _seed_files(source: ListSource, blobs: dict[tuple[str, str], bytes]) -> dict[str, bytes]:
    seed = source.definition.seed
    assert seed is not None
    files: dict[str, bytes] = {}
    required = set(source.required_files())
    for name in source.file_names():
        key = (seed, name)
        if key not in blobs:
            path = seeds_path(seed, f"{name}.gz")
            try:
                blobs[key] = gzip.decompress(path.read_bytes())
            except FileNotFoundError:
                if name in required:
                    raise ParseError(
                        f"{source.id}: bundled seed file {path} is missing "
                        "(a broken installation: reinstall screening)",
                        source=source.id,
                    ) from None
                continue
            except (OSError, EOFError) as exc:
                raise ParseError(
                    f"{source.id}: bundled seed file {path} is unreadable: {exc}",
                    source=source.id,
                ) from exc
        files[name] = blobs[key]
    return files


def _parse(source: ListSource, files: dict[str, bytes]) -> ParseResult:
    try:
        return source.parse(files)
    except ScreeningError as exc:
        raise ParseError(f"{source.id}: bundled seed: {exc}", source=source.id) from exc
