"""Readers during a write see the old snapshot or the new one, never a mix."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from screening.models import ListEntry
from screening.store import Store


def version(tag: str, count: int) -> list[ListEntry]:
    return [
        ListEntry(source="ofac_sdn", entry_id=str(i), name=f"NAME {i} {tag}") for i in range(count)
    ]


def test_concurrent_reader_sees_complete_snapshots(tmp_path: Path) -> None:
    path = tmp_path / "screening.sqlite3"
    versions = {"old": version("old", 3000), "new": version("new", 3500)}
    with Store(path, keep_snapshots=2) as writer:
        writer.write_snapshot(
            "ofac_sdn",
            versions["old"],
            origin="download",
            retrieved_at=datetime.now(UTC),
            published_at=None,
            url=None,
            files=[],
            skipped={},
        )
        stop = threading.Event()
        seen: list[tuple[int, int, set[str]]] = []
        errors: list[BaseException] = []

        def read_loop() -> None:
            try:
                with Store(path) as reader:
                    while not stop.is_set() or len(seen) < 3:
                        info, entries = reader.read_current(["ofac_sdn"])["ofac_sdn"]
                        tags = {e.name.rsplit(" ", 1)[1] for e in entries}
                        seen.append((info.record_count, len(entries), tags))
            except BaseException as exc:  # surfaced in the main thread
                errors.append(exc)

        thread = threading.Thread(target=read_loop)
        thread.start()
        for i in range(6):
            tag = "new" if i % 2 == 0 else "old"
            writer.write_snapshot(
                "ofac_sdn",
                versions[tag],
                origin="download",
                retrieved_at=datetime.now(UTC),
                published_at=None,
                url=None,
                files=[],
                skipped={},
            )
        stop.set()
        thread.join(timeout=60)
    assert not errors
    assert seen
    for record_count, n, tags in seen:
        assert record_count == n
        assert (n, tags) in ((3000, {"old"}), (3500, {"new"}))
