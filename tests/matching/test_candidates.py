"""The candidate search: which list names are worth scoring for a query.

Its estimate of a name's score must not fall below what the name would score (else a match is
lost), and should not run far above it (else every name sharing one word is scored).
"""

from __future__ import annotations

import pytest

from screening.matching.index import CANDIDATE_MARGIN, MatchIndex
from screening.matching.score import align, compact_similarity
from screening.screener import Screener

THRESHOLD = 0.85


def brute_force(index: MatchIndex, text: str) -> set[int]:
    """Every list name whose name score reaches the threshold, scoring them all."""
    q = index.prepare(text)
    _, maps = index.candidates(q, 0.0)
    found = set()
    for n, cand in enumerate(index.names):
        raw, _ = align(
            q.forms, q.keys, q.weights, q.roles, maps,
            cand.forms, cand.keys, cand.weights, cand.roles, {},
            c_spelt=cand.spelt,
        )  # fmt: skip
        if len(q.forms) != len(cand.forms):
            raw = max(raw, compact_similarity(q.compact, cand.compact))
        if raw >= THRESHOLD:
            found.add(n)
    return found


@pytest.mark.parametrize(
    "text",
    [
        "Rodriguez Co.",  # one rare word and a generic one
        "Conradi AG & Co. OHG",
        "BARLY OFFSHORE",  # the generic word is two list parts run together (OFF-SHORE)
        "Bank-e ShaWr",  # a typo beside generic words the index finds as a pair
        "AL SALAH SOCIETY",
        "Kral Aviation Ltd Sti",
    ],
)
def test_no_name_that_scores_is_left_out(screener: Screener, text: str) -> None:
    index = screener.index
    q = index.prepare(text)
    ranked, _ = index.candidates(q, THRESHOLD)
    assert brute_force(index, text) <= {n for _, n in ranked}


@pytest.mark.parametrize(
    ("text", "most"),
    [("Rodriguez Co.", 5), ("Conradi AG & Co. OHG", 10), ("AL SALAH SOCIETY", 30)],
)
def test_generic_words_do_not_make_every_name_a_candidate(
    screener: Screener, text: str, most: int
) -> None:
    """A query's generic word ("company", "society") pairs only with a list part of its own
    spelling; names that share only the rare word and lack it score low and are not scored
    (there are dozens of listed RODRIGUEZes, and 1,467 names with COMPANY)."""
    index = screener.index
    ranked, _ = index.candidates(index.prepare(text), THRESHOLD)
    assert len(ranked) <= most, [index.names[n].name for _, n in ranked]
    assert all(est >= THRESHOLD - CANDIDATE_MARGIN - 0.03 for est, _ in ranked)
