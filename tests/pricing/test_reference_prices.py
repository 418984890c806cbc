"""The bundled OpenAI, Anthropic and OpenRouter tables against two public price datasets.

genai-prices (dated 2026-08-21, with price history) and LiteLLM 1.106.2 (a snapshot, USD per
token as floats) are read from ``../shared/reference/`` beside the clone. Every rate the
tables bill today, and every earlier set the references date, must agree with them as exact
Decimals; each intended difference is listed in ``KNOWN`` with its reason, and a listed
difference that no longer occurs fails too.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costbook.pricing._catalog import Catalog
from costbook.pricing._model import Model, Rates
from costbook.pricing._tables import bundled_pricing_dir, read_table, table_files

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
GENAI_FILE = REFERENCE / "genai-prices-2026-08-21-data.json"
LITELLM_FILE = REFERENCE / "litellm-1.106.2-model-prices.json"

if not (GENAI_FILE.is_file() and LITELLM_FILE.is_file()):
    pytest.skip(
        f"reference price data not found in {REFERENCE} (it sits beside the clone in the "
        "development workspace, not in the repository)",
        allow_module_level=True,
    )

PROVIDERS = ("openai", "anthropic", "openrouter")
RATES = ("input", "output", "cache_read", "cache_write", "cache_write_1h")
MILLION = Decimal(1_000_000)

GENAI_RATES = {f"{name}_mtok": name for name in RATES}
# per-search fees of Anthropic's web search tool: a tool charge, not a token rate
GENAI_NOT_TOKEN_RATES = {"web_searches_kcount"}

LITELLM_RATES = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
}
LITELLM_TIER = re.compile(
    r"^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost"
    r"|cache_creation_input_token_cost)_above_\d+k_tokens$"
)

TIERS = (
    "a long-context tier (higher rates above an input size) cannot be expressed by a price "
    "set; the table prices the base tier and says so in a comment"
)
NOT_AT_LITELLM = "LiteLLM 1.106.2 no longer lists this model under its maker"
UNDATED_SNAPSHOT = "the dated snapshot gets its own entry because its rates differ"

# (model ref, reference, what) -> why the tables differ from that reference on purpose
KNOWN: dict[tuple[str, str, str], str] = {
    # genai-prices folds the 2024-05-13 snapshot into gpt-4o; OpenAI's page and LiteLLM
    # price it 5/15 without cached input
    ("openai:gpt-4o-2024-05-13", "genai", "input@today"): UNDATED_SNAPSHOT,
    ("openai:gpt-4o-2024-05-13", "genai", "output@today"): UNDATED_SNAPSHOT,
    ("openai:gpt-4o-2024-05-13", "genai", "cache_read@today"): UNDATED_SNAPSHOT,
    ("openai:o3", "genai", "cache_read@launch"): (
        "genai-prices carries today's 0.5 cache read back into o3's launch set; OpenAI's "
        "launch rate for cached input was 2.5"
    ),
    # context windows: LiteLLM's and OpenAI's exact figures over genai-prices' rounded ones
    ("openai:gpt-4.1", "genai", "context_window"): "OpenAI states 1,047,576 (LiteLLM too)",
    ("openai:gpt-4.1-mini", "genai", "context_window"): "OpenAI states 1,047,576 (LiteLLM too)",
    ("openai:gpt-4.1-nano", "genai", "context_window"): "OpenAI states 1,047,576 (LiteLLM too)",
    ("openai:o1", "genai", "context_window"): (
        "genai-prices gives o1-preview's 128,000; o1 has 200,000 (LiteLLM)"
    ),
    ("openai:gpt-5.5", "genai", "context_window"): (
        "LiteLLM's 1,050,000, the window of the GPT-5.4 and 5.6 families, over 1,000,000"
    ),
    ("openai:gpt-5.5-pro", "genai", "context_window"): (
        "LiteLLM's 1,050,000, the window of the GPT-5.4 and 5.6 families, over 1,000,000"
    ),
    ("openai:gpt-5-chat-latest", "genai", "context_window"): (
        "genai-prices folds gpt-5-chat-latest into gpt-5 (400,000); its own window is "
        "128,000 with 16,384 output (LiteLLM)"
    ),
    ("anthropic:claude-sonnet-4-5-20250929", "genai", "context_window"): (
        "genai-prices counts the 1M beta window; the base-tier price holds up to 200K"
    ),
    ("openrouter:anthropic/claude-sonnet-4.5", "genai", "context_window"): (
        "genai-prices counts the 1M beta window; the base-tier price holds up to 200K"
    ),
    ("anthropic:claude-opus-4-6", "genai", "context_window"): (
        "the whole 1M window is billed flat since 2026-03-13 (LiteLLM: 1,000,000)"
    ),
    # long-context tiers
    ("openai:gpt-5.4", "genai", "tiers@today"): TIERS,
    ("openai:gpt-5.4", "litellm", "tiers"): TIERS,
    ("openai:gpt-5.4-pro", "genai", "tiers@today"): TIERS,
    ("openai:gpt-5.4-pro", "litellm", "tiers"): TIERS,
    ("openai:gpt-5.5", "litellm", "tiers"): TIERS,
    ("openai:gpt-5.5-pro", "litellm", "tiers"): TIERS,
    ("openai:gpt-5.6-luna", "genai", "tiers@launch"): TIERS,
    ("openai:gpt-5.6-luna", "genai", "tiers@today"): TIERS,
    ("openai:gpt-5.6-luna", "litellm", "tiers"): TIERS,
    ("openai:gpt-5.6-terra", "genai", "tiers@launch"): TIERS,
    ("openai:gpt-5.6-terra", "genai", "tiers@today"): TIERS,
    ("openai:gpt-5.6-terra", "litellm", "tiers"): TIERS,
    ("anthropic:claude-sonnet-4-5-20250929", "genai", "tiers@today"): TIERS,
    ("anthropic:claude-opus-4-6", "genai", "tiers@launch"): TIERS,
    ("anthropic:claude-sonnet-4-6", "genai", "tiers@launch"): TIERS,
    ("openrouter:anthropic/claude-sonnet-4.5", "genai", "tiers@today"): TIERS,
    # models LiteLLM dropped: genai-prices alone is the cross-check
    ("openai:o1-mini", "litellm", "absent"): NOT_AT_LITELLM,
    ("anthropic:claude-3-haiku-20240307", "litellm", "absent"): NOT_AT_LITELLM,
    ("anthropic:claude-3-opus-20240229", "litellm", "absent"): NOT_AT_LITELLM,
    ("anthropic:claude-3-5-haiku-20241022", "litellm", "absent"): NOT_AT_LITELLM,
    ("anthropic:claude-3-5-sonnet-20240620", "litellm", "absent"): NOT_AT_LITELLM,
    ("anthropic:claude-3-5-sonnet-20241022", "litellm", "absent"): NOT_AT_LITELLM,
    ("anthropic:claude-3-7-sonnet-20250219", "litellm", "absent"): NOT_AT_LITELLM,
    ("anthropic:claude-sonnet-4-20250514", "litellm", "absent"): NOT_AT_LITELLM,
    ("anthropic:claude-opus-4-20250514", "litellm", "absent"): NOT_AT_LITELLM,
    ("anthropic:claude-opus-4-1-20250805", "litellm", "absent"): NOT_AT_LITELLM,
}


def _today() -> date:
    return datetime.now(timezone.utc).date()


def _bundled_models() -> list[Model]:
    tables = Catalog((read_table(f), str(f)) for f in table_files([bundled_pricing_dir()]))
    return [m for m in tables.models if m.provider in PROVIDERS]


MODELS = _bundled_models()
GENAI: dict[str, list[dict[str, Any]]] = {
    provider["id"]: provider["models"]
    for provider in json.loads(
        GENAI_FILE.read_text(encoding="utf-8"), parse_float=Decimal, parse_int=Decimal
    )
}
LITELLM: dict[str, Any] = json.loads(LITELLM_FILE.read_text(encoding="utf-8"))


def _matches(rule: dict[str, Any], name: str) -> bool:
    if "or" in rule:
        return any(_matches(r, name) for r in rule["or"])
    if "and" in rule:
        return all(_matches(r, name) for r in rule["and"])
    if "equals" in rule:
        return bool(name == rule["equals"])
    if "starts_with" in rule:
        return name.startswith(rule["starts_with"])
    if "contains" in rule:
        return bool(rule["contains"] in name)
    if "regex" in rule:
        return re.search(rule["regex"], name) is not None
    raise AssertionError(f"genai-prices match rule not understood: {rule}")


def _genai_entry(model: Model) -> dict[str, Any] | None:
    for name in (model.id, *model.aliases):
        for entry in GENAI.get(model.provider, []):
            if _matches(entry["match"], name):
                return entry
    return None


def _litellm_entry(model: Model) -> dict[str, Any] | None:
    for name in (model.id, *model.aliases):
        entry = LITELLM.get(name)
        if isinstance(entry, dict) and entry.get("litellm_provider") == model.provider:
            return entry
    return None


def _litellm_rate(value: float) -> Decimal:
    """USD per million tokens from LiteLLM's float, read from its shortest text."""
    return Decimal(repr(value)) * MILLION


