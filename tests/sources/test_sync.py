"""Sync: tables from a router's live models API, served here by a local HTTP server in the
API's documented shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import costbook
from costbook import SyncError, Usage
from costbook.pricing._bundle import bundled_pricing_dir
from costbook.pricing._catalog import catalog, reset
from costbook.pricing._check import check_tables
from costbook.sources._sync import fetch_json, per_million, sync
from models_api_server import ModelsAPIServer, Reply
from sync_payloads import OPENROUTER, OPENROUTER_PATH, REQUESTY_PATH, REQUESTY_TEXT, openrouter

DAY = date(2026, 11, 22)


@pytest.fixture
def server() -> Iterator[ModelsAPIServer]:
    with ModelsAPIServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_catalog() -> Iterator[None]:
    reset()
    yield
    reset()


def _sync_openrouter(server: ModelsAPIServer, output: Path, payload: Any = None,
                     **options: Any) -> costbook.SyncReport:
    server.serve(OPENROUTER_PATH, OPENROUTER if payload is None else payload)
    options.setdefault("today", DAY)
    return sync("openrouter", base_url=server.url + "/api/v1", output=output, **options)


def _cost(ref: str, **counts: int) -> Decimal:
    return costbook.price(Usage(**counts), ref).total


# -- exact rates ------------------------------------------------------------------------------


def test_per_token_rates_become_per_million_exactly():
    assert per_million(Decimal("0.00000015")) == Decimal("0.15")
    assert str(per_million(Decimal("0.00000015"))) == "0.15"
    assert str(per_million(Decimal("1.5E-7"))) == "0.15"
    assert str(per_million(Decimal("0.0000001"))) == "0.1"
    assert str(per_million(Decimal("0.000015"))) == "15"
    assert str(per_million(Decimal("0.00004"))) == "40"
    assert str(per_million(Decimal("1.23456789012345678901234E-10"))) == "0.000123456789012345678901234"
    assert 0.0000001 * 1_000_000 != 0.1  # what a float would have written


def test_openrouter_table_prices_every_model_as_the_payload_states(server, tmp_path):
    output = tmp_path / "openrouter.yaml"
    report = _sync_openrouter(server, output)
    assert check_tables([output]).ok
    assert report.output == output
    costbook.load(output)
    # the float trap: 1 + 1 tokens cost 0.0000001 + 0.0000002, plus the request fee
    ref = "openrouter:acme/float-trap"
    request = Decimal("0.0003")
    assert _cost(ref, input_tokens=1, output_tokens=1) == Decimal("0.0000003") + request
    assert _cost(ref, input_tokens=1) == Decimal("0.0000001") + request
    assert _cost(ref, output_tokens=1) == Decimal("0.0000002") + request
    assert _cost(ref, input_tokens=1, cache_read_tokens=1) == Decimal("0.00000003") + request
    assert _cost(ref, input_tokens=1, cache_write_tokens=1) == Decimal("0.000000375") + request
    assert _cost(ref, output_tokens=1, reasoning_tokens=1) == Decimal("0.0000007") + request
    assert _cost(ref, input_tokens=1, audio_input_tokens=1) == Decimal("0.00004") + request
    assert _cost(ref, web_searches=3) == Decimal("0.03") + request
    assert _cost(ref, input_tokens=1_000_000, output_tokens=1_000_000) - request == Decimal("0.3")
    assert 0.1 + 0.2 != 0.3  # what the same rates per million would sum to as floats
    # a maker's model: per-image fee, cache reads, no request fee
    mini = "openrouter:openai/gpt-4o-mini"
    assert _cost(mini, input_tokens=1_000_000) == Decimal("0.15")
    assert _cost(mini, output_tokens=1_000_000) == Decimal("0.6")
    assert _cost(mini, input_tokens=1_000_000, cache_read_tokens=1_000_000) == Decimal("0.075")
    assert _cost(mini, images=1000) == Decimal("0.217")
    text = output.read_text()
    assert "E-" not in text and "e-" not in text
    assert "input: 0.1," in text


def test_requesty_numbers_are_read_as_decimals_never_floats(server, tmp_path):
    server.serve(REQUESTY_PATH, Reply(REQUESTY_TEXT))
    output = tmp_path / "requesty.yaml"
    report = sync("requesty", base_url=server.url + "/v1", output=output, today=DAY)
    assert check_tables([output]).ok
    assert sorted(c.id for c in report.added) == ["acme/float-trap", "acme/free", "openai/gpt-4o-mini"]
    costbook.load(output)
    mini = "requesty:openai/gpt-4o-mini"
    assert _cost(mini, input_tokens=1_000_000) == Decimal("0.15")
    assert _cost(mini, input_tokens=1_000_000, cache_read_tokens=1_000_000) == Decimal("0.07")
    assert _cost(mini, input_tokens=1_000_000, cache_write_tokens=1_000_000) == Decimal("0.15")
    assert _cost(mini, output_tokens=1) == Decimal("0.0000006")
    trap = "requesty:acme/float-trap"
    assert _cost(trap, input_tokens=1, output_tokens=1) == Decimal("0.0000003")
    assert _cost(trap, input_tokens=1, cache_read_tokens=1) == Decimal("0.00000002")
    model = catalog().resolve(trap)
    assert model.max_output_tokens is None  # null in the payload
    assert model.context_window == 1048576
    assert "input: 0.15, cache_read: 0.07, cache_write: 0.15, output: 0.6" in output.read_text()
    assert any("acme/no-output: no output_price" in s for s in report.skipped)


def test_free_models_state_zero_rates(server, tmp_path):
    output = tmp_path / "openrouter.yaml"
    _sync_openrouter(server, output)
    costbook.load(output)
    ref = "openrouter:meta-llama/llama-3.3-70b-instruct:free"
    assert _cost(ref, input_tokens=5000, output_tokens=700, reasoning_tokens=100) == Decimal(0)
    model = catalog().resolve(ref)
    assert model.rates_at(DAY).stated_per_million == {"input": Decimal(0), "output": Decimal(0)}


def test_dynamic_routes_and_models_missing_a_field_are_skipped_by_name(server, tmp_path):
    output = tmp_path / "openrouter.yaml"
    report = _sync_openrouter(server, output)
    assert "openrouter/auto: priced dynamically (-1 in pricing.prompt)" in report.skipped
    assert "acme/half-priced: no pricing.completion" in report.skipped
    assert report.models == 3
    text = output.read_text()
    assert "openrouter/auto" not in text and "acme/half-priced" not in text


def test_null_max_output_is_left_out_and_facts_are_kept(server, tmp_path):
    output = tmp_path / "openrouter.yaml"
    _sync_openrouter(server, output)
    costbook.load(output)
    trap = catalog().resolve("openrouter:acme/float-trap")
    assert (trap.context_window, trap.max_output_tokens) == (32768, None)
    assert trap.checked == DAY
    assert trap.name == "Acme: Float Trap"
    assert trap.pricing_url == "https://openrouter.ai/acme/float-trap"
    mini = catalog().resolve("openrouter:openai/gpt-4o-mini")
    assert (mini.context_window, mini.max_output_tokens) == (128000, 16384)
    assert mini.tokenizer == "o200k_base"  # kept from the tables in use
    assert "openai/gpt-4o-mini-2024-07-18" in [a.lower() for a in mini.aliases]


def test_unknown_nonzero_fees_are_noted(server, tmp_path):
    payload = openrouter(**{"acme/float-trap": {"image_output": "0.00003"}})
    report = _sync_openrouter(server, tmp_path / "o.yaml", payload)
    assert report.notes == [
        "pricing.image_output is not a rate costbook bills; left out (acme/float-trap: 1 models)"
    ]


# -- history ----------------------------------------------------------------------------------


def test_a_changed_price_becomes_a_new_price_set_and_history_is_kept(server, tmp_path):
    output = tmp_path / "openrouter.yaml"
    _sync_openrouter(server, output)
    later = date(2026, 12, 5)
    payload = openrouter(**{"acme/float-trap": {"prompt": "0.0000002"}})
    report = _sync_openrouter(server, output, payload, today=later)
    assert [c.id for c in report.changed] == ["acme/float-trap"]
    change = report.changed[0]
    assert (change.old["input"], change.new["input"]) == (Decimal("0.1"), Decimal("0.2"))
    assert change.differing == ["input"]
    assert report.unchanged == 2 and not report.added
    assert check_tables([output]).ok
    costbook.load(output)
    ref = "openrouter:acme/float-trap"
    usage = Usage(input_tokens=1_000_000)
    assert costbook.price(usage, ref, at=DAY).total == Decimal("0.1003")
    assert costbook.price(usage, ref, at=later).total == Decimal("0.2003")
    model = catalog().resolve(ref)
    assert [r.effective for r in model.price_sets] == [None, later]
    # a third sync the same day with the same rates changes nothing
    again = _sync_openrouter(server, output, payload, today=later)
    assert not again.changed and again.unchanged == 3


def test_a_second_change_on_one_day_replaces_that_days_set(server, tmp_path):
    output = tmp_path / "openrouter.yaml"
    _sync_openrouter(server, output)
    later = date(2026, 12, 5)
    _sync_openrouter(server, output, openrouter(**{"acme/float-trap": {"prompt": "0.0000002"}}),
                     today=later)
    _sync_openrouter(server, output, openrouter(**{"acme/float-trap": {"prompt": "0.0000003"}}),
                     today=later)
    costbook.load(output)
    model = catalog().resolve("openrouter:acme/float-trap")
    assert [r.effective for r in model.price_sets] == [None, later]
    assert model.rates_at(later).per_million("input") == Decimal("0.3")


def test_a_model_no_longer_listed_is_kept_and_marked_deprecated(server, tmp_path):
    output = tmp_path / "openrouter.yaml"
    _sync_openrouter(server, output)
    payload = {"data": [m for m in OPENROUTER["data"] if m["id"] != "acme/float-trap"]}
    report = _sync_openrouter(server, output, payload, today=date(2026, 12, 1))
    assert [c.id for c in report.removed] == ["acme/float-trap"]
    assert report.removed[0].old["input"] == Decimal("0.1")
    costbook.load(output)
    model = catalog().resolve("openrouter:acme/float-trap")
    assert model.deprecated == date(2026, 12, 1)
    assert _cost("openrouter:acme/float-trap", input_tokens=1) == Decimal("0.0003001")


def test_an_existing_table_keeps_what_sync_does_not_state(server, tmp_path):
    output = tmp_path / "openrouter.yaml"
    _sync_openrouter(server, output)
    text = output.read_text().replace("  - id: acme/float-trap\n",
                                      "  - id: acme/float-trap\n    tokenizer: cl100k_base\n")
    output.write_text(text)
    _sync_openrouter(server, output, today=date(2026, 12, 1))
    costbook.load(output)
    assert catalog().resolve("openrouter:acme/float-trap").tokenizer == "cl100k_base"


def test_a_table_of_another_provider_is_not_overwritten(server, tmp_path):
    output = tmp_path / "mine.yaml"
    output.write_text("provider: acme\nmodels: [{id: m, prices: [{input: 1, output: 2}]}]\n")
    before = output.read_bytes()
    with pytest.raises(SyncError, match="is a table of provider 'acme', not 'openrouter'"):
        _sync_openrouter(server, output)
    assert output.read_bytes() == before


# -- the network ------------------------------------------------------------------------------


def test_429_then_success_retries_as_retry_after_asks(server, tmp_path):
    server.serve(OPENROUTER_PATH, Reply({"error": "slow down"}, 429, {"Retry-After": "0"}),
                 OPENROUTER)
    output = tmp_path / "openrouter.yaml"
    report = sync("openrouter", base_url=server.url + "/api/v1", output=output, today=DAY)
    assert report.models == 3
    assert len(server.requests) == 2


def test_backoff_doubles_without_retry_after(server):
    server.serve(OPENROUTER_PATH, Reply("busy", 503))
    waits: list[float] = []
    with pytest.raises(SyncError) as caught:
        fetch_json(server.url + OPENROUTER_PATH, attempts=3, sleep=waits.append)
    assert waits == [1.0, 2.0]
    assert str(caught.value) == (
        f"GET {server.url}{OPENROUTER_PATH}: HTTP 503 Service Unavailable "
        "(gave up after 3 attempts)"
    )
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply({"error": "down"}, 500, {"Retry-After": "0"}),
         r"HTTP 500 Internal Server Error \(gave up after 4 attempts\)$"),
        (Reply("{\"data\": [", 200), r"the response is not valid JSON: Expecting value"),
        (Reply("{\"data\": [{\"id\": \"x\", \"pricing\": {\"prompt\": NaN}}]}"),
         r"not valid JSON: NaN is not a number JSON allows"),
        (Reply({"models": []}), r"expected a JSON object with a data list of models, got an "
                                r"object with keys models$"),
        (Reply([1, 2]), r"expected a JSON object with a data list of models, got list$"),
        (Reply({"error": "no"}, 404), r"HTTP 404 Not Found$"),
        (Reply(b"\xff\xfe{}"), r"the response is not UTF-8 text$"),
    ],
)
def test_failures_are_one_line_and_write_nothing(server, tmp_path, reply, message):
    output = tmp_path / "openrouter.yaml"
    server.serve(OPENROUTER_PATH, reply)
    with pytest.raises(SyncError, match=message) as caught:
        sync("openrouter", base_url=server.url + "/api/v1", output=output)
    assert "\n" not in str(caught.value)
    assert not output.exists()
    assert list(tmp_path.iterdir()) == []
    # an existing table is left as it was
    _sync_openrouter(server, output)
    before = output.read_bytes()
    server.serve(OPENROUTER_PATH, reply)
    with pytest.raises(SyncError):
        sync("openrouter", base_url=server.url + "/api/v1", output=output,
             today=date(2027, 1, 1))
    assert output.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["openrouter.yaml"]


def test_a_refused_connection_is_retried_then_reported(tmp_path):
    with ModelsAPIServer() as stopped:
        url = stopped.url
    output = tmp_path / "openrouter.yaml"
    with pytest.raises(SyncError, match=r"^GET http://127\.0\.0\.1:\d+/models: .*refused.*"
                                        r"\(gave up after 1 attempts\)$"):
        sync("openrouter", base_url=url, output=output, attempts=1)
    assert not output.exists()


def test_a_slow_server_times_out(server, tmp_path):
    server.serve(OPENROUTER_PATH, Reply(OPENROUTER, delay=2))
    with pytest.raises(SyncError, match=r"timed out \(gave up after 1 attempts\)$"):
        sync("openrouter", base_url=server.url + "/api/v1", output=tmp_path / "o.yaml",
             timeout=0.3, attempts=1)


def test_the_api_key_is_sent_and_never_shown_or_written(server, tmp_path):
    secret = "sk-or-v1-secret-0123456789"
    output = tmp_path / "openrouter.yaml"
    report = _sync_openrouter(server, output, api_key=secret)
    assert server.requests[0]["headers"]["Authorization"] == f"Bearer {secret}"
    assert secret not in output.read_text()
    assert secret not in json.dumps(report.as_dict(), default=str)
    server.serve(OPENROUTER_PATH, Reply({"error": secret}, 401))
    with pytest.raises(SyncError) as caught:
        sync("openrouter", base_url=server.url + "/api/v1", output=output, api_key=secret)
    assert secret not in str(caught.value)


def test_credentials_in_the_base_url_are_refused_without_showing_them(server, tmp_path):
    server.serve(OPENROUTER_PATH, OPENROUTER)
    host = server.url.removeprefix("http://")
    output = tmp_path / "openrouter.yaml"
    with pytest.raises(SyncError) as caught:
        sync("openrouter", base_url=f"http://user:pw-secret@{host}/api/v1", output=output)
    assert str(caught.value) == (
        f"{server.url}/api/v1/models: the URL holds a user name or password; give the "
        "base URL without it and the key with --api-key-env"
    )
    assert not server.requests and not output.exists()


def test_only_routers_with_a_models_api_sync():
    with pytest.raises(SyncError, match=r"cannot sync provider 'openai': costbook syncs "
                                        r"openrouter, requesty"):
        sync("openai")


# -- defaults and --check ---------------------------------------------------------------------


def test_the_default_output_is_the_user_tables_folder_the_catalog_reads(server, tmp_path,
                                                                         monkeypatch):
    folder = tmp_path / "user" / "tables"
    monkeypatch.setenv("COSTBOOK_TABLES_DIR", str(folder))
    reset()
    assert _cost("openrouter:openai/gpt-4o-mini", output_tokens=1_000_000) == Decimal("0.6")
    payload = openrouter(**{"openai/gpt-4o-mini": {"completion": "0.0000005"}})
    server.serve(OPENROUTER_PATH, payload)
    report = sync("openrouter", base_url=server.url + "/api/v1")
    assert report.output == folder / "openrouter.yaml"
    # the synced table overrides the bundled entry, without costbook.load()
    assert _cost("openrouter:openai/gpt-4o-mini", output_tokens=1_000_000) == Decimal("0.5")
    assert _cost("openrouter:acme/float-trap", input_tokens=1) == Decimal("0.0003001")
    # the bundled models the live catalog does not list are still there
    bundled = catalog().resolve("openrouter:openai/gpt-4o").source
    assert Path(bundled).parent == bundled_pricing_dir()
    assert Path(bundled).stem == "openrouter"


def test_check_compares_the_live_rates_with_the_tables_in_use(server, tmp_path, monkeypatch):
    monkeypatch.setenv("COSTBOOK_TABLES_DIR", str(tmp_path))
    reset()
    server.serve(OPENROUTER_PATH, OPENROUTER)
    sync("openrouter", base_url=server.url + "/api/v1", today=DAY)
    written = (tmp_path / "openrouter.yaml").read_bytes()
    report = sync("openrouter", base_url=server.url + "/api/v1", check=True, today=DAY)
    assert report.ok and report.unchanged == 3 and not report.added
    assert report.output is None
    payload = openrouter(**{"openai/gpt-4o-mini": {"prompt": "0.00000016", "request": "0.001"}})
    server.serve(OPENROUTER_PATH, payload)
    report = sync("openrouter", base_url=server.url + "/api/v1", check=True, today=DAY)
    assert not report.ok
    [change] = report.changed
    assert change.id == "openai/gpt-4o-mini"
    assert change.differing == ["input", "per_request"]
    assert (change.old["input"], change.new["input"]) == (Decimal("0.15"), Decimal("0.16"))
    assert "per_request" not in change.old
    assert (tmp_path / "openrouter.yaml").read_bytes() == written  # nothing written


def test_check_against_the_bundled_tables(server):
    server.serve(OPENROUTER_PATH, OPENROUTER)
    report = sync("openrouter", base_url=server.url + "/api/v1", check=True, today=DAY)
    # the bundled table prices gpt-4o-mini and the free model as the payload does
    assert report.unchanged == 2 and report.ok
    assert [c.id for c in report.added] == ["acme/float-trap"]
    assert "openai/gpt-4o" in [c.id for c in report.removed]


def test_the_user_tables_folder_is_platformdirs_own(monkeypatch, tmp_path):
    import platformdirs

    from costbook.pricing._user_tables import user_tables_dir

    monkeypatch.delenv("COSTBOOK_TABLES_DIR")
    for data_home in (None, str(tmp_path)):
        if data_home is None:
            monkeypatch.delenv("XDG_DATA_HOME", raising=False)
        else:
            monkeypatch.setenv("XDG_DATA_HOME", data_home)
        expected = platformdirs.user_data_path("costbook", appauthor=False) / "tables"
        assert user_tables_dir() == expected
