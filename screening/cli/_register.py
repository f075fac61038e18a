"""The register, re-screening, decisions and the audit trail at the command line:
``register add|list|remove``, ``rescreen``, ``decide``, ``audit verify|export``.
Parse, call the library, render, exit."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from screening.audit import AuditLog
from screening.cli._app import ExitCode, atomic_text, command, fail, state, sub_app
from screening.errors import InputError
from screening.models import Hit, jsonable
from screening.register import (
    AlertEvent,
    AlertStatus,
    DecisionKind,
    Register,
    add_file,
    decide,
    remove_counterparties,
)
from screening.rescreen import RescreenReport, rescreen

register_app = sub_app("register", "The counterparty register: add, list, remove.")
audit_app = sub_app("audit", "The audit trail: verify the chain, export records.")

JsonOpt = Annotated[bool, typer.Option("--json", help="JSON Lines on standard output.")]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers", min=1, max=64, help="Worker processes (default: one per core, up to 4)."
    ),
]


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _hit_line(hit: Hit) -> str:
    also = f" (of {hit.primary_name!r})" if hit.matched_name != hit.primary_name else ""
    return (
        f"{hit.score:.2f}  {hit.list_name} {hit.source}:{hit.entry_id}  {hit.matched_name!r}{also}"
    )


def _event_line(e: AlertEvent) -> str:
    who = f"{e.counterparty_id} {e.name!r}"
    if e.event == "removed":
        return f"  {who}: {e.source}:{e.entry_id} ({e.reason})"
    assert e.hit is not None
    tag = "" if e.status == "open" else f" [{e.status}]"
    note = " — reopened: the list entry changed" if e.event == "reopened" else ""
    return f"  {who} -> {_hit_line(e.hit)}{tag}{note}"


def _event_json(e: AlertEvent) -> dict[str, Any]:
    out: dict[str, Any] = {
        "event": e.event,
        "counterparty_id": e.counterparty_id,
        "counterparty": {
            k: v for k, v in (("name", e.name), ("country", e.country), ("type", e.type)) if v
        },
    }
    if e.hit is not None:
        out["status"] = e.status
        out["hit"] = jsonable(e.hit)
    else:
        out["source"] = e.source
        out["entry_id"] = e.entry_id
        out["reason"] = e.reason
    return out


# -- register ----------------------------------------------------------------------------------


@command("add", on=register_app)
def register_add(
    ctx: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="CSV (header with id and name) or JSONL file."),
    ],
    input_format: Annotated[
        str | None, typer.Option("--input-format", help="csv or jsonl (default: from FILE).")
    ] = None,
    workers: WorkersOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add or update counterparties and screen the new and changed ones.

    Columns: id (required, the register id), name, country, type; other columns are kept.
    Exit 1 when a screened counterparty has open alerts, 2 when rows were rejected.
    """
    report = add_file(
        state(ctx).settings,
        path,
        fmt=input_format,
        workers=workers,
        warn=lambda m: _err(f"warning: {m}"),
    )
    for w in report.warnings:
        _err(f"warning: {w}")
    for r in report.rejected:
        where = f"line {r.line}" + (f" (id {r.id!r})" if r.id else "")
        _err(f"rejected: {where}: {r.message}")
    if as_json:
        for e in report.events:
            typer.echo(json.dumps(_event_json(e), ensure_ascii=False))
    else:
        alerts = [e for e in report.events if e.event != "removed"]
        if alerts:
            typer.echo("potential matches:")
            for e in alerts:
                typer.echo(_event_line(e))
        removed = [e for e in report.events if e.event == "removed"]
        if removed:
            typer.echo("alerts closed:")
            for e in removed:
                typer.echo(_event_line(e))
    _err(
        f"{report.added:,} added, {report.updated:,} updated, "
        f"{report.updated_extra:,} with new extra fields only, {report.unchanged:,} unchanged, "
        f"{len(report.rejected):,} rejected; {report.screened:,} screened, "
        f"{report.open_alerts:,} open alert(s)"
        + (f"; audit record {report.audit_seq}" if report.audit_seq else "")
    )
    if report.open_alerts:
        raise typer.Exit(int(ExitCode.REVIEW))
    if report.rejected:
        raise typer.Exit(int(ExitCode.USAGE))
    raise typer.Exit(int(ExitCode.OK))


