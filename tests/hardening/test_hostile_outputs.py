"""Hostile text on its way out: the HTML report and the HTTP service.

A name in an input file, a field of a list entry (a poisoned list), or an HTTP request body is
written by an attacker. The HTML report must show it as text (escaped, no script may run, no
external resource loaded); the service must answer any JSON body with a result or a one-line
error, never a 500.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.config import load_settings
from screening.formats.html import write_batch_html
from screening.models import (
    EntityType,
    Hit,
    ListEntry,
    Name,
    NameKind,
    ScoreExplanation,
    SnapshotRef,
)
from screening.screener import BatchResult, Screener

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    "</td></tr></table><iframe src=https://evil.test>",
    "<style>@import 'https://evil.test/x.css'</style>",
    "&lt;script&gt;",  # already escaped text stays text
    '=HYPERLINK("https://evil.test","x")',
]


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    tags.close()
    return tags


def hostile_hit(i: int, text: str) -> Hit:
    return Hit(
        source="ofac_sdn",
        entry_id=f"9{i}",
        list_name="OFAC SDN",
        matched_name=f"{text} matched",
        matched_name_kind=NameKind.AKA,
        primary_name=f"{text} primary",
        score=0.93,
        entity_type=EntityType.ORGANIZATION,
        programs=(text,),
        countries=("RU",),
        snapshot_id=2,
        explanation=ScoreExplanation(
            method="tokens",
            query_normalized=text,
            candidate_normalized=text,
            matched_tokens=[(text, text, 1.0)],
            unmatched_query_tokens=[text],
            adjustments=[text],
            components={"final": 0.93},
        ),
    )


def test_the_html_report_shows_hostile_text_as_text() -> None:
    """Hostile names in the input (rows, extra columns, errors) and in a poisoned list entry
    (names, programs, addresses, remarks, identifiers) come out escaped."""
    results = []
    entries: dict[tuple[str, str], ListEntry] = {}
    for i, text in enumerate(XSS):
        hit = hostile_hit(i, text)
        results.append(
            BatchResult(
                id=text,
                name=text,
                country="RU",
                type="organization",
                hits=(hit,),
                warnings=(text,),
                extra={text: text},
            )
        )
        results.append(BatchResult(id=f"bad-{i}", name=text, error=f"line {i}: {text}"))
        entries[(hit.source, hit.entry_id)] = ListEntry(
            source="ofac_sdn",
            entry_id=hit.entry_id,
            name=hit.primary_name,
            aliases=(Name(name=hit.matched_name, kind=NameKind.AKA),),
            programs=(text,),
            remarks=text,
            dates_of_birth=(text,),
            linked_to=(text,),
            details={text: text},
        )
    snapshot = SnapshotRef(
        source="ofac_sdn",
        snapshot_id=2,
        as_of=datetime(2023, 12, 28, tzinfo=UTC),
        sha256="0" * 64,
        origin="seed",
        stale=True,
    )
    out = io.StringIO()
    write_batch_html(results, [snapshot], out, title=XSS[0], warnings=XSS, entries=entries)
    page = out.getvalue()
    tags = parsed(page)
    names = {tag for tag, _ in tags.tags}
    assert not names & {"script", "iframe", "img", "svg", "object", "embed", "link", "base"}
    assert not names & {"style"} or page.count("<style") == 1  # the page's own stylesheet
    for tag, attrs in tags.tags:
        for attr, value in attrs.items():
            assert not attr.startswith("on"), (tag, attr)
            assert "javascript:" not in (value or "").lower(), (tag, attr, value)
            if attr in ("src", "href", "action"):
                assert (value or "").startswith("#"), (tag, attr, value)  # in-page links only
    policy = [a.get("content") or "" for t, a in tags.tags if t == "meta" and a.get("http-equiv")]
    assert policy and "default-src 'none'" in policy[0]
    text = "".join(tags.text)
    for hostile in XSS:
        assert hostile in text  # shown to the reader exactly as written
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_batch_html_report_through_the_cli(
    tmp_path: Path, screened_home: Path, screener: Screener, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from screening.cli import app

    monkeypatch.setattr(Screener, "open", classmethod(lambda cls, *a, **k: screener))
    path = tmp_path / "in.csv"
    path.write_text(
        'id,name,note\n"<script>alert(1)</script>",Rosoboroneksport,"<img src=x onerror=1>"\n'
        '2,"<svg/onload=alert(1)>",x\n3,,"</table><script>x()</script>"\n',
        encoding="utf-8",
    )
    report = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["batch", str(path), "-o", str(report), "--workers", "1"])
    assert result.exit_code == 1, result.output
    page = report.read_text(encoding="utf-8")
    tags = parsed(page)
    assert not {t for t, _ in tags.tags} & {"script", "img", "svg"}
    assert "18782" in page  # the listed party was found and reported
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- the HTTP service --------------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = ["name", "country", "type", "threshold", "limit", "rows", "id", "parties", "route"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, screener: Screener) -> Iterator[Any]:
    pytest.importorskip("fastapi", reason="the server extra is not installed")
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*install .httpx2. instead")
        from fastapi.testclient import TestClient

    from screening.server import create_app

    home = tmp_path_factory.mktemp("service-home")
    app = create_app(load_settings(home=home, environ={}), screener=screener, audit=False)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    path=st.sampled_from(["/check", "/batch", "/shipment"]),
    body=st.one_of(JSON, st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=5)),
)
def test_any_json_body_gets_a_result_or_a_one_line_error(client: Any, path: str, body: Any) -> None:
    response = client.post(path, content=json.dumps(body))
    assert response.status_code in (200, 400, 413, 422), (response.status_code, response.text)
    data = response.json()
    if response.status_code != 200:
        assert set(data) == {"error"}
        assert data["error"] and "\n" not in data["error"] and "Traceback" not in data["error"]


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # nesting deep enough to overflow a recursive parser
        b'{"name": "' + b"\\ud800" + b'"}',  # a lone surrogate escape
        b'{"name": "Rosneft", "name": "Sberbank"}',  # a duplicate key
        b"\xff\xfe{}",
        b'{"name": 1e999999}',
        b'{"name": "R o s n e f t", "threshold": NaN}',
    ],
    ids=["deep", "surrogate", "duplicate-key", "bom-garbage", "huge-number", "nan"],
)
def test_odd_json_bodies(client: Any, body: bytes) -> None:
    response = client.post("/check", content=body)
    assert response.status_code in (200, 400, 413, 422), response.text
    if response.status_code != 200:
        error = response.json()["error"]
        assert error and "\n" not in error
