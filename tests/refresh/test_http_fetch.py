"""sources/_http.fetch: conditional GET, retries, redirects, caps, one-line errors."""

from __future__ import annotations

import gzip

import pytest
import requests
import responses
from responses import matchers

from screening.config import HttpSettings
from screening.errors import DownloadError
from screening.sources._http import fetch, redact

URL = "https://lists.example.test/exports/SDN.CSV"
HTTP = HttpSettings(timeout=5, retries=2, backoff=0.01, max_bytes=10_000)


@pytest.fixture
def mocked() -> responses.RequestsMock:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps  # type: ignore[misc]


def test_ok_sends_a_browser_user_agent(mocked: responses.RequestsMock) -> None:
    mocked.get(
        URL,
        body=b'1,"A"\r\n',
        headers={"ETag": '"v1"', "Last-Modified": "Fri, 03 May 2024 10:00:00 GMT"},
        match=[matchers.header_matcher({"User-Agent": HTTP.user_agent})],
    )
    r = fetch(URL, http=HTTP)
    assert (r.status, r.content, r.etag, r.last_modified) == (
        "ok",
        b'1,"A"\r\n',
        '"v1"',
        "Fri, 03 May 2024 10:00:00 GMT",
    )
    assert HTTP.user_agent.startswith("Mozilla/5.0") and len(HTTP.user_agent) >= 40


def test_conditional_get_304(mocked: responses.RequestsMock) -> None:
    mocked.get(
        URL,
        status=304,
        match=[
            matchers.header_matcher(
                {"If-None-Match": '"v1"', "If-Modified-Since": "Fri, 03 May 2024 10:00:00 GMT"}
            )
        ],
    )
    r = fetch(URL, http=HTTP, etag='"v1"', last_modified="Fri, 03 May 2024 10:00:00 GMT")
    assert r.status == "not_modified" and r.content == b"" and r.etag == '"v1"'


def test_unasked_304_is_an_error(mocked: responses.RequestsMock) -> None:
    mocked.get(URL, status=304)
    with pytest.raises(DownloadError, match="304"):
        fetch(URL, http=HTTP)


def test_500_is_retried_then_fails_with_one_line(mocked: responses.RequestsMock) -> None:
    mocked.get(URL, status=500)
    with pytest.raises(DownloadError) as err:
        fetch(URL, http=HTTP)
    assert str(err.value) == f"{URL}: HTTP 500 Internal Server Error (after 3 attempts)"
    assert len(mocked.calls) == 3


def test_transient_503_then_ok(mocked: responses.RequestsMock) -> None:
    mocked.get(URL, status=503)
    mocked.get(URL, body=b"data")
    delays: list[float] = []
    assert fetch(URL, http=HTTP, sleep=delays.append).content == b"data"
    assert delays == [0.01]


def test_backoff_doubles_and_honours_retry_after(mocked: responses.RequestsMock) -> None:
    mocked.get(URL, status=429, headers={"Retry-After": "2"})
    mocked.get(URL, status=502)
    mocked.get(URL, body=b"ok")
    delays: list[float] = []
    http = HttpSettings(retries=3, backoff=0.5)
    assert fetch(URL, http=http, sleep=delays.append).content == b"ok"
    assert delays == [2.0, 1.0]


def test_4xx_is_not_retried(mocked: responses.RequestsMock) -> None:
    mocked.get(URL, status=403)
    with pytest.raises(
        DownloadError, match=r"^https://lists.example.test/exports/SDN.CSV: HTTP 403"
    ):
        fetch(URL, http=HTTP)
    assert len(mocked.calls) == 1


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (requests.exceptions.ReadTimeout("read timed out"), "no response within 5 s"),
        (requests.exceptions.ConnectTimeout("connect timed out"), "connection timed out"),
        (requests.exceptions.ConnectionError("Connection refused"), "connection failed"),
    ],
)
def test_network_errors_are_retried_then_fail(
    mocked: responses.RequestsMock, exc: Exception, message: str
) -> None:
    mocked.get(URL, body=exc)
    with pytest.raises(DownloadError, match=message) as err:
        fetch(URL, http=HTTP)
    assert "(after 3 attempts)" in str(err.value)
    assert "\n" not in str(err.value)
    assert len(mocked.calls) == 3


def test_tls_errors_are_not_retried(mocked: responses.RequestsMock) -> None:
    mocked.get(URL, body=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(DownloadError, match="TLS error: certificate verify failed"):
        fetch(URL, http=HTTP)
    assert len(mocked.calls) == 1


def test_redirect_to_a_signed_url_never_shows_the_token(mocked: responses.RequestsMock) -> None:
    signed = (
        "https://bucket.s3.example.test/Published/SDN.CSV?X-Amz-Signature=SECRET&X-Amz-Expires=60"
    )
    mocked.get(URL, status=302, headers={"Location": signed})
    mocked.get(signed, body=b"payload")
    r = fetch(URL, http=HTTP)
    assert r.content == b"payload"
    assert r.final_url == "https://bucket.s3.example.test/Published/SDN.CSV"
    mocked.replace(responses.GET, signed, status=404)
    with pytest.raises(DownloadError) as err:
        fetch(URL, http=HTTP)
    assert "SECRET" not in str(err.value) and "X-Amz" not in str(err.value)
    assert "redirected to https://bucket.s3.example.test/Published/SDN.CSV" in str(err.value)


def test_size_cap_by_header_and_by_stream(mocked: responses.RequestsMock) -> None:
    mocked.get(URL, body=b"x" * 20_000)
    with pytest.raises(DownloadError, match="exceeds the limit of 10,000"):
        fetch(URL, http=HTTP)
    # a gzip bomb: small on the wire, big once decoded -> the decoded size counts
    bomb = gzip.compress(b"x" * 50_000)
    mocked.replace(
        responses.GET,
        URL,
        body=bomb,
        headers={"Content-Encoding": "gzip"},
        auto_calculate_content_length=True,
    )
    with pytest.raises(DownloadError, match="exceeds the limit"):
        fetch(URL, http=HTTP)


def test_invalid_url_and_scheme() -> None:
    with pytest.raises(DownloadError, match="invalid URL"):
        fetch("not a url", http=HTTP)
    with pytest.raises(DownloadError, match="unsupported URL scheme"):
        fetch("ftp://ofacftp.treas.gov/fac_delim/sdn.csv", http=HTTP)


def test_redact() -> None:
    assert redact("https://user:pw@h.test:8443/a/b?token=1#f") == "https://h.test:8443/a/b"
