"""Hostile data: XML only through defusedxml, no archive extraction, bounded decompression,
SQL that never holds a caller's value, outputs safe for spreadsheets, personal data at rest
readable by its owner only."""

from __future__ import annotations

import ast
import gzip
import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import defusedxml
import defusedxml.ElementTree as SafeET
import pytest
from support import FIXTURES, SEEDS

from screening._refresh import import_files
from screening.config import load_settings
from screening.errors import InputError, ParseError
from screening.formats.safe import spreadsheet_safe
from screening.models import ListEntry, Name, NameKind
from screening.screener import Screener
from screening.sources._decode import decode_payload
from screening.store import Store

PACKAGE = Path(__file__).resolve().parents[2] / "screening"


def package_modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(tree: ast.Module) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


# -- XML ---------------------------------------------------------------------------------------

UNSAFE_XML = ("xml.etree", "xml.dom", "xml.sax", "xml.parsers", "pyexpat", "lxml", "xmltodict")


def test_no_module_parses_xml_without_defusedxml() -> None:
    """The list formats parsed today are CSV; an XML source (SDN.XML, the UN list) must go
    through defusedxml, which refuses entity expansion and external entities."""
    offenders = {
        f"{path.relative_to(PACKAGE.parent)}: {name}"
        for path, tree in package_modules()
        for name in imported_modules(tree)
        if name.startswith(UNSAFE_XML)
    }
    assert not offenders


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<sdnList><sdnEntry><lastName>&lol9;</lastName></sdnEntry></sdnList>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE sdnList [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<sdnList><sdnEntry><lastName>&secret;</lastName></sdnEntry></sdnList>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
def test_defusedxml_refuses_entity_tricks(document: bytes) -> None:
    with pytest.raises(defusedxml.EntitiesForbidden):
        SafeET.fromstring(document)


def test_defusedxml_reads_the_real_list_xml() -> None:
    sdn = SafeET.fromstring((FIXTURES / "ofac_sdn/2020-04-22-xml-excerpt/SDN.XML").read_bytes())
    entries = [e for e in sdn if e.tag.endswith("sdnEntry")]
    assert len(entries) == 8
    count = next(e for e in sdn.iter() if e.tag.endswith("Record_Count"))
    assert count.text == "8197"
    un_xml = gzip.decompress((FIXTURES / "un/2026-02-27/consolidated.xml.gz").read_bytes())
    un = SafeET.fromstring(un_xml)
    assert len(un.findall("INDIVIDUALS/INDIVIDUAL")) == 730
    assert len(un.findall("ENTITIES/ENTITY")) == 273


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
def test_an_xml_payload_where_a_csv_list_is_expected_is_refused_unparsed(document: bytes) -> None:
    with pytest.raises(ParseError, match="an XML document, not a CSV file"):
        decode_payload(document, file="SDN.CSV", source="ofac_sdn")


# -- archives and compression ------------------------------------------------------------------


def test_no_archive_is_ever_extracted() -> None:
    """Lists come as plain files (or one gzip stream, read into memory); nothing writes the
    members of a ZIP or tar archive to disk, so there is no path to traverse."""
    offenders = {
        f"{path.relative_to(PACKAGE.parent)}: {name}"
        for path, tree in package_modules()
        for name in imported_modules(tree)
        if name.split(".")[0] in ("zipfile", "tarfile") or name == "shutil.unpack_archive"
    }
    assert not offenders
    for path, tree in package_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("unpack_archive", "extractall"):
                raise AssertionError(f"{path}: {node.attr}")


@pytest.mark.parametrize(
    ("payload", "what"),
    [
        (b"PK\x03\x04" + b"\x00" * 100, "a ZIP archive"),
        (gzip.compress(b'"1","A"\r\n'), "gzip-compressed data"),
    ],
)
def test_an_archive_served_as_a_list_is_refused(payload: bytes, what: str) -> None:
    with pytest.raises(ParseError, match=what):
        decode_payload(payload, file="SDN.CSV", source="ofac_sdn")


def test_a_gzip_bomb_given_to_import_is_refused_not_expanded(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "home", environ={})
    settings = settings.model_copy(
        update={"http": settings.http.model_copy(update={"max_bytes": 1_000_000})}
    )
    bomb = tmp_path / "consolidated.csv.gz"
    bomb.write_bytes(gzip.compress(b"A" * 20_000_000, compresslevel=9))  # 20 kB -> 20 MB
    assert bomb.stat().st_size < 100_000
    with pytest.raises(InputError) as err:
        import_files(settings, "trade_csl", [bomb])
    assert str(err.value) == (
        f"{bomb}: more than 1,000,000 bytes once decompressed (the limit, setting "
        "http.max_bytes); not imported"
    )
    assert not (tmp_path / "home" / "screening.sqlite3").exists()  # refused before the store


# -- SQL ---------------------------------------------------------------------------------------


def _allowed_interpolation(node: ast.expr) -> bool:
    """What an f-string inside SQL may interpolate: a module constant (UPPER_CASE), an int()
    of something, or the column list helper ``_prefixed("s")``."""
    if isinstance(node, ast.Name):
        return node.id.lstrip("_").isupper()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "int":
            return True
        if node.func.id == "_prefixed":
            return all(isinstance(a, ast.Constant) for a in node.args)
    return False


def test_sql_text_is_never_formatted_from_values() -> None:
    """Every statement given to execute/executemany/executescript: no %-formatting, no
    .format(), and f-strings only splice constants. Values go in as ? parameters."""
    problems: list[str] = []
    for path, tree in package_modules():
        where = path.relative_to(PACKAGE.parent)
        for call in ast.walk(tree):
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr in ("execute", "executemany", "executescript")
                and call.args
            ):
                continue
            for node in ast.walk(call.args[0]):
                line = f"{where}:{node.lineno}" if hasattr(node, "lineno") else str(where)
                if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
                    problems.append(f"{line}: %-formatted SQL")
                elif (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "format"
                ):
                    problems.append(f"{line}: .format() in SQL")
                elif isinstance(node, ast.FormattedValue) and not _allowed_interpolation(
                    node.value
                ):
                    problems.append(f"{line}: f-string splices {ast.unparse(node.value)}")
    assert not problems


