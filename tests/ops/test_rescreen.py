"""Delta re-screening on the real 2023-12-28 -> 2024-05-03 SDN change: the same alerts as a
full re-screen, decisions honoured, and the CLI's output and exit codes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from ops_helpers import Decided, SdnChange, settings_for
from typer.testing import CliRunner

from screening.audit import AuditLog
from screening.cli import ExitCode, app
from screening.register import Alert, Register
from screening.rescreen import RescreenReport, rescreen
from screening.store import Store

runner = CliRunner()


def alert_rows(home: Path) -> set[tuple[object, ...]]:
    """Everything recorded about the current alerts, hits and explanations included."""
    with Register.open(settings_for(home)) as reg:
        return {
            (
                a.counterparty_id,
                a.source,
                a.entry_id,
                a.entry_hash,
                a.snapshot_id,
                a.score,
                a.matched_name,
                a.status,
                a.hit.model_dump_json(),
            )
            for a in reg.alerts()
        }


def alerts_of(home: Path, counterparty_id: str) -> dict[tuple[str, str], Alert]:
    with Register.open(settings_for(home)) as reg:
        return {(a.source, a.entry_id): a for a in reg.alerts(counterparty_id)}


@pytest.fixture(scope="module")
def both(
    tmp_path_factory: pytest.TempPathFactory, changed_home: tuple[Path, Decided]
) -> tuple[Path, RescreenReport, Path, RescreenReport]:
    """The changed home re-screened by delta in one copy and in full in another."""
    src, _ = changed_home
    root = tmp_path_factory.mktemp("both")
    delta_home, full_home = root / "delta", root / "full"
    shutil.copytree(src, delta_home)
    shutil.copytree(src, full_home)
    delta = rescreen(settings_for(delta_home))
    full = rescreen(settings_for(full_home), full=True)
    return delta_home, delta, full_home, full


def test_delta_gives_exactly_the_alerts_of_a_full_rescreen(
    both: tuple[Path, RescreenReport, Path, RescreenReport],
) -> None:
    delta_home, delta, full_home, full = both
    assert delta.mode == "delta" and full.mode == "full"
    # most counterparties were screened against the changed entries only
    assert delta.screened_delta > 0.9 * delta.counterparties
    assert delta.screened_delta + delta.screened_full == delta.counterparties
    assert full.screened_full == full.counterparties and full.screened_delta == 0
    rows = alert_rows(delta_home)
    assert rows and rows == alert_rows(full_home)
    key = lambda e: (e.event, e.counterparty_id, e.source, e.entry_id)  # noqa: E731
    assert sorted(map(key, delta.events)) == sorted(map(key, full.events))
    assert delta.open_alerts == full.open_alerts


def test_the_delta_is_what_the_store_says_changed(
    both: tuple[Path, RescreenReport, Path, RescreenReport],
) -> None:
    delta_home, delta, _, _ = both
    with Store.open(settings_for(delta_home)) as store:
        sdn = store.history("ofac_sdn")
        diff = store.diff(sdn[1].id, sdn[0].id)
    (group,) = delta.groups
    assert group.from_snapshots["ofac_sdn"] == sdn[1].id
    assert group.counterparties == delta.counterparties
    assert group.changed == {"ofac_sdn": len(diff.added) + len(diff.changed)}
    # a consolidated-list record that became an SDN entry is now screened as that entry
    assert group.removed["ofac_sdn"] == len(diff.removed)
    assert set(group.removed) <= {"ofac_sdn", "ofac_consolidated"}


def test_names_of_added_entries_alert_on_them_and_removed_ones_go(
    both: tuple[Path, RescreenReport, Path, RescreenReport], sdn_change: SdnChange
) -> None:
    delta_home, delta, _, _ = both
    new = {(e.counterparty_id, e.source, e.entry_id) for e in delta.new_alerts}
    added = [e for e in delta.new_alerts if e.counterparty_id.startswith("add-")]
    assert len({e.counterparty_id for e in added}) >= 35  # of 40 names of added entries
    current_sdn = {s.source: s.snapshot_id for s in delta.snapshots}["ofac_sdn"]
    for e in added:
        assert e.hit is not None and e.hit.snapshot_id == current_sdn
    for cid in {e.counterparty_id for e in added}:
        entry_id = cid.removeprefix("add-")
        assert (cid, "ofac_sdn", entry_id) in new
        assert alerts_of(delta_home, cid)[("ofac_sdn", entry_id)].status == "open"
    removed = {(e.counterparty_id, e.entry_id): e for e in delta.removed_alerts}
    gone = [cid for cid, _ in removed if cid.startswith("rem-")]
    assert len(gone) >= 20
    for cid in gone:
        entry_id = cid.removeprefix("rem-")
        assert entry_id in sdn_change.removed
        assert "removed from the list" in (removed[(cid, entry_id)].reason or "")
        assert ("ofac_sdn", entry_id) not in alerts_of(delta_home, cid)


def test_a_false_positive_reopens_only_when_its_entry_changes(
    changed_home: tuple[Path, Decided],
    both: tuple[Path, RescreenReport, Path, RescreenReport],
) -> None:
    _, decided = changed_home
    for home, report in (both[0:2], both[2:4]):
        cid, source, entry_id = decided.on_changed
        assert alerts_of(home, cid)[(source, entry_id)].status == "open"
        reopened = [e for e in report.events if e.event == "reopened"]
        assert [(e.counterparty_id, e.entry_id) for e in reopened] == [(cid, entry_id)]
        cid, source, entry_id = decided.on_unchanged
        assert alerts_of(home, cid)[(source, entry_id)].status == "false_positive"
        assert cid not in {e.counterparty_id for e in report.new_alerts}


def test_a_second_rescreen_has_nothing_to_do(
    both: tuple[Path, RescreenReport, Path, RescreenReport], tmp_path: Path
) -> None:
    home = tmp_path / "again"
    shutil.copytree(both[0], home)
    before = alert_rows(home)
    again = rescreen(settings_for(home))
    assert again.up_to_date == again.counterparties
    assert again.screened_delta == again.screened_full == 0
    assert again.events == () and alert_rows(home) == before


def test_rescreen_cli_json_lists_new_and_removed_alerts_and_exits_1(
    changed_home: tuple[Path, Decided], copy_home: Callable[[Path], Path]
) -> None:
    home = copy_home(changed_home[0])
    result = runner.invoke(app, ["rescreen", "--json"])
    assert result.exit_code == ExitCode.REVIEW, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    new = [o for o in lines if o["event"] in ("new", "reopened")]
    assert new and all(o["hit"]["source"] and o["counterparty_id"] for o in new)
    assert any(o["counterparty_id"] == f"add-{o['hit']['entry_id']}" for o in new)
    removed = [o for o in lines if o["event"] == "removed"]
    assert removed and all(o["reason"] for o in removed)
    assert "delta re-screen of" in result.stderr
    # the run is on record, and the chain holds
    log = AuditLog.open(settings_for(home))
    last = list(log.records())[-1]
    assert last.kind == "rescreen" and last.input["mode"] == "delta"
    assert len(last.results["events"]["new"]) + len(
        last.results["events"].get("reopened", [])
    ) == len(new)
    assert log.verify().ok
    pytest.importorskip("screening.formats.html")
    page = home.parent / "rescreen.html"
    again = runner.invoke(app, ["rescreen", "--html", str(page)])
    assert again.exit_code == ExitCode.OK, again.output
    assert "already up to date" in again.stderr
    assert "No new potential matches" in page.read_text(encoding="utf-8")


def test_counterparties_screened_under_another_threshold_are_screened_in_full(
    changed_home: tuple[Path, Decided],
    copy_home: Callable[[Path], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    copy_home(changed_home[0])
    monkeypatch.setenv("SCREENING_THRESHOLD", "0.9")
    result = runner.invoke(app, ["rescreen"])
    assert result.exit_code in (ExitCode.OK, ExitCode.REVIEW), result.output
    assert "against every entry: the threshold changed" in result.stderr
    from screening.config import load_settings

    with Register.open(load_settings()) as reg:
        assert all(a.score >= 0.9 for a in reg.alerts())
        assert {c.threshold for c in reg.counterparties()} == {0.9}


def test_worker_processes_give_the_same_alerts(
    both: tuple[Path, RescreenReport, Path, RescreenReport],
    changed_home: tuple[Path, Decided],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import screening.rescreen as rescreen_module

    monkeypatch.setattr(rescreen_module, "_PARALLEL_FROM", 10)
    home = tmp_path / "workers"
    shutil.copytree(changed_home[0], home)
    report = rescreen(settings_for(home), workers=2)
    assert report.screened_delta == both[1].screened_delta
    assert alert_rows(home) == alert_rows(both[0])


def test_pruned_snapshots_mean_a_full_rescreen(
    changed_home: tuple[Path, Decided],
    both: tuple[Path, RescreenReport, Path, RescreenReport],
    tmp_path: Path,
) -> None:
    home = tmp_path / "pruned"
    shutil.copytree(changed_home[0], home)
    settings = settings_for(home)
    with Store.open(settings) as store:
        old = store.history("ofac_sdn")[1].id
    import sqlite3

    with sqlite3.connect(settings.store_path) as conn:  # as the store prunes it
        conn.execute("DELETE FROM snapshot_entries WHERE snapshot_id = ?", (old,))
        conn.execute("DELETE FROM snapshots WHERE id = ?", (old,))
    report = rescreen(settings)
    assert report.screened_delta == 0 and report.screened_full == report.counterparties
    assert report.full_reasons == {
        "the snapshots it was screened against are no longer stored": report.counterparties
    }
    assert alert_rows(home) == alert_rows(both[2])
