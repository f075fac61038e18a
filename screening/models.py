"""Pydantic models at the library's boundaries: list entries, snapshots, hits and results.

These are the shapes that cross a boundary (parsed from a list file, stored in a snapshot,
returned to a caller, written as JSON). The matching loop does not build them per comparison;
it works on plain tuples in ``screening.matching`` and builds a ``Hit`` only for what it returns.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EntityType(StrEnum):
    """What a listed party or a screened counterparty is."""

    PERSON = "person"
    ORGANIZATION = "organization"
    VESSEL = "vessel"
    AIRCRAFT = "aircraft"
    UNKNOWN = "unknown"


class NameKind(StrEnum):
    """Where a name of a list entry comes from."""

    PRIMARY = "primary"
    AKA = "aka"  # also known as
    FKA = "fka"  # formerly known as
    NKA = "nka"  # now known as


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Name(_Frozen):
    """One name of a list entry: the primary name or an alias."""

    name: str
    kind: NameKind = NameKind.AKA
    weak: bool = False  # OFAC "weak" a.k.a. (from Remarks): confirms a hit, should not alert alone
    remarks: str | None = None


class Address(_Frozen):
    address: str | None = None
    city: str | None = None  # OFAC joins city, state/province and postal code in one field
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2 when the country could be resolved
    country_name: str | None = None  # the country as the list wrote it
    remarks: str | None = None


class Identifier(_Frozen):
    """An identity document or registration number from the list (passport, tax id, IMO…)."""

    type: str
    number: str
    country: str | None = None  # ISO-2 when resolvable
    country_name: str | None = None
    issued: str | None = None
    expires: str | None = None


class ListEntry(_Frozen):
    """One record of a sanctions or export-control list, normalised across sources."""

    source: str  # source id: ofac_sdn, bis_entity_list, ...
    entry_id: str  # OFAC ent_num as a string; the CSL _id for trade.gov rows
    type: EntityType = EntityType.UNKNOWN
    name: str  # the primary name as the list writes it
    aliases: tuple[Name, ...] = ()
    programs: tuple[str, ...] = ()
    addresses: tuple[Address, ...] = ()
    title: str | None = None
    remarks: str | None = None
    dates_of_birth: tuple[str, ...] = ()
    places_of_birth: tuple[str, ...] = ()
    nationalities: tuple[str, ...] = ()  # ISO-2 where resolvable, else as written
    citizenships: tuple[str, ...] = ()
    gender: str | None = None
    ids: tuple[Identifier, ...] = ()
    linked_to: tuple[str, ...] = ()
    # Source-specific facts kept verbatim: vessel data, Federal Register notice, start date,
    # licence requirement and policy, source URLs...
    details: dict[str, str] = Field(default_factory=dict)

    def names(self) -> tuple[Name, ...]:
        """The primary name followed by every alias."""
        return (Name(name=self.name, kind=NameKind.PRIMARY), *self.aliases)

    def countries(self) -> tuple[str, ...]:
        """Every ISO-2 country the entry is tied to (addresses, nationality, citizenship)."""
        seen: dict[str, None] = {}
        for a in self.addresses:
            if a.country:
                seen[a.country] = None
        for c in (*self.nationalities, *self.citizenships):
            if len(c) == 2 and c.isupper():
                seen[c] = None
        return tuple(seen)

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON form: equal hashes mean an unchanged entry."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class ParseResult(BaseModel):
    """What a source's parser made of the raw files."""

    model_config = ConfigDict(extra="forbid")

    entries: list[ListEntry]
    skipped: dict[str, int] = Field(default_factory=dict)  # reason -> rows skipped
    published_at: datetime | None = None  # when the file says it was published, if it says
    notes: list[str] = Field(default_factory=list)
    # file name -> data rows read from it (a file cut at a line break is seen only by its
    # count falling against the last snapshot's)
    rows: dict[str, int] = Field(default_factory=dict)

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count

    def rows_of(self, file: str) -> int | None:
        """The data rows read from ``file`` (names compared without regard to case), if
        counted."""
        for name, n in self.rows.items():
            if name.upper() == file.upper():
                return n
        return None


