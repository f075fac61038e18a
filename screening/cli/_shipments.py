"""``screening shipment FILE`` and ``screening rules list|validate``.

``shipment`` screens every shipment of a JSON, JSON Lines or CSV file (see
``screening.shipments``) and exits with the worst outcome: 4 if any shipment is blocked, else 2
if any record could not be read, else 1 if any needs review, else 0.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import IO, Annotated, Any, Protocol, cast

import typer

from screening.cli._app import ExitCode, command, record_audit, refuse_overwriting, state, sub_app
from screening.config import Settings
from screening.errors import InputError
from screening.models import SnapshotRef, jsonable
from screening.rules import Decision, RuleSet, ShipmentResult, load_ruleset
from screening.rules.model import KINDS
from screening.shipments import RecordError, Shipment, load_shipments

rules_app = sub_app("rules", "List and validate shipment rule sets (lists/rules/*.toml).")

_RULES_OPTION = typer.Option(
    "--rules",
    help="Rule file to use (default: the bundled lists/rules/default.toml).",
    show_default=False,
    exists=True,
    dir_okay=False,
)


class _ShipmentScreener(Protocol):
    """What the command needs of ``screening.screener.Screener``."""

    threshold: float

    def screen_shipment(
        self, shipment: Shipment, ruleset: RuleSet | None = None
    ) -> ShipmentResult: ...


def _open_screener(settings: Settings) -> _ShipmentScreener:
    # Imported late: loading the screener (snapshots, index) is the slow part of a command.
    module = importlib.import_module("screening.screener")
    return cast(_ShipmentScreener, module.Screener.open(settings))


def _error_record(exc: InputError) -> dict[str, Any]:
    if isinstance(exc, RecordError):
        return {"id": exc.shipment_id, "location": exc.location, "error": str(exc)}
    return {"id": None, "error": str(exc)}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(text: str) -> str:
    """A line of text output with its control characters escaped: a shipment id or goods
    description holding a line break cannot print a line of its own ("S-77  CLEAR")."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def _render(result: ShipmentResult, seen_warnings: set[str]) -> list[str]:
    """A shipment's decision, findings, hits and new warnings (a warning already shown for an
    earlier shipment, such as a stale list, is not repeated)."""
    n = len(result.findings)
    head = f"{result.shipment_id}  {result.decision.value.upper()}"
    if n:
        head += f"  ({n} finding{'s' if n != 1 else ''})"
    lines = [head]
    for f in result.findings:
        sources = ", ".join(s.id for s in f.sources)
        lines.append(f"  {f.decision.upper():6} {f.severity.value:8} {f.rule_id}: {f.message}")
        lines.append(f"  {'':6} {'':8} source: {sources}")
        for basis in f.basis:
            lines.append(f"  {'':6} {'':8} basis: {basis}")
    hits = [p for p in result.parties if p.hits]
    for p in hits:
        best = max(p.hits, key=lambda h: h.score)
        more = f" (+{len(p.hits) - 1} more)" if len(p.hits) > 1 else ""
        lines.append(
            f"  hit: {p.role.value} {p.name!r}: {best.list_name} {best.entry_id} "
            f"{best.matched_name!r} score {best.score:.2f}{more}"
        )
    for w in result.warnings:
        if w not in seen_warnings:
            seen_warnings.add(w)
            lines.append(f"  warning: {w}")
    return [_one_line(line) for line in lines]


class _Output:
    """JSON Lines written to a temporary file next to OUT, moved into place when complete."""

    #: Extensions that promise another format than the JSON Lines written.
    OTHER_FORMATS = frozenset({".csv", ".tsv", ".txt", ".html", ".htm", ".xlsx", ".xls", ".xml"})

    def __init__(self, path: Path, source: Path) -> None:
        if path.suffix.lower() in self.OTHER_FORMATS:
            raise InputError(
                f"{path}: shipment results are written as JSON Lines; name the file .jsonl"
            )
        refuse_overwriting(path, source)
        self.path = path
        directory = path.parent if str(path.parent) else Path(".")
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        except OSError as exc:
            raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
        self.tmp = Path(tmp)
        self.file: IO[str] = os.fdopen(fd, "w", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self.file.write(json.dumps(record, ensure_ascii=False) + "\n")

    def commit(self) -> None:
        self.file.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.file.close()
        self.tmp.unlink(missing_ok=True)


@command("shipment")
def shipment(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="Shipments: a JSON object or array, JSON Lines, or the CSV form.",
            exists=True,
            dir_okay=False,
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per shipment (JSON Lines).")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Also write the results to OUT (JSON Lines)."),
    ] = None,
    rules: Annotated[Path | None, _RULES_OPTION] = None,
) -> None:
    """Screen shipments: parties against the lists, route and goods against the rules.

    Exit code: 0 all clear, 1 review, 4 block, 2 a record or the file could not be read.
    """
    ruleset = load_ruleset(rules)
    settings = state(ctx).settings
    screener: _ShipmentScreener | None = None
    counts = {d: 0 for d in Decision}
    rejected = 0
    snapshots: dict[tuple[str, int], str] = {}
    seen_warnings: set[str] = set()
    audited: list[object] = []  # (shipment, result) per screened shipment, for the audit trail
    refs: dict[tuple[str, int], SnapshotRef] = {}
    out = _Output(output, file) if output is not None else None
    try:
        for item in load_shipments(file):
            if isinstance(item, InputError):
                rejected += 1
                record = _error_record(item)
                typer.echo(_one_line(f"error: {item}"), err=True)
            else:
                if screener is None:
                    screener = _open_screener(settings)
                try:
                    result = screener.screen_shipment(item, ruleset)
                except InputError as exc:  # this shipment only: the rest of the file goes on
                    rejected += 1
                    record = {"id": item.id, "error": str(exc)}
                    typer.echo(_one_line(f"error: shipment {item.id}: {exc}"), err=True)
                    if as_json:
                        typer.echo(json.dumps(record, ensure_ascii=False))
                    if out is not None:
                        out.write(record)
                    continue
                audited.append({"shipment": item, "result": result})
                for ref in result.snapshots:
                    refs[(ref.source, ref.snapshot_id)] = ref
                counts[result.decision] += 1
                for s in result.snapshots:
                    stale = ", stale" if s.stale else ""
                    snapshots[(s.source, s.snapshot_id)] = (
                        f"{s.source} #{s.snapshot_id} ({s.as_of.date().isoformat()}{stale})"
                    )
                record = jsonable(result)
                if not as_json:
                    typer.echo("\n".join(_render(result, seen_warnings)))
            if as_json:
                typer.echo(json.dumps(record, ensure_ascii=False))
            if out is not None:
                out.write(record)
    except BaseException:
        if out is not None:
            out.abort()
        raise
    if out is not None:
        out.commit()
    total = sum(counts.values()) + rejected
    if total == 0:
        raise InputError(f"{file}: no shipments in the file")
    if audited:
        record_audit(
            settings,
            "shipment",
            input={"file": str(file), "shipments": len(audited), "rejected": rejected},
            results=audited,
            snapshots=list(refs.values()),
            ruleset_version=ruleset.version_info.label,
            threshold=screener.threshold if screener is not None else None,
        )
    if not as_json:
        summary = (
            f"{total} shipment(s): {counts[Decision.BLOCK]} block, "
            f"{counts[Decision.REVIEW]} review, {counts[Decision.CLEAR]} clear, "
            f"{rejected} rejected — rules {ruleset.version_info.label}"
        )
        if snapshots:
            summary += "; lists " + ", ".join(snapshots.values())
        typer.echo(summary)
    if counts[Decision.BLOCK]:
        raise typer.Exit(int(ExitCode.BLOCK))
    if rejected:
        raise typer.Exit(int(ExitCode.USAGE))
    if counts[Decision.REVIEW]:
        raise typer.Exit(int(ExitCode.REVIEW))


