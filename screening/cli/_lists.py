"""List commands: ``refresh``, ``import``, ``status``. Parse, call the library, render, exit."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from screening.cli._app import ExitCode, command, state
from screening.models import jsonable
from screening.refresh import DEFAULT_LOCK_TIMEOUT, RefreshReport, SourceOutcome, import_files
from screening.refresh import refresh as run_refresh
from screening.status import SourceStatus, format_duration, parse_duration
from screening.status import status as list_status

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
WaitOption = Annotated[
    float,
    typer.Option(
        "--wait",
        metavar="SECONDS",
        min=0,
        help="How long to wait for another refresh or import to finish.",
    ),
]


@command("refresh")
def refresh_cmd(
    ctx: typer.Context,
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[SOURCE]...",
            help="Sources (or feeds, e.g. trade_csl) to refresh; default: every enabled source.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
    wait: WaitOption = DEFAULT_LOCK_TIMEOUT,
) -> None:
    """Download the current lists, validate them and store new snapshots; print what changed.

    Exit status 3 when any source failed (its last good snapshot stays current).
    """
    settings = state(ctx).settings
    report = run_refresh(settings, sources or None, lock_timeout=wait)
    _render_report(report, as_json)


@command("import")
def import_cmd(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="Source id (ofac_sdn) or feed id (trade_csl).")],
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...",
            help="The list files, as downloaded (names matched case-insensitively; .gz is fine).",
            exists=False,
        ),
    ],
    as_json: JsonOption = False,
    wait: WaitOption = DEFAULT_LOCK_TIMEOUT,
) -> None:
    """Validate and store list files downloaded by hand (air-gapped machines).

    Exit status 3 when the files fail validation (the last good snapshot stays current).
    """
    settings = state(ctx).settings
    report = import_files(settings, source, files, lock_timeout=wait)
    _render_report(report, as_json)


@command("status")
def status_cmd(
    ctx: typer.Context,
    as_json: JsonOption = False,
    max_age: Annotated[
        str | None,
        typer.Option(
            "--max-age",
            metavar="DURATION",
            help="Exit 5 when any enabled source is older than this (e.g. 12h, 2d, 90m).",
            show_default=False,
        ),
    ] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Also show disabled sources.")] = False,
) -> None:
    """Show each list's snapshot: id, dates, records, SHA-256, age and staleness."""
    settings = state(ctx).settings
    limit: timedelta | None = parse_duration(max_age) if max_age is not None else None
    rows = list_status(settings, max_age=limit, include_disabled=show_all)
    if as_json:
        typer.echo(json.dumps([jsonable_status(r) for r in rows], indent=2, ensure_ascii=False))
    else:
        _render_status(rows)
    if limit is not None and any(r.stale and r.enabled for r in rows):
        raise typer.Exit(int(ExitCode.STALE))


# -- rendering -------------------------------------------------------------------------------


def outcome_line(o: SourceOutcome) -> str:
    """One line per source: ``ofac_sdn: updated +1,204 −60 ~311 (14,965 records, snapshot 7)``."""
    if o.status == "failed":
        kept = ""
        if o.snapshot is not None:
            kept = f" (keeping snapshot {o.snapshot.id} of {o.snapshot.as_of:%Y-%m-%d})"
        return f"{o.source}: FAILED: {o.message}{kept}"
    snap = o.snapshot
    where = f"snapshot {snap.id}, {snap.record_count:,} records" if snap else "no snapshot"
    if o.status == "unchanged":
        return f"{o.source}: unchanged ({o.message}; {where})"
    skipped = sum(o.skipped.values())
    extras = [where]
    if skipped:
        extras.append(f"{skipped:,} rows skipped")
    if o.message:
        extras.append(o.message)
    return (
        f"{o.source}: updated +{len(o.added):,} \u2212{len(o.removed):,} ~{len(o.changed):,} "
        f"({'; '.join(extras)})"
    )


def _render_report(report: RefreshReport, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(jsonable(report), indent=2, ensure_ascii=False))
    else:
        for o in report.outcomes:
            typer.echo(outcome_line(o))
    if not report.ok:
        raise typer.Exit(int(ExitCode.DATA))


def jsonable_status(row: SourceStatus) -> dict[str, object]:
    return row.model_dump(mode="json")


def _render_status(rows: list[SourceStatus]) -> None:
    header = ("SOURCE", "SNAPSHOT", "ORIGIN", "AS OF", "RECORDS", "AGE", "SHA-256", "STATE")
    table: list[tuple[str, ...]] = [header]
    for r in rows:
        if r.snapshot_id is None:
            state_text = "STALE (no snapshot)"
        elif r.stale:
            state_text = f"STALE ({r.stale_reason})"
        else:
            state_text = "ok"
        if not r.enabled:
            state_text = "disabled"
        if r.last_result == "failed":
            state_text += "; last refresh FAILED"
        table.append(
            (
                r.source,
                "-" if r.snapshot_id is None else str(r.snapshot_id),
                r.origin or "-",
                f"{r.as_of:%Y-%m-%d %H:%M}" if r.as_of else "-",
                "-" if r.record_count is None else f"{r.record_count:,}",
                "-" if r.age_seconds is None else format_duration(timedelta(seconds=r.age_seconds)),
                (r.sha256 or "-")[:12],
                state_text,
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    right = {4, 5}
    for row in table:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        typer.echo("  ".join(cells).rstrip())
    for r in rows:
        if r.last_result == "failed" and r.last_error:
            typer.echo(f"{r.source}: last refresh failed: {r.last_error}")
