"""The bundled seed snapshots and ``status``: ages, staleness, last attempts, durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from screening._status import format_duration, parse_duration, status
from screening.config import load_settings, source_definitions
from screening.errors import InputError
from screening.models import ListEntry
from screening.seed import ensure_seeds
from screening.store import Store

NOW = datetime(2024, 6, 1, tzinfo=UTC)


def test_seeds_only_enabled_sources_without_a_snapshot(home: Path) -> None:
    env = {f"SCREENING_{d.id.upper()}_ENABLED": "0" for d in source_definitions()}
    env["SCREENING_OFAC_CONSOLIDATED_ENABLED"] = "1"
    settings = load_settings(home=home, environ=env)
    with Store.open(settings) as store:
        written = ensure_seeds(store, settings)
        assert [s.source for s in written] == ["ofac_consolidated"]
        seed = written[0]
        day = datetime(2025, 12, 1, tzinfo=UTC)
        assert (seed.origin, seed.published_at, seed.retrieved_at, seed.as_of) == (
            "seed",
            day,
            day,
            day,
        )
        assert seed.record_count == 442
        assert {f.name for f in seed.files} == {
            "CONS_PRIM.CSV",
            "CONS_ADD.CSV",
            "CONS_ALT.CSV",
            "CONS_COMMENTS.CSV",
        }
        assert all(f.url is None and len(f.sha256) == 64 for f in seed.files)
        assert ensure_seeds(store, settings) == []  # already there: a no-op
        assert list(store.current()) == ["ofac_consolidated"]


def test_status_reports_every_seed_stale_with_its_date(seeded_home: Path) -> None:
    rows = status(load_settings(), now=NOW)
    by_source = {r.source: r for r in rows}
    assert set(by_source) == {d.id for d in source_definitions()}
    sdn = by_source["ofac_sdn"]
    assert (sdn.origin, sdn.record_count, sdn.stale) == ("seed", 13_821, True)
    assert sdn.stale_reason == "bundled seed of 2023-12-28"
    assert sdn.as_of == datetime(2023, 12, 28, tzinfo=UTC)
    assert sdn.age_days == (NOW - datetime(2023, 12, 28, tzinfo=UTC)).days
    assert sdn.sha256 is not None and len(sdn.sha256) == 64
    # a seed is stale even when it is young enough
    young = status(load_settings(), now=datetime(2023, 12, 29, tzinfo=UTC))
    assert all(r.stale for r in young)


def test_download_age_counts_from_the_last_check(seeded_home: Path) -> None:
    settings = load_settings()
    retrieved = NOW - timedelta(days=10)
    with Store.open(settings) as store:
        info = store.write_snapshot(
            "ofac_consolidated",
            [ListEntry(source="ofac_consolidated", entry_id="1", name="X")],
            origin="download",
            retrieved_at=retrieved,
            published_at=None,
            url="https://x.test/",
            files=[],
            skipped={},
        )
        row = _row(status(settings, store, now=NOW), "ofac_consolidated")
        assert (row.stale, row.stale_reason, row.age_days) == (True, "older than 7d", 10.0)
        assert not _row(
            status(settings, store, now=NOW, max_age=timedelta(days=11)), "ofac_consolidated"
        ).stale
        store.mark_checked(info.id, NOW - timedelta(hours=1))  # a 304 an hour ago
        row = _row(status(settings, store, now=NOW), "ofac_consolidated")
        assert (row.stale, row.age_seconds, row.retrieved_at) == (False, 3600.0, retrieved)
        store.record_attempt("ofac_consolidated", "failed", "HTTP 500")
        row = _row(status(settings, store, now=NOW), "ofac_consolidated")
        assert (row.last_result, row.last_error) == ("failed", "HTTP 500")


def test_disabled_sources_are_left_out_unless_asked(
    seeded_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCREENING_BIS_UNVERIFIED_ENABLED", "0")
    settings = load_settings()
    assert "bis_unverified" not in {r.source for r in status(settings, now=NOW)}
    row = _row(status(settings, now=NOW, include_disabled=True), "bis_unverified")
    assert row.enabled is False


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90m", 5400),
        ("12h", 43200),
        ("2d", 172800),
        ("1w", 604800),
        ("1d12h", 129600),
        ("3", 259200),
        ("45s", 45),
        ("1.5d", 129600),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "2x", "d", "-1d", "0h", "2 days ago"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(InputError, match="invalid duration"):
        parse_duration(text)


def test_format_duration() -> None:
    assert [format_duration(timedelta(seconds=s)) for s in (59, 5400, 86400, 90 * 3600, 10**6)] == [
        "1m",
        "1.5h",
        "24h",
        "3.8d",
        "11.6d",
    ]


def _row(rows: list, source: str):  # type: ignore[no-untyped-def, type-arg]
    return next(r for r in rows if r.source == source)
