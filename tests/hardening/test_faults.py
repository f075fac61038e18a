"""Faults: a refresh killed at any moment, a full disk, a read-only data directory, readers
during a refresh, and a corrupt index cache. The store always holds complete snapshots and the
last good one stays current; every failure is one clear line.

Refreshes run as real ``screening import`` processes on the real OFAC SDN files (2023-12-28
and 2024-05-03), killed with SIGKILL.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import FIXTURES, SEEDS

from screening.models import SnapshotInfo
from screening.store import Store

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and limits")

SET_2023 = sorted((SEEDS / "ofac_sdn" / "2023-12-28").glob("*.gz"))
COUNTS = {"2023": 13_821, "2024": 14_965}
CONSOLIDATED = sorted((SEEDS / "ofac_consolidated" / "2025-12").glob("*.gz"))  # 442 entries


@pytest.fixture(scope="module")
def set_2024(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """SDN.CSV of 2024-05-03 with the 2023-12-28 companion files (the other three files of
    that day are not kept): 14,965 entries."""
    directory = tmp_path_factory.mktemp("sdn-2024")
    shutil.copy(FIXTURES / "ofac_sdn" / "2024-05-03" / "SDN.CSV.gz", directory)
    for path in SET_2023:
        if path.name != "SDN.CSV.gz":
            shutil.copy(path, directory)
    return sorted(directory.glob("*.gz"))


def screening_process(
    home: Path, *args: str | Path, prelude: str = "", **kwargs: object
) -> subprocess.Popen[str]:
    """``screening ARGS`` in a child process, after running ``prelude`` (Python) in it."""
    code = "\n".join(
        ["import sys", prelude, "from screening.cli import main", "sys.argv[0] = 'screening'"]
    )
    code += "\nmain()"
    env = {**os.environ, "SCREENING_HOME": str(home)}
    env.pop("SCREENING_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[arg-type]
    )


def run_screening(
    home: Path, *args: str | Path, prelude: str = "", **kw: object
) -> tuple[int, str]:
    proc = screening_process(home, *args, prelude=prelude, **kw)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out + err


def consistent(home: Path, source: str = "ofac_sdn") -> SnapshotInfo:
    """Check the store as a reader finds it; return the source's current snapshot."""
    with Store(home / "screening.sqlite3") as store:
        assert store._conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        info, entries = store.read_current([source])[source]
        assert info.record_count == len(entries) == len({e.entry_id for e in entries})
        for snap in store.history(source):  # every snapshot kept is complete
            assert len(store.entry_hashes(snap.id)) == snap.record_count
        return info


def lock_is_free(home: Path) -> bool:
    from screening.errors import LockedError
    from screening.lock import refresh_lock

    try:
        with refresh_lock(home, timeout=0):
            return True
    except LockedError:
        return False


# -- SIGKILL -----------------------------------------------------------------------------------

KILL_MID_INSERT = """
import os, signal, sqlite3
_connect = sqlite3.connect
class Killing(sqlite3.Connection):
    def executemany(self, sql, rows):
        if sql.startswith("INSERT INTO snapshot_entries"):
            def rows_then_die(rows=rows):
                for i, row in enumerate(rows):
                    if i == 200:
                        os.kill(os.getpid(), signal.SIGKILL)
                    yield row
            return super().executemany(sql, rows_then_die())
        return super().executemany(sql, rows)
sqlite3.connect = lambda *a, **k: _connect(*a, factory=Killing, **k)
"""

KILL_BEFORE_COMMIT = """
import os, signal
from screening.store import Store
_prune = Store._prune
def prune_then_die(conn, source, keep):
    _prune(conn, source, keep)  # the new snapshot is written and current, not committed
    os.kill(os.getpid(), signal.SIGKILL)
Store._prune = staticmethod(prune_then_die)
"""


@pytest.mark.parametrize(
    "prelude", [KILL_MID_INSERT, KILL_BEFORE_COMMIT], ids=["mid-insert", "before-commit"]
)
def test_a_refresh_killed_inside_its_write_leaves_the_last_good_snapshot(
    seeded_home: Path, prelude: str
) -> None:
    """The OFAC consolidated list (442 entries) replacing its seed snapshot, killed while its
    entries are inserted, or after everything is written and made current but not committed."""
    before = consistent(seeded_home, "ofac_consolidated")
    assert before.origin == "seed"
    code, output = run_screening(
        seeded_home, "import", "ofac_consolidated", *CONSOLIDATED, prelude=prelude
    )
    assert code == -signal.SIGKILL, output
    assert consistent(seeded_home, "ofac_consolidated").id == before.id
    assert lock_is_free(seeded_home)  # the killed holder's lock went with it
    code, output = run_screening(seeded_home, "import", "ofac_consolidated", *CONSOLIDATED)
    assert code == 0, output  # no half-written rows in the way
    after = consistent(seeded_home, "ofac_consolidated")
    assert (after.origin, after.record_count) == ("import", before.record_count)


def test_a_refresh_killed_at_random_moments(seeded_home: Path, set_2024: list[Path]) -> None:
    """SDN imports (13,821 and 14,965 entries) killed after random delays, while parsing,
    validating, writing or pruning, each followed by a reader's check; then one that finishes.
    scripts/soak does this for minutes."""
    rng = random.Random(20261122)
    sets = {"2023": SET_2023, "2024": set_2024}
    for i in range(3):
        proc = screening_process(
            seeded_home, "import", "ofac_sdn", *sets["2024" if i % 2 == 0 else "2023"]
        )
        time.sleep(rng.uniform(0.5, 3.0))
        proc.kill()
        proc.communicate(timeout=60)
        assert consistent(seeded_home).record_count in COUNTS.values()
    code, output = run_screening(seeded_home, "import", "ofac_sdn", *set_2024)
    assert code == 0, output
    assert consistent(seeded_home).record_count == COUNTS["2024"]


