"""The three catalog converters on the published files in ``shared/reference``: every entry
a valid table entry, the rates exact, tiers, service tiers, history and retirement dates
where the files state them."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from catalog_payloads import REFERENCE
from costbook.pricing._tables import validate_table
from costbook.sources._converted import Converted
from costbook.sources._genai_prices import convert as genai_prices
from costbook.sources._litellm_prices import convert as litellm
from costbook.sources._models_dev import convert as models_dev

DAY = date(2026, 12, 6)

pytestmark = pytest.mark.skipif(
    not REFERENCE.is_dir(),
    reason=f"the reference price files are not at {REFERENCE} (shared/reference beside "
    "the clone)")


def _read(name: str) -> Any:
    return json.loads((REFERENCE / name).read_text(encoding="utf-8"), parse_float=Decimal)


def _all_valid(converted: Converted) -> int:
    count = 0
    for table in converted.tables.values():
        validate_table({"provider": table.provider, "models": [
            {"id": model_id, **fields} for model_id, fields in table.entries.items()]},
            source=table.provider)
        count += len(table.entries)
    return count


@pytest.mark.parametrize("name", ["genai-prices-0.2.3-data.json",
                                  "genai-prices-2026-08-21-data.json"])
def test_genai_prices_files(name):
    converted = genai_prices(_read(name), DAY)
    assert _all_valid(converted) > 1000
    opus = converted.tables["anthropic"].entries["claude-opus-4-6"]
    first, second = opus["prices"]
    assert first["input"] == Decimal("5") and first["tiers"][0]["above"] == 200000
    assert first["tiers"][0]["input"] == Decimal("10")
    assert first["per_web_search"] == Decimal("0.01")
    assert second["effective"] == date(2026, 3, 13) and "tiers" not in second
    if name.startswith("genai-prices-0.2.3"):
        [batch] = opus["service_tiers"]["batch"]
        assert batch["input"] == Decimal("2.5") and batch["effective"] is not None
        assert sum(1 for t in converted.tables.values() for e in t.entries.values()
                   if e.get("deprecated")) > 10


def test_litellm_file_rates_are_the_digits_the_file_states():
    text = (REFERENCE / "litellm-1.106.2-model-prices.json").read_text(encoding="utf-8")
    converted = litellm(json.loads(text, parse_float=Decimal), DAY)
    assert _all_valid(converted) > 2000
    raw = json.loads(text, parse_float=str)
    float_wrong = 0
    checked = 0
    for key, value in raw.items():
        if not isinstance(value, dict) or value.get("litellm_provider") != "openai":
            continue
        entry = converted.tables["openai"].entries.get(key)
        if entry is None or "input_cost_per_token" not in value:
            continue
        stated = Decimal(value["input_cost_per_token"]).scaleb(6)
        assert entry["prices"][0]["input"] == stated
        checked += 1
        float_wrong += Decimal(repr(float(value["input_cost_per_token"]) * 1e6)) != stated
    assert checked > 100 and float_wrong > 0  # rates binary floats get wrong, exact here
    mini = converted.tables["openai"].entries["gpt-4o-mini"]
    assert {k: str(v) for k, v in mini["prices"][0].items()} == {
        "input": "0.15", "output": "0.6", "cache_read": "0.075"}
    assert mini["service_tiers"]["batch"][0]["input"] == Decimal("0.075")
    assert mini["service_tiers"]["priority"][0]["cache_read"] == Decimal("0.125")
    pro = converted.tables["vertex"].entries["gemini-2.5-pro"]
    assert pro["deprecated"] == date(2026, 10, 20)
    assert pro["prices"][0]["tiers"] == [{"above": 200000, "input": Decimal("2.5"),
                                          "output": Decimal("15"),
                                          "cache_read": Decimal("0.25"),
                                          "cache_write": Decimal("0.25")}]
    qwen = converted.tables["alibaba"].entries["qwen-flash"]  # tiered_pricing ranges
    assert qwen["prices"][0]["input"] == Decimal("0.05")
    assert qwen["prices"][0]["tiers"] == [{"above": 256000, "input": Decimal("0.25"),
                                           "output": Decimal("2")}]


def test_models_dev_file():
    converted = models_dev(_read("models-dev-2026-07-02.json"), DAY)
    assert _all_valid(converted) > 3000
    assert converted.version is not None and "models.dev" in converted.version
    gpt = converted.tables["openai"].entries["gpt-5.4"]
    assert gpt["prices"][0]["input"] == Decimal("2.5")
    assert gpt["prices"][0]["tiers"] == [{"above": 272000, "input": Decimal("5.0"),
                                          "output": Decimal("22.5"),
                                          "cache_read": Decimal("0.5")}]
    requesty = converted.tables["requesty"]
    assert requesty.entries  # the only public source of Requesty's own rates
    assert "bedrock" in converted.tables and "amazon-bedrock" not in converted.tables

