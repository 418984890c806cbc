"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fake_llm_server import FakeLLMServer


@pytest.fixture(scope="session")
def llm_server_session() -> Iterator[FakeLLMServer]:
    """One local OpenAI-compatible server on 127.0.0.1 for the whole test session."""
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def llm_server(llm_server_session: FakeLLMServer) -> FakeLLMServer:
    """The session's local server, with its record of requests emptied for this test."""
    llm_server_session.reset()
    return llm_server_session


@pytest.fixture(autouse=True)
def _ledger_outside_home(tmp_path_factory: pytest.TempPathFactory,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes to the user's default ledger: it points to a temporary file."""
    path = tmp_path_factory.mktemp("default-ledger") / "ledger.sqlite"
    monkeypatch.setenv("COSTBOOK_LEDGER", str(path))


@pytest.fixture(autouse=True)
def _user_tables_outside_home(tmp_path_factory: pytest.TempPathFactory,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's own tables folder: it points to an empty one."""
    monkeypatch.setenv("COSTBOOK_TABLES_DIR", str(tmp_path_factory.mktemp("user-tables")))
