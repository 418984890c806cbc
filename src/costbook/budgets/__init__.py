"""Budgets: spending limits over a ledger, their reservations and burn-downs."""
