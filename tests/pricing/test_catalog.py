from datetime import date
from decimal import Decimal

import pytest

import costbook
from costbook import PricingError, UnknownModelError, UnknownProviderError, Usage, price
from costbook.pricing._catalog import catalog, reset
from costbook.pricing._check import check_tables
from table_factory import catalog_of, model_entry, table_data, write_one_model_table, write_yaml


@pytest.mark.parametrize(
    ("ref", "provider", "expected"),
    [
        ("gpt-4o-mini", None, "openai:gpt-4o-mini"),
        ("openai/gpt-4o-mini", None, "openai:gpt-4o-mini"),
        ("gpt-4o-mini-2024-07-18", None, "openai:gpt-4o-mini"),
        ("GPT-4o-mini", None, "openai:gpt-4o-mini"),
        ("requesty:openai/gpt-4o-mini", None, "requesty:openai/gpt-4o-mini"),
        ("openrouter:openai/gpt-4o-mini", None, "openrouter:openai/gpt-4o-mini"),
        ("openai/gpt-4o-mini", "requesty", "requesty:openai/gpt-4o-mini"),
        ("gpt-4o-mini", "openrouter", "openrouter:openai/gpt-4o-mini"),
        ("openai/gpt-4o-mini", "openai", "openai:gpt-4o-mini"),
        ("openai/gpt-4o-mini-2024-07-18", "requesty", "requesty:openai/gpt-4o-mini"),
    ],
)
def test_refs_resolve(ref, provider, expected):
    assert catalog().resolve(ref, provider).ref == expected


def test_unqualified_ref_goes_to_the_makers_own_price():
    cost = costbook.estimate("openai/gpt-4o-mini", input_tokens=1_000_000,
                             cache_read_tokens=1_000_000)
    assert cost.provider == "openai"


def test_unknown_model_lists_close_refs():
    with pytest.raises(UnknownModelError) as info:
        catalog().resolve("gpt-4o-mnii")
    assert isinstance(info.value, LookupError)
    assert "unknown model 'gpt-4o-mnii'" in str(info.value)
    assert "gpt-4o-mini" in info.value.suggestions
    assert len(info.value.suggestions) <= 5


def test_unknown_model_at_a_provider_suggests_that_providers_refs():
    with pytest.raises(UnknownModelError, match=r"at provider 'requesty'; closest known: openai/gpt-4o-mini"):
        catalog().resolve("openai/gpt-4o-mimi", "requesty")


def test_unknown_provider_lists_known_ones():
    with pytest.raises(UnknownProviderError, match=r"unknown provider 'nope'; known providers: .*openai.*requesty"):
        catalog().resolve("gpt-4o-mini", "nope")


def test_qualified_ref_and_another_provider_conflict():
    with pytest.raises(PricingError, match="names provider 'requesty' but provider='openai'"):
        catalog().resolve("requesty:openai/gpt-4o-mini", "openai")


@pytest.mark.parametrize("ref", ["", "   "])
def test_empty_ref(ref):
    with pytest.raises(UnknownModelError, match="non-empty string"):
        catalog().resolve(ref)


def test_model_sold_only_by_routers_resolves_when_unique():
    tables = catalog_of(
        table_data("router-a", model_entry(id="meta/llama-9")),
        table_data("router-b", model_entry(id="meta/other")),
    )
    assert tables.resolve("meta/llama-9").ref == "router-a:meta/llama-9"


def test_model_sold_by_several_routers_and_not_its_maker_is_ambiguous():
    tables = catalog_of(
        table_data("router-a", model_entry(id="meta/llama-9")),
        table_data("router-b", model_entry(id="meta/llama-9")),
    )
    with pytest.raises(UnknownModelError, match="router-a:meta/llama-9, router-b:meta/llama-9"):
        tables.resolve("meta/llama-9")


def test_ids_with_colons_are_not_mistaken_for_qualified_refs():
    tables = catalog_of(table_data("router-a", model_entry(id="meta/llama-9:free")))
    assert tables.resolve("meta/llama-9:free").id == "meta/llama-9:free"
    assert tables.resolve("router-a:meta/llama-9:free").id == "meta/llama-9:free"


def test_sellers_finds_the_same_model_everywhere():
    refs = [m.ref for m in catalog().sellers("gpt-4o-mini")]
    assert {"openai:gpt-4o-mini", "openrouter:openai/gpt-4o-mini",
            "requesty:openai/gpt-4o-mini"} <= set(refs)


