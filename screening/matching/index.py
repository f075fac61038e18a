"""The name index: built once per set of snapshots, cached on disk, searched per query.

Every name and alias of every list entry is parsed once (``screening.names``) into comparison
forms, phonetic keys and weights. Candidates for a query come from an inverted index keyed on
the consonant skeletons of the phonetic keys, widened by one-deletion neighbourhoods (so a typo,
a dropped or an extra letter still finds the name) and by the skeletons of adjacent parts run
together (joined and split words). Only candidates that could reach the threshold on the weight
of the parts they share with the query are scored. Brute force over every list name is never
done.
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
import re
import tempfile
from collections import Counter, defaultdict
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import NamedTuple

from rapidfuzz import process
from rapidfuzz.distance import OSA, Indel

from screening._resources import lists_path
from screening.errors import ConfigError, StoreError
from screening.matching.score import (
    FURTHER_MIDDLE_WEIGHT,
    UNMATCHED_WEIGHT,
    UNMATCHED_WEIGHT_DEFAULT,
    align,
    compact_similarity,
    token_similarity,
)
from screening.models import EntityType, ListEntry, Name, NameKind, SnapshotInfo
from screening.names.knowledge import knowledge
from screening.names.normalize import (
    ROLE_GIVEN,
    ROLE_MIDDLE,
    ROLE_NONE,
    ROLE_SURNAME,
    NameParts,
    parse_name,
)
from screening.names.phonetic import deletions, phonetic_key, skeleton

#: Results of this many distinct queries are remembered per index.
QUERY_CACHE_SIZE = 50_000

#: Bump when the index layout or the matching logic changes: cached indexes are rebuilt.
INDEX_FORMAT = 25

#: Weight of honorifics, name particles and initials ("sheikh", "al", "bin", "j").
PARTICLE_WEIGHT = 0.12
#: Weight of generic business words ("trading", "group", "international").
GENERIC_WEIGHT = 0.3
MIN_WEIGHT = 0.15
#: Name particles that carry little identity.
PARTICLES = frozenset({"al", "bin", "abu", "abd", "ibn", "bint", "van", "von", "der", "de", "da"})
#: At most this many candidates are scored per query (the best by score bound).
MAX_CANDIDATES = 100
#: Skeletons shorter than this are looked up exactly (their typo neighbourhoods are too wide).
MIN_FUZZY_SKELETON = 4
#: Consonant substitutions are looked up only in skeletons at least this long.
MIN_SUBSTITUTION_SKELETON = 5
#: The query parts that bring in the candidates hold at most this share of its weight (less at
#: a high threshold).
SEED_SHARE = 0.55
#: A candidate is scored when its estimate is within this margin of the floor.
CANDIDATE_MARGIN = 0.05
#: Similarity assumed, when estimating, for a query part the index found no partner for.
TYPO_SIM = 0.8
#: Only parts this long are assumed to be typos the index could not see.
TYPO_MIN_LENGTH = 5
#: A word on this many list names or fewer may be a mistyped legal-form word.
RARE_WORD_NAMES = 2
#: A query part this long that the index finds no exact key for is looked up as list parts
#: run together, through the parts it begins with ...
JOIN_MIN_LENGTH = 6
#: ... unless that part is on more list names than this.
MAX_PREFIX_POSTINGS = 200

_PAREN = re.compile(r"\(([^()]*)\)")
_ALIAS_PREFIX = re.compile(
    r"^\s*(?:f\.?\s*k\.?\s*a\.?|a\.?\s*k\.?\s*a\.?|n\.?\s*k\.?\s*a\.?|formerly|also known as)"
    r"[\s,:.]*",
    re.IGNORECASE,
)


class EntryInfo(NamedTuple):
    source: str
    entry_id: str
    list_name: str
    primary_name: str
    type: str
    programs: tuple[str, ...]
    countries: tuple[str, ...]
    snapshot_id: int


class IndexedName(NamedTuple):
    entry: int
    name: str  # as the list writes it
    kind: str  # NameKind value
    weak: bool
    forms: tuple[str, ...]
    keys: tuple[str, ...]
    weights: tuple[float, ...]
    roles: tuple[str, ...]
    compact: str
    legal: frozenset[str]
    exact: str  # the forms joined: equal strings mean an exact name match
    total_weight: float
    #: the least weight factor an unmatched part of this name can have in the alignment
    unmatched_factor: float
    #: the parts as spelt before abbreviations were written out, where that differs (a
    #: screened name runs VALTEX-ST together as "VALTEXST", not as "valtexsaint")
    spelt: tuple[str, ...] | None


class Candidate(NamedTuple):
    """One scored list name (before it becomes a public ``Hit``)."""

    name: IndexedName
    entry: EntryInfo
    score: float
    raw: float
    method: str
    pairs: tuple[tuple[int, int, float], ...]
    adjustments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    parts: NameParts
    forms: tuple[str, ...]
    keys: tuple[str, ...]
    weights: tuple[float, ...]
    compact: str
    exact: str
    roles: tuple[str, ...]
    kind: EntityType | None  # as given, or inferred (a legal form means an organisation)
    cjk: bool  # written in Chinese, Japanese or Korean characters


def comparison_form(token: str, person: bool | None = None) -> str:
    """A token as compared: for names that may be a person's, the canonical spelling of a
    known given name; else the token itself."""
    if person is False:
        return token
    return knowledge().given_name.get(token, token)


def query_form(token: str, person: bool | None = None) -> str:
    """A screened name's token as compared: :func:`comparison_form`, and a mistyped known
    given name ("Amhed", "HasEsan", "MJchael") read as that name, when the token is unknown to
    every list name and one edit (the first letter kept) from the spellings of one given name
    only."""
    if person is False:
        return token
    given = knowledge().given_name
    form = given.get(token)
    if form is not None:
        return form
    if len(token) < 4 or not token.isalpha() or token in name_frequencies().df:
        return token
    return _given_name_typo(token) or token


@lru_cache(maxsize=65536)
def _given_name_typo(token: str) -> str | None:
    spellings = _given_spellings().get(token[0], ())
    found = {
        form
        for spelling, form in spellings
        if abs(len(spelling) - len(token)) <= 1
        and OSA.distance(token, spelling, score_cutoff=1) <= 1
    }
    return found.pop() if len(found) == 1 else None


@lru_cache(maxsize=1)
def _given_spellings() -> dict[str, tuple[tuple[str, str], ...]]:
    """The spellings of the known given names (four letters or more) by first letter, each
    with its canonical form."""
    out: dict[str, list[tuple[str, str]]] = {}
    for spelling, form in knowledge().given_name.items():
        if len(spelling) >= 4:
            out.setdefault(spelling[0], []).append((spelling, form))
    return {k: tuple(v) for k, v in out.items()}


def fixed_weight(form: str) -> float | None:
    """The weight of a part that informs little whatever its frequency, or None."""
    kb = knowledge()
    if len(form) == 1 or form in PARTICLES or form in kb.honorifics:
        return PARTICLE_WEIGHT
    if form in kb.generic:
        return GENERIC_WEIGHT
    return None


def _run_together(
    word: str, forms: tuple[str, ...], weights: tuple[float, ...], j: int
) -> tuple[int, float] | None:
    """When ``word`` is list parts ``j``, ``j + 1``, … written as one word (all their letters,
    but for at most two at the end): the bits of those parts and their weight, else None."""
    joined = forms[j]
    if len(joined) < 2 or len(joined) >= len(word) or not word.startswith(joined):
        return None
    bits = 1 << j
    weight = weights[j]
    k = j + 1
    while k < len(forms) and len(joined) < len(word) and word.startswith(joined + forms[k]):
        joined += forms[k]
        bits |= 1 << k
        weight += weights[k]
        k += 1
    if k == j + 1 or len(joined) < len(word) - 2:
        return None
    return bits, weight


def _followers(names: Sequence[IndexedName]) -> dict[str, frozenset[str] | None]:
    out: dict[str, set[str] | None] = {}
    for x in names:
        for j in range(len(x.forms) - 1):
            f = x.forms[j]
            after = out.setdefault(f, set())
            if after is None:
                continue
            if x.spelt is not None and x.spelt[j] != f:
                out[f] = None  # a run-together may begin with the other spelling
                continue
            after.add(x.forms[j + 1])
            if x.spelt is not None:
                after.add(x.spelt[j + 1])
    return {f: None if v is None else frozenset(v) for f, v in out.items()}


def _found_share(
    keys: Sequence[str], part_map: Mapping[str, float], wq: float, key_weight: Mapping[str, float]
) -> tuple[float, float]:
    """What a query part of weight ``wq`` found of a name on its own, through its similar keys
    ``part_map``: the best gain among the name's keys, and that key's list weight."""
    best_gain = best_list = 0.0
    for key in keys:
        found_sim = part_map.get(key)
        if found_sim is not None:
            g = found_sim * (wq + key_weight[key])
            if g > best_gain:
                best_gain, best_list = g, key_weight[key]
    return best_gain, best_list


def initial_bit(form: str) -> int:
    """A bit standing for the first letter of a part (letters may share one: the test it
    serves only needs that equal letters get equal bits)."""
    return 1 << (ord(form[0]) & 63)


def _initials(forms: Iterable[str]) -> int:
    bits = 0
    for f in forms:
        bits |= initial_bit(f)
    return bits


def _credited(keys: tuple[str, ...], j: int, credited: list[str]) -> bool:
    """Whether list part ``j`` was taken by a pair of query parts credited with one of the
    ``credited`` keys: its own key, or the key of it and a neighbour run together."""
    k = keys[j]
    return (
        k in credited
        or (j + 1 < len(keys) and k + keys[j + 1] in credited)
        or (j > 0 and keys[j - 1] + k in credited)
    )


def _is_low(form: str) -> bool:
    return fixed_weight(form) is not None


#: Patronymics and their Turkic equivalents: middle names a screened name often leaves out.
_PATRONYMIC = re.compile(
    r"^[a-z]{3,}(?:ovich|evich|yevich|ievich|ich|ovna|evna|yevna|ievna|ichna)$|^(?:ogly|oglu|ugli|kyzy|qizi)$"
)


def _person_flag(entry: ListEntry) -> bool | None:
    """True for persons, False for organisations, vessels and aircraft, None when unknown."""
    if entry.type is EntityType.PERSON:
        return True
    if entry.type is EntityType.UNKNOWN:
        return None
    return False


def listed_names(entry: ListEntry) -> Iterator[tuple[str, NameKind, bool, NameParts]]:
    """Every distinct name of a list entry as the matcher sees it: (text, kind, weak, parts)."""
    person = _person_flag(entry)
    seen: set[tuple[str, ...]] = set()
    for listed in entry.names():
        for text, kind, weak in _name_variants(listed):
            parts = parse_name(text, person=person, listed=True, correct=_legal_word)
            if not parts.tokens or parts.tokens in seen:
                continue
            seen.add(parts.tokens)
            if person is not False:
                parts = _mark_patronymics(parts)
            yield text, kind, weak, parts


class NameFrequencies:
    """How many list names each name part appears in (``lists/name_frequencies.tsv.gz``),
    frozen so that a score never depends on the rest of a list."""

    def __init__(self, total: int, df: dict[str, int]) -> None:
        self.total = total
        self.df = df
        self._log_total = math.log(total + 2)

    def weight(self, form: str) -> float:
        """Inverse document frequency scaled to (0, 1]: 1 for a part on no list name."""
        idf = math.log((self.total + 2) / (self.df.get(form, 0) + 1)) / self._log_total
        return max(MIN_WEIGHT, idf)


@cache
def name_frequencies() -> NameFrequencies:
    path = lists_path("name_frequencies.tsv.gz")
    raw: Counter[str] = Counter()
    total = 0
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                token, _, count = line.rstrip("\n").partition("\t")
                if token == "#names":
                    total = int(count)
                elif token and not token.startswith("#"):
                    raw[token] += int(count)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read name frequencies: {exc}") from exc
    given = knowledge().given_name
    df: Counter[str] = Counter(raw)
    for token, n in raw.items():  # spellings of one given name count together
        canonical = given.get(token)
        if canonical is not None and canonical != token:
            df[canonical] += n
    return NameFrequencies(max(total, 1), dict(df))


def _mark_patronymics(parts: NameParts) -> NameParts:
    """Parts of a name with no known roles that are patronymics are middle names."""
    if not parts.tokens or any(r != ROLE_NONE for r in parts.roles):
        return parts
    roles = tuple(
        ROLE_MIDDLE if _PATRONYMIC.match(t) and i > 0 else r
        for i, (t, r) in enumerate(zip(parts.tokens, parts.roles, strict=True))
    )
    return NameParts(parts.tokens, parts.legal, roles)


_CJK_LETTER = re.compile("[\u2e80-\u3163\u3165-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def _has_cjk(text: str) -> bool:
    """Whether the name is written in Chinese, Japanese or Korean letters (not merely holds an
    ideographic space or an invisible Hangul filler)."""
    if text.isascii():
        return False
    return any(c.isalpha() for c in _CJK_LETTER.findall(text))


def _name_variants(name: Name) -> list[tuple[str, NameKind, bool]]:
    """The name, and for names with parentheses the name without them and the alias inside."""
    out = [(name.name, name.kind, name.weak)]
    if "(" in name.name:
        bare = " ".join(_PAREN.sub(" ", name.name).split())
        if bare and bare != name.name:
            out.append((bare, name.kind, name.weak))
        for inner in _PAREN.findall(name.name):
            m = _ALIAS_PREFIX.match(inner)
            alias = inner[m.end() :] if m else inner
            if len(alias.split()) >= 2:
                out.append((alias.strip(), NameKind.FKA if m else name.kind, name.weak))
    return out


class MatchIndex:
    """Searchable names of a fixed set of snapshots. Picklable; immutable once built."""

    def __init__(
        self,
        entries: list[EntryInfo],
        names: list[IndexedName],
        postings: dict[str, tuple[int, ...]],
        skeleton_keys: dict[str, tuple[str, ...]],
        key_weight: dict[str, float],
        key_form: dict[str, str],
        neighbours: dict[str, tuple[str, ...]],
        form_weight: dict[str, float],
        snapshots: tuple[SnapshotInfo, ...],
    ) -> None:
        self.entries = entries
        self.names = names
        self.postings = postings  # phonetic key -> names holding a part with that key
        self.skeleton_keys = skeleton_keys  # consonant skeleton -> keys with that skeleton
        self.key_weight = key_weight  # phonetic key -> weight of its part
        self.key_form = key_form  # phonetic key -> one form (spelling) that has it
        #: a skeleton with one consonant taken out -> the keys whose skeletons give it
        self.neighbours = neighbours
        self.form_weight = form_weight
        self.snapshots = snapshots
        #: per name: (total weight, least unmatched factor, a bit per first letter of its
        #: parts), read together by the candidate estimate; a query part whose first letter has
        #: no bit there has no typo partner in the name (see ``initial_bit``)
        self.meta = [(x.total_weight, x.unmatched_factor, _initials(x.forms)) for x in names]
        #: per name: the first letters of its parts, in order (where to look for a typo partner)
        self.initial_letters = ["".join(f[0] for f in x.forms) for x in names]
        #: the phonetic key of every part of a list name: most parts of a screened name are
        #: spelt as some list name spells them
        self.form_key = {f: k for x in names for f, k in zip(x.forms, x.keys, strict=True)}
        #: a list part -> the parts that follow it in some list name (as written out and as
        #: spelt), or None where a name spells that part otherwise: a query word that begins
        #: with the part but goes on with none of them runs no list parts together
        #: (``_run_together_names``)
        self.followers = _followers(names)
        #: names by their exact form: an exact match is always scored, however many names
        #: share its parts ("P.AD": two one-letter-weight parts, on thousands of names)
        self.exact_names: dict[str, tuple[int, ...]] = {}
        for n, x in enumerate(names):
            self.exact_names[x.exact] = (*self.exact_names.get(x.exact, ()), n)
        self.format = INDEX_FORMAT
        self.knowledge_version = knowledge().version
        #: (form, key) of every part of a list name, and of every two adjacent parts run
        #: together -> the index keys similar to it (what ``_similar_keys`` finds), worked out
        #: once when the index is built: most parts of a screened name are spelt as some list
        #: name spells them, and their look-ups then cost one dict access.
        self.similar: dict[tuple[str, str], dict[str, float]] = {}
        self._key_cache: dict[tuple[str, str], dict[str, float]] = {}
        # Screened names repeat (registers, ERP exports): results of identical queries are
        # kept. A score depends only on the query and the list entry, so this is exact.
        self._query_cache: dict[tuple[object, ...], list[Candidate]] = {}

    def clear_caches(self) -> None:
        """Forget the results and word look-ups kept from earlier queries (a benchmark that
        measures cold queries; a process short of memory). Results do not change."""
        self._key_cache.clear()
        self._query_cache.clear()
        phonetic_key.cache_clear()
        _typo_vocabulary_match.cache_clear()
        _given_name_typo.cache_clear()

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_key_cache"] = {}
        state["_query_cache"] = {}
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)

    # -- building -------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        data: Sequence[tuple[SnapshotInfo, Sequence[ListEntry]]],
        *,
        uniform_weights: bool = False,
        only: Mapping[str, Container[str]] | None = None,
    ) -> MatchIndex:
        """Index every name of every entry.

        ``only``: index just these entry ids per source (e.g. the entries a refresh added or
        changed, for delta re-screening); scores against them equal those of a full index.
        ``uniform_weights``: every informative part weighs 1 (for comparing two names with no
        list to tell rare from common parts)."""
        entries: list[EntryInfo] = []
        parsed: list[tuple[int, str, str, bool, NameParts, tuple[str, ...]]] = []
        ids_by_source = {snap.source: {e.entry_id for e in items} for snap, items in data}
        for snap, items in data:
            primary = _duplicate_of(snap.source)
            shadow = ids_by_source.get(primary, set()) if primary else set()
            wanted = None if only is None else only.get(snap.source, ())
            for e in items:
                if e.entry_id in shadow:
                    continue  # the same record on a list that takes precedence (SDN wins)
                if wanted is not None and e.entry_id not in wanted:
                    continue
                idx = len(entries)
                entries.append(
                    EntryInfo(
                        e.source,
                        e.entry_id,
                        _list_name(e.source),
                        e.name,
                        e.type.value,
                        e.programs,
                        e.countries(),
                        snap.id,
                    )
                )
                person = _person_flag(e)
                for text, kind, weak, parts in listed_names(e):
                    forms = tuple(comparison_form(t, person) for t in parts.tokens)
                    parsed.append((idx, text, kind.value, weak, parts, forms))

        frequencies = name_frequencies()

        def weight(form: str) -> float:
            fixed = fixed_weight(form)
            if fixed is not None:
                return fixed
            if uniform_weights:
                return 1.0
            return frequencies.weight(form)

        form_weight = {f: weight(f) for *_, forms in parsed for f in forms}
        names: list[IndexedName] = []
        post: defaultdict[str, set[int]] = defaultdict(set)
        key_weight: dict[str, float] = {}
        key_form: dict[str, str] = {}
        for idx, text, kind_value, weak, parts, forms in parsed:
            keys = tuple(phonetic_key(f) for f in forms)
            weights = tuple(form_weight[f] for f in forms)
            n = len(names)
            names.append(
                IndexedName(
                    idx,
                    text,
                    kind_value,
                    weak,
                    forms,
                    keys,
                    weights,
                    parts.roles,
                    "".join(keys),
                    parts.legal,
                    " ".join(forms),
                    sum(weights),
                    min(
                        (
                            (
                                FURTHER_MIDDLE_WEIGHT
                                if parts.roles.count(ROLE_MIDDLE) > 1
                                else UNMATCHED_WEIGHT[ROLE_MIDDLE]
                            )
                            if r != ROLE_NONE
                            else UNMATCHED_WEIGHT_DEFAULT
                            for r in parts.roles
                        ),
                        default=UNMATCHED_WEIGHT_DEFAULT,
                    ),
                    parts.spelt,
                )
            )
            for k, w, f in zip(keys, weights, forms, strict=True):
                post[k].add(n)
                key_weight[k] = max(w, key_weight.get(k, 0.0))
                key_form.setdefault(k, f)
            for (a, wa), (b, wb) in zip(
                zip(keys, weights, strict=True),
                zip(keys[1:], weights[1:], strict=True),
                strict=False,
            ):
                post[a + b].add(n)
                key_weight[a + b] = max(wa + wb, key_weight.get(a + b, 0.0))
        for (a, b), (fa, fb) in (
            ((x.keys[i], x.keys[i + 1]), (x.forms[i], x.forms[i + 1]))
            for x in names
            for i in range(len(x.keys) - 1)
        ):
            key_form.setdefault(a + b, fa + fb)
        skeleton_keys: defaultdict[str, set[str]] = defaultdict(set)
        for k in post:
            # Keyed on the skeleton of the phonetic key and of the spelling: a typo that
            # breaks a digraph (Grcahev / Grachev) still meets one of them.
            skeleton_keys[skeleton(k)].add(k)
            skeleton_keys[skeleton(key_form[k])].add(k)
        neighbours: defaultdict[str, set[str]] = defaultdict(set)
        for sk in skeleton_keys:
            if len(sk) >= MIN_FUZZY_SKELETON:
                for d in deletions(sk):
                    neighbours[d].add(sk)
        index = cls(
            entries,
            names,
            {k: tuple(sorted(v)) for k, v in post.items()},
            {k: tuple(sorted(v)) for k, v in skeleton_keys.items()},
            key_weight,
            key_form,
            {
                d: tuple(sorted({k for sk in v for k in skeleton_keys[sk]}))
                for d, v in neighbours.items()
            },
            form_weight,
            tuple(data_snap for data_snap, _ in data),
        )
        spelt = {(f, k) for x in names for f, k in zip(x.forms, x.keys, strict=True)}
        spelt.update(
            (x.forms[i] + x.forms[i + 1], x.keys[i] + x.keys[i + 1])
            for x in names
            for i in range(len(x.keys) - 1)
        )
        index.similar = {part: index._find_similar_keys(*part) for part in sorted(spelt)}
        return index

    # -- persistence ----------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write atomically (temporary file, then rename), readable by the owner only."""
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".index-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise StoreError(f"cannot write the name index {path}: {exc.strerror}") from exc

    @staticmethod
    def load(path: Path) -> MatchIndex | None:
        """The cached index at ``path``, or None when absent, unreadable, outdated, or not
        safe to unpickle (not owned by this user, or writable by others: a pickle runs code)."""
        try:
            with path.open("rb") as f:
                st = os.fstat(f.fileno())
                if (hasattr(os, "getuid") and st.st_uid != os.getuid()) or st.st_mode & 0o022:
                    return None
                obj = pickle.load(f)
        except Exception:  # noqa: BLE001 - any damage to a cache means: rebuild it
            return None
        if (
            not isinstance(obj, MatchIndex)
            or getattr(obj, "format", None) != INDEX_FORMAT
            or obj.knowledge_version != knowledge().version
        ):
            return None
        return obj

    # -- searching ------------------------------------------------------------------------

    def prepare(
        self, text: str, kind: EntityType | None = None, *, fold_lookalike_words: bool = False
    ) -> Query:
        person = None if kind in (None, EntityType.UNKNOWN) else kind is EntityType.PERSON
        parts = parse_name(
            text,
            person=person,
            fold_lookalike_words=fold_lookalike_words,
            correct=_legal_word,
        )
        forms = tuple(query_form(t, person) for t in parts.tokens)
        form_key = self.form_key
        keys = tuple(form_key.get(f) or phonetic_key(f) for f in forms)
        # Weights from the frozen table, not from this index: a query is prepared the same
        # whatever the lists hold, so its score against an entry never depends on the others.
        frequencies = name_frequencies()
        weights = tuple(
            w if (w := fixed_weight(f)) is not None else frequencies.weight(f) for f in forms
        )
        roles = (ROLE_NONE,) * len(forms)
        cjk = _has_cjk(text)
        if cjk and not parts.legal and person is not False and 2 <= len(forms) <= 4:
            # Chinese, Korean and Japanese names are written surname first.
            roles = (ROLE_SURNAME,) + (ROLE_GIVEN,) * (len(forms) - 1)
        if kind in (None, EntityType.UNKNOWN) and parts.legal:
            kind = EntityType.ORGANIZATION  # a name with a legal form is an organisation's
        return Query(
            text, parts, forms, keys, weights, "".join(keys), " ".join(forms), roles, kind, cjk
        )

    def _similar_keys(self, qf: str, qk: str) -> dict[str, float]:
        """Keys in the index similar to a query part's key, with their similarity."""
        hit = self.similar.get((qf, qk))
        if hit is not None:
            return hit
        cache = self._key_cache
        hit = cache.get((qf, qk))
        if hit is not None:
            return hit
        out = self._find_similar_keys(qf, qk)
        if len(cache) > 100_000:
            cache.clear()
        cache[(qf, qk)] = out
        return out

    def _find_similar_keys(self, qf: str, qk: str) -> dict[str, float]:
        skeleton_keys = self.skeleton_keys
        nb = self.neighbours
        found: set[str] = set()
        for sk in {skeleton(qk), skeleton(qf)}:
            found.update(skeleton_keys.get(sk, ()))
            if len(sk) >= MIN_FUZZY_SKELETON:
                found.update(nb.get(sk, ()))  # one consonant more in the list's spelling
                substitutions = len(sk) >= MIN_SUBSTITUTION_SKELETON
                for d in deletions(sk):
                    found.update(skeleton_keys.get(d, ()))  # one consonant less
                    if substitutions:
                        found.update(nb.get(d, ()))  # one consonant other
        # Sorted: the keys' order decides ties in the candidate estimate, and a set's order
        # changes with each process's string hashing; the same query must give the same
        # results in every process (a worker, a replay).
        keys = sorted(found)
        out: dict[str, float] = {}
        if keys:
            key_form = self.key_form
            forms = [key_form[k] for k in keys]
            # A cheap edit-ratio screen in C over all of them; the exact similarity (with its
            # length, first-letter and Jaro-Winkler rules) only for what passes.
            near = {
                i
                for choices, probe in ((keys, qk), (forms, qf))
                for _, _, i in process.extract(
                    probe,
                    choices,
                    scorer=Indel.normalized_similarity,
                    score_cutoff=0.7,
                    limit=None,
                )
            }
            for i in near:
                k = keys[i]
                sim = 1.0 if k == qk else token_similarity(qf, qk, forms[i], k)[0]
                if sim > 0.0:
                    out[k] = sim
        return out

    def _run_together_names(self, word: str) -> Iterator[tuple[int, float]]:
        """Names with parts that ``word`` writes as one word: it begins with one of their
        parts (two letters or more) and goes on with the next ones (see ``_run_together``),
        as (name, weight of those parts). Parts on more than ``MAX_PREFIX_POSTINGS`` names are
        not followed."""
        form_key = self.form_key
        postings = self.postings
        names = self.names
        followers = self.followers
        for end in range(2, len(word) - 1):
            prefix = word[:end]
            key = form_key.get(prefix)
            if key is None:
                continue
            after = followers.get(prefix, ())
            if after is not None and not any(
                word[end:stop] in after for stop in range(end + 1, len(word) + 1)
            ):
                continue  # no list name goes on from this part as the word does
            found = postings[key]
            if len(found) > MAX_PREFIX_POSTINGS:
                continue
            for n in found:
                cand = names[n]
                for j, f in enumerate(cand.forms):
                    if f != prefix:
                        continue
                    run = _run_together(word, cand.forms, cand.weights, j) or (
                        cand.spelt and _run_together(word, cand.spelt, cand.weights, j)
                    )
                    if run:
                        yield n, run[1]
                        break

    def candidates(
        self, q: Query, floor: float = 0.0
    ) -> tuple[list[tuple[float, int]], tuple[dict[str, float] | None, ...]]:
        """(estimated best score, name index) of the names worth scoring, best first.

        Each query part finds the index keys similar to its own; a name collects, per query
        part, the best similarity times the weights on both sides. Its estimate is the
        alignment score it would get if the rest of its parts were all middle names; names
        estimated under ``floor`` (less a margin) are not scored.
        """
        if not q.forms:
            return [], ()
        informative = [i for i, f in enumerate(q.forms) if not _is_low(f)]
        lookup = informative or list(range(len(q.forms)))
        free = sum(w for i, w in enumerate(q.weights) if i not in lookup)
        postings = self.postings
        key_weight = self.key_weight
        names = self.names
        maps: list[dict[str, float] | None] = [None] * len(q.forms)
        spelt = q.parts.tokens
        for i in lookup:
            keys_found = self._similar_keys(q.forms[i], q.keys[i])
            raw = spelt[i]
            if raw != q.forms[i]:
                # A word read as a given name ("Hassane" as Hasan) is also looked up as it is
                # spelt: an organisation's list name keeps its own spelling.
                raw_key = self.form_key.get(raw) or phonetic_key(raw)
                also = self._similar_keys(raw, raw_key) if raw_key != q.keys[i] else None
                if also:
                    keys_found = {
                        **also,
                        **{k: v for k, v in keys_found.items() if v >= also.get(k, 0.0)},
                    }
            maps[i] = keys_found
        # Prefix filtering: the parts with the fewest names (the seeds) bring in the
        # candidates; the commoner parts ("Mohammed", "Ali") only add to those instead of
        # walking their long posting lists. A name sharing none of the seeds pairs at most the
        # other query parts, with list parts of about their weight: 2r / (1 + r) of the score
        # for a share r of the query's weight. The seeds hold enough of it that this stays
        # under the floor (SEED_SHARE at most). A part whose nearest key is no nearer than a
        # typo (TYPO_SIM) may be a typo of another name, whose partner those keys miss: it
        # brings in candidates but does not count towards the share. If the seeds find
        # nothing, every part brings in candidates.
        f = max(floor - CANDIDATE_MARGIN, 0.0)
        seed_share = min(SEED_SHARE, (2 - 2 * f) / (2 - f))
        spread = {i: sum(len(postings[k]) for k in maps[i] or ()) for i in lookup}
        order = sorted(lookup, key=lambda i: (not spread[i], spread[i], -q.weights[i]))
        total_lookup = sum(q.weights[i] for i in order)
        seeds: list[int] = []
        acc = 0.0
        for i in order:
            seeds.append(i)
            if max((maps[i] or {}).values(), default=0.0) >= TYPO_SIM:
                acc += q.weights[i]
            if acc >= seed_share * total_lookup:
                break
        seed_hits = any(postings[k] for i in seeds for k in maps[i] or ())
        # name index -> [sim-weighted gain, list weight matched, query weight matched, bits of
        # the query parts that found it]
        acc_by_name: dict[int, list[float]] = {}
        for i in order:
            similar = maps[i] or {}
            wq = q.weights[i]
            bit = 1 << i
            best: dict[int, tuple[float, float]] = {}
            if len(similar) == 1 and (i in seeds or not seed_hits or not acc_by_name):
                # One key only (the usual case): no name can be found twice for this part.
                ((k, sim),) = similar.items()
                wk = key_weight[k]
                gain = sim * (wq + wk)
                for n in postings[k]:
                    rec = acc_by_name.get(n)
                    if rec is None:
                        acc_by_name[n] = [gain, wk, wq, bit]
                    else:
                        rec[0] += gain
                        rec[1] += wk
                        rec[2] += wq
                        rec[3] = int(rec[3]) | bit
                continue
            if i in seeds or not seed_hits or not acc_by_name:
                for k, sim in similar.items():
                    wk = key_weight[k]
                    gain = sim * (wq + wk)
                    for n in postings[k]:
                        prev = best.get(n)
                        if prev is None or gain > prev[0]:
                            best[n] = (gain, wk)
            elif sum(len(postings[k]) for k in similar) <= 4 * len(acc_by_name):
                # Only names found already: through this part's postings when they are
                # fewer than the names' parts, else through the names' parts.
                for k, sim in similar.items():
                    wk = key_weight[k]
                    gain = sim * (wq + wk)
                    for n in postings[k]:
                        if n in acc_by_name:
                            prev = best.get(n)
                            if prev is None or gain > prev[0]:
                                best[n] = (gain, wk)
            else:
                for n in acc_by_name:
                    for k in names[n].keys:
                        found_sim = similar.get(k)
                        if found_sim is not None:
                            wk = key_weight[k]
                            gain = found_sim * (wq + wk)
                            prev = best.get(n)
                            if prev is None or gain > prev[0]:
                                best[n] = (gain, wk)
            for n, (gain, wk) in best.items():
                rec = acc_by_name.get(n)
                if rec is None:
                    acc_by_name[n] = [gain, wk, wq, bit]
                else:
                    rec[0] += gain
                    rec[1] += wk
                    rec[2] += wq
                    rec[3] = int(rec[3]) | bit
        # name -> the keys of its parts that pairs of query parts were credited with: those
        # parts are taken, and cannot also be a typo's partner.
        pair_credit: dict[int, list[str]] = {}
        # Two query parts run together, against the list's keys (a list word the query
        # splits, "AL BASHAIR" / "ALBASHAIR", and adjacent list parts run together).
        for i in range(len(q.keys) - 1):
            w = q.weights[i] + q.weights[i + 1]
            pair = self._similar_keys(q.forms[i] + q.forms[i + 1], q.keys[i] + q.keys[i + 1])
            if not pair:
                continue
            bits = (1 << i) | (1 << (i + 1))
            # The pair counts once per name, through the best of its keys the name has.
            best_pair: dict[int, tuple[float, float, str]] = {}
            own_keys = (q.keys[i], q.keys[i + 1])
            for k, sim in pair.items():
                if k in own_keys:
                    continue  # one of the two parts alone ('agcompany' ~ 'company')
                wk = key_weight[k]
                gain = sim * (w + wk)
                for n in postings[k]:
                    prev_pair = best_pair.get(n)
                    if prev_pair is None or gain > prev_pair[0]:
                        best_pair[n] = (gain, wk, k)
            for n, (gain, wk, k) in best_pair.items():
                rec = acc_by_name.get(n)
                if rec is None:
                    acc_by_name[n] = [gain, wk, w, bits]
                    pair_credit.setdefault(n, []).append(k)
                    continue
                # The pair stands in for what its two parts found of this name on their own;
                # the name's other parts keep their share.
                found = int(rec[3])
                own_gain = own_list = own_query = 0.0
                for p in (i, i + 1):
                    part_map = maps[p]
                    if not (found >> p) & 1 or not part_map:
                        continue
                    best_gain, best_list = _found_share(
                        names[n].keys, part_map, q.weights[p], key_weight
                    )
                    if best_gain > 0.0:
                        own_gain += best_gain
                        own_list += best_list
                        own_query += q.weights[p]
                if gain > own_gain:
                    rec[0] += gain - own_gain
                    rec[1] += wk - own_list
                    rec[2] += w - own_query
                    rec[3] = found | bits
                    pair_credit.setdefault(n, []).append(k)
        # A long query part the index found no exact key for may be list parts run together
        # ("JAISHIMOHAMMED" / "JAISH-I-MOHAMMED", "VALTEXST" / "VALTEX-ST"): names with such
        # parts are estimated as if the part matched those parts whole, in place of what it
        # found of them on its own.
        for i in lookup:
            part_map = maps[i] or {}
            if len(q.forms[i]) < JOIN_MIN_LENGTH or max(part_map.values(), default=0.0) >= 1.0:
                continue
            wq = q.weights[i]
            bit = 1 << i
            for n, run_weight in self._run_together_names(q.forms[i]):
                gain = wq + run_weight
                rec = acc_by_name.get(n)
                if rec is None:
                    acc_by_name[n] = [gain, run_weight, wq, bit]
                    continue
                found_bits = int(rec[3])
                own_gain, own_list = (
                    _found_share(names[n].keys, part_map, wq, key_weight)
                    if found_bits & bit
                    else (0.0, 0.0)
                )
                if gain > own_gain:
                    rec[0] += gain - own_gain
                    rec[1] += run_weight - own_list
                    if not found_bits & bit:
                        rec[2] += wq
                    rec[3] = found_bits | bit
        wq_total = sum(q.weights)
        # Query parts long enough for a typo the index may not have seen: (bit, first letter,
        # length, weight).
        typo_parts = [
            (
                1 << i,
                q.forms[i][0],
                len(q.forms[i]),
                q.weights[i],
                initial_bit(q.forms[i]),
                q.forms[i],
            )
            for i in lookup
            if len(q.forms[i]) >= TYPO_MIN_LENGTH
        ]
        # Parts of a name the query's parts already found cannot be a typo partner too.
        seen_keys = {k for m in maps if m for k in m}
        typo_bits = 0
        for bit, *_ in typo_parts:
            typo_bits |= bit
        # bits of typo parts -> their weight, and the bits of their first letters
        unpaired_weight: dict[int, tuple[float, int]] = {}
        need = floor - CANDIDATE_MARGIN
        ranked = []
        meta = self.meta
        initial_letters = self.initial_letters
        two_free = 2 * free
        # The generic words, which found no names themselves: (bit, key, weight).
        free_words = [
            (1 << i, q.keys[i], q.weights[i]) for i in range(len(q.forms)) if i not in lookup
        ]
        base_den = wq_total + free

        def exact_free_share(
            n: int, gain: float, mc: float, mask: int, total_weight: float
        ) -> tuple[float, float, float]:
            """(num, den, rest) of name ``n``'s estimate with the query's generic words
            paired as the alignment pairs them: only with a list part of the same key (the
            estimate's first guess lets them pair with any part of their own weight)."""
            cand = names[n]
            if cand.spelt is not None or (
                len(cand.forms) != len(q.forms)
                and compact_similarity(q.compact, cand.compact) >= need
            ):
                # Spelt list parts and the run-together comparison can pair them otherwise.
                rest = total_weight - mc - free
                return gain + two_free, base_den + mc, rest if rest > 0.0 else 0.0
            keys = cand.keys
            free_gain = free_list = 0.0
            for bit, key, weight in free_words:
                if not mask & bit and key in keys:  # not taken by a pair of query parts
                    listed = cand.weights[keys.index(key)]
                    free_gain += weight + listed
                    free_list += listed
            rest = total_weight - mc - free_list
            return gain + free_gain, wq_total + mc + free_list, rest if rest > 0.0 else 0.0

        exact_free = exact_free_share if free_words else None
        for n, (gain, mc, _, mask) in acc_by_name.items():
            total_weight, factor, initials = meta[n]
            # Optimistic: the query's generic words pair with list parts of the same weight.
            rest = total_weight - mc - free
            if rest < 0.0:
                rest = 0.0
            num = gain + two_free
            den = base_den + mc
            est = num / (den + factor * rest)
            refine = exact_free
            if refine and est >= need:
                num, den, rest = refine(n, gain, mc, int(mask), total_weight)
                est = num / (den + factor * rest)
                refine = None
            if est < need:
                # A query part that did not find this name (a bad typo) may still pair with one
                # of its remaining parts in the alignment, at a typo's similarity, if one of
                # them could be a typo of it: same first letter, about the same length.
                unpaired = typo_bits & ~int(mask)
                if not unpaired:
                    continue
                known = unpaired_weight.get(unpaired)
                if known is None:
                    most = 0.0
                    letters = 0
                    for bit, _, _, w, letter, _ in typo_parts:
                        if unpaired & bit:
                            most += w
                            letters |= letter
                    known = (most, letters)
                    unpaired_weight[unpaired] = known
                most, letters = known
                if not initials & letters:
                    continue  # no part of the name begins as one of them: no partner
                # Paired at a typo's similarity with list parts of total weight x (0 <= x <=
                # rest), the score would be (num + TYPO_SIM (most + x)) / (den + x + factor
                # (rest - x)): monotonic in x, so at its best at one end.
                if (num + TYPO_SIM * most) / (den + factor * rest) < need and (
                    num + TYPO_SIM * (most + rest)
                ) / (den + rest) < need:
                    continue
                typo = 0.0  # query weight that has a plausible partner
                partners = 0.0  # the partners' weight
                used = 0
                cand = names[n]
                forms, keys, weights = cand.forms, cand.keys, cand.weights
                letters_of = initial_letters[n]
                credited = pair_credit.get(n)
                for bit, first, length, weight, _, form in typo_parts:
                    if not unpaired & bit:
                        continue
                    j = letters_of.find(first)
                    while j >= 0:
                        if (
                            not used & (1 << j)
                            and keys[j] not in seen_keys
                            and not (credited and _credited(keys, j, credited))
                        ):
                            if -2 <= len(forms[j]) - length <= 2:
                                typo += weight
                                partners += weights[j]
                                used |= 1 << j
                                break
                            taken = _run_together(form, forms, weights, j) or (
                                cand.spelt and _run_together(form, cand.spelt, weights, j)
                            )
                            if taken and not used & taken[0]:
                                # The query writes this part and the next ones as one word
                                # ("KOMSOMOLSKONAMUR" / "KOMSOMOLSK-ON-AMUR").
                                typo += weight
                                partners += taken[1]
                                used |= taken[0]
                                break
                        j = letters_of.find(first, j + 1)
                if refine:
                    # Rescued from the optimistic estimate: the generic words now exactly.
                    num, den, rest = refine(n, gain, mc, int(mask), total_weight)
                paired = partners if partners < rest else rest
                est = (num + TYPO_SIM * (typo + paired)) / (den + paired + factor * (rest - paired))
                if est < need:
                    continue
            ranked.append((est, n))
        ranked.sort(key=lambda t: (-t[0], t[1]))
        return ranked[:MAX_CANDIDATES], tuple(maps)

    def search(
        self,
        text: str,
        *,
        threshold: float,
        country: str | None = None,
        kind: EntityType | None = None,
        limit: int = 10,
    ) -> list[Candidate]:
        """Scored candidates at or above ``threshold``, best first, one per list entry."""
        q = self.prepare(text, kind)
        return self.score_query(q, threshold=threshold, country=country, limit=limit)

    def score_query(
        self,
        q: Query,
        *,
        threshold: float,
        country: str | None = None,
        limit: int = 10,
    ) -> list[Candidate]:
        memo_key = (
            q.parts.tokens,  # as written: their own spellings are looked up too
            q.exact,
            q.parts.legal,
            q.roles,
            q.kind,
            q.cjk,
            country,
            threshold,
            limit,
        )
        memo = self._query_cache.get(memo_key)
        if memo is not None:
            return memo
        best: dict[int, Candidate] = {}
        cache: dict[tuple[str, str], float] = {}
        floor = threshold - COUNTRY_MATCH_BONUS - 1e-9  # adjustments add at most this
        ranked, maps = self.candidates(q, floor)
        exact = self.exact_names.get(q.exact, ())
        if exact:
            listed = {n for _, n in ranked}
            ranked = [(1.0, n) for n in exact if n not in listed] + ranked
        for _, n in ranked:
            cand = self.names[n]
            if q.exact == cand.exact and not q.cjk:
                raw, method = 1.0, "exact"
                pairs = [(i, i, 1.0) for i in range(len(q.forms))]
            else:
                raw, pairs = align(
                    q.forms,
                    q.keys,
                    q.weights,
                    q.roles,
                    maps,
                    cand.forms,
                    cand.keys,
                    cand.weights,
                    cand.roles,
                    cache,
                    exact_only=q.cjk,
                    c_spelt=cand.spelt,
                )
                method = "tokens"
                if len(q.forms) != len(cand.forms) and raw < 0.95:
                    c = compact_similarity(q.compact, cand.compact)
                    if c > raw:
                        raw, method = c, "compact"
            if q.cjk:
                raw *= CJK_FACTOR
            if raw < floor:
                continue
            entry = self.entries[cand.entry]
            score, adjustments = adjust(raw, cand, entry, country, q.kind, threshold, q.parts.legal)
            if score < threshold:
                continue
            prev = best.get(cand.entry)
            if prev is None or (score, cand.kind == "primary") > (
                prev.score,
                prev.name.kind == "primary",
            ):
                best[cand.entry] = Candidate(
                    cand, entry, score, raw, method, tuple(pairs), adjustments
                )
        hits = sorted(best.values(), key=rank_key)[:limit]
        if len(self._query_cache) >= QUERY_CACHE_SIZE:
            self._query_cache.clear()
        self._query_cache[memo_key] = hits
        return hits


