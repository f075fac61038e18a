"""A list file that was cut off is refused, never stored minus its tail.

QA's report: an SDN.CSV cut at 95% of its bytes was stored as a new snapshot (+0 -737, 1,392
rows skipped, exit 0): the entries after the cut were simply gone, under the record-count
guard's 10%, and those parties screened clear. Every test here cuts a real file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses
from support import real_file, serve
from typer.testing import CliRunner

from screening._refresh import import_files, refresh
from screening.cli import ExitCode, app
from screening.config import Settings, get_source_definition, load_settings
from screening.errors import ParseError
from screening.models import ParseResult
from screening.screener import Screener
from screening.sources.base import load_source
from screening.store import Store

SDN_FILES = ("SDN.CSV", "ADD.CSV", "ALT.CSV", "SDN_COMMENTS.CSV")
CONS_FILES = ("CONS_PRIM.CSV", "CONS_ADD.CSV", "CONS_ALT.CSV", "CONS_COMMENTS.CSV")
# Every real OFAC legacy file the repository holds (seeds/ and tests/fixtures/).
REAL_OFAC = (
    *(f"ofac_sdn/2023-12-28/{n}" for n in SDN_FILES),
    "ofac_sdn/2024-05-03/SDN.CSV",
    *(f"ofac_consolidated/2025-12/{n}" for n in CONS_FILES),
)
SDN_BASE = get_source_definition("ofac_sdn").url
CSL_URL = get_source_definition("bis_entity_list").url
BIS = ("bis_entity_list", "bis_denied_persons", "bis_unverified", "bis_military_end_user")


def cut(data: bytes, share: float = 0.95) -> bytes:
    """The first ``share`` of a file's bytes, as a download cut off there."""
    return data[: int(len(data) * share)]


def sdn_set() -> dict[str, bytes]:
    return {n: real_file(f"ofac_sdn/2023-12-28/{n}") for n in SDN_FILES}


def parse(source_id: str, files: dict[str, bytes]) -> ParseResult:
    return load_source(get_source_definition(source_id)).parse(files)


def fast(settings: Settings) -> Settings:
    http = settings.http.model_copy(update={"retries": 0, "backoff": 0, "timeout": 5})
    return settings.model_copy(update={"http": http})


# --- the facts the OFAC check stands on ---------------------------------------------------


@pytest.mark.parametrize("path", REAL_OFAC)
def test_every_real_ofac_file_ends_with_a_line_break_and_one_0x1a(path: str) -> None:
    data = real_file(path)
    assert data.endswith((b"\r\n\x1a", b"\n\x1a"))  # SDN_COMMENTS.CSV of 2023 has LF lines
    assert data.count(b"\x1a") == 1


# --- OFAC legacy CSV ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source_id", "name"),
    [*(("ofac_sdn", n) for n in SDN_FILES), *(("ofac_consolidated", n) for n in CONS_FILES)],
)
def test_an_ofac_file_cut_at_95_percent_is_refused(source_id: str, name: str) -> None:
    folder = "ofac_sdn/2023-12-28" if source_id == "ofac_sdn" else "ofac_consolidated/2025-12"
    files = {
        n: real_file(f"{folder}/{n}") for n in (SDN_FILES if name in SDN_FILES else CONS_FILES)
    }
    files[name] = cut(files[name])
    with pytest.raises(ParseError, match=rf"^{name}: cut off: its last row") as info:
        parse(source_id, files)
    assert info.value.source == source_id
    assert "\n" not in str(info.value)


def test_a_file_without_its_0x1a_byte_is_read_with_a_note(
    sdn_files: dict[str, bytes], sdn_result: ParseResult
) -> None:
    # What a mirror or a hand re-save may deliver: every row complete, the 0x1A byte gone.
    # Refusing it would refuse a complete list, so it is read; the byte is not required.
    stripped = {n: data.rstrip(b"\x1a") for n, data in sdn_files.items()}
    result = parse("ofac_sdn", stripped)
    assert result.entries == sdn_result.entries
    assert result.skipped == sdn_result.skipped
    for name in SDN_FILES:
        assert any(n.startswith(f"{name}: no 0x1A end-of-file byte") for n in result.notes)
    assert not any("0x1A" in n for n in sdn_result.notes)


def test_a_file_resaved_with_lf_lines_and_no_0x1a_is_read(sdn_small: dict[str, bytes]) -> None:
    resaved = {n: d.rstrip(b"\x1a").replace(b"\r\n", b"\n") for n, d in sdn_small.items()}
    assert parse("ofac_sdn", resaved).entries == parse("ofac_sdn", sdn_small).entries


