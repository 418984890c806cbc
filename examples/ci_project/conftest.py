"""A team's CI setup: its own price table, a tracked client, a local model server."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
# the team's own table goes on top of costbook's (set before any price is looked up)
os.environ["COSTBOOK_PRICING_PATH"] = str(HERE / "pricing")
# the local OpenAI-compatible server of costbook's own tests stands in for the real API
sys.path.insert(0, str(HERE.parents[1] / "tests"))

import costbook  # noqa: E402
from fake_llm_server import FakeLLMServer  # noqa: E402


@pytest.fixture(scope="session")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as running:
        yield running


@pytest.fixture
def client(server: FakeLLMServer):  # type: ignore[no-untyped-def]
    """The team's tracked client: no ledger given, so it records where the test says."""
    return costbook.track(server.client(), provider="openai")
