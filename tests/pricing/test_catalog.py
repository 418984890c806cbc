from decimal import Decimal

import pytest

import costbook
from costbook import PricingError, UnknownModelError, UnknownProviderError
from costbook.pricing._catalog import catalog, reset
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
    costs = compare("gpt-4o-mini", usage)
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
