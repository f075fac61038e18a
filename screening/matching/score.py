"""Scoring one screened name against one list name.

Plain code on plain tuples: this runs for every candidate of every query. Two comparisons are
made and the higher wins:

* **token alignment** — each part of the screened name is paired with at most one part of the
  list name (exact, same given name under another transliteration, same phonetic key, or a
  typo-level edit); the score is a weighted Dice coefficient in which each part counts by its
  informativeness (rare surnames count much, "trading" or "al" little). Parts of the list name
  that the screened name leaves out count less when they are middle names or patronymics of a
  person, so "Sergei Shoigu" finds "SHOYGU, Sergey Kuzhugetovich".
* **compact comparison** — the phonetic keys run together, compared with an edit ratio, for
  names that were joined or split ("ALBASHAIR" / "AL BASHAIR").
"""

from __future__ import annotations

from rapidfuzz.distance import OSA, Indel, JaroWinkler, Levenshtein

from screening.names.normalize import ROLE_GIVEN, ROLE_MIDDLE, ROLE_NONE, ROLE_SURNAME

FIRST_LETTER_PENALTY = 0.05
#: Similarity below which two parts are not paired at all.
MIN_TOKEN_SIM = 0.78
#: Weight of an unmatched list-name part, by role, relative to its full weight.
UNMATCHED_WEIGHT = {ROLE_MIDDLE: 0.2, ROLE_GIVEN: 0.6, ROLE_SURNAME: 0.6}
UNMATCHED_WEIGHT_DEFAULT = 0.8
#: Weight of each unmatched middle name after the first, relative to its full weight.
FURTHER_MIDDLE_WEIGHT = 0.1
#: The compact comparison's score is discounted slightly: it knows less than the alignment.
COMPACT_FACTOR = 0.97
COMPACT_MIN = 0.9
COMPACT_MIN_LENGTH_RATIO = 0.92
#: Similarity of two words five letters or longer that differ by two neighbouring letters
#: swapped (the first letter kept).
SWAP_SIM = 0.9
SWAP_MIN_LENGTH = 5
#: Similarity factor when both roles are known and a surname meets a given name.
ROLE_MISMATCH_FACTOR = 0.75


def token_similarity(qf: str, qk: str, cf: str, ck: str) -> tuple[float, str]:
    """Similarity of two name parts (forms and phonetic keys) and how it was established."""
    if qf == cf:
        return 1.0, "exact"
    if qk == ck:
        return phonetic_similarity(qk), "phonetic"
    lq, lc = len(qf), len(cf)
    shorter, longer = (lq, lc) if lq <= lc else (lc, lq)
    if shorter < 4 or shorter < 0.75 * longer:
        return 0.0, ""
    if not (qf.isalpha() and cf.isalpha()):
        return 0.0, ""
    s = max(Indel.normalized_similarity(qk, ck), Indel.normalized_similarity(qf, cf))
    if shorter >= 5:
        s = max(s, JaroWinkler.similarity(qf, cf) - 0.08)
    if qf[0] != cf[0] and qk[0] != ck[0]:
        s -= FIRST_LETTER_PENALTY  # typos rarely hit the first letter; other names often differ
    elif (
        shorter >= SWAP_MIN_LENGTH
        and s < SWAP_SIM
        and lq == lc
        and OSA.distance(qf, cf) == 1
        and Levenshtein.distance(qf, cf) == 2
    ):
        # Two neighbouring letters swapped ("Versor" / "Vresor", "Mekom" / "Mekmo"): a
        # keyboard slip, seldom two real names, and one the edit ratio undervalues (it counts
        # two edits) in a short word.
        s = SWAP_SIM
    if s < MIN_TOKEN_SIM:
        return 0.0, ""
    return s * 0.97, "fuzzy"


def phonetic_similarity(key: str) -> float:
    """Similarity of two different spellings with the same phonetic key."""
    # Short names that sound alike are often different names (Yang / Jang).
    return 0.96 if len(key) > 4 else 0.9


