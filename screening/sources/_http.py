"""HTTP downloads: the only module of ``screening`` that touches the network.

:func:`fetch` does one conditional GET with everything the list hosts need: a browser-like
User-Agent (the OFAC host has answered 403 to others), connect and read timeouts plus a total
deadline (a server dripping a byte a minute cannot hold a refresh forever), bounded retries with
exponential backoff on connection errors, timeouts, 5xx and 429 (never on other 4xx), redirects
followed, TLS verified, and a cap on the decoded size.

The OFAC service redirects to a short-lived signed S3 link whose query string carries a
security token: no URL is ever logged, stored or put in an error message with its query string
(see :func:`redact`). Every failure is a :class:`~screening.errors.DownloadError` whose message
is one line naming the URL and the cause.

Tests inject a ``requests.Session`` and serve responses with the ``responses`` library.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Literal

import requests
import urllib3

from screening._urls import QUERY_IN_TEXT, redact
from screening.config import HttpSettings
from screening.errors import DownloadError

__all__ = ["FetchResult", "fetch", "new_session", "redact"]

#: Per-attempt wall-clock limit, as a multiple of the connect/read timeout.
TOTAL_TIMEOUT_FACTOR = 10
#: Longest wait honoured from a ``Retry-After`` header, in seconds.
MAX_RETRY_AFTER = 60.0
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchResult:
    """One fetched file. ``content`` is empty when the server said 304 Not Modified."""

    status: Literal["ok", "not_modified"]
    content: bytes
    etag: str | None
    last_modified: str | None
    final_url: str  # where the redirects ended, without query string
    attempts: int = 1


def new_session() -> requests.Session:
    """A session for one refresh run (connection reuse across a feed's files)."""
    session = requests.Session()
    session.trust_env = True  # honour HTTPS_PROXY / REQUESTS_CA_BUNDLE set by the operator
    return session


class _Retryable(Exception):
    """An attempt failed in a way worth retrying."""

    def __init__(self, cause: str, retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.cause = cause
        self.retry_after = retry_after


def fetch(
    url: str,
    *,
    http: HttpSettings,
    session: requests.Session | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchResult:
    """GET ``url``; with ``etag``/``last_modified`` a conditional GET (304 -> not_modified).

    Raises :class:`~screening.errors.DownloadError` on any failure, after ``http.retries``
    retries for transient ones.
    """
    shown = redact(url)
    headers = {
        "User-Agent": http.user_agent,
        "Accept": "*/*",
        "Accept-Encoding": "gzip, deflate",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    own_session = session is None
    sess = new_session() if session is None else session
    attempts = 1 + http.retries
    try:
        for attempt in range(1, attempts + 1):
            try:
                return _attempt(sess, url, headers, http, conditional=bool(etag or last_modified))
            except _Retryable as exc:
                if attempt == attempts:
                    tries = f" (after {attempts} attempts)" if attempts > 1 else ""
                    raise DownloadError(f"{shown}: {exc.cause}{tries}") from None
                delay = http.backoff * (2 ** (attempt - 1))
                if exc.retry_after is not None:
                    delay = max(delay, min(exc.retry_after, MAX_RETRY_AFTER))
                sleep(delay)
            except DownloadError as exc:
                raise DownloadError(f"{shown}: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover
    finally:
        if own_session:
            sess.close()


def _attempt(
    session: requests.Session,
    url: str,
    headers: dict[str, str],
    http: HttpSettings,
    *,
    conditional: bool,
) -> FetchResult:
    started = time.monotonic()
    deadline = started + http.timeout * TOTAL_TIMEOUT_FACTOR
    response = _request(session, url, headers, http, deadline)
    with response:
        status = response.status_code
        final_url = redact(response.url or url)
        where = "" if final_url == redact(url) else f" (redirected to {final_url})"
        if status == 304:
            if not conditional:
                raise DownloadError("HTTP 304 Not Modified to an unconditional request")
            return FetchResult(
                "not_modified",
                b"",
                response.headers.get("ETag") or headers.get("If-None-Match"),
                response.headers.get("Last-Modified") or headers.get("If-Modified-Since"),
                final_url,
            )
        if status == 429 or status >= 500:
            raise _Retryable(
                f"HTTP {status} {response.reason or ''}".rstrip() + where,
                _retry_after(response.headers.get("Retry-After")),
            )
        if status != 200:
            raise DownloadError(f"HTTP {status} {response.reason or ''}".rstrip() + where)
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > http.max_bytes:
            raise DownloadError(
                f"file of {int(declared):,} bytes exceeds the limit of {http.max_bytes:,}"
            )
        content = _read_capped(response, http, deadline)
        return FetchResult(
            "ok",
            content,
            response.headers.get("ETag"),
            response.headers.get("Last-Modified"),
            final_url,
        )


def _request(
    session: requests.Session,
    url: str,
    headers: dict[str, str],
    http: HttpSettings,
    deadline: float,
) -> requests.Response:
    """The response (status line and headers; the body is not read yet), within the deadline.

    The connect and read timeouts bound each wait for a packet, not the whole exchange: a
    server sending its headers a byte at a time could otherwise hold the request for days. The
    request therefore runs in a daemon thread and is abandoned at the deadline (its late
    response, if any, is closed unread).
    """
    outcome: list[requests.Response | BaseException] = []
    abandoned = threading.Event()

    def run() -> None:
        try:
            response = session.get(
                url,
                headers=headers,
                timeout=(http.timeout, http.timeout),
                stream=True,
                allow_redirects=True,
                verify=True,  # always: a list served over a forged connection is list poisoning
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            outcome.append(exc)
            return
        outcome.append(response)
        if abandoned.is_set():
            response.close()

    worker = threading.Thread(target=run, name="screening-fetch", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if not outcome:
        abandoned.set()
        if outcome and isinstance(outcome[0], requests.Response):  # raced with the deadline
            outcome[0].close()
        raise _Retryable(
            f"no response within {http.timeout * TOTAL_TIMEOUT_FACTOR:g} s (server too slow)"
        )
    result = outcome[0]
    if isinstance(result, requests.Response):
        return result
    try:
        raise result
    except requests.exceptions.SSLError as exc:
        raise DownloadError(f"TLS error: {_cause(exc)}") from None
    except requests.exceptions.TooManyRedirects:
        raise DownloadError("too many redirects") from None
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
        raise DownloadError(f"invalid URL: {_cause(exc)}") from None
    except requests.exceptions.InvalidSchema:
        raise DownloadError("unsupported URL scheme (use http:// or https://)") from None
    except requests.exceptions.ConnectTimeout:
        raise _Retryable(f"connection timed out after {http.timeout:g} s") from None
    except requests.exceptions.ReadTimeout:
        raise _Retryable(f"no response within {http.timeout:g} s") from None
    except requests.exceptions.ConnectionError as exc:
        raise _Retryable(f"connection failed: {_cause(exc)}") from None
    except requests.exceptions.RequestException as exc:
        raise _Retryable(f"request failed: {_cause(exc)}") from None


def _read_capped(response: requests.Response, http: HttpSettings, deadline: float) -> bytes:
    """The decoded body, at most ``http.max_bytes`` of it, read by the deadline.

    ``read1`` returns whatever one receive brought, so the deadline is checked however slowly
    the server drips (a blocking read of a 64 KiB chunk would wait for all of it).
    """
    raw = response.raw
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            chunk = raw.read1(_CHUNK, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > http.max_bytes:
                raise DownloadError(f"download exceeds the limit of {http.max_bytes:,} bytes")
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise _Retryable(
                    f"download not finished within {http.timeout * TOTAL_TIMEOUT_FACTOR:g} s"
                )
    except urllib3.exceptions.ReadTimeoutError:
        raise _Retryable(f"download stalled: no data for {http.timeout:g} s") from None
    except urllib3.exceptions.DecodeError as exc:
        raise DownloadError(f"cannot decode the compressed response: {_cause(exc)}") from None
    except urllib3.exceptions.SSLError as exc:
        raise _Retryable(f"TLS error during download: {_cause(exc)}") from None
    except urllib3.exceptions.ProtocolError as exc:
        raise _Retryable(f"download cut off: {_cause(exc)}") from None
    except urllib3.exceptions.HTTPError as exc:
        raise _Retryable(f"download failed: {_cause(exc)}") from None
    except OSError as exc:
        raise _Retryable(f"connection lost during download: {_cause(exc)}") from None
    return b"".join(chunks)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _cause(exc: BaseException) -> str:
    """The innermost reason of a requests/urllib3 error, on one line, without query strings."""
    inner: BaseException = exc
    seen = 0
    while seen < 5:
        nxt = inner.__context__ or inner.__cause__
        reason = getattr(inner, "reason", None)
        if isinstance(reason, BaseException):
            nxt = reason
        elif inner.args and isinstance(inner.args[0], BaseException):
            nxt = inner.args[0]
        if nxt is None or nxt is inner:
            break
        inner = nxt
        seen += 1
    text = str(inner) or type(inner).__name__
    text = QUERY_IN_TEXT.sub("", text)
    text = " ".join(text.split())
    return text[:200]
