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
    monkeypatch.setenv("COSTBOOK_SPOOL_DIR", str(path.parent / "spool"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """A throwaway PostgreSQL server for the session (see pg_server.py). The tests that
    need it skip, saying why, where none can be started; with COSTBOOK_TEST_POSTGRES set
    to ``required`` (as in CI) they fail instead."""
    import os

    from pg_server import PostgresServer, Unavailable

    try:
        server = PostgresServer()
    except Unavailable as exc:
        if os.environ.get("COSTBOOK_TEST_POSTGRES") == "required":
            pytest.fail(f"no PostgreSQL server could be started: {exc}")
        pytest.skip(f"no PostgreSQL server could be started: {exc}")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server) -> str:  # type: ignore[no-untyped-def]
    """The URL of a new, empty database on the session's PostgreSQL server."""
    return str(postgres_server.new_database())


@pytest.fixture(autouse=True)
def _user_tables_outside_home(tmp_path_factory: pytest.TempPathFactory,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's own tables folder: it points to an empty one."""
    monkeypatch.setenv("COSTBOOK_TABLES_DIR", str(tmp_path_factory.mktemp("user-tables")))
