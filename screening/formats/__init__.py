"""Writers for results: JSON Lines, CSV (and HTML reports)."""
