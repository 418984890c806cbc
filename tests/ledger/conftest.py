"""Tests of the ledger run against each store: the ``ledger`` fixture."""

from ledger_fixture import ledger, pytest_configure, pytest_generate_tests

__all__ = ["ledger", "pytest_configure", "pytest_generate_tests"]