# -- disk full, read-only directory -------------------------------------------------------------

FILE_SIZE_LIMIT = """
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))
"""


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_full_disk_fails_the_import_cleanly(seeded_home: Path, set_2024: list[Path]) -> None:
    """No file may grow past 300 kB: the new snapshot cannot be written. One line says so, the
    old snapshot stays current, and the store still works."""
    before = consistent(seeded_home)
    code, output = run_screening(
        seeded_home, "import", "ofac_sdn", *set_2024, prelude=FILE_SIZE_LIMIT
    )
    assert code == 3
    (line,) = [x for x in output.splitlines() if "ofac_sdn" in x and "FAILED" in x]
    assert "cannot write the ofac_sdn snapshot" in line and "(is the disk full?)" in line
    assert f"keeping snapshot {before.id}" in line
    assert "Traceback" not in output
    assert consistent(seeded_home).id == before.id
    code, output = run_screening(seeded_home, "status")  # the store still works, and says
    assert code == 0, output
    assert "ofac_sdn: last refresh failed: cannot write the ofac_sdn snapshot" in output


def _drop_dac_override() -> None:  # pragma: no cover - runs in the child
    """Make a root child respect file permissions: drop CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH from the bounding set before exec."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _as_unprivileged() -> dict[str, object]:
    if os.geteuid() != 0:
        return {}
    if not sys.platform.startswith("linux"):
        pytest.skip("running as root and cannot drop CAP_DAC_OVERRIDE here")
    return {"preexec_fn": _drop_dac_override}


@pytest.fixture
def read_only(seeded_home: Path) -> Iterator[Callable[[bool], None]]:
    """Make the data directory read-only (and, if asked, its files too); undone afterwards."""
    files = [p for p in seeded_home.iterdir() if p.is_file()]

    def apply(files_too: bool) -> None:
        if files_too:
            for p in files:
                p.chmod(0o400)
        seeded_home.chmod(0o500)

    yield apply
    seeded_home.chmod(0o700)
    for p in files:
        p.chmod(0o600)


@pytest.mark.parametrize("files_too", [False, True], ids=["directory", "directory-and-files"])
def test_a_read_only_data_directory_is_one_clear_line(
    seeded_home: Path,
    set_2024: list[Path],
    read_only: Callable[[bool], None],
    files_too: bool,
) -> None:
    store = seeded_home / "screening.sqlite3"
    digest = file_digest(store)
    read_only(files_too)
    extra = _as_unprivileged()
    for args in (("import", "ofac_sdn", *set_2024), ("check", "Rosneft"), ("status",)):
        code, output = run_screening(seeded_home, *args, **extra)
        assert code == 3, output
        (line,) = output.strip().splitlines()
        assert line.startswith("error: cannot ")
        assert str(seeded_home) in line
        assert "is the directory writable?" in line or "lock file" in line
    assert file_digest(store) == digest  # nothing written, nothing half-written
    assert sorted(p.name for p in seeded_home.iterdir()) == [store.name]


# -- readers during refreshes ------------------------------------------------------------------


def test_readers_never_see_a_mixed_snapshot(seeded_home: Path, set_2024: list[Path]) -> None:
    """An import of the 2024 list runs in another process while this one reads the current
    snapshot again and again: each read is exactly the 2023 list or exactly the 2024 one."""
    store_path = seeded_home / "screening.sqlite3"
    with Store(store_path) as store:
        ids_2023 = frozenset(store.entry_hashes(store.current()["ofac_sdn"].id))
    writer = screening_process(seeded_home, "import", "ofac_sdn", *set_2024)
    reads: dict[int, set[frozenset[str]]] = {}
    with Store(store_path) as reader:
        while writer.poll() is None:
            info, entries = reader.read_current(["ofac_sdn"])["ofac_sdn"]
            assert info.record_count == len(entries)
            reads.setdefault(info.id, set()).add(frozenset(e.entry_id for e in entries))
            time.sleep(0.05)  # two cores: leave the writer some
    out, err = writer.communicate()
    assert writer.returncode == 0, out + err
    with Store(store_path) as store:
        current = store.current()["ofac_sdn"]
        ids_2024 = frozenset(store.entry_hashes(current.id))
    assert len(ids_2023) == COUNTS["2023"] and len(ids_2024) == COUNTS["2024"]
    assert all(len(seen) == 1 for seen in reads.values())  # a snapshot never changes
    assert {ids for seen in reads.values() for ids in seen} <= {ids_2023, ids_2024}
    assert reads  # and it was read while the import ran


# -- the name index cache ----------------------------------------------------------------------


def test_a_damaged_index_cache_is_rebuilt(screened_home: Path) -> None:
    from screening.config import load_settings
    from screening.screener import Screener

    (cache,) = (screened_home / "index").glob("names-*.pickle")
    cache.write_bytes(b"\x80\x09" + os.urandom(64))
    screener = Screener.open(load_settings(home=screened_home, environ={}))
    assert screener.screen("Rosneft").hits
