from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import costbook
from costbook import PricingError, Usage, estimate, price
from costbook.pricing._calculator import price_with
from table_factory import catalog_of, model_entry, table_data

D = Decimal


# --- every figure of the seed pages -------------------------------------------------------

@pytest.mark.parametrize(
    ("input_tokens", "output_tokens", "total"),
    [(100_000, 10_000, "0.021"), (1_000_000, 100_000, "0.21"), (10_000_000, 1_000_000, "2.10")],
)
def test_requesty_documented_estimates(input_tokens, output_tokens, total):
    cost = estimate("openai/gpt-4o-mini", provider="requesty",
                    input_tokens=input_tokens, output_tokens=output_tokens)
    assert cost.total == D(total)
    assert cost.provider == "requesty"
    assert cost.model == "openai/gpt-4o-mini"
    assert cost.currency == "USD"


def test_requesty_total_is_exactly_0_021():
    cost = estimate("openai/gpt-4o-mini", provider="requesty",
                    input_tokens=100_000, output_tokens=10_000)
    assert cost.total == Decimal("0.021")
    assert str(cost.total) == "0.021"
    assert cost.items == {"input": D("0.015"), "output": D("0.006")}


@pytest.mark.parametrize(
    ("part", "rate"),
    [("input_tokens", "0.15"), ("output_tokens", "0.60"),
     ("cache_read_tokens", "0.07"), ("cache_write_tokens", "0.15")],
)
def test_requesty_rates_per_million(part, rate):
    usage = {part: 1_000_000}
    if part.startswith("cache"):
        usage["input_tokens"] = 1_000_000
    assert estimate("requesty:openai/gpt-4o-mini", **usage).total == D(rate)


@pytest.mark.parametrize(
    ("usage", "total"),
    [({"input_tokens": 1_000_000}, "0.15"), ({"output_tokens": 1_000_000}, "0.6"),
     ({"images": 1000}, "0.217"), ({"images": 1}, "0.000217")],
)
def test_openrouter_rates(usage, total):
    cost = estimate("openai/gpt-4o-mini", provider="openrouter", **usage)
    assert cost.total == D(total)
    assert cost.provider == "openrouter"


@pytest.mark.parametrize(
    ("usage", "total"),
    [({"input_tokens": 1_000_000}, "0.15"),
     ({"input_tokens": 1_000_000, "cache_read_tokens": 1_000_000}, "0.075"),
     ({"output_tokens": 1_000_000}, "0.60")],
)
def test_openai_rates(usage, total):
    cost = estimate("gpt-4o-mini", **usage)
    assert cost.total == D(total)
    assert cost.provider == "openai"


@pytest.mark.parametrize(
    ("provider", "context", "max_output"),
    [("openai", 128_000, 16_384), ("openrouter", 128_000, 16_384), ("requesty", 128_000, 16_384)],
)
def test_context_window_and_max_output(provider, context, max_output):
    model = costbook.catalog().resolve("gpt-4o-mini", provider)
    assert (model.context_window, model.max_output_tokens) == (context, max_output)


def test_requesty_and_openai_differ_on_cache_reads():
    usage = Usage(input_tokens=1_000_000, cache_read_tokens=1_000_000)
    assert price(usage, "gpt-4o-mini", provider="requesty").total == D("0.07")
    assert price(usage, "gpt-4o-mini").total == D("0.075")


# --- exactness, items and errors -------------------------------------------------------------

def test_rates_never_pass_through_float():
    cost = estimate("gpt-4o-mini", input_tokens=1)
    assert cost.total == D("0.00000015")
    assert str(cost.total.normalize()) == "1.5E-7"


def test_cache_parts_priced_at_their_rates():
    cost = estimate("requesty:openai/gpt-4o-mini", input_tokens=1_000, cache_read_tokens=600,
                    cache_write_tokens=300, output_tokens=10)
    assert cost.items == {
        "input": D("0.000015"), "cache_read": D("0.000042"),
        "cache_write": D("0.000045"), "output": D("0.000006"),
    }
    assert cost.total == D("0.000108")


def test_reasoning_billed_as_output_when_the_table_says_so():
    with_reasoning = estimate("gpt-4o-mini", output_tokens=1000, reasoning_tokens=800)
    without = estimate("gpt-4o-mini", output_tokens=1000)
    assert with_reasoning.total == without.total == D("0.0006")


def _tiny(**price_changes):
    prices = {"effective": "2025-01-01", "input": "1", "output": "2", **price_changes}
    return catalog_of(table_data("acme", model_entry(prices=[prices]))).resolve("tiny-1")