_BASE_FIELDS = {"id", "kind", "description", "severity", "decision", "sources", "enabled"}
_UNSET = {"lists": "any list", "min_score": "the screener's alert threshold"}


def _parameters(rule: Any) -> str:
    parts = []
    for name in type(rule).model_fields:
        if name in _BASE_FIELDS:
            continue
        value = getattr(rule, name)
        if name in _UNSET and not value:
            text = _UNSET[name]
        elif isinstance(value, list):
            text = ", ".join(str(getattr(v, "value", v)) for v in value) or "-"
        elif isinstance(value, dict):
            text = ", ".join(f"{k}={getattr(v, 'value', v)}" for k, v in value.items()) or "-"
        elif value is None:
            text = "-"
        else:
            text = str(value)
        parts.append(f"{name}: {text}")
    return "; ".join(parts)


def _describe_ruleset(ruleset: RuleSet) -> list[str]:
    info = ruleset.version_info
    lines = [f"rule set {info.label}: {ruleset.path}"]
    if ruleset.description:
        lines.append(f"  {ruleset.description}")
    tables = ", ".join(f"{r.name} {r.version} (sha256 {r.sha256[:12]})" for r in info.references)
    lines.append(f"  tables: {tables}")
    return lines


@command("list", on=rules_app)
def rules_list(
    rules: Annotated[Path | None, _RULES_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rule set as JSON.")] = False,
) -> None:
    """List the rules of a rule set with their decision, severity, sources and parameters."""
    ruleset = load_ruleset(rules)
    if as_json:
        payload = {
            "ruleset": jsonable(ruleset.version_info),
            "path": str(ruleset.path),
            "rules": [r.model_dump(mode="json") for r in ruleset.rules],
            "documents": {k: jsonable(v) for k, v in ruleset.documents.items()},
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    lines = _describe_ruleset(ruleset)
    for rule in ruleset.rules:
        off = "" if rule.enabled else "  (disabled)"
        lines.append("")
        lines.append(f"{rule.id}  [{rule.decision}, {rule.severity.value}]  {rule.kind}{off}")
        lines.append(f"  {rule.description}")
        lines.append(f"  parameters: {_parameters(rule)}")
        for doc in ruleset.sources_of(rule):
            where = f" <{doc.url}>" if doc.url else ""
            lines.append(f"  source {doc.id}: {doc.title}{where}")
    typer.echo("\n".join(lines))


@command("validate", on=rules_app)
def rules_validate(
    file: Annotated[Path, typer.Argument(help="The rule file (TOML) to check.", dir_okay=False)],
) -> None:
    """Check a rule file: kinds, fields, countries, HS codes, tiers, severities, sources.

    Exit code 0 when valid, 2 with the file, rule id and field when not.
    """
    ruleset = load_ruleset(file)
    enabled = len(ruleset.enabled_rules)
    kinds = sorted({r.kind for r in ruleset.rules})
    lines = [
        f"ok: {len(ruleset.rules)} rules ({enabled} enabled), "
        f"{len(ruleset.documents)} documents, kinds: {', '.join(kinds)}",
        *_describe_ruleset(ruleset),
    ]
    unused = sorted(set(KINDS) - set(kinds))
    if unused:
        lines.append(f"  kinds not used: {', '.join(unused)}")
    typer.echo("\n".join(lines))
    if not any(r.kind == "party_list_match" for r in ruleset.enabled_rules):
        typer.echo(
            "warning: no enabled party_list_match rule: a party's list hit is then put to review "
            "by the built-in finding list-hit-without-rule, never blocked",
            err=True,
        )
