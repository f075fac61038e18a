"""The HTTP service through TestClient: endpoints, errors, API key, body limit, audit, reload."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

pytest.importorskip("fastapi", reason="the server extra is not installed")

from support import SEEDS  # noqa: E402

from screening.audit import AuditLog  # noqa: E402
from screening.config import Settings  # noqa: E402
from screening.errors import InputError  # noqa: E402
from screening.rules import load_ruleset  # noqa: E402
from screening.server import (  # noqa: E402
    MAX_BATCH_ROWS,
    MAX_SHIPMENTS,
    BodyLimit,
    ScreenerHolder,
    create_app,
    parse_size,
)
from screening.shipments import parse_shipment  # noqa: E402
from screening.store import Store  # noqa: E402

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from screening.screener import Screener


KEY = "test-key-0123456789abcdef"
ClientFactory = Callable[..., "TestClient"]  # the make_client fixture
SHIPMENTS = json.loads((SEEDS / "samples" / "shipments.json").read_text(encoding="utf-8"))


def error_of(response: Any) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert "Traceback" not in body["error"] and "\n" not in body["error"]
    return str(body["error"])


# -- /check ----------------------------------------------------------------------------------


def test_check_gives_exactly_what_the_library_gives(client: TestClient, screener: Screener) -> None:
    r = client.post("/check", json={"name": "Rosoboronexport", "country": "Russia"})
    assert r.status_code == 200
    body = r.json()
    hit = body["hits"][0]
    assert (hit["source"], hit["entry_id"], hit["list_name"]) == ("ofac_sdn", "18782", "OFAC SDN")
    assert hit["primary_name"] == "ROSOBORONEKSPORT OAO"
    assert hit["explanation"]["matched_tokens"]
    assert body["country"] == "RU"
    expected = screener.screen("Rosoboronexport", country="Russia").model_dump(mode="json")
    assert body["screened_at"] <= expected.pop("screened_at")  # screened just before
    body.pop("screened_at")
    assert body == expected
    assert {s["source"] for s in body["snapshots"]} >= {"ofac_sdn", "bis_entity_list"}
    assert any("seed" in w for w in body["warnings"])


def test_check_options_reach_the_library(client: TestClient) -> None:
    strict = client.post("/check", json={"name": "Rosoboronexport", "threshold": 1.0, "limit": 1})
    assert strict.status_code == 200
    assert strict.json()["threshold"] == 1.0 and len(strict.json()["hits"]) <= 1
    clear = client.post("/check", json={"name": "Anadolu Elektronik Sanayi", "type": "company"})
    assert clear.status_code == 200 and clear.json()["hits"] == []
    assert clear.json()["type"] == "organization"


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": ""}, 422, "name is empty"),
        ({"name": "   "}, 422, "name is empty"),
        ({"name": "x" * 1001}, 422, "longer than 1000 characters"),
        ({"name": "!!!"}, 422, "no letters or digits"),
        ({}, 422, "name: Field required"),
        ({"name": 42}, 422, "name: Input should be a valid string"),
        ({"name": "ACME", "threshold": 2}, 422, "threshold: Input should be less than or equal"),
        ({"name": "ACME", "threshold": 0}, 422, "threshold: Input should be greater than 0"),
        ({"name": "ACME", "contry": "RU"}, 422, "contry: Extra inputs are not permitted"),
        (["ACME"], 422, "Input should be a valid dictionary"),
    ],
)
def test_check_input_errors_are_one_line_json(
    client: TestClient, body: object, status: int, message: str
) -> None:
    r = client.post("/check", json=body)
    assert r.status_code == status
    assert message in error_of(r)


def test_a_body_that_is_not_json_is_a_400(client: TestClient) -> None:
    r = client.post("/check", content=b'{"name": ', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert error_of(r).startswith("the body is not valid JSON")


def test_unknown_paths_and_methods_answer_json(client: TestClient) -> None:
    assert client.get("/nowhere").status_code == 404
    assert error_of(client.get("/nowhere")) == "Not Found"
    r = client.get("/check")
    assert r.status_code == 405 and error_of(r) == "Method Not Allowed"
    assert r.headers["allow"] == "POST"


def test_an_internal_error_is_a_generic_500_without_details(
    settings: Settings,
    screener: Screener,
    make_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk /secret/path exploded")

    monkeypatch.setattr(screener, "screen", broken)
    app = create_app(settings, screener=screener, reload_interval=3600)
    c = make_client(app, raise_server_exceptions=False)
    r = c.post("/check", json={"name": "ACME"})
    assert r.status_code == 500
    assert error_of(r) == "internal error; the details are in the server log"
    assert "secret" not in r.text
    assert "RuntimeError: disk /secret/path exploded" in caplog.text


# -- /batch ----------------------------------------------------------------------------------


def test_batch_keeps_the_order_ids_extras_and_rejected_rows(
    client: TestClient, screener: Screener
) -> None:
    rows = [
        {"id": 1, "name": "Rosoboronexport", "country": "RU", "erp_ref": "A-17"},
        {"id": "2", "name": "  "},
        {"id": "3", "name": "Anadolu Elektronik Sanayi", "country": "Türkiye"},
        {"id": "4", "name": "Kral Aviation", "country": "Narnia"},
    ]
    r = client.post("/batch", json={"rows": rows})
    assert r.status_code == 200
    body = r.json()
    assert [x["id"] for x in body["results"]] == ["1", "2", "3", "4"]
    first, empty, clear, kral = body["results"]
    assert first["hits"][0]["entry_id"] == "18782" and first["extra"] == {"erp_ref": "A-17"}
    assert empty["error"] == "name is empty" and empty["hits"] == []
    assert clear["hits"] == []
    assert kral["hits"] and "country 'Narnia' not recognised" in kral["warnings"][0]
    assert body["counts"] == {"rows": 4, "with_hits": 2, "rejected": 1}
    assert body["threshold"] == screener.threshold
    assert {s["source"] for s in body["snapshots"]} >= {"ofac_sdn"}
    library = list(screener.screen_many([{"id": "1", "name": "Rosoboronexport", "country": "RU"}]))
    assert first["hits"] == [h.model_dump(mode="json") for h in library[0].hits]


def test_batch_limits(client: TestClient) -> None:
    too_many = {"rows": [{"id": str(i), "name": "a"} for i in range(MAX_BATCH_ROWS + 1)]}
    r = client.post("/batch", json=too_many)
    assert r.status_code == 422
    assert f"rows: List should have at most {MAX_BATCH_ROWS} items" in error_of(r)
    r = client.post("/batch", json={"rows": [{"name": "no id"}]})
    assert r.status_code == 422 and "rows.0.id: Field required" in error_of(r)
    assert client.post("/batch", json={"rows": []}).json()["counts"]["rows"] == 0


# -- /shipment -------------------------------------------------------------------------------


def test_shipments_get_the_library_decisions(client: TestClient, screener: Screener) -> None:
    r = client.post("/shipment", json=SHIPMENTS)
    assert r.status_code == 200
    got = [(x["shipment_id"], x["decision"]) for x in r.json()]
    ruleset = load_ruleset()
    expected = [
        (s["id"], screener.screen_shipment(parse_shipment(s), ruleset).decision.value)
        for s in SHIPMENTS
    ]
    assert got == expected
    assert {d for _, d in got} == {"block", "review", "clear"}
    one = client.post("/shipment", json=SHIPMENTS[0])
    assert one.status_code == 200 and isinstance(one.json(), dict)
    assert one.json()["decision"] == expected[0][1]
    assert one.json()["findings"] and one.json()["ruleset"]["name"]


def test_shipment_input_errors(client: TestClient) -> None:
    bad = client.post("/shipment", json=[SHIPMENTS[0], {"id": "S-X", "parties": 3}])
    assert bad.status_code == 422
    assert error_of(bad).startswith("shipment S-X: parties")
    r = client.post("/shipment", json="a shipment")
    assert r.status_code == 422 and "must be a JSON object" in error_of(r)
    assert client.post("/shipment", json=[]).status_code == 422
    r = client.post("/shipment", json=[{"id": str(i)} for i in range(MAX_SHIPMENTS + 1)])
    assert r.status_code == 422 and f"at most {MAX_SHIPMENTS:,}" in error_of(r)


# -- /status and /health ---------------------------------------------------------------------


def test_status_lists_every_enabled_source(client: TestClient) -> None:
    r = client.get("/status")
    assert r.status_code == 200
    body = r.json()
    rows = {row["source"]: row for row in body["sources"]}
    assert rows["ofac_sdn"]["origin"] == "seed" and rows["ofac_sdn"]["record_count"] == 13_821
    assert rows["ofac_sdn"]["stale_reason"] == "bundled seed of 2023-12-28"
    assert body["stale"] is True
    against = {s["source"]: s["snapshot_id"] for s in body["screening_against"]}
    assert against["ofac_sdn"] == rows["ofac_sdn"]["snapshot_id"]


def test_health(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": "0.1.0", "snapshots": 6}


# -- the API key -----------------------------------------------------------------------------


def test_the_api_key_is_required_where_configured(keyed: TestClient) -> None:
    for method, path, body in (
        ("post", "/check", {"name": "ACME"}),
        ("post", "/batch", {"rows": []}),
        ("post", "/shipment", SHIPMENTS[0]),
        ("get", "/status", None),
    ):
        kw: dict[str, Any] = {} if body is None else {"json": body}
        missing = getattr(keyed, method)(path, **kw)
        assert missing.status_code == 401, path
        assert error_of(missing) == "missing or wrong X-API-Key"
        wrong = getattr(keyed, method)(path, headers={"X-API-Key": KEY[:-1] + "X"}, **kw)
        assert wrong.status_code == 401
        right = getattr(keyed, method)(path, headers={"X-API-Key": KEY}, **kw)
        assert right.status_code == 200, (path, right.text)
    assert keyed.get("/health").status_code == 200
    assert keyed.get("/openapi.json").status_code == 200


def test_without_a_key_configured_no_key_is_asked(client: TestClient) -> None:
    assert client.post("/check", json={"name": "ACME"}).status_code == 200


# -- the body limit --------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_before_parsing(
    settings: Settings, screener: Screener, make_client: ClientFactory
) -> None:
    app = create_app(settings, screener=screener, max_body=200, reload_interval=3600)
    c = make_client(app)
    small = c.post("/check", json={"name": "ACME"})
    assert small.status_code == 200
    big = c.post("/check", json={"name": "A" * 300})
    assert big.status_code == 413
    assert error_of(big) == "request body larger than 200 bytes"

    def chunks() -> Any:  # no Content-Length: counted as it arrives
        yield b'{"name": "'
        yield b"B" * 300
        yield b'"}'

    chunked = c.post("/check", content=chunks(), headers={"content-type": "application/json"})
    assert chunked.status_code == 413


def test_body_limit_refuses_a_bad_or_huge_content_length() -> None:
    sent: list[MutableMapping[str, Any]] = []
    called = False

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal called
        called = True

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    limit = BodyLimit(app, 1000)
    for value, status in ((b"10000000", 413), (b"12abc", 400)):
        sent.clear()
        scope = {"type": "http", "headers": [(b"content-length", value)]}
        asyncio.run(limit(scope, receive, send))
        assert sent[0]["status"] == status
    assert not called


@pytest.mark.parametrize(
    ("text", "size"),
    [("1MB", 1_000_000), ("1 mb", 1_000_000), ("512KiB", 524_288), ("2000", 2000), ("1.5k", 1500)],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "-1MB", "1TB", "lots", "MB"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(InputError, match="invalid size"):
        parse_size(text)


# -- the audit trail -------------------------------------------------------------------------


def test_each_screening_request_appends_an_audit_record(
    client: TestClient, settings: Settings
) -> None:
    client.post("/check", json={"name": "Rosoboronexport"})
    client.post("/batch", json={"rows": [{"id": "c1", "name": "Rosoboronexport"}]})
    client.post("/shipment", json=SHIPMENTS[:2])
    client.get("/status")
    client.post("/check", json={"name": ""})  # not screened: no record
    log = AuditLog.open(settings)
    records = list(log.records())
    assert [r.kind for r in records] == ["check", "batch", "shipment"]
    check, batch, shipment = records
    assert check.input["name"] == "Rosoboronexport" and check.threshold == 0.85
    assert check.results[0][:2] == ["ofac_sdn", "18782"]
    assert batch.input == [["c1", "Rosoboronexport", None, None]]
    assert {s["source"] for s in check.snapshots} >= {"ofac_sdn"}
    assert shipment.ruleset_version and len(shipment.results) == 2
    assert log.verify().ok


def test_no_audit_record_when_auditing_is_off(
    settings: Settings, screener: Screener, make_client: ClientFactory
) -> None:
    app = create_app(settings, screener=screener, audit=False, reload_interval=3600)
    make_client(app).post("/check", json={"name": "ACME"})
    assert list(AuditLog.open(settings).records()) == []


# -- OpenAPI ---------------------------------------------------------------------------------


def test_openapi_documents_every_endpoint_and_the_key(keyed: TestClient) -> None:
    doc = keyed.get("/openapi.json").json()
    assert set(doc["paths"]) == {"/check", "/batch", "/shipment", "/status", "/health"}
    schemas = doc["components"]["schemas"]
    assert {"CheckRequest", "ScreeningResult", "BatchRequest", "Shipment", "ShipmentResult"} <= set(
        schemas
    )
    body = doc["paths"]["/shipment"]["post"]["requestBody"]["content"]["application/json"]
    refs = json.dumps(body["schema"])
    assert "#/components/schemas/Shipment" in refs
    for ref in _refs(doc):
        assert ref.split("/")[-1] in schemas, ref  # every reference resolves
    assert doc["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    assert "security" not in doc["paths"]["/health"]["get"]
    assert keyed.get("/docs").status_code == 404  # no pages that load scripts from a CDN


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


# -- reloading after a refresh ---------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_screener_is_reloaded_when_the_store_changes(
    settings: Settings, screener: Screener
) -> None:
    clock = Clock()
    opened: list[Settings] = []
    fresh = type(screener)(screener.index, settings=settings)

    def opener(s: Settings) -> Screener:
        opened.append(s)
        return fresh

    holder = ScreenerHolder(
        settings, screener, opener=opener, interval=30, clock=clock, spawn=lambda f: f()
    )
    assert holder.get() is screener
    clock.t = 31
    assert holder.get() is screener and opened == []  # the store did not change
    with Store.open(settings) as store:  # a refresh found the SDN files unchanged
        store.mark_checked(store.current()["ofac_sdn"].id, datetime(2026, 11, 22, tzinfo=UTC))
    clock.t = 40
    assert holder.get() is screener  # not looked at again within the interval
    clock.t = 62
    assert holder.get() is fresh and opened == [settings] and holder.reloads == 1
    clock.t = 100
    assert holder.get() is fresh and len(opened) == 1


def test_a_failed_reload_keeps_the_old_screener(
    settings: Settings, screener: Screener, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()

    def opener(s: Settings) -> Screener:
        raise InputError("index unreadable")

    holder = ScreenerHolder(
        settings, screener, opener=opener, interval=30, clock=clock, spawn=lambda f: f()
    )
    with Store.open(settings) as store:
        store.mark_checked(store.current()["ofac_sdn"].id)
    clock.t = 31
    assert holder.get() is screener
    assert holder.last_error and "index unreadable" in holder.last_error
    assert "still serving the old ones" in caplog.text


def test_the_app_loads_a_screener_at_start_when_none_is_given(
    settings: Settings, screener: Screener
) -> None:
    calls: list[Path] = []

    def opener(s: Settings) -> Screener:
        calls.append(s.home)
        return screener

    app = create_app(settings, opener=opener)
    assert calls == [settings.home]
    assert app.state.holder.get() is screener