def test_compare_is_cheapest_first():
    from costbook.pricing._compare import compare

    usage = costbook.Usage(input_tokens=1_000_000, cache_read_tokens=1_000_000)
    costs = [c for c in compare("gpt-4o-mini", usage) if isinstance(c, costbook.Cost)]
    providers = [c.provider for c in costs]
    assert providers.index("requesty") < providers.index("openai")
    assert [c.total for c in costs] == sorted(c.total for c in costs)


def test_load_adds_and_overrides_tables(tmp_path):
    write_yaml(tmp_path / "mine.yaml", """
provider: requesty
name: Requesty (negotiated)
pricing_url: https://example.com/contract
models:
  - id: openai/gpt-4o-mini
    context_window: 128000
    max_output_tokens: 16384
    tokenizer: o200k_base
    pricing_url: https://example.com/contract
    checked: 2026-01-01
    prices:
      - {effective: 2024-01-01, input: 0.10, output: 0.40}
  - id: acme/private-ft
    context_window: 8000
    max_output_tokens: 1000
    tokenizer: o200k_base
    pricing_url: https://example.com/contract
    checked: 2026-01-01
    prices:
      - {effective: 2024-01-01, input: 1, output: 1}
""")
    try:
        costbook.load(tmp_path)
        cost = costbook.estimate("requesty:openai/gpt-4o-mini", input_tokens=1_000_000)
        assert cost.total == Decimal("0.10")
        model = catalog().resolve("openai/gpt-4o-mini", "requesty")
        assert model.source.endswith("mine.yaml")
        assert catalog().resolve("acme/private-ft").ref == "requesty:acme/private-ft"
        # the bundled models of other providers are still there
        assert costbook.estimate("gpt-4o-mini", input_tokens=1_000_000).total == Decimal("0.15")
    finally:
        reset()
    assert costbook.estimate("requesty:openai/gpt-4o-mini", input_tokens=1_000_000).total == Decimal("0.15")


def test_load_of_a_bad_table_raises_and_keeps_the_previous_tables(tmp_path):
    write_yaml(tmp_path / "bad.yaml", "provider: x\nname: X\npricing_url: https://x\nmodels: [{id: m}]\n")
    try:
        with pytest.raises(PricingError, match=r"bad\.yaml: model m: a model gives its prices, or follows another with same_as"):
            costbook.load(tmp_path / "bad.yaml")
        assert catalog().resolve("gpt-4o-mini").ref == "openai:gpt-4o-mini"
    finally:
        reset()


def test_pricing_path_environment_variable(tmp_path, monkeypatch):
    write_one_model_table(tmp_path / "acme.yaml", provider="acme", model="acme-1",
                          input_rate="3", output_rate="4", tokenizer="approximate")
    monkeypatch.setenv("COSTBOOK_PRICING_PATH", str(tmp_path))
    reset()
    try:
        assert costbook.estimate("acme-1", output_tokens=1_000_000).total == Decimal("4")
    finally:
        monkeypatch.delenv("COSTBOOK_PRICING_PATH")
        reset()


# --- refs as providers spell them -------------------------------------------------------

@pytest.mark.parametrize(
    ("ref", "provider", "expected"),
    [
        # OpenRouter's answers: dated, family last, routing suffixes
        ("anthropic/claude-4.6-sonnet-20260217", "openrouter", "openrouter:anthropic/claude-sonnet-4.6"),
        ("anthropic/claude-4.5-sonnet-20250929", "openrouter", "openrouter:anthropic/claude-sonnet-4.5"),
        ("openai/gpt-5-mini-2025-08-07", "openrouter", "openrouter:openai/gpt-5-mini"),
        ("openai/gpt-4o-mini:nitro", "openrouter", "openrouter:openai/gpt-4o-mini"),
        ("openai/gpt-4o-mini:floor", "openrouter", "openrouter:openai/gpt-4o-mini"),
        ("openai/gpt-4o-mini:online", "openrouter", "openrouter:openai/gpt-4o-mini"),
        # Bedrock: geographic prefixes and bare ids are the regional price, global its own
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock",
         "bedrock:regional.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock",
         "bedrock:regional.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock",
         "bedrock:global.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("eu.amazon.nova-lite-v1:0", "bedrock", "bedrock:amazon.nova-lite-v1:0"),
        # Vertex @ versions, -latest aliases
        ("claude-sonnet-4-5@20250929", "vertex", "vertex:claude-sonnet-4-5@20250929"),
        ("claude-3-5-haiku-latest", None, "anthropic:claude-3-5-haiku-20241022"),
        ("mistral-large-latest", None, "mistral:mistral-large-latest"),
        # the models a new user asked for
        ("gemini-2.5-pro", None, "google:gemini-2.5-pro"),
        ("deepseek-chat", None, "deepseek:deepseek-chat"),
        ("llama-3.3-70b-versatile", "groq", "groq:llama-3.3-70b-versatile"),
        ("gpt-4o", "azure", "azure:gpt-4o"),
    ],
)
def test_refs_as_providers_and_sdks_spell_them(ref, provider, expected):
    assert catalog().resolve(ref, provider).ref == expected


