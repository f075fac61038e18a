"""Fixtures for the list-source parsers: the real files, and each full parse done once."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from screening.config import get_source_definition
from screening.models import ListEntry, ParseResult
from screening.sources.base import ListSource, load_source

REPO = Path(__file__).resolve().parents[2]
SEEDS = REPO / "seeds"
FIXTURES = REPO / "tests" / "fixtures"

SDN_SET = SEEDS / "ofac_sdn" / "2023-12-28"
SDN_2024 = FIXTURES / "ofac_sdn" / "2024-05-03" / "SDN.CSV.gz"
CONS_SET = SEEDS / "ofac_consolidated" / "2025-12"
CSL_2023 = SEEDS / "trade_csl" / "2023-11-30" / "consolidated.csv.gz"
CSL_2025 = FIXTURES / "trade_csl" / "2025-06-excerpt" / "consolidated.csv"

BIS_SOURCES = ("bis_entity_list", "bis_denied_persons", "bis_unverified", "bis_military_end_user")


def read_set(directory: Path) -> dict[str, bytes]:
    """Every ``*.gz`` file of a directory, decompressed, by its name without ``.gz``."""
    return {
        p.name.removesuffix(".gz"): gzip.decompress(p.read_bytes()) for p in directory.glob("*.gz")
    }


def source(source_id: str) -> ListSource:
    return load_source(get_source_definition(source_id))


@pytest.fixture(scope="session")
def sdn_files() -> dict[str, bytes]:
    """The real OFAC SDN download of 2023-12-28: SDN.CSV, ADD.CSV, ALT.CSV, SDN_COMMENTS.CSV."""
    return read_set(SDN_SET)


@pytest.fixture(scope="session")
def sdn_result(sdn_files: dict[str, bytes]) -> ParseResult:
    """The 2023-12-28 SDN set parsed once (do not modify)."""
    return source("ofac_sdn").parse(sdn_files)


@pytest.fixture(scope="session")
def sdn(sdn_result: ParseResult) -> dict[str, ListEntry]:
    """The 2023-12-28 SDN entries by ent_num."""
    return {e.entry_id: e for e in sdn_result.entries}


@pytest.fixture(scope="session")
def cons_files() -> dict[str, bytes]:
    return read_set(CONS_SET)


@pytest.fixture(scope="session")
def cons_result(cons_files: dict[str, bytes]) -> ParseResult:
    return source("ofac_consolidated").parse(cons_files)


@pytest.fixture(scope="session")
def csl_2023() -> bytes:
    """The damaged real CSL excerpt of 2023-11-30 (repeated header, last row cut off)."""
    return gzip.decompress(CSL_2023.read_bytes())


@pytest.fixture(scope="session")
def csl_results(csl_2023: bytes) -> dict[str, ParseResult]:
    """Each BIS source's parse of the 2023-11-30 CSL file, by source id."""
    return {sid: source(sid).parse({"consolidated.csv": csl_2023}) for sid in BIS_SOURCES}


@pytest.fixture(scope="session")
def sdn_small(sdn_files: dict[str, bytes]) -> dict[str, bytes]:
    """The first 300 rows of each real SDN file, as a quick (and still real) download. The
    300th SDN.CSV row ends in a quoted remark (``a.k.a. 'JCT'.``)."""

    def head(data: bytes, n: int = 300) -> bytes:
        return b"".join(data.rstrip(b"\x1a").splitlines(keepends=True)[:n]) + b"\x1a"

    return {name: head(data) for name, data in sdn_files.items()}


@pytest.fixture(scope="session")
def sdn_2024_csv() -> bytes:
    """SDN.CSV as published on 2024-05-03 (the other three files of that day are not kept)."""
    return gzip.decompress(SDN_2024.read_bytes())


@pytest.fixture(scope="session")
def csl_2025() -> bytes:
    """The 2025 layout excerpt of the CSL: one row per source list."""
    return CSL_2025.read_bytes()
