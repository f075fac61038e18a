"""check, batch, compare: name screening at the command line."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Iterator
from itertools import chain, islice
from pathlib import Path
from typing import IO, Annotated

import typer

from screening.cli._app import ExitCode, command, fail, record_audit, refuse_overwriting, state
from screening.errors import InputError
from screening.formats.batch import CsvWriter, JsonlWriter, TextWriter, explain_text
from screening.formats.html import HtmlWriter, store_entries
from screening.models import Hit, ScreeningResult, jsonable
from screening.screener import (
    BatchResult,
    BatchRow,
    RejectedRow,
    Screener,
    compare,
    default_workers,
)

ThresholdOpt = Annotated[
    float | None,
    typer.Option(
        "--threshold",
        min=0.01,
        max=1.0,
        help="Alert threshold, 0.01 to 1 (default: the configured one, 0.85).",
        show_default=False,
    ),
]


def _echo_err(message: str) -> None:
    typer.echo(message, err=True)


def _hit_lines(hit: Hit, rank: int) -> list[str]:
    kind = hit.matched_name_kind.value + (", weak" if hit.matched_name_weak else "")
    lines = [
        f"{rank:>2}. {hit.score:.2f}  {hit.list_name}  {hit.entry_id}",
        f"    matched {hit.matched_name!r} ({kind})"
        + (f" of {hit.primary_name!r}" if hit.matched_name != hit.primary_name else ""),
    ]
    facts = []
    if hit.entity_type.value != "unknown":
        facts.append(hit.entity_type.value)
    if hit.programs:
        facts.append("programs " + ", ".join(hit.programs))
    if hit.countries:
        facts.append("countries " + ", ".join(hit.countries))
    if facts:
        lines.append("    " + "; ".join(facts))
    why = explain_text(hit)
    if why:
        lines.append(f"    why: {why}")
    return lines


def _snapshot_line(result: ScreeningResult) -> str:
    parts = []
    for s in result.snapshots:
        tag = " seed" if s.origin == "seed" else ""
        stale = " STALE" if s.stale else ""
        parts.append(f"{s.source}#{s.snapshot_id} ({s.as_of.date().isoformat()}{tag}{stale})")
    return "lists: " + ", ".join(parts)


@command("check")
def check(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The name to screen (person, company, vessel).")],
    country: Annotated[
        str | None, typer.Option("--country", "-c", help="Country (ISO code or name).")
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option("--type", "-t", help="person, organization, vessel or aircraft."),
    ] = None,
    threshold: ThresholdOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100, help="Most hits shown.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Screen one name against every enabled list. Exit 1 when it may be a listed party."""
    screener = Screener.open(state(ctx).settings)
    result = screener.screen(name, country=country, kind=kind, threshold=threshold, limit=limit)
    if as_json:
        typer.echo(json.dumps(jsonable(result), ensure_ascii=False, indent=2))
    else:
        where = f" (country {result.country})" if result.country else ""
        typer.echo(
            f"{name!r}{where}: {len(result.hits)} potential match(es) "
            f"at threshold {result.threshold:.2f}"
        )
        for i, hit in enumerate(result.hits, start=1):
            for line in _hit_lines(hit, i):
                typer.echo(line)
        typer.echo(_snapshot_line(result))
        for w in result.warnings:
            _echo_err(f"warning: {w}")
    record_audit(
        state(ctx).settings,
        "check",
        input={"name": name, "country": country, "type": kind},
        results=result.hits,
        snapshots=result.snapshots,
        threshold=result.threshold,
    )
    raise typer.Exit(int(ExitCode.REVIEW if result.hits else ExitCode.OK))


