"""Cross-check: every model costbook shares with genai-prices 0.2.3 costs the same there.

genai-prices' data (``../shared/reference/genai-prices-0.2.3-data.json``, beside the clone)
is priced here by its own rules: rates per million tokens or per thousand units, a
prompt-size tier applying to the whole request once its input passes the tier's start,
price variants (batch, flex, priority, fast) overriding the standard rates key by key.
Each shared model is priced at fixed usages, standard and at every service tier, and the
totals are compared exactly. Every difference is listed in ``KNOWN`` with the reason
costbook's table is right; a listed difference that no longer occurs fails too.

Two rules differ on purpose and are not compared: genai-prices bills a part without a
rate as nothing (output tokens of an embedding model) or at the input rate (a cache write
without a cache-write rate), where costbook refuses to price it rather than guess low.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costbook import PricingError, UnknownModelError, Usage
from costbook.pricing._calculator import price_with
from costbook.pricing._catalog import catalog
from costbook.pricing._model import Model

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
GENAI = REFERENCE / "genai-prices-0.2.3-data.json"
DAY = date(2026, 11, 22)

if not GENAI.is_file():
    pytest.skip(
        f"reference price data not found at {GENAI} (it sits beside the clone in the "
        "development workspace; a user's clone has none)",
        allow_module_level=True,
    )

# genai-prices provider ids that costbook spells otherwise
PROVIDER = {"aws": "bedrock", "x-ai": "xai", "moonshotai": "moonshot"}
VARIANTS = {("processing", "batch"): "batch", ("service_tier", "flex"): "flex",
            ("service_tier", "priority"): "priority", ("service_tier", "fast"): "fast",
            ("speed", "fast"): "fast"}
PRICED = {"input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok",
          "web_searches_kcount", "requests_kcount", "cache_write_1h_mtok",
          "input_audio_mtok", "output_audio_mtok", "cache_audio_read_mtok",
          "output_reasoning_mtok", "storage_searches_kcount"}

PLAIN = Usage(input_tokens=100_000, output_tokens=10_000)
CACHED = Usage(input_tokens=100_000, cache_read_tokens=40_000, cache_write_tokens=10_000,
               output_tokens=10_000)
LONG = Usage(input_tokens=300_000, cache_read_tokens=100_000, output_tokens=10_000)

# (costbook ref, usage, service tier) -> why costbook's table is right
KNOWN: dict[tuple[str, str, str], str] = {
    ("anthropic:claude-sonnet-4-20250514", "LONG", "standard"): (
        "Anthropic's page bills Sonnet 4's 1M-context beta (from 2025-08-12) above 200K input "
        "tokens at 2x input and cache rates, 1.5x output; genai-prices lists no tier for it"
    ),
    ("openrouter:openai/gpt-4.1-nano", "LONG", "standard"): (
        "OpenRouter charges OpenAI's rates, and OpenAI's page lists gpt-4.1-nano's cached "
        "input at 0.025; genai-prices' OpenRouter entry says 0.03"
    ),
}


def _genai_models() -> Iterator[tuple[str, dict[str, Any]]]:
    for provider in json.loads(GENAI.read_text(encoding="utf-8"), parse_float=Decimal):
        ours = PROVIDER.get(provider["id"], provider["id"])
        prefixed = {m["id"].split("/", 1)[1] for m in provider["models"] if "/" in m["id"]}
        for model in provider["models"]:
            if ours == "openrouter" and model["id"] in prefixed:
                continue  # a legacy spelling; the maker/ entry is the model
            if provider["id"] == "google" and model["id"].startswith("claude"):
                yield "vertex", model
            else:
                yield ours, model


def _prices_on(model: dict[str, Any], day: date) -> dict[str, Any]:
    history = model["prices"]
    if isinstance(history, dict):
        return history
    found = history[0]["prices"]
    for conditional in history:
        start = (conditional.get("constraint") or {}).get("start_date")
        if start is None or date.fromisoformat(start) <= day:
            found = conditional["prices"]
    return found


def _variant(model: dict[str, Any], tier: str, day: date) -> dict[str, Any] | None:
    standard = dict(_prices_on(model, day))
    found = False
    for variant in model.get("price_variants") or ():
        when = variant["when"]
        if len(when) != 1 or VARIANTS.get(next(iter(when.items()))) != tier:
            continue
        start = (variant.get("constraint") or {}).get("start_date")
        if start is not None and date.fromisoformat(start) > day:
            continue
        standard.update({k: v for k, v in variant["prices"].items() if v is not None})
        found = True
    return standard if found else None


def _variant_tiers(model: dict[str, Any]) -> set[str]:
    found = set()
    for variant in model.get("price_variants") or ():
        when = variant["when"]
        tier = VARIANTS.get(next(iter(when.items()))) if len(when) == 1 else None
        if tier is not None and variant["prices"]:
            found.add(tier)
    return found


def _rate(value: Any, prompt: int) -> Decimal:
    if isinstance(value, dict):
        rate = Decimal(value["base"])
        for tier in value["tiers"]:
            if prompt > tier["start"]:
                rate = Decimal(tier["price"])
        return rate
    return Decimal(value)


def genai_total(prices: dict[str, Any], usage: Usage) -> Decimal | None:
    """genai-prices' price of ``usage``, or None where it bills a unit costbook does not."""
    if set(prices) - PRICED:
        return None
    if usage.output_tokens and "output_mtok" not in prices:
        return None
    if usage.cache_write_tokens and "cache_write_mtok" not in prices:
        return None
    prompt = usage.input_tokens
    cached = usage.cache_read_tokens if "cache_read_mtok" in prices else 0
    written = usage.cache_write_tokens if "cache_write_mtok" in prices else 0
    counts = {
        "input_mtok": usage.input_tokens - cached - written,
        "cache_read_mtok": cached,
        "cache_write_mtok": written,
        "output_mtok": usage.output_tokens,
        "requests_kcount": usage.requests,
    }
    total = Decimal(0)
    for key, count in counts.items():
        if key in prices and count:
            per = 1000 if key.endswith("kcount") else 1_000_000
            total += _rate(prices[key], prompt) * count / per
    return total


