"""The HTML report: self-contained, every value escaped, hits grouped with their list entries."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from support import SEEDS
from typer.testing import CliRunner

from screening.cli import ExitCode, app
from screening.config import load_settings
from screening.formats.html import (
    HtmlWriter,
    entries_from,
    store_entries,
    write_batch_html,
    write_rescreen_html,
)
from screening.models import Hit, NameKind, ScoreExplanation, SnapshotRef
from screening.register import AlertEvent
from screening.rescreen import RescreenReport
from screening.screener import BatchResult, BatchRow, RejectedRow, Screener

SCRIPT = "<script>alert(1)</script>"
FORMULA = "=cmd|' /C calc'!A0"
IMG = '"><img src=x onerror=alert(1)>'
GENERATED = datetime(2026, 11, 22, 21, 0, 5, tzinfo=UTC)


class Page(HTMLParser):
    """Parses a report: the tags used, the text shown, and unbalanced tags."""

    VOID = {"meta", "br", "img", "link", "input", "hr"}

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.stack: list[str] = []
        self.unbalanced: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.unbalanced.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def shown(self) -> str:
        return "".join(self.text)


def forged_hit(snapshot_id: int | None = 2) -> Hit:
    """A hit whose list-side values are hostile too (a list file is outside data)."""
    return Hit(
        source="ofac_sdn",
        entry_id=SCRIPT,
        list_name="OFAC SDN",
        matched_name=FORMULA,
        matched_name_kind=NameKind.AKA,
        primary_name=IMG,
        score=0.91,
        programs=(SCRIPT,),
        countries=("RU",),
        snapshot_id=snapshot_id,
        explanation=ScoreExplanation(
            method="token",
            query_normalized="<b>x</b>",
            candidate_normalized="&amp;",
            matched_tokens=(("<i>", "</dl>", 0.9),),
            adjustments=(SCRIPT,),
        ),
    )


@pytest.fixture
def results(screener: Screener) -> list[BatchResult]:
    rows: list[BatchRow | RejectedRow] = [
        BatchRow.model_validate(
            {"id": SCRIPT, "name": "Rosoboronexport", "country": "RU", "note": IMG}
        ),
        BatchRow(id="C-2", name=FORMULA),
        BatchRow(id="C-3", name="Kral Aviation Ltd Sti", country="TR"),
        BatchRow(id="C-4", name="   "),
        RejectedRow(id="C-5", line=7, message=f"no name in {SCRIPT}"),
    ]
    out = list(screener.screen_many(rows))
    forged = BatchResult(id="C-6", name=SCRIPT, hits=(forged_hit(),))
    return [*out, forged]


def render(results: list[BatchResult], screener: Screener, **kw: object) -> str:
    buf = io.StringIO()
    write_batch_html(
        results,
        screener.snapshot_refs(),
        buf,
        title=f"Batch {SCRIPT}",
        generated_at=GENERATED,
        **kw,  # type: ignore[arg-type]
    )
    return buf.getvalue()


def test_every_value_is_escaped(results: list[BatchResult], screener: Screener) -> None:
    text = render(results, screener)
    page = Page(text)
    assert "script" not in page.tags and "img" not in page.tags and "i" not in page.tags
    assert "<script" not in text.lower() and "<img" not in text.lower()
    assert FORMULA not in text  # the quote is escaped: &#x27;
    assert "=cmd|&#x27; /C calc&#x27;!A0" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    # escaped, not dropped: the browser shows the values exactly as given
    shown = page.shown
    for value in (SCRIPT, FORMULA, IMG, "<b>x</b>", "&amp;", "</dl>", f"no name in {SCRIPT}"):
        assert value in shown, value
    assert page.unbalanced == [] and page.stack == []


def test_the_page_is_self_contained(results: list[BatchResult], screener: Screener) -> None:
    text = render(results, screener)
    page = Page(text)
    assert not {"script", "link", "iframe", "object", "embed", "img", "form"} & set(page.tags)
    assert not any(name in ("src", "srcset", "action") for name, _ in page.attrs)
    assert all(v.startswith("#") for name, v in page.attrs if name == "href" and v)
    assert "@import" not in text and "url(" not in text
    csp = next(v for n, v in page.attrs if n == "content" and v and "default-src" in v)
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert 'mso-number-format: "\\@"' in text  # spreadsheets read the cells as text


def test_hits_grouped_by_counterparty_with_the_list_entry(
    results: list[BatchResult], screener: Screener, seeded_home: Path
) -> None:
    settings = load_settings(home=seeded_home, environ={})
    text = render(results, screener, entries=store_entries(settings), threshold=0.85)
    shown = Page(text).shown
    sections = [
        Page(body).shown.strip()
        for body in re.findall(r'<section class="cp" id="cp-\d+">(.*?)</section>', text, re.S)
    ]
    assert len(sections) == len([r for r in results if r.hits]) == 3
    ros, kral, forged = sections
    assert ros.startswith(f"{SCRIPT} \u2014 Rosoboronexport")
    assert kral.startswith("C-3 \u2014 Kral Aviation Ltd Sti") and forged.startswith("C-6")
    assert (
        "6 counterparties screened: 3 with potential matches (4 hits), 1 without, 2 not screened."
        in shown
    )
    # the matched entry: list, id, matched and primary name, programs, countries, addresses
    for fact in (
        "OFAC SDN",
        "entry 18782",
        "ROSOBORONEKSPORT OAO",
        "RUSSIA-EO14024",
        "27 Stromynka Ul., Moscow 107076, Russia",
        "Tax ID No. 7718852163 (Russia)",
        "Why this score",
        "rosoboronexport",
    ):
        assert fact in ros, fact
    assert "note: " + IMG in ros  # extra input fields are shown, escaped
    assert "alert threshold 0.85" in shown
    # rows that could not be screened are listed with their reason; clear rows are not
    rejected = shown[shown.index("Not screened") :]
    assert "C-4" in rejected and "name is empty" in rejected and "C-5" in rejected
    assert "C-2" not in shown  # clear: counted, not listed


def test_header_names_the_snapshots_and_flags_seed_and_stale(screener: Screener) -> None:
    fresh = datetime.now(UTC) - timedelta(hours=3)
    refs = [
        *screener.snapshot_refs()[:1],
        SnapshotRef(
            source="ofac_sdn",
            snapshot_id=9,
            as_of=fresh,
            sha256="ab" * 32,
            origin="download",
            stale=False,
        ),
        SnapshotRef(
            source="bis_unverified",
            snapshot_id=8,
            as_of=fresh - timedelta(days=30),
            sha256="cd" * 32,
            origin="download",
            stale=True,
        ),
    ]
    buf = io.StringIO()
    write_batch_html([], refs, buf, generated_at=GENERATED)
    text = buf.getvalue()
    rows = re.findall(r"<tr><td>([a-z_]+)</td>.*?</tr>", text)
    assert rows == ["bis_entity_list", "ofac_sdn", "bis_unverified"]
    line = {r: re.search(rf"<tr><td>{r}</td>.*?</tr>", text).group(0) for r in rows}  # type: ignore[union-attr]
    assert "SEED" in line["bis_entity_list"] and "STALE" not in line["bis_entity_list"]
    assert "current" in line["ofac_sdn"] and "abababababababab" in line["ofac_sdn"]
    assert "STALE" in line["bis_unverified"]
    assert "Generated 2026-11-22 21:00:05 UTC" in text
    assert "No potential matches." in text
    assert "0 counterparties screened" in text


def test_no_snapshots_is_said_loudly() -> None:
    buf = io.StringIO()
    write_batch_html([], [], buf)
    assert "No list snapshot was screened against." in buf.getvalue()


def test_entries_from_skips_pruned_snapshots(seeded_home: Path, screener: Screener) -> None:
    from screening.store import Store

    real = screener.screen("Rosoboronexport").hits[0]
    with Store(seeded_home / "screening.sqlite3") as store:
        found = entries_from(store, [real, forged_hit(snapshot_id=999), forged_hit(None)])
    assert list(found) == [("ofac_sdn", "18782")]
    assert found[("ofac_sdn", "18782")].addresses[0].city is not None


def test_the_writer_streams_and_keeps_only_what_it_shows(
    results: list[BatchResult], screener: Screener
) -> None:
    buf = io.StringIO()
    writer = HtmlWriter(buf, screener.snapshot_refs(), generated_at=GENERATED)
    for r in results:
        writer.write(r)
    assert buf.getvalue() == ""  # written on close, once the counts are known
    assert len(writer.groups) == 5 and writer.clear == 1
    writer.close()
    assert buf.getvalue().endswith("</html>\n")


def test_rescreen_report(screener: Screener) -> None:
    hit = screener.screen("Rosoboronexport").hits[0]
    t0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    report = RescreenReport(
        mode="delta",
        started_at=t0,
        finished_at=t0 + timedelta(seconds=3.5),
        counterparties=100_000,
        screened_delta=4_200,
        screened_full=3,
        up_to_date=95_797,
        events=(
            AlertEvent(
                event="new",
                counterparty_id="C-1",
                name=SCRIPT,
                source="ofac_sdn",
                entry_id=hit.entry_id,
                status="open",
                score=hit.score,
                matched_name=hit.matched_name,
                hit=hit,
            ),
            AlertEvent(
                event="reopened",
                counterparty_id="C-2",
                name="Rosoboronexport",
                source="ofac_sdn",
                entry_id=hit.entry_id,
                status="open",
                score=hit.score,
                matched_name=hit.matched_name,
                hit=hit,
            ),
            AlertEvent(
                event="updated",
                counterparty_id="C-3",
                name="Kral",
                source="bis_entity_list",
                entry_id="e1",
                status="open",
                score=0.9,
                matched_name=FORMULA,
                reason="list entry changed",
            ),
            AlertEvent(
                event="removed",
                counterparty_id="C-4",
                name="Gone",
                source="ofac_sdn",
                entry_id="77",
                reason=f"list entry removed {SCRIPT}",
            ),
        ),
        problems=(f"C-9: {SCRIPT}",),
        open_alerts=12,
        snapshots=screener.snapshot_refs(),
        warnings=("ofac_sdn: snapshot of 2023-12-28 is stale",),
    )
    buf = io.StringIO()
    write_rescreen_html(report, buf, generated_at=GENERATED)
    text = buf.getvalue()
    page = Page(text)
    shown = page.shown
    assert "script" not in page.tags and page.unbalanced == []
    assert FORMULA not in text and SCRIPT in shown and FORMULA in shown
    assert "Re-screened the register (delta) in 3.5 s: 100,000 counterparties, 4,200 against" in (
        shown
    )
    assert "2 new potential matches, 1 alert updated, 1 withdrawn; 12 open alerts" in shown
    assert len(re.findall(r'<section class="cp"', text)) == 2  # new and reopened, by counterparty
    assert "reopened alert" in shown and "new alert" in shown
    assert "Alerts updated" in shown and "list entry changed" in shown
    assert "Alerts withdrawn" in shown and f"list entry removed {SCRIPT}" in shown
    assert f"C-9: {SCRIPT}" in shown
    assert "snapshot of 2023-12-28 is stale" in shown


def test_batch_format_html_from_the_command_line(screened_home: Path, tmp_path: Path) -> None:
    rows = tmp_path / "in.csv"
    rows.write_text(
        f'id,name,country\n"{SCRIPT}",Rosoboronexport,RU\nC-2,"{FORMULA}",\n',
        encoding="utf-8",
    )
    out = tmp_path / "report.html"
    runner = CliRunner()
    result = runner.invoke(app, ["batch", str(rows), "-o", str(out)])
    assert result.exit_code == ExitCode.REVIEW, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "&lt;script&gt;" in text
    assert "27 Stromynka" in text and FORMULA not in text
    piped = runner.invoke(app, ["batch", str(rows), "--format", "html"])
    assert piped.stdout.startswith("<!DOCTYPE html>")
    bad = runner.invoke(app, ["batch", str(rows), "--format", "pdf"])
    assert bad.exit_code == ExitCode.USAGE and "html" in bad.stderr


def test_sample_counterparties(screened_home: Path, tmp_path: Path) -> None:
    """The bundled sample register renders (real names in several scripts)."""
    out = tmp_path / "sample.html"
    result = CliRunner().invoke(
        app, ["batch", str(SEEDS / "samples" / "counterparties.csv"), "-o", str(out)]
    )
    assert result.exit_code == ExitCode.REVIEW, result.output
    page = Page(out.read_text(encoding="utf-8"))
    assert page.unbalanced == [] and "Рособоронэкспорт" in page.shown
