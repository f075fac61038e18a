"""The interface every list source implements.

A source knows which files make up one download of its list and how to turn their raw bytes
into :class:`~screening.models.ListEntry` records. It does not know about HTTP, the store or the
CLI: fetching (conditional GET, retries, User-Agent) is shared in ``screening.sources._http``
and orchestrated by ``screening._refresh``; the declaration (URL, provenance) is a table in
``lists/sources.toml``.

To add a list: write ``screening/sources/<module>.py`` defining a subclass of ``ListSource``
named ``Source``, and add a ``[sources.<id>]`` table naming ``module = "<module>"``.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping

from screening.config import SourceDefinition
from screening.errors import ConfigError
from screening.models import ParseResult


class ListSource(ABC):
    """One list: its files and its parser."""

    #: Minimum number of records a full download must hold; fewer means a broken payload.
    min_records: int = 1

    def __init__(self, definition: SourceDefinition) -> None:
        self.definition = definition

    @property
    def id(self) -> str:
        return self.definition.id

    def file_names(self) -> tuple[str, ...]:
        """The files one download consists of (their names as the store records them)."""
        if self.definition.files:
            return self.definition.files
        return (self.definition.url.rstrip("/").rsplit("/", 1)[-1] or "download",)

    def file_urls(self, base_url: str) -> dict[str, str]:
        """File name -> URL to fetch it from, given the (possibly overridden) source URL."""
        if self.definition.files:
            base = base_url if base_url.endswith("/") else base_url + "/"
            return {name: base + name for name in self.definition.files}
        return {self.file_names()[0]: base_url}

    def required_files(self) -> tuple[str, ...]:
        """Files that must be present for a parse; by default all of them."""
        return self.file_names()

    @abstractmethod
    def parse(self, files: Mapping[str, bytes]) -> ParseResult:
        """Parse one download (file name -> raw bytes) into entries.

        Malformed rows are skipped and counted in ``ParseResult.skipped``; a payload that is
        not the expected format at all (an HTML error page, an empty body, a wrong header) or
        that was cut off (its last row incomplete: every row after the cut is missing) raises
        :class:`~screening.errors.ParseError`. Never raises anything else on bad input.
        """


def load_source(definition: SourceDefinition) -> ListSource:
    """Instantiate the parser module a source definition names."""
    try:
        module = importlib.import_module(f"screening.sources.{definition.module}")
    except ImportError as exc:
        raise ConfigError(
            f"source {definition.id!r}: no parser module screening.sources.{definition.module}"
        ) from exc
    cls = getattr(module, "Source", None)
    if not (isinstance(cls, type) and issubclass(cls, ListSource)):
        raise ConfigError(f"screening.sources.{definition.module} does not define a Source class")
    return cls(definition)
