"""refresh / import end to end on the real list files (served by ``responses``, no network)."""

from __future__ import annotations

import csv
import gzip
import io
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import responses
from responses import matchers
from support import FIXTURES, SEEDS, read_gz, serve

from screening._refresh import import_files, refresh
from screening.config import Settings, get_source_definition, load_settings
from screening.errors import ConfigError, InputError
from screening.store import Store

SDN_BASE = get_source_definition("ofac_sdn").url
CONS_BASE = get_source_definition("ofac_consolidated").url
CSL_URL = get_source_definition("bis_entity_list").url
SDN_2023 = {
    n: read_gz(SEEDS / "ofac_sdn/2023-12-28" / f"{n}.gz")
    for n in ("SDN.CSV", "ADD.CSV", "ALT.CSV", "SDN_COMMENTS.CSV")
}
SDN_2024 = read_gz(FIXTURES / "ofac_sdn/2024-05-03/SDN.CSV.gz")

SEED_COUNTS = {
    "ofac_sdn": 13_821,
    "ofac_consolidated": 442,
    "bis_entity_list": 919,
    "bis_denied_persons": 577,
    "bis_unverified": 186,
    "bis_military_end_user": 71,
}


def fast(settings: Settings) -> Settings:
    """No waiting between retries in tests."""
    http = settings.http.model_copy(update={"retries": 1, "backoff": 0, "timeout": 5})
    return settings.model_copy(update={"http": http})


def sdn_rows(raw: bytes) -> dict[str, list[str]]:
    """ent_num -> row, straight from an SDN.CSV (no header; the last line is a 0x1A byte)."""
    rows = csv.reader(io.StringIO(raw.decode("utf-8", "replace")))
    return {row[0]: row for row in rows if row and row[0].strip().isdigit()}


def test_full_refresh_into_an_empty_home(
    home: Path, mocked_http: responses.RequestsMock, lists_online: dict[str, bytes]
) -> None:
    settings = fast(load_settings())
    report = refresh(settings)
    assert report.ok, [o.message for o in report.failed]
    # the first run stores the seed first, so the download diffs against it
    assert {s.source for s in report.seeded} == set(SEED_COUNTS)
    for source, count in SEED_COUNTS.items():
        o = report.outcome(source)
        assert o.status == "updated" and o.message == "replaces the bundled seed"
        assert o.snapshot is not None and o.snapshot.origin == "download"
        assert o.snapshot.record_count == count
        assert (o.added, o.removed, o.changed) == ([], [], [])  # same files as the seed
    csl = report.outcome("bis_entity_list")
    assert csl.skipped == {"repeated header row": 1, "truncated last row": 1}
    calls = [c.request.url for c in mocked_http.calls]
    assert calls.count(CSL_URL) == 1  # four sources, one download
    sdn = report.outcome("ofac_sdn").snapshot
    assert sdn is not None
    assert {f.name: f.url for f in sdn.files} == {n: SDN_BASE + n for n in SDN_2023}
    with Store.open(settings) as store:
        current = store.current()
        assert {s: i.record_count for s, i in current.items()} == SEED_COUNTS
        assert all(i.origin == "download" for i in current.values())


def test_sdn_2023_to_2024_reports_the_real_changes(
    seeded_home: Path, mocked_http: responses.RequestsMock
) -> None:
    for name, body in SDN_2023.items():
        serve(mocked_http, SDN_BASE + name, SDN_2024 if name == "SDN.CSV" else body)
    report = refresh(fast(load_settings()), ["ofac_sdn"])
    o = report.outcome("ofac_sdn")
    assert o.status == "updated", o.message
    old, new = sdn_rows(SDN_2023["SDN.CSV"]), sdn_rows(SDN_2024)
    assert len(new) == 14_965 and o.snapshot is not None and o.snapshot.record_count == 14_965
    assert set(o.added) == new.keys() - old.keys()
    assert set(o.removed) == old.keys() - new.keys()
    # ADD/ALT/COMMENTS are the same files: an entry changed exactly when its SDN row did
    assert set(o.changed) == {k for k in new.keys() & old.keys() if new[k] != old[k]}
    assert len(o.added) > 1000 and o.removed and o.changed


