"""Helpers shared by the tests: where the bundled real files are, and how to serve them.

Tests never depend on ../shared: the real files they need are in seeds/ and tests/fixtures/.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import responses

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
FIXTURES = REPO / "tests" / "fixtures"


def read_gz(path: Path | str) -> bytes:
    """The decompressed bytes of a ``.gz`` file (seeds and fixtures are stored gzipped)."""
    return gzip.decompress(Path(path).read_bytes())


def real_file(relative: str) -> bytes:
    """A real list file by path under seeds/ or tests/fixtures/, decompressed if gzipped.

    ``real_file("ofac_sdn/2023-12-28/SDN.CSV")`` finds ``seeds/ofac_sdn/2023-12-28/SDN.CSV.gz``.
    """
    for base in (SEEDS, FIXTURES):
        for candidate in (base / relative, base / f"{relative}.gz"):
            if candidate.is_file():
                data = candidate.read_bytes()
                return gzip.decompress(data) if candidate.suffix == ".gz" else data
    raise FileNotFoundError(relative)


def official_files() -> dict[str, bytes]:
    """Official download URL -> the real file bundled as its seed (decompressed)."""
    from screening.config import source_definitions

    out: dict[str, bytes] = {}
    for d in source_definitions():
        if not d.seed:
            continue
        if d.files:
            urls = {name: d.url + name for name in d.files}
        else:
            urls = {d.url.rsplit("/", 1)[-1]: d.url}
        for name, url in urls.items():
            out[url] = read_gz(SEEDS / d.seed / f"{name}.gz")
    return out


def serve(mocked: responses.RequestsMock, url: str, body: bytes, **kw: object) -> None:
    """Serve ``body`` at ``url`` with an ETag and a Last-Modified, replacing any earlier body."""
    headers = {
        "ETag": '"' + hashlib.sha256(body).hexdigest()[:16] + '"',
        "Last-Modified": "Fri, 03 May 2024 10:00:00 GMT",
    }
    mocked.upsert(responses.GET, url, body=body, headers=headers, **kw)  # type: ignore[arg-type]