def test_a_cut_exactly_at_a_line_break_cannot_be_seen_in_the_file(
    sdn_files: dict[str, bytes],
) -> None:
    # The price of not requiring the 0x1A byte: whole rows missing after a line break look
    # like a shorter list. The refresh's record-count guard (max_record_drop) judges those.
    data = sdn_files["SDN.CSV"]
    at_line = data[: data.rindex(b"\r\n", 0, int(len(data) * 0.95)) + 2]
    result = parse("ofac_sdn", dict(sdn_files, **{"SDN.CSV": at_line}))
    assert len(result.entries) == at_line.count(b"\r\n") < 13_821


def test_refresh_of_a_cut_sdn_csv_keeps_the_last_good_snapshot(
    seeded_home: Path, mocked_http: responses.RequestsMock
) -> None:
    """QA's repro, through the library: SDN.CSV served cut at 95%."""
    files = sdn_set()
    settings = fast(load_settings())
    with Store.open(settings) as store:
        good = store.current()["ofac_sdn"]
    for name, body in files.items():
        serve(mocked_http, SDN_BASE + name, cut(body) if name == "SDN.CSV" else body)
    outcome = refresh(settings, ["ofac_sdn"]).outcome("ofac_sdn")
    assert (outcome.status, outcome.error) == ("failed", "ParseError")
    assert (outcome.message or "").startswith("SDN.CSV: cut off: its last row ends mid-field")
    assert outcome.snapshot == good
    last_ent_num = files["SDN.CSV"].rstrip(b"\r\n\x1a").rsplit(b"\r\n", 1)[1].split(b",")[0]
    with Store.open(settings) as store:
        assert store.current()["ofac_sdn"] == good
        entries = store.entries(good.id)
        assert len(entries) == 13_821
        assert last_ent_num.decode() in {e.entry_id for e in entries}  # still screened


def test_cli_refresh_and_import_of_a_cut_sdn_csv_exit_3(
    seeded_home: Path, mocked_http: responses.RequestsMock, tmp_path: Path
) -> None:
    files = sdn_set()
    files["SDN.CSV"] = cut(files["SDN.CSV"])
    for name, body in files.items():
        serve(mocked_http, SDN_BASE + name, body)
    runner = CliRunner()
    refreshed = runner.invoke(app, ["refresh", "ofac_sdn"])
    assert refreshed.exit_code == ExitCode.DATA, refreshed.output
    assert refreshed.stdout == ""  # the reason is on stderr, where cron mails it
    (line,) = refreshed.stderr.splitlines()
    assert line.startswith("ofac_sdn: FAILED: SDN.CSV: cut off: its last row ends mid-field")
    assert "(keeping snapshot " in line
    paths = []
    for name, body in files.items():
        path = tmp_path / name.lower()
        path.write_bytes(body)
        paths.append(str(path))
    imported = runner.invoke(app, ["import", "ofac_sdn", *paths])
    assert imported.exit_code == ExitCode.DATA, imported.output
    assert imported.stderr.startswith("ofac_sdn: FAILED: SDN.CSV: cut off: ")


def test_cli_refresh_shows_what_the_parser_noted(
    seeded_home: Path, mocked_http: responses.RequestsMock
) -> None:
    # QA: the parser's notes ("no 0x1A end-of-file byte") were dropped before any output.
    for name, body in sdn_set().items():
        serve(mocked_http, SDN_BASE + name, body.rstrip(b"\x1a"))
    result = CliRunner().invoke(app, ["refresh", "ofac_sdn"])
    assert result.exit_code == ExitCode.OK, result.output
    line, *notes = result.stdout.splitlines()
    assert line.startswith("ofac_sdn: updated")
    eof = [n for n in notes if "no 0x1A end-of-file byte" in n]
    assert sorted(n.split(":")[1].strip() for n in eof) == sorted(SDN_FILES)
    report = json.loads(CliRunner().invoke(app, ["refresh", "--json", "ofac_sdn"]).stdout)
    assert report["outcomes"][0]["status"] == "unchanged" and report["outcomes"][0]["notes"] == []


def test_import_of_a_cut_alt_csv_is_refused(seeded_home: Path, tmp_path: Path) -> None:
    # A cut companion file loses aliases or addresses of listed parties: refused the same way.
    paths = []
    for name, body in sdn_set().items():
        path = tmp_path / name
        path.write_bytes(cut(body) if name == "ALT.CSV" else body)
        paths.append(path)
    outcome = import_files(fast(load_settings()), "ofac_sdn", paths).outcome("ofac_sdn")
    assert (outcome.status, outcome.error) == ("failed", "ParseError")
    assert (outcome.message or "").startswith("ALT.CSV: cut off: ")