def test_a_part_without_a_rate_is_an_error_naming_part_and_model():
    model = _tiny()
    with pytest.raises(PricingError, match=r"acme:tiny-1 has no cache_write rate, so 5 cache_write_tokens"):
        price_with(Usage(input_tokens=10, cache_write_tokens=5), model, model.rates_at())
    with pytest.raises(PricingError, match=r"acme:tiny-1 has no audio_input rate"):
        price_with(Usage(input_tokens=10, audio_input_tokens=5), model, model.rates_at())
    with pytest.raises(PricingError, match=r"acme:tiny-1 has no per_web_search rate"):
        price_with(Usage(web_searches=2), model, model.rates_at())


def test_defaults_never_under_price_cache_reads_and_reasoning():
    """Without their own rates, cache reads bill as input and reasoning as output."""
    model = _tiny()
    cost = price_with(Usage(input_tokens=1_000_000, cache_read_tokens=400_000,
                            output_tokens=1_000_000, reasoning_tokens=300_000),
                      model, model.rates_at())
    assert cost.items == {"input": D("0.6"), "cache_read": D("0.4"), "output": D("2")}
    assert cost.total == D("3")


def test_images_on_a_model_without_image_input_are_an_error():
    model = _tiny()
    with pytest.raises(PricingError, match=r"acme:tiny-1 takes no image input, but the usage has 2 images"):
        price_with(Usage(images=2), model, model.rates_at())


def test_own_reasoning_rate_splits_output():
    model = _tiny(reasoning="3")
    cost = price_with(Usage(output_tokens=1_000_000, reasoning_tokens=400_000), model,
                      model.rates_at())
    assert cost.items == {"output": D("1.2"), "reasoning": D("1.2")}
    assert cost.total == D("2.4")


def test_one_hour_cache_writes_have_their_own_rate():
    model = _tiny(cache_write="1.25", cache_write_1h="2", cache_read="0.1")
    usage = Usage(input_tokens=3_000_000, cache_write_tokens=2_000_000,
                  cache_write_1h_tokens=1_000_000, cache_read_tokens=1_000_000)
    cost = price_with(usage, model, model.rates_at())
    assert cost.items == {"cache_read": D("0.1"), "cache_write": D("1.25"),
                          "cache_write_1h": D("2")}


def test_per_request_rate():
    model = _tiny(per_request="0.005")
    cost = price_with(Usage(input_tokens=1_000_000, requests=1), model, model.rates_at())
    assert cost.items["request"] == D("0.005")
    assert cost.total == D("1.005")


def test_price_rejects_a_non_usage():
    with pytest.raises(TypeError, match=r"costbook\.Usage"):
        price({"input_tokens": 3}, "gpt-4o-mini")  # type: ignore[arg-type]


# --- price history ----------------------------------------------------------------------------

def _history():
    entry = model_entry(prices=[
        {"effective": "2025-01-01", "input": "10", "output": "40"},
        {"effective": "2025-06-10", "input": "2", "output": "8"},
    ])
    return catalog_of(table_data("acme", entry)).resolve("tiny-1")


@pytest.mark.parametrize(
    ("at", "total"),
    [(date(2025, 6, 9), "50"), (date(2025, 6, 10), "10"), (date(2030, 1, 1), "10"),
     (datetime(2025, 6, 9, 23, 59), "50"),
     (datetime(2025, 6, 10, 1, 0, tzinfo=timezone(timedelta(hours=3))), "50"),
     (datetime(2025, 6, 10, 0, 0, tzinfo=timezone.utc), "10")],
)
def test_a_later_price_set_wins_from_its_date_on(at, total):
    model = _history()
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    cost = price(usage, model, at=at)
    assert cost.total == D(total)


def test_before_the_first_price_set_there_is_no_price():
    with pytest.raises(PricingError, match=r"no price in force on 2024-12-31; its first prices took effect on 2025-01-01"):
        price(Usage(input_tokens=1), _history(), at=date(2024, 12, 31))


def test_cost_carries_the_effective_date():
    assert price(Usage(input_tokens=1), _history(), at=date(2025, 7, 1)).effective == date(2025, 6, 10)


# --- properties ---------------------------------------------------------------------------------

counts = st.integers(min_value=0, max_value=10**9)


@st.composite
def usages(draw):
    cache_read = draw(counts)
    cache_write = draw(counts)
    cache_1h = draw(st.integers(0, cache_write))
    input_tokens = cache_read + cache_write + draw(counts)
    reasoning = draw(counts)
    output_tokens = reasoning + draw(counts)
    return Usage(input_tokens=input_tokens, output_tokens=output_tokens,
                 cache_read_tokens=cache_read, cache_write_tokens=cache_write,
                 cache_write_1h_tokens=cache_1h, reasoning_tokens=reasoning,
                 images=draw(st.integers(0, 10_000)))


