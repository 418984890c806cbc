"""Reconciliation with the providers' usage and cost reports, and import of what no
tracked call recorded."""
