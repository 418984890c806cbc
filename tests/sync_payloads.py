"""Models API payloads in OpenRouter's and Requesty's documented shapes, written for the
sync tests. The rates include ones binary floats get wrong (0.0000001 + 0.0000002)."""

from __future__ import annotations

import copy
from typing import Any

OPENROUTER_PATH = "/api/v1/models"
REQUESTY_PATH = "/v1/models"


def _openrouter_model(model_id: str, name: str, pricing: dict[str, str], *,
                      context: int | None = 128000, max_out: int | None = 16384) -> dict[str, Any]:
    return {
        "id": model_id,
        "canonical_slug": model_id,
        "name": name,
        "created": 1721260800,
        "description": "A model.",
        "context_length": context,
        "architecture": {"modality": "text->text", "input_modalities": ["text"],
                         "output_modalities": ["text"], "tokenizer": "Other",
                         "instruct_type": None},
        "pricing": pricing,
        "top_provider": {"context_length": context, "max_completion_tokens": max_out,
                         "is_moderated": False},
        "per_request_limits": None,
        "supported_parameters": ["max_tokens", "temperature"],
    }


OPENROUTER: dict[str, Any] = {"data": [
    _openrouter_model("openai/gpt-4o-mini", "OpenAI: GPT-4o-mini", {
        "prompt": "0.00000015", "completion": "0.0000006", "request": "0",
        "image": "0.000217", "web_search": "0", "internal_reasoning": "0",
        "input_cache_read": "0.000000075",
    }),
    _openrouter_model("acme/float-trap", "Acme: Float Trap", {
        "prompt": "0.0000001", "completion": "0.0000002", "request": "0.0003",
        "image": "0", "web_search": "0.01", "internal_reasoning": "0.0000007",
        "input_cache_read": "0.00000003", "input_cache_write": "0.000000375",
        "audio": "0.00004", "discount": 0,
    }, context=32768, max_out=None),
    _openrouter_model("meta-llama/llama-3.3-70b-instruct:free", "Meta: Llama 3.3 70B (free)", {
        "prompt": "0", "completion": "0", "request": "0", "image": "0", "web_search": "0",
        "internal_reasoning": "0",
    }, context=65536, max_out=None),
    _openrouter_model("openrouter/auto", "Auto Router", {"prompt": "-1", "completion": "-1"},
                      context=2000000, max_out=None),
    _openrouter_model("acme/half-priced", "Acme: Half", {"prompt": "0.000001"}),
]}

REQUESTY_TEXT = """{"object": "list", "data": [
 {"id": "openai/gpt-4o-mini", "object": "model", "created": 1721260800, "owned_by": "system",
  "input_price": 1.5e-7, "caching_price": 1.5e-7, "cached_price": 7e-8, "output_price": 0.0000006,
  "max_output_tokens": 16384, "context_window": 128000, "supports_caching": true,
  "supports_vision": true, "supports_computer_use": false, "supports_reasoning": false,
  "description": "GPT-4o mini"},
 {"id": "acme/float-trap", "object": "model", "created": 1747765524, "owned_by": "system",
  "input_price": 0.0000001, "caching_price": 0, "cached_price": 0.00000002, "output_price": 0.0000002,
  "max_output_tokens": null, "context_window": 1048576, "supports_caching": true},
 {"id": "acme/free", "object": "model", "input_price": 0, "output_price": 0,
  "max_output_tokens": 8192, "context_window": 32768},
 {"id": "acme/no-output", "object": "model", "input_price": 0.000001, "context_window": 32768}
]}"""


def openrouter(**changes: dict[str, str]) -> dict[str, Any]:
    """The OpenRouter payload with the pricing of some models changed, by id."""
    payload = copy.deepcopy(OPENROUTER)
    for model in payload["data"]:
        if model["id"] in changes:
            model["pricing"].update(changes[model["id"]])
    return payload
