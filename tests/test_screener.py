"""The Screener's cached name indexes."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from screening.config import load_settings
from screening.errors import ConfigError, InputError
from screening.matching.index import MatchIndex
from screening.screener import (
    INDEX_CACHE_KEEP,
    BatchResult,
    BatchRow,
    Screener,
    compare,
    screen_rows,
)


def _no_build(*args: object, **kwargs: object) -> MatchIndex:
    raise AssertionError("the index was rebuilt instead of read from its cache")


def test_the_index_of_another_source_set_does_not_evict_the_cached_one(
    screened_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(home=screened_home, environ={})
    (default_cache,) = (screened_home / "index").glob("names-*.pickle")
    one = Screener.open(settings, sources=["bis_entity_list"])
    assert one.index_path is not None and one.index_path != default_cache
    assert {s.source for s in one.index.snapshots} == {"bis_entity_list"}
    assert default_cache.exists()

    monkeypatch.setattr(MatchIndex, "build", staticmethod(_no_build))
    again = Screener.open(settings)  # the enabled sources, from the cache
    assert again.index_path == default_cache
    assert again.screen("Rosneft").hits
    assert Screener.open(settings, sources=["bis_entity_list"]).index_path == one.index_path


def test_only_the_most_recently_used_indexes_are_kept(screened_home: Path) -> None:
    settings = load_settings(home=screened_home, environ={})
    cache = screened_home / "index"
    (default_cache,) = cache.glob("names-*.pickle")
    subsets = [["bis_entity_list"], ["bis_unverified"], ["bis_military_end_user"]]
    subsets += [["bis_denied_persons"], ["bis_unverified", "bis_military_end_user"]]
    assert len(subsets) > INDEX_CACHE_KEEP
    Screener.open(settings)  # used first, so the oldest once the subsets are cached
    for sources in subsets:
        Screener.open(settings, sources=sources)
    kept = list(cache.glob("names-*.pickle"))
    assert len(kept) == INDEX_CACHE_KEEP
    assert default_cache not in kept
    newest = Screener.open(settings, sources=subsets[-1]).index_path
    assert newest in kept


# -- arguments a caller can get wrong ----------------------------------------------------------


def test_an_unknown_source_is_an_error_not_an_empty_list(screened_home: Path) -> None:
    settings = load_settings(home=screened_home, environ={})
    for sources in (["OFAC_SDN"], ["nope"], ["ofac_sdn", "nope"]):
        with pytest.raises(ConfigError, match="unknown source"):
            Screener.open(settings, sources=sources)
    # one source named as a string is that source, not its letters
    one = Screener.open(settings, sources="bis_entity_list")
    assert [s.source for s in one.index.snapshots] == ["bis_entity_list"]


def test_sources_without_any_snapshot_are_refused(tmp_path: Path) -> None:
    # Only the small Military End-User list is enabled, so only it is seeded.
    environ = {
        f"SCREENING_{s.upper()}_ENABLED": "0"
        for s in (
            "ofac_sdn",
            "ofac_consolidated",
            "bis_entity_list",
            "bis_denied_persons",
            "bis_unverified",
        )
    }
    settings = load_settings(home=tmp_path, environ=environ)
    assert Screener.open(settings).index.snapshots  # the enabled one
    with pytest.raises(ConfigError, match="no snapshot of ofac_sdn is stored"):
        Screener.open(settings, sources=["ofac_sdn"])


@pytest.mark.parametrize("threshold", [0, 0.0, -0.5, 1.5, 5, float("nan"), "0.9", True])
def test_a_threshold_outside_0_1_is_refused_everywhere(
    screener: Screener, threshold: object
) -> None:
    with pytest.raises(InputError, match="threshold"):
        Screener(screener.index, threshold=threshold)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="threshold"):
        screener.screen("Rosneft", threshold=threshold)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="threshold"):
        list(screener.screen_many([{"name": "Rosneft"}], threshold=threshold))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="threshold"):
        list(screen_rows(screener.index, [], threshold=threshold))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="threshold"):
        compare("Rosneft", "Rosneft", threshold=threshold)  # type: ignore[arg-type]


@pytest.mark.parametrize("limit", [0, -1, 2.5, "3"])
def test_a_limit_under_one_is_refused(screener: Screener, limit: object) -> None:
    with pytest.raises(InputError, match="limit"):
        screener.screen("Rosneft", limit=limit)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="limit"):
        list(screener.screen_many([{"name": "Rosneft"}], limit=limit))  # type: ignore[arg-type]


def test_bad_rows_of_a_python_batch_get_errors_and_the_batch_goes_on(
    screener: Screener,
) -> None:
    rows: list[Any] = [
        {"id": 1, "name": "Rosoboronexport"},  # an integer id is its text
        {"name": "Rosoboronexport"},  # no id: known by its row number
        {"id": "n", "name": None},
        {"id": "e", "name": "   "},
        None,
        "Rosoboronexport",
        BatchRow(id="m", name="Rosoboronexport"),
        {"id": "c", "name": "Rosoboronexport", "country": 7, "erp_ref": "X-1"},
    ]
    results = list(screener.screen_many(rows))
    assert [r.id for r in results] == ["1", "2", "n", "e", "5", "6", "m", "c"]
    assert [bool(r.hits) for r in results] == [True, True, False, False, False, False, True, True]
    assert [r.error is not None for r in results] == [False, False, True, True, True, True] + [
        False,
        False,
    ]
    assert "name is empty" in (results[2].error or "")
    assert "must be a mapping" in (results[4].error or "")
    assert results[7].extra == {"erp_ref": "X-1"}


def test_a_result_says_when_and_with_which_engine_it_was_screened(screener: Screener) -> None:
    from datetime import UTC, datetime, timedelta

    from screening import __version__

    result = screener.screen("Kral Aviation", country="TR")
    assert result.screened_at is not None
    assert abs(datetime.now(UTC) - result.screened_at) < timedelta(minutes=1)
    assert result.engine is not None and result.engine.startswith(f"screening {__version__}; ")
    assert result.threshold == screener.threshold
    assert {s.source for s in result.snapshots} == {s.source for s in screener.index.snapshots}


def test_arguments_of_the_wrong_type_are_input_errors(screener: Screener) -> None:
    with pytest.raises(InputError, match="country must be text"):
        screener.screen("Rosneft", country=123)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="type must be text"):
        screener.screen("Rosneft", kind=5)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="type must be text"):
        compare("Rosneft", "Rosneft", kind=5)  # type: ignore[arg-type]


def test_files_may_be_named_by_strings() -> None:
    from support import REPO

    from screening import load_ruleset, load_shipments

    rules = load_ruleset(str(REPO / "lists" / "rules" / "default.toml"))
    assert rules.name == "default"
    shipments = list(load_shipments(str(REPO / "seeds" / "samples" / "shipments.json")))
    assert shipments and not any(isinstance(s, InputError) for s in shipments)


# -- parallel batches ---------------------------------------------------------------------------


def test_a_parallel_batch_gives_what_one_process_gives(screener: Screener) -> None:
    """This process screens along with its workers; every row's result, hits and their
    explanations included, is the same as screened in one process, and in input order."""
    names = ["Kral Aviation", "Acme Widgets", "SHOYGU Sergei", "Рособоронэкспорт", "", "Rosneft"]
    rows: list[Any] = [
        {"id": f"r{i}", "name": n, "country": "RU" if i % 3 else None, "ref": i}
        for i, n in enumerate(names * 40)
    ]
    one = _dumps(screener.screen_many(rows, workers=1))
    for workers, chunk_size in ((2, 256), (3, 7)):
        many = [
            r.model_dump()
            for r in screener.screen_many(rows, workers=workers, chunk_size=chunk_size)
        ]
        assert many == one
    screener.close()
    assert [r["id"] for r in one] == [f"r{i}" for i in range(len(rows))]
    assert sum(bool(r["hits"]) for r in one) >= 120 and one[4]["error"]


def test_hits_cross_between_processes_unchanged(screener: Screener) -> None:
    import pickle

    from screening.screener import _pack_hit, _unpack_hit

    hits = screener.screen("SHOYGU, Sergey Kuzhugetovich", country="RU").hits
    assert hits and hits[0].explanation is not None
    for hit in hits:
        back = _unpack_hit(pickle.loads(pickle.dumps(_pack_hit(hit))))
        assert back == hit
        assert back.model_dump(mode="json") == hit.model_dump(mode="json")


def _dumps(results: Iterable[BatchResult]) -> list[dict[str, Any]]:
    return [r.model_dump() for r in results]


def _parallel_rows() -> list[Any]:
    names = ["Kral Aviation", "SHOYGU Sergei", "Рособоронэкспорт", "Acme Widgets", "Rosneft"]
    return [{"id": f"r{i}", "name": n} for i, n in enumerate(names * 30)]


def _worker_pids(screener: Screener) -> list[int | None]:
    assert screener._pool is not None
    return [w.process.pid for w in screener._pool.workers]


def test_workers_are_kept_for_the_next_batch_until_closed(screener: Screener) -> None:
    rows = _parallel_rows()
    one = _dumps(screener.screen_many(rows, workers=1))
    try:
        first = _dumps(screener.screen_many(rows, workers=3, chunk_size=8))
        pids = _worker_pids(screener)
        assert len(pids) == 2
        screener.clear_caches()  # the workers' caches too: results do not change
        again = _dumps(screener.screen_many(rows, workers=3, chunk_size=8))
        assert first == again == one
        assert _worker_pids(screener) == pids  # the same processes, not new ones
        assert screener._pool is not None
        processes = [w.process for w in screener._pool.workers]
    finally:
        screener.close()
    assert screener._pool is None
    assert not any(p.is_alive() for p in processes)
    # Closed, the screener still screens; a parallel batch starts workers again.
    try:
        assert _dumps(screener.screen_many(rows, workers=2)) == one
    finally:
        screener.close()


def test_a_batch_left_unfinished_leaves_the_screener_usable(screener: Screener) -> None:
    rows = _parallel_rows()
    one = _dumps(screener.screen_many(rows, workers=1))
    try:
        batch = screener.screen_many(rows, workers=2, chunk_size=8)
        assert next(batch).id == "r0"
        batch.close()  # the caller stops reading, most likely while the workers hold chunks
        # Workers that hold chunks are stopped: their results would be read by the next batch.
        assert screener._pool is None or not any(w.holding for w in screener._pool.workers)
        assert _dumps(screener.screen_many(rows, workers=2)) == one
    finally:
        screener.close()


def test_a_worker_that_died_between_batches_is_replaced(screener: Screener) -> None:
    import os
    import signal

    rows = _parallel_rows()
    one = _dumps(screener.screen_many(rows, workers=1))
    try:
        list(screener.screen_many(rows, workers=2))
        (pid,) = _worker_pids(screener)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert screener._pool is not None
        screener._pool.workers[0].process.join(5)
        assert _dumps(screener.screen_many(rows, workers=2)) == one
        assert _worker_pids(screener) != [pid]
    finally:
        screener.close()


def test_a_worker_that_fails_stops_the_batch_with_a_clear_error(
    screener: Screener, monkeypatch: pytest.MonkeyPatch
) -> None:
    import screening.screener as screener_module
    from screening.errors import ScreeningError

    def broken(args: object) -> object:
        raise RuntimeError("the index is gone")

    screener.close()
    monkeypatch.setattr(screener_module, "_worker_screen", broken)  # inherited by the fork
    try:
        with pytest.raises(ScreeningError, match="a worker process failed: RuntimeError: the"):
            list(screener.screen_many(_parallel_rows(), workers=2, chunk_size=8))
        assert screener._pool is None  # the next batch starts new workers
    finally:
        screener.close()


def test_workers_load_the_cached_index_where_they_cannot_fork(screener: Screener) -> None:
    """A process running other threads (or a platform without fork) spawns its workers, and
    each loads the cached index file."""
    import threading

    rows = _parallel_rows()
    one = _dumps(screener.screen_many(rows, workers=1))
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        screener.close()
        many = _dumps(screener.screen_many(rows, workers=2, chunk_size=8))
        assert screener._pool is not None
        assert screener._pool.workers[0].process.__class__.__name__ == "SpawnProcess"
    finally:
        stop.set()
        thread.join()
        screener.close()
    assert many == one


def test_two_parallel_batches_read_side_by_side_both_come_out_whole(screener: Screener) -> None:
    """The workers serve one batch at a time; a second batch read alongside the first (or
    from another thread) is screened in the calling process, with the same results."""
    rows = _parallel_rows()
    one = _dumps(screener.screen_many(rows, workers=1))
    try:
        a = screener.screen_many(rows, workers=2, chunk_size=8)
        b = screener.screen_many(list(reversed(rows)), workers=2, chunk_size=8)
        pairs = [(x.model_dump(), y.model_dump()) for x, y in zip(a, b, strict=True)]
        assert [x for x, _ in pairs] == one
        assert [y for _, y in pairs] == list(reversed(one))
        # Both done, the workers serve the next batch.
        assert _dumps(screener.screen_many(rows, workers=2)) == one
        assert screener._pool is not None
    finally:
        screener.close()
