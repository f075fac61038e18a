"""HTML reports an analyst can open: one self-contained file, no script, nothing fetched.

A report groups the hits by counterparty. Each hit shows the list entry it matched (list,
source, entry id, the name that matched and the entry's primary name, programs, countries and,
when the list entries are at hand, addresses, birth dates, nationalities and identity
documents) and why it scored what it scored. The header names the list snapshots screened
against, flags a stale or seed snapshot, and gives the generation time and the threshold.

Safety: every value comes from a list file or a customer's input, so every value is
HTML-escaped; a Content-Security-Policy forbids scripts and any network fetch even if one
slipped through, and table cells are marked as text for spreadsheet programs that open HTML
files (so a name such as ``=cmd|' /C calc'!A0`` is never run as a formula).

Two entry points:

* :func:`write_batch_html` / :class:`HtmlWriter` for ``screening batch --format html``;
* :func:`write_rescreen_html` for the new and withdrawn alerts of a re-screening of the
  counterparty register (``screening rescreen --html FILE``).

List entry details are optional: pass ``entries`` (a mapping, or a callable such as
:func:`store_entries` that fetches the entries behind the hits).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, Protocol

from screening.models import Hit, ListEntry, SnapshotRef

if TYPE_CHECKING:
    from screening.config import Settings
    from screening.register import AlertEvent
    from screening.rescreen import RescreenReport
    from screening.screener import BatchResult

__all__ = [
    "EntryKey",
    "EntryLookup",
    "HtmlWriter",
    "ReportGroup",
    "render_report",
    "store_entries",
    "write_batch_html",
    "write_rescreen_html",
]

#: (source, entry id) of a list entry.
EntryKey = tuple[str, str]
#: Given hits, the list entries behind them (those it can find).
EntryLookup = Callable[[Sequence[Hit]], Mapping[EntryKey, ListEntry]]
Entries = Mapping[EntryKey, ListEntry] | EntryLookup

#: Longest remarks text shown for an entry (OFAC remarks can run to several kilobytes).
MAX_REMARKS = 1500


def _e(value: object) -> str:
    """``value`` as HTML text: every ``<``, ``>``, ``&``, ``"`` and ``'`` escaped."""
    return html.escape("" if value is None else str(value), quote=True)


@dataclass(frozen=True)
class ReportGroup:
    """One counterparty of a report and its hits (or why it could not be screened)."""

    id: str
    name: str
    country: str | None = None
    type: str | None = None
    hits: Sequence[Hit] = ()
    error: str | None = None
    warnings: Sequence[str] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)  # extra input fields, kept as given
    note: str | None = None  # e.g. "new alert"


