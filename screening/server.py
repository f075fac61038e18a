"""The HTTP service for ERP integration: ``screening serve`` (``pip install "screening[server]"``).

JSON endpoints over the library, with an OpenAPI schema at ``/openapi.json``:

=======================  ======================================================================
``POST /check``          ``{"name", "country"?, "type"?, "threshold"?, "limit"?}`` →
                         ``ScreeningResult`` (hits with explanations, snapshots, warnings)
``POST /batch``          ``{"rows": [{"id", "name", "country"?, "type"?, …}], "threshold"?}`` →
                         one result per row, in order (a row that cannot be screened carries
                         its ``error``); at most :data:`MAX_BATCH_ROWS` rows per request
``POST /shipment``       one shipment object, or a list of them → ``ShipmentResult`` (or a
                         list), each with its ``decision``: ``block``, ``review`` or ``clear``
``GET /status``          every enabled list source's snapshot and freshness
``GET /health``          ``{"status": "ok", …}``: liveness, no key needed
=======================  ======================================================================

The service only parses, calls the library, and renders: a result over HTTP is exactly what
``screening check`` or ``Screener.screen`` gives.

Security: the service binds to loopback unless told otherwise. With an API key configured,
every endpoint but ``/health`` and ``/openapi.json`` wants it in the ``X-API-Key`` header
(compared in constant time). A request body larger than ``max_body`` bytes is refused with
413 before anything parses it. Errors are JSON ``{"error": "one line"}``: 422 for input that
cannot be screened, 400 for a body that is not JSON, 401 for a missing or wrong key, 500 with a
generic message for anything else (the details go to the server log, never to the client).

The app holds one :class:`~screening.screener.Screener`, loaded at start-up. At most every
``reload_interval`` seconds a request checks the store's current snapshots (one small query);
when a refresh has changed them, a new screener is loaded in the background and swapped in,
while requests go on with the old one.

Each check, batch and shipment request appends an audit record (:mod:`screening.audit`).
"""

import hmac
import importlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Body, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.exceptions import HTTPException

from screening._status import SourceStatus, status
from screening.config import Settings
from screening.errors import InputError, ScreeningError
from screening.models import ScreeningResult, SnapshotRef
from screening.rules.result import ShipmentResult
from screening.rules.ruleset import RuleSet, load_ruleset
from screening.screener import BatchResult, BatchRow, Screener
from screening.shipments import Shipment, parse_shipment

__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_RELOAD_INTERVAL",
    "MAX_BATCH_ROWS",
    "MAX_SHIPMENTS",
    "BatchRequest",
    "BatchResponse",
    "CheckRequest",
    "ErrorResponse",
    "HealthResponse",
    "StatusResponse",
    "create_app",
    "parse_size",
]

log = logging.getLogger("screening.server")

#: Largest request body accepted, in bytes (``--max-body``).
DEFAULT_MAX_BODY = 1_000_000
#: Most rows in one ``/batch`` request.
MAX_BATCH_ROWS = 10_000
#: Most shipments in one ``/shipment`` request.
MAX_SHIPMENTS = 1_000
#: Seconds between two looks at the store for new snapshots.
DEFAULT_RELOAD_INTERVAL = 30.0

API_KEY_HEADER = "X-API-Key"

ScreenerOpener = Callable[[Settings], Screener]


# -- request and response models -------------------------------------------------------------


def _id_text(value: object) -> object:
    """Counterparty ids may come as JSON numbers from an ERP: keep them as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


class CheckRequest(BaseModel):
    """One name to screen."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="The name to screen (person, company, vessel, aircraft).")
    country: str | None = Field(default=None, description="ISO code or country name.")
    type: str | None = Field(default=None, description="person, organization, vessel, aircraft")
    threshold: float | None = Field(
        default=None, gt=0, le=1, description="Alert threshold (default: the configured one)."
    )
    limit: int = Field(default=10, ge=1, le=100, description="Most hits returned.")


class BatchRowRequest(BaseModel):
    """One counterparty of a batch. Other fields are kept and returned as ``extra``."""

    model_config = ConfigDict(extra="allow")

    id: Annotated[str, BeforeValidator(_id_text)]
    name: str
    country: str | None = None
    type: str | None = None


class BatchRequest(BaseModel):
    """Counterparties to screen, in order."""

    model_config = ConfigDict(extra="forbid")

    rows: list[BatchRowRequest] = Field(
        description=f"At most {MAX_BATCH_ROWS:,} rows per request.", max_length=MAX_BATCH_ROWS
    )
    threshold: float | None = Field(default=None, gt=0, le=1)
    limit: int = Field(default=10, ge=1, le=100, description="Most hits per row.")


