"""auto_sync: the public catalogs refreshed in a background thread while other threads
price, the catalog swapped whole; a failure logged and the tables in use kept."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

import costbook
from catalog_payloads import LITELLM_PATH, litellm
from costbook import Usage
from costbook.pricing._catalog import reset
from models_api_server import ModelsAPIServer, Reply

USAGE = Usage(input_tokens=100_000, output_tokens=100_000)


@pytest.fixture
def server() -> Iterator[ModelsAPIServer]:
    with ModelsAPIServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_catalog() -> Iterator[None]:
    reset()
    yield
    reset()


def _payload(rate: str) -> str:
    """Two providers whose rates change together: a sync is half seen if they differ."""
    data = json.loads(litellm(input_rate=rate))
    data["acmecloud/acme-large"]["input_cost_per_token"] = float(rate)
    return json.dumps(data)


def test_it_swaps_the_catalog_whole_under_concurrent_pricing(server):
    rates = ["1e-07", "2e-07"]
    # every fetch alternates the rates of both providers
    server.serve(LITELLM_PATH, *[Reply(_payload(rates[i % 2])) for i in range(400)])
    import costbook.pricing._catalog as catalog_module

    before = catalog_module.catalog()
    running = costbook.auto_sync(["litellm"], every=timedelta(milliseconds=1),
                                 urls={"litellm": server.url + LITELLM_PATH})
    try:
        assert running.wait(1, timeout=120)
        assert running.errors == {"litellm": None}
        assert catalog_module.catalog() is not before
        seen: set[tuple[Decimal, Decimal]] = set()
        failures: list[BaseException] = []
        stop = threading.Event()

        def price() -> None:
            while not stop.is_set():
                try:
                    tables = costbook.catalog()  # one catalog: one sync's tables
                    a = tables.resolve("openai:gpt-9-mini").rates_at().per_million("input")
                    b = tables.resolve("acmecloud:acme-large").rates_at().per_million("input")
                    seen.add((a, b))
                    total = costbook.price(USAGE, "openai:gpt-9-mini").total
                    assert total in (Decimal("0.04"), Decimal("0.05"))
                except BaseException as exc:
                    failures.append(exc)
                    return

        threads = [threading.Thread(target=price) for _ in range(4)]
        for thread in threads:
            thread.start()
        assert running.wait(running.runs + 4, timeout=300)
        stop.set()
        for thread in threads:
            thread.join(60)
    finally:
        running.stop(60)
    assert not running.running
    assert failures == []
    assert seen <= {(Decimal("0.1"), Decimal("0.1")), (Decimal("0.2"), Decimal("0.2"))}
    assert len(seen) == 2  # both syncs' tables were in use, never a mix


def test_a_failed_sync_is_logged_and_the_tables_in_use_stay(server, caplog):
    server.serve(LITELLM_PATH, Reply(_payload("1e-07")), Reply("{broken", status=200))
    url = server.url + LITELLM_PATH
    running = costbook.auto_sync(["litellm"], every=timedelta(milliseconds=1),
                                 urls={"litellm": url})
    try:
        assert running.wait(1, timeout=120)
        assert costbook.price(USAGE, "gpt-9-mini").total == Decimal("0.04")
        with caplog.at_level(logging.WARNING, logger="costbook.sync"):
            assert running.wait(running.runs + 2, timeout=120)
    finally:
        running.stop(60)
    assert running.errors["litellm"] is not None
    assert "not valid JSON" in running.errors["litellm"]
    assert any("auto sync of litellm failed; the tables in use stay" in r.getMessage()
               for r in caplog.records)
    assert costbook.price(USAGE, "gpt-9-mini").total == Decimal("0.04")


def test_it_is_never_started_by_import_and_checks_its_arguments():
    assert not [t for t in threading.enumerate() if t.name == "costbook-auto-sync"]
    with pytest.raises(costbook.SyncError, match="unknown price catalog 'openrouter'"):
        costbook.auto_sync(["openrouter"])
    with pytest.raises(ValueError, match="give a positive timedelta"):
        costbook.auto_sync(["litellm"], every=timedelta(0))
    with pytest.raises(ValueError, match="at least one source"):
        costbook.auto_sync([])
