"""URLs as shown in messages and stored with snapshots (standard library only, so that the
settings can use it without loading the HTTP client)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

#: A query string inside a text (an error message that quotes a URL).
QUERY_IN_TEXT = re.compile(r"\?[^\s'\")]*")


def redact(url: str) -> str:
    """A URL fit for logs and messages: no credentials, query string or fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return QUERY_IN_TEXT.sub("", url)
    host = parts.hostname or ""
    try:
        port = str(parts.port or "")
    except ValueError:  # a port out of range or not a number: shown as written
        port = parts.netloc.rpartition("@")[2].rpartition(":")[2]
    if port:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