def _compare_rates(
    rates: Rates, reference: dict[str, Decimal], label: str, found: dict[str, str]
) -> None:
    for name in RATES:
        ref = reference.get(name)
        own = getattr(rates.source, name)
        if ref is None:
            if own is not None:
                found[f"{name}@{label}"] = f"table {own}, reference has no {name} rate"
            continue
        billed = rates.per_million(name)
        if billed is None or billed != ref:
            found[f"{name}@{label}"] = f"table {billed}, reference {ref}"


def _genai_differences(model: Model) -> dict[str, str]:
    entry = _genai_entry(model)
    if entry is None:
        return {"absent": "genai-prices has no entry that matches this model"}
    found: dict[str, str] = {}
    window = entry.get("context_window")
    if window is not None and Decimal(model.context_window) != window:
        found["context_window"] = f"table {model.context_window}, reference {window}"
    sets = entry["prices"] if isinstance(entry["prices"], list) else [{"prices": entry["prices"]}]
    today = _today()
    dated = [
        (date.fromisoformat(s["constraint"]["start_date"]) if "constraint" in s else None, s)
        for s in sets
    ]
    in_force = [i for i, (start, _) in enumerate(dated) if start is None or start <= today]
    for index, (start, price_set) in enumerate(dated):
        if index > in_force[-1]:
            continue
        if index == in_force[-1]:
            label, at = "today", today
        elif start is None:
            label, at = "launch", model.price_sets[0].effective
        else:
            label, at = start.isoformat(), start
        reference: dict[str, Decimal] = {}
        for key, value in price_set["prices"].items():
            if key in GENAI_NOT_TOKEN_RATES:
                continue
            if key not in GENAI_RATES:
                found[f"{key}@{label}"] = f"reference rate {key} has no place in the table"
                continue
            if isinstance(value, dict):
                found[f"tiers@{label}"] = f"reference {key} is tiered: {value}"
                value = value["base"]
            reference[GENAI_RATES[key]] = value
        _compare_rates(model.rates_at(at), reference, label, found)
    if len(dated) == 1 and len(model.price_sets) > 1:
        found["history"] = "the table has a price history that the reference lacks"
    return found


