"""The refresh pipeline with a small list source defined here (the real ones are tested in
test_refresh_real.py): shared feeds, conditional GETs, validation, failure isolation, the lock."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
import responses
from responses import matchers

from screening._refresh import refresh_sources
from screening.config import Settings, SourceDefinition, load_settings, source_definitions
from screening.errors import LockedError, ParseError
from screening.lock import refresh_lock
from screening.models import ListEntry, ParseResult
from screening.sources.base import ListSource
from screening.store import Store

BASE = "https://lists.example.test/fake/"
OTHER = "https://other.example.test/other.csv"


class FakeSource(ListSource):
    """``MAIN.CSV``: ``id,name`` rows; ``EXTRA.CSV``: ``id,alias`` rows. Keeps ids starting
    with the ``prefix`` option (two sources share one feed, as the CSL's do)."""

    min_records = 2

    def parse(self, files: Mapping[str, bytes]) -> ParseResult:
        name = self.file_names()[0]
        text = files[name].decode()
        if not text.startswith("id,"):
            raise ParseError(f"{name}: not a fake list (no header)")
        if "BUG" in text:
            raise KeyError("bug")
        aliases: dict[str, list[str]] = {}
        if "EXTRA.CSV" in files:
            for line in files["EXTRA.CSV"].decode().splitlines()[1:]:
                eid, alias = line.split(",")
                aliases.setdefault(eid, []).append(alias)
        result = ParseResult(entries=[])
        prefix = self.definition.options.get("prefix", "")
        for line in text.splitlines()[1:]:
            parts = line.split(",")
            if len(parts) != 2:
                result.skip("malformed row")
                continue
            if parts[0].startswith(prefix):
                result.entries.append(
                    ListEntry.model_validate(
                        {
                            "source": self.id,
                            "entry_id": parts[0],
                            "name": parts[1],
                            "aliases": [{"name": a} for a in aliases.get(parts[0], [])],
                        }
                    )
                )
        return result


def definition(
    sid: str, *, url_id: str = "fake", url: str = BASE, prefix: str = "", files: bool = True
) -> SourceDefinition:
    return SourceDefinition(
        id=sid,
        name=f"Fake list {sid}",
        list_name=sid,
        module="fake",
        url_id=url_id,
        url=url,
        files=("MAIN.CSV", "EXTRA.CSV") if files else (),
        format="csv",
        publisher="tests",
        licence="none",
        provenance="tests",
        options={"prefix": prefix},
    )


def main_csv(n: int, *, prefix: str = "a", start: int = 0, tag: str = "") -> bytes:
    rows = [f"{prefix}{i},NAME {i}{tag}" for i in range(start, start + n)]
    return ("id,name\n" + "\n".join(rows) + "\n").encode()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The real sources are off: their seeds are not part of these tests.
    env = {f"SCREENING_{d.id.upper()}_ENABLED": "0" for d in source_definitions()}
    s = load_settings(home=tmp_path / "home", environ=env)
    return s.model_copy(update={"http": s.http.model_copy(update={"retries": 1, "backoff": 0})})


@pytest.fixture
def mocked() -> responses.RequestsMock:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps  # type: ignore[misc]


A = FakeSource(definition("fake_a", prefix="a"))
B = FakeSource(definition("fake_b", prefix="b"))
C = FakeSource(definition("fake_c", url_id="other", url=OTHER, files=False))


def serve(mocked: responses.RequestsMock, main: bytes, extra: bytes = b"id,alias\n") -> None:
    mocked.get(BASE + "MAIN.CSV", body=main, headers={"ETag": '"m1"'})
    mocked.get(
        BASE + "EXTRA.CSV", body=extra, headers={"Last-Modified": "Fri, 03 May 2024 10:00:00 GMT"}
    )


def test_shared_feed_is_downloaded_once_and_split(
    settings: Settings, mocked: responses.RequestsMock
) -> None:
    serve(mocked, main_csv(3, prefix="a") + main_csv(4, prefix="b")[8:], b"id,alias\na1,ALIAS\n")
    report = refresh_sources(settings, [A, B])
    assert report.ok
    assert len(mocked.calls) == 2  # two files, once each, for both sources
    a, b = report.outcome("fake_a"), report.outcome("fake_b")
    assert (a.status, a.added, b.added) == ("updated", ["a0", "a1", "a2"], ["b0", "b1", "b2", "b3"])
    with Store.open(settings) as store:
        entries = {e.entry_id: e for e in store.entries(a.snapshot.id)}  # type: ignore[union-attr]
        assert [n.name for n in entries["a1"].aliases] == ["ALIAS"]
        assert a.snapshot is not None
        assert {f.name: f.etag for f in a.snapshot.files} == {"MAIN.CSV": '"m1"', "EXTRA.CSV": None}
        assert a.snapshot.url == BASE and a.snapshot.origin == "download"
        assert store.source_state("fake_a").outcome == "updated"  # type: ignore[union-attr]


def test_304_on_every_file_is_unchanged(settings: Settings, mocked: responses.RequestsMock) -> None:
    serve(mocked, main_csv(3))
    first = refresh_sources(settings, [A]).outcome("fake_a")
    mocked.replace(
        responses.GET,
        BASE + "MAIN.CSV",
        status=304,
        match=[matchers.header_matcher({"If-None-Match": '"m1"'})],
    )
    mocked.replace(
        responses.GET,
        BASE + "EXTRA.CSV",
        status=304,
        match=[matchers.header_matcher({"If-Modified-Since": "Fri, 03 May 2024 10:00:00 GMT"})],
    )
    again = refresh_sources(settings, [A]).outcome("fake_a")
    assert (again.status, again.message) == ("unchanged", "not modified, HTTP 304")
    assert again.snapshot == first.snapshot
    with Store.open(settings) as store:
        assert first.snapshot is not None
        assert store.checked_at(first.snapshot.id) is not None
        assert len(store.history("fake_a")) == 1


def test_one_changed_file_refetches_the_others_in_full(
    settings: Settings, mocked: responses.RequestsMock
) -> None:
    serve(mocked, main_csv(3))
    refresh_sources(settings, [A])
    conditional = matchers.header_matcher({"If-None-Match": '"m1"'})
    mocked.replace(responses.GET, BASE + "MAIN.CSV", status=304, match=[conditional])
    mocked.add(responses.GET, BASE + "MAIN.CSV", body=main_csv(3))  # the unconditional re-fetch
    mocked.replace(responses.GET, BASE + "EXTRA.CSV", body=b"id,alias\na2,NEW ALIAS\n")
    outcome = refresh_sources(settings, [A]).outcome("fake_a")
    assert (outcome.status, outcome.changed, outcome.added) == ("updated", ["a2"], [])
    main_calls = [c for c in mocked.calls if c.request.url == BASE + "MAIN.CSV"]
    assert len(main_calls) == 3
    assert "If-None-Match" not in main_calls[-1].request.headers


def test_same_bytes_without_validators_is_unchanged(
    settings: Settings, mocked: responses.RequestsMock
) -> None:
    mocked.get(OTHER, body=main_csv(3))
    first = refresh_sources(settings, [C]).outcome("fake_c")
    again = refresh_sources(settings, [C]).outcome("fake_c")
    assert first.status == "updated"
    assert first.snapshot is not None
    assert (again.status, again.message) == (
        "unchanged",
        f"same files as snapshot {first.snapshot.id}",
    )
    assert "If-None-Match" not in mocked.calls[-1].request.headers


def test_the_same_list_in_other_bytes_makes_no_new_snapshot(
    settings: Settings, mocked: responses.RequestsMock
) -> None:
    """QA: the same CSL re-serialised (columns or rows reordered) made a "+0 -0 ~0" snapshot on
    every run, and pushed real history out of the five snapshots kept."""
    mocked.get(OTHER, body=main_csv(3))
    first = refresh_sources(settings, [C]).outcome("fake_c")
    assert first.snapshot is not None
    lines = main_csv(3).decode().splitlines()
    reordered = "\n".join([lines[0], *reversed(lines[1:])]) + "\r\n"
    mocked.replace(responses.GET, OTHER, body=reordered.encode())
    again = refresh_sources(settings, [C]).outcome("fake_c")
    assert (again.status, again.snapshot) == ("unchanged", first.snapshot)
    assert again.message == (
        f"same entries as snapshot {first.snapshot.id} (the files changed, the list did not)"
    )
    mocked.replace(responses.GET, OTHER, body=main_csv(3, tag=" X"))  # a real change
    changed = refresh_sources(settings, [C]).outcome("fake_c")
    assert (changed.status, len(changed.changed)) == ("updated", 3)
    with Store.open(settings) as store:
        assert [s.id for s in store.history("fake_c")] == [
            changed.snapshot.id,  # type: ignore[union-attr]
            first.snapshot.id,
        ]
        assert store.checked_at(first.snapshot.id) is not None


def test_a_new_mirror_serving_the_same_files_is_asked_conditionally_after_one_download(
    settings: Settings, mocked: responses.RequestsMock
) -> None:
    """QA: after the URL changed (a new mirror), every night was a full download: the
    validators stayed those of the old URL, as the unchanged result never recorded new ones."""
    serve(mocked, main_csv(3))
    first = refresh_sources(settings, [A]).outcome("fake_a")
    assert first.snapshot is not None
    mirror = "http://mirror.test/fake/"
    moved = settings.model_copy(update={"urls": {"fake": mirror}})
    mocked.get(mirror + "MAIN.CSV", body=main_csv(3), headers={"ETag": '"mirror-1"'})
    mocked.get(mirror + "EXTRA.CSV", body=b"id,alias\n", headers={"ETag": '"mirror-2"'})
    full = refresh_sources(moved, [A]).outcome("fake_a")
    assert (full.status, full.message) == (
        "unchanged",
        f"same files as snapshot {first.snapshot.id}",
    )
    assert full.snapshot is not None
    assert {f.name: (f.url, f.etag) for f in full.snapshot.files} == {
        "MAIN.CSV": (mirror + "MAIN.CSV", '"mirror-1"'),
        "EXTRA.CSV": (mirror + "EXTRA.CSV", '"mirror-2"'),
    }
    assert [f.sha256 for f in full.snapshot.files] == [f.sha256 for f in first.snapshot.files]
    for name, tag in (("MAIN.CSV", '"mirror-1"'), ("EXTRA.CSV", '"mirror-2"')):
        mocked.replace(
            responses.GET,
            mirror + name,
            status=304,
            match=[matchers.header_matcher({"If-None-Match": tag})],
        )
    again = refresh_sources(moved, [A]).outcome("fake_a")
    assert (again.status, again.message) == ("unchanged", "not modified, HTTP 304")
    with Store.open(settings) as store:
        assert len(store.history("fake_a")) == 1
        assert store.snapshot(first.snapshot.id).files == full.snapshot.files


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("500", "EXTRA.CSV: HTTP 500 Internal Server Error (after 2 attempts)"),
        ("html", "MAIN.CSV: got an HTML page (an error or block page?), not the list file"),
        ("xhtml", "MAIN.CSV: got an HTML page (an error or block page?), not the list file"),
        ("empty", "MAIN.CSV: empty file"),
        ("garbage", "MAIN.CSV: not a fake list (no header)"),
        ("half", "only 1 records (1 rows skipped), fewer than the 2 a complete fake_a list has"),
        ("bug", "the fake_a parser failed (KeyError: 'bug'); this is a bug, please report it"),
    ],
)
def test_a_bad_download_keeps_the_last_good_snapshot(
    settings: Settings, mocked: responses.RequestsMock, kind: str, expected: str
) -> None:
    serve(mocked, main_csv(3))
    mocked.get(OTHER, body=main_csv(3, tag=" v1"))
    good = refresh_sources(settings, [A, C]).outcome("fake_a")
    full = main_csv(3)
    bad = {
        "html": b"<!DOCTYPE html>\n<html><body>Service unavailable</body></html>",
        "xhtml": b'<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml">503</html>',
        "empty": b"",
        "garbage": b"\x00\x01binary",
        "half": full[: len(full) // 2],
        "bug": b"id,name\nBUG,1\n",
    }
    if kind == "500":
        mocked.replace(responses.GET, BASE + "EXTRA.CSV", status=500)
    else:
        mocked.replace(responses.GET, BASE + "MAIN.CSV", body=bad[kind])
    mocked.replace(responses.GET, OTHER, body=main_csv(3, tag=" v2"))
    report = refresh_sources(settings, [A, C])
    a = report.outcome("fake_a")
    assert not report.ok and a.status == "failed"
    assert expected in (a.message or "")
    assert "\n" not in (a.message or "")
    assert a.snapshot == good.snapshot  # the kept snapshot
    assert report.outcome("fake_c").status == "updated"  # the other feed went on
    with Store.open(settings) as store:
        assert store.current()["fake_a"] == good.snapshot
        state = store.source_state("fake_a")
        assert state is not None and state.outcome == "failed"


def test_record_count_drop_guard(settings: Settings, mocked: responses.RequestsMock) -> None:
    serve(mocked, main_csv(20))
    refresh_sources(settings, [A])
    mocked.replace(responses.GET, BASE + "MAIN.CSV", body=main_csv(17))
    outcome = refresh_sources(settings, [A]).outcome("fake_a")
    assert outcome.status == "failed" and outcome.error == "ValidationError"
    assert outcome.message is not None
    assert outcome.message.startswith("17 records, 15% fewer than the 20 of snapshot")
    lenient = settings.model_copy(update={"max_record_drop": 0.2})
    outcome = refresh_sources(lenient, [A]).outcome("fake_a")
    assert (outcome.status, outcome.removed) == ("updated", ["a17", "a18", "a19"])


def test_second_refresh_waits_for_the_lock_then_gives_up(
    settings: Settings, mocked: responses.RequestsMock
) -> None:
    serve(mocked, main_csv(3))
    with refresh_lock(settings.home), pytest.raises(LockedError, match="another refresh"):
        refresh_sources(settings, [A], lock_timeout=0.2)
    assert not mocked.calls
    assert refresh_sources(settings, [A], lock_timeout=0.2).ok


@pytest.mark.parametrize(
    ("fraction", "shown"), [(918 / 919, "99.9%"), (0.15, "15%"), (1.0, "100%"), (0.996, "99.6%")]
)
def test_a_drop_is_never_rounded_up_to_everything(fraction: float, shown: str) -> None:
    # QA: "1 records, 100% fewer than the 919".
    from screening._refresh import _share

    assert _share(fraction) == shown