class BatchCounts(BaseModel):
    rows: int
    with_hits: int
    rejected: int


class BatchResponse(BaseModel):
    """One result per row, in request order; a row that could not be screened has ``error``."""

    threshold: float
    counts: BatchCounts
    results: list[BatchResult]
    snapshots: tuple[SnapshotRef, ...]
    warnings: tuple[str, ...] = ()


class StatusResponse(BaseModel):
    """Every enabled source's snapshot, and the snapshots the service screens against."""

    stale: bool = Field(description="True when any enabled source is stale or has no snapshot.")
    sources: list[SourceStatus]
    screening_against: tuple[SnapshotRef, ...]
    loaded_at: datetime


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    snapshots: int = Field(description="List snapshots the service screens against.")


class ErrorResponse(BaseModel):
    error: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The body is not JSON."},
    401: {"model": ErrorResponse, "description": "Missing or wrong API key."},
    413: {"model": ErrorResponse, "description": "The body is too large."},
    422: {"model": ErrorResponse, "description": "The input cannot be screened."},
    500: {"model": ErrorResponse, "description": "Internal error (see the server log)."},
}


# -- sizes -----------------------------------------------------------------------------------

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_size(text: str) -> int:
    """``1MB`` → 1,000,000; ``512KiB`` → 524,288; ``2000`` → 2,000 bytes.

    Raises :class:`~screening.errors.InputError` for anything else."""
    raw = text.strip().lower().replace(" ", "").replace("_", "")
    number = raw.rstrip("kmgib")
    unit = raw[len(number) :]
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in _SIZE_UNITS or value <= 0:
        raise InputError(f"invalid size {text!r} (use e.g. 1MB, 512KB, 2000000)")
    return int(value * _SIZE_UNITS[unit])


# -- the body limit (pure ASGI: it runs before anything reads the body) ----------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Refuse a request body over ``max_bytes`` with 413: from its Content-Length at once, or,
    for a chunked body, as soon as the bytes received pass the limit. The body (at most
    ``max_bytes``) is read here in full and handed on, so the app never sees a partial one."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers", ()):
            if key == b"content-length":
                text = value.decode("latin-1").strip()
                if not text.isdigit():
                    await _send_error(send, 400, "invalid Content-Length header")
                    return
                if int(text) > self.max_bytes:
                    await _send_error(send, 413, self._message())
                    return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            if message["type"] != "http.request":
                continue
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await _send_error(send, 413, self._message())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _message(self) -> str:
        return f"request body larger than {self.max_bytes:,} bytes"


async def _send_error(send: Send, status_code: int, message: str) -> None:
    body = ErrorResponse(error=message).model_dump_json().encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# -- the screener, reloaded when the store's snapshots change --------------------------------


