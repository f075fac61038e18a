"""Cell values safe for spreadsheets: a value a spreadsheet would run as a formula is quoted."""

from __future__ import annotations

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> str:
    """The text of ``value``, prefixed with ``'`` when it would start a formula (CSV
    injection: ``=HYPERLINK(...)``, ``+cmd|...``, ``@SUM(...)``)."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        # A plain negative number is data, not a formula.
        if text[0] in "-+" and _is_number(text[1:]):
            return text
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
