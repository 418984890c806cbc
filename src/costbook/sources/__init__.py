"""Sources: prices fetched from providers and public catalogs, synced, auto-synced and audited."""