class ScreenerHolder:
    """Holds the current :class:`Screener`; swaps in a new one after a refresh.

    :meth:`get` is cheap. At most every ``interval`` seconds it compares the store's current
    snapshots (ids, and when each was last confirmed unchanged) with those the screener was
    loaded from; when they differ it loads a new screener with ``spawn`` (a background
    thread by default) and keeps serving the old one until the new one is ready.
    """

    def __init__(
        self,
        settings: Settings,
        screener: Screener | None = None,
        *,
        opener: ScreenerOpener | None = None,
        interval: float = DEFAULT_RELOAD_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        spawn: Callable[[Callable[[], None]], None] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.opener = opener or Screener.open
        self.interval = interval
        self.clock = clock
        self.spawn = spawn or _in_thread
        self._now = now or _utcnow
        self._lock = threading.Lock()
        self._loading = False
        self.reloads = 0
        self.last_error: str | None = None
        self._fingerprint = self.fingerprint()
        self._screener = screener if screener is not None else self.opener(settings)
        self.loaded_at = self._now()
        self._checked = clock()

    def fingerprint(self) -> tuple[tuple[str, int, str | None], ...]:
        """The store's current snapshots: (source, id, last confirmed unchanged)."""
        from screening.store import Store

        with Store.open(self.settings) as store:
            current = store.current()
            return tuple(
                (
                    source,
                    info.id,
                    None if (c := store.checked_at(info.id)) is None else c.isoformat(),
                )
                for source, info in sorted(current.items())
            )

    def get(self) -> Screener:
        if self.clock() - self._checked >= self.interval:
            self._maybe_reload()
        return self._screener

    def _maybe_reload(self) -> None:
        with self._lock:
            if self._loading or self.clock() - self._checked < self.interval:
                return
            self._checked = self.clock()
            try:
                seen = self.fingerprint()
            except ScreeningError as exc:
                self._failed(f"cannot read the store: {exc}")
                return
            if seen == self._fingerprint:
                return
            self._loading = True
        self.spawn(lambda: self._reload(seen))

    def _reload(self, seen: tuple[tuple[str, int, str | None], ...]) -> None:
        try:
            fresh = self.opener(self.settings)
        except Exception as exc:  # noqa: BLE001 - keep serving the screener we have
            self._failed(f"reloading the lists failed, still serving the old ones: {exc}")
            with self._lock:
                self._loading = False
            return
        with self._lock:
            self._screener = fresh
            self._fingerprint = seen
            self.loaded_at = self._now()
            self.reloads += 1
            self.last_error = None
            self._loading = False
        ids = ", ".join(f"{s.source}#{s.snapshot_id}" for s in fresh.snapshot_refs())
        log.info("lists reloaded: %s", ids)

    def _failed(self, message: str) -> None:
        self.last_error = message
        log.error("%s", message)


def _in_thread(fn: Callable[[], None]) -> None:
    threading.Thread(target=fn, name="screening-reload", daemon=True).start()


def _utcnow() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


# -- the audit trail (optional module) -------------------------------------------------------


class _Audit:
    """Appends a record per screening request, when :mod:`screening.audit` is installed."""

    def __init__(self, settings: Settings, enabled: bool) -> None:
        self.log: Any = None
        if not enabled:
            return
        try:
            module = importlib.import_module("screening.audit")
        except ImportError:
            return
        self.log = module.AuditLog.open(settings)

    def append(self, kind: str, **fields: Any) -> None:
        if self.log is not None:
            self.log.append(kind, **fields)


# -- errors ----------------------------------------------------------------------------------


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "\u2026"


def _validation_message(exc: RequestValidationError) -> tuple[int, str]:
    errors = list(exc.errors())
    if not errors:
        return 422, "invalid request"
    first = errors[0]
    if first.get("type") == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", "")
        return 400, _one_line(f"the body is not valid JSON: {detail}".rstrip(": "))
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    where = ".".join(loc) or "body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return 422, _one_line(f"{where}: {first.get('msg', 'invalid')}{more}")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        code, message = _validation_message(exc)
        return JSONResponse({"error": message}, status_code=code)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": _one_line(str(exc.detail))},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"error": _one_line(str(exc) or "invalid input")}, status_code=422)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "%s %s failed: %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
            _one_line(str(exc)),
        )
        return JSONResponse(
            {"error": "internal error; the details are in the server log"}, status_code=500
        )


# -- the application -------------------------------------------------------------------------


