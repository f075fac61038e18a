"""Rules as data: the rule kinds, rule files, and their validation.

A rule file is TOML (``lists/rules/default.toml`` is the bundled one)::

    name = "default"
    version = "2026.11.22"
    description = "..."

    [tables]                      # optional: other reference files, relative to this file
    chpl = "../chpl.toml"
    risk_countries = "../risk_countries.toml"

    [documents.FIN-2022-Alert003] # the documents rules cite
    title = "FinCEN and BIS Joint Alert ..."
    issuer = "FinCEN; BIS"
    date = 2022-06-28
    url = "https://..."

    [[rules]]
    id = "chpl-transshipment"
    kind = "chpl_via_risk_country"
    description = "..."
    severity = "medium"           # low | medium | high | critical
    decision = "review"           # review | block
    sources = ["CHPL-2024-02-23", "FIN-2022-Alert003"]
    places = ["@transshipment_risk"]
    chpl_tiers = ["1", "2", "3.A", "3.B", "4.A", "4.B"]

Every rule has ``id``, ``kind``, ``description``, ``severity``, ``decision``, ``sources`` (ids of
``[documents]``) and ``enabled`` (default true); the rest are the parameters of its kind (the
classes below document them). The kinds are a closed set implemented in
``screening.rules.engine``; the file picks kinds and parameters.

Parameter types:

* *places*: ISO 3166-1 alpha-2 country codes (or country names), ISO 3166-2 subdivision codes
  (``"UA-43"``), or a whole table of ``lists/risk_countries.toml``: ``"@transshipment_risk"``,
  ``"@restricted"``, ``"@gecc"``. A place matches a country entry when it lies in that country.
* *chpl_tiers*: CHPL tiers ``"1"``, ``"2"``, ``"3.A"``, ``"3.B"``, ``"4.A"``, ``"4.B"``.
* *hs_codes*: HS prefixes of 2, 4 or 6 digits (``"85"``, ``"8542"``, ``"8542.31"``); a goods
  line matches when its HS-6 code starts with one.
* *roles*: party roles (``exporter``, ``buyer``, ``consignee``, ``end_user``, ...).
* *route_positions*: ``origin``, ``transit``, ``destination``.

Validation on load is strict: an unknown kind, an unknown field, a bad country, HS code, tier,
severity or decision, a duplicate rule id or an undeclared document is a ``ConfigError`` naming
the file, the rule id and the field.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from screening.config import source_definitions
from screening.rules.reference import CHPL_TIERS, TABLE_NAMES
from screening.shipments import PartyRole, to_place

__all__ = [
    "KINDS",
    "ChplViaRiskCountry",
    "Decision",
    "DocumentSpec",
    "ForwarderAsEndUser",
    "NewBuyerHighPriority",
    "PartyListMatch",
    "PayerThirdCountry",
    "ResidentialAddress",
    "RestrictedDestination",
    "RiskThenRestrictedRoute",
    "Rule",
    "RuleDecision",
    "RuleFile",
    "Severity",
]


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for critical … 3 for low (findings sort on it)."""
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)


class Decision(StrEnum):
    """A shipment's decision: the worst decision among its findings, else clear."""

    BLOCK = "block"
    REVIEW = "review"
    CLEAR = "clear"

    @property
    def rank(self) -> int:
        """0 for block, 1 for review, 2 for clear."""
        return (Decision.BLOCK, Decision.REVIEW, Decision.CLEAR).index(self)


RuleDecision = Literal["review", "block"]
RoutePosition = Literal["origin", "transit", "destination"]
_ALL_POSITIONS: tuple[RoutePosition, ...] = ("origin", "transit", "destination")
_AFTER_ORIGIN: tuple[RoutePosition, ...] = ("transit", "destination")

ALL_ROLES: tuple[PartyRole, ...] = tuple(PartyRole)
_NOT_ORIGIN_ROLES: tuple[PartyRole, ...] = tuple(
    r for r in PartyRole if r not in (PartyRole.EXPORTER, PartyRole.SELLER)
)


