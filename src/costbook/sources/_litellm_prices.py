"""LiteLLM's price map (``model_prices_and_context_window.json``) as costbook tables.

The map is keyed by model, each with its ``litellm_provider`` and USD-per-token rates as
JSON floats; they are read as ``Decimal`` from the text and written per million as their
digits state them (``7.5e-08`` is ``0.075``). A rate's suffix names a prompt-size tier
(``_above_200k_tokens``: prompts of more than 200,000 tokens) and a service tier
(``_batches``, ``_priority``, ``_flex``); ``tiered_pricing`` lists prompt-size ranges.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from ._converted import (
    SHAPE_ERRORS,
    Converted,
    all_zero,
    day,
    limit,
    note,
    provider_id,
    rate,
    skip_reason,
    token,
)
from ._fetch import SyncError
from ._sync import _plain

# LiteLLM's rate -> (costbook's rate, per token)
RATES = {
    "input_cost_per_token": ("input", True),
    "output_cost_per_token": ("output", True),
    "cache_read_input_token_cost": ("cache_read", True),
    "cache_creation_input_token_cost": ("cache_write", True),
    "cache_creation_input_token_cost_above_1hr": ("cache_write_1h", True),
    "output_cost_per_reasoning_token": ("reasoning", True),
    "input_cost_per_audio_token": ("audio_input", True),
    "cache_read_input_audio_token_cost": ("audio_cache_read", True),
    "output_cost_per_audio_token": ("audio_output", True),
    "input_cost_per_request": ("per_request", False),
}
_KEY = re.compile(
    r"^(?P<rate>" + "|".join(sorted(RATES, key=len, reverse=True)) + r")"
    r"(?:_above_(?P<size>\d+)(?P<k>k?)_tokens)?(?:_(?P<tier>batches|priority|flex))?$"
)
SERVICE_TIERS = {"batches": "batch", "priority": "priority", "flex": "flex"}
# LiteLLM's provider ids that costbook spells otherwise
PROVIDERS = {
    "gemini": "google", "bedrock_converse": "bedrock", "text-completion-openai": "openai",
    "cohere_chat": "cohere", "meta_llama": "meta", "fireworks_ai-embedding-models": "fireworks",
    "azure_text": "azure", "codestral": "mistral", "text-completion-codestral": "mistral",
    "voyage": "voyageai", "dashscope": "alibaba", "xai": "xai",
}
NOT_MODELS = frozenset({"sample_spec"})


def _provider(raw: str) -> str:
    if raw.startswith("vertex_ai"):
        return "vertex"
    return provider_id(raw, PROVIDERS)


def convert(payload: Any, today: date) -> Converted:
    """LiteLLM's map as costbook tables; a payload of the wrong shape raises SyncError."""
    if not isinstance(payload, Mapping) or not any(
        isinstance(v, Mapping) and "litellm_provider" in v for v in payload.values()
    ):
        raise SyncError("expected LiteLLM's price map: a JSON object of models, each with "
                        "litellm_provider and its rates")
    found = Converted()
    items: list[tuple[str, str, bool, str, Mapping[str, Any]]] = []
    for key, value in payload.items():
        if key in NOT_MODELS:
            continue
        if not isinstance(value, Mapping) or not isinstance(value.get("litellm_provider"), str):
            found.skip(None, f"{key}: no litellm_provider")
            continue
        raw = value["litellm_provider"]
        provider = _provider(raw)
        model_id = key
        head, slash, rest = key.partition("/")
        if slash and rest and (head == raw or _provider(head) == provider):
            model_id = rest
        items.append((provider, model_id, model_id != key, raw, value))
    # an unprefixed key first, so that it is the listing used when both spellings appear
    items.sort(key=lambda item: (item[0], item[1].lower(), item[2]))
    for provider, model_id, _, raw, value in items:
        where = f"{raw}/{model_id}"
        try:
            fields = _entry(value, where, today, found.notes_at(provider))
        except SHAPE_ERRORS as exc:
            found.skip(provider, f"{where}: {skip_reason(exc)}")
            continue
        found.add(found.table(provider, provider, raw), model_id, fields)
    return found


def _entry(value: Mapping[str, Any], where: str, today: date,
           counts: dict[str, list[str]]) -> dict[str, Any]:
    sets: dict[str, dict[str, Any]] = {}  # service tier -> price set
    tiers: dict[tuple[str, int], dict[str, Any]] = {}
    for name, raw in value.items():
        match = _KEY.match(name)
        if raw is None or match is None:
            if "cost" in name and _stated(raw):
                note(counts, f"{name} is not a rate costbook bills; left out", where)
            continue
        ours, per_token = RATES[match["rate"]]
        number = rate(raw, name)
        converted = token(number) if per_token else _plain(number)
        tier = SERVICE_TIERS[match["tier"]] if match["tier"] else "standard"
        if match["size"] is not None:
            size = int(match["size"]) * (1000 if match["k"] else 1)
            tiers.setdefault((tier, size), {})[ours] = converted
        else:
            sets.setdefault(tier, {})[ours] = converted
    ranged = value.get("tiered_pricing")
    if isinstance(ranged, list) and ranged:
        _ranges(ranged, sets, tiers)
    for (tier, size), rates in sorted(tiers.items()):
        if tier in sets:
            sets[tier].setdefault("tiers", []).append({"above": size, **rates})
        else:
            note(counts, f"{tier} prompt-size rates without {tier} base rates are left out",
                 where)
    standard = sets.pop("standard", None)
    if standard is None or not ({"input", "output"} & set(standard)):
        raise ValueError("no per-token rates (billed per image, second, query or page)")
    if all_zero(standard):
        raise ValueError("every rate is 0 (free, or included in a plan); not priced at $0")
    fields: dict[str, Any] = {"prices": [standard]}
    service = {t: [s] for t, s in sorted(sets.items()) if {"input", "output"} & set(s)}
    if service:
        fields["service_tiers"] = service
    window = limit(value.get("max_input_tokens"))
    most = limit(value.get("max_output_tokens"))
    if window is not None:
        fields["context_window"] = window
    if most is not None and (window is None or most <= window):
        fields["max_output_tokens"] = most
    retired = day(value.get("deprecation_date"))
    if retired is not None:
        fields["deprecated"] = retired
    return fields


def _ranges(ranged: list[Any], sets: dict[str, dict[str, Any]],
            tiers: dict[tuple[str, int], dict[str, Any]]) -> None:
    """``tiered_pricing``: the whole request billed at the range its input falls in
    (``start < prompt <= end``); the range from 0 gives the base rates."""
    for item in ranged:
        if not isinstance(item, Mapping):
            raise ValueError("tiered_pricing holds an item that is not an object")
        bounds = item.get("range")
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise ValueError("tiered_pricing: a range is not [start, end]")
        start = bounds[0]
        if isinstance(start, bool) or not isinstance(start, (int, Decimal)) \
                or start != int(start) or start < 0:
            raise ValueError(f"tiered_pricing: range start {start!r} is not a token count")
        rates = {
            RATES[name][0]: token(rate(item[name], f"tiered_pricing {name}"))
            for name in ("input_cost_per_token", "output_cost_per_token",
                         "cache_read_input_token_cost", "cache_creation_input_token_cost")
            if item.get(name) is not None
        }
        if int(start) == 0:
            for name, value in rates.items():
                sets.setdefault("standard", {}).setdefault(name, value)
        else:
            tiers.setdefault(("standard", int(start)), {}).update(rates)


def _stated(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_stated(v) for v in value.values())
    try:
        return rate(value, "") != 0
    except ValueError:
        return False