_PROPERTY_MODEL = _tiny(cache_read="0.07", cache_write="0.15", cache_write_1h="0.3",
                        reasoning="2.5", per_image="0.000217")
_IMAGE_MODEL = catalog_of(table_data("acme", model_entry(
    images={"billing": "per_image"},
    prices=[{"effective": "2025-01-01", "input": "0.15", "output": "0.6", "cache_read": "0.07",
             "cache_write": "0.15", "cache_write_1h": "0.3", "reasoning": "2.5",
             "per_image": "0.000217"}],
))).resolve("tiny-1")


@settings(max_examples=200, deadline=None)
@given(usages())
def test_items_sum_to_the_total(usage):
    cost = price(usage, _IMAGE_MODEL)
    assert sum(cost.items.values(), D(0)) == cost.total


@settings(max_examples=200, deadline=None)
@given(usages(), st.integers(min_value=0, max_value=1000))
def test_cost_is_linear_in_the_usage(usage, k):
    scaled = Usage(**{name: value * k for name, value in usage.as_dict().items()
                      if name != "requests"}, requests=0)
    base = Usage(**{**usage.as_dict(), "requests": 0})
    assert price(scaled, _IMAGE_MODEL).total == price(base, _IMAGE_MODEL).total * k


@settings(max_examples=200, deadline=None)
@given(usages(), usages())
def test_cost_is_additive_over_usages(a, b):
    assert price(a + b, _IMAGE_MODEL).total == price(a, _IMAGE_MODEL).total + price(b, _IMAGE_MODEL).total


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["input_tokens", "output_tokens", "images"]), counts, counts)
def test_each_part_is_linear(part, m, n):
    def cost(count):
        return price(Usage(**{part: count}, requests=0), _IMAGE_MODEL).total

    assert cost(m + n) == cost(m) + cost(n)


@pytest.mark.parametrize("ref", ["gpt-4o-mini", "claude-sonnet-4-5", "requesty:openai/gpt-4o-mini"])
def test_images_counted_for_a_model_that_bills_them_as_tokens_are_refused(ref):
    with pytest.raises(PricingError) as caught:
        costbook.estimate(ref, input_tokens=1000, images=3)
    message = str(caught.value)
    assert "bills input images as input tokens" in message
    assert "costbook.image_tokens(width, height, " in message
    assert "--image WxH" in message


def test_images_of_a_model_that_bills_per_image_are_priced():
    cost = costbook.estimate("openrouter:openai/gpt-4o-mini", input_tokens=1000, images=3)
    assert cost.items["image"] == Decimal("0.000651")


# --- prompt-size tiers ---------------------------------------------------------------------

def _tiered(threshold_key="above", **extra):
    prices = {"effective": "2025-01-01", "input": "1", "output": "2", "cache_read": "0.1",
              "tiers": [{threshold_key: 200_000, "input": "2", "output": "3"}], **extra}
    return catalog_of(table_data("acme", model_entry(prices=[prices]))).resolve("tiny-1")


def test_a_prompt_past_the_threshold_bills_the_whole_request_at_the_tier():
    model = _tiered()
    base = price_with(Usage(input_tokens=200_000, output_tokens=1000), model, model.rates_at())
    assert (base.total, base.prompt_tier) == (D("0.202"), None)
    past = price_with(Usage(input_tokens=200_001, output_tokens=1000), model, model.rates_at())
    # every input and output token at the tier's rates, not just the ones past 200K
    assert past.items == {"input": D("0.400002"), "output": D("0.003")}
    assert past.prompt_tier == "above 200000"


def test_at_or_above_includes_the_threshold_itself():
    model = _tiered("at_or_above")
    cost = price_with(Usage(input_tokens=200_000), model, model.rates_at())
    assert (cost.total, cost.prompt_tier) == (D("0.4"), "at or above 200000")


def test_cache_parts_count_toward_the_prompt_and_unlisted_rates_keep_the_base():
    model = _tiered()
    usage = Usage(input_tokens=250_000, cache_read_tokens=200_000, output_tokens=10)
    cost = price_with(usage, model, model.rates_at())
    # 50K uncached at the tier's 2, 200K cache reads at the base 0.1 (the tier lists none)
    assert cost.items == {"input": D("0.1"), "cache_read": D("0.02"), "output": D("0.00003")}
    assert cost.prompt_tier == "above 200000"