@pytest.mark.parametrize(
    ("alias", "provider"),
    [("aws", "bedrock"), ("x-ai", "xai"), ("gemini", "google"), ("together_ai", "together"),
     ("moonshotai", "moonshot"), ("vertex_ai", "vertex"), ("GEMINI", "google"),
     ("OpenRouter", "openrouter")],
)
def test_provider_aliases_and_case(alias, provider):
    assert catalog().provider(alias).id == provider
    assert costbook.estimate(f"{alias}:{_model_of(provider)}", input_tokens=1).provider == provider


def _model_of(provider):
    return {"bedrock": "amazon.nova-lite-v1:0", "xai": "grok-4", "google": "gemini-2.5-pro",
            "together": "meta-llama/Llama-3.3-70B-Instruct-Turbo", "moonshot": "kimi-k2",
            "vertex": "claude-sonnet-4-5@20250929", "openrouter": "openai/gpt-4o-mini"}[provider]


def test_an_unqualified_ref_resolves_at_the_maker_before_resellers():
    # GitHub Copilot, Azure and others resell gpt-4o-mini under the same id
    assert catalog().resolve("gpt-4o-mini").ref == "openai:gpt-4o-mini"
    assert catalog().provider("github-copilot").resells


# --- routers that follow their upstream ----------------------------------------------------

def test_a_router_entry_follows_its_upstream_and_overrides_what_it_lists_differently():
    tables = catalog_of(
        table_data("maker", model_entry(id="m-1", aliases=[], prices=[
            {"effective": "2025-01-01", "input": "1", "output": "4", "cache_read": "0.1"},
            {"effective": "2025-06-01", "input": "2", "output": "8", "cache_read": "0.2"}],
            service_tiers={"batch": [{"effective": "2025-01-01", "input": "1", "output": "4"}]})),
        {**table_data("router", {"id": "maker/m-1", "same_as": "maker:m-1",
                                 "overrides": {"cache_read": "0.15"}}), "resells": True},
    )
    model = tables.resolve("router:maker/m-1")
    assert model.same_as == "maker:m-1"
    assert model.context_window == 1000 and model.tokenizer == "o200k_base"  # from upstream
    usage = Usage(input_tokens=1_000_000, cache_read_tokens=1_000_000)
    assert price(usage, model, at=date(2025, 3, 1)).items == {"cache_read": Decimal("0.15")}
    assert price(usage, model).items == {"cache_read": Decimal("0.15")}
    assert price(Usage(input_tokens=1_000_000), model, at=date(2025, 3, 1)).total == 1
    assert price(Usage(input_tokens=1_000_000), model).total == 2
    assert price(Usage(input_tokens=1_000_000), model, service_tier="batch").total == 1


def test_requesty_resells_makers_models_at_their_price_keeping_its_own_cache_read():
    seed = catalog().resolve("requesty:openai/gpt-4o-mini")
    assert seed.price_sets[-1].per_million("cache_read") == Decimal("0.07")
    follower = catalog().resolve("requesty:anthropic/claude-sonnet-4-5")
    assert follower.same_as == "anthropic:claude-sonnet-4-5-20250929"
    usage = Usage(input_tokens=300_000, output_tokens=1000)
    assert price(usage, follower).total == price(usage, "anthropic:claude-sonnet-4-5").total


def test_check_fails_on_a_same_as_that_does_not_resolve(tmp_path):
    write_yaml(tmp_path / "r.yaml", "provider: r\nmodels:\n"
               "  - {id: x/y, same_as: 'nobody:nothing'}\n")
    report = check_tables([tmp_path])
    assert len(report.problems) == 1
    assert "model x/y: same_as 'nobody:nothing' does not resolve" in report.problems[0]


