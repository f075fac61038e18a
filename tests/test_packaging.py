"""The wheel: it carries lists/ and seeds/ inside the package, and an installation from it
screens offline on the bundled seed without the source checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("screening-*.whl")
    return built


def test_wheel_ships_the_bundled_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(
        ["git", "ls-files", "lists", "seeds"], cwd=REPO, capture_output=True, text=True
    )
    expected = (
        tracked.stdout.split()
        if tracked.returncode == 0 and tracked.stdout.strip()
        else [
            str(p.relative_to(REPO))
            for top in ("lists", "seeds")
            for p in (REPO / top).rglob("*")
            if p.is_file()
        ]
    )
    assert expected
    missing = [p for p in expected if f"screening/_data/{p}" not in names]
    assert missing == []
    assert {"screening/py.typed", "screening/cli/__init__.py"} <= names
    # No tests, scripts or caches in the wheel.
    assert not [n for n in names if n.startswith(("tests/", "scripts/")) or "__pycache__" in n]


def test_installed_wheel_screens_offline_on_the_seed(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCREENING_", "PYTHONPATH"))}
    env.update(PYTHONPATH=str(site), SCREENING_HOME=str(tmp_path / "home"))
    where = subprocess.run(
        [sys.executable, "-c", "import screening._resources as r; print(r.data_dir('seeds'))"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()) == site / "screening" / "_data" / "seeds"

    done = subprocess.run(
        [sys.executable, "-m", "screening", "check", "Sergei Shoigu", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr  # 1: potential match
    result = json.loads(done.stdout)
    assert [(h["source"], h["entry_id"]) for h in result["hits"]][:1] == [("ofac_sdn", "35173")]
    assert all(s["origin"] == "seed" for s in result["snapshots"])
