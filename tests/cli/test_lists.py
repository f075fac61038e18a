"""``screening refresh | import | status``: output lines and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
from support import SEEDS, read_gz
from typer.testing import CliRunner

from screening.cli import ExitCode, app
from screening.config import get_source_definition
from screening.lock import refresh_lock
from screening.store import Store

CONS_BASE = get_source_definition("ofac_consolidated").url
CONS_FILES = ("CONS_PRIM.CSV", "CONS_ADD.CSV", "CONS_ALT.CSV", "CONS_COMMENTS.CSV")

runner = CliRunner()


@pytest.fixture(autouse=True)
def no_retries(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # after `home`, which clears every SCREENING_* variable
    monkeypatch.setenv("SCREENING_HTTP_RETRIES", "0")


def cons_files(folder: Path) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for name in CONS_FILES:
        path = folder / name.lower()
        path.write_bytes(read_gz(SEEDS / "ofac_consolidated/2025-12" / f"{name}.gz"))
        paths.append(path)
    return paths


def test_status_json_shows_the_seed_as_stale(seeded_home: Path) -> None:
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["source"]: r for r in json.loads(result.stdout)}
    sdn = rows["ofac_sdn"]
    assert (sdn["origin"], sdn["stale"], sdn["record_count"]) == ("seed", True, 13_821)
    assert sdn["stale_reason"] == "bundled seed of 2023-12-28"
    assert sdn["published_at"].startswith("2023-12-28")
    assert len(sdn["sha256"]) == 64 and sdn["snapshot_id"] >= 1
    assert rows["bis_entity_list"]["record_count"] == 919


def test_status_table_and_max_age(seeded_home: Path) -> None:
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0
    line = next(x for x in result.stdout.splitlines() if x.startswith("ofac_sdn "))
    assert "13,821" in line and "STALE (bundled seed of 2023-12-28)" in line
    stale = runner.invoke(app, ["status", "--max-age", "2d"])
    assert stale.exit_code == ExitCode.STALE
    bad = runner.invoke(app, ["status", "--max-age", "soon"])
    assert bad.exit_code == ExitCode.USAGE
    assert bad.stderr.strip() == "error: invalid duration 'soon' (use e.g. 90m, 12h, 2d, 1w)"


def test_refresh_prints_one_line_per_source(
    seeded_home: Path, mocked_http: responses.RequestsMock, lists_online: dict[str, bytes]
) -> None:
    result = runner.invoke(app, ["refresh", "ofac_consolidated", "trade_csl"])
    assert result.exit_code == ExitCode.OK, result.output
    lines = [x for x in result.stdout.splitlines() if not x.startswith("  note: ")]
    assert [x.split(":")[0] for x in lines] == [
        "ofac_consolidated",
        "bis_entity_list",
        "bis_denied_persons",
        "bis_unverified",
        "bis_military_end_user",
    ]
    assert lines[0].startswith("ofac_consolidated: updated +0 \u22120 ~0 (snapshot ")
    assert lines[0].endswith("442 records; replaces the bundled seed)")
    assert "919 records; 2 rows skipped" in lines[1]
    again = runner.invoke(app, ["refresh", "--json", "ofac_consolidated"])
    report = json.loads(again.stdout)
    assert report["outcomes"][0]["status"] == "unchanged"


def test_refresh_failure_exits_3_with_one_line(
    seeded_home: Path, mocked_http: responses.RequestsMock, lists_online: dict[str, bytes]
) -> None:
    with Store(seeded_home / "screening.sqlite3") as store:
        seed_id = store.current()["ofac_consolidated"].id
    mocked_http.upsert(responses.GET, CONS_BASE + "CONS_PRIM.CSV", status=500)
    result = runner.invoke(app, ["refresh", "ofac_consolidated", "bis_military_end_user"])
    assert result.exit_code == ExitCode.DATA
    ok, *notes = result.stdout.splitlines()
    assert notes and all(n.startswith("  note: consolidated.csv") for n in notes)
    (failed,) = result.stderr.splitlines()  # the reason on stderr, where cron mails it
    assert failed == (
        f"ofac_consolidated: FAILED: {CONS_BASE}CONS_PRIM.CSV: HTTP 500 Internal Server Error "
        f"(keeping snapshot {seed_id} of 2025-12-01)"
    )
    assert ok.startswith("bis_military_end_user: updated")
    status = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    cons = next(r for r in status if r["source"] == "ofac_consolidated")
    assert (cons["origin"], cons["last_result"]) == ("seed", "failed")
    assert "HTTP 500" in cons["last_error"]


def test_refresh_usage_errors(seeded_home: Path) -> None:
    result = runner.invoke(app, ["refresh", "eu_fsf"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("error: unknown source 'eu_fsf' (sources: ")
    assert "ofac_sdn" in result.stderr and "feeds, meaning each of their sources: trade_csl" in (
        result.stderr
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_refresh_while_another_runs(seeded_home: Path) -> None:
    with refresh_lock(seeded_home):
        result = runner.invoke(app, ["refresh", "--wait", "0", "ofac_consolidated"])
    assert result.exit_code == ExitCode.DATA
    assert "another refresh or import" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    with refresh_lock(seeded_home):
        as_json = runner.invoke(app, ["refresh", "--json", "--wait", "0", "ofac_consolidated"])
    assert as_json.exit_code == ExitCode.DATA
    # QA: a JSON reader got an empty stdout.
    doc = json.loads(as_json.stdout)
    assert doc["error_type"] == "LockedError" and "another refresh or import" in doc["error"]


def test_import(seeded_home: Path, tmp_path: Path) -> None:
    paths = cons_files(tmp_path / "dl")
    result = runner.invoke(app, ["import", "ofac_consolidated", *map(str, paths)])
    assert result.exit_code == ExitCode.OK, result.output
    assert result.stdout.startswith("ofac_consolidated: updated +0 \u22120 ~0 (snapshot ")
    with Store(seeded_home / "screening.sqlite3") as store:
        imported = store.current()["ofac_consolidated"]
        assert store.checked_at(imported.id) is None
    again = runner.invoke(app, ["import", "ofac_consolidated", *map(str, paths)])
    assert again.stdout.startswith("ofac_consolidated: unchanged (same files as snapshot ")
    with Store(seeded_home / "screening.sqlite3") as store:
        # QA: importing the same files again (an air-gapped site's nightly import) left the
        # list's age running from the first import, and `status --max-age` raised it stale.
        checked = store.checked_at(imported.id)
        assert checked is not None and checked > imported.retrieved_at
    missing = runner.invoke(app, ["import", "ofac_consolidated", str(paths[0])])
    assert missing.exit_code == ExitCode.USAGE
    assert missing.stderr.strip() == (
        "error: ofac_consolidated: missing CONS_ADD.CSV, CONS_ALT.CSV, CONS_COMMENTS.CSV"
    )
    paths[0].write_bytes(b"<html><body>Access denied</body></html>")
    broken = runner.invoke(app, ["import", "ofac_consolidated", *map(str, paths)])
    assert broken.exit_code == ExitCode.DATA
    assert broken.stderr.startswith("ofac_consolidated: FAILED: CONS_PRIM.CSV: got an HTML page")
