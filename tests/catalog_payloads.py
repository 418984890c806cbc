"""Data files in the published shapes of genai-prices (``v2/data.json``), LiteLLM
(``model_prices_and_context_window.json``) and models.dev (``api.json``), written for the
catalog sync and audit tests. Their texts are JSON with the numbers as the catalogs write
them (LiteLLM's per-token rates as floats in exponent notation, which binary floats get
wrong once multiplied: ``3e-07 * 1e6`` is ``0.29999999999999993``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REFERENCE = next(
    (p / "shared" / "reference" for p in Path(__file__).resolve().parents[1:]
     if (p / "shared" / "reference").is_dir()),
    Path(__file__).resolve().parents[2] / "shared" / "reference",
)
"""The reference price files, in ``shared/reference`` beside the clone (or a folder above)."""

LITELLM_PATH = "/BerriAI/litellm/main/model_prices_and_context_window.json"
GENAI_PATH = "/genai-prices/v2/data.json"
MODELS_DEV_PATH = "/api.json"


def litellm(input_rate: str = "1.1e-07", output_rate: str = "3e-07") -> str:
    """LiteLLM's map: a new model at openai with service tiers and a prompt-size tier, a
    new provider's model, a per-second model costbook cannot price, and the sample spec."""
    return f"""{{
  "sample_spec": {{"input_cost_per_token": 0.0, "litellm_provider": "one of https://docs.litellm.ai/docs/providers", "max_tokens": "LEGACY parameter"}},
  "gpt-9-mini": {{
    "litellm_provider": "openai", "mode": "chat",
    "max_input_tokens": 400000, "max_output_tokens": 128000,
    "input_cost_per_token": {input_rate}, "output_cost_per_token": {output_rate},
    "cache_read_input_token_cost": 1.1e-08,
    "input_cost_per_token_above_200k_tokens": 2.2e-07,
    "output_cost_per_token_above_200k_tokens": 6e-07,
    "input_cost_per_token_batches": 5.5e-08, "output_cost_per_token_batches": 1.5e-07,
    "input_cost_per_token_priority": 2e-07, "output_cost_per_token_priority": 6e-07,
    "search_context_cost_per_query": {{"search_context_size_low": 0.01, "search_context_size_medium": 0.01, "search_context_size_high": 0.01}},
    "supports_vision": true
  }},
  "openai/gpt-9-mini": {{
    "litellm_provider": "openai", "mode": "chat",
    "input_cost_per_token": 9e-07, "output_cost_per_token": 9e-07
  }},
  "acmecloud/acme-large": {{
    "litellm_provider": "acmecloud", "mode": "chat",
    "max_input_tokens": 131072, "max_output_tokens": 8192,
    "input_cost_per_token": 1e-07, "output_cost_per_token": 2e-07,
    "deprecation_date": "2027-03-01"
  }},
  "acmecloud/acme-video": {{
    "litellm_provider": "acmecloud", "mode": "video_generation",
    "output_cost_per_second": 0.4
  }}
}}
"""


def genai_prices(numbers_as_strings: bool = False) -> list[dict[str, Any]]:
    """genai-prices' data: a model with price history, prompt-size tiers and batch and
    priority variants, a retired model, and a model with peak and off-peak rates."""

    def n(text: str) -> Any:
        return text if numbers_as_strings else _number(text)

    return [{
        "id": "anthropic", "name": "Anthropic",
        "pricing_urls": ["https://www.anthropic.com/pricing#api"],
        "api_pattern": "https://api\\.anthropic\\.com",
        "model_match": {"contains": "claude"},
        "models": [
            {
                "id": "claude-nova-5", "name": "Claude Nova 5",
                "match": {"starts_with": "claude-nova-5"}, "context_window": 1000000,
                "prices": [
                    {"prices": {
                        "input_mtok": {"base": n("3"), "tiers": [{"start": 200000, "price": n("6")}]},
                        "output_mtok": {"base": n("15"), "tiers": [{"start": 200000, "price": n("22.5")}]},
                        "cache_read_mtok": n("0.3"), "cache_write_mtok": n("3.75"),
                        "web_searches_kcount": n("10"),
                    }},
                    {"constraint": {"start_date": "2026-11-01"}, "prices": {
                        "input_mtok": n("2.2"), "output_mtok": n("11"),
                        "cache_read_mtok": n("0.22"), "cache_write_mtok": n("2.75"),
                        "web_searches_kcount": n("10"),
                    }},
                ],
                "price_variants": [
                    {"when": {"processing": "batch"},
                     "constraint": {"start_date": "2026-11-01"},
                     "prices": {"input_mtok": n("1.1"), "output_mtok": n("5.5")}},
                    {"when": {"service_tier": "priority"},
                     "prices": {"input_mtok": n("4.4"), "output_mtok": n("22")}},
                    {"when": {"route": "eu"}, "prices": {"input_mtok": n("2.42")}},
                ],
            },
            {"id": "claude-old-1", "match": {"equals": "claude-old-1"}, "deprecated": True,
             "prices": {"input_mtok": n("8"), "output_mtok": n("24")}},
            {"id": "claude-voice", "match": {"equals": "claude-voice"},
             "prices": {"audio_hours": n("1.2")}},
        ],
    }, {
        "id": "deepseek", "name": "DeepSeek", "pricing_urls": ["https://api-docs.deepseek.com/"],
        "api_pattern": "https://api\\.deepseek\\.com",
        "models": [{
            "id": "deepseek-v9", "match": {"equals": "deepseek-v9"},
            "prices": [
                {"prices": {"input_mtok": n("0.27"), "output_mtok": n("1.1")}},
                {"constraint": {"start_time": "16:30:00+00:00", "end_time": "00:30:00+00:00"},
                 "prices": {"input_mtok": n("0.135"), "output_mtok": n("0.55")}},
            ],
        }, {
            "id": "deepseek-v9-lite", "match": {"equals": "deepseek-v9-lite"},
            "prices": {"input_mtok": n("0.07"), "output_mtok": n("0.28")},
        }],
    }]


