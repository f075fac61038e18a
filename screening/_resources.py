"""Where the bundled data lives: ``lists/`` and ``seeds/``.

In a wheel they ship inside the package as ``screening/_data/{lists,seeds}``; in a source checkout
(editable install, tests) they are the top-level ``lists/`` and ``seeds/`` directories.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """The directory of bundled data called ``name`` (``"lists"`` or ``"seeds"``)."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled data directory {name!r} is missing from this installation")


def lists_path(*parts: str) -> Path:
    return data_dir("lists").joinpath(*parts)


def seeds_path(*parts: str) -> Path:
    return data_dir("seeds").joinpath(*parts)
