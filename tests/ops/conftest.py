"""Fixtures for the register, re-screening and audit tests (see ops_helpers)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from ops_helpers import (
    SDN_2023_DIR,
    SDN_2024_CSV,
    Decided,
    SdnChange,
    register_rows,
    sdn_2024_files,
    sdn_rows,
    settings_for,
    write_register,
)
from support import read_gz


@pytest.fixture(scope="session")
def sdn_change() -> SdnChange:
    return SdnChange(
        old=sdn_rows(read_gz(SDN_2023_DIR / "SDN.CSV.gz")),
        new=sdn_rows(read_gz(SDN_2024_CSV)),
    )


@pytest.fixture(scope="session")
def indexed_home(tmp_path_factory: pytest.TempPathFactory, seeded_db: Path) -> Path:
    from screening.screener import Screener

    home = tmp_path_factory.mktemp("ops") / "indexed"
    home.mkdir(mode=0o700)
    shutil.copy2(seeded_db, home / seeded_db.name)
    Screener.open(settings_for(home))  # builds and caches the seed's name index
    return home


@pytest.fixture(scope="session")
def registered_home(
    tmp_path_factory: pytest.TempPathFactory, indexed_home: Path, sdn_change: SdnChange
) -> Path:
    from screening.register import add_file

    home = tmp_path_factory.mktemp("ops") / "registered"
    shutil.copytree(indexed_home, home)
    path = write_register(home.parent / "register.csv", register_rows(sdn_change))
    report = add_file(settings_for(home), path)
    assert report.added == len(register_rows(sdn_change)) and not report.rejected
    return home


@pytest.fixture(scope="session")
def changed_home(
    tmp_path_factory: pytest.TempPathFactory, registered_home: Path
) -> tuple[Path, Decided]:
    from screening._refresh import import_files
    from screening.register import Register, decide
    from screening.screener import Screener

    home = tmp_path_factory.mktemp("ops") / "changed"
    shutil.copytree(registered_home, home)
    settings = settings_for(home)
    with Register.open(settings) as reg:
        alerts = reg.alerts(status="open")
    # The ADD/ALT/COMMENTS files stay those of 2023-12-28: an entry changes exactly when its
    # SDN.CSV row does, so "chg-<id>" counterparties alert on changed entries, "kept-<id>"
    # ones on unchanged entries.
    on_changed = next(
        a for a in alerts if a.counterparty_id == f"chg-{a.entry_id}" and a.source == "ofac_sdn"
    )
    on_unchanged = next(
        a for a in alerts if a.counterparty_id == f"kept-{a.entry_id}" and a.source == "ofac_sdn"
    )
    for a in (on_changed, on_unchanged):
        decide(
            settings,
            a.counterparty_id,
            (a.source, a.entry_id),
            "false_positive",
            "different date of birth",
            "analyst-1",
        )
    import_files(settings, "ofac_sdn", sdn_2024_files(home.parent / "sdn-2024-05-03"))
    Screener.open(settings)  # the new snapshots' name index, cached for the tests' copies
    return home, Decided(
        on_changed=(on_changed.counterparty_id, on_changed.source, on_changed.entry_id),
        on_unchanged=(on_unchanged.counterparty_id, on_unchanged.source, on_unchanged.entry_id),
    )


@pytest.fixture
def copy_home(home: Path) -> Callable[[Path], Path]:
    """Copy a prepared home into this test's SCREENING_HOME and return it."""

    def copy(src: Path) -> Path:
        shutil.copytree(src, home)
        return home

    return copy