def _number(text: str) -> Any:
    from decimal import Decimal

    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(text)


def genai_prices_text(numbers_as_strings: bool = False) -> str:
    """The data as served: JSON numbers written from their decimal text (never via float)."""
    data = genai_prices(numbers_as_strings)
    return json.dumps(data, indent=1)


def models_dev() -> dict[str, Any]:
    """models.dev's api.json: per provider, models keyed by id with cost and limit."""
    return {
        "openai": {
            "id": "openai", "name": "OpenAI", "doc": "https://platform.openai.com/docs/models",
            "env": ["OPENAI_API_KEY"], "npm": "@ai-sdk/openai",
            "models": {
                "gpt-9-mini": {
                    "id": "gpt-9-mini", "name": "GPT-9 mini",
                    "cost": {"input": 0.12, "output": 0.3, "cache_read": 0.011,
                             "tiers": [{"input": 0.22, "output": 0.6,
                                        "tier": {"size": 200000, "type": "context"}}]},
                    "limit": {"context": 400000, "output": 128000},
                },
                "gpt-9-free": {"id": "gpt-9-free", "cost": {"input": 0, "output": 0},
                               "limit": {"context": 8192, "output": 0}},
            },
        },
        "acme-gateway": {
            "id": "acme-gateway", "name": "Acme Gateway", "doc": "https://acme.example/pricing",
            "models": {
                "acme/acme-large": {"id": "acme/acme-large", "name": "Acme Large",
                                    "cost": {"input": 0.1, "output": 0.2},
                                    "limit": {"context": 131072, "output": 8192},
                                    "status": "deprecated"},
            },
        },
    }


def catalog_files(folder: Path) -> dict[str, Path]:
    """The three catalogs on gpt-4o-mini (the bundled tables: input 0.15, output 0.6,
    cache_read 0.075 per million): all state input 0.2 (the tables look stale), all
    agree on output, and models.dev alone states cache reads at 0.08."""
    genai = [{"id": "openai", "name": "OpenAI", "pricing_urls": [], "api_pattern": "",
              "models": [{"id": "gpt-4o-mini", "match": {"equals": "gpt-4o-mini"},
                          "prices": {"input_mtok": 0.2, "output_mtok": 0.6,
                                     "cache_read_mtok": 0.075}}]}]
    litellm = ('{"gpt-4o-mini": {"litellm_provider": "openai", "input_cost_per_token": 2e-07,'
               ' "output_cost_per_token": 6e-07, "cache_read_input_token_cost": 7.5e-08},'
               ' "gpt-4o-mini-2024-07-18": {"litellm_provider": "openai",'
               ' "input_cost_per_token": 9e-07, "output_cost_per_token": 9e-07},'
               ' "gpt-9-mini": {"litellm_provider": "openai", "input_cost_per_token": 1e-07,'
               ' "output_cost_per_token": 1e-07}}')
    models_dev = {"openai": {"id": "openai", "name": "OpenAI", "models": {
        "gpt-4o-mini": {"cost": {"input": 0.2, "output": 0.6, "cache_read": 0.08}}}}}
    files = {"genai-prices": folder / "data.json", "litellm": folder / "litellm.json",
             "models.dev": folder / "api.json"}
    files["genai-prices"].write_text(json.dumps(genai), encoding="utf-8")
    files["litellm"].write_text(litellm, encoding="utf-8")
    files["models.dev"].write_text(json.dumps(models_dev), encoding="utf-8")
    return files