def create_app(
    settings: Settings,
    *,
    screener: Screener | None = None,
    api_key: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    ruleset: RuleSet | None = None,
    reload_interval: float = DEFAULT_RELOAD_INTERVAL,
    opener: ScreenerOpener | None = None,
    audit: bool = True,
) -> FastAPI:
    """The service as an ASGI application (serve it with uvicorn, or test it with
    ``fastapi.testclient.TestClient``).

    ``screener``: the screener to start with (default: ``Screener.open(settings)``, loaded
    now); ``opener`` loads the next one after a refresh. ``api_key``: when set, required in
    the ``X-API-Key`` header. ``ruleset``: the shipment rules (default: the bundled ones).
    ``audit``: append an audit record per screening request.
    """
    if max_body <= 0:
        raise InputError("the body size limit must be positive")
    holder = ScreenerHolder(settings, screener, opener=opener, interval=reload_interval)
    rules = ruleset or load_ruleset()
    audit_log = _Audit(settings, audit)
    expected = api_key.encode("utf-8") if api_key else None
    key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)

    def require_key(given: Annotated[str | None, Depends(key_header)]) -> None:
        if expected is None:
            return
        if given is None or not hmac.compare_digest(given.encode("utf-8"), expected):
            raise HTTPException(status_code=401, detail=f"missing or wrong {API_KEY_HEADER}")

    from screening import __version__

    app = FastAPI(
        title="screening",
        version=__version__,
        summary="Sanctions and export-control screening of names and shipments.",
        description=(
            "A potential match is not a determination, and no match is not a clearance. "
            "Every result names the list snapshots it was screened against."
        ),
        docs_url=None,  # the interactive pages load scripts from a CDN: not on this service
        redoc_url=None,
    )
    app.state.holder = holder
    _install_error_handlers(app)
    protected = [Depends(require_key)]

    @app.post(
        "/check",
        response_model=ScreeningResult,
        dependencies=protected,
        responses=_ERRORS,
        summary="Screen one name",
    )
    def check(request: CheckRequest) -> ScreeningResult:
        s = holder.get()
        result = s.screen(
            request.name,
            country=request.country,
            kind=request.type,
            threshold=request.threshold,
            limit=request.limit,
        )
        audit_log.append(
            "check",
            input=request,
            results=result.hits,
            snapshots=result.snapshots,
            threshold=result.threshold,
        )
        return result

    @app.post(
        "/batch",
        response_model=BatchResponse,
        dependencies=protected,
        responses=_ERRORS,
        summary="Screen many counterparties",
    )
    def batch(request: BatchRequest) -> BatchResponse:
        s = holder.get()
        threshold = s.threshold if request.threshold is None else request.threshold
        rows = [BatchRow.model_validate(r.model_dump()) for r in request.rows]
        results = list(s.screen_many(rows, threshold=threshold, limit=request.limit))
        snapshots = s.snapshot_refs()
        audit_log.append(
            "batch", input=rows, results=results, snapshots=snapshots, threshold=threshold
        )
        return BatchResponse(
            threshold=threshold,
            counts=BatchCounts(
                rows=len(results),
                with_hits=sum(1 for r in results if r.hits),
                rejected=sum(1 for r in results if r.error is not None),
            ),
            results=results,
            snapshots=snapshots,
            warnings=s.list_warnings(),
        )

    @app.post(
        "/shipment",
        response_model=ShipmentResult | list[ShipmentResult],
        dependencies=protected,
        responses=_ERRORS,
        summary="Screen one shipment or a list of shipments",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                {"$ref": "#/components/schemas/Shipment"},
                                {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Shipment"},
                                    "maxItems": MAX_SHIPMENTS,
                                },
                            ]
                        }
                    }
                },
            }
        },
    )
    def shipment(
        payload: Annotated[Any, Body()],
    ) -> ShipmentResult | list[ShipmentResult]:
        if isinstance(payload, list):
            if len(payload) > MAX_SHIPMENTS:
                raise InputError(
                    f"{len(payload):,} shipments in one request; at most {MAX_SHIPMENTS:,}"
                )
            if not payload:
                raise InputError("an empty list: no shipment to screen")
            shipments = [
                parse_shipment(item, location=f"shipments[{i}]") for i, item in enumerate(payload)
            ]
        else:
            shipments = [parse_shipment(payload, location="the shipment")]
        s = holder.get()
        results = [s.screen_shipment(sh, rules) for sh in shipments]
        audit_log.append(
            "shipment",
            input=shipments,
            results=results,
            snapshots=_all_snapshots(results) or s.snapshot_refs(),
            threshold=s.threshold,
            ruleset_version=rules.version_info.label,
        )
        return results if isinstance(payload, list) else results[0]

    @app.get(
        "/status",
        response_model=StatusResponse,
        dependencies=protected,
        responses=_ERRORS,
        summary="List snapshots and their freshness",
    )
    def get_status() -> StatusResponse:
        rows = status(settings)
        return StatusResponse(
            stale=any(r.stale for r in rows if r.enabled),
            sources=rows,
            screening_against=holder.get().snapshot_refs(),
            loaded_at=holder.loaded_at,
        )

    @app.get("/health", response_model=HealthResponse, summary="Liveness")
    def health() -> HealthResponse:
        return HealthResponse(version=__version__, snapshots=len(holder.get().index.snapshots))

    _document_shipment(app)
    # Outermost but for Starlette's error middleware: runs before anything reads the body.
    app.add_middleware(BodyLimit, max_bytes=max_body)
    return app


def _all_snapshots(results: list[ShipmentResult]) -> list[SnapshotRef]:
    seen: dict[tuple[str, int], SnapshotRef] = {}
    for r in results:
        for ref in r.snapshots:
            seen.setdefault((ref.source, ref.snapshot_id), ref)
    return list(seen.values())


def _document_shipment(app: FastAPI) -> None:
    """Put the ``Shipment`` input schema into the OpenAPI components (the endpoint parses the
    body itself, for the shipment module's own error messages)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        defs = Shipment.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, body in defs.pop("$defs", {}).items():
            components.setdefault(name, body)
        components["Shipment"] = defs
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