def align(
    q_forms: tuple[str, ...],
    q_keys: tuple[str, ...],
    q_weights: tuple[float, ...],
    q_roles: tuple[str, ...],
    q_maps: tuple[dict[str, float] | None, ...],
    c_forms: tuple[str, ...],
    c_keys: tuple[str, ...],
    c_weights: tuple[float, ...],
    c_roles: tuple[str, ...],
    cache: dict[tuple[str, str], float],
    *,
    exact_only: bool = False,
    c_spelt: tuple[str, ...] | None = None,
) -> tuple[float, list[tuple[int, int, float]]]:
    """Weighted-Dice alignment score and the pairs (query index, list index, similarity).

    ``c_spelt``: the list parts as spelt before abbreviations were written out, which a query
    part may run together ("VALTEXST" for VALTEX-ST, whose parts read "valtex saint").

    ``exact_only``: parts pair only when spelt alike (a name in Chinese characters, whose
    pinyin syllables are each a different character: "yang" is not "zhang", nor "jian" "jiang").

    ``q_maps[i]`` maps the phonetic keys similar to query part ``i`` to their similarity (as
    found by the index); parts without a map (generic words) pair only when equal. Parts left
    unpaired on both sides are then compared directly (typos the index did not see), with
    ``cache`` holding those similarities for the query.
    """
    pairs: list[tuple[float, int, int, int]] = []
    nc = len(c_forms)
    for i, qf in enumerate(q_forms):
        m = None if exact_only else q_maps[i]
        qk = "" if exact_only else q_keys[i]
        qr = q_roles[i]
        if c_spelt is not None and not exact_only:
            for j in range(nc - 1):
                if qf == c_spelt[j] + c_spelt[j + 1]:
                    pairs.append((1.0, i, j, 3 << j))
        if m:
            # Two list parts the query runs together ("OSTECEC" / "OSTEC-EC"): paired as one.
            for j in range(nc - 1):
                if qf == c_forms[j] + c_forms[j + 1]:
                    pairs.append((1.0, i, j, 3 << j))
                else:
                    joined = m.get(c_keys[j] + c_keys[j + 1])
                    if joined is not None:
                        pairs.append((joined, i, j, 3 << j))
        for j in range(nc):
            cf = c_forms[j]
            if cf == qf:
                sim = 1.0
            else:
                ck = c_keys[j]
                if ck == qk:
                    sim = phonetic_similarity(qk)
                elif m is None:
                    continue
                else:
                    found = m.get(ck)
                    if found is None:
                        continue
                    sim = found
            if qr != ROLE_NONE:
                cr = c_roles[j]
                if cr != ROLE_NONE and (qr == ROLE_SURNAME) != (cr == ROLE_SURNAME):
                    sim *= ROLE_MISMATCH_FACTOR  # a surname paired with a given name
            pairs.append((sim, i, j, 1 << j))
    chosen: list[tuple[int, int, float]] = []
    used_q, used_c = _assign(pairs, 0, 0, chosen)
    if chosen and not exact_only and len(chosen) < len(q_forms) and len(chosen) < nc:
        extra: list[tuple[float, int, int, int]] = []
        for i, qf in enumerate(q_forms):
            if used_q & (1 << i) or q_maps[i] is None:
                continue
            for j in range(nc):
                if used_c & (1 << j):
                    continue
                cf = c_forms[j]
                cached = cache.get((qf, cf))
                if cached is None:
                    cached = token_similarity(qf, q_keys[i], cf, c_keys[j])[0]
                    cache[(qf, cf)] = cached
                if cached > 0.0:
                    extra.append((cached, i, j, 1 << j))
        used_q, used_c = _assign(extra, used_q, used_c, chosen)
    if not chosen:
        return 0.0, []
    num = sum(sim * (q_weights[i] + c_weights[j]) for i, j, sim in chosen)
    if len({i for i, _, _ in chosen}) < len(chosen):
        # A query part paired with two list parts counts its own weight once.
        seen: set[int] = set()
        for i, _, sim in chosen:
            if i in seen:
                num -= sim * q_weights[i]
            seen.add(i)
    den = sum(q_weights)
    surname_matched = any(c_roles[j] == ROLE_SURNAME for _, j, _ in chosen)
    middles = 0
    for j, w in enumerate(c_weights):
        if used_c & (1 << j):
            den += w
        elif surname_matched and c_roles[j] == ROLE_SURNAME:
            den += w * UNMATCHED_WEIGHT[ROLE_MIDDLE]  # one of two surnames (Spanish usage)
        elif c_roles[j] == ROLE_MIDDLE:
            # Leaving out one middle name or four is the same habit: after the first, each
            # costs half ("Khalil Taha" for TAHA, Khalil Ibrahim Mohamed Achar Foudail).
            den += w * (UNMATCHED_WEIGHT[ROLE_MIDDLE] if not middles else FURTHER_MIDDLE_WEIGHT)
            middles += 1
        else:
            den += w * UNMATCHED_WEIGHT.get(c_roles[j], UNMATCHED_WEIGHT_DEFAULT)
    return (num / den if den > 0 else 0.0), chosen


def _assign(
    pairs: list[tuple[float, int, int, int]],
    used_q: int,
    used_c: int,
    chosen: list[tuple[int, int, float]],
) -> tuple[int, int]:
    """Greedy one-to-one pairing, most similar first; appends to ``chosen`` and returns the
    bit sets of the query and list parts now used. A pair is (similarity, query part, first
    list part, bits of the list parts it takes: one, or two run together)."""
    pairs.sort(reverse=True)
    for sim, i, j, bc in pairs:
        bq = 1 << i
        if used_q & bq or used_c & bc:
            continue
        used_q |= bq
        used_c |= bc
        chosen.append((i, j, sim))
        if bc != 1 << j:
            chosen.append((i, j + 1, sim))
    return used_q, used_c


def compact_similarity(q_compact: str, c_compact: str) -> float:
    """Edit ratio of the run-together phonetic keys (joined / split words)."""
    lq, lc = len(q_compact), len(c_compact)
    if lq < 6 or lc < 6 or min(lq, lc) < COMPACT_MIN_LENGTH_RATIO * max(lq, lc):
        return 0.0  # joined or split words keep their letters: the lengths stay close
    s = Indel.normalized_similarity(q_compact, c_compact, score_cutoff=COMPACT_MIN)
    return s * COMPACT_FACTOR if s >= COMPACT_MIN else 0.0