def at_a_line_break(data: bytes, share: float) -> bytes:
    """The file cut just after the line break nearest under ``share`` of its bytes: every row
    complete, so nothing in the file shows the cut."""
    return data[: data.rindex(b"\n", 0, int(len(data) * share)) + 1]


@pytest.mark.parametrize("name", ["ALT.CSV", "ADD.CSV"])
def test_refresh_of_a_companion_file_cut_at_a_line_break_keeps_the_last_good_snapshot(
    seeded_home: Path, mocked_http: responses.RequestsMock, name: str
) -> None:
    """QA: ALT.CSV cut at a line break was stored (exit 0) and 17,000 aliases were gone; the
    record-count guard counts SDN.CSV's entries only. Each file's rows are now guarded."""
    files = sdn_set()
    settings = fast(load_settings())
    with Store.open(settings) as store:
        good = store.current()["ofac_sdn"]
    before = {f.name: f.rows for f in good.files}
    assert before["ALT.CSV"] == 17_091 and before["ADD.CSV"] == 18_990
    for n, body in files.items():
        serve(mocked_http, SDN_BASE + n, at_a_line_break(body, 0.5) if n == name else body)
    outcome = refresh(settings, ["ofac_sdn"]).outcome("ofac_sdn")
    assert (outcome.status, outcome.error) == ("failed", "ValidationError")
    message = outcome.message or ""
    assert message.startswith(f"{name}: ") and f"fewer than the {before[name]:,} of snapshot" in (
        message
    )
    assert "max_record_drop" in message and message.endswith("not stored")
    with Store.open(settings) as store:
        assert store.current()["ofac_sdn"] == good
    hits = Screener.open(settings).screen("Tulammo").hits  # an alias (ALT.CSV) of 44032
    assert [(h.entry_id, h.matched_name_kind) for h in hits[:1]] == [("44032", "aka")]


def test_a_small_file_losing_rows_is_not_refused(
    seeded_home: Path, mocked_http: responses.RequestsMock
) -> None:
    # SDN_COMMENTS.CSV has 13 rows: losing a few is an ordinary change, not a cut.
    files = sdn_set()
    files["SDN_COMMENTS.CSV"] = at_a_line_break(files["SDN_COMMENTS.CSV"], 0.5)
    for n, body in files.items():
        serve(mocked_http, SDN_BASE + n, body)
    outcome = refresh(fast(load_settings()), ["ofac_sdn"]).outcome("ofac_sdn")
    assert outcome.status == "updated", outcome.message
    assert outcome.snapshot is not None
    rows = {f.name: f.rows for f in outcome.snapshot.files}
    assert rows["SDN.CSV"] == 13_821 and rows["SDN_COMMENTS.CSV"] is not None
    assert rows["SDN_COMMENTS.CSV"] < 13


# --- trade.gov CSL --------------------------------------------------------------------------


def test_csl_facts() -> None:
    # No end marker and no row count; data rows are quoted field by field, with LF lines.
    # The 2025 excerpt ends with its last closing quote and no line break, so a missing final
    # line break is not itself a cut. The 2023 excerpt (the seed) is cut mid-record.
    excerpt = real_file("trade_csl/2025-06-excerpt/consolidated.csv")
    assert excerpt.endswith(b'"') and b"\r" not in excerpt and b"\x1a" not in excerpt
    seed = real_file("trade_csl/2023-11-30/consolidated.csv")
    assert not seed.endswith((b'"', b"\n")) and b"\x1a" not in seed


@pytest.mark.parametrize(
    "path", ["trade_csl/2025-06-excerpt/consolidated.csv", "trade_csl/2023-11-30/consolidated.csv"]
)
def test_a_csl_cut_at_95_percent_is_refused(path: str) -> None:
    data = cut(real_file(path))
    for source_id in BIS:
        with pytest.raises(ParseError, match=r"^consolidated.csv: cut off: its last row"):
            parse(source_id, {"consolidated.csv": data})


def test_refresh_of_a_cut_csl_keeps_every_bis_snapshot(
    seeded_home: Path, mocked_http: responses.RequestsMock
) -> None:
    settings = fast(load_settings())
    with Store.open(settings) as store:
        good = {s: store.current()[s] for s in BIS}
    serve(mocked_http, CSL_URL, cut(real_file("trade_csl/2023-11-30/consolidated.csv")))
    report = refresh(settings, list(BIS))
    assert len(mocked_http.calls) == 1  # one download for the four sources
    for source_id in BIS:
        outcome = report.outcome(source_id)
        assert (outcome.status, outcome.error) == ("failed", "ParseError")
        assert (outcome.message or "").startswith("consolidated.csv: cut off: ")
        assert outcome.snapshot == good[source_id]