def costbook_total(model: Model, usage: Usage, tier: str) -> Decimal | str:
    try:
        rates = model.rates_at(DAY, tier)
        return price_with(usage, model, rates).total
    except PricingError as exc:
        return f"refused: {exc}"


def _shared() -> list[tuple[str, Model, dict[str, Any]]]:
    tables = catalog()
    found = []
    for provider, data in _genai_models():
        if provider not in tables.providers:
            continue
        try:
            model = tables.resolve(f"{provider}:{data['id']}")
        except (PricingError, UnknownModelError):
            continue
        found.append((model.ref, model, data))
    return found


SHARED = _shared()


def test_most_of_the_reference_is_shared():
    assert len(SHARED) >= 1500


def _cases() -> Iterator[tuple[str, str, str, Model, dict[str, Any]]]:
    for ref, model, data in SHARED:
        for name in ("PLAIN", "CACHED", "LONG"):
            yield ref, name, "standard", model, data
        for tier in sorted(set(model.service_tiers) | _variant_tiers(data)):
            yield ref, "PLAIN", tier, model, data


def _differences() -> dict[tuple[str, str, str], str]:
    usages = {"PLAIN": PLAIN, "CACHED": CACHED, "LONG": LONG}
    found: dict[tuple[str, str, str], str] = {}
    for ref, name, tier, model, data in _cases():
        prices = _prices_on(data, DAY) if tier == "standard" else _variant(data, tier, DAY)
        if prices is None:
            found[(ref, name, tier)] = "genai-prices has no such variant"
            continue
        theirs = genai_total(prices, usages[name])
        if theirs is None:
            continue  # genai-prices bills a unit costbook does not price
        ours = costbook_total(model, usages[name], tier)
        if not isinstance(ours, Decimal) or ours != theirs:
            found[(ref, name, tier)] = f"costbook {ours}, genai-prices {theirs}"
    return found


DIFFERENCES = _differences()


def test_every_difference_from_genai_prices_is_explained():
    unexplained = {case: what for case, what in DIFFERENCES.items() if case not in KNOWN}
    assert not unexplained, "\n".join(f"{c}: {w}" for c, w in sorted(unexplained.items()))


def test_no_listed_difference_is_stale():
    stale = [case for case in KNOWN if case not in DIFFERENCES]
    assert not stale

