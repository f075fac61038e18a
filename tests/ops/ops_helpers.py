"""Helpers for the register, re-screening and audit tests.

The fixtures in conftest.py build, once per test run (each test copies the home it needs):

- ``indexed_home``: the seed snapshots (SDN of 2023-12-28) and their name index, cached;
- ``registered_home``: that, plus a register of a few hundred counterparties made from real
  names: names of SDN entries added, removed, changed and left alone by the 2024-05-03
  publication, labelled spelling variants of listed names and unlisted names (the eval set);
- ``changed_home``: that, plus two analyst decisions, then the 2024-05-03 SDN.CSV imported
  (with the 2023-12-28 ADD/ALT/COMMENTS files, as the refresh tests do) and its name index.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from support import FIXTURES, SEEDS, read_gz

from screening.config import Settings, load_settings

SDN_2023_DIR = SEEDS / "ofac_sdn/2023-12-28"
SDN_2024_CSV = FIXTURES / "ofac_sdn/2024-05-03/SDN.CSV.gz"


def settings_for(home: Path) -> Settings:
    return load_settings(home=home, environ={})


def sdn_rows(raw: bytes) -> dict[str, list[str]]:
    """ent_num -> row of an SDN.CSV (no header; the file ends with a 0x1A byte)."""
    out = {}
    for row in csv.reader(io.StringIO(raw.decode("utf-8", "replace"))):
        if len(row) > 2 and row[0].strip().isdigit():
            out[row[0].strip()] = row
    return out


@dataclass(frozen=True)
class SdnChange:
    """The SDN.CSV rows of 2023-12-28 and 2024-05-03, and which ids differ."""

    old: dict[str, list[str]]
    new: dict[str, list[str]]

    @property
    def added(self) -> list[str]:
        return sorted(self.new.keys() - self.old.keys(), key=int)

    @property
    def removed(self) -> list[str]:
        return sorted(self.old.keys() - self.new.keys(), key=int)

    @property
    def changed(self) -> list[str]:
        return sorted(
            (k for k in self.old.keys() & self.new.keys() if self.old[k] != self.new[k]), key=int
        )

    @property
    def kept(self) -> list[str]:
        return sorted(
            (k for k in self.old.keys() & self.new.keys() if self.old[k] == self.new[k]), key=int
        )


def _spread(ids: list[str], n: int) -> list[str]:
    """``n`` ids spread evenly over ``ids`` (deterministic)."""
    step = max(1, len(ids) // n)
    return ids[::step][:n]


def register_rows(change: SdnChange) -> list[dict[str, str]]:
    """About 250 counterparties from real names (see the module docstring)."""
    rows: list[dict[str, str]] = []

    def listed(prefix: str, ids: list[str], table: dict[str, list[str]]) -> None:
        for eid in ids:
            row = table[eid]
            kind = "person" if row[2].strip() == "individual" else ""
            rows.append({"id": f"{prefix}-{eid}", "name": row[1].strip(), "type": kind})

    listed("add", _spread(change.added, 40), change.new)
    listed("rem", _spread(change.removed, 25), change.old)
    listed("chg", _spread(change.changed, 12), change.new)
    listed("kept", _spread(change.kept, 15), change.new)
    with (FIXTURES / "eval/dev.csv").open(encoding="utf-8") as f:
        variants = [r for r in csv.DictReader(f) if r["label"] == "match"]
    for r in variants[:40]:
        rows.append(
            {"id": f"var-{r['id']}", "name": r["name"], "country": r["country"], "type": r["type"]}
        )
    with (FIXTURES / "eval/dev_negatives_5k.csv").open(encoding="utf-8") as f:
        negatives = list(csv.DictReader(f))
    for r in negatives[:120]:
        rows.append(
            {"id": f"neg-{r['id']}", "name": r["name"], "country": r["country"], "type": r["type"]}
        )
    return rows


def write_register(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["id", "name", "country", "type"], restval="")
        w.writeheader()
        w.writerows(rows)
    return path


def sdn_2024_files(folder: Path) -> list[Path]:
    """The 2024-05-03 SDN.CSV with the 2023-12-28 ADD, ALT and COMMENTS files."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("ADD.CSV", "ALT.CSV", "SDN_COMMENTS.CSV"):
        (folder / name).write_bytes(read_gz(SDN_2023_DIR / f"{name}.gz"))
    (folder / "SDN.CSV").write_bytes(read_gz(SDN_2024_CSV))
    return sorted(folder.iterdir())


#: The decisions taken before the list change in ``changed_home``: a false positive on an
#: entry the 2024-05-03 publication changed and one on an entry it left alone.
@dataclass(frozen=True)
class Decided:
    on_changed: tuple[str, str, str]  # counterparty id, source, entry id
    on_unchanged: tuple[str, str, str]
