"""The Screener's cached name indexes."""

from __future__ import annotations

from pathlib import Path

import pytest

from screening.config import load_settings
from screening.matching.index import MatchIndex
from screening.screener import INDEX_CACHE_KEEP, Screener


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