#: Names in Chinese characters match through toneless pinyin, which many names share.
CJK_FACTOR = 0.93

# Adjustments: the query's type and country refine a score; they never hide an exact match.
WEAK_ALIAS_FACTOR = 0.92
TYPE_MISMATCH_PENALTY = 0.1
COUNTRY_MISMATCH_PENALTY = 0.03
COUNTRY_MATCH_BONUS = 0.02
LEGAL_FORM_MISMATCH_PENALTY = 0.02

_COMPATIBLE = {
    EntityType.PERSON.value: {EntityType.PERSON.value, EntityType.UNKNOWN.value},
    EntityType.ORGANIZATION.value: {EntityType.ORGANIZATION.value, EntityType.UNKNOWN.value},
    EntityType.VESSEL.value: {EntityType.VESSEL.value, EntityType.UNKNOWN.value},
    EntityType.AIRCRAFT.value: {EntityType.AIRCRAFT.value, EntityType.UNKNOWN.value},
}


def adjust(
    raw: float,
    cand: IndexedName,
    entry: EntryInfo,
    country: str | None,
    kind: EntityType | None,
    threshold: float,
    legal: frozenset[str] = frozenset(),
) -> tuple[float, tuple[str, ...]]:
    score = raw
    notes: list[str] = []
    if legal and cand.legal and not legal & cand.legal:
        score -= LEGAL_FORM_MISMATCH_PENALTY
        notes.append(
            f"legal form {'/'.join(sorted(legal))} vs listed {'/'.join(sorted(cand.legal))} "
            f"-{LEGAL_FORM_MISMATCH_PENALTY}"
        )
    if cand.weak:
        score *= WEAK_ALIAS_FACTOR
        notes.append(f"weak alias x{WEAK_ALIAS_FACTOR}")
    if kind is not None and kind is not EntityType.UNKNOWN:
        allowed = _COMPATIBLE.get(kind.value, set())
        if entry.type not in allowed:
            score -= TYPE_MISMATCH_PENALTY
            notes.append(f"type {kind.value} vs listed {entry.type} -{TYPE_MISMATCH_PENALTY}")
    if country and entry.countries:
        if country in entry.countries:
            score += COUNTRY_MATCH_BONUS
            notes.append(f"country {country} on the entry +{COUNTRY_MATCH_BONUS}")
        else:
            score -= COUNTRY_MISMATCH_PENALTY
            notes.append(f"country {country} not on the entry -{COUNTRY_MISMATCH_PENALTY}")
    score = min(1.0, max(0.0, score))
    if raw >= 0.999 and not cand.weak and score < threshold:
        score = threshold
        notes.append("exact name match: kept at the threshold")
    return round(score, 4), tuple(notes)


