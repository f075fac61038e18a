"""The declared public API (httpx practice): __all__ is exactly the supported names, each
importable, and every CLI command is documented in the README (sqlite-utils practice)."""

from __future__ import annotations

import re
from pathlib import Path

import screening

EXPECTED = {
    "Address", "BatchResult", "BatchRow", "Comparison", "ConfigError", "Decision",
    "DownloadError", "EntityType", "Finding", "GoodsLine", "Hit", "Identifier", "InputError",
    "ListEntry", "LockedError", "Name", "NameKind", "ParseError", "Party", "PartyRole",
    "RefreshReport", "RejectedRow", "RuleSet", "RuleSetVersion", "ScoreExplanation",
    "Screener", "ScreeningError", "ScreeningResult", "Settings", "Severity", "Shipment",
    "ShipmentResult", "SnapshotDiff", "SnapshotInfo", "SnapshotRef", "SourceError",
    "SourceOutcome", "SourceStatus", "StaleDataError", "Store", "StoreError",
    "ValidationError", "__version__", "compare", "evaluate_shipment", "import_files",
    "load_ruleset", "load_settings", "load_shipments", "refresh", "screen_rows", "status",
}  # fmt: skip


def test_all_is_exactly_the_public_names() -> None:
    assert set(screening.__all__) == EXPECTED


def test_every_public_name_resolves() -> None:
    for name in screening.__all__:
        assert getattr(screening, name) is not None, name


def test_public_functions_are_functions_whatever_was_imported_first() -> None:
    """A public name must not be shadowed by a submodule of the same name (importing
    ``screening.status`` would set the package's ``status`` to the module)."""
    import subprocess
    import sys

    orders = [
        "from screening import SourceStatus, status, import_files, refresh",
        "from screening import *",
        "import screening.screener, screening.store, screening.cli; from screening import *",
    ]
    for first in orders:
        code = (
            f"{first}\nimport screening, types\n"
            "bad = [n for n in screening.__all__ if isinstance(getattr(screening, n), "
            "types.ModuleType)]\nprint(bad)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert out.strip() == "[]", (first, out)
    assert callable(screening.status) and callable(screening.refresh)


def test_one_exception_root() -> None:
    for name in screening.__all__:
        obj = getattr(screening, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, screening.ScreeningError), name


def test_every_command_is_documented_in_the_readme() -> None:
    from typer.main import get_command

    from screening.cli import app

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    root = get_command(app)
    names = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        if subs:
            names.extend(f"{name} {sub}" for sub in subs)
        else:
            names.append(name)
    missing = [n for n in names if not re.search(rf"screening {re.escape(n)}\b", readme)]
    assert not missing, f"commands not in README.md: {missing}"


def test_the_python_examples_of_the_docs_run(screened_home: Path) -> None:
    """The README's and docs/audit.md's Python blocks, verbatim, against the seed lists."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    for doc in ("README.md", "docs/audit.md"):
        text = (root / doc).read_text(encoding="utf-8")
        blocks = re.findall(r"```python\n(.*?)```", text, re.S)
        assert blocks, doc
        for code in blocks:
            done = subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                env={**os.environ, "SCREENING_HOME": str(screened_home)},
                cwd=screened_home,
                check=False,
            )
            assert done.returncode == 0, (doc, done.stderr[-2000:])