class RawFile(_Frozen):
    """One downloaded (or imported) file behind a snapshot."""

    name: str
    url: str | None = None
    sha256: str
    size: int
    etag: str | None = None
    last_modified: str | None = None
    rows: int | None = None  # data rows the parser read from it, when it counts them


class SnapshotInfo(_Frozen):
    """The identity and provenance of one stored snapshot of one source."""

    id: int
    source: str
    created_at: datetime  # when this snapshot was stored (UTC)
    retrieved_at: datetime  # when the files were downloaded / imported (UTC)
    published_at: datetime | None = None  # the list's own date, when known
    origin: str  # "download", "import" or "seed"
    url: str | None = None
    files: tuple[RawFile, ...] = ()
    record_count: int
    skipped: dict[str, int] = Field(default_factory=dict)

    @property
    def is_seed(self) -> bool:
        return self.origin == "seed"

    @property
    def as_of(self) -> datetime:
        """The date the data are current as of: the publish date for seeds, else retrieval."""
        if self.is_seed and self.published_at is not None:
            return self.published_at
        return self.retrieved_at

    @property
    def sha256(self) -> str:
        """One digest over the raw files (their names and SHA-256s), for audit records."""
        h = hashlib.sha256()
        for f in sorted(self.files, key=lambda f: f.name):
            h.update(f"{f.name}\0{f.sha256}\n".encode())
        return h.hexdigest()

    def ref(self, *, as_of: datetime | None = None, stale: bool = False) -> SnapshotRef:
        """How a result names this snapshot (``as_of``: when the store knows a later date)."""
        return SnapshotRef(
            source=self.source,
            snapshot_id=self.id,
            as_of=as_of or self.as_of,
            sha256=self.sha256,
            origin=self.origin,
            stale=stale,
        )


class SnapshotRef(_Frozen):
    """How a result names a snapshot it was screened against."""

    source: str
    snapshot_id: int
    as_of: datetime
    sha256: str
    origin: str
    stale: bool = False


class ScoreExplanation(_Frozen):
    """Why a hit scored what it scored."""

    method: str  # which comparison produced the final score
    query_normalized: str
    candidate_normalized: str
    matched_tokens: tuple[tuple[str, str, float], ...] = ()  # (query part, list part, similarity)
    unmatched_query_tokens: tuple[str, ...] = ()
    unmatched_candidate_tokens: tuple[str, ...] = ()
    adjustments: tuple[str, ...] = ()  # e.g. "weak alias ×0.9", "type mismatch −0.05"
    components: dict[str, float] = Field(default_factory=dict)


class Hit(_Frozen):
    """One list entry a screened name may be."""

    source: str
    entry_id: str
    list_name: str  # human name of the list, e.g. "OFAC SDN", "BIS Entity List"
    matched_name: str  # the list name that matched, as the list writes it
    matched_name_kind: NameKind
    matched_name_weak: bool = False
    primary_name: str
    score: float  # in [0, 1]
    entity_type: EntityType = EntityType.UNKNOWN
    programs: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    snapshot_id: int | None = None
    explanation: ScoreExplanation | None = None


class ScreeningResult(_Frozen):
    """The result of screening one name."""

    query: str
    country: str | None = None
    type: EntityType | None = None
    threshold: float
    hits: tuple[Hit, ...] = ()
    snapshots: tuple[SnapshotRef, ...] = ()
    warnings: tuple[str, ...] = ()
    #: When (UTC) and by which version of screening and of its name knowledge
    #: (lists/names.toml): with the snapshots and the threshold, what replaying needs.
    screened_at: datetime | None = None
    engine: str | None = None

    @property
    def is_hit(self) -> bool:
        return bool(self.hits)


def jsonable(model: BaseModel) -> dict[str, Any]:
    """A model as plain JSON-ready data (enums as values, datetimes as ISO strings)."""
    return model.model_dump(mode="json", exclude_none=True)
