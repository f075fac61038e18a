"""``screening refresh --rescreen`` and ``--every``: chaining, exit codes, the loop's log."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import responses
from typer.testing import CliRunner

import screening._refresh
import screening.rescreen
import screening.schedule
from screening._refresh import RefreshReport, SourceOutcome
from screening.cli import ExitCode, app
from screening.errors import LockedError
from screening.register import AlertEvent
from screening.rescreen import RescreenReport
from screening.screener import Screener

runner = CliRunner()
T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
LOG_LINE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z refresh ")


def refresh_report(*, failed: bool = False) -> RefreshReport:
    outcomes = [
        SourceOutcome(source="ofac_sdn", status="updated", added=["1", "2"], removed=["3"]),
        SourceOutcome(source="ofac_consolidated", status="unchanged", message="HTTP 304"),
    ]
    if failed:
        outcomes.append(
            SourceOutcome(source="bis_entity_list", status="failed", message="HTTP 403 Forbidden")
        )
    return RefreshReport(started_at=T0, finished_at=T0 + timedelta(seconds=5), outcomes=outcomes)


def rescreen_report(screener: Screener, *, alerts: bool) -> RescreenReport:
    events: list[AlertEvent] = []
    if alerts:
        hit = screener.screen("Rosoboronexport").hits[0]
        events.append(
            AlertEvent(
                event="new",
                counterparty_id="C-001",
                name="Rosoboronexport <LLC>",
                source=hit.source,
                entry_id=hit.entry_id,
                status="open",
                score=hit.score,
                matched_name=hit.matched_name,
                hit=hit,
            )
        )
    events.append(
        AlertEvent(
            event="removed",
            counterparty_id="C-009",
            name="Old Name",
            source="ofac_sdn",
            entry_id="3",
            reason="list entry removed",
        )
    )
    return RescreenReport(
        mode="delta",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=2),
        counterparties=3,
        screened_delta=2,
        up_to_date=1,
        events=tuple(events),
        open_alerts=len(events) - 1,
        snapshots=screener.snapshot_refs(),
    )


@pytest.fixture
def fake_jobs(home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Stand-ins for refresh() and rescreen() that count their calls and give set reports."""
    state: dict[str, Any] = {"refresh": [], "rescreen": 0, "refresh_report": refresh_report()}

    def fake_refresh(settings: Any, names: Any, *, lock_timeout: float) -> RefreshReport:
        state["refresh"].append(names)
        item = state["refresh_report"]
        if isinstance(item, list):
            item = item.pop(0)
        if isinstance(item, Exception):
            raise item
        return item  # type: ignore[no-any-return]

    def fake_rescreen(settings: Any, **kw: Any) -> RescreenReport:
        state["rescreen"] += 1
        return state["rescreen_report"]  # type: ignore[no-any-return]

    monkeypatch.setattr(screening._refresh, "refresh", fake_refresh)
    monkeypatch.setattr(screening.rescreen, "rescreen", fake_rescreen)
    return state


# -- one shot --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failed", "alerts", "code"),
    [
        (False, False, ExitCode.OK),
        (False, True, ExitCode.REVIEW),
        (True, True, ExitCode.DATA),  # a list failure wins over new alerts
        (True, False, ExitCode.DATA),
    ],
)
def test_refresh_rescreen_exit_codes(
    fake_jobs: dict[str, Any], screener: Screener, failed: bool, alerts: bool, code: ExitCode
) -> None:
    fake_jobs["refresh_report"] = refresh_report(failed=failed)
    fake_jobs["rescreen_report"] = rescreen_report(screener, alerts=alerts)
    result = runner.invoke(app, ["refresh", "--rescreen"])
    assert result.exit_code == code, result.output
    assert fake_jobs["rescreen"] == 1  # run even when a source failed or nothing changed
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ofac_sdn: updated +2 \u22121 ~0")
    summary = next(x for x in lines if x.startswith("rescreen"))
    assert summary.startswith(
        "rescreen (delta): 3 counterparties (2 against changed entries, 0 in full, 1 up to date): "
    )
    assert "1 withdrawn" in summary
    assert "  WITHDRAWN C-009 'Old Name': ofac_sdn 3: list entry removed" in lines
    new = [x for x in lines if x.startswith("  NEW ")]
    if alerts:
        assert new == [
            "  NEW C-001 'Rosoboronexport <LLC>': OFAC SDN 18782 'ROSOBORONEXPORT JSC' 1.00"
        ]
    else:
        assert new == []


def test_refresh_without_rescreen_does_not_rescreen(fake_jobs: dict[str, Any]) -> None:
    result = runner.invoke(app, ["refresh"])
    assert result.exit_code == ExitCode.OK
    assert fake_jobs["rescreen"] == 0 and "rescreen" not in result.stdout


