"""OFAC's Consolidated Sanctions List (the non-SDN lists: SSI, FSE, NS-MBS, NS-CMIC, NS-PLC,
CAPTA), legacy CSV files.

Same four-file layout as the SDN list, under other names: ``CONS_PRIM.CSV``, ``CONS_ADD.CSV``,
``CONS_ALT.CSV`` and ``CONS_COMMENTS.CSV`` (see :mod:`screening.sources._ofac_legacy`).
An entry may be on both this list and the SDN list under the same ent_num.
"""

from __future__ import annotations

from screening.sources._ofac_legacy import CONS_LAYOUT, OfacLegacySource


class Source(OfacLegacySource):
    """The OFAC consolidated (non-SDN) list (``ofac_consolidated``)."""

    layout = CONS_LAYOUT
    # 442 entries in December 2025, about 480 in 2026; far fewer means a broken payload.
    min_records = 50
