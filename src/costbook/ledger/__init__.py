"""The ledger: recorded calls, their spool, copies, exports and named budgets."""
