"""The stores: SQLite and PostgreSQL keep the ledger's entries, with their schemas and SQL."""
