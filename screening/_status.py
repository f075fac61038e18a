"""How current each list is: ``screening status``.

A source is **stale** when it has no snapshot, when its snapshot is the bundled seed (always:
the seed is old by design), or when its data are older than the maximum age
(``Settings.max_age_days``, 7 by default; ``--max-age`` on the command line).

The age of a snapshot is measured from the time its data were last known current:

- a seed: its publish date (:attr:`SnapshotInfo.as_of`);
- a download: the later of its retrieval and the last refresh that found the files unchanged
  (an HTTP 304 or the same SHA-256s). A list OFAC did not change for ten days, checked every
  night, is not stale;
- an import: the list's own publish date when the files carry one, else the import time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from screening.config import Settings, source_definitions
from screening.errors import InputError
from screening.models import SnapshotInfo
from screening.seed import ensure_seeds
from screening.store import Store

__all__ = ["SourceStatus", "data_as_of", "parse_duration", "status"]


class SourceStatus(BaseModel):
    """One source's snapshot and freshness."""

    model_config = ConfigDict(frozen=True)

    source: str
    list_name: str
    enabled: bool
    snapshot_id: int | None = None
    origin: str | None = None  # download | import | seed
    published_at: datetime | None = None
    retrieved_at: datetime | None = None
    checked_at: datetime | None = None  # last refresh that found the files unchanged
    as_of: datetime | None = None  # the data are known current as of this time
    record_count: int | None = None
    skipped: dict[str, int] = Field(default_factory=dict)
    sha256: str | None = None
    url: str | None = None
    age_seconds: float | None = None
    age_days: float | None = None
    stale: bool
    stale_reason: str | None = None
    max_age_days: float
    last_attempt_at: datetime | None = None
    last_result: str | None = None  # updated | unchanged | failed
    last_error: str | None = None


def data_as_of(info: SnapshotInfo, checked_at: datetime | None = None) -> datetime:
    """When a snapshot's data were last known current (see the module docstring)."""
    if info.origin == "download":
        return max(info.retrieved_at, checked_at) if checked_at else info.retrieved_at
    if info.origin == "import" and info.published_at is not None:
        return info.published_at
    return info.as_of


def status(
    settings: Settings,
    store: Store | None = None,
    *,
    max_age: timedelta | None = None,
    include_disabled: bool = False,
    now: datetime | None = None,
) -> list[SourceStatus]:
    """The status of every enabled source (every source with ``include_disabled``).

    Stores the seed snapshots first if the store has none (a fresh install reports its seed).
    ``max_age`` overrides ``settings.max_age_days``.
    """
    limit = max_age if max_age is not None else timedelta(days=settings.max_age_days)
    moment = now or datetime.now(UTC)
    own = store is None
    st = Store.open(settings) if store is None else store
    try:
        ensure_seeds(st, settings)
        current = st.current()
        out = []
        for d in source_definitions():
            enabled = settings.is_enabled(d)
            if not (enabled or include_disabled):
                continue
            info = current.get(d.id)
            attempt = st.source_state(d.id)
            row: dict[str, object] = {
                "source": d.id,
                "list_name": d.list_name,
                "enabled": enabled,
                "max_age_days": limit.total_seconds() / 86400,
                "last_attempt_at": attempt.attempted_at if attempt else None,
                "last_result": attempt.outcome if attempt else None,
                "last_error": attempt.message if attempt and attempt.outcome == "failed" else None,
            }
            if info is None:
                row.update(stale=True, stale_reason="no snapshot")
                out.append(SourceStatus.model_validate(row))
                continue
            checked = st.checked_at(info.id)
            as_of = data_as_of(info, checked)
            age = max(timedelta(0), moment - as_of)
            if info.is_seed:
                reason: str | None = f"bundled seed of {as_of:%Y-%m-%d}"
            elif age > limit:
                reason = f"older than {format_duration(limit)}"
            else:
                reason = None
            row.update(
                snapshot_id=info.id,
                origin=info.origin,
                published_at=info.published_at,
                retrieved_at=info.retrieved_at,
                checked_at=checked,
                as_of=as_of,
                record_count=info.record_count,
                skipped=info.skipped,
                sha256=info.sha256,
                url=info.url,
                age_seconds=round(age.total_seconds(), 3),
                age_days=round(age.total_seconds() / 86400, 3),
                stale=reason is not None,
                stale_reason=reason,
            )
            out.append(SourceStatus.model_validate(row))
        return out
    finally:
        if own:
            st.close()


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]*)")
_UNITS = {
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "": 86400,
}


def parse_duration(text: str) -> timedelta:
    """``90m``, ``12h``, ``2d``, ``1w``, ``1d12h`` (a bare number is days).

    Raises :class:`~screening.errors.InputError` for anything else.
    """
    raw = text.strip().lower()
    pos = 0
    seconds = 0.0
    while pos < len(raw):
        match = _DURATION_PART.match(raw, pos)
        if match is None or match.group(2) not in _UNITS:
            raise InputError(f"invalid duration {text!r} (use e.g. 90m, 12h, 2d, 1w)")
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
        while pos < len(raw) and raw[pos] == " ":
            pos += 1
    if not raw or seconds <= 0:
        raise InputError(f"invalid duration {text!r} (use e.g. 90m, 12h, 2d, 1w)")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """A short human form: ``45m``, ``12h``, ``3d``, ``2.5d``."""
    s = delta.total_seconds()
    if s < 3600:
        return f"{round(s / 60):g}m"
    if s < 2 * 86400:
        return f"{round(s / 3600, 1):g}h"
    return f"{round(s / 86400, 1):g}d"
