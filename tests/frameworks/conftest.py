"""Fixtures of the tests that run costbook under real agent and LLM frameworks, each
against the local fake servers; a framework that is not installed skips its file
(``.ci/frameworks`` makes a virtual environment for each and runs them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from costbook import Budget, Ledger


@pytest.fixture
def ledger(tmp_path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite") as book:
        yield book


@pytest.fixture
def tiny_budget(ledger: Ledger) -> Budget:
    """A budget smaller than any call's high bound: every call is refused before sending."""
    return Budget("0.000001", ledger=ledger)