def load_tables() -> None:
    """Load the name tables a query needs (knowledge, name frequencies, typo vocabularies),
    which otherwise load on the first query: done before worker processes fork, so that each
    inherits them instead of loading them again."""
    name_frequencies()
    _given_spellings()
    _typo_vocabulary()


def _legal_word(token: str) -> str:
    """The legal-form word a mistyped word most likely is ("LNability", "Compayn", "Jint"),
    else the word itself. Only words on at most ``RARE_WORD_NAMES`` list names (the frozen
    name frequencies) are put right: a list's own typo ("JOINT STOCK COMANY") is read the same
    way on both sides, and a word many names share is a word, not a slip."""
    if (
        len(token) < 4
        or not token.isalpha()
        or name_frequencies().df.get(token, 0) > RARE_WORD_NAMES
    ):
        return token
    hit = _typo_vocabulary_match(token)
    return token if hit is None else hit[0]


@lru_cache(maxsize=1)
def _typo_vocabulary() -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """The words of the legal forms six letters or longer, and those of five or more by their
    first letter."""
    kb = knowledge()
    words = sorted({w for phrase in kb.legal_forms for w in phrase if len(w) >= 5 and w.isalpha()})
    by_first: dict[str, list[str]] = {}
    for w in words:
        by_first.setdefault(w[0], []).append(w)
    return tuple(w for w in words if len(w) >= 6), {k: tuple(v) for k, v in by_first.items()}


