"""Sync from the public catalogs: each catalog's data file served by a local HTTP server in
its published shape (or read from a file), converted exactly and priced from."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import costbook
from catalog_payloads import (
    GENAI_PATH,
    LITELLM_PATH,
    MODELS_DEV_PATH,
    genai_prices_text,
    litellm,
    models_dev,
)
from costbook import SyncError, Usage
from costbook.pricing._catalog import catalog, reset
from costbook.pricing._synced import catalogs_dir, read_manifest, source_label
from costbook.sources._catalog_sync import sync_catalog
from models_api_server import ModelsAPIServer, Reply

DAY = date(2026, 12, 6)


@pytest.fixture
def server() -> Iterator[ModelsAPIServer]:
    with ModelsAPIServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_catalog() -> Iterator[None]:
    reset()
    yield
    reset()


@pytest.fixture
def tables() -> Path:
    return Path(os.environ["COSTBOOK_TABLES_DIR"])


def _cost(ref: str, at: date = DAY, **counts: int) -> costbook.Cost:
    return costbook.price(Usage(**counts), ref, at=at)


def _serve_litellm(server: ModelsAPIServer, text: str | None = None) -> str:
    server.serve(LITELLM_PATH, Reply(litellm() if text is None else text))
    return server.url + LITELLM_PATH


# -- LiteLLM -----------------------------------------------------------------------------------


def test_litellm_prices_a_model_newer_than_the_bundled_tables_exactly(server):
    with pytest.raises(costbook.UnknownModelError):
        catalog().resolve("gpt-9-mini")
    report = sync_catalog("litellm", url=_serve_litellm(server), today=DAY)
    assert report.source == "litellm" and report.url.endswith(LITELLM_PATH)
    cost = _cost("gpt-9-mini", input_tokens=1000, output_tokens=1000)
    # 1.1e-07 and 3e-07 per token are 0.11 and 0.3 per million, exactly (floats: 0.3 is
    # 0.29999999999999993 after * 1e6)
    assert cost.provider == "openai"
    assert cost.items == {"input": Decimal("0.00011"), "output": Decimal("0.0003")}
    assert cost.total == Decimal("0.00041")
    model = catalog().resolve("openai:gpt-9-mini")
    assert (model.context_window, model.max_output_tokens) == (400000, 128000)
    assert str(model.rates_at(DAY).per_million("input")) == "0.11"


def test_litellm_service_tiers_and_prompt_size_tiers(server):
    sync_catalog("litellm", url=_serve_litellm(server), today=DAY)
    batch = costbook.price(Usage(input_tokens=1000, output_tokens=1000), "gpt-9-mini",
                           service_tier="batch", at=DAY)
    assert batch.total == Decimal("0.000055") + Decimal("0.00015")
    priority = costbook.price(Usage(input_tokens=1000, output_tokens=1000), "gpt-9-mini",
                              service_tier="priority", at=DAY)
    assert priority.total == Decimal("0.0002") + Decimal("0.0006")
    long = _cost("gpt-9-mini", input_tokens=200_001, output_tokens=1000)
    assert long.prompt_tier == "above 200000"
    assert long.items == {"input": Decimal("0.04400022"), "output": Decimal("0.0006")}
    at_threshold = _cost("gpt-9-mini", input_tokens=200_000)
    assert at_threshold.prompt_tier is None


def test_litellm_new_provider_retirement_date_and_skipped_units(server):
    report = sync_catalog("litellm", url=_serve_litellm(server), today=DAY)
    acme = catalog().resolve("acmecloud:acme-large")
    assert acme.deprecated == date(2027, 3, 1)
    assert _cost("acmecloud:acme-large", input_tokens=10, output_tokens=10).total == \
        Decimal("0.000003")
    assert "acmecloud/acme-video: no per-token rates (billed per image, second, query or " \
        "page)" in report.skipped
    assert any(n.startswith("search_context_cost_per_query is not a rate costbook bills")
               for n in report.notes)
    # the unprefixed key is the listing used; the other spelling is reported
    assert any("openai/gpt-9-mini: listed twice" in s for s in report.skipped)
    assert catalog().resolve("gpt-9-mini").rates_at(DAY).per_million("input") == \
        Decimal("0.11")


def test_the_sync_writes_a_manifest_and_compiled_tables_costbook_check_accepts(server, tables):
    report = sync_catalog("litellm", url=_serve_litellm(server), today=DAY)
    manifest = read_manifest("litellm")
    assert manifest is not None
    assert manifest["checked"] == "2026-12-06" and manifest["url"] == report.url
    assert {p["provider"] for p in manifest["providers"]} == {"openai", "acmecloud"}
    generation = catalogs_dir() / manifest["folder"]
    assert report.output == generation and generation.parent == tables / "catalogs"
    from costbook.pricing._tables import read_table

    table = read_table(generation / "openai.json")
    entry = table.models[0]
    assert (entry.id, entry.checked) == ("gpt-9-mini", DAY)
    assert entry.source == f"litellm 2026-12-06, synced from {report.url}"  # its provenance
    assert entry.prices[0].input == Decimal("0.11")
    assert sorted(entry.service_tiers) == ["batch", "priority"]
    assert source_label(str(generation / "openai.json")) == "litellm (synced)"


def test_a_changed_rate_is_a_new_price_set_and_history_is_kept(server):
    sync_catalog("litellm", url=_serve_litellm(server), today=date(2026, 12, 1))
    server.serve(LITELLM_PATH, Reply(litellm(input_rate="1.3e-07")))
    report = sync_catalog("litellm", url=server.url + LITELLM_PATH, today=DAY)
    [part] = [p for p in report.providers if p.provider == "openai"]
    [change] = part.changed
    assert change.id == "gpt-9-mini" and change.differing == ["input"]
    assert (change.old["input"], change.new["input"]) == (Decimal("0.11"), Decimal("0.13"))
    assert _cost("gpt-9-mini", at=date(2026, 12, 2), input_tokens=10**5).total == \
        Decimal("0.011")
    assert _cost("gpt-9-mini", at=DAY, input_tokens=10**5).total == Decimal("0.013")
    # a second sync with the same rates changes nothing
    again = sync_catalog("litellm", url=server.url + LITELLM_PATH, today=date(2026, 12, 7))
    assert not [c for p in again.providers for c in p.changed]
    assert _cost("gpt-9-mini", at=date(2026, 12, 2), input_tokens=10**5).total == \
        Decimal("0.011")


def test_a_model_the_catalog_no_longer_lists_is_kept_retired(server):
    sync_catalog("litellm", url=_serve_litellm(server), today=date(2026, 12, 1))
    data = json.loads(litellm())
    del data["acmecloud/acme-large"]
    server.serve(LITELLM_PATH, Reply(json.dumps(data)))
    report = sync_catalog("litellm", url=server.url + LITELLM_PATH, today=DAY)
    removed = [(p.provider, c.id) for p in report.providers for c in p.removed]
    assert removed == [("acmecloud", "acme-large")]
    model = catalog().resolve("acmecloud:acme-large")
    assert model.deprecated == DAY  # gone before its stated date 2027-03-01: retired now
    assert _cost("acmecloud:acme-large", input_tokens=10).total == Decimal("0.000001")


@pytest.mark.parametrize("body", [
    "{not json", '{"data": []}', "[1, 2]", '{"gpt-x": {"litellm_provider": "openai", '
    '"input_cost_per_token": "lots", "output_cost_per_token": 1e-07}, '
    '"gpt-y": {"litellm_provider": "openai", "input_cost_per_token": NaN}}',
])
def test_a_malformed_file_writes_nothing(server, body, tables):
    sync_catalog("litellm", url=_serve_litellm(server), today=DAY)
    before = read_manifest("litellm")
    server.serve(LITELLM_PATH, Reply(body))
    with pytest.raises(SyncError) as caught:
        sync_catalog("litellm", url=server.url + LITELLM_PATH, today=date(2026, 12, 7))
    assert "\n" not in str(caught.value)
    assert read_manifest("litellm") == before
    assert [p.name for p in (tables / "catalogs").iterdir() if p.is_dir()] == \
        [before["folder"]]
    assert _cost("gpt-9-mini", input_tokens=10**5).total == Decimal("0.011")


def test_an_unpriceable_rate_skips_the_model_with_the_reason(server):
    data = json.loads(litellm())
    data["gpt-9-mini"]["input_cost_per_token"] = "lots"
    data["gpt-9-neg"] = {"litellm_provider": "openai", "input_cost_per_token": -1e-07,
                         "output_cost_per_token": 1e-07}
    data["gpt-9-free"] = {"litellm_provider": "openai", "input_cost_per_token": 0,
                          "output_cost_per_token": 0}
    server.serve(LITELLM_PATH, Reply(json.dumps(data)))
    report = sync_catalog("litellm", url=server.url + LITELLM_PATH, today=DAY)
    assert "openai/gpt-9-mini: input_cost_per_token is 'lots', not a number" in report.skipped
    assert "openai/gpt-9-neg: input_cost_per_token is negative (-1E-7)" in report.skipped
    assert "openai/gpt-9-free: every rate is 0 (free, or included in a plan); not priced " \
        "at $0" in report.skipped
    for ref in ("gpt-9-neg", "gpt-9-free"):
        with pytest.raises(costbook.UnknownModelError):
            catalog().resolve(f"openai:{ref}")


def test_an_http_error_is_one_line_and_writes_nothing(server, tables):
    server.serve(LITELLM_PATH, Reply({"error": "gone"}, status=404))
    with pytest.raises(SyncError) as caught:
        sync_catalog("litellm", url=server.url + LITELLM_PATH, today=DAY)
    assert str(caught.value) == f"GET {server.url}{LITELLM_PATH}: HTTP 404 Not Found"
    assert not (tables / "catalogs").exists() or not any((tables / "catalogs").iterdir())


def test_only_the_url_asked_for_is_requested_without_credentials(server):
    sync_catalog("litellm", url=_serve_litellm(server), today=DAY)
    assert [r["path"] for r in server.requests] == [LITELLM_PATH]
    assert "Authorization" not in server.requests[0]["headers"]


def test_provider_limits_the_sync_and_keeps_the_others(server):
    sync_catalog("litellm", url=_serve_litellm(server), today=date(2026, 12, 1))
    server.serve(LITELLM_PATH, Reply(litellm(input_rate="1.3e-07")))
    report = sync_catalog("litellm", url=server.url + LITELLM_PATH, providers=["openai"],
                          today=DAY)
    assert [p.provider for p in report.providers] == ["openai"]
    assert {p["provider"] for p in read_manifest("litellm")["providers"]} == \
        {"openai", "acmecloud"}
    assert catalog().resolve("acmecloud:acme-large").checked == date(2026, 12, 1)
    with pytest.raises(SyncError, match=r"LiteLLM lists no provider 'nobody'; it lists "
                       r"acmecloud, openai$"):
        sync_catalog("litellm", url=server.url + LITELLM_PATH, providers=["nobody"])


def test_check_compares_with_the_tables_in_use_and_writes_nothing(server, tables):
    sync_catalog("litellm", url=_serve_litellm(server), today=DAY)
    server.serve(LITELLM_PATH, Reply(litellm(output_rate="3.5e-07")))
    report = sync_catalog("litellm", url=server.url + LITELLM_PATH, check=True, today=DAY)
    assert not report.ok
    [change] = [c for p in report.providers for c in p.changed]
    assert (change.id, change.differing) == ("gpt-9-mini", ["output"])
    assert (change.old["output"], change.new["output"]) == (Decimal("0.3"), Decimal("0.35"))
    assert len([p for p in (tables / "catalogs").iterdir() if p.is_dir()]) == 1
    server.serve(LITELLM_PATH, Reply(litellm()))
    assert sync_catalog("litellm", url=server.url + LITELLM_PATH, check=True, today=DAY).ok


def test_from_file_reads_the_catalog_offline(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(litellm(), encoding="utf-8")
    report = sync_catalog("litellm", from_file=path, today=DAY)
    assert report.url == str(path)
    assert _cost("gpt-9-mini", input_tokens=10**5).total == Decimal("0.011")
    with pytest.raises(SyncError, match=r"no-such\.json: cannot read"):
        sync_catalog("litellm", from_file=tmp_path / "no-such.json")


# -- genai-prices ------------------------------------------------------------------------------


@pytest.mark.parametrize("strings", [False, True], ids=["json-numbers", "decimal-strings"])
def test_genai_prices_history_tiers_variants_and_retired_models(server, strings):
    server.serve(GENAI_PATH, Reply(genai_prices_text(numbers_as_strings=strings)))
    report = sync_catalog("genai-prices", url=server.url + GENAI_PATH, today=DAY)
    before, after = date(2026, 10, 1), date(2026, 11, 2)
    old = _cost("anthropic:claude-nova-5", at=before, input_tokens=1000, output_tokens=1000)
    assert old.total == Decimal("0.018")
    tiered = _cost("anthropic:claude-nova-5", at=before, input_tokens=200_001)
    assert (tiered.prompt_tier, tiered.total) == ("above 200000", Decimal("1.200006"))
    new = _cost("anthropic:claude-nova-5", at=after, input_tokens=1000, output_tokens=1000)
    assert new.total == Decimal("0.0132")
    searches = _cost("anthropic:claude-nova-5", at=after, web_searches=3)
    assert searches.total == Decimal("0.03")
    batch = costbook.price(Usage(input_tokens=1000, output_tokens=1000),
                           "anthropic:claude-nova-5", service_tier="batch", at=after)
    assert batch.total == Decimal("0.0066")
    with pytest.raises(costbook.PricingError):  # batch rates are stated from 2026-11-01 on
        costbook.price(Usage(input_tokens=1000), "anthropic:claude-nova-5",
                       service_tier="batch", at=before)
    retired = catalog().resolve("anthropic:claude-old-1")
    assert retired.deprecated == DAY
    assert "anthropic/claude-voice: no rates costbook can price" in report.skipped
    assert any(n.startswith("price variant route=eu is not a service tier") for n in report.notes)
    # peak and off-peak rates: one set alone would price every hour at one hour's rates
    assert "deepseek/deepseek-v9: its rates depend on the hour of day (peak and off-peak), " \
        "which costbook's tables do not state; not priced" in report.skipped
    with pytest.raises(costbook.UnknownModelError):
        catalog().resolve("deepseek:deepseek-v9")
    assert _cost("deepseek:deepseek-v9-lite", input_tokens=10**6).total == Decimal("0.07")
    model = catalog().resolve("anthropic:claude-nova-5")
    assert model.pricing_url == "https://www.anthropic.com/pricing#api"
    assert model.context_window == 1000000


def test_genai_prices_json_numbers_and_strings_give_the_same_tables(tmp_path):
    from costbook.sources._genai_prices import convert

    as_numbers = convert(json.loads(genai_prices_text(), parse_float=Decimal), DAY)
    as_strings = convert(json.loads(genai_prices_text(True), parse_float=Decimal), DAY)
    assert as_numbers.tables["anthropic"].entries == as_strings.tables["anthropic"].entries


def test_a_genai_prices_file_of_the_wrong_shape_is_refused(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps({"providers": "none"}), encoding="utf-8")
    with pytest.raises(SyncError, match="expected genai-prices' data: a JSON list of providers"):
        sync_catalog("genai-prices", from_file=path)


# -- models.dev --------------------------------------------------------------------------------


def test_models_dev_rates_tiers_limits_and_new_providers(server):
    server.serve(MODELS_DEV_PATH, Reply(json.dumps(models_dev())))
    report = sync_catalog("models.dev", url=server.url + MODELS_DEV_PATH, today=DAY)
    model = catalog().resolve("openai:gpt-9-mini")
    assert (model.context_window, model.max_output_tokens) == (400000, 128000)
    assert _cost("openai:gpt-9-mini", input_tokens=10**5).total == Decimal("0.012")
    assert _cost("openai:gpt-9-mini", input_tokens=200_001).prompt_tier == "above 200000"
    assert "openai/gpt-9-free: every rate is 0 (free, or included in a plan); not priced at " \
        "$0" in report.skipped
    gateway = catalog().provider("acme-gateway")
    assert gateway.resells and gateway.name == "Acme Gateway"
    assert catalog().resolve("acme-gateway:acme/acme-large").deprecated == DAY


# -- precedence --------------------------------------------------------------------------------


def test_the_newer_check_wins_per_model_unless_the_user_orders_the_sources(
        server, monkeypatch, tables):
    server.serve(LITELLM_PATH, Reply(litellm()))
    server.serve(MODELS_DEV_PATH, Reply(json.dumps(models_dev())))
    sync_catalog("models.dev", url=server.url + MODELS_DEV_PATH, today=date(2026, 12, 1))
    sync_catalog("litellm", url=server.url + LITELLM_PATH, today=DAY)
    reset()
    model = catalog().resolve("openai:gpt-9-mini")
    assert model.rates_at(DAY).per_million("input") == Decimal("0.11")
    assert source_label(model.source) == "litellm (synced)"
    monkeypatch.setenv("COSTBOOK_SOURCES", "models.dev,litellm")
    reset()
    model = catalog().resolve("openai:gpt-9-mini")
    assert model.rates_at(DAY).per_million("input") == Decimal("0.12")
    assert source_label(model.source) == "models.dev (synced)"
    monkeypatch.delenv("COSTBOOK_SOURCES")
    (tables / "catalogs" / "sources.json").write_text('{"order": ["models.dev"]}', encoding="utf-8")
    reset()
    assert catalog().resolve("openai:gpt-9-mini").rates_at(DAY).per_million("input") == \
        Decimal("0.12")
    monkeypatch.setenv("COSTBOOK_SOURCES", "litellm,openrouter")
    reset()
    with pytest.raises(costbook.PricingError, match="unknown source 'openrouter'"):
        catalog()


def test_the_users_own_tables_win_over_synced_ones_and_synced_over_bundled(
        server, tmp_path, monkeypatch):
    bundled = catalog().resolve("openai:gpt-4o-mini")
    assert source_label(bundled.source) == "bundled"
    data = json.loads(litellm())
    data["gpt-4o-mini"] = {"litellm_provider": "openai", "input_cost_per_token": 1.7e-07,
                           "output_cost_per_token": 6e-07}
    server.serve(LITELLM_PATH, Reply(json.dumps(data)))
    sync_catalog("litellm", url=server.url + LITELLM_PATH, today=DAY)
    synced = catalog().resolve("openai:gpt-4o-mini")
    assert synced.rates_at(DAY).per_million("input") == Decimal("0.17")
    assert synced.aliases == bundled.aliases  # the bundled spellings still resolve
    own = tmp_path / "own.yaml"
    own.write_text("provider: openai\nmodels:\n  - id: gpt-4o-mini\n    prices:\n"
                   "      - {input: 0.19, output: 0.6}\n", encoding="utf-8")
    monkeypatch.setenv("COSTBOOK_PRICING_PATH", str(own))
    reset()
    assert catalog().resolve("openai:gpt-4o-mini").rates_at(DAY).per_million("input") == \
        Decimal("0.19")


# -- hostile files ------------------------------------------------------------------------------

_WEIRD = [None, 1, -1, "x", [], {}, [1], {"a": 1}, True, Decimal("1e-90"), "1e5"]


def _mutate(value: object, rnd: random.Random) -> None:
    if isinstance(value, dict) and value:
        key = rnd.choice(list(value))
        if rnd.random() < 0.5:
            value[key] = rnd.choice(_WEIRD)
        else:
            _mutate(value[key], rnd)
    elif isinstance(value, list) and value:
        index = rnd.randrange(len(value))
        if rnd.random() < 0.5:
            value[index] = rnd.choice(_WEIRD)
        else:
            _mutate(value[index], rnd)


@pytest.mark.parametrize("name", ["genai-prices", "litellm", "models.dev"])
def test_a_field_of_the_wrong_shape_skips_the_model_or_refuses_the_file(name):
    from costbook.sources._public_sources import catalog_source

    convert = catalog_source(name).convert
    base = {"genai-prices": lambda: json.loads(genai_prices_text(), parse_float=Decimal),
            "litellm": lambda: json.loads(litellm(), parse_float=Decimal),
            "models.dev": lambda: json.loads(json.dumps(models_dev()), parse_float=Decimal)}
    rnd = random.Random(24)
    outcomes = {"converted": 0, "refused": 0}
    for _ in range(400):
        data = base[name]()
        for _ in range(rnd.randint(1, 3)):
            _mutate(data, rnd)
        try:
            converted = convert(data, DAY)
        except SyncError as exc:
            assert "\n" not in str(exc)
            outcomes["refused"] += 1
            continue
        assert all("\n" not in reason for reason in converted.skipped())
        outcomes["converted"] += 1
    assert outcomes["converted"] > 50


def test_check_leaves_out_a_rate_the_catalog_does_not_state(tables, tmp_path):
    # the bundled claude-haiku-4-5 has a per-search fee; LiteLLM's map lists none for it
    from costbook import catalog

    assert catalog().resolve("claude-haiku-4-5").rates_at(DAY).per_web_search is not None
    data = tmp_path / "model_prices_and_context_window.json"
    data.write_text(json.dumps({"claude-haiku-4-5": {
        "litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 1e-06,
        "output_cost_per_token": 5e-06, "cache_read_input_token_cost": 1e-07,
        "cache_creation_input_token_cost": 1.25e-06,
        "cache_creation_input_token_cost_above_1hr": 2e-06}}))
    report = sync_catalog("litellm", from_file=data, check=True, today=DAY)
    assert report.ok
    assert [(p.provider, p.changed, p.unchanged) for p in report.providers] == [
        ("anthropic", [], 1)]
