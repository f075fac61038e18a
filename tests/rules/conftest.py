"""Fixtures for the rule tests (helpers live in rules_helpers.py)."""

from __future__ import annotations

import pytest
from rules_helpers import KRAL_AVIATION_ID, csl_row

from screening.rules import RuleSet, load_ruleset


@pytest.fixture(scope="session")
def kral_row() -> dict[str, str]:
    """The real Entity List row of Kral Aviation (Istanbul) from the 2023-11-30 CSL file."""
    return csl_row(KRAL_AVIATION_ID)


@pytest.fixture(scope="session")
def ruleset() -> RuleSet:
    """The bundled default rule set."""
    return load_ruleset()