def _litellm_differences(model: Model) -> dict[str, str]:
    if model.provider == "openrouter":
        return {}  # LiteLLM has no OpenRouter entries (see the test below)
    entry = _litellm_entry(model)
    if entry is None:
        return {"absent": f"LiteLLM has no {model.provider} entry for this model"}
    found: dict[str, str] = {}
    reference = {
        name: _litellm_rate(entry[key])
        for key, name in LITELLM_RATES.items()
        if entry.get(key) is not None
    }
    _compare_rates(model.rates_at(_today()), reference, "today", found)
    tiers = sorted(key for key in entry if LITELLM_TIER.match(key))
    if tiers:
        found["tiers"] = f"reference has tiered rates {tiers}"
    max_in, max_out = entry.get("max_input_tokens"), entry.get("max_output_tokens")
    if max_out is not None and model.max_output_tokens != max_out:
        found["max_output_tokens"] = f"table {model.max_output_tokens}, reference {max_out}"
    if max_in is not None and model.context_window not in (max_in, max_in + (max_out or 0)):
        found["context_window"] = (
            f"table {model.context_window}, reference {max_in} input + {max_out} output"
        )
    return found


def _known_for(model: Model, source: str) -> dict[str, str]:
    return {what: why for (ref, src, what), why in KNOWN.items() if (ref, src) == (model.ref, source)}


def _assert_only_known(model: Model, source: str, found: dict[str, str]) -> None:
    known = _known_for(model, source)
    unexpected = {what: found[what] for what in found.keys() - known.keys()}
    stale = sorted(known.keys() - found.keys())
    assert not unexpected, f"{model.ref} differs from {source}: {unexpected}"
    assert not stale, f"{model.ref}: listed differences from {source} no longer occur: {stale}"


@pytest.mark.parametrize("model", MODELS, ids=[m.ref for m in MODELS])
def test_rates_agree_with_genai_prices(model: Model) -> None:
    _assert_only_known(model, "genai", _genai_differences(model))


@pytest.mark.parametrize("model", MODELS, ids=[m.ref for m in MODELS])
def test_rates_agree_with_litellm(model: Model) -> None:
    _assert_only_known(model, "litellm", _litellm_differences(model))


def test_every_known_difference_names_a_bundled_model() -> None:
    refs = {m.ref for m in MODELS}
    assert {ref for ref, _, _ in KNOWN} <= refs


def test_litellm_has_no_openrouter_entries_to_compare() -> None:
    listed = [k for k, v in LITELLM.items() if isinstance(v, dict)
              and v.get("litellm_provider") == "openrouter"]
    assert listed == [], "LiteLLM now lists OpenRouter models: compare them too"


def test_every_checked_provider_has_models() -> None:
    assert {m.provider for m in MODELS} == set(PROVIDERS)


def test_litellm_floats_convert_from_their_shortest_text() -> None:
    assert _litellm_rate(1.5e-07) == Decimal("0.15")
    assert _litellm_rate(LITELLM["gpt-4o-mini"]["input_cost_per_token"]) == Decimal("0.15")
    assert _litellm_rate(2.5e-06) == Decimal("2.5")
