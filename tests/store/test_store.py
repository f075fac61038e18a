"""The snapshot store: round trip, diff, pruning, atomicity, errors, permissions."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from screening.errors import StoreError
from screening.models import (
    Address,
    EntityType,
    Identifier,
    ListEntry,
    Name,
    NameKind,
    RawFile,
    SnapshotInfo,
)
from screening.store import SCHEMA_VERSION, Store, canonical_json, natural_key

T0 = datetime(2024, 5, 3, 12, 0, tzinfo=UTC)


def entry(entry_id: str, name: str, source: str = "ofac_sdn", **extra: object) -> ListEntry:
    return ListEntry.model_validate(
        {"source": source, "entry_id": entry_id, "name": name, "type": "organization", **extra}
    )


def rich_entry() -> ListEntry:
    return ListEntry(
        source="ofac_sdn",
        entry_id="36",
        type=EntityType.PERSON,
        name="SHOIGU, Sergei Kuzhugetovich",
        aliases=(
            Name(name="SHOYGU, Sergey", kind=NameKind.AKA),
            Name(name="Серге́й Шойгу", kind=NameKind.AKA, weak=True, remarks="weak"),
        ),
        programs=("RUSSIA-EO14024", "UKRAINE-EO13660"),
        addresses=(Address(city="Moscow", country="RU", country_name="Russia"),),
        dates_of_birth=("21 May 1955",),
        ids=(Identifier(type="Passport", number="123", country="RU"),),
        details={"title": "Minister"},
    )


def write(store: Store, source: str, entries: list[ListEntry], **kw: object) -> SnapshotInfo:
    args: dict[str, object] = {
        "origin": "download",
        "retrieved_at": T0,
        "published_at": None,
        "url": "https://example.test/list/",
        "files": [RawFile(name="SDN.CSV", sha256="ab" * 32, size=10, etag='"x"')],
        "skipped": {},
    }
    args.update(kw)
    return store.write_snapshot(source, entries, **args)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "home" / "screening.sqlite3")
    yield s  # type: ignore[misc]
    s.close()


def test_round_trip_keeps_every_field_and_the_parser_order(store: Store) -> None:
    entries = [entry("9", "ZETA"), rich_entry(), entry("100", "ALPHA")]
    info = write(store, "ofac_sdn", entries, skipped={"truncated row": 1}, published_at=T0)
    assert info.record_count == 3
    assert info.origin == "download"
    assert info.skipped == {"truncated row": 1}
    assert info.files[0].etag == '"x"'
    assert store.entries(info.id) == entries
    got = store.read_current(["ofac_sdn", "unknown"])
    assert list(got) == ["ofac_sdn"]
    assert got["ofac_sdn"] == (info, entries)
    assert store.current() == {"ofac_sdn": info}
    assert store.snapshot(info.id) == info


def test_hashes_are_the_entries_content_hash(store: Store) -> None:
    e = rich_entry()
    assert hashlib.sha256(canonical_json(e)).hexdigest() == e.content_hash()
    info = write(store, "ofac_sdn", [e, entry("1", "A")])
    assert store.entry_hashes(info.id) == {
        "36": e.content_hash(),
        "1": entry("1", "A").content_hash(),
    }


def test_diff_reports_added_removed_changed_in_natural_order(store: Store) -> None:
    old = write(store, "ofac_sdn", [entry("1", "A"), entry("2", "B"), entry("10", "C")])
    new = write(
        store,
        "ofac_sdn",
        [entry("1", "A"), entry("10", "C changed"), entry("3", "D"), entry("20", "E")],
    )
    d = store.diff(old.id, new.id)
    assert (d.added, d.removed, d.changed) == (["3", "20"], ["2"], ["10"])
    assert store.diff(None, old.id).added == ["1", "2", "10"]
    assert store.diff(new.id, new.id).is_empty
    assert sorted(["b", "10", "9", "a"], key=natural_key) == ["9", "10", "a", "b"]


def test_sources_are_independent(store: Store) -> None:
    a = write(store, "ofac_sdn", [entry("1", "A")])
    b = write(store, "bis_entity_list", [entry("x1", "B", source="bis_entity_list")])
    assert store.current() == {"ofac_sdn": a, "bis_entity_list": b}
    assert [s.id for s in store.history("ofac_sdn")] == [a.id]


def test_prunes_beyond_keep_with_orphaned_entry_data(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3", keep_snapshots=2) as store:
        infos = [write(store, "ofac_sdn", [entry("1", "A"), entry("2", f"v{i}")]) for i in range(4)]
        assert [s.id for s in store.history("ofac_sdn")] == [infos[3].id, infos[2].id]
        with pytest.raises(StoreError, match="no snapshot"):
            store.entries(infos[0].id)
        # entry "1" is shared by all; "2" only by its own version: two versions survive.
        conn = sqlite3.connect(tmp_path / "s.sqlite3")
        assert conn.execute("SELECT count(*) FROM entry_data").fetchone()[0] == 3
        conn.close()
        # ids are never reused after pruning
        again = write(store, "ofac_sdn", [entry("1", "A")])
        assert again.id == infos[3].id + 1


def test_failed_write_leaves_the_current_snapshot(store: Store) -> None:
    good = write(store, "ofac_sdn", [entry("1", "A")])
    with pytest.raises(StoreError, match="duplicate entry id 2"):
        write(store, "ofac_sdn", [entry("2", "B"), entry("2", "B again")])
    with pytest.raises(StoreError, match="belongs to 'bis_entity_list'"):
        write(store, "ofac_sdn", [entry("3", "C", source="bis_entity_list")])
    assert store.current()["ofac_sdn"] == good
    assert [s.id for s in store.history("ofac_sdn")] == [good.id]


def test_disk_full_rolls_back_and_says_so(store: Store) -> None:
    good = write(store, "ofac_sdn", [entry("1", "A")])
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # simulate a full disk
    big = [entry(str(i), "NAME " * 50 + str(i)) for i in range(2000)]
    with pytest.raises(StoreError, match="full"):
        write(store, "ofac_sdn", big)
    assert store.current()["ofac_sdn"] == good
    assert store.entries(good.id) == [entry("1", "A")]


def test_an_interrupted_write_is_rolled_back(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C, or SIGTERM (which the CLI turns into the same interruption), in the middle of a
    # snapshot write: the new rows are all inserted, then the interruption comes.
    good = write(store, "ofac_sdn", [entry("1", "A")])

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Store, "_prune", staticmethod(interrupted))
    with pytest.raises(KeyboardInterrupt):
        write(store, "ofac_sdn", [entry("1", "A"), entry("2", "B")])
    assert store.current()["ofac_sdn"] == good
    assert [s.id for s in store.history("ofac_sdn")] == [good.id]
    assert store.entries(good.id) == [entry("1", "A")]


def test_only_if_absent_does_not_overwrite(store: Store) -> None:
    first = write(store, "ofac_sdn", [entry("1", "A")], origin="download")
    same = write(store, "ofac_sdn", [entry("2", "B")], origin="seed", only_if_absent=True)
    assert same == first
    assert len(store.history("ofac_sdn")) == 1


def test_state_tables(store: Store) -> None:
    assert store.feed_state("ofac_sdn") is None
    store.record_feed("ofac_sdn", url="https://x.test/", status="failed", error="boom")
    fs = store.feed_state("ofac_sdn")
    assert fs is not None and (fs.last_status, fs.last_error) == ("failed", "boom")
    store.record_attempt("ofac_sdn", "failed", "HTTP 500")
    store.record_attempt("ofac_sdn", "updated", None, 7)
    ss = store.source_state("ofac_sdn")
    assert ss is not None and (ss.outcome, ss.message, ss.snapshot_id) == ("updated", None, 7)
    info = write(store, "ofac_sdn", [entry("1", "A")])
    assert store.checked_at(info.id) is None
    store.mark_checked(info.id, T0)
    assert store.checked_at(info.id) == T0


def test_permissions_and_schema_version(tmp_path: Path) -> None:
    home = tmp_path / "new" / "home"
    with Store(home / "screening.sqlite3") as store:
        write(store, "ofac_sdn", [entry("1", "A")])
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "screening.sqlite3").stat().st_mode) == 0o600
    conn = sqlite3.connect(home / "screening.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    # reopening keeps the data
    with Store(home / "screening.sqlite3") as store:
        assert store.entries(store.current()["ofac_sdn"].id) == [entry("1", "A")]


def test_corrupt_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "screening.sqlite3"
    path.write_bytes(b"this is not a database, it is a text file " * 100)
    with pytest.raises(StoreError, match="not a valid screening store"):
        Store(path)


def test_foreign_database_and_newer_schema_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a screening store"):
        Store(other)
    newer = tmp_path / "newer.sqlite3"
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(newer)


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create the store"):
        Store(blocker / "home" / "screening.sqlite3")


def test_missing_snapshot_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError, match="no snapshot 42"):
        store.snapshot(42)
    with pytest.raises(StoreError, match="no snapshot 42"):
        store.diff(None, 42)