def test_bundled_long_context_tiers():
    long = Usage(input_tokens=300_000, output_tokens=10_000)
    sonnet = price(long, "claude-sonnet-4-5")
    assert (sonnet.total, sonnet.prompt_tier) == (D("2.025"), "above 200000")
    assert price(long, "claude-sonnet-4", at=date(2025, 8, 1)).prompt_tier is None
    assert price(long, "claude-sonnet-4", at=date(2025, 8, 12)).total == D("2.025")
    gpt = price(long, "gpt-5.4")
    assert (gpt.total, gpt.prompt_tier) == (D("1.725"), "above 272000")
    gemini = price(long, "gemini-2.5-pro")
    assert gemini.prompt_tier == "above 200000"
    assert gemini.total == price(long, "gemini-2.5-pro", provider="google").total


# --- service tiers ------------------------------------------------------------------------

def _tiers_model():
    entry = model_entry(service_tiers={
        "batch": [{"effective": "2025-01-01", "input": "0.5", "output": "1"}],
        "priority": [{"effective": "2025-06-01", "input": "2", "output": "4"}],
    })
    return catalog_of(table_data("acme", entry)).resolve("tiny-1")


def test_a_service_tier_prices_at_its_own_rates_and_dates():
    model = _tiers_model()
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert price(usage, model).total == D("3")
    batch = price(usage, model, service_tier="batch")
    assert (batch.total, batch.service_tier) == (D("1.5"), "batch")
    assert price(usage, model, service_tier="standard").service_tier == "standard"
    assert price(usage, model, service_tier="priority", at=date(2025, 6, 1)).total == D("6")
    with pytest.raises(PricingError, match="no price in force on 2025-05-31 at service tier"):
        price(usage, model, service_tier="priority", at=date(2025, 5, 31))


def test_a_service_tier_the_model_lacks_lists_the_ones_it_has():
    with pytest.raises(PricingError) as caught:
        price(Usage(input_tokens=1), _tiers_model(), service_tier="flex")
    assert str(caught.value) == (
        "acme:tiny-1 has no service tier 'flex'; it has standard, batch, priority")


def test_estimate_takes_a_service_tier():
    cost = estimate("gpt-4o-mini", input_tokens=1_000_000, output_tokens=1_000_000,
                    service_tier="batch")
    assert (cost.total, cost.service_tier) == (D("0.375"), "batch")


# --- per-unit fees and audio ----------------------------------------------------------------

def test_web_searches_are_priced_per_search():
    model = catalog_of(table_data("acme", model_entry(
        prices=[{"effective": "2025-01-01", "input": "1", "output": "2",
                 "per_web_search": "0.01"}]))).resolve("tiny-1")
    cost = price_with(Usage(input_tokens=1000, web_searches=3), model, model.rates_at())
    assert cost.items == {"input": D("0.001"), "web_search": D("0.03")}
    assert price(Usage(web_searches=1000), "claude-sonnet-4-5").total == D("10")


def test_audio_tokens_have_their_own_rates():
    model = catalog_of(table_data("acme", model_entry(
        prices=[{"effective": "2025-01-01", "input": "4", "output": "16", "cache_read": "0.4",
                 "audio_input": "32", "audio_output": "64", "audio_cache_read": "0.4"}]
    ))).resolve("tiny-1")
    usage = Usage(input_tokens=1_000_000, audio_input_tokens=400_000,
                  audio_cache_read_tokens=100_000, cache_read_tokens=300_000,
                  output_tokens=1_000_000, audio_output_tokens=250_000)
    cost = price_with(usage, model, model.rates_at())
    assert cost.items == {
        "input": D("1.6"),  # 400K text tokens neither cached nor audio
        "cache_read": D("0.08"),  # 200K cached text
        "audio_input": D("9.6"),  # 300K uncached audio
        "audio_cache_read": D("0.04"),  # 100K cached audio
        "output": D("12"),  # 750K text
        "audio_output": D("16"),
    }


def test_a_table_without_a_cache_read_discount_says_so():
    model = catalog_of(table_data("acme", model_entry(
        prices=[{"effective": "2025-01-01", "input": "1", "output": "2",
                 "billed_as": {"cache_read": "input"}}]))).resolve("tiny-1")
    cost = price_with(Usage(input_tokens=1000, cache_read_tokens=600), model, model.rates_at())
    assert cost.items == {"input": D("0.0004"), "cache_read": D("0.0006")}


def test_a_free_model_states_its_zero_rates():
    cost = price(Usage(input_tokens=1000, output_tokens=1000),
                 "openrouter:meta-llama/llama-3.3-70b-instruct:free")
    assert cost.total == 0 and cost.items == {"input": 0, "output": 0}
