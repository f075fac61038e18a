"""Network faults: DNS failure, connection reset, a slow drip, a redirect loop, TLS failure.

Each fails the download cleanly (one line, a DownloadError), within its time limit, and a
refresh that meets it keeps the current snapshot. ``responses`` stands in for the network
where an exception is enough; a loopback server does what only a real socket can (drip bytes,
cut a body short, answer TLS with plain HTTP).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import responses

from screening._refresh import refresh
from screening.config import HttpSettings, load_settings
from screening.errors import DownloadError
from screening.sources._http import TOTAL_TIMEOUT_FACTOR, fetch
from screening.store import Store

SDN_BASE = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/"
FAST = HttpSettings(timeout=0.3, retries=1, backoff=0.0, max_bytes=1_000_000)


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def failure(url: str, http: HttpSettings = FAST) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(DownloadError) as err:
        fetch(url, http=http)
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message
    return message, time.monotonic() - started


@pytest.mark.parametrize(
    ("exc", "cause"),
    [
        (
            requests.exceptions.ConnectionError(
                "HTTPSConnectionPool(host='sanctionslistservice.ofac.treas.gov', port=443): "
                "Failed to resolve 'sanctionslistservice.ofac.treas.gov' "
                "([Errno -2] Name or service not known)"
            ),
            "connection failed: ",
        ),
        (requests.exceptions.ConnectionError(ConnectionResetError(104, "reset")), "reset"),
        (requests.exceptions.ReadTimeout("read timed out"), "no response within 0.3 s"),
        (requests.exceptions.TooManyRedirects("Exceeded 30 redirects."), "too many redirects"),
        (
            requests.exceptions.SSLError("certificate verify failed: self-signed certificate"),
            "TLS error: certificate verify failed",
        ),
    ],
    ids=["dns", "reset", "timeout", "redirects", "tls"],
)
def test_each_fault_is_one_line(mocked: responses.RequestsMock, exc: Exception, cause: str) -> None:
    url = SDN_BASE + "SDN.CSV"
    mocked.get(url, body=exc)
    message, seconds = failure(url)
    assert message.startswith(f"{url}: ")
    assert cause in message
    assert seconds < 2


def test_a_real_redirect_loop(mocked: responses.RequestsMock) -> None:
    url = SDN_BASE + "SDN.CSV"
    mocked.get(url, status=302, headers={"Location": url})
    message, _ = failure(url)
    assert message == f"{url}: too many redirects"
    assert len(mocked.calls) == 31  # the first request and requests' 30 redirects


# -- a loopback server -------------------------------------------------------------------------

Handler = Callable[[socket.socket], None]


@pytest.fixture
def server() -> Iterator[Callable[[Handler], str]]:
    """Start a loopback server that runs ``handler`` on each connection; gives its URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(handler: Handler) -> str:
        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                with conn:
                    try:
                        conn.settimeout(5)
                        conn.recv(65536)
                        handler(conn)
                    except OSError:
                        pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return f"http://127.0.0.1:{listener.getsockname()[1]}/SDN.CSV"

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    listener.close()


def drip_body(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(80):  # a byte every 50 ms for 4 s: never silent for a whole timeout
        conn.sendall(b"x")
        time.sleep(0.05)


def drip_headers(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(80):
        conn.sendall(b"x")
        time.sleep(0.05)


@pytest.mark.parametrize("handler", [drip_body, drip_headers], ids=["body", "headers"])
def test_a_slow_drip_fails_at_the_total_deadline(
    server: Callable[[Handler], str], handler: Handler
) -> None:
    """The read timeout (0.3 s) is never reached, a byte comes every 50 ms; the total limit
    (10 x the timeout: 3 s) ends the download."""
    url = server(handler)
    http = HttpSettings(timeout=0.3, retries=0, max_bytes=1_000_000)
    message, seconds = failure(url, http)
    deadline = http.timeout * TOTAL_TIMEOUT_FACTOR
    assert f"within {deadline:g} s" in message
    assert deadline <= seconds < deadline + 1.5


def cut_short(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b'"1","A"\r\n' * 10)


def test_a_connection_cut_mid_body_is_retried_then_fails(
    server: Callable[[Handler], str],
) -> None:
    url = server(cut_short)
    message, seconds = failure(url)
    assert "download cut off" in message and "(after 2 attempts)" in message
    assert seconds < 3


def plain_http(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


def test_tls_against_a_server_that_does_not_speak_it(server: Callable[[Handler], str]) -> None:
    url = server(plain_http).replace("http://", "https://")
    message, seconds = failure(url)
    assert "TLS error: " in message
    assert seconds < 3


# -- a refresh meeting a fault keeps what it had ------------------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        requests.exceptions.ConnectionError("Failed to resolve host"),
        requests.exceptions.SSLError("certificate verify failed"),
        requests.exceptions.ReadTimeout("read timed out"),
    ],
    ids=["dns", "tls", "timeout"],
)
def test_a_refresh_that_meets_a_fault_keeps_the_current_snapshot(
    seeded_home: Path, mocked: responses.RequestsMock, exc: Exception
) -> None:
    settings = load_settings(home=seeded_home, environ={})
    settings = settings.model_copy(update={"http": FAST})
    for name in ("SDN.CSV", "ADD.CSV", "ALT.CSV", "SDN_COMMENTS.CSV"):
        mocked.get(SDN_BASE + name, body=exc)
    with Store.open(settings) as store:
        before = store.current()["ofac_sdn"]
    started = time.monotonic()
    report = refresh(settings, ["ofac_sdn"])
    assert time.monotonic() - started < 5
    (outcome,) = report.outcomes
    assert (outcome.status, outcome.error) == ("failed", "DownloadError")
    assert outcome.snapshot is not None and outcome.snapshot.id == before.id
    assert outcome.message is not None and "\n" not in outcome.message
    with Store.open(settings) as store:
        assert store.current()["ofac_sdn"].id == before.id
        state = store.source_state("ofac_sdn")
    assert state is not None and state.outcome == "failed"
