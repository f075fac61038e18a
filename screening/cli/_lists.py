"""List commands: ``refresh``, ``import``, ``status``. Parse, call the library, render, exit.

``refresh`` is one-shot (for cron, systemd timers, Kubernetes CronJobs; the refresh lock keeps
two from overlapping), ``refresh --rescreen`` chains the re-screening of the counterparty
register (the nightly job), and ``refresh --every 12h`` is the long-running alternative
(:mod:`screening.schedule`).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from screening._status import SourceStatus, format_duration, parse_duration
from screening._status import status as list_status
from screening.cli._app import ExitCode, atomic_text, command, fail, state
from screening.config import Settings
from screening.errors import ScreeningError
from screening.lock import DEFAULT_LOCK_TIMEOUT
from screening.models import jsonable
from screening.schedule import (
    DEFAULT_JITTER,
    MAX_JITTER,
    Stop,
    check_schedule,
    run_every,
    stop_on_signals,
)

if TYPE_CHECKING:
    from screening._refresh import RefreshReport, SourceOutcome
    from screening.rescreen import RescreenReport

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
    rescreen: Annotated[
        bool,
        typer.Option(
            "--rescreen",
            help="Then re-screen the counterparty register against what changed (always run: "
            "a no-op when nothing changed, a catch-up after an interrupted run).",
        ),
    ] = False,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="With --rescreen: also write the re-screening as an HTML report.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    every: Annotated[
        str | None,
        typer.Option(
            "--every",
            metavar="DURATION",
            help="Keep running: refresh now and then every DURATION (e.g. 12h), jittered; "
            "stop with SIGTERM or Ctrl-C (a run in progress is finished first).",
            show_default=False,
        ),
    ] = None,
    jitter: Annotated[
        float,
        typer.Option(
            "--jitter",
            metavar="FRACTION",
            min=0.0,
            max=MAX_JITTER,
            help="With --every: vary each interval by up to ± this fraction.",
        ),
    ] = DEFAULT_JITTER,
    runs: Annotated[
        int | None,
        typer.Option("--runs", min=1, hidden=True, help="With --every: stop after N runs."),
    ] = None,
) -> None:
    """Download the current lists, validate them and store new snapshots; print what changed.

    Exit status 3 when any source failed (its last good snapshot stays current); with
    --rescreen, otherwise 1 when the re-screening found new potential matches. With --every,
    0 once stopped.
    """
    settings = state(ctx).settings
    if html is not None and not rescreen:
        fail("--html needs --rescreen", ExitCode.USAGE)
    names = sources or None
    if every is None:
        if runs is not None:
            fail("--runs needs --every", ExitCode.USAGE)
        try:
            report, again = _refresh_once(settings, names, wait, rescreen, html)
        except ScreeningError as exc:
            if as_json:  # a JSON reader gets a document too, not only the stderr line
                doc = {"error": " ".join(str(exc).split()), "error_type": type(exc).__name__}
                typer.echo(json.dumps(doc, ensure_ascii=False))
            raise
        _render_run(report, again, as_json)
        if not report.ok:
            raise typer.Exit(int(ExitCode.DATA))
        if again is not None and again.new_alerts:
            raise typer.Exit(int(ExitCode.REVIEW))
        raise typer.Exit(int(ExitCode.OK))

    interval = parse_duration(every)
    check_schedule(interval, jitter)
    from screening._refresh import select_sources

    select_sources(settings, names)  # an unknown or disabled source: fail now, not every run

    def job() -> str:
        report, again = _refresh_once(settings, names, wait, rescreen, html)
        _render_run(report, again, as_json, compact=True, log_on_stderr=True)
        return run_summary(report, again)

    def log(line: str) -> None:
        typer.echo(line, err=True)

    stop = Stop()
    with stop_on_signals(stop, log):
        run_every(job, interval, stop=stop, log=log, jitter=jitter, name="refresh", max_runs=runs)
    raise typer.Exit(int(ExitCode.OK))


def _refresh_once(
    settings: Settings,
    names: list[str] | None,
    wait: float,
    rescreen: bool,
    html: Path | None,
) -> tuple[RefreshReport, RescreenReport | None]:
    """One refresh, then (with ``rescreen``) one re-screening of the register."""
    from screening._refresh import refresh as run_refresh

    report = run_refresh(settings, names, lock_timeout=wait)
    if not rescreen:
        return report, None
    from screening.rescreen import rescreen as run_rescreen

    again = run_rescreen(settings)
    if html is not None:
        from screening.formats.html import store_entries, write_rescreen_html

        with atomic_text(html) as out:
            write_rescreen_html(again, out, entries=store_entries(settings))
    return report, again


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
    from screening._refresh import import_files

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


def _echo_outcomes(report: RefreshReport, *, log_on_stderr: bool = False) -> None:
    """A line per source on stdout, each followed by what the parser noted about the files
    of an update; a failure's line on stderr (a cron job that keeps only stderr still gets
    the reason). A loop (``--every``) logs one line per run on stderr instead, failures named
    there."""
    for o in report.outcomes:
        typer.echo(outcome_line(o), err=o.failed and not log_on_stderr)
        for note in o.notes:
            typer.echo(f"  note: {note}")


def _render_run(
    report: RefreshReport,
    again: RescreenReport | None,
    as_json: bool,
    *,
    compact: bool = False,
    log_on_stderr: bool = False,
) -> None:
    """A refresh's lines (and the re-screening's), or one JSON document (one line when
    ``compact``, as a long-running loop prints one per run)."""
    if as_json:
        doc: dict[str, object] = jsonable(report)
        if again is not None:
            doc = {"refresh": doc, "rescreen": jsonable(again)}
        indent = None if compact else 2
        typer.echo(json.dumps(doc, indent=indent, ensure_ascii=False))
        return
    _echo_outcomes(report, log_on_stderr=log_on_stderr)
    if again is not None:
        for line in rescreen_lines(again):
            typer.echo(line)


def run_summary(report: RefreshReport, again: RescreenReport | None) -> str:
    """One line for a run: ``ofac_sdn updated +12 −3 ~40; 5 unchanged; 1 FAILED (…)``."""
    parts = []
    for o in report.outcomes:
        if o.status == "updated":
            parts.append(
                f"{o.source} updated +{len(o.added):,} \u2212{len(o.removed):,} ~{len(o.changed):,}"
            )
    unchanged = sum(1 for o in report.outcomes if o.status == "unchanged")
    if unchanged:
        parts.append(f"{unchanged} unchanged")
    for o in report.failed:
        parts.append(f"{o.source} FAILED ({o.message})")
    if again is not None:
        n = len(again.new_alerts)
        parts.append(
            f"rescreen {again.counterparties:,} counterparties: {n:,} new potential "
            f"match{'es' if n != 1 else ''}, {len(again.removed_alerts):,} withdrawn"
        )
    return "; ".join(parts) or "no sources"


def rescreen_lines(again: RescreenReport) -> list[str]:
    """The re-screening's summary line, then one line per new or withdrawn alert."""
    new = again.new_alerts
    lines = [
        f"rescreen ({again.mode}): {again.counterparties:,} counterparties "
        f"({again.screened_delta:,} against changed entries, {again.screened_full:,} in full, "
        f"{again.up_to_date:,} up to date): {len(new):,} new potential "
        f"match{'es' if len(new) != 1 else ''}, {len(again.updated_alerts):,} updated, "
        f"{len(again.removed_alerts):,} withdrawn; {again.open_alerts:,} open alerts "
        f"({again.seconds:.1f} s)"
    ]
    for e in new:
        what = "NEW" if e.event == "new" else "REOPENED"
        score = "" if e.score is None else f" {e.score:.2f}"
        list_name = e.hit.list_name if e.hit is not None else e.source
        lines.append(
            f"  {what} {e.counterparty_id} {e.name!r}: {list_name} {e.entry_id} "
            f"{e.matched_name!r}{score}"
        )
    for e in again.removed_alerts:
        why = f": {e.reason}" if e.reason else ""
        lines.append(f"  WITHDRAWN {e.counterparty_id} {e.name!r}: {e.source} {e.entry_id}{why}")
    for problem in again.problems:
        lines.append(f"  NOT SCREENED {problem}")
    return lines


def _render_report(report: RefreshReport, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(jsonable(report), indent=2, ensure_ascii=False))
    else:
        _echo_outcomes(report)
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