MARK = "Z9MARK"
HOSTILE = f"x'); DROP TABLE snapshots; -- \" {MARK} %s ? :name"


class RecordingConnection(sqlite3.Connection):
    """An sqlite3 connection that keeps the text of every statement it is given."""

    statements: list[str] = []

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        RecordingConnection.statements.append(sql)
        return super().execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:  # type: ignore[override]
        RecordingConnection.statements.append(sql)
        return super().executemany(sql, *args)

    def executescript(self, sql: str) -> sqlite3.Cursor:  # type: ignore[override]
        RecordingConnection.statements.append(sql)
        return super().executescript(sql)


@pytest.fixture
def recorded_sql(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    real_connect = sqlite3.connect
    RecordingConnection.statements = []

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return real_connect(*args, factory=RecordingConnection, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", connect)
    return RecordingConnection.statements


def test_hostile_values_reach_the_store_as_parameters_only(
    tmp_path: Path, recorded_sql: list[str]
) -> None:
    now = datetime.now(UTC)
    entries = [
        ListEntry(
            source="ofac_sdn",
            entry_id=f"{i}{HOSTILE}",
            name=f"{HOSTILE} {i}",
            aliases=(Name(name=HOSTILE, kind=NameKind.AKA),),
            programs=(HOSTILE,),
        )
        for i in range(3)
    ]
    with Store(tmp_path / "screening.sqlite3") as store:
        info = store.write_snapshot(
            "ofac_sdn",
            entries,
            origin="import",
            retrieved_at=now,
            published_at=None,
            url=f"file:///{HOSTILE}",
            files=[],
            skipped={HOSTILE: 1},
        )
        store.record_feed("ofac_sdn", url=HOSTILE, status=HOSTILE, error=HOSTILE, etag=HOSTILE)
        store.record_attempt("ofac_sdn", "failed", HOSTILE, info.id)
        back = store.entries(info.id)
        assert [e.entry_id for e in back] == [e.entry_id for e in entries]
        assert back[0].aliases[0].name == HOSTILE
        assert store.source_state("ofac_sdn").message == HOSTILE  # type: ignore[union-attr]
        assert store.feed_state("ofac_sdn").last_error == HOSTILE  # type: ignore[union-attr]
        assert store.diff(None, info.id).added == [e.entry_id for e in entries]
        tables = store._conn.execute("SELECT name FROM sqlite_master").fetchall()
    assert ("snapshots",) in tables
    assert recorded_sql  # the recording saw the store's statements
    assert not [s for s in recorded_sql if MARK in s]


def test_hostile_values_reach_the_register_as_parameters_only(
    screened_home: Path, recorded_sql: list[str], screener: Screener
) -> None:
    from screening.register import Register, add_counterparties, decide

    settings = load_settings(home=screened_home, environ={})
    report = add_counterparties(
        settings,
        [
            {"id": f"c1{HOSTILE}", "name": "Rosoboroneksport", "country": "RU", "note": HOSTILE},
            {"id": "c2", "name": f"Kral Aviation {MARK}", "country": "TR"},
        ],
        screener=screener,
    )
    assert not report.rejected
    with Register.open(settings) as reg:
        (alert, *_) = reg.alerts(f"c1{HOSTILE}")
    decide(settings, f"c1{HOSTILE}", (alert.source, alert.entry_id), "true_match", HOSTILE, HOSTILE)
    with Register.open(settings) as reg:
        (made,) = reg.decisions(f"c1{HOSTILE}")
        assert (made.reason, made.analyst) == (HOSTILE, HOSTILE)
        assert reg.counterparties([f"c1{HOSTILE}"])[0].extra == {"note": HOSTILE}
    assert recorded_sql
    assert not [s for s in recorded_sql if MARK in s]


# -- spreadsheets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('=HYPERLINK("http://evil.test","x")', '\'=HYPERLINK("http://evil.test","x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.50", "-12.50"),  # a number stays a number
        ("+90", "+90"),
        ("-1e5", "-1e5"),
        ("-inf", "'-inf"),
        ("Rosneft", "Rosneft"),
        (None, ""),
        (0.93, "0.93"),
    ],
)
def test_spreadsheet_safe(value: object, shown: str) -> None:
    assert spreadsheet_safe(value) == shown