@lru_cache(maxsize=65536)
def _typo_vocabulary_match(token: str) -> tuple[str, float] | None:
    """The legal-form word a mistyped token most likely is, if any: one letter wrong, missing,
    extra or swapped with its neighbour (the first letter kept), or, in a long word, a close
    edit ratio."""
    words, by_first = _typo_vocabulary()
    near = process.extractOne(
        token, by_first.get(token[0], ()), scorer=OSA.distance, score_cutoff=1
    )
    if near is not None:
        return near[0], 1.0 - near[1] / max(len(token), len(near[0]))
    if len(token) < 6:
        return None
    hit = process.extractOne(token, words, scorer=Indel.normalized_similarity, score_cutoff=0.86)
    return (hit[0], hit[1]) if hit else None


def _duplicate_of(source: str) -> str | None:
    """The source whose records take precedence over equal ids in ``source``, if any."""
    from screening.config import source_definitions

    for d in source_definitions():
        if d.id == source:
            return d.options.get("duplicate_of")
    return None


def merge_candidates(a: list[Candidate], b: list[Candidate], limit: int) -> list[Candidate]:
    """The best candidate per list entry from two readings of one query, best first."""
    best: dict[tuple[str, str], Candidate] = {}
    for c in (*a, *b):
        key = (c.entry.source, c.entry.entry_id)
        if key not in best or c.score > best[key].score:
            best[key] = c
    return sorted(best.values(), key=rank_key)[:limit]


