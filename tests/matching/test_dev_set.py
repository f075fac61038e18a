"""The labelled development set as a regression test (issue 3's targets).

tests/fixtures/eval/ holds a copy of ../shared/eval: 953 labelled queries (real variants of real
listed names, and unlisted names) and 5,000 more unlisted names. The screener runs over the
seed snapshots the labels come from, through the same batch path as `screening batch`.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from screening.screener import BatchRow, Screener

EVAL = Path(__file__).resolve().parent.parent / "fixtures" / "eval"


def run(screener: Screener, path: Path) -> tuple[list[dict[str, str]], dict[str, list[str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        queries = list(csv.DictReader(f))
    rows = [
        BatchRow(id=q["id"], name=q["name"], country=q["country"] or None, type=q["type"] or None)
        for q in queries
    ]
    hits = {
        r.id: [f"{h.source}:{h.entry_id}" for h in sorted(r.hits, key=lambda h: -h.score)]
        for r in screener.screen_many(rows)
    }
    return queries, hits


@pytest.fixture(scope="module")
def dev(screener: Screener) -> tuple[list[dict[str, str]], dict[str, list[str]]]:
    return run(screener, EVAL / "dev.csv")


def test_recall_and_top1(dev: tuple[list[dict[str, str]], dict[str, list[str]]]) -> None:
    queries, hits = dev
    positives = [q for q in queries if q["label"] == "match"]
    found = sum(q["expected"] in hits[q["id"]] for q in positives)
    top1 = sum(bool(hits[q["id"]]) and hits[q["id"]][0] == q["expected"] for q in positives)
    assert found / len(positives) >= 0.98
    assert top1 / len(positives) >= 0.96


def test_recall_in_every_variation_class(
    dev: tuple[list[dict[str, str]], dict[str, list[str]]],
) -> None:
    queries, hits = dev
    per: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    for q in queries:
        if q["label"] == "match":
            per[q["class"]][0] += q["expected"] in hits[q["id"]]
            per[q["class"]][1] += 1
    weak = {c: f"{a}/{b}" for c, (a, b) in per.items() if a / b < 0.93}
    assert not weak, weak
    assert len(per) >= 14  # every class is present


def test_alert_rate_on_unlisted_names(
    dev: tuple[list[dict[str, str]], dict[str, list[str]]], screener: Screener
) -> None:
    queries, hits = dev
    negatives = [q for q in queries if q["label"] == "no_match"]
    assert sum(bool(hits[q["id"]]) for q in negatives) / len(negatives) <= 0.005
    more, more_hits = run(screener, EVAL / "dev_negatives_5k.csv")
    assert sum(bool(more_hits[q["id"]]) for q in more) / len(more) <= 0.005