def test_the_audit_export_csv_is_spreadsheet_safe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import csv
    import io

    from screening.audit import AuditLog

    monkeypatch.setenv("USER", '=HYPERLINK("http://evil.test")')  # recorded as the user
    log = AuditLog(tmp_path / "audit")
    log.append("check", input={"name": "@SUM(A1)"}, results={"hits": []}, snapshots=())
    out = io.StringIO()
    assert log.export(None, "csv", out) == 1
    header, row = list(csv.reader(io.StringIO(out.getvalue())))
    assert row[header.index("user")] == '\'=HYPERLINK("http://evil.test")'
    assert not [c for c in row if c[:1] in ("=", "+", "-", "@")]


# -- data at rest ------------------------------------------------------------------------------


def modes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)) or ".": oct(stat.S_IMODE(p.stat().st_mode))
        for p in [root, *root.rglob("*")]
    }


def test_personal_data_at_rest_is_readable_by_its_owner_only(
    screened_home: Path, screener: Screener
) -> None:
    """The register and the audit trail hold counterparty names (personal data): every file
    the tool writes is 0600 and every directory 0700, whatever the umask."""
    from screening.register import add_counterparties

    old = os.umask(0o022)
    try:
        home = screened_home
        settings = load_settings(home=home, environ={})
        add_counterparties(
            settings, [{"id": "p1", "name": "Sergei Shoigu", "country": "RU"}], screener=screener
        )
        import_files(settings, "ofac_sdn", sorted((SEEDS / "ofac_sdn/2023-12-28").glob("*.gz")))
    finally:
        os.umask(old)
    found = modes(home)
    assert {"screening.sqlite3", "register.sqlite3", "audit", "refresh.lock"} <= set(found)
    loose = {
        name: mode
        for name, mode in found.items()
        if mode not in ("0o600", "0o700") and not name.startswith("index")
    }
    assert not loose, found
