"""The ledger layer: recorded calls, their stores, reports and budgets."""
