"""Rule files are validated on load: every mistake is a ConfigError naming file, rule and field."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from screening.errors import ConfigError
from screening.rules import KINDS, default_ruleset_path, load_ruleset

HEAD = 'name = "test"\nversion = "1"\n\n[documents.DOC]\ntitle = "A document"\n\n'
RULE = 'id = "r1"\ndescription = "d"\nseverity = "high"\ndecision = "review"\nsources = ["DOC"]\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_ruleset(path)
    message = str(info.value)
    assert message.startswith(f"{path.resolve()}: ")
    assert "\n" not in message
    return message.removeprefix(f"{path.resolve()}: ")


def rule(body: str, kind: str = "restricted_destination") -> str:
    return f'{HEAD}[[rules]]\n{RULE}kind = "{kind}"\n{body}\n'


def test_the_default_rule_set_loads_with_every_kind() -> None:
    rs = load_ruleset()
    assert rs.path == default_ruleset_path().resolve()
    assert {r.kind for r in rs.rules} == set(KINDS)
    assert rs.sha256 == hashlib.sha256(default_ruleset_path().read_bytes()).hexdigest()
    assert len({r.id for r in rs.rules}) == len(rs.rules) == 12
    assert [r.id for r in rs.rules if not r.enabled] == ["end-user-missing"]  # off by default


@pytest.mark.parametrize(
    ("body", "kind", "expected"),
    [
        (
            "",
            "sanctions_magic",
            "rule 'r1': kind: 'sanctions_magic' is not a rule kind (party_list_match,",
        ),
        (
            'contries = ["RU"]',
            "restricted_destination",
            "rule 'r1': contries: unknown field (known: chpl_tiers,",
        ),
        (
            'places = ["RU", "XX"]',
            "restricted_destination",
            "rule 'r1': places[1]: 'XX' is not a country code, ISO 3166-2 region code or @table",
        ),
        (
            'places = ["@sanctioned"]',
            "restricted_destination",
            "rule 'r1': places[0]: '@sanctioned' is not a country table "
            "(@transshipment_risk, @restricted, @gecc)",
        ),
        (
            'hs_codes = ["85A2"]',
            "restricted_destination",
            "rule 'r1': hs_codes[0]: '85A2' is not an HS chapter, heading or subheading "
            "(2, 4, 6 digits)",
        ),
        (
            "hs_codes = [854231]",
            "restricted_destination",
            "rule 'r1': hs_codes[0]: 854231 is not an HS code: write it as a string",
        ),
        (
            'chpl_tiers = ["5"]',
            "restricted_destination",
            "rule 'r1': chpl_tiers[0]: '5' is not a CHPL tier (1, 2, 3.A, 3.B, 4.A, 4.B)",
        ),
        (
            'route_positions = ["middle"]',
            "restricted_destination",
            "rule 'r1': route_positions[0]: 'middle': "
            "input should be 'origin', 'transit' or 'destination'",
        ),
        (
            'roles = ["shipper"]',
            "restricted_destination",
            "rule 'r1': roles[0]: 'shipper': input should be 'exporter',",
        ),
        (  # QA: rules that can never fire passed validation
            "route_positions = []\nroles = []",
            "restricted_destination",
            "rule 'r1': route_positions and roles are both empty: the rule can never fire",
        ),
        (
            "chpl_tiers = []",
            "chpl_via_risk_country",
            "rule 'r1': chpl_tiers and hs_codes are both empty: no goods line can match",
        ),
        (
            "min_score = 1.5",
            "party_list_match",
            "rule 'r1': min_score: 1.5: input should be less than or equal to 1",
        ),
        (
            'lists = ["ofac-sdn"]',
            "party_list_match",
            "rule 'r1': lists: 'ofac-sdn' is not a list source (",
        ),
        (
            'tier_severity = { "1" = "severe" }',
            "chpl_via_risk_country",
            "rule 'r1': tier_severity.1: 'severe': "
            "input should be 'low', 'medium', 'high' or 'critical'",
        ),
        (
            'incorporated_on_or_after = "last year"',
            "new_buyer_high_priority",
            "rule 'r1': incorporated_on_or_after: 'last year': input should be a valid date",
        ),
    ],
)
def test_bad_parameters_are_named(tmp_path: Path, body: str, kind: str, expected: str) -> None:
    assert error(tmp_path, rule(body, kind)).startswith(expected)


def test_bad_common_fields_are_named(tmp_path: Path) -> None:
    bad_severity = rule("").replace('severity = "high"', 'severity = "urgent"')
    assert error(tmp_path, bad_severity).startswith(
        "rule 'r1': severity: 'urgent': input should be 'low', 'medium', 'high' or 'critical'"
    )
    bad_decision = rule("").replace('decision = "review"', 'decision = "clear"')
    assert error(tmp_path, bad_decision).startswith(
        "rule 'r1': decision: 'clear': input should be 'review' or 'block'"
    )
    bad_id = rule("").replace('id = "r1"', 'id = "Rule One"')
    assert error(tmp_path, bad_id).startswith(
        "rule 'Rule One': id: 'Rule One': string should match"
    )
    no_kind = f"{HEAD}[[rules]]\n{RULE}"
    assert error(tmp_path, no_kind) == "rule 'r1': kind: field required"
    no_description = rule("").replace('description = "d"\n', "")
    assert error(tmp_path, no_description) == "rule 'r1': description: field required"


def test_sources_must_be_declared_documents(tmp_path: Path) -> None:
    text = rule("").replace('sources = ["DOC"]', 'sources = ["DOC", "FIN-2099"]')
    assert error(tmp_path, text) == (
        "rule 'r1': sources[1]: 'FIN-2099' is not declared under [documents] (declared: DOC)"
    )
    empty = rule("").replace('sources = ["DOC"]', "sources = []")
    assert error(tmp_path, empty).startswith("rule 'r1': sources: ")


def test_rule_ids_are_unique(tmp_path: Path) -> None:
    text = rule("") + f'\n[[rules]]\n{RULE}kind = "residential_address"\n'
    assert error(tmp_path, text) == "rule 'r1': id: 'r1' is used by another rule"


def test_rules_without_an_id_are_named_by_position(tmp_path: Path) -> None:
    text = rule("") + '\n[[rules]]\nkind = "residential_address"\n'
    assert error(tmp_path, text).startswith("rules[1]: id: field required")


def test_file_level_errors(tmp_path: Path) -> None:
    assert error(tmp_path, "name = \n").startswith("not valid TOML: ")
    assert error(tmp_path, 'name = "x"\n').startswith("version: field required")
    assert error(tmp_path, 'name = "x"\nversion = "1"\nrules = []\n').startswith("rules: ")
    extra = 'name = "x"\nversion = "1"\nauthor = "me"\n[[rules]]\nid = "a"\n'
    assert error(tmp_path, extra).startswith("author: unknown field (known: ")
    bad_doc = rule("").replace('title = "A document"', 'title = "A document"\ndate = "soon"')
    assert error(tmp_path, bad_doc).startswith(
        "documents.DOC.date: 'soon': input should be a valid date"
    )
    with pytest.raises(ConfigError, match="cannot read rule file"):
        load_ruleset(tmp_path / "missing.toml")


def test_country_names_in_rule_files_become_codes(tmp_path: Path) -> None:
    rs = load_ruleset(
        write(tmp_path, rule('places = ["Türkiye", "kyrgyz republic", "Crimea", "by"]'))
    )
    assert rs.rules[0].places == ["TR", "KG", "UA-43", "BY"]  # type: ignore[union-attr]
    assert rs.places(rs.rules[0].places) == frozenset({"TR", "KG", "UA-43", "BY"})  # type: ignore[union-attr]


def test_the_version_is_the_files_version_plus_its_hash(tmp_path: Path) -> None:
    path = write(tmp_path, rule(""))
    first = load_ruleset(path).version_info
    path.write_text(
        path.read_text(encoding="utf-8") + "# a comment changes the hash\n", encoding="utf-8"
    )
    second = load_ruleset(path).version_info
    assert first.version == second.version == "1"
    assert first.sha256 != second.sha256
    assert re.fullmatch(r"test 1 \(sha256 [0-9a-f]{12}\)", first.label)


def test_other_reference_tables_can_be_named_and_are_validated(tmp_path: Path) -> None:
    lists = default_ruleset_path().parent.parent
    shutil.copy(lists / "chpl.toml", tmp_path / "chpl.toml")
    countries = (lists / "risk_countries.toml").read_text(encoding="utf-8")
    (tmp_path / "countries.toml").write_text(
        countries.replace('code = "AZ"', 'code = "MY"').replace(
            'name = "Azerbaijan"', 'name = "Malaysia"'
        ),
        encoding="utf-8",
    )
    text = rule('places = ["@transshipment_risk"]').replace(
        "[documents.DOC]",
        '[tables]\nchpl = "chpl.toml"\nrisk_countries = "countries.toml"\n\n[documents.DOC]',
    )
    rs = load_ruleset(write(tmp_path, text))
    assert "MY" in rs.reference.table("transshipment_risk")
    assert "AZ" not in rs.reference.table("transshipment_risk")
    assert rs.version_info.references[1].sha256 != load_ruleset().version_info.references[1].sha256

    (tmp_path / "countries.toml").write_text(
        countries.replace('code = "AZ"', 'code = "ZZ"'), encoding="utf-8"
    )
    with pytest.raises(
        ConfigError,
        match=r"countries.toml: transshipment_risk.entries\[18\].code: 'ZZ' is not an ISO 3166",
    ):
        load_ruleset(write(tmp_path, text))
