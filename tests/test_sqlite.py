"""Schema versions of the SQLite files (the store and the register build on SQLiteFile)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import ClassVar

import pytest

from screening._sqlite import SQLiteFile
from screening.errors import StoreError


class V1(SQLiteFile):
    _kind = "test file"
    _not_ours = "not a test file"
    _schema = "CREATE TABLE party (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"
    _schema_version = 1

    def add(self, name: str) -> None:
        with self._write("cannot add") as conn:
            conn.execute("INSERT INTO party (name) VALUES (?)", (name,))

    def rows(self) -> list[tuple[object, ...]]:
        with self._read() as conn:
            return [tuple(r) for r in conn.execute("SELECT * FROM party ORDER BY id")]


class V3(V1):
    """Two releases later: a column added with a default, then an index."""

    _schema = (
        "CREATE TABLE party (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "country TEXT NOT NULL DEFAULT '');"
        "CREATE INDEX party_country ON party (country)"
    )
    _schema_version = 3
    _migrations: ClassVar[dict[int, str]] = {
        1: "ALTER TABLE party ADD COLUMN country TEXT NOT NULL DEFAULT ''",
        2: "CREATE INDEX party_country ON party (country)",
    }


def _version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def _v1_file(tmp_path: Path) -> Path:
    path = tmp_path / "f.sqlite3"
    with V1(path, timeout=1) as f:
        f.add("Rosneft")
        f.add("Kral Aviation")
    assert _version(path) == 1
    return path


def test_a_new_file_gets_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    with V3(path, timeout=1) as f:
        f.add("Rosneft")
        assert f.rows() == [(1, "Rosneft", "")]
    assert _version(path) == 3


def test_an_older_file_is_upgraded_step_by_step_and_keeps_its_rows(tmp_path: Path) -> None:
    path = _v1_file(tmp_path)
    with V3(path, timeout=1) as f:
        assert f.rows() == [(1, "Rosneft", ""), (2, "Kral Aviation", "")]
    assert _version(path) == 3
    conn = sqlite3.connect(path)
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    conn.close()
    assert "party_country" in names


def test_a_failed_upgrade_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = _v1_file(tmp_path)

    class Broken(V3):
        _migrations: ClassVar[dict[int, str]] = {
            1: "ALTER TABLE party ADD COLUMN country TEXT NOT NULL DEFAULT ''",
            2: "CREATE INDEX party_country ON no_such_table (country)",
        }

    with pytest.raises(StoreError, match="cannot initialise the test file"):
        Broken(path, timeout=1)
    assert _version(path) == 1
    with V1(path, timeout=1) as f:  # the first step was rolled back with the second
        assert f.rows() == [(1, "Rosneft"), (2, "Kral Aviation")]


def test_an_older_file_without_an_upgrade_step_is_refused_untouched(tmp_path: Path) -> None:
    path = _v1_file(tmp_path)

    class NoSteps(V1):
        _schema_version = 2

    with pytest.raises(StoreError, match=r"cannot upgrade \(no step from version 1\)"):
        NoSteps(path, timeout=1)
    assert _version(path) == 1


def test_a_newer_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    V3(path, timeout=1).close()
    with pytest.raises(StoreError, match="newer than this version of screening"):
        V1(path, timeout=1)
