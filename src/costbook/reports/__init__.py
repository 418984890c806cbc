"""Reports: the ledger as an HTML page."""
