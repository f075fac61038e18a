"""Evaluating a rule set over a shipment: :func:`evaluate_shipment`.

The evaluation is a pure function of the shipment, the rule set and the party screener (a
callable that screens one party's name, e.g. ``lambda p: screener.screen(p.name,
country=p.country, kind=p.type)``): the same three give the same result.

Each rule kind has one evaluator here; adding a kind is a class in ``model.py`` plus an
evaluator registered in ``_EVALUATORS``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from anyascii import anyascii

from screening.countries import country_name
from screening.models import Hit, NameKind, ScreeningResult, SnapshotRef
from screening.rules.model import (
    ChplViaRiskCountry,
    Decision,
    ForwarderAsEndUser,
    NewBuyerHighPriority,
    PartyListMatch,
    PartyMissing,
    PartyNotScreened,
    PayerThirdCountry,
    ResidentialAddress,
    RestrictedDestination,
    RiskThenRestrictedRoute,
    Rule,
    Severity,
    _GoodsFilter,
)
from screening.rules.reference import CHPL_TIERS, format_hs6, place_country, place_in
from screening.rules.result import Finding, GoodsResult, PartyResult, ShipmentResult
from screening.rules.ruleset import RuleSet
from screening.shipments import Party, PartyRole, Shipment

__all__ = ["ScreenParty", "evaluate_shipment"]

#: Screens one party's name against the lists.
ScreenParty = Callable[[Party], ScreeningResult]


@dataclass(frozen=True, slots=True)
class _Goods:
    hs6: str
    code: str  # "8542.31"
    tier: str | None
    description: str | None  # the CHPL description, else the line's own


@dataclass(frozen=True, slots=True)
class _Context:
    shipment: Shipment
    ruleset: RuleSet
    route: tuple[str, ...]
    positions: tuple[tuple[str, frozenset[str]], ...]  # (place, {origin, transit, destination})
    screened: tuple[tuple[Party, ScreeningResult | None], ...]
    goods: tuple[_Goods, ...]  # one per distinct HS-6 code, highest CHPL tier first

    def place(self, place: str) -> str:
        """``RU (Russia)``, ``UA-43 (Crimea)``."""
        name = self.ruleset.reference.place_name(place) or country_name(place_country(place))
        return f"{place} ({name})" if name != place else place


def _tier_rank(tier: str | None) -> int:
    return CHPL_TIERS.index(tier) if tier in CHPL_TIERS else len(CHPL_TIERS)


def _positions(route: Sequence[str]) -> tuple[tuple[str, frozenset[str]], ...]:
    out = []
    last = len(route) - 1
    for i, place in enumerate(route):
        pos = set()
        if i == 0:
            pos.add("origin")
        if i == last:
            pos.add("destination")
        if 0 < i < last:
            pos.add("transit")
        out.append((place, frozenset(pos)))
    return tuple(out)


def _goods_of(shipment: Shipment, ruleset: RuleSet) -> tuple[_Goods, ...]:
    seen: dict[str, _Goods] = {}
    for line in shipment.goods:
        hs6 = line.hs6
        if hs6 in seen:
            continue
        item = ruleset.reference.chpl.get(hs6)
        seen[hs6] = _Goods(
            hs6=hs6,
            code=format_hs6(hs6),
            tier=item.tier if item else None,
            description=item.description if item else line.description,
        )
    return tuple(sorted(seen.values(), key=lambda g: (_tier_rank(g.tier), g.hs6)))


def _matching_goods(rule: _GoodsFilter, ctx: _Context) -> list[_Goods]:
    tiers = set(rule.chpl_tiers)
    return [
        g
        for g in ctx.goods
        if (g.tier is not None and g.tier in tiers)
        or any(g.hs6.startswith(p) for p in rule.hs_codes)
    ]


def _goods_text(goods: Iterable[_Goods]) -> str:
    parts = []
    for g in goods:
        tier = f"CHPL Tier {g.tier}" if g.tier else "listed HS code"
        parts.append(f"{g.code} ({tier})")
    return ", ".join(parts)


def _places(party: Party) -> tuple[str, ...]:
    """The place of a party, as a finding names it."""
    return (party.place,) if party.place else ()


def _finding(rule: Rule, ctx: _Context, message: str, **fields: object) -> Finding:
    severity = fields.pop("severity", None) or rule.severity
    return Finding.model_validate(
        {
            "rule_id": rule.id,
            "kind": rule.kind,
            "decision": rule.decision,
            "severity": severity,
            "message": message,
            "sources": ctx.ruleset.sources_of(rule),
            **fields,
        }
    )


# -- evaluators --------------------------------------------------------------------------------


def _name_kind(hit: Hit) -> str:
    if hit.matched_name_kind is NameKind.PRIMARY:
        return "primary name"
    weak = "weak " if hit.matched_name_weak else ""
    return f"{weak}alias ({hit.matched_name_kind.value})"


def _party_list_match(rule: PartyListMatch, ctx: _Context) -> Iterator[Finding]:
    for party, result in ctx.screened:
        if result is None or party.role not in rule.roles:
            continue
        hits = [
            h
            for h in result.hits
            if (not rule.lists or h.source in rule.lists)
            and (rule.min_score is None or h.score >= rule.min_score)
        ]
        if not hits:
            continue
        best = max(hits, key=lambda h: h.score)
        verb = "may be on" if rule.min_score is None else "matches"
        threshold = "" if rule.min_score is None else f" (at least {rule.min_score:.2f})"
        more = f"; {len(hits) - 1} more hit(s)" if len(hits) > 1 else ""
        programs = f" [{', '.join(best.programs)}]" if best.programs else ""
        message = (
            f"{party.label()} {verb} the {best.list_name}: entry {best.entry_id} "
            f"{best.matched_name!r} ({_name_kind(best)}){programs}, "
            f"score {best.score:.2f}{threshold}{more}"
        )
        yield _finding(
            rule,
            ctx,
            message,
            party_role=party.role,
            party_name=party.name,
            places=_places(party),
            hit=best,
        )


def _restricted_destination(rule: RestrictedDestination, ctx: _Context) -> Iterator[Finding]:
    places = ctx.ruleset.places(rule.places)
    goods = _matching_goods(rule, ctx)
    if rule.has_goods_filter and not goods:
        return
    wanted = set(rule.route_positions)
    where: dict[str, list[str]] = {}
    for place, pos in ctx.positions:
        hit_pos = sorted(pos & wanted)
        if hit_pos and place_in(place, places):
            where.setdefault(place, []).append(f"route {'/'.join(hit_pos)}")
    for party in ctx.shipment.parties:
        if party.role in rule.roles and party.place and place_in(party.place, places):
            where.setdefault(party.place, []).append(party.label())
    for place, texts in where.items():
        message = f"restricted destination {ctx.place(place)}: {'; '.join(texts)}"
        top = goods[0] if goods else None
        if goods:
            message += f"; goods: {_goods_text(goods)}"
        yield _finding(
            rule,
            ctx,
            message,
            places=(place,),
            hs_code=top.code if top else None,
            chpl_tier=top.tier if top else None,
        )


def _chpl_via_risk_country(rule: ChplViaRiskCountry, ctx: _Context) -> Iterator[Finding]:
    places = ctx.ruleset.places(rule.places)
    wanted = set(rule.route_positions)
    by_position: dict[str, list[str]] = {"origin": [], "transit": [], "destination": []}
    found: dict[str, None] = {}
    for place, pos in ctx.positions:
        hit_pos = pos & wanted
        if hit_pos and place_in(place, places):
            for p in ("origin", "transit", "destination"):
                if p in hit_pos:
                    by_position[p].append(ctx.place(place))
                    break
            found[place] = None
    where = [
        f"{word} {', '.join(by_position[p])}"
        for p, word in (("origin", "from"), ("transit", "via"), ("destination", "to"))
        if by_position[p]
    ]
    for party in ctx.shipment.parties:
        if party.role in rule.roles and party.place and place_in(party.place, places):
            where.append(party.label())
            found[party.place] = None
    if not where:
        return
    for g in _matching_goods(rule, ctx):
        what = f"CHPL Tier {g.tier} item" if g.tier else "item"
        desc = f" ({g.description})" if g.description else ""
        message = (
            f"{what} {g.code}{desc} goes to, via or with a party in a risk country: "
            f"{'; '.join(where)}"
        )
        severity = rule.tier_severity.get(g.tier) if g.tier else None
        yield _finding(
            rule,
            ctx,
            message,
            severity=severity,
            places=tuple(found),
            hs_code=g.code,
            chpl_tier=g.tier,
        )


def _risk_then_restricted(rule: RiskThenRestrictedRoute, ctx: _Context) -> Iterator[Finding]:
    goods = _matching_goods(rule, ctx)
    if rule.has_goods_filter and not goods:
        return
    first = ctx.ruleset.places(rule.first)
    then = ctx.ruleset.places(rule.then)
    route = ctx.route
    for i, place in enumerate(route):
        if not place_in(place, first):
            continue
        later = [p for p in route[i + 1 :] if place_in(p, then)]
        if not later:
            continue
        risky = [p for p in route[: route.index(later[0], i + 1)] if place_in(p, first)]
        derived = " (derived from the parties)" if ctx.shipment.route_is_derived else ""
        message = (
            f"route {' > '.join(route)}{derived} passes through risk country "
            f"{', '.join(ctx.place(p) for p in risky)} before restricted destination "
            f"{ctx.place(later[0])}"
        )
        if goods:
            message += f"; goods: {_goods_text(goods)}"
        top = goods[0] if goods else None
        yield _finding(
            rule,
            ctx,
            message,
            places=(*risky, later[0]),
            hs_code=top.code if top else None,
            chpl_tier=top.tier if top else None,
        )
        return


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _words(text: str) -> str:
    return f" {_NON_ALNUM.sub(' ', anyascii(text).casefold()).strip()} "


def _party_key(name: str) -> str:
    """A company's name as two mentions of it compare: legal form, punctuation, case and
    spacing aside ("Gulf Star F.Z.E." and "GULF STAR FZE" are one)."""
    from screening.names.normalize import parse_name

    tokens = parse_name(name, person=False).tokens
    return "".join(tokens) if tokens else _words(name).replace(" ", "")


def _forwarder_as_end_user(rule: ForwarderAsEndUser, ctx: _Context) -> Iterator[Finding]:
    parties = ctx.shipment.parties
    forwarders = {
        _party_key(p.name) for p in parties if p.role is PartyRole.FREIGHT_FORWARDER and p.name
    }
    keywords = [(k, _words(k)) for k in rule.keywords if _words(k).strip()]

    def why(p: Party) -> str | None:
        if not p.name:
            return None
        words = _words(p.name)
        if _party_key(p.name) in forwarders:
            return "also given as the freight forwarder"
        for keyword, kw in keywords:
            if kw in words:
                return f"name contains {keyword!r}"
        return None

    suspects = [(p, reason) for p in parties if p.role in rule.roles and (reason := why(p))]
    real_end_users = [p for p in parties if p.role is PartyRole.END_USER and why(p) is None]
    if not suspects or real_end_users:
        return
    for party, reason in suspects:
        message = (
            f"{party.label()} looks like a freight forwarder ({reason}) "
            "and no other end user is named"
        )
        yield _finding(
            rule,
            ctx,
            message,
            party_role=party.role,
            party_name=party.name,
            places=_places(party),
        )


def _payer_third_country(rule: PayerThirdCountry, ctx: _Context) -> Iterator[Finding]:
    parties = ctx.shipment.parties
    # Every party of the first buyer role present: with two buyers, either's country will do
    # (which one is listed first must not change the decision).
    buyers: list[Party] = []
    for role in rule.buyer_roles:
        buyers = [p for p in parties if p.role is role and p.country]
        if buyers:
            break
    buyer_countries = sorted({p.country for p in buyers if p.country})
    destination = ctx.route[-1] if ctx.route else None
    dest_country = place_country(destination) if destination else None
    if not buyers and dest_country is None:
        return
    for payer in parties:
        if payer.role not in rule.payer_roles or not payer.country:
            continue
        if payer.country in buyer_countries or payer.country == dest_country:
            continue
        others = []
        if buyers:
            role_name = buyers[0].role.value.replace("_", " ")
            if len(buyer_countries) == 1:
                others.append(f"the {role_name}'s country ({buyer_countries[0]})")
            else:
                others.append(f"the {role_name}s' countries ({', '.join(buyer_countries)})")
        if destination is not None:
            others.append(f"the destination ({destination})")
        message = f"{payer.label()} pays from {ctx.place(payer.country)}, not " + " or ".join(
            others
        )
        yield _finding(
            rule,
            ctx,
            message,
            party_role=payer.role,
            party_name=payer.name,
            places=(payer.country,),
        )


def _new_buyer(rule: NewBuyerHighPriority, ctx: _Context) -> Iterator[Finding]:
    goods = _matching_goods(rule, ctx)
    if not goods:
        return
    partners = ctx.ruleset.places(rule.partner_countries)
    cutoff = rule.incorporated_on_or_after
    for party in ctx.shipment.parties:
        if party.role not in rule.roles or party.incorporated_on is None:
            continue
        if party.incorporated_on < cutoff:
            continue
        if party.place and place_in(party.place, partners):
            continue
        where = party.place or "country not given"
        message = (
            f"{party.label()} was incorporated on {party.incorporated_on.isoformat()} "
            f"(on or after {cutoff.isoformat()}) outside the partner countries ({where}) "
            f"and trades {_goods_text(goods)}"
        )
        yield _finding(
            rule,
            ctx,
            message,
            party_role=party.role,
            party_name=party.name,
            places=_places(party),
            hs_code=goods[0].code,
            chpl_tier=goods[0].tier,
        )


def _residential_address(rule: ResidentialAddress, ctx: _Context) -> Iterator[Finding]:
    for party in ctx.shipment.parties:
        if party.role in rule.roles and party.residential_address:
            address = f" ({party.address})" if party.address else ""
            yield _finding(
                rule,
                ctx,
                f"{party.label()} does business from a residential address{address}",
                party_role=party.role,
                party_name=party.name,
                places=_places(party),
            )


def _party_not_screened(rule: PartyNotScreened, ctx: _Context) -> Iterator[Finding]:
    for party, result in ctx.screened:
        if result is None and party.role in rule.roles:
            yield _finding(
                rule,
                ctx,
                f"{party.label()} has no name, so it was not screened against the lists",
                party_role=party.role,
                places=_places(party),
            )


def _party_missing(rule: PartyMissing, ctx: _Context) -> Iterator[Finding]:
    goods = _matching_goods(rule, ctx)
    if rule.has_goods_filter and not goods:
        return
    for role in rule.roles:
        if ctx.shipment.parties_with(role):
            continue
        what = f" for {_goods_text(goods)}" if goods else ""
        yield _finding(
            rule,
            ctx,
            f"no {role.value.replace('_', ' ')} is named{what}",
            party_role=role,
            hs_code=goods[0].code if goods else None,
            chpl_tier=goods[0].tier if goods else None,
        )


_EVALUATORS: dict[str, Callable[..., Iterator[Finding]]] = {
    "party_list_match": _party_list_match,
    "restricted_destination": _restricted_destination,
    "chpl_via_risk_country": _chpl_via_risk_country,
    "risk_then_restricted_route": _risk_then_restricted,
    "forwarder_as_end_user": _forwarder_as_end_user,
    "payer_third_country": _payer_third_country,
    "new_buyer_high_priority": _new_buyer,
    "residential_address": _residential_address,
    "party_not_screened": _party_not_screened,
    "party_missing": _party_missing,
}


# -- the shipment --------------------------------------------------------------------------------


def _screen_parties(
    shipment: Shipment, screen_party: ScreenParty
) -> tuple[tuple[Party, ScreeningResult | None], ...]:
    """Screen every named party once (parties with the same name, country and type share)."""
    cache: dict[tuple[str, str | None, str | None], ScreeningResult] = {}
    out: list[tuple[Party, ScreeningResult | None]] = []
    for party in shipment.parties:
        if not party.name:
            out.append((party, None))
            continue
        key = (party.name, party.country, party.type.value if party.type else None)
        if key not in cache:
            cache[key] = screen_party(party)
        out.append((party, cache[key]))
    return tuple(out)


#: Rule kinds that fire because a place is in a country table (risk or restricted).
_PLACE_KINDS = frozenset(
    {"restricted_destination", "chpl_via_risk_country", "risk_then_restricted_route"}
)
#: The tables whose entries make those rules fire (not the partner-country table).
_BASIS_TABLES = ("restricted", "transshipment_risk")


def _with_basis(f: Finding, ruleset: RuleSet) -> Finding:
    """``f`` with the country-table entries of its places: a finding cites its rule's
    documents, and the entry says whether those documents name that place at all."""
    if f.kind not in _PLACE_KINDS or not f.places:
        return f
    basis: list[str] = []
    for place in f.places:
        for name in _BASIS_TABLES:
            table = ruleset.reference.tables.get(name)
            if table is None:
                continue
            entry = next(
                (e for e in table.entries if e.code in (place, place_country(place))), None
            )
            if entry is None:
                continue
            text = f"{entry.code} ({name}): named in {'; '.join(entry.named_in)}"
            if entry.note:
                text += f" ({entry.note})"
            if text not in basis:
                basis.append(text)
    return f.model_copy(update={"basis": tuple(basis)}) if basis else f


#: The finding of a list hit that no enabled rule reported (the list-match rules are disabled
#: or narrowed in an edited rule set): never a CLEAR shipment with a potential list match.
UNCOVERED_HIT_RULE = "list-hit-without-rule"


def _uncovered_hits(
    ranked: Sequence[tuple[object, Finding]],
    screened: Sequence[tuple[Party, ScreeningResult | None]],
) -> tuple[Finding, ...]:
    covered = {
        (f.party_role, f.party_name, f.places) for _, f in ranked if f.kind == "party_list_match"
    }
    out: list[Finding] = []
    for party, result in screened:
        if result is None or not result.hits:
            continue
        if (party.role, party.name, _places(party)) in covered:
            continue
        best = max(result.hits, key=lambda h: h.score)
        more = f"; {len(result.hits) - 1} more hit(s)" if len(result.hits) > 1 else ""
        out.append(
            Finding(
                rule_id=UNCOVERED_HIT_RULE,
                kind="party_list_match",
                decision="review",
                severity=Severity.HIGH,
                message=(
                    f"{party.label()} may be on the {best.list_name}: entry {best.entry_id} "
                    f"{best.matched_name!r} ({_name_kind(best)}), score {best.score:.2f}{more}; "
                    "no enabled rule of the rule set reports this hit, so it is put to review"
                ),
                sources=(),
                party_role=party.role,
                party_name=party.name,
                places=_places(party),
                hit=best,
            )
        )
    return tuple(out)


def evaluate_shipment(
    shipment: Shipment, ruleset: RuleSet, screen_party: ScreenParty
) -> ShipmentResult:
    """Screen a shipment's parties with ``screen_party``, apply every enabled rule of
    ``ruleset``, and decide: ``block`` or ``review`` if any finding says so, else ``clear``."""
    screened = _screen_parties(shipment, screen_party)
    route = shipment.effective_route()
    ctx = _Context(
        shipment=shipment,
        ruleset=ruleset,
        route=route,
        positions=_positions(route),
        screened=screened,
        goods=_goods_of(shipment, ruleset),
    )
    ranked: list[tuple[tuple[int, int, int, int, str], Finding]] = []
    for order, rule in enumerate(ruleset.enabled_rules):
        for f in _EVALUATORS[rule.kind](rule, ctx):
            key = (
                Decision(f.decision).rank,
                Severity(f.severity).rank,
                _tier_rank(f.chpl_tier),
                order,
                f.message,
            )
            ranked.append((key, f))
    ranked.sort(key=lambda kf: kf[0])
    findings = tuple(_with_basis(f, ruleset) for _, f in ranked) + _uncovered_hits(ranked, screened)
    if any(f.decision == "block" for f in findings):
        decision = Decision.BLOCK
    elif findings:
        decision = Decision.REVIEW
    else:
        decision = Decision.CLEAR

    snapshots: dict[tuple[str, int], SnapshotRef] = {}
    warnings: dict[str, None] = {}
    for _, result in screened:
        if result is None:
            continue
        for snap in result.snapshots:
            snapshots.setdefault((snap.source, snap.snapshot_id), snap)
        for w in result.warnings:
            warnings[w] = None
    if not route:
        warnings["no route given and none could be derived from the parties' countries"] = None
    beyond = shipment.end_user_places_beyond_route()
    if beyond:
        warnings[
            f"the route given ends in {shipment.route[-1]}; the end user's "
            f"{'places' if len(beyond) > 1 else 'place'} {', '.join(beyond)} "
            "were added as where the goods go on to"
            if len(beyond) > 1
            else f"the route given ends in {shipment.route[-1]}; the end user's place "
            f"{beyond[0]} was added as where the goods go on to"
        ] = None
    if not shipment.goods:
        warnings["no goods lines: the goods rules had nothing to check"] = None
    flagged = {(f.party_role, f.places) for f in findings if f.kind == "party_not_screened"}
    for party, result in screened:
        if result is None and (party.role, _places(party)) not in flagged:
            # no rule made a finding of it (the rule is disabled): still said
            warnings[f"{party.label()} has no name and was not screened against the lists"] = None

    return ShipmentResult(
        shipment_id=shipment.id,
        decision=decision,
        findings=findings,
        parties=tuple(
            PartyResult(
                role=party.role,
                name=party.name,
                country=party.country,
                region=party.region,
                type=party.type,
                screened=result is not None,
                hits=result.hits if result is not None else (),
            )
            for party, result in screened
        ),
        goods=tuple(
            GoodsResult(
                hs_code=line.hs_code,
                hs6=format_hs6(line.hs6),
                chpl_tier=ruleset.reference.tier(line.hs6),
                description=line.description,
            )
            for line in shipment.goods
        ),
        route=route,
        route_derived=shipment.route_is_derived and bool(route),
        ruleset=ruleset.version_info,
        snapshots=tuple(snapshots.values()),
        warnings=tuple(warnings),
    )