def test_304_is_unchanged(seeded_home: Path, mocked_http: responses.RequestsMock) -> None:
    settings = fast(load_settings())
    cons = {
        n: read_gz(SEEDS / "ofac_consolidated/2025-12" / f"{n}.gz")
        for n in ("CONS_PRIM.CSV", "CONS_ADD.CSV", "CONS_ALT.CSV", "CONS_COMMENTS.CSV")
    }
    for name, body in cons.items():
        serve(mocked_http, CONS_BASE + name, body)
    first = refresh(settings, ["ofac_consolidated"]).outcome("ofac_consolidated")
    assert first.status == "updated" and first.snapshot is not None
    for f in first.snapshot.files:
        mocked_http.upsert(
            responses.GET,
            CONS_BASE + f.name,
            status=304,
            match=[
                matchers.header_matcher(
                    {"If-None-Match": f.etag or "", "If-Modified-Since": f.last_modified or ""}
                )
            ],
        )
    again = refresh(settings, ["ofac_consolidated"]).outcome("ofac_consolidated")
    assert (again.status, again.message) == ("unchanged", "not modified, HTTP 304")
    assert again.snapshot == first.snapshot
    assert all(c.response.status_code == 304 for c in mocked_http.calls[-4:])


def half(body: bytes) -> bytes:
    return body[: len(body) // 2]


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("500", "SDN.CSV: HTTP 500 Internal Server Error (after 2 attempts)"),
        ("timeout", "SDN.CSV: no response within 5 s (after 2 attempts)"),
        ("html", "SDN.CSV: got an HTML page (an error or block page?), not the list file"),
        ("empty", "SDN.CSV: empty file"),
        ("half", "SDN.CSV: cut off: its last row ends mid-field"),
    ],
)
def test_a_damaged_download_keeps_the_last_good_snapshot(
    seeded_home: Path, mocked_http: responses.RequestsMock, damage: str, expected: str
) -> None:
    settings = fast(load_settings())
    with Store.open(settings) as store:
        good = store.current()["ofac_sdn"]
    for name, body in SDN_2023.items():
        serve(mocked_http, SDN_BASE + name, body)
    sdn = SDN_BASE + "SDN.CSV"
    if damage == "500":
        mocked_http.upsert(responses.GET, sdn, status=500)
    elif damage == "timeout":
        mocked_http.upsert(responses.GET, sdn, body=requests.exceptions.ReadTimeout("timed out"))
    else:
        bodies = {
            "html": b"<!DOCTYPE html><html><head><title>403 Forbidden</title></head></html>",
            "empty": b"",
            "half": half(SDN_2023["SDN.CSV"]),
        }
        serve(mocked_http, sdn, bodies[damage])
    serve(mocked_http, CSL_URL, read_gz(SEEDS / "trade_csl/2023-11-30/consolidated.csv.gz"))
    report = refresh(settings, ["ofac_sdn", "bis_entity_list"])
    o = report.outcome("ofac_sdn")
    assert o.status == "failed" and not report.ok
    assert expected in (o.message or ""), o.message
    assert "\n" not in (o.message or "")
    assert o.snapshot == good
    assert report.outcome("bis_entity_list").status == "updated"  # the other source went on
    with Store.open(settings) as store:
        assert store.current()["ofac_sdn"] == good
        assert len(store.entries(good.id)) == 13_821


def test_record_count_drop_guard(seeded_home: Path, mocked_http: responses.RequestsMock) -> None:
    lines = SDN_2023["SDN.CSV"].split(b"\r\n")
    shrunk = b"\r\n".join(lines[: int(len(lines) * 0.85)]) + b"\r\n"
    for name, body in SDN_2023.items():
        serve(mocked_http, SDN_BASE + name, shrunk if name == "SDN.CSV" else body)
    settings = fast(load_settings())
    o = refresh(settings, ["ofac_sdn"]).outcome("ofac_sdn")
    assert o.status == "failed" and o.error == "ValidationError"
    assert "15% fewer than the 13,821 of snapshot" in (o.message or "")
    assert "max_record_drop" in (o.message or "")
    with Store.open(settings) as store:
        assert store.current()["ofac_sdn"].record_count == 13_821


