"""A loaded, validated rule set: :func:`load_ruleset`.

The rule set's identity — its ``name`` and ``version`` from the file, the SHA-256 of the file's
bytes, and the versions and SHA-256s of the reference tables it resolved against — is
:class:`RuleSetVersion`, part of every shipment result. Two results with equal rule-set
versions were produced by the same rules on the same reference data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, ValidationError

from screening._resources import lists_path
from screening.errors import ConfigError
from screening.rules.model import KINDS, Rule, RuleFile
from screening.rules.reference import DataFileRef, Reference, load_reference

__all__ = ["RuleSet", "RuleSetVersion", "SourceDocument", "default_ruleset_path", "load_ruleset"]


class SourceDocument(BaseModel):
    """A document a rule rests on, as a result cites it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    issuer: str | None = None
    date: dt.date | None = None
    url: str | None = None
    note: str | None = None


class RuleSetVersion(BaseModel):
    """Which rules (and which reference data) produced a result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    version: str
    sha256: str  # of the rule file's bytes
    references: tuple[DataFileRef, ...] = ()  # the CHPL and country tables used

    @property
    def label(self) -> str:
        """``default 2026.11.22 (sha256 1a2b3c4d5e6f)``"""
        return f"{self.name} {self.version} (sha256 {self.sha256[:12]})"


@dataclass(frozen=True)
class RuleSet:
    """Rules ready to evaluate, with the documents they cite and the reference data."""

    name: str
    version: str
    description: str | None
    path: Path
    sha256: str
    rules: tuple[Rule, ...]
    documents: dict[str, SourceDocument]
    reference: Reference
    _places: dict[tuple[str, ...], frozenset[str]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def version_info(self) -> RuleSetVersion:
        return RuleSetVersion(
            name=self.name,
            version=self.version,
            sha256=self.sha256,
            references=self.reference.files,
        )

    @property
    def enabled_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.enabled)

    def places(self, specs: Sequence[str]) -> frozenset[str]:
        """The place codes a rule parameter stands for, ``@tables`` expanded."""
        key = tuple(specs)
        found = self._places.get(key)
        if found is None:
            out: set[str] = set()
            for spec in specs:
                if spec.startswith("@"):
                    out |= self.reference.table(spec[1:])
                else:
                    out.add(spec)
            found = self._places[key] = frozenset(out)
        return found

    def sources_of(self, rule: Rule) -> tuple[SourceDocument, ...]:
        return tuple(self.documents[s] for s in rule.sources)

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def default_ruleset_path() -> Path:
    """The bundled default rule set, ``lists/rules/default.toml``."""
    return lists_path("rules", "default.toml")


def _loc(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _describe(exc: ValidationError, known_fields: Iterable[str] = ()) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = _loc(err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "field required"
        elif err["type"] == "extra_forbidden":
            fields = ", ".join(sorted(known_fields))
            msg = f"unknown field (known: {fields})" if fields else "unknown field"
        elif err["type"] != "value_error" and isinstance(err.get("input"), str | int | float):
            msg = f"{err['input']!r}: {msg[:1].lower()}{msg[1:]}"
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def load_ruleset(path: Path | str | None = None) -> RuleSet:
    """Load and validate a rule file (``None``: the bundled ``lists/rules/default.toml``).

    Raises ``ConfigError`` naming the file, the rule id and the field for anything invalid.
    """
    path = (Path(path) if path else default_ruleset_path()).resolve()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read rule file: {exc.strerror or exc}") from exc
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        raw: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    try:
        head = RuleFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc, RuleFile.model_fields)}") from exc

    def table_path(rel: str | None) -> Path | None:
        return (path.parent / rel) if rel else None

    reference = load_reference(table_path(head.tables.chpl), table_path(head.tables.risk_countries))
    documents = {
        doc_id: SourceDocument(id=doc_id, **spec.model_dump())
        for doc_id, spec in head.documents.items()
    }
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, body in enumerate(head.rules):
        rid = body.get("id")
        label = f"rule {rid!r}" if isinstance(rid, str) and rid else f"rules[{i}]"
        kind = body.get("kind")
        if kind is None:
            raise ConfigError(f"{path}: {label}: kind: field required")
        if not isinstance(kind, str) or kind not in KINDS:
            raise ConfigError(
                f"{path}: {label}: kind: {kind!r} is not a rule kind ({', '.join(KINDS)})"
            )
        cls = KINDS[kind]
        try:
            rule = cast(Rule, cls.model_validate(body))
        except ValidationError as exc:
            raise ConfigError(f"{path}: {label}: {_describe(exc, cls.model_fields)}") from exc
        if rule.id in seen:
            raise ConfigError(f"{path}: {label}: id: {rule.id!r} is used by another rule")
        seen.add(rule.id)
        for j, src in enumerate(rule.sources):
            if src not in documents:
                declared = ", ".join(documents) or "none"
                raise ConfigError(
                    f"{path}: {label}: sources[{j}]: {src!r} is not declared under "
                    f"[documents] (declared: {declared})"
                )
        rules.append(rule)
    return RuleSet(
        name=head.name,
        version=head.version,
        description=head.description,
        path=path,
        sha256=sha256,
        rules=tuple(rules),
        documents=documents,
        reference=reference,
    )
