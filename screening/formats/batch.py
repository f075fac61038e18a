"""Batch results as JSON Lines or CSV.

JSON Lines (the contract other tools rely on): one object per input row, in input order::

    {"id": "p00001", "name": "...", "hits": [{"source": "ofac_sdn", "entry_id": "36",
     "matched_name": "...", "score": 0.93, "list_name": "OFAC SDN", "programs": [...], ...}],
     "snapshots": {"ofac_sdn": 3, ...}}

A row that could not be screened has ``"error"`` instead of hits.

CSV: the input's columns, then one line per hit (a row without hits has one line with the hit
columns empty), every cell made safe for spreadsheets.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from typing import IO, Any

from screening.formats.safe import spreadsheet_safe
from screening.models import Hit, jsonable
from screening.screener import BatchResult

HIT_COLUMNS = (
    "hit_rank",
    "score",
    "source",
    "list_name",
    "entry_id",
    "matched_name",
    "matched_name_kind",
    "primary_name",
    "entity_type",
    "programs",
    "countries",
    "snapshot_id",
    "explanation",
)


def hit_record(hit: Hit) -> dict[str, Any]:
    return jsonable(hit)


def result_record(result: BatchResult, snapshots: Mapping[str, int]) -> dict[str, Any]:
    rec: dict[str, Any] = {"id": result.id, "name": result.name}
    if result.country:
        rec["country"] = result.country
    if result.type:
        rec["type"] = result.type
    if result.error is not None:
        rec["error"] = result.error
        rec["hits"] = []
    else:
        rec["hits"] = [hit_record(h) for h in result.hits]
    if result.warnings:
        rec["warnings"] = list(result.warnings)
    rec["snapshots"] = dict(snapshots)
    return rec


class JsonlWriter:
    def __init__(self, out: IO[str], snapshots: Mapping[str, int]) -> None:
        self.out = out
        self.snapshots = dict(snapshots)

    def write(self, result: BatchResult) -> None:
        self.out.write(json.dumps(result_record(result, self.snapshots), ensure_ascii=False))
        self.out.write("\n")

    def close(self) -> None:
        self.out.flush()


def explain_text(hit: Hit) -> str:
    e = hit.explanation
    if e is None:
        return ""
    parts = [f"{e.method}"]
    if e.matched_tokens:
        parts.append("matched " + ", ".join(f"{a}={b}({s:.2f})" for a, b, s in e.matched_tokens))
    if e.unmatched_query_tokens:
        parts.append("query only: " + " ".join(e.unmatched_query_tokens))
    if e.unmatched_candidate_tokens:
        parts.append("list only: " + " ".join(e.unmatched_candidate_tokens))
    parts.extend(e.adjustments)
    return "; ".join(parts)


class CsvWriter:
    """CSV with the input's columns, then the hit columns; one line per hit."""

    def __init__(self, out: IO[str], snapshots: Mapping[str, int]) -> None:
        self.out = out
        self.writer = csv.writer(out, lineterminator="\n")
        self.snapshots = dict(snapshots)
        self.extra_columns: list[str] | None = None

    def write(self, result: BatchResult) -> None:
        if self.extra_columns is None:
            self.extra_columns = list(result.extra)
            # The extra column names come from the input file: made safe like any cell.
            self._row(["id", "name", "country", "type", *self.extra_columns, "error", *HIT_COLUMNS])
        base = [
            result.id,
            result.name,
            result.country or "",
            result.type or "",
            *(result.extra.get(c, "") for c in self.extra_columns),
            result.error or "",
        ]
        if not result.hits:
            self._row([*base, *([""] * len(HIT_COLUMNS))])
            return
        for rank, hit in enumerate(result.hits, start=1):
            self._row(
                [
                    *base,
                    rank,
                    f"{hit.score:.4f}",
                    hit.source,
                    hit.list_name,
                    hit.entry_id,
                    hit.matched_name,
                    hit.matched_name_kind.value + (" (weak)" if hit.matched_name_weak else ""),
                    hit.primary_name,
                    hit.entity_type.value,
                    "; ".join(hit.programs),
                    "; ".join(hit.countries),
                    hit.snapshot_id if hit.snapshot_id is not None else "",
                    explain_text(hit),
                ]
            )

    def _row(self, values: list[Any]) -> None:
        self.writer.writerow([spreadsheet_safe(v) for v in values])

    def close(self) -> None:
        self.out.flush()


class TextWriter:
    """A line per row for people at a terminal: the row and its best hits."""

    def __init__(self, out: IO[str], snapshots: Mapping[str, int], shown: int = 3) -> None:
        self.out = out
        self.shown = shown

    def write(self, result: BatchResult) -> None:
        head = f"{result.id:<8} {result.name}"
        if result.country:
            head += f" [{result.country}]"
        if result.error is not None:
            self.out.write(f"{head}\n         REJECTED: {result.error}\n")
            return
        if not result.hits:
            self.out.write(f"{head}\n         no match\n")
            return
        self.out.write(head + "\n")
        for hit in result.hits[: self.shown]:
            self.out.write(
                f"         {hit.score:.2f}  {hit.list_name} {hit.entry_id[:12]}  "
                f"{hit.matched_name}\n"
            )
        if len(result.hits) > self.shown:
            self.out.write(f"         ... and {len(result.hits) - self.shown} more\n")

    def close(self) -> None:
        self.out.flush()