# -- the page --------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  margin: 0 auto; max-width: 1100px; padding: 1.5rem; color: #1b1f24; background: #fff; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 0; }
h3 { font-size: 1rem; margin: 0 0 .4rem; }
.meta, .muted { color: #57606a; }
.summary { font-size: 1.05rem; }
.notice { border-left: 4px solid #bf8700; background: #fff8c5; padding: .5rem .75rem;
  margin: .5rem 0; }
.alert { border-left-color: #cf222e; background: #ffebe9; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0; }
th, td { text-align: left; vertical-align: top; padding: .25rem .5rem;
  border-bottom: 1px solid #d0d7de; mso-number-format: "\\@"; }
th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
section.cp { border: 1px solid #d0d7de; border-radius: 6px; margin: 1rem 0;
  page-break-inside: avoid; }
section.cp > header { background: #f6f8fa; padding: .6rem .9rem; border-bottom: 1px solid #d0d7de; }
section.cp > header p { margin: .2rem 0 0; }
article.hit { padding: .6rem .9rem; border-top: 1px solid #eaeef2; }
article.hit:first-of-type { border-top: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .9rem;
  margin: .3rem 0; }
dl.facts dt { color: #57606a; }
dl.facts dd { margin: 0; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 1rem; font-size: .8rem;
  font-weight: 600; border: 1px solid currentColor; margin-left: .3rem; }
.stale, .score-high { color: #cf222e; }
.seed, .score-mid { color: #9a6700; }
.ok { color: #1a7f37; }
.score { font-weight: 700; font-variant-numeric: tabular-nums; }
ul.plain { margin: 0; padding-left: 1.1rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
footer { margin-top: 2rem; color: #57606a; font-size: .9rem; }
nav ol { columns: 2; }
@media print { nav { display: none; } body { max-width: none; } }
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'"


def render_report(
    groups: Sequence[ReportGroup],
    snapshots: Sequence[SnapshotRef],
    out: IO[str],
    *,
    title: str,
    summary: str,
    generated_at: datetime | None = None,
    threshold: float | None = None,
    warnings: Sequence[str] = (),
    entries: Entries | None = None,
    extra_sections: Sequence[str] = (),
    empty_text: str = "No potential matches.",
) -> None:
    """Write the report page. ``extra_sections`` are pre-rendered (already escaped) HTML."""
    from screening import __version__

    moment = (generated_at or datetime.now(UTC)).astimezone(UTC)
    found = _resolve_entries(entries, [h for g in groups for h in g.hits])
    w = out.write
    w('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')
    w(f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">\n')
    w('<meta name="referrer" content="no-referrer">\n')
    w('<meta name="viewport" content="width=device-width, initial-scale=1">\n')
    w(f'<meta name="generator" content="screening {_e(__version__)}">\n')
    w(f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<header>\n")
    w(f"<h1>{_e(title)}</h1>\n")
    meta = f"Generated {_e(f'{moment:%Y-%m-%d %H:%M:%S}')} UTC by screening {_e(__version__)}"
    if threshold is not None:
        meta += f" \u00b7 alert threshold {_e(f'{threshold:.2f}')}"
    w(f'<p class="meta">{meta}</p>\n')
    w(f'<p class="summary">{_e(summary)}</p>\n')
    for text in warnings:
        w(f'<p class="notice">{_e(text)}</p>\n')
    w(_snapshot_table(snapshots))
    w("</header>\n")
    with_hits = [g for g in groups if g.hits]
    if len(with_hits) > 1:
        w("<nav>\n<h2>Counterparties with potential matches</h2>\n<ol>\n")
        for n, g in enumerate(groups, start=1):
            if g.hits:
                w(f'<li><a href="#cp-{n}">{_e(g.id)} \u2014 {_e(g.name)}</a></li>\n')
        w("</ol>\n</nav>\n")
    w("<main>\n")
    if not with_hits:
        w(f'<p class="ok">{_e(empty_text)}</p>\n')
    for n, g in enumerate(groups, start=1):
        if g.hits:
            w(_group_section(g, n, found))
    rejected = [g for g in groups if g.error is not None]
    if rejected:
        w('<section id="rejected">\n<h2>Not screened</h2>\n')
        w("<p>These rows could not be screened; correct them and screen them again.</p>\n")
        w("<table>\n<thead><tr><th>Id</th><th>Name</th><th>Reason</th></tr></thead>\n<tbody>\n")
        for g in rejected:
            w(f"<tr><td>{_e(g.id)}</td><td>{_e(g.name)}</td><td>{_e(g.error)}</td></tr>\n")
        w("</tbody>\n</table>\n</section>\n")
    for section in extra_sections:
        w(section)
    w(
        "</main>\n<footer>\n<p>A potential match is not a determination that the counterparty is "
        "a listed party, and no match is not a clearance: compare the list entry's details "
        "(addresses, dates of birth, identifiers) with what you know of the counterparty, and "
        "record your decision.</p>\n</footer>\n</body>\n</html>\n"
    )


def _snapshot_table(snapshots: Sequence[SnapshotRef]) -> str:
    if not snapshots:
        return '<p class="notice alert">No list snapshot was screened against.</p>\n'
    rows = []
    for s in snapshots:
        if s.origin == "seed":
            state = '<span class="badge seed">SEED \u2014 not current data</span>'
        elif s.stale:
            state = '<span class="badge stale">STALE</span>'
        else:
            state = '<span class="ok">current</span>'
        rows.append(
            f'<tr><td>{_e(s.source)}</td><td class="num">{_e(s.snapshot_id)}</td>'
            f"<td>{_e(f'{s.as_of:%Y-%m-%d %H:%M}')}</td><td>{_e(s.origin)}</td>"
            f"<td><code>{_e(s.sha256[:16])}</code></td><td>{state}</td></tr>\n"
        )
    return (
        '<table class="snapshots">\n<caption>Lists screened against</caption>\n<thead><tr>'
        '<th>Source</th><th class="num">Snapshot</th><th>Data as of (UTC)</th><th>Origin</th>'
        "<th>SHA-256</th><th>State</th></tr></thead>\n<tbody>\n"
        + "".join(rows)
        + "</tbody>\n</table>\n"
    )


def _score_class(score: float) -> str:
    return "score-high" if score >= 0.95 else "score-mid"


def _group_section(g: ReportGroup, n: int, entries: Mapping[EntryKey, ListEntry]) -> str:
    best = max(h.score for h in g.hits)
    count = len(g.hits)
    parts = [f'<section class="cp" id="cp-{n}">\n<header>\n<h2>{_e(g.id)} \u2014 {_e(g.name)}']
    parts.append(f' <span class="badge">{count} potential match{"es" if count != 1 else ""}</span>')
    parts.append(f' <span class="badge {_score_class(best)}">best {best:.2f}</span>')
    if g.note:
        parts.append(f' <span class="badge stale">{_e(g.note)}</span>')
    parts.append("</h2>\n")
    facts = []
    if g.country:
        facts.append(f"country {_e(g.country)}")
    if g.type:
        facts.append(f"type {_e(g.type)}")
    facts.extend(f"{_e(k)}: {_e(v)}" for k, v in g.facts.items() if v not in (None, ""))
    if facts:
        joined = " \u00b7 ".join(facts)
        parts.append(f'<p class="muted">{joined}</p>\n')
    for text in g.warnings:
        parts.append(f'<p class="notice">{_e(text)}</p>\n')
    parts.append("</header>\n")
    for rank, hit in enumerate(g.hits, start=1):
        parts.append(
            _hit_article(hit, f"cp-{n}-hit-{rank}", entries.get((hit.source, hit.entry_id)))
        )
    parts.append("</section>\n")
    return "".join(parts)


def _hit_article(hit: Hit, anchor: str, entry: ListEntry | None) -> str:
    kind = hit.matched_name_kind.value + (", weak alias" if hit.matched_name_weak else "")
    head = (
        f'<h3><span class="score {_score_class(hit.score)}">{hit.score:.2f}</span> '
        f"{_e(hit.list_name)} \u00b7 entry {_e(hit.entry_id)}</h3>\n"
    )
    rows: list[tuple[str, str]] = [
        ("Matched name", f'{_e(hit.matched_name)} <span class="muted">({_e(kind)})</span>'),
        ("Primary name", _e(hit.primary_name)),
        ("List", f'{_e(hit.list_name)} <span class="muted">(source {_e(hit.source)})</span>'),
        ("Entry id", _e(hit.entry_id)),
        ("Type", _e(hit.entity_type.value)),
        ("Programs", _e(", ".join(hit.programs)) or "\u2014"),
        ("Countries", _e(", ".join(hit.countries)) or "\u2014"),
    ]
    if hit.snapshot_id is not None:
        rows.append(("Snapshot", _e(hit.snapshot_id)))
    if entry is not None:
        rows.extend(_entry_rows(entry))
    body = "".join(f"<dt>{label}</dt><dd>{value}</dd>\n" for label, value in rows)
    return (
        f'<article class="hit" id="{anchor}">\n{head}<dl class="facts">\n{body}</dl>\n'
        f"{_explanation(hit)}</article>\n"
    )


def _items(values: Iterable[str]) -> str:
    lis = "".join(f"<li>{_e(v)}</li>" for v in values)
    return f'<ul class="plain">{lis}</ul>' if lis else "\u2014"


def _entry_rows(entry: ListEntry) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    addresses = []
    for a in entry.addresses:
        bits = [a.address, a.city, a.state, a.postal_code, a.country_name or a.country]
        text = ", ".join(b for b in bits if b)
        if text:
            addresses.append(text)
    rows.append(("Addresses", _items(addresses)))
    if entry.aliases:
        rows.append(
            (
                "Aliases",
                _items(
                    f"{a.name} ({a.kind.value}{', weak' if a.weak else ''})" for a in entry.aliases
                ),
            )
        )
    if entry.title:
        rows.append(("Title", _e(entry.title)))
    if entry.dates_of_birth:
        rows.append(("Dates of birth", _e("; ".join(entry.dates_of_birth))))
    if entry.places_of_birth:
        rows.append(("Places of birth", _e("; ".join(entry.places_of_birth))))
    if entry.nationalities:
        rows.append(("Nationality", _e(", ".join(entry.nationalities))))
    if entry.citizenships:
        rows.append(("Citizenship", _e(", ".join(entry.citizenships))))
    if entry.ids:
        rows.append(
            (
                "Identifiers",
                _items(
                    f"{i.type} {i.number}"
                    + (f" ({i.country_name or i.country})" if (i.country_name or i.country) else "")
                    for i in entry.ids
                ),
            )
        )
    if entry.linked_to:
        rows.append(("Linked to", _items(entry.linked_to)))
    if entry.remarks:
        text = entry.remarks
        if len(text) > MAX_REMARKS:
            text = text[:MAX_REMARKS] + "\u2026"
        rows.append(("Remarks", _e(text)))
    return rows


def _explanation(hit: Hit) -> str:
    e = hit.explanation
    if e is None:
        return ""
    parts = ['<div class="why">\n<h3>Why this score</h3>\n<dl class="facts">\n']
    parts.append(f"<dt>Method</dt><dd>{_e(e.method)}</dd>\n")
    parts.append(
        f"<dt>Screened name, normalised</dt><dd><code>{_e(e.query_normalized)}</code></dd>\n"
    )
    parts.append(
        f"<dt>List name, normalised</dt><dd><code>{_e(e.candidate_normalized)}</code></dd>\n"
    )
    if e.unmatched_query_tokens:
        parts.append(
            f"<dt>Only in the screened name</dt><dd>{_e(' '.join(e.unmatched_query_tokens))}</dd>\n"
        )
    if e.unmatched_candidate_tokens:
        parts.append(
            f"<dt>Only in the list name</dt><dd>{_e(' '.join(e.unmatched_candidate_tokens))}</dd>\n"
        )
    if e.adjustments:
        parts.append(f"<dt>Adjustments</dt><dd>{_items(e.adjustments)}</dd>\n")
    if e.components:
        comps = ", ".join(f"{k} {v:.4f}" for k, v in e.components.items())
        parts.append(f"<dt>Components</dt><dd>{_e(comps)}</dd>\n")
    parts.append("</dl>\n")
    if e.matched_tokens:
        parts.append(
            '<table class="tokens">\n<thead><tr><th>Screened part</th><th>List part</th>'
            '<th class="num">Similarity</th></tr></thead>\n<tbody>\n'
        )
        for a, b, s in e.matched_tokens:
            parts.append(f'<tr><td>{_e(a)}</td><td>{_e(b)}</td><td class="num">{s:.2f}</td></tr>\n')
        parts.append("</tbody>\n</table>\n")
    parts.append("</div>\n")
    return "".join(parts)


# -- list entries behind the hits ------------------------------------------------------------


def _resolve_entries(entries: Entries | None, hits: Sequence[Hit]) -> Mapping[EntryKey, ListEntry]:
    if entries is None or not hits:
        return {}
    if callable(entries):
        return entries(hits)
    return entries


class _SnapshotEntries(Protocol):
    def entries(self, snapshot_id: int) -> list[ListEntry]: ...


def entries_from(store: _SnapshotEntries, hits: Sequence[Hit]) -> dict[EntryKey, ListEntry]:
    """The list entries behind ``hits``, read from their snapshots in ``store`` (a snapshot
    pruned since is skipped: the report then shows what the hit itself carries)."""
    wanted: dict[int, set[str]] = {}
    for h in hits:
        if h.snapshot_id is not None:
            wanted.setdefault(h.snapshot_id, set()).add(h.entry_id)
    out: dict[EntryKey, ListEntry] = {}
    from screening.errors import StoreError

    for snapshot_id, ids in wanted.items():
        try:
            listed = store.entries(snapshot_id)
        except StoreError:
            continue
        for entry in listed:
            if entry.entry_id in ids:
                out[(entry.source, entry.entry_id)] = entry
    return out


def store_entries(settings: Settings) -> EntryLookup:
    """An :data:`EntryLookup` reading the snapshot store of ``settings`` when called."""

    def lookup(hits: Sequence[Hit]) -> Mapping[EntryKey, ListEntry]:
        from screening.store import Store

        with Store.open(settings) as store:
            return entries_from(store, hits)

    return lookup


# -- batch results ---------------------------------------------------------------------------


class HtmlWriter:
    """A batch writer (``write``/``close``, like the JSONL and CSV writers) that keeps the rows
    with hits or errors, counts the clear ones, and writes the report on ``close``."""

    def __init__(
        self,
        out: IO[str],
        snapshots: Sequence[SnapshotRef],
        *,
        title: str = "Screening report",
        threshold: float | None = None,
        warnings: Sequence[str] = (),
        entries: Entries | None = None,
        generated_at: datetime | None = None,
    ) -> None:
        self.out = out
        self.snapshots = tuple(snapshots)
        self.title = title
        self.threshold = threshold
        self.warnings = tuple(warnings)
        self.entries = entries
        self.generated_at = generated_at
        self.groups: list[ReportGroup] = []
        self.rows = 0
        self.clear = 0

    def write(self, result: BatchResult) -> None:
        self.rows += 1
        if not result.hits and result.error is None:
            self.clear += 1
            return
        self.groups.append(
            ReportGroup(
                id=result.id,
                name=result.name,
                country=result.country,
                type=result.type,
                hits=result.hits,
                error=result.error,
                warnings=result.warnings,
                facts=result.extra,
            )
        )

    def close(self) -> None:
        with_hits = sum(1 for g in self.groups if g.hits)
        hits = sum(len(g.hits) for g in self.groups)
        rejected = sum(1 for g in self.groups if g.error is not None)
        summary = (
            f"{self.rows:,} counterpart{'ies' if self.rows != 1 else 'y'} screened: "
            f"{with_hits:,} with potential matches ({hits:,} hit{'s' if hits != 1 else ''}), "
            f"{self.clear:,} without, {rejected:,} not screened."
        )
        render_report(
            self.groups,
            self.snapshots,
            self.out,
            title=self.title,
            summary=summary,
            generated_at=self.generated_at,
            threshold=self.threshold,
            warnings=self.warnings,
            entries=self.entries,
        )
        self.out.flush()


def write_batch_html(
    results: Iterable[BatchResult],
    snapshots: Sequence[SnapshotRef],
    out: IO[str],
    title: str = "Screening report",
    *,
    threshold: float | None = None,
    warnings: Sequence[str] = (),
    entries: Entries | None = None,
    generated_at: datetime | None = None,
) -> None:
    """Write batch results as one HTML page: the counterparties with hits, grouped, then the
    rows that could not be screened. Clear rows are counted, not listed."""
    writer = HtmlWriter(
        out,
        snapshots,
        title=title,
        threshold=threshold,
        warnings=warnings,
        entries=entries,
        generated_at=generated_at,
    )
    for result in results:
        writer.write(result)
    writer.close()


# -- re-screening reports --------------------------------------------------------------------


def write_rescreen_html(
    report: RescreenReport,
    out: IO[str],
    title: str = "Re-screening report",
    *,
    entries: Entries | None = None,
    generated_at: datetime | None = None,
) -> None:
    """Write a re-screening of the counterparty register as one HTML page: the new potential
    matches (new alerts, and false positives reopened because their list entry changed)
    grouped by counterparty, then the alerts updated and withdrawn, and the counterparties
    that could not be screened."""
    groups: dict[str, list[AlertEvent]] = {}
    for event in report.new_alerts:
        groups.setdefault(event.counterparty_id, []).append(event)
    report_groups = []
    for cp_id, events in groups.items():
        first = events[0]
        kinds = sorted({e.event for e in events})
        report_groups.append(
            ReportGroup(
                id=cp_id,
                name=first.name,
                country=first.country,
                type=first.type,
                hits=tuple(e.hit for e in events if e.hit is not None),
                note=" and ".join(
                    "reopened alert" if k == "reopened" else f"{k} alert" for k in kinds
                ),
            )
        )
    new = len(report.new_alerts)
    removed = len(report.removed_alerts)
    updated = len(report.updated_alerts)
    summary = (
        f"Re-screened the register ({report.mode}) in {report.seconds:,.1f} s: "
        f"{report.counterparties:,} counterparties, {report.screened_delta:,} against the changed "
        f"list entries only, {report.screened_full:,} against every entry, "
        f"{report.up_to_date:,} already up to date. "
        f"{new:,} new potential match{'es' if new != 1 else ''}, {updated:,} alert"
        f"{'s' if updated != 1 else ''} updated, {removed:,} withdrawn; "
        f"{report.open_alerts:,} open alert{'s' if report.open_alerts != 1 else ''} in the "
        "register."
    )
    sections = []
    if report.updated_alerts:
        sections.append(
            _event_table(
                "updated",
                "Alerts updated",
                "Still potential matches; the list entry or the score changed.",
                report.updated_alerts,
            )
        )
    if report.removed_alerts:
        sections.append(
            _event_table(
                "removed",
                "Alerts withdrawn",
                "No longer potential matches: the list entry was removed or changed, or the "
                "counterparty changed.",
                report.removed_alerts,
            )
        )
    problems = [
        *report.problems,
        *(f"{i}: changed while re-screening; not recorded" for i in report.skipped),
    ]
    if problems:
        items = "".join(f"<li>{_e(p)}</li>" for p in problems)
        sections.append(
            '<section id="problems">\n<h2>Not screened</h2>\n'
            f'<ul class="plain">{items}</ul>\n</section>\n'
        )
    render_report(
        report_groups,
        report.snapshots,
        out,
        title=title,
        summary=summary,
        generated_at=generated_at,
        warnings=report.warnings,
        entries=entries,
        extra_sections=sections,
        empty_text="No new potential matches.",
    )
    out.flush()


def _event_table(anchor: str, heading: str, intro: str, events: Sequence[AlertEvent]) -> str:
    rows = []
    for ev in events:
        score = "" if ev.score is None else f"{ev.score:.2f}"
        rows.append(
            f"<tr><td>{_e(ev.counterparty_id)}</td><td>{_e(ev.name)}</td>"
            f"<td>{_e(ev.source)}</td><td>{_e(ev.entry_id)}</td>"
            f'<td>{_e(ev.matched_name)}</td><td class="num">{_e(score)}</td>'
            f"<td>{_e(ev.status)}</td><td>{_e(ev.reason)}</td></tr>\n"
        )
    return (
        f'<section id="{anchor}">\n<h2>{_e(heading)}</h2>\n<p>{_e(intro)}</p>\n<table>\n'
        "<thead><tr><th>Counterparty</th><th>Name</th><th>Source</th><th>Entry id</th>"
        '<th>Matched name</th><th class="num">Score</th><th>Status</th><th>Reason</th></tr>'
        "</thead>\n<tbody>\n" + "".join(rows) + "</tbody>\n</table>\n</section>\n"
    )