class _Progress:
    """A one-line progress counter on stderr (only on a terminal, unless forced)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.start = time.monotonic()
        self.last = 0.0
        self.count = 0

    def tick(self) -> None:
        self.count += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last >= 0.2:
            self.last = now
            rate = self.count / max(now - self.start, 1e-9)
            sys.stderr.write(f"\rscreened {self.count:,} rows  {rate:,.0f} rows/s")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


@command("batch")
def batch(
    ctx: typer.Context,
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT", help="CSV (header with 'name') or JSONL file.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write results here (default: standard output)."),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="jsonl, csv, text or html (default: from --output's extension, else jsonl).",
        ),
    ] = None,
    input_format: Annotated[
        str | None, typer.Option("--input-format", help="csv or jsonl (default: from INPUT).")
    ] = None,
    threshold: ThresholdOpt = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, max=64, help="Worker processes (default: CPU count)."),
    ] = None,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="Progress on stderr (default: on a TTY)."),
    ] = None,
) -> None:
    """Screen every row of a file. Exit 1 if any row has hits, 2 if rows were rejected."""
    from screening.inputs import read_rows

    out_format = _output_format(fmt, output)
    if output is not None:
        refuse_overwriting(output, input_path)
    settings = state(ctx).settings
    rows = read_rows(input_path, input_format, warn=lambda m: _echo_err(f"warning: {m}"))
    first = next(rows, None)  # read errors (missing file, no name column) before any output
    screener = Screener.open(settings)
    snapshots = {s.source: s.snapshot_id for s in screener.snapshot_refs()}
    for w in screener.list_warnings():
        _echo_err(f"warning: {w}")
    stream: IO[str]
    stream = sys.stdout if output is None else _open_output(output)
    writer = (
        HtmlWriter(
            stream,
            screener.snapshot_refs(),
            threshold=screener.threshold if threshold is None else threshold,
            warnings=screener.list_warnings(),
            entries=store_entries(settings),
        )
        if out_format == "html"
        else _WRITERS[out_format](stream, snapshots)
    )
    counts = {"rows": 0, "hits": 0, "rejected": 0}
    bar = _Progress(sys.stderr.isatty() if progress is None else progress)
    all_rows: Iterator[BatchRow | RejectedRow] = chain([first] if first else [], rows)
    from screening.audit import canonical_bytes, compact

    # The audit record keeps every row with hits in full (and the first rejected rows), and a
    # SHA-256 over every row's compact result in order, so that the clear and rejected rows are
    # accounted for without holding them: memory stays flat however long the file is.
    flagged: list[object] = []
    rows_digest = hashlib.sha256()
    try:
        for result in _screen_stream(screener, all_rows, threshold, workers):
            writer.write(result)
            row = compact(result)
            rows_digest.update(canonical_bytes(row) + b"\n")
            if result.hits or (result.error is not None and len(flagged) < _AUDIT_REJECTED_KEPT):
                flagged.append(row)
            counts["rows"] += 1
            counts["hits"] += bool(result.hits)
            counts["rejected"] += result.error is not None
            bar.tick()
    finally:
        bar.done()
        writer.close()
        if output is not None:
            stream.close()
    _echo_err(
        f"{counts['rows']:,} rows: {counts['hits']:,} with potential matches, "
        f"{counts['rejected']:,} rejected"
    )
    record_audit(
        settings,
        "batch",
        input={"file": str(input_path), "sha256": _file_sha256(input_path), **counts},
        results={"rows_sha256": rows_digest.hexdigest(), "flagged": flagged},
        snapshots=screener.snapshot_refs(),
        threshold=screener.threshold if threshold is None else threshold,
    )
    if counts["hits"]:
        raise typer.Exit(int(ExitCode.REVIEW))
    if counts["rejected"]:
        raise typer.Exit(int(ExitCode.USAGE))
    raise typer.Exit(int(ExitCode.OK))


_WRITERS: dict[str, type[JsonlWriter] | type[CsvWriter] | type[TextWriter]] = {
    "jsonl": JsonlWriter,
    "csv": CsvWriter,
    "text": TextWriter,
}
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "text"}


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _output_format(fmt: str | None, output: Path | None) -> str:
    if fmt is not None:
        value = fmt.strip().lower()
        if value not in (*_WRITERS, "html"):
            formats = ", ".join((*_WRITERS, "html"))
            fail(f"--format must be one of {formats}, not {fmt!r}", ExitCode.USAGE)
        return value
    if output is not None:
        if output.suffix.lower() in (".html", ".htm"):
            return "html"
        return _EXTENSIONS.get(output.suffix.lower(), "jsonl")
    return "jsonl"


def _open_output(path: Path) -> IO[str]:
    try:
        return path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from exc


_AUDIT_REJECTED_KEPT = 1000  # rejected rows copied into a batch's audit record
#: Rows: below this, one process is as fast as two (held-out rows, two cores).
_PARALLEL_FROM = 1000


def _screen_stream(
    screener: Screener,
    rows: Iterator[BatchRow | RejectedRow],
    threshold: float | None,
    workers: int | None,
) -> Iterator[BatchResult]:
    """Results in input order (rejected rows in their place)."""
    head = list(islice(rows, _PARALLEL_FROM))
    n_workers = workers or (default_workers() if len(head) >= _PARALLEL_FROM else 1)
    return screener.screen_many(chain(head, rows), threshold=threshold, workers=n_workers)


@command("compare")
def compare_cmd(
    name_a: Annotated[str, typer.Argument(help="A name, as screened.")],
    name_b: Annotated[str, typer.Argument(help="A name, as a list writes it.")],
    kind: Annotated[
        str | None,
        typer.Option("--type", "-t", help="person, organization, vessel or aircraft."),
    ] = None,
    threshold: Annotated[
        float, typer.Option("--threshold", min=0.01, max=1.0, help="Alert threshold.")
    ] = 0.85,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Compare two names and explain the score. Exit 1 when they match at the threshold."""
    result = compare(name_a, name_b, kind, threshold=threshold)
    if as_json:
        typer.echo(json.dumps(jsonable(result), ensure_ascii=False, indent=2))
    else:
        verdict = "MATCH" if result.match else "no match"
        typer.echo(f"{result.score:.4f}  {verdict} at threshold {result.threshold:.2f}")
        e = result.explanation
        if e is not None:
            typer.echo(f"  normalised: {e.query_normalized!r} vs {e.candidate_normalized!r}")
            typer.echo(f"  method: {e.method}")
            for a, b, s in e.matched_tokens:
                typer.echo(f"  {a} = {b}  ({s:.2f})")
            if e.unmatched_query_tokens:
                typer.echo(f"  only in the first: {' '.join(e.unmatched_query_tokens)}")
            if e.unmatched_candidate_tokens:
                typer.echo(f"  only in the second: {' '.join(e.unmatched_candidate_tokens)}")
    raise typer.Exit(int(ExitCode.REVIEW if result.match else ExitCode.OK))