def test_refresh_rescreen_json_and_html(
    fake_jobs: dict[str, Any], screener: Screener, seeded_home: Path, tmp_path: Path
) -> None:
    fake_jobs["rescreen_report"] = rescreen_report(screener, alerts=True)
    out = tmp_path / "nightly.html"
    result = runner.invoke(app, ["refresh", "--rescreen", "--json", "--html", str(out)])
    assert result.exit_code == ExitCode.REVIEW, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"refresh", "rescreen"}
    assert doc["refresh"]["outcomes"][0]["source"] == "ofac_sdn"
    assert doc["rescreen"]["events"][0]["counterparty_id"] == "C-001"
    page = out.read_text(encoding="utf-8")
    assert "<h1>Re-screening report</h1>" in page
    assert "C-001 \u2014 Rosoboronexport &lt;LLC&gt;" in page
    assert "27 Stromynka" in page  # the list entry's address, read from the store
    assert not list(tmp_path.glob(".nightly.html.*"))  # no temporary file left behind


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--html", "x.html"], "--html needs --rescreen"),
        (["--runs", "2"], "--runs needs --every"),
        (["--every", "10s"], "interval 10s is too short"),
        (["--every", "soon"], "invalid duration 'soon'"),
        (["--every", "12h", "--jitter", "0.9"], "less than or equal to 0.5"),
        (["--every", "12h", "eu_fsf"], "unknown source 'eu_fsf'"),
    ],
)
def test_usage_errors_exit_2_before_any_run(
    fake_jobs: dict[str, Any], args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["refresh", *args])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert message in result.stderr
    assert fake_jobs["refresh"] == []


# -- the loop --------------------------------------------------------------------------------


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []

    def wait(self: screening.schedule.Stop, seconds: float) -> bool:
        slept.append(seconds)
        return self.is_set()

    monkeypatch.setattr(screening.schedule.Stop, "wait", wait)
    return slept


def test_every_runs_logs_one_line_per_run_and_keeps_going_after_a_failure(
    fake_jobs: dict[str, Any], screener: Screener, no_sleep: list[float]
) -> None:
    fake_jobs["refresh_report"] = [
        LockedError("another refresh or import (process 7) is running"),
        refresh_report(failed=True),
        refresh_report(),
    ]
    fake_jobs["rescreen_report"] = rescreen_report(screener, alerts=True)
    result = runner.invoke(
        app, ["refresh", "--every", "12h", "--rescreen", "--runs", "3", "ofac_sdn"]
    )
    assert result.exit_code == ExitCode.OK, result.output
    assert fake_jobs["refresh"] == [["ofac_sdn"]] * 3
    log = result.stderr.splitlines()
    assert all(LOG_LINE.match(line) for line in log), log
    assert log[0].endswith("refresh every 12h (\u00b110%); stop with SIGTERM or Ctrl-C")
    assert "refresh 1: FAILED: another refresh or import (process 7) is running" in log[1]
    assert (
        "refresh 2: ofac_sdn updated +2 \u22121 ~0; 1 unchanged; bis_entity_list FAILED "
        in (log[2])
    )
    assert "rescreen 3 counterparties: 1 new potential match, 1 withdrawn" in log[3]
    assert log[-1].endswith("refresh stopped after 3 runs")
    assert len(log) == 5
    assert len(no_sleep) == 2 and all(38_000 < s <= 47_520 for s in no_sleep)
    assert result.stdout.count("ofac_sdn: updated") == 2  # each run's lines on stdout


def test_every_with_json_prints_one_document_per_run(
    fake_jobs: dict[str, Any], no_sleep: list[float]
) -> None:
    result = runner.invoke(app, ["refresh", "--every", "1h", "--json", "--runs", "2"])
    assert result.exit_code == ExitCode.OK, result.output
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(docs) == 2 and docs[0]["outcomes"][0]["source"] == "ofac_sdn"


# -- for real: the official files served locally ---------------------------------------------


def test_refresh_rescreen_for_real_then_monitoring_is_green(
    seeded_home: Path,
    mocked_http: responses.RequestsMock,
    lists_online: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The SDN left out to keep the test quick: its index alone takes seconds to build.
    monkeypatch.setenv("SCREENING_OFAC_SDN_ENABLED", "0")
    assert runner.invoke(app, ["status", "--max-age", "2d"]).exit_code == ExitCode.STALE
    result = runner.invoke(app, ["refresh", "--rescreen"])
    assert result.exit_code == ExitCode.OK, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("bis_entity_list: updated")  # the download replaces the seed
    assert not any(x.startswith("ofac_sdn") for x in lines)
    assert any(x.startswith("rescreen (delta): 0 counterparties") for x in lines)
    assert runner.invoke(app, ["status", "--max-age", "2d"]).exit_code == ExitCode.OK
    # a disabled source does not count, even when shown (the SDN is still at its seed)
    shown = runner.invoke(app, ["status", "--max-age", "2d", "--all"])
    assert shown.exit_code == ExitCode.OK and "disabled" in shown.stdout
