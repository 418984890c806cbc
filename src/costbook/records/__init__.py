"""The records layer: the ledger's entry, the store contract, tags and listeners."""