# --- a user's own table needs little --------------------------------------------------------

def test_a_minimal_user_table_prices_with_defaults_that_never_under_price(tmp_path):
    write_yaml(tmp_path / "mine.yaml", "provider: mine\nmodels:\n"
               "  - id: tiny\n    prices: [{input: 1, output: 2}]\n")
    try:
        costbook.load(tmp_path / "mine.yaml")
        usage = Usage(input_tokens=1_000_000, cache_read_tokens=500_000,
                      output_tokens=1_000_000, reasoning_tokens=400_000)
        cost = price(usage, "mine:tiny")
        # cache reads at the input rate, reasoning at the output rate
        assert cost.items == {"input": Decimal("0.5"), "cache_read": Decimal("0.5"),
                              "output": Decimal("2")}
        with pytest.raises(PricingError, match="no cache_write rate"):
            price(Usage(input_tokens=10, cache_write_tokens=10), "mine:tiny")
        estimate = costbook.estimate_request({"model": "mine:tiny",
                                              "messages": [{"role": "user", "content": "hi"}]})
        assert not estimate.exact
        assert any("no max output tokens or context window" in a for a in estimate.approximations)
    finally:
        reset()


def _hosts():
    llama = "meta-llama/llama-3.3-70b-instruct"
    return catalog_of(
        table_data("groq", model_entry(id="llama-3.3-70b-versatile", aliases=[],
                                       canonical=llama)),
        table_data("cerebras", model_entry(id="llama3.3-70b", aliases=[], canonical=llama)),
        table_data("deepinfra", model_entry(id="meta-llama/Llama-3.3-70B-Instruct", aliases=[],
                                            canonical=llama)),
        table_data("together", model_entry(id="meta-llama/Llama-3.3-70B-Instruct", aliases=[])),
        table_data("other", model_entry(id="llama-3.1-8b", aliases=[])),
    )


@pytest.mark.parametrize("ref", [
    "llama3.3-70b", "cerebras:llama3.3-70b", "llama-3.3-70b-versatile",
    "meta-llama/llama-3.3-70b-instruct", "META-LLAMA/Llama-3.3-70B-Instruct",
])
def test_every_host_of_an_open_model_is_found_from_any_hosts_spelling(ref):
    found = [m.ref for m in _hosts().sellers(ref)]
    assert found == ["cerebras:llama3.3-70b", "deepinfra:meta-llama/Llama-3.3-70B-Instruct",
                     "groq:llama-3.3-70b-versatile", "together:meta-llama/Llama-3.3-70B-Instruct"]


def test_an_id_keeps_the_providers_spelling_and_resolves_in_any_case():
    tables = _hosts()
    model = tables.resolve("deepinfra:meta-llama/llama-3.3-70b-instruct")
    assert model.id == "meta-llama/Llama-3.3-70B-Instruct"
    assert tables.resolve("deepinfra:META-LLAMA/LLAMA-3.3-70B-INSTRUCT") is model


def test_a_ref_sold_by_several_hosts_is_still_ambiguous_for_price_but_not_for_sellers():
    tables = _hosts()
    with pytest.raises(UnknownModelError, match="sold by several providers"):
        tables.resolve("meta-llama/Llama-3.3-70B-Instruct")
    assert len(tables.sellers("meta-llama/Llama-3.3-70B-Instruct")) == 4


@pytest.mark.parametrize(("ref", "total"), [
    # OpenAI's fine-tuned rates per 1M input + 1M output tokens
    ("ft:gpt-4o-mini-2024-07-18:acme::abc123", "1.5"),
    ("ft:gpt-4o-mini-2024-07-18:acme:support-bot:abc123", "1.5"),
    ("openai:ft:gpt-3.5-turbo-0125:acme::xyz", "9"),
    ("ft:gpt-3.5-turbo-1106:acme::xyz", "9"),
    ("ft:gpt-4o-2024-08-06:acme::x1", "18.75"),
    ("gpt-4o-mini-2024-07-18.ft-0123abcd", "1.5"),
])
def test_openai_fine_tune_refs_price_at_the_bases_fine_tuned_rates(ref, total):
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert price(usage, ref, at=date(2026, 12, 1)).total == Decimal(total)
    assert catalog().resolve(ref).id.startswith("ft:")


def test_match_fragments_are_not_ids():
    ids = {m.id for m in catalog().models_of("openai")}
    assert not {i for i in ids if i.endswith(("-", "."))}
