"""``screening shipment`` and ``screening rules``, through Typer's runner.

The command imports ``screening.screener`` late; here that module is replaced by a stand-in
whose ``Screener`` evaluates the rules with a fake party screener that knows one real Entity
List row, so the CLI is tested on its own.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from rules_helpers import KRAL_AVIATION_ID, SAMPLES, csl_snapshot, el_hit, fake_screener
from typer.testing import CliRunner

from screening.cli import app
from screening.config import Settings
from screening.rules import RuleSet, ShipmentResult, evaluate_shipment, load_ruleset
from screening.shipments import Shipment

runner = CliRunner()


class FakeScreener:
    opened: list[Settings] = []

    def __init__(self, hits: dict[str, Any]) -> None:
        self.screen_party = fake_screener(hits, snapshots=(csl_snapshot(),))

    @classmethod
    def open(cls, settings: Settings) -> FakeScreener:
        cls.opened.append(settings)
        return cls(cls.hits)

    hits: dict[str, Any] = {}
    threshold = 0.85

    def screen_shipment(self, shipment: Shipment, ruleset: RuleSet | None = None) -> ShipmentResult:
        return evaluate_shipment(shipment, ruleset or load_ruleset(), self.screen_party)


@pytest.fixture(autouse=True)
def fake_screener_module(
    monkeypatch: pytest.MonkeyPatch, kral_row: dict[str, str], tmp_path: Path
) -> None:
    import screening.screener as real

    module = types.ModuleType("screening.screener")
    for name in ("BatchResult", "BatchRow", "RejectedRow"):  # what the audit trail records
        setattr(module, name, getattr(real, name))
    module.Screener = FakeScreener  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "screening.screener", module)
    monkeypatch.setattr(FakeScreener, "opened", [])
    monkeypatch.setattr(FakeScreener, "hits", {kral_row["name"]: el_hit(kral_row)})
    for var in [v for v in __import__("os").environ if v.startswith("SCREENING_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("SCREENING_HOME", str(tmp_path / "home"))


def run(*args: str) -> Any:
    return runner.invoke(app, list(args))


def write_json(tmp_path: Path, records: list[dict[str, Any]], name: str = "in.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def sample(sid: str) -> dict[str, Any]:
    data = json.loads((SAMPLES / "shipments.json").read_text(encoding="utf-8"))
    found: dict[str, Any] = next(s for s in data if s["id"] == sid)
    return found


def test_the_sample_file_blocks_and_lists_every_finding() -> None:
    result = run("shipment", str(SAMPLES / "shipments.json"))
    assert result.exit_code == 4, result.output
    out = result.stdout
    assert "S-1001  BLOCK  (5 findings)" in out
    assert "S-1005  CLEAR" in out
    assert (
        "  BLOCK  critical transshipment-then-restricted: route US > TR > KZ > RU passes through"
        in out
    )
    assert "source: FIN-2022-Alert003, TRI-SEAL-2023-03-02, QUINT-SEAL-2023-12-11" in out
    assert f"hit: consignee 'Kral Aviation': BIS Entity List {KRAL_AVIATION_ID}" in out
    summary = "6 shipment(s): 2 block, 2 review, 2 clear, 0 rejected — rules default 2026.11.23.2"
    assert summary in out
    assert "lists bis_entity_list #7 (2023-11-30, stale)" in out
    assert len(FakeScreener.opened) == 1
    assert out.count("warning: bis_entity_list snapshot is stale") == 1  # shown once


def test_csv_input_gives_the_same_json_as_json_input() -> None:
    from_json = run("shipment", str(SAMPLES / "shipments.json"), "--json")
    from_csv = run("shipment", str(SAMPLES / "shipments.csv"), "--json")
    assert from_json.exit_code == from_csv.exit_code == 4
    assert from_json.stdout == from_csv.stdout
    records = [json.loads(line) for line in from_json.stdout.splitlines()]
    assert [(r["shipment_id"], r["decision"]) for r in records] == [
        ("S-1001", "block"),
        ("S-1002", "review"),
        ("S-1003", "review"),
        ("S-1004", "block"),
        ("S-1005", "clear"),
        ("S-1006", "clear"),
    ]
    first = records[0]
    assert first["ruleset"]["name"] == "default" and len(first["ruleset"]["sha256"]) == 64
    assert first["snapshots"][0]["source"] == "bis_entity_list"
    assert first["findings"][0]["sources"][0]["id"] == "EAR-746"


@pytest.mark.parametrize(
    ("ids", "code"),
    [(["S-1005", "S-1006"], 0), (["S-1005", "S-1002"], 1), (["S-1002", "S-1004"], 4)],
)
def test_the_exit_code_is_the_worst_decision(tmp_path: Path, ids: list[str], code: int) -> None:
    path = write_json(tmp_path, [sample(i) for i in ids])
    assert run("shipment", str(path)).exit_code == code


def test_rejected_records_are_reported_written_and_counted(tmp_path: Path) -> None:
    bad = dict(sample("S-1005"), id="S-BAD", goods=[{"hs_code": "85A2"}])
    path = write_json(tmp_path, [sample("S-1002"), bad])
    out = tmp_path / "results.jsonl"
    result = run("shipment", str(path), "--output", str(out))
    assert result.exit_code == 2  # review, but one record could not be screened
    assert "error: shipment S-BAD: goods[0].hs_code: '85A2' is not an HS code" in result.stderr
    assert "2 shipment(s): 0 block, 1 review, 0 clear, 1 rejected" in result.stdout
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["decision"] == "review"
    assert lines[1] == {
        "id": "S-BAD",
        "location": "record 2",
        "error": "shipment S-BAD: goods[0].hs_code: '85A2' is not an HS code "
        "(digits, dots and spaces only)",
    }
    assert not list(tmp_path.glob(".results.jsonl.*"))  # no temporary file left behind


def test_a_block_outranks_a_rejected_record(tmp_path: Path) -> None:
    path = write_json(tmp_path, [sample("S-1004"), {"id": "X"}])
    assert run("shipment", str(path)).exit_code == 4


def test_the_screener_is_not_opened_when_nothing_can_be_screened(tmp_path: Path) -> None:
    path = write_json(tmp_path, [{"id": "X"}])
    result = run("shipment", str(path))
    assert result.exit_code == 2
    assert FakeScreener.opened == []


def test_an_empty_array_and_a_broken_file_are_usage_errors(tmp_path: Path) -> None:
    empty = write_json(tmp_path, [])
    result = run("shipment", str(empty))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {empty}: no shipments in the file"
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    result = run("shipment", str(broken))
    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr
    assert "Traceback" not in result.output


def test_a_custom_rule_file_is_used(tmp_path: Path) -> None:
    rules = tmp_path / "strict.toml"
    rules.write_text(
        'name = "strict"\nversion = "7"\n[documents.D]\ntitle = "House policy"\n'
        '[[rules]]\nid = "no-germany"\nkind = "restricted_destination"\ndescription = "d"\n'
        'severity = "low"\ndecision = "block"\nsources = ["D"]\nplaces = ["DE"]\n',
        encoding="utf-8",
    )
    path = write_json(tmp_path, [sample("S-1005")])
    result = run("shipment", str(path), "--rules", str(rules), "--json")
    assert result.exit_code == 4
    record = json.loads(result.stdout)
    assert [f["rule_id"] for f in record["findings"]] == ["no-germany"]
    assert record["ruleset"]["name"] == "strict" and record["ruleset"]["version"] == "7"


def test_a_bad_rule_file_stops_before_screening(tmp_path: Path) -> None:
    rules = tmp_path / "bad.toml"
    rules.write_text(
        'name = "x"\nversion = "1"\n[documents.D]\ntitle = "t"\n[[rules]]\nid = "a"\n'
        'kind = "restricted_destination"\ndescription = "d"\nseverity = "high"\n'
        'decision = "review"\nsources = ["D"]\nplaces = ["XX"]\n',
        encoding="utf-8",
    )
    result = run("shipment", str(SAMPLES / "shipments.json"), "--rules", str(rules))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {rules.resolve()}: rule 'a': places[0]: "
        "'XX' is not a country code, ISO 3166-2 region code or @table"
    )
    assert FakeScreener.opened == []


def test_rules_list_shows_every_rule_with_its_sources() -> None:
    result = run("rules", "list")
    assert result.exit_code == 0, result.output
    ruleset = load_ruleset()
    for rule in ruleset.rules:
        assert f"{rule.id}  [{rule.decision}, {rule.severity.value}]  {rule.kind}" in result.stdout
        for source in rule.sources:
            assert f"source {source}: " in result.stdout
    assert "lists: ofac_sdn, bis_entity_list; min_score: 0.95" in result.stdout
    assert "lists: any list; min_score: the screener's alert threshold" in result.stdout


def test_rules_list_json() -> None:
    result = run("rules", "list", "--json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["ruleset"]["version"] == "2026.11.23.2"
    assert len(payload["rules"]) == 12
    assert payload["documents"]["CHPL-2024-02-23"]["date"] == "2024-02-23"


def test_rules_validate(tmp_path: Path) -> None:
    good = run("rules", "validate", str(SAMPLES.parent.parent / "lists" / "rules" / "default.toml"))
    assert good.exit_code == 0
    assert good.stdout.startswith("ok: 12 rules (11 enabled), 10 documents, kinds: ")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\nversion = "1"\n[documents.D]\ntitle = "t"\n[[rules]]\nid = "a"\n'
        'kind = "chpl_via_risk_country"\ndescription = "d"\nseverity = "extreme"\n'
        'decision = "review"\nsources = ["D"]\n',
        encoding="utf-8",
    )
    result = run("rules", "validate", str(bad))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {bad.resolve()}: rule 'a': severity: 'extreme'")
    missing = run("rules", "validate", str(tmp_path / "nope.toml"))
    assert missing.exit_code == 2
    assert "cannot read rule file" in missing.stderr


def test_a_line_break_in_an_id_or_description_cannot_fake_an_output_line(tmp_path: Path) -> None:
    # QA: a goods description "chips\nS-78  CLEAR" printed a line of its own.
    record = sample("S-1006")
    record["id"] = "S-1\nS-77  CLEAR"
    record["goods"][0]["description"] = "chips\nS-78  CLEAR"
    result = run("shipment", str(write_json(tmp_path, [record])))
    assert not [line for line in result.stdout.splitlines() if line.startswith(("S-77", "S-78"))]
    assert result.stdout.startswith("S-1\\nS-77  CLEAR  ")


def test_the_audit_record_of_a_shipment_run_names_the_threshold(tmp_path: Path) -> None:
    # QA: it said "threshold": null although the threshold decides which hits are reported.
    from screening.audit import AuditLog
    from screening.config import load_settings

    run("shipment", str(write_json(tmp_path, [sample("S-1004")])))
    (record,) = list(AuditLog.open(load_settings()).records())
    assert record.payload()["threshold"] == 0.85