def _place_spec(value: object) -> object:
    """A place code, a country name turned into its code, or ``@table``."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("@"):
        if text[1:] not in TABLE_NAMES:
            tables = ", ".join("@" + t for t in TABLE_NAMES)
            raise ValueError(f"{value!r} is not a country table ({tables})")
        return text
    code = to_place(text)
    if code is None:
        raise ValueError(f"{value!r} is not a country code, ISO 3166-2 region code or @table")
    return code


def _hs_prefix(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError(f'{value!r} is not an HS code: write it as a string, e.g. "8542.31"')
    digits = value.replace(".", "").replace(" ", "")
    if not digits.isdigit() or not digits.isascii() or len(digits) not in (2, 4, 6):
        raise ValueError(f"{value!r} is not an HS chapter, heading or subheading (2, 4, 6 digits)")
    return digits


def _tier(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # tiers 1 and 2 written as numbers
    if not isinstance(value, str) or value.upper() not in CHPL_TIERS:
        raise ValueError(f"{value!r} is not a CHPL tier ({', '.join(CHPL_TIERS)})")
    return value.upper()


PlaceSpec = Annotated[str, BeforeValidator(_place_spec)]
HsPrefix = Annotated[str, BeforeValidator(_hs_prefix)]
Tier = Annotated[str, BeforeValidator(_tier)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DocumentSpec(_Frozen):
    """A document rules cite as their source."""

    title: str = Field(min_length=1)
    issuer: str | None = None
    date: dt.date | None = None
    url: str | None = None
    note: str | None = None


class _RuleBase(_Frozen):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    description: str = Field(min_length=1)
    severity: Severity
    decision: RuleDecision
    sources: list[str] = Field(min_length=1)
    enabled: bool = True


class _GoodsFilter(_Frozen):
    """Optional goods condition: a line matches by CHPL tier or by HS prefix. Both empty means
    the rule does not look at the goods."""

    chpl_tiers: list[Tier] = Field(default_factory=list)
    hs_codes: list[HsPrefix] = Field(default_factory=list)

    @property
    def has_goods_filter(self) -> bool:
        return bool(self.chpl_tiers or self.hs_codes)


class PartyListMatch(_RuleBase):
    """A party's name matched a list entry.

    ``lists``: source ids the hit must come from (empty: any list); ``min_score``: the lowest
    hit score that counts (unset: every hit the screener reports, i.e. its alert threshold);
    ``roles``: the party roles looked at (default: all).
    """

    kind: Literal["party_list_match"]
    lists: list[str] = Field(default_factory=list)
    min_score: float | None = Field(default=None, gt=0, le=1)
    roles: list[PartyRole] = Field(default_factory=lambda: list(ALL_ROLES), min_length=1)

    @field_validator("lists")
    @classmethod
    def _lists(cls, v: list[str]) -> list[str]:
        known = {d.id for d in source_definitions()}
        for source in v:
            if source not in known:
                raise ValueError(f"{source!r} is not a list source ({', '.join(sorted(known))})")
        return v


def _where_or_never(route_positions: list[RoutePosition], roles: list[PartyRole]) -> None:
    """A rule that looks neither at the route nor at any party can never fire."""
    if not route_positions and not roles:
        raise ValueError("route_positions and roles are both empty: the rule can never fire")


class RestrictedDestination(_GoodsFilter, _RuleBase):
    """A restricted place on the route (at ``route_positions``) or as the place of a party in
    ``roles``; with a goods filter, only when a goods line matches it."""

    kind: Literal["restricted_destination"]
    places: list[PlaceSpec] = Field(default_factory=lambda: ["@restricted"], min_length=1)
    route_positions: list[RoutePosition] = Field(default_factory=lambda: list(_ALL_POSITIONS))
    roles: list[PartyRole] = Field(default_factory=lambda: list(ALL_ROLES))

    @model_validator(mode="after")
    def _can_fire(self) -> RestrictedDestination:
        _where_or_never(self.route_positions, self.roles)
        return self


class ChplViaRiskCountry(_GoodsFilter, _RuleBase):
    """CHPL goods (of ``chpl_tiers``, or matching ``hs_codes``) going to or via one of
    ``places`` on the route, or with a party in ``roles`` there. One finding per goods code,
    carrying its tier; ``tier_severity`` may raise or lower the severity per tier."""

    kind: Literal["chpl_via_risk_country"]
    places: list[PlaceSpec] = Field(default_factory=lambda: ["@transshipment_risk"], min_length=1)
    chpl_tiers: list[Tier] = Field(default_factory=lambda: list(CHPL_TIERS))
    route_positions: list[RoutePosition] = Field(default_factory=lambda: list(_AFTER_ORIGIN))
    roles: list[PartyRole] = Field(default_factory=lambda: list(_NOT_ORIGIN_ROLES))
    tier_severity: dict[Tier, Severity] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _can_fire(self) -> ChplViaRiskCountry:
        _where_or_never(self.route_positions, self.roles)
        if not (self.chpl_tiers or self.hs_codes):
            raise ValueError("chpl_tiers and hs_codes are both empty: no goods line can match")
        return self


class RiskThenRestrictedRoute(_GoodsFilter, _RuleBase):
    """A route on which a place of ``first`` comes before a place of ``then``."""

    kind: Literal["risk_then_restricted_route"]
    first: list[PlaceSpec] = Field(default_factory=lambda: ["@transshipment_risk"], min_length=1)
    then: list[PlaceSpec] = Field(default_factory=lambda: ["@restricted"], min_length=1)


class ForwarderAsEndUser(_RuleBase):
    """A freight forwarder given as end user or consignee, with no other end user named.

    A party in ``roles`` counts as a forwarder when the same name is also given as the
    shipment's freight forwarder, or when its name contains one of ``keywords`` as whole
    words (case and accents do not matter).
    """

    kind: Literal["forwarder_as_end_user"]
    roles: list[PartyRole] = Field(
        default_factory=lambda: [PartyRole.END_USER, PartyRole.CONSIGNEE], min_length=1
    )
    keywords: list[str] = Field(default_factory=list)


class PayerThirdCountry(_RuleBase):
    """The payer's country differs from both the buyer's and the destination country.

    ``payer_roles`` are the parties that pay; ``buyer_roles`` the parties whose country the
    payer may share (the first role present is used; with several such parties, any of their
    countries). Does not fire when the payer's country is unknown.
    """

    kind: Literal["payer_third_country"]
    payer_roles: list[PartyRole] = Field(default_factory=lambda: [PartyRole.PAYER], min_length=1)
    buyer_roles: list[PartyRole] = Field(
        default_factory=lambda: [PartyRole.BUYER, PartyRole.CONSIGNEE], min_length=1
    )


class NewBuyerHighPriority(_GoodsFilter, _RuleBase):
    """A party in ``roles`` incorporated on or after ``incorporated_on_or_after`` in a country
    outside ``partner_countries``, when a goods line matches the goods filter (by default
    CHPL tiers 1 and 2). Fires only when the incorporation date is given."""

    kind: Literal["new_buyer_high_priority"]
    roles: list[PartyRole] = Field(default_factory=lambda: [PartyRole.BUYER], min_length=1)
    incorporated_on_or_after: dt.date = dt.date(2022, 2, 24)
    partner_countries: list[PlaceSpec] = Field(default_factory=lambda: ["@gecc"])
    chpl_tiers: list[Tier] = Field(default_factory=lambda: ["1", "2"])


class ResidentialAddress(_RuleBase):
    """A party in ``roles`` flagged as having a residential address."""

    kind: Literal["residential_address"]
    roles: list[PartyRole] = Field(default_factory=lambda: list(ALL_ROLES), min_length=1)


class PartyNotScreened(_RuleBase):
    """A party in ``roles`` that is named in the shipment without a name the lists can be
    searched for (blank): it cannot be cleared against the lists."""

    kind: Literal["party_not_screened"]
    roles: list[PartyRole] = Field(default_factory=lambda: list(ALL_ROLES), min_length=1)


_ALL_TIERS = ("1", "2", "3.A", "3.B", "4.A", "4.B")  # the CHPL's tiers (rules.reference)


class PartyMissing(_GoodsFilter, _RuleBase):
    """No party of a role in ``roles`` is given (by default the end user), when a goods line
    matches the goods filter (by default CHPL tiers 1 to 4): who will use the goods is unknown."""

    kind: Literal["party_missing"]
    roles: list[PartyRole] = Field(default_factory=lambda: [PartyRole.END_USER], min_length=1)
    chpl_tiers: list[Tier] = Field(default_factory=lambda: list(_ALL_TIERS))


Rule = Annotated[
    PartyListMatch
    | RestrictedDestination
    | ChplViaRiskCountry
    | RiskThenRestrictedRoute
    | ForwarderAsEndUser
    | PayerThirdCountry
    | NewBuyerHighPriority
    | ResidentialAddress
    | PartyNotScreened
    | PartyMissing,
    Field(discriminator="kind"),
]

#: kind name -> rule class
KINDS: dict[str, type[_RuleBase]] = {
    "party_list_match": PartyListMatch,
    "restricted_destination": RestrictedDestination,
    "chpl_via_risk_country": ChplViaRiskCountry,
    "risk_then_restricted_route": RiskThenRestrictedRoute,
    "forwarder_as_end_user": ForwarderAsEndUser,
    "payer_third_country": PayerThirdCountry,
    "new_buyer_high_priority": NewBuyerHighPriority,
    "residential_address": ResidentialAddress,
    "party_not_screened": PartyNotScreened,
    "party_missing": PartyMissing,
}


class TablePaths(_Frozen):
    """Reference files to use instead of the bundled ones (paths relative to the rule file)."""

    chpl: str | None = None
    risk_countries: str | None = None


class RuleFile(_Frozen):
    """The top level of a rule file (``rules`` are validated one by one, see ``load``)."""

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    description: str | None = None
    tables: TablePaths = TablePaths()
    documents: dict[str, DocumentSpec] = Field(default_factory=dict)
    rules: list[dict[str, object]] = Field(min_length=1)