def rank_key(c: Candidate) -> tuple[float, int, bool, str]:
    """Order of hits: score, then the order of the lists in lists/sources.toml, then primary
    names before aliases, then entry id."""
    return (-c.score, _source_rank(c.entry.source), c.name.kind != "primary", c.entry.entry_id)


def _source_rank(source: str) -> int:
    """Order of the sources in lists/sources.toml: breaks ties between equal scores."""
    from screening.config import source_definitions

    for i, d in enumerate(source_definitions()):
        if d.id == source:
            return i
    return 1_000


def _list_name(source: str) -> str:
    from screening.config import source_definitions

    for d in source_definitions():
        if d.id == source:
            return d.list_name
    return source


def explain_pairs(
    q: Query, cand: IndexedName, pairs: Iterable[tuple[int, int, float]]
) -> tuple[tuple[tuple[str, str, float], ...], tuple[str, ...], tuple[str, ...]]:
    """Matched (query part, list part, similarity) and the unmatched parts on each side."""
    matched = []
    used_q: set[int] = set()
    used_c: set[int] = set()
    for i, j, sim in pairs:
        matched.append((q.parts.tokens[i], cand.forms[j], round(sim, 3)))
        used_q.add(i)
        used_c.add(j)
    uq = tuple(t for i, t in enumerate(q.parts.tokens) if i not in used_q)
    uc = tuple(
        t + ("" if r == ROLE_NONE else f" ({_ROLE_NAMES[r]})")
        for j, (t, r) in enumerate(zip(cand.forms, cand.roles, strict=True))
        if j not in used_c
    )
    return tuple(matched), uq, uc


_ROLE_NAMES = {"s": "surname", "g": "given name", "m": "middle name"}
