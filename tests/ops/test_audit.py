"""The audit trail: the hash chain, tampering found and named, concurrent appends, export,
record sizes."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from screening.audit import GENESIS_HASH, AuditLog, compact, record_hash
from screening.cli import ExitCode, app
from screening.config import load_settings
from screening.errors import InputError
from screening.models import EntityType, Hit, NameKind, SnapshotRef
from screening.screener import BatchResult, BatchRow

runner = CliRunner()

SNAPSHOTS = (
    SnapshotRef(
        source="ofac_sdn",
        snapshot_id=7,
        as_of=datetime(2024, 5, 3, tzinfo=UTC),
        sha256="ab" * 32,
        origin="import",
    ),
)
HIT = Hit(
    source="ofac_sdn",
    entry_id="18782",
    list_name="OFAC SDN",
    matched_name="ROSOBORONEXPORT JSC",
    matched_name_kind=NameKind.AKA,
    primary_name="ROSOBORONEKSPORT OAO",
    score=0.97,
    entity_type=EntityType.ORGANIZATION,
    snapshot_id=7,
)


def log_in(home: Path) -> AuditLog:
    return AuditLog.open(load_settings(home=home, environ={}))


def fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.append(
            "check",
            input={"name": f"Name {i}", "country": "TR"},
            results=[HIT] if i % 2 else [],
            snapshots=SNAPSHOTS,
            threshold=0.85,
        )


def test_records_chain_from_the_genesis_hash(tmp_path: Path) -> None:
    log = log_in(tmp_path / "home")
    first = log.append("check", input={"name": "A"}, results=[HIT], snapshots=SNAPSHOTS)
    second = log.append("batch", input={"file": "x.csv"}, results=[], snapshots=SNAPSHOTS)
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert first.hash == record_hash(first.payload())
    assert first.results == [["ofac_sdn", "18782", 0.97, "ROSOBORONEXPORT JSC"]]
    assert first.snapshots == ({"source": "ofac_sdn", "id": 7, "sha256": "ab" * 32},)
    assert first.ts.tzinfo is not None and first.version
    (path,) = (tmp_path / "home/audit").glob("*.jsonl")
    assert path.name == f"{datetime.now(UTC):%Y-%m}.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "home/audit").stat().st_mode) == 0o700
    result = log.verify()
    assert result.ok and result.records == 2 and result.last_hash == second.hash
    with pytest.raises(InputError, match="unknown audit record kind"):
        log.append("lunch", input=None, results=None, snapshots=())


@pytest.mark.parametrize("offset", [0.1, 0.5, 0.9])
def test_changing_one_byte_breaks_the_chain_at_that_record(tmp_path: Path, offset: float) -> None:
    home = tmp_path / "home"
    log = log_in(home)
    fill(log, 6)
    (path,) = (home / "audit").glob("*.jsonl")
    lines = path.read_bytes().splitlines(keepends=True)
    target = lines[3]  # record 4
    pos = int(len(target) * offset)
    flipped = bytes([target[pos] ^ 0x01]) if target[pos : pos + 1] != b"\n" else b"x"
    lines[3] = target[:pos] + flipped + target[pos + 1 :]
    path.write_bytes(b"".join(lines))
    result = log.verify()
    assert not result.ok and result.broken_seq == 4 and result.broken_line == 4
    assert result.records == 3 and result.broken_file == path.name
    assert "record 4" in result.message and "the record was altered" in result.message
    cli = runner.invoke(app, ["--home", str(home), "audit", "verify"])
    assert cli.exit_code == ExitCode.DATA
    assert f"audit trail broken at record 4 ({path.name} line 4)" in cli.stderr


def test_an_edited_and_rehashed_record_breaks_the_link_to_the_next(tmp_path: Path) -> None:
    home = tmp_path / "home"
    log = log_in(home)
    fill(log, 4)
    (path,) = (home / "audit").glob("*.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[1])
    rec["results"] = []  # hide a hit, and recompute the record's own hash
    rec["hash"] = record_hash(rec)
    lines[1] = json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = log.verify()
    assert (result.ok, result.broken_seq) == (False, 3)
    assert "prev_hash does not match" in (result.reason or "")


def test_removed_records_are_missed_in_the_middle_and_at_the_end(tmp_path: Path) -> None:
    home = tmp_path / "home"
    log = log_in(home)
    fill(log, 5)
    (path,) = (home / "audit").glob("*.jsonl")
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:2] + lines[3:]))
    result = log.verify()
    assert (result.ok, result.broken_seq) == (False, 4) and "records 3–3 are missing" in (
        result.reason or ""
    )
    path.write_bytes(b"".join(lines[:3]))  # cut the last two off
    result = log.verify()
    assert not result.ok and "records 4–5 are missing from the end" in (result.reason or "")
    # appending after the cut keeps the gap visible
    log.append("check", input={"name": "x"}, results=[], snapshots=())
    result = log.verify()
    assert not result.ok and "records 4–5 are missing" in (result.reason or "")


def test_closed_months_may_be_gzipped(tmp_path: Path) -> None:
    home = tmp_path / "home"
    log = log_in(home)
    fill(log, 3)
    (path,) = (home / "audit").glob("*.jsonl")
    old = path.with_name("2020-01.jsonl.gz")
    old.write_bytes(gzip.compress(path.read_bytes()))
    path.unlink()
    fill(log, 2)  # a new file continues the chain of the compressed one
    result = log.verify()
    assert result.ok and result.records == 5 and result.files[0] == "2020-01.jsonl.gz"


def test_concurrent_appends_from_several_processes_keep_the_chain(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from screening.audit import AuditLog\n"
        "log = AuditLog(Path(sys.argv[1]) / 'audit')\n"
        "for i in range(40):\n"
        "    log.append('check', input={'name': sys.argv[2] + str(i)}, results=[], snapshots=())\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(home), f"p{n}-"]) for n in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    log = log_in(home)
    result = log.verify()
    assert result.ok and result.records == 160
    names = [r.input["name"] for r in log.records()]
    assert len(set(names)) == 160


def test_export_jsonl_and_csv_since_a_date(tmp_path: Path) -> None:
    home = tmp_path / "home"
    log = log_in(home)
    fill(log, 3)
    out = io.StringIO()
    assert log.export(None, "jsonl", out) == 3
    exported = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["seq"] for r in exported] == [1, 2, 3]
    assert all(r["hash"] == record_hash(r) for r in exported)  # verifiable by a third party
    assert log.export(datetime.now(UTC) + timedelta(days=1), "jsonl", io.StringIO()) == 0
    result = runner.invoke(
        app,
        ["--home", str(home), "audit", "export", "--since", "2026-01-01", "--format", "csv"],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["seq"] for r in rows] == ["1", "2", "3"] and rows[1]["kind"] == "check"
    assert json.loads(rows[1]["results"]) == [["ofac_sdn", "18782", 0.97, "ROSOBORONEXPORT JSC"]]
    target = tmp_path / "audit.jsonl"
    result = runner.invoke(
        app, ["--home", str(home), "audit", "export", "--format", "jsonl", "-o", str(target)]
    )
    assert result.exit_code == 0 and len(target.read_text().splitlines()) == 3
    bad = runner.invoke(app, ["--home", str(home), "audit", "export", "--since", "yesterday"])
    assert bad.exit_code == ExitCode.USAGE and "not a date" in bad.stderr


def test_an_empty_trail_verifies(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--home", str(tmp_path / "h"), "audit", "verify"])
    assert result.exit_code == 0 and "empty" in result.stdout


def test_a_batch_record_stays_small(tmp_path: Path) -> None:
    """What a batch record costs per screened name (OFAC wants ten years of records)."""
    log = log_in(tmp_path / "home")
    results = [
        BatchResult(id=f"C{i:07d}", name=f"Company Number {i} Trading LLC", country="TR")
        for i in range(1000)
    ]
    results[10] = results[10].model_copy(update={"hits": (HIT,)})
    rec = log.append(
        "batch", input={"file": "erp.csv"}, results=results, snapshots=SNAPSHOTS, threshold=0.85
    )
    size = len((tmp_path / "home/audit" / f"{rec.ts:%Y-%m}.jsonl").read_bytes())
    per_name = size / len(results)
    assert per_name < 60  # 40-odd bytes of id, name and country each
    assert rec.results[10][4] == [["ofac_sdn", "18782", 0.97, "ROSOBORONEXPORT JSC"]]
    assert rec.results[0] == ["C0000000", "Company Number 0 Trading LLC", "TR", None, []]


def test_compact_forms() -> None:
    assert compact(BatchRow(id="1", name="A", country="TR")) == ["1", "A", "TR", None]
    assert compact(BatchResult(id="2", name="B", error="name is empty")) == [
        "2",
        "B",
        None,
        None,
        None,
        "name is empty",
    ]
    assert compact(SNAPSHOTS[0]) == ["ofac_sdn", 7, "ab" * 32]
    assert compact({"when": datetime(2026, 1, 2, tzinfo=UTC), "kind": EntityType.PERSON}) == {
        "when": "2026-01-02T00:00:00.000000Z",
        "kind": "person",
    }
    with pytest.raises(InputError, match="cannot record a object"):
        compact(object())


def test_a_torn_last_line_stops_appends_with_a_clear_message(tmp_path: Path) -> None:
    home = tmp_path / "home"
    log = log_in(home)
    fill(log, 2)
    (path,) = (home / "audit").glob("*.jsonl")
    with path.open("ab") as f:
        f.write(b'{"seq":3,"trunc')
    from screening.errors import StoreError

    with pytest.raises(StoreError, match="run `screening audit verify`"):
        fill(log, 1)
    result = log.verify()
    assert (result.ok, result.broken_seq) == (False, 3) and "incomplete" in (result.reason or "")
    assert os.path.getsize(path) > 0