def test_url_overrides_by_environment_and_config_file(
    seeded_home: Path, mocked_http: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = "http://127.0.0.1:8000"
    monkeypatch.setenv("SCREENING_OFAC_SDN_URL", f"{mirror}/ofac/")
    monkeypatch.setenv("SCREENING_TRADE_CSL_URL", f"{mirror}/csl/consolidated.csv")
    (seeded_home / "config.toml").write_text(
        f'[urls]\nofac_consolidated = "{mirror}/cons"\n', encoding="utf-8"
    )
    for name, body in SDN_2023.items():
        serve(mocked_http, f"{mirror}/ofac/{name}", SDN_2024 if name == "SDN.CSV" else body)
    serve(
        mocked_http,
        f"{mirror}/csl/consolidated.csv",
        read_gz(SEEDS / "trade_csl/2023-11-30/consolidated.csv.gz"),
    )
    for name in ("CONS_PRIM.CSV", "CONS_ADD.CSV", "CONS_ALT.CSV", "CONS_COMMENTS.CSV"):
        serve(
            mocked_http,
            f"{mirror}/cons/{name}",
            read_gz(SEEDS / "ofac_consolidated/2025-12" / f"{name}.gz"),
        )
    report = refresh(fast(load_settings()))
    assert report.ok, [o.message for o in report.failed]
    assert all(c.request.url.startswith(mirror) for c in mocked_http.calls)
    sdn = report.outcome("ofac_sdn").snapshot
    cons = report.outcome("ofac_consolidated").snapshot
    el = report.outcome("bis_entity_list").snapshot
    assert sdn is not None and cons is not None and el is not None
    assert (sdn.url, sdn.record_count) == (f"{mirror}/ofac/", 14_965)
    assert cons.url == f"{mirror}/cons" and cons.files[0].url == f"{mirror}/cons/CONS_PRIM.CSV"
    assert el.url == f"{mirror}/csl/consolidated.csv"


def test_a_signed_mirror_url_is_stored_without_its_query_or_credentials(
    seeded_home: Path, mocked_http: responses.RequestsMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA: the query string of a configured URL (a signature, a token) was stored with the
    snapshot and printed by `refresh --json` and `status --json`."""
    url = "http://127.0.0.1:8000/csl/consolidated.csv?X-Amz-Signature=SECRET&t=TOK"
    monkeypatch.setenv("SCREENING_TRADE_CSL_URL", url)
    serve(
        mocked_http,
        "http://127.0.0.1:8000/csl/consolidated.csv",
        read_gz(SEEDS / "trade_csl/2023-11-30/consolidated.csv.gz"),
    )
    settings = fast(load_settings())
    report = refresh(settings, ["bis_entity_list"])
    el = report.outcome("bis_entity_list").snapshot
    assert report.ok and el is not None, [o.message for o in report.failed]
    assert el.url == "http://127.0.0.1:8000/csl/consolidated.csv"
    assert all(f.url == el.url for f in el.files)
    dump = b"".join(p.read_bytes() for p in seeded_home.glob("screening.sqlite3*"))
    assert b"127.0.0.1:8000/csl" in dump  # the URL is there (the check below can fail)
    assert b"SECRET" not in dump and b"TOK" not in dump


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:99999/csl/consolidated.csv", "is not a valid URL (Port out of range"),
        ("http://[::1/x/", "is not a valid URL"),
        ("ftp://mirror.example/consolidated.csv", "is not an http:// or https:// URL"),
        ("", "is not an http:// or https:// URL"),
        ("/consolidated.csv", "is not an http:// or https:// URL"),
        ("http://mirror.example/consolidated.csv ", "contains spaces"),
    ],
)
def test_a_bad_source_url_is_a_configuration_error(url: str, why: str) -> None:
    """QA: a port out of range crashed the refresh (exit 9, 'internal error'); an ftp:// or
    empty URL became a download failure. Each is now a configuration error (exit 2) naming
    the feed and where it is set."""
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"SCREENING_TRADE_CSL_URL": url + "?sig=SECRET"})
    message = str(err.value)
    assert "urls: trade_csl (set by [urls] trade_csl or SCREENING_TRADE_CSL_URL): " in message
    assert why in message and "SECRET" not in message


@pytest.mark.parametrize(
    "setting",
    [
        "max_record_drop = true",
        "threshold = true",
        "keep_snapshots = false",
        "[http]\ntimeout = true",
    ],
)
def test_true_or_false_for_a_number_setting_is_refused(tmp_path: Path, setting: str) -> None:
    """QA: `max_record_drop = true` was read as 1.0 and switched the drop guard off."""
    config = tmp_path / "config.toml"
    config.write_text(setting + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a number, not true or false"):
        load_settings(home=tmp_path, config_file=config, environ={})


READER = """
import os, sys
from screening.store import Store
with Store(sys.argv[1]) as store:
    while True:
        stop = os.path.exists(sys.argv[2])
        info, entries = store.read_current(["ofac_sdn"])["ofac_sdn"]
        print(info.record_count, len(entries), flush=True)
        if stop:
            break
"""


def test_concurrent_reader_during_a_refresh(
    seeded_home: Path, mocked_http: responses.RequestsMock, tmp_path: Path
) -> None:
    """A screening process reads the store in a loop while a refresh swaps the snapshot."""
    for name, body in SDN_2023.items():
        serve(mocked_http, SDN_BASE + name, SDN_2024 if name == "SDN.CSV" else body)
    settings = fast(load_settings())
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(settings.store_path), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None
        first = reader.stdout.readline()  # the reader is running
        report = refresh(settings, ["ofac_sdn"])
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=60)
    assert report.ok and reader.returncode == 0
    counts = [tuple(map(int, line.split())) for line in [first, *out.splitlines()]]
    assert all(n == m and n in (13_821, 14_965) for n, m in counts), set(counts)
    assert counts[0] == (13_821, 13_821) and counts[-1] == (14_965, 14_965)


def test_import_from_local_files(seeded_home: Path, tmp_path: Path) -> None:
    settings = load_settings()
    folder = tmp_path / "download"
    folder.mkdir()
    # names as a browser saves them: lower case, one still gzipped
    (folder / "sdn.csv").write_bytes(SDN_2024)
    (folder / "add.csv.gz").write_bytes(gzip.compress(SDN_2023["ADD.CSV"]))
    (folder / "Alt.csv").write_bytes(SDN_2023["ALT.CSV"])
    (folder / "sdn_comments.csv").write_bytes(SDN_2023["SDN_COMMENTS.CSV"])
    report = import_files(settings, "ofac_sdn", sorted(folder.iterdir()))
    o = report.outcome("ofac_sdn")
    assert o.status == "updated" and o.snapshot is not None
    assert (o.snapshot.origin, o.snapshot.record_count) == ("import", 14_965)
    assert len(o.added) == len(sdn_rows(SDN_2024).keys() - sdn_rows(SDN_2023["SDN.CSV"]).keys())
    assert {f.name for f in o.snapshot.files} == set(SDN_2023)
    # the CSL feed from one file of any name: its four sources at once
    csl = tmp_path / "csl-2023-11-30.csv"
    csl.write_bytes(read_gz(SEEDS / "trade_csl/2023-11-30/consolidated.csv.gz"))
    report = import_files(settings, "trade_csl", [csl])
    assert [o.source for o in report.outcomes] == [
        "bis_entity_list",
        "bis_denied_persons",
        "bis_unverified",
        "bis_military_end_user",
    ]
    assert report.outcome("bis_entity_list").snapshot.record_count == 919  # type: ignore[union-attr]


def test_import_refuses_an_incomplete_set(seeded_home: Path, tmp_path: Path) -> None:
    settings = load_settings()
    sdn = tmp_path / "SDN.CSV"
    sdn.write_bytes(SDN_2024)
    with pytest.raises(InputError, match="ofac_sdn: missing ADD.CSV, ALT.CSV, SDN_COMMENTS.CSV"):
        import_files(settings, "ofac_sdn", [sdn])
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(InputError, match="notes.txt: not a file of ofac_sdn"):
        import_files(settings, "ofac_sdn", [sdn, other])
    with pytest.raises(InputError, match="cannot read"):
        import_files(settings, "bis_entity_list", [tmp_path / "missing.csv"])
