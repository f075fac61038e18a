"""The counterparty register: reading register files, add/update/remove, decisions, and the
commands' output and exit codes."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from ops_helpers import settings_for
from typer.testing import CliRunner

from screening.audit import AuditLog
from screening.cli import ExitCode, app
from screening.config import load_settings
from screening.errors import InputError
from screening.register import (
    Register,
    add_counterparties,
    add_file,
    decide,
    parse_entry_ref,
    read_register_rows,
    remove_counterparties,
)
from screening.rescreen import rescreen
from screening.screener import BatchRow, RejectedRow

runner = CliRunner()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- reading register files -------------------------------------------------------------------


def test_a_register_file_needs_an_id_column(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "name,country\nRosoboronexport,RU\n")
    with pytest.raises(InputError, match="no 'id' column"):
        list(read_register_rows(path))


def test_rows_without_id_or_name_or_with_an_unknown_type_are_rejected_with_a_reason(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "r.csv",
        "id,name,country,type,account\n"
        "c1,  Mahan   Air ,IR,organization,A-1\n"
        ",No Id,,,\n"
        "c3,,TR,,\n"
        "c4,Ivan Petrov,RU,spaceship,\n"
        "c5,Ivan Petrov,Atlantis,person,A-5\n",
    )
    rows = list(read_register_rows(path))
    assert [type(r) for r in rows] == [BatchRow, RejectedRow, RejectedRow, RejectedRow, BatchRow]
    first = rows[0]
    assert isinstance(first, BatchRow)
    assert (first.id, first.name, first.country, first.type) == (
        "c1",
        "Mahan Air",
        "IR",
        "organization",
    )
    assert first.model_extra == {"account": "A-1"}
    rejected = [r for r in rows if isinstance(r, RejectedRow)]
    assert [(r.line, r.message.split(" (")[0]) for r in rejected] == [
        (3, "id is empty"),
        (4, "name is empty"),
        (5, "unknown type 'spaceship'"),
    ]


def test_jsonl_register_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path / "r.jsonl",
        '{"id": 7, "name": "Mahan Air", "tags": ["airline"]}\n{"name": "No id"}\nnot json\n',
    )
    rows = list(read_register_rows(path))
    assert isinstance(rows[0], BatchRow) and rows[0].id == "7"
    assert rows[0].model_extra == {"tags": ["airline"]}
    assert [(r.line, r.message[:11]) for r in rows[1:] if isinstance(r, RejectedRow)] == [
        (2, "id is empty"),
        (3, "not JSON: E"),
    ]


def test_entry_references() -> None:
    assert parse_entry_ref(" ofac_sdn:36 ") == ("ofac_sdn", "36")
    with pytest.raises(InputError, match="SOURCE:ENTRY_ID"):
        parse_entry_ref("36")


# -- add, update, remove ----------------------------------------------------------------------


def test_add_screens_new_and_changed_counterparties_only(
    indexed_home: Path, copy_home: Callable[[Path], Path]
) -> None:
    home = copy_home(indexed_home)
    settings = settings_for(home)
    first = add_counterparties(
        settings,
        [
            {"id": "c1", "name": "Mahan Air", "country": "IR", "account": "A-1"},
            {"id": "c2", "name": "Nazlim Karanbay Demirel", "country": "TR", "type": "person"},
            {"id": "c1", "name": "Mahan Air duplicate"},
        ],
    )
    assert (first.added, first.screened) == (2, 2) and first.open_alerts >= 1
    assert {e.counterparty_id for e in first.events} == {"c1"}  # Mahan Air, not the other
    assert [(r.id, r.message[:14]) for r in first.rejected] == [("c1", "id 'c1' given ")]
    assert {(e.counterparty_id, e.source, e.event) for e in first.new_alerts} >= {
        ("c1", "ofac_sdn", "new")
    }
    second = add_counterparties(
        settings,
        [
            {"id": "c1", "name": "Mahan Air", "country": "IR", "account": "A-2"},  # extra only
            {"id": "c2", "name": "Nazlim Karanbay Demirel", "country": "TR", "type": "person"},
        ],
    )
    assert (second.added, second.updated, second.updated_extra, second.unchanged) == (0, 0, 1, 1)
    assert second.screened == 0 and second.events == ()
    with Register.open(settings) as reg:
        (c1,) = reg.counterparties(["c1"])
        assert c1.extra == {"account": "A-2"} and c1.open_alerts >= 1
    # a new name: screened again, the old alerts go with a reason
    third = add_counterparties(settings, [{"id": "c1", "name": "Nazlim Karanbay Demirel"}])
    assert (third.updated, third.screened) == (1, 1)
    removed = [e for e in third.events if e.event == "removed"]
    assert removed and all("name, country or type changed" in (e.reason or "") for e in removed)
    with Register.open(settings) as reg:
        assert reg.alerts("c1") == []
    log = AuditLog.open(settings)
    kinds = [(r.kind, r.input["action"]) for r in log.records()]
    assert kinds == [("register", "add")] * 3
    assert log.verify().ok


def test_remove_in_python_takes_one_id_or_several(
    indexed_home: Path, copy_home: Callable[[Path], Path]
) -> None:
    settings = settings_for(copy_home(indexed_home))
    rows = [{"id": i, "name": n} for i, n in (("C-3", "Mahan Air"), ("C-4", "Rosneft"))]
    add_counterparties(settings, rows)
    gone = remove_counterparties(settings, "C-3")  # the id, not its letters
    assert gone and {e.counterparty_id for e in gone} == {"C-3"}
    with Register.open(settings) as reg:
        assert [c.id for c in reg.counterparties()] == ["C-4"]
    with pytest.raises(InputError, match="no counterparty"):
        remove_counterparties(settings, ["C-3"])


def test_a_file_without_country_or_type_columns_keeps_what_the_register_holds(
    indexed_home: Path, copy_home: Callable[[Path], Path], tmp_path: Path
) -> None:
    settings = settings_for(copy_home(indexed_home))
    full = write(tmp_path / "full.csv", "id,name,country,type\nP-1,Sergei Shoigu,RU,person\n")
    first = add_file(settings, full)
    assert first.added == 1 and first.open_alerts >= 1
    names_only = write(tmp_path / "names.csv", "id,name\nP-1,Sergei Shoigu\n")
    again = add_file(settings, names_only)
    assert (again.unchanged, again.updated, again.screened, again.events) == (1, 0, 0, ())
    with Register.open(settings) as reg:
        (cp,) = reg.counterparties(["P-1"])
    assert (cp.country, cp.type) == ("RU", "person")
    # a column that is there but blank does clear the field: screened again
    blank = write(tmp_path / "blank.csv", "id,name,country,type\nP-1,Sergei Shoigu,,\n")
    third = add_file(settings, blank)
    assert (third.updated, third.screened) == (1, 1)
    with Register.open(settings) as reg:
        (cp,) = reg.counterparties(["P-1"])
    assert (cp.country, cp.type) == (None, None)


def test_register_cli_add_list_remove(
    indexed_home: Path, copy_home: Callable[[Path], Path], tmp_path: Path
) -> None:
    home = copy_home(indexed_home)
    path = write(
        tmp_path / "register.csv",
        "id,name,country,type\nc1,Rosoboronexport,RU,\nc2,Anna Schmidt,DE,person\n,Nobody,,\n",
    )
    result = runner.invoke(app, ["register", "add", str(path)])
    assert result.exit_code == ExitCode.REVIEW, result.output  # c1 is a potential match
    assert "c1 'Rosoboronexport' -> 1.00  OFAC SDN ofac_sdn:" in result.stdout
    assert "rejected: line 4: id is empty" in result.stderr
    assert "2 added" in result.stderr and "1 rejected" in result.stderr
    mode = stat.S_IMODE(os.stat(home / "register.sqlite3").st_mode)
    assert mode == 0o600

    listed = runner.invoke(app, ["register", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["id"], r["open_alerts"]) for r in rows][1] == ("c2", 0)
    assert rows[0]["id"] == "c1" and rows[0]["open_alerts"] >= 1
    assert rows[0]["snapshots"]["ofac_sdn"] > 0
    alerts = runner.invoke(app, ["register", "list", "--alerts", "--status", "open"])
    assert alerts.exit_code == 0 and alerts.stdout.startswith("c1  [open]  1.00  OFAC SDN")

    missing = runner.invoke(app, ["register", "remove", "nope"])
    assert missing.exit_code == ExitCode.USAGE
    assert "no counterparty 'nope' in the register" in missing.stderr
    gone = runner.invoke(app, ["register", "remove", "c1"])
    assert gone.exit_code == 0, gone.output
    with Register.open(load_settings()) as reg:
        assert [c.id for c in reg.counterparties()] == ["c2"] and reg.alerts() == []

    clean = write(tmp_path / "clean.csv", "id,name\nc3,Anna Schmidt\n")
    assert runner.invoke(app, ["register", "add", str(clean)]).exit_code == ExitCode.OK
    bad = write(tmp_path / "bad.csv", "name\nAnna Schmidt\n")
    result = runner.invoke(app, ["register", "add", str(bad)])
    assert result.exit_code == ExitCode.USAGE and "no 'id' column" in result.stderr


# -- decisions -----------------------------------------------------------------------------------


def test_decide_marks_a_false_positive_that_stays_quiet_until_something_changes(
    registered_home: Path, copy_home: Callable[[Path], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = copy_home(registered_home)
    settings = settings_for(home)
    with Register.open(settings) as reg:
        alert = reg.alerts(status="open")[0]
        cp = reg.counterparties([alert.counterparty_id])[0]
    ref = f"{alert.source}:{alert.entry_id}"
    monkeypatch.setenv("USER", "alice")
    result = runner.invoke(
        app,
        ["decide", cp.id, ref, "--false-positive", "--reason", "other date of birth"],
    )
    assert result.exit_code == 0, result.output
    assert f"{cp.id} {ref}: false_positive by alice" in result.stdout
    with Register.open(settings) as reg:
        (decision,) = reg.decisions(cp.id)
        assert (decision.analyst, decision.reason, decision.entry_hash) == (
            "alice",
            "other date of birth",
            alert.entry_hash,
        )
        assert {(a.source, a.entry_id): a.status for a in reg.alerts(cp.id)}[
            (alert.source, alert.entry_id)
        ] == "false_positive"
    # a full re-screen against the same lists: still a hit, still decided, no new alert
    again = rescreen(settings, full=True)
    assert cp.id not in {e.counterparty_id for e in again.new_alerts}
    with Register.open(settings) as reg:
        statuses = {(a.source, a.entry_id): a.status for a in reg.alerts(cp.id)}
    assert statuses[(alert.source, alert.entry_id)] == "false_positive"
    # the counterparty changes (another country): the decision was about the old one
    changed = add_counterparties(
        settings, [{"id": cp.id, "name": cp.name, "country": "Antarctica", "type": cp.type}]
    )
    reopened = {(e.source, e.entry_id): e for e in changed.new_alerts}
    event = reopened[(alert.source, alert.entry_id)]
    assert event.event == "reopened"
    assert event.reason == "the counterparty's name, country or type changed since the decision"
    log = AuditLog.open(settings)
    decided = [r for r in log.records() if r.kind == "decide"]
    assert len(decided) == 1 and decided[0].input["analyst"] == "alice"
    assert decided[0].results["status"] == "false_positive"
    assert decided[0].snapshots and log.verify().ok


def test_decide_errors_are_one_line_with_exit_2(
    registered_home: Path, copy_home: Callable[[Path], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_home(registered_home)
    with Register.open(load_settings()) as reg:
        alert = reg.alerts(status="open")[0]
    ref = f"{alert.source}:{alert.entry_id}"
    monkeypatch.delenv("USER", raising=False)
    monkeypatch.delenv("USERNAME", raising=False)
    no_one = runner.invoke(
        app, ["decide", alert.counterparty_id, ref, "--true-match", "--reason", "x"]
    )
    assert no_one.exit_code == ExitCode.USAGE and "say who decides" in no_one.stderr
    cases = [
        (["decide", "nobody", ref, "--true-match", "--reason", "x"], "no counterparty 'nobody'"),
        (
            [
                "decide",
                alert.counterparty_id,
                "ofac_sdn:999999999",
                "--true-match",
                "--reason",
                "x",
            ],
            "has no alert on ofac_sdn:999999999",
        ),
        (["decide", alert.counterparty_id, ref, "--true-match"], "give the reason"),
        (
            [
                "decide",
                alert.counterparty_id,
                ref,
                "--true-match",
                "--false-positive",
                "--reason",
                "x",
            ],
            "exactly one of",
        ),
        (
            ["decide", alert.counterparty_id, "36", "--true-match", "--reason", "x"],
            "SOURCE:ENTRY_ID",
        ),
    ]
    for args, message in cases:
        result = runner.invoke(app, [*args, "--analyst", "carol"])
        assert result.exit_code == ExitCode.USAGE, (args, result.output)
        assert message in result.stderr and "Traceback" not in result.output


def test_a_true_match_stays_one(registered_home: Path, copy_home: Callable[[Path], Path]) -> None:
    home = copy_home(registered_home)
    settings = settings_for(home)
    with Register.open(settings) as reg:
        alert = reg.alerts(status="open")[0]
    made, after = decide(
        settings,
        alert.counterparty_id,
        f"{alert.source}:{alert.entry_id}",
        "true_match",
        "same passport number",
        "bob",
    )
    assert made.decision == after.status == "true_match"
    rescreen(settings, full=True)
    with Register.open(settings) as reg:
        statuses = {(a.source, a.entry_id): a.status for a in reg.alerts(alert.counterparty_id)}
        assert statuses[(alert.source, alert.entry_id)] == "true_match"
        assert len(reg.decisions()) == 1


def test_an_outcome_for_a_counterparty_changed_meanwhile_is_not_recorded(
    registered_home: Path, copy_home: Callable[[Path], Path]
) -> None:
    from screening.register import ScreeningOutcome

    home = copy_home(registered_home)
    settings = settings_for(home)
    with Register.open(settings) as reg:
        state = next(s for s in reg.states() if reg.alerts(s.id))
        before = reg.alerts(state.id)
        stale = ScreeningOutcome(
            counterparty_id=state.id,
            snapshots=state.snapshots,
            threshold=0.85,
            matcher="x",
            query_fp=None,
            hits=[],
            rev=state.rev - 1,  # screened before someone else wrote it
        )
        events, skipped = reg.record([stale])
        assert (events, skipped) == ([], [state.id])
        assert reg.alerts(state.id) == before
        gone = stale.__class__(**{**stale.__dict__, "counterparty_id": "no-such-id"})
        assert reg.record([gone]) == ([], ["no-such-id"])
