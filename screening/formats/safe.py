"""Cell values safe for spreadsheets: a value a spreadsheet would run as a formula is quoted.

OWASP's rule for CSV injection: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is read as a formula by Excel, LibreOffice and Google Sheets, so it gets a
leading ``'`` (shown as text, not evaluated). A plain signed number (``-12.5``) is data, kept.
"""

from __future__ import annotations

import re

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"[+-](?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def spreadsheet_safe(value: object) -> str:
    """The text of ``value``, prefixed with ``'`` when it would start a formula (CSV
    injection: ``=HYPERLINK(...)``, ``+cmd|...``, ``@SUM(...)``)."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        if _SIGNED_NUMBER.fullmatch(text):
            return text
        return "'" + text
    return text
