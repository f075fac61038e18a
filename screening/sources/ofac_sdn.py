"""OFAC's Specially Designated Nationals and Blocked Persons List (SDN), legacy CSV files.

One download is four files under the Sanctions List Service's export URL: ``SDN.CSV`` (the
entries), ``ADD.CSV`` (addresses), ``ALT.CSV`` (aliases) and ``SDN_COMMENTS.CSV`` (remarks
overflow). The parsing is shared with the consolidated list: see
:mod:`screening.sources._ofac_legacy` and, for the Remarks grammar,
:mod:`screening.sources._remarks`.
"""

from __future__ import annotations

from screening.sources._ofac_legacy import SDN_LAYOUT, OfacLegacySource


class Source(OfacLegacySource):
    """The OFAC SDN list (``ofac_sdn``)."""

    layout = SDN_LAYOUT
    # The list has held well over 10,000 entries for years (13,821 on 2023-12-28); a download
    # with fewer than this is a broken or partial payload, not a real list.
    min_records = 1000
