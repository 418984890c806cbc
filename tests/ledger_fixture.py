"""The ``ledger`` fixture: an empty ledger in each store, SQLite and PostgreSQL, for the
conftest of each folder whose tests take it. A test marked ``sqlite_only`` (it reaches
into the SQLite file) gets the SQLite one alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from costbook import Ledger

STORES = ("sqlite", "postgres")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: a test of the SQLite store's file")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "ledger" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("ledger", STORES[:1] if only else STORES, indirect=True)


@pytest.fixture
def ledger(request: pytest.FixtureRequest, tmp_path) -> Iterator[Ledger]:  # type: ignore[no-untyped-def]
    if request.param == "postgres":
        location = request.getfixturevalue("postgres_url")
    else:
        location = str(tmp_path / "spend.sqlite")
    with Ledger(location) as opened:
        yield opened
