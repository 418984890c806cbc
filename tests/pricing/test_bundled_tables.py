"""The tables that ship with costbook: they load, they are coherent, and the models people
ask for resolve and price exactly."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from decimal import Decimal

import pytest

import costbook
from costbook import Usage
from costbook.pricing._bundle import bundled_pricing_dir
from costbook.pricing._calculator import price_with
from costbook.pricing._catalog import Catalog, catalog
from costbook.pricing._check import check_tables
from costbook.pricing._tables import read_table, table_files
from table_factory import REPO_PRICING, table_generator

BUNDLED = sorted(table_files([REPO_PRICING]))
TOKENIZERS = {"o200k_base", "cl100k_base", "claude", "approximate"}


def _bundled_catalog() -> Catalog:
    return Catalog((read_table(f), str(f)) for f in BUNDLED)


@pytest.mark.parametrize("path", BUNDLED, ids=[p.name for p in BUNDLED])
def test_every_bundled_table_loads(path):
    table = read_table(path)
    assert table.provider == path.stem
    assert table.models


# The providers users call most, each with a table of its own.
PROVIDERS = [
    "openai", "anthropic", "google", "vertex", "bedrock", "azure", "mistral", "deepseek",
    "xai", "groq", "together", "fireworks", "cohere", "perplexity", "cerebras", "moonshot",
    "zai", "minimax", "alibaba", "deepinfra", "novita", "openrouter", "requesty",
]


def test_every_provider_has_its_own_table_named_after_it():
    stems = [p.stem for p in BUNDLED]
    assert set(PROVIDERS) <= set(stems)
    for path in BUNDLED:
        assert read_table(path).provider == path.stem


def test_the_catalog_holds_at_least_1500_models():
    models = _bundled_catalog().models
    assert len(models) >= 1500
    assert len({m.provider for m in models}) >= len(PROVIDERS)


def test_costbook_check_passes_on_the_bundled_tables():
    report = check_tables([bundled_pricing_dir()])
    assert report.problems == []
    assert report.files == len(BUNDLED)
    assert report.models >= 1500


def test_every_model_has_rates_and_room_for_its_output():
    for model in _bundled_catalog().models:
        assert model.tokenizer in (*TOKENIZERS, None), model.ref
        if model.context_window is not None and model.max_output_tokens is not None:
            assert model.context_window >= model.max_output_tokens, model.ref
        assert model.price_sets or model.included, model.ref


def test_claude_models_count_with_the_claude_tokenizer_and_openai_models_with_tiktoken():
    for model in _bundled_catalog().models:
        name = model.id.rsplit("/", 1)[-1]
        if name.startswith("claude"):
            assert model.tokenizer == "claude", model.ref
        elif name.startswith(("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4")):
            assert model.tokenizer == "o200k_base", model.ref
        elif name.startswith(("gpt-4", "gpt-3.5")):
            assert model.tokenizer == "cl100k_base", model.ref


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("gpt-4o", "openai:gpt-4o"),
        ("gpt-4o-2024-11-20", "openai:gpt-4o"),
        ("gpt-4o-2024-08-06", "openai:gpt-4o"),
        ("gpt-4o-2024-05-13", "openai:gpt-4o-2024-05-13"),
        ("openai/gpt-4o", "openai:gpt-4o"),
        ("gpt-4.1", "openai:gpt-4.1"),
        ("gpt-4.1-mini-2025-04-14", "openai:gpt-4.1-mini"),
        ("gpt-4.1-nano", "openai:gpt-4.1-nano"),
        ("o1", "openai:o1"),
        ("o1-mini", "openai:o1-mini"),
        ("o1-pro", "openai:o1-pro"),
        ("o3", "openai:o3"),
        ("o3-2025-04-16", "openai:o3"),
        ("o3-mini", "openai:o3-mini"),
        ("o3-pro", "openai:o3-pro"),
        ("o4-mini", "openai:o4-mini"),
        ("gpt-5", "openai:gpt-5"),
        ("gpt-5-2025-08-07", "openai:gpt-5"),
        ("gpt-5-mini", "openai:gpt-5-mini"),
        ("gpt-5-nano", "openai:gpt-5-nano"),
        ("gpt-5-chat-latest", "openai:gpt-5-chat-latest"),
        ("gpt-5.2", "openai:gpt-5.2"),
        ("gpt-4-turbo", "openai:gpt-4-turbo"),
        ("gpt-4", "openai:gpt-4"),
        ("gpt-3.5-turbo", "openai:gpt-3.5-turbo"),
        ("claude-3-haiku-20240307", "anthropic:claude-3-haiku-20240307"),
        ("claude-3-opus-latest", "anthropic:claude-3-opus-20240229"),
        ("claude-3-5-haiku-latest", "anthropic:claude-3-5-haiku-20241022"),
        ("claude-3-5-sonnet-latest", "anthropic:claude-3-5-sonnet-20241022"),
        ("claude-3-5-sonnet-20240620", "anthropic:claude-3-5-sonnet-20240620"),
        ("claude-3-7-sonnet-latest", "anthropic:claude-3-7-sonnet-20250219"),
        ("claude-sonnet-4-20250514", "anthropic:claude-sonnet-4-20250514"),
        ("claude-sonnet-4-0", "anthropic:claude-sonnet-4-20250514"),
        ("claude-opus-4-0", "anthropic:claude-opus-4-20250514"),
        ("claude-opus-4-1", "anthropic:claude-opus-4-1-20250805"),
        ("claude-sonnet-4-5", "anthropic:claude-sonnet-4-5-20250929"),
        ("claude-haiku-4-5", "anthropic:claude-haiku-4-5-20251001"),
        ("claude-opus-4-5", "anthropic:claude-opus-4-5-20251101"),
        ("anthropic/claude-3.5-sonnet", "anthropic:claude-3-5-sonnet-20241022"),
        ("anthropic/claude-3.7-sonnet", "anthropic:claude-3-7-sonnet-20250219"),
        ("anthropic/claude-sonnet-4", "anthropic:claude-sonnet-4-20250514"),
        ("anthropic/claude-sonnet-4.5", "anthropic:claude-sonnet-4-5-20250929"),
        ("anthropic/claude-opus-4.1", "anthropic:claude-opus-4-1-20250805"),
        ("anthropic/claude-haiku-4.5", "anthropic:claude-haiku-4-5-20251001"),
        ("openrouter:anthropic/claude-3.5-sonnet", "openrouter:anthropic/claude-3.5-sonnet"),
        ("openrouter:openai/gpt-4o-2024-11-20", "openrouter:openai/gpt-4o"),
        # Bedrock model ids of every maker, as Bedrock's API takes them, bill in region
        ("bedrock:minimax.minimax-m2.5", "bedrock:regional.minimax.minimax-m2.5"),
        ("bedrock:moonshotai.kimi-k2.5", "bedrock:regional.moonshotai.kimi-k2.5"),
        ("bedrock:nvidia.nemotron-nano-12b-v2", "bedrock:regional.nvidia.nemotron-nano-12b-v2"),
        ("bedrock:zai.glm-5", "bedrock:regional.zai.glm-5"),
        ("bedrock:writer.palmyra-vision-7b", "bedrock:regional.writer.palmyra-vision-7b"),
        ("bedrock:in.moonshotai.kimi-k3.1", "bedrock:regional.moonshotai.kimi-k3.1"),
        ("bedrock:anthropic.claude-opus-4-6-v1", "bedrock:regional.anthropic.claude-opus-4-6-v1:0"),
        ("bedrock:global.anthropic.claude-opus-4-6-v1", "bedrock:global.anthropic.claude-opus-4-6-v1:0"),
        ("bedrock:us.xai.grok-4.7", "bedrock:regional.xai.grok-4.7"),
        ("bedrock:global.xai.grok-4.7", "bedrock:global.xai.grok-4.7"),
        ("vertex:xai/grok-4.7", "vertex:xai/grok-4.7"),
        ("vertex:meta/llama-4-maverick-17b-16e-instruct-maas",
         "vertex:meta/llama-4-maverick-17b-16e-instruct-maas"),
        ("vertex:jamba-1.5-large@001", "vertex:jamba-1.5-large"),
        # makers' newest flagships that only LiteLLM prices, at the maker's own API
        ("volcengine:doubao-seed-2-1-pro-260915", "volcengine:doubao-seed-2-1-pro-260915"),
        ("cognition:swe-1.7", "cognition:swe-1.7"),
    ],
)
def test_model_refs_resolve(ref, expected):
    assert catalog().resolve(ref).ref == expected


def test_a_maker_model_resolves_at_openrouter_under_its_openrouter_id():
    assert catalog().resolve("claude-3.5-sonnet", "openrouter").ref == (
        "openrouter:anthropic/claude-3.5-sonnet"
    )
    assert catalog().resolve("o4-mini", "openrouter").ref == "openrouter:openai/o4-mini"


def test_o3_price_history_changes_on_2025_06_10():
    before = costbook.estimate("o3", input_tokens=12_345, output_tokens=6_789, at=date(2025, 6, 9))
    after = costbook.estimate("o3", input_tokens=12_345, output_tokens=6_789, at=date(2025, 6, 10))
    assert before.total == Decimal("0.39501")  # 12,345 x $10/M + 6,789 x $40/M
    assert after.total == Decimal("0.079002")  # 12,345 x $2/M + 6,789 x $8/M
    assert before.effective == date(2025, 4, 16)
    assert after.effective == date(2025, 6, 10)


def test_o3_cached_input_at_its_launch_rate_and_after_the_cut():
    usage = costbook.Usage(input_tokens=100_000, cache_read_tokens=40_000, output_tokens=0)
    assert costbook.price(usage, "o3", at=date(2025, 5, 1)).items == {
        "input": Decimal("0.6"),  # 60,000 x $10/M
        "cache_read": Decimal("0.1"),  # 40,000 x $2.50/M
    }
    assert costbook.price(usage, "o3", at=date(2025, 7, 1)).total == Decimal("0.14")


def test_anthropic_one_hour_and_five_minute_cache_writes_have_their_own_rates():
    usage = costbook.Usage(
        input_tokens=10_000,
        cache_read_tokens=2_000,
        cache_write_tokens=3_000,
        cache_write_1h_tokens=1_000,
        output_tokens=500,
    )
    cost = costbook.price(usage, "claude-sonnet-4-5")
    assert cost.provider == "anthropic"
    assert cost.items == {
        "input": Decimal("0.015"),  # 5,000 uncached x $3/M
        "cache_read": Decimal("0.0006"),  # 2,000 x $0.30/M
        "cache_write": Decimal("0.0075"),  # 2,000 five-minute x $3.75/M
        "cache_write_1h": Decimal("0.006"),  # 1,000 one-hour x $6/M
        "output": Decimal("0.0075"),  # 500 x $15/M
    }
    assert cost.total == Decimal("0.0366")


@pytest.mark.parametrize(
    ("ref", "five_minute", "one_hour", "read"),
    [
        ("claude-3-haiku", "0.3", "0.5", "0.03"),
        ("claude-3-opus", "18.75", "30", "1.5"),
        ("claude-3-5-haiku", "1", "1.6", "0.08"),
        ("claude-3-5-sonnet", "3.75", "6", "0.3"),
        ("claude-3-7-sonnet", "3.75", "6", "0.3"),
        ("claude-sonnet-4", "3.75", "6", "0.3"),
        ("claude-opus-4", "18.75", "30", "1.5"),
        ("claude-opus-4-1", "18.75", "30", "1.5"),
        ("claude-haiku-4-5", "1.25", "2", "0.1"),
        ("claude-opus-4-5", "6.25", "10", "0.5"),
    ],
)
def test_anthropic_cache_rates_follow_the_documented_multipliers(ref, five_minute, one_hour, read):
    rates = catalog().resolve(ref).rates_at(date(2026, 8, 21))
    base = rates.per_million("input")
    assert base is not None
    assert rates.per_million("cache_write") == Decimal(five_minute)
    assert rates.per_million("cache_write_1h") == Decimal(one_hour) == base * 2
    assert rates.per_million("cache_read") == Decimal(read)
    if ref != "claude-3-haiku":  # Haiku 3's listed $0.30 write and $0.03 read are rounded up
        assert rates.per_million("cache_write") == base * Decimal("1.25")
        assert rates.per_million("cache_read") == base / 10


@pytest.mark.parametrize(
    "ref",
    ["claude-3-5-haiku", "claude-3-7-sonnet", "claude-sonnet-4", "claude-opus-4-1",
     "claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-5", "claude-opus-4-6",
     "claude-sonnet-4-6", "claude-opus-4-7"],
)
def test_claude_web_searches_cost_ten_dollars_a_thousand(ref):
    cost = costbook.price(Usage(input_tokens=1000, web_searches=3), ref, provider="anthropic")
    assert cost.items["web_search"] == Decimal("0.03")


def test_openai_bills_reasoning_as_output_and_cache_writes_as_input():
    usage = costbook.Usage(
        input_tokens=1_000_000, cache_write_tokens=200_000, output_tokens=300_000,
        reasoning_tokens=250_000,
    )
    cost = costbook.price(usage, "o4-mini")
    assert cost.items == {
        "input": Decimal("0.88"),  # 800,000 uncached x $1.10/M
        "cache_write": Decimal("0.22"),  # 200,000 written, billed at the input rate
        "output": Decimal("1.32"),  # 300,000 x $4.40/M, the 250,000 reasoning included
    }
    assert cost.total == Decimal("2.42")


def test_a_model_without_cached_input_bills_cached_tokens_as_input():
    usage = costbook.Usage(input_tokens=1_000_000, cache_read_tokens=400_000)
    cost = costbook.price(usage, "gpt-4o-2024-05-13")
    assert cost.items == {"input": Decimal("3"), "cache_read": Decimal("2")}
    assert cost.total == Decimal("5")


def test_gpt_5_6_bills_cache_writes_at_their_own_rate_after_the_price_cut():
    usage = costbook.Usage(input_tokens=200_000, cache_write_tokens=200_000)
    assert costbook.price(usage, "gpt-5.6-terra", at=date(2026, 7, 29)).total == Decimal("0.625")
    assert costbook.price(usage, "gpt-5.6-terra", at=date(2026, 7, 30)).total == Decimal("0.5")
    # past 272K input tokens the whole prompt is billed at the long-context tier
    long = costbook.price(costbook.Usage(input_tokens=300_000, cache_write_tokens=300_000),
                          "gpt-5.6-terra", at=date(2026, 7, 30))
    assert (long.total, long.prompt_tier) == (Decimal("1.5"), "above 272000")


def test_image_rules_of_the_openai_models():
    def rule(ref):
        images = catalog().resolve(ref).images
        if images is None:
            return None
        found = {"billing": images.billing, "tokens": dataclasses.asdict(images.tokens)}
        found["tokens"] = {"method": found["tokens"].pop("method"), **found["tokens"]}
        return found

    assert rule("gpt-4o") == {
        "billing": "tokens",
        "tokens": {"method": "tiles", "base_tokens": 85, "tile_tokens": 170},
    }
    assert rule("o3")["tokens"] == {"method": "tiles", "base_tokens": 75, "tile_tokens": 150}
    assert rule("gpt-5")["tokens"] == {"method": "tiles", "base_tokens": 70, "tile_tokens": 140}
    assert rule("gpt-4.1-mini")["tokens"] == {
        "method": "patches", "multiplier": Decimal("1.62"), "max_patches": 1536}
    assert rule("o4-mini")["tokens"]["multiplier"] == Decimal("1.72")
    assert rule("gpt-4.1-nano")["tokens"]["multiplier"] == Decimal("2.46")
    assert rule("o3-mini") is None
    assert rule("gpt-3.5-turbo") is None
    assert rule("claude-sonnet-4")["tokens"]["pixels_per_token"] == 750


def test_openrouter_anthropic_models_have_no_one_hour_cache_write_rate():
    usage = costbook.Usage(input_tokens=10_000, cache_write_tokens=1_000, cache_write_1h_tokens=1_000)
    with pytest.raises(costbook.PricingError, match="no cache_write_1h rate"):
        costbook.price(usage, "openrouter:anthropic/claude-sonnet-4")


def test_the_compiled_bundle_prices_as_the_yaml_tables(tmp_path):
    """The JSON an installed package reads says what pricing/*.yaml says."""
    from costbook.pricing._bundle import MANIFEST, compile_tables
    from costbook.pricing._provider_tables import PendingTable, Provider
    from costbook.pricing._tables import read_table_data

    written = compile_tables(REPO_PRICING, tmp_path)
    assert tmp_path / MANIFEST in written
    index = json.loads((tmp_path / MANIFEST).read_text())
    pending = [
        PendingTable(Provider(e["provider"], e["name"], e["pricing_url"], tuple(e["api_hosts"]),
                              e["file"], tuple(e["aliases"])),
                     lambda path=tmp_path / e["file"]: json.loads(path.read_text()))
        for e in index["providers"]
    ]
    compiled = Catalog(pending)
    yaml_tables = Catalog((read_table_data(f), str(f)) for f in BUNDLED)
    assert [m.ref for m in compiled.models] == [m.ref for m in yaml_tables.models]
    usage = Usage(input_tokens=300_000, cache_read_tokens=100_000, output_tokens=20_000)
    for model in yaml_tables.models:
        twin = compiled.resolve(model.ref)
        for rates, twin_rates in zip(model.price_sets, twin.price_sets, strict=True):
            assert rates.per_million_tokens == twin_rates.per_million_tokens
            assert rates.per_unit == twin_rates.per_unit
            assert _priced(usage, model, rates) == _priced(usage, twin, twin_rates)


def _priced(usage, model, rates):
    """The cost, or the message of the PricingError (an embedding model has no output)."""
    try:
        return price_with(usage, model, rates)
    except costbook.PricingError as exc:
        return str(exc)


def test_an_installed_bundle_is_compiled_from_these_tables(tmp_path):
    """When costbook runs from an installed wheel, its compiled tables match this tree."""
    from costbook.pricing._bundle import MANIFEST, compile_tables

    installed = bundled_pricing_dir()
    if not (installed / MANIFEST).is_file():
        pytest.skip("costbook runs from its source tree here: it reads pricing/*.yaml itself")
    compile_tables(REPO_PRICING, tmp_path)
    for path in sorted(tmp_path.glob("*.json")):
        assert json.loads((installed / path.name).read_text()) == json.loads(path.read_text()), (
            f"the installed {path.name} is stale: reinstall costbook from this tree"
        )


# --- invariants over every entry ------------------------------------------------------------


def _parts(model):
    """Every compiled rate set of a model: price sets, service tiers, windows and tiers."""
    for sets in (model.price_sets, *model.service_tiers.values()):
        for rates in sets:
            yield rates
            yield from (w for _, w in rates.windows)
            yield from (t for _, t in rates.tiers)


def test_no_zero_rate_unless_the_entry_says_it_is_free():
    wrong = []
    for model in _bundled_catalog().models:
        for rates in _parts(model):
            rate = rates.per_million_tokens
            # an output rate of 0 with a paid input is an embedding model (no output billed)
            if rate.get("input") == 0 and model.billing != "free" and not rates.per_request:
                wrong.append(model.ref)
    assert not sorted(set(wrong))


def test_cache_reads_cost_no_more_than_input_unless_noted():
    wrong = {model.ref for model in _bundled_catalog().models for r in _parts(model)
             if r.per_million_tokens.get("cache_read", 0) > r.per_million_tokens.get("input", 0)
             and not model.note}
    assert not sorted(wrong)


def test_every_reseller_of_a_tiered_model_bills_the_tier_or_notes_why():
    """A prompt-size tier the maker bills (Claude's long context, Gemini's 200K) is billed
    by every provider that sells the model, or the entry's note says why not."""
    from costbook.pricing._catalog import canonical_key

    tables = _bundled_catalog()
    tiered = {}
    for model in tables.models:
        if model.provider in ("anthropic", "google", "openai") and model.price_sets \
                and model.price_sets[-1].tiers:
            for name in (model.id, *model.aliases):
                tiered[canonical_key(f"{model.provider}/{name}")] = model.ref
    missing = []
    for model in tables.models:
        if model.provider in ("anthropic", "google", "openai") or not model.price_sets:
            continue
        key = model.canonical or (model.id if "/" in model.id else None)
        maker = tiered.get(canonical_key(key)) if key else None
        if maker and not model.price_sets[-1].tiers and not model.note:
            missing.append(f"{model.ref} (the maker's {maker} has prompt-size tiers)")
    assert not missing, "\n".join(missing)
    assert len(tiered) > 10


LONG_CLAUDE = Usage(input_tokens=300_000, output_tokens=5_000)


def test_a_long_claude_prompt_costs_the_same_at_azure_bedrock_and_vertex():
    from costbook.pricing._compare import compare

    rows = compare("claude-sonnet-4-5", LONG_CLAUDE, include_retired=True)
    totals = {(r.provider, r.model): r.total for r in rows if isinstance(r, costbook.Cost)}
    assert totals[("anthropic", "claude-sonnet-4-5-20250929")] == Decimal("1.9125")
    assert totals[("azure", "claude-sonnet-4-5")] == Decimal("1.9125")
    assert totals[("vertex", "claude-sonnet-4-5")] == totals[("vertex", "claude-sonnet-4-5@20250929")]
    assert totals[("bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0")] == Decimal("1.9125")
    # Bedrock's in-region rates are 10% above, tier included
    assert totals[("bedrock", "regional.anthropic.claude-sonnet-4-5-20250929-v1:0")] == Decimal(
        "2.10375")


@pytest.mark.parametrize("ref", ["claude-sonnet-4-5", "gpt-4o-mini", "gpt-4.1", "gemini-2.5-pro",
                                 "llama-3.3-70b", "deepseek/deepseek-v4-pro", "kimi-k2"])
def test_no_retired_model_in_compare_unless_asked(ref):
    from costbook.pricing._compare import compare

    try:
        rows = compare(ref, Usage(input_tokens=1000, output_tokens=100), include_retired=True)
    except costbook.UnknownModelError:
        pytest.skip(f"{ref} is not in the tables")
    retired = {(r.provider, r.model) for r in rows
               if isinstance(r, costbook.Cost) and r.note and "retired" in r.note}
    current = compare(ref, Usage(input_tokens=1000, output_tokens=100))
    assert not retired & {(r.provider, r.model) for r in current}
    assert len(current) + len(retired) == len(rows)


def test_plan_included_models_are_never_a_zero_price_in_compare():
    from costbook.pricing._compare import Unpriced, compare

    for ref in ("gpt-4.1", "gpt-4o", "gpt-4o-mini"):
        rows = compare(ref, Usage(input_tokens=1_000_000, output_tokens=1_000_000))
        costs = [r for r in rows if isinstance(r, costbook.Cost)]
        assert all(c.total > 0 for c in costs), ref
        assert rows[-1] == Unpriced("github-copilot", ref,
                                    "included in a github-copilot plan: no per-token price")


@pytest.mark.parametrize("provider", ["openai", "azure", "google", "deepseek", "xai"])
def test_cache_writes_bill_as_input_where_the_provider_charges_no_write_fee(provider):
    usage = Usage(input_tokens=10_000, cache_write_tokens=4_000, output_tokens=100)
    refused = []
    priced = 0
    for model in _bundled_catalog().models_of(provider):
        if model.included or "claude" in model.id or not model.has_price_at(None):
            continue
        rates = model.rates_at()
        if "input" not in rates.per_token or "output" not in rates.per_token:
            continue
        try:
            cost = price_with(usage, model, rates)
        except costbook.PricingError as exc:
            refused.append(str(exc))
            continue
        priced += 1
        if "cache_write" in cost.items and "cache_write" not in rates.stated_per_million:
            raise AssertionError(f"{model.ref}: cache writes priced by a default")
    assert not refused, "\n".join(refused[:10])
    assert priced > 10


GEN = table_generator()
WRITES = Usage(input_tokens=10_000, cache_write_tokens=4_000, output_tokens=100)


def _cache_write_refusals(models) -> tuple[list[str], int]:
    """The models that refuse a usage with cache writes (at their current rates, and in
    every service tier), and how many had token rates to try; a write without a rate of
    its own costs what the same tokens cost as input."""
    refused, tried = [], 0
    as_input = Usage(input_tokens=WRITES.input_tokens + WRITES.cache_write_tokens,
                     output_tokens=WRITES.output_tokens)
    for model in models:
        if model.included or "claude" in model.id.lower() or not model.has_price_at(None):
            continue
        for tier in [None, *model.service_tiers]:
            rates = model.rates_at(None, tier)
            if "input" not in rates.per_token or "output" not in rates.per_token:
                continue
            tried += 1
            try:
                cost = price_with(WRITES, model, rates)
            except costbook.PricingError as exc:
                refused.append(f"{model.ref} ({tier or 'standard'}): {exc}")
                continue
            if "cache_write" not in rates.stated_per_million:
                assert cost.total == price_with(as_input, model, rates).total, model.ref
    return refused, tried


@pytest.mark.parametrize("provider", sorted(GEN.NO_CACHE_WRITE_FEE))
def test_no_entry_of_a_provider_without_a_write_fee_refuses_a_cache_write(provider):
    models = _bundled_catalog().models_of(provider)
    refused, tried = _cache_write_refusals(models)
    assert not refused, "\n".join(refused[:10])
    assert tried > 0 or provider == "openai-decisions"  # its one model bills input only


@pytest.mark.parametrize("maker", sorted(GEN.NO_CACHE_WRITE_FEE_MAKERS - {"xai"}))
def test_routers_bill_cache_writes_as_input_for_a_maker_without_a_write_fee(maker):
    models = [m for m in _bundled_catalog().models_of("openrouter")
              if m.id.lower().startswith(f"{maker}/")]
    refused, tried = _cache_write_refusals(models)
    assert not refused, "\n".join(refused[:10])
    assert tried > 0


@pytest.mark.parametrize("provider", sorted(GEN.NO_CACHE_WRITE_FEE_MODELS))
def test_models_without_a_write_fee_at_a_cloud_bill_cache_writes_as_input(provider):
    rules = GEN.NO_CACHE_WRITE_FEE_MODELS[provider]
    models = [m for m in _bundled_catalog().models_of(provider) if any(
        pattern.search(m.id) and not (uncached_only and "cache_read" in m.rates_at().stated_per_million)
        for pattern, uncached_only in rules)]
    refused, tried = _cache_write_refusals(models)
    assert not refused, "\n".join(refused[:10])
    assert tried > 0


@pytest.mark.parametrize("ref", [
    "anthropic:claude-2",  # Anthropic bills writes at 1.25x input; the table has no rate
    "bedrock:regional.anthropic.claude-3-haiku-20240307-v1:0",
    "vertex:claude-3-haiku@20240307",
    "bedrock:amazon.nova-pro-v1:0",  # Bedrock may bill Nova's writes above input
    "alibaba:qwen3-max",  # explicit cache creation at 125% of input
    "openrouter:qwen/qwen3-max",
])
def test_a_cache_write_is_refused_where_a_write_fee_exists_and_the_table_lacks_it(ref):
    with pytest.raises(costbook.PricingError, match="cache_write"):
        costbook.price(WRITES, ref)


def test_moving_aliases_price_as_billed_on_their_date():
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    # DeepSeek V3 (peak hours) until DeepSeek V4's release on 2026-04-24, then V4 Flash,
    # and after the name's retirement on 2026-07-24, V4.1 Flash off-peak on a Saturday
    assert costbook.price(usage, "deepseek-chat", at=datetime(2026, 4, 23, 12, 0)).total == \
        Decimal("1.37")
    assert costbook.price(usage, "deepseek-chat", at=datetime(2026, 6, 1, 12, 0)).total == \
        Decimal("0.42")
    assert costbook.price(usage, "deepseek-reasoner", at=datetime(2026, 4, 24, 12, 0)).total == \
        Decimal("0.42")
    retired = costbook.price(usage, "deepseek-chat", at=datetime(2026, 12, 5, 12, 0))
    assert retired.total == Decimal("0.75")
    assert "retired" in (retired.note or "")
    assert costbook.price(usage, "mistral-large-latest", at=date(2025, 6, 1)).total == 8
    assert costbook.price(usage, "mistral-large-latest", at=date(2026, 6, 1)).total == 2
    assert costbook.catalog().resolve("mistral-medium-3").id == "mistral-medium-3-1"


def test_generated_rates_carry_no_float_noise():
    noisy = [m.ref for m in _bundled_catalog().models for r in _parts(m)
             for v in r.stated_per_million.values() if len(v.normalize().as_tuple().digits) > 10]
    assert not noisy