@command("list", on=register_app)
def register_list(
    ctx: typer.Context,
    alerts: Annotated[
        bool, typer.Option("--alerts", help="List the alerts instead of the counterparties.")
    ] = False,
    status: Annotated[
        str | None,
        typer.Option("--status", help="With --alerts: only open, false_positive or true_match."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the counterparties (or, with --alerts, their current alerts)."""
    with Register.open(state(ctx).settings) as reg:
        if alerts:
            found = reg.alerts(status=_status(status))
            for a in found:
                if as_json:
                    typer.echo(json.dumps(jsonable(a), ensure_ascii=False))
                else:
                    typer.echo(f"{a.counterparty_id}  [{a.status}]  {_hit_line(a.hit)}")
            if not as_json:
                _err(f"{len(found):,} alert(s)")
            return
        cps = reg.counterparties()
    for c in cps:
        if as_json:
            typer.echo(json.dumps(jsonable(c), ensure_ascii=False))
            continue
        when = c.screened_at.strftime("%Y-%m-%d %H:%M") if c.screened_at else "never"
        facts = ", ".join(x for x in (c.country, c.type) if x)
        problem = f"  PROBLEM: {c.problem}" if c.problem else ""
        typer.echo(
            f"{c.id}  {c.name!r}"
            + (f" ({facts})" if facts else "")
            + f"  open alerts {c.open_alerts}  screened {when}{problem}"
        )
    if not as_json:
        _err(f"{len(cps):,} counterparties")


_STATUSES: dict[str, AlertStatus] = {
    "open": "open",
    "false_positive": "false_positive",
    "true_match": "true_match",
}


def _status(value: str | None) -> AlertStatus | None:
    if value is None:
        return None
    if value in _STATUSES:
        return _STATUSES[value]
    fail(f"--status must be open, false_positive or true_match, not {value!r}", ExitCode.USAGE)


@command("remove", on=register_app)
def register_remove(
    ctx: typer.Context,
    ids: Annotated[list[str], typer.Argument(metavar="ID...", help="Register ids to remove.")],
) -> None:
    """Remove counterparties and their alerts (decisions stay on record)."""
    events = remove_counterparties(state(ctx).settings, ids)
    _err(f"removed {len(set(ids)):,} counterparties and {len(events):,} alert(s)")


# -- rescreen and decide --------------------------------------------------------------------------


@command("rescreen")
def rescreen_cmd(
    ctx: typer.Context,
    full: Annotated[
        bool,
        typer.Option("--full", help="Screen everyone against every entry, not just the changes."),
    ] = False,
    workers: WorkersOpt = None,
    as_json: JsonOpt = False,
    html: Annotated[
        Path | None,
        typer.Option("--html", metavar="FILE", help="Also write the result as an HTML report."),
    ] = None,
) -> None:
    """Re-screen the register against the entries added or changed since the last screening.

    Each counterparty is screened only against the list entries added or changed since it was
    last screened (``--full``: against every entry); alerts on removed entries are dropped.
    Exit 1 when there are new alerts."""
    settings = state(ctx).settings
    report = rescreen(settings, full=full, workers=workers)
    render_rescreen(report, as_json)
    if html is not None:
        from screening.formats.html import store_entries, write_rescreen_html

        with atomic_text(html) as out:
            write_rescreen_html(report, out, entries=store_entries(settings))
    raise typer.Exit(int(ExitCode.REVIEW if report.new_alerts else ExitCode.OK))


def render_rescreen(report: RescreenReport, as_json: bool) -> None:
    """Print a re-screen's result (new alerts, removed alerts) and its summary on stderr."""
    for w in report.warnings:
        _err(f"warning: {w}")
    for p in report.problems:
        _err(f"warning: cannot screen {p}")
    if report.skipped:
        _err(
            f"warning: {len(report.skipped):,} counterparties changed while re-screening "
            "(they were screened by that change)"
        )
    shown = [*report.new_alerts, *report.removed_alerts]
    if as_json:
        for e in shown:
            typer.echo(json.dumps(_event_json(e), ensure_ascii=False))
    else:
        if report.new_alerts:
            typer.echo(f"new potential matches: {len(report.new_alerts):,}")
            for e in report.new_alerts:
                typer.echo(_event_line(e))
        if report.removed_alerts:
            typer.echo(f"alerts removed: {len(report.removed_alerts):,}")
            for e in report.removed_alerts:
                typer.echo(_event_line(e))
    changes = []
    for g in report.groups:
        parts = [f"{s} +{n:,} changed" for s, n in sorted(g.changed.items())]
        parts += [f"{s} -{n:,} removed" for s, n in sorted(g.removed.items())]
        changes.append(f"{g.counterparties:,} since {_snaps(g.from_snapshots)}: {', '.join(parts)}")
    _err(
        f"{report.mode} re-screen of {report.counterparties:,} counterparties: "
        f"{report.screened_delta:,} against the changed entries, {report.screened_full:,} "
        f"against every entry, {report.up_to_date:,} already up to date; "
        f"{len(report.new_alerts):,} new alert(s), {len(report.removed_alerts):,} removed, "
        f"{len(report.updated_alerts):,} updated; {report.open_alerts:,} open in the register; "
        f"{report.seconds:.1f} s"
        + (f"; audit record {report.audit_seq}" if report.audit_seq else "")
    )
    for line in changes:
        _err(f"  {line}")
    for why, n in sorted(report.full_reasons.items()):
        _err(f"  {n:,} against every entry: {why}")


def _snaps(snapshots: dict[str, int]) -> str:
    return ", ".join(f"{s}#{i}" for s, i in sorted(snapshots.items())) or "nothing"


@command("decide")
def decide_cmd(
    ctx: typer.Context,
    counterparty_id: Annotated[str, typer.Argument(metavar="ID", help="Register id.")],
    entry: Annotated[
        str, typer.Argument(metavar="SOURCE:ENTRY_ID", help="The alert's list entry.")
    ],
    false_positive: Annotated[
        bool, typer.Option("--false-positive", help="Not the listed party.")
    ] = False,
    true_match: Annotated[bool, typer.Option("--true-match", help="The listed party.")] = False,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept on record).")] = "",
    analyst: Annotated[
        str | None, typer.Option("--analyst", help="Who decides (default: $USER).")
    ] = None,
) -> None:
    """Record an analyst's decision on an alert (false positive or true match).

    A false positive does not alert again for this counterparty until the list entry changes.
    Who decided, when and why are kept."""
    if false_positive == true_match:
        fail("give exactly one of --false-positive and --true-match", ExitCode.USAGE)
    kind: DecisionKind = "false_positive" if false_positive else "true_match"
    made, alert = decide(state(ctx).settings, counterparty_id, entry, kind, reason, analyst)
    typer.echo(
        f"{made.counterparty_id} {made.source}:{made.entry_id}: {made.decision} "
        f"by {made.analyst} at {made.decided_at.isoformat(timespec='seconds')} "
        f"(decision {made.id}; alert now {alert.status})"
    )


# -- audit -------------------------------------------------------------------------------------


@command("verify", on=audit_app)
def audit_verify(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Check the audit trail's hash chain. Exit 3 when it is broken (naming the record)."""
    result = AuditLog.open(state(ctx).settings).verify()
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
    if not result.ok:
        fail(result.message, ExitCode.DATA)
    if not as_json:
        typer.echo(result.message)


@command("export", on=audit_app)
def audit_export(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only records at or after this date (2026-01-01) or time."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl or csv.")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: standard output).")
    ] = None,
) -> None:
    """Export audit records as JSON Lines (exactly as stored) or CSV."""
    value = fmt.strip().lower()
    if value not in ("jsonl", "csv"):
        fail(f"--format must be jsonl or csv, not {fmt!r}", ExitCode.USAGE)
    start = _parse_since(since) if since else None
    log = AuditLog.open(state(ctx).settings)
    stream: IO[str]
    if output is None:
        stream = sys.stdout
    else:
        try:
            stream = output.open("w", encoding="utf-8", newline="")
        except OSError as exc:
            raise InputError(f"{output}: cannot write: {exc.strerror}") from exc
    try:
        n = log.export(start, "csv" if value == "csv" else "jsonl", stream)
    finally:
        if output is not None:
            stream.close()
    _err(f"{n:,} record(s) exported")


def _parse_since(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"--since: {text!r} is not a date (2026-01-01) or time") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
