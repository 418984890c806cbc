"""Cross-check: every model costbook shares with genai-prices and LiteLLM costs the same
there, at fixed usages, or the difference is listed with its reason in
``known_differences.yaml`` (reviewed like code; a listed difference that no longer occurs
fails too).

The reference data are the released packages' own data: genai-prices 0.2.5 and LiteLLM
1.110.2, read from their wheels (``pip download --no-deps genai-prices==0.2.5
litellm==1.110.2``) or from JSON exports of them, found in the folders named by
``COSTBOOK_REFERENCE`` (``os.pathsep``-separated) or in ``../shared/reference`` beside the
clone. Without them the tests skip, saying so.

Each source is priced here by its own rules. genai-prices: rates per million tokens, a
prompt-size tier billing the whole request once its input passes the tier's start, price
variants (batch, flex, priority, fast) overriding the standard rates key by key, and
time-of-day constraints (the later rule wins). LiteLLM: rates per token, ``_above_Nk_tokens``
rates for the whole request past N thousand input tokens, ``_batches``/``_flex``/
``_priority`` rates per service tier.

Two rules differ on purpose and are not compared: a source that bills a part without a
rate as nothing (output tokens of an embedding model) or at the input rate (a cache write
without a cache-write rate), where costbook refuses to price it rather than guess low.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from costbook import PricingError, UnknownModelError, Usage
from costbook.pricing._calculator import price_with
from costbook.pricing._catalog import catalog
from costbook.pricing._model import Model
from table_factory import table_generator

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = [Path(p) for p in os.environ.get("COSTBOOK_REFERENCE", "").split(os.pathsep) if p]
FOLDERS.append(ROOT.parent / "shared" / "reference")
KNOWN_FILE = Path(__file__).with_name("known_differences.yaml")
# A Saturday at noon UTC: outside every peak window of the tables and of genai-prices
AT = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


def _find(*patterns: str) -> Path | None:
    for folder in FOLDERS:
        for pattern in patterns:
            found = sorted(folder.glob(pattern))
            if found:
                return found[-1]
    return None


GENAI = _find("genai_prices-0.2.5-*.whl", "genai-prices-0.2.5-data.json")
LITELLM = _find("litellm-1.110.2-*.whl", "litellm-1.110.2-model-prices.json")
if GENAI is None or LITELLM is None:
    pytest.skip(
        "reference price data (genai-prices 0.2.5 and LiteLLM 1.110.2 wheels or their JSON "
        f"data) not found in {', '.join(map(str, FOLDERS))}; download them with pip download "
        "--no-deps genai-prices==0.2.5 litellm==1.110.2 and name their folder in "
        "COSTBOOK_REFERENCE",
        allow_module_level=True,
    )


GEN = table_generator()
GENAI_DATA: list[dict[str, Any]] = (GEN._genai_wheel(GENAI) if GENAI.suffix == ".whl"
                                    else json.loads(GENAI.read_text(encoding="utf-8")))
LITELLM_DATA: dict[str, Any] = (GEN._litellm_wheel(LITELLM) if LITELLM.suffix == ".whl"
                                else json.loads(LITELLM.read_text(encoding="utf-8")))
KNOWN: dict[str, dict[str, str]] = yaml.safe_load(KNOWN_FILE.read_text(encoding="utf-8"))

PLAIN = Usage(input_tokens=100_000, output_tokens=10_000)
CACHED = Usage(input_tokens=100_000, cache_read_tokens=40_000, output_tokens=10_000)
LONG = Usage(input_tokens=300_000, cache_read_tokens=100_000, output_tokens=10_000)
USAGES = {"PLAIN": PLAIN, "CACHED": CACHED, "LONG": LONG}
VARIANTS = {("processing", "batch"): "batch", ("service_tier", "flex"): "flex",
            ("service_tier", "priority"): "priority", ("service_tier", "fast"): "fast",
            ("speed", "fast"): "fast"}
PRICED = {"input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok",
          "web_searches_kcount", "requests_kcount", "cache_write_1h_mtok",
          "input_audio_mtok", "output_audio_mtok", "cache_audio_read_mtok",
          "output_reasoning_mtok", "storage_searches_kcount"}


# --- genai-prices ---------------------------------------------------------------------


def _genai_models() -> Iterator[tuple[str, dict[str, Any]]]:
    providers = {spec.genai: spec.id for spec in GEN.PROVIDERS if spec.genai}
    for provider in GENAI_DATA:
        ours = providers.get(provider["id"])
        if ours is None:
            continue
        prefixed = {m["id"].split("/", 1)[1] for m in provider["models"] if "/" in m["id"]}
        for model in provider["models"]:
            if ours == "openrouter" and model["id"] in prefixed:
                continue  # a legacy spelling; the maker/ entry is the model
            if provider["id"] == "google" and model["id"].startswith("claude"):
                yield "vertex", model
            else:
                yield ours, model


def _prices_at(model: dict[str, Any]) -> dict[str, Any]:
    history = model["prices"]
    if isinstance(history, dict):
        return history
    found = history[0]["prices"]
    clock = AT.strftime("%H:%M:%S")
    for conditional in history:
        constraint = conditional.get("constraint") or {}
        start = constraint.get("start_date")
        if "start_time" in constraint:
            first, last = constraint["start_time"][:8], constraint["end_time"][:8]
            inside = first <= clock < last if first < last else (clock >= first or clock < last)
            if inside:
                found = conditional["prices"]
        elif start is None or datetime.fromisoformat(str(start)[:10]).date() <= AT.date():
            found = conditional["prices"]
    return found


def _variant(model: dict[str, Any], tier: str) -> dict[str, Any] | None:
    standard = dict(_prices_at(model))
    found = False
    for variant in model.get("price_variants") or ():
        when = variant["when"]
        if len(when) != 1 or VARIANTS.get(next(iter(when.items()))) != tier:
            continue
        start = (variant.get("constraint") or {}).get("start_date")
        if start is not None and datetime.fromisoformat(str(start)[:10]).date() > AT.date():
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


MILLION = Decimal(1_000_000)


def _stated(rate: Decimal) -> Decimal:
    """A rate without binary-float noise (``0.18000000000000002`` is 0.18), by the rule the
    table generator applies."""
    cleaned: Decimal = GEN._clean(rate)
    return cleaned


def _rate(value: Any, prompt: int) -> Decimal:
    if isinstance(value, dict):
        rate = Decimal(str(value["base"]))
        for tier in value["tiers"]:
            if prompt > int(tier["start"]):
                rate = Decimal(str(tier["price"]))
        return _stated(rate)
    return _stated(Decimal(str(value)))


def genai_total(prices: dict[str, Any], usage: Usage) -> Decimal | None:
    """genai-prices' price of ``usage``, or None where it bills a unit costbook does not."""
    if set(prices) - PRICED:
        return None
    if usage.output_tokens and "output_mtok" not in prices:
        return None
    prompt = usage.input_tokens
    cached = usage.cache_read_tokens if "cache_read_mtok" in prices else 0
    counts = {
        "input_mtok": usage.input_tokens - cached,
        "cache_read_mtok": cached,
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
    if model.included:
        return "included in a plan"
    try:
        rates = model.rates_at(AT, tier)
        return price_with(usage, model, rates, at=AT).total
    except PricingError as exc:
        return f"refused: {exc}"


def _resolve(provider: str, model_id: str) -> Model | None:
    try:
        return catalog().resolve(f"{provider}:{model_id}")
    except (PricingError, UnknownModelError):
        return None


def _genai_differences() -> tuple[int, dict[str, str]]:
    found: dict[str, str] = {}
    shared = 0
    for provider, data in _genai_models():
        if provider not in catalog().providers:
            continue
        model = _resolve(provider, data["id"])
        if model is None:
            continue
        shared += 1
        cases = [(name, "standard") for name in USAGES]
        cases += [("PLAIN", t) for t in sorted(set(model.service_tiers) | _variant_tiers(data))]
        for name, tier in cases:
            prices = _prices_at(data) if tier == "standard" else _variant(data, tier)
            key = f"{model.ref} {name} {tier}"
            if prices is None:
                found[key] = "genai-prices has no such variant"
                continue
            theirs = genai_total(prices, USAGES[name]) if prices else Decimal(0)
            if theirs is None:
                continue
            ours = costbook_total(model, USAGES[name], tier)
            if not isinstance(ours, Decimal) or ours != theirs:
                found[key] = f"costbook {ours}, genai-prices {theirs}"
    return shared, found


GENAI_SHARED, GENAI_DIFFERENCES = _genai_differences()


# --- LiteLLM ------------------------------------------------------------------------------

LITELLM_TIERS = {"standard": "", "batch": "_batches", "flex": "_flex", "priority": "_priority"}


def litellm_total(entry: dict[str, Any], usage: Usage, tier: str) -> Decimal | None:
    """LiteLLM's price of ``usage`` at a service tier, or None where it has no rate."""
    suffix = LITELLM_TIERS[tier]

    def rate(name: str) -> Decimal | None:
        value = entry.get(f"{name}{suffix}")
        for key, tiered in entry.items():
            found = re.fullmatch(re.escape(name) + r"_above_(\d+)k_tokens" + re.escape(suffix),
                                 key)
            if found and tiered is not None and usage.input_tokens > int(found.group(1)) * 1000:
                value = tiered
        return None if value is None else _stated(Decimal(str(value)) * MILLION) / MILLION

    input_rate, output_rate = rate("input_cost_per_token"), rate("output_cost_per_token")
    if input_rate is None or output_rate is None:
        return None
    cached_rate = rate("cache_read_input_token_cost")
    cached = usage.cache_read_tokens if cached_rate is not None else 0
    total = input_rate * (usage.input_tokens - cached) + output_rate * usage.output_tokens
    if cached:
        assert cached_rate is not None
        total += cached_rate * cached
    return total


LITELLM_PREFIXES = {prefix: spec for spec in GEN.PROVIDERS for prefix in spec.litellm}


def _litellm_ref(key: str, entry: dict[str, Any]) -> tuple[str, str] | None:
    """The costbook provider and model id of a LiteLLM key (the key less its provider
    prefixes, as the table generator reads it), or None for a provider costbook lacks."""
    spec = LITELLM_PREFIXES.get(str(entry.get("litellm_provider")))
    if spec is None:
        return None
    for prefix in (entry["litellm_provider"], *spec.litellm):
        if key.startswith(f"{prefix}/"):
            return spec.id, key.removeprefix(f"{prefix}/")
    return spec.id, key


def _litellm_differences() -> tuple[int, dict[str, str]]:
    found: dict[str, str] = {}
    shared = 0
    for key, entry in LITELLM_DATA.items():
        if not isinstance(entry, dict) or entry.get("mode") not in GEN.LITELLM_MODES:
            continue
        named = _litellm_ref(key, entry)
        if named is None:
            continue
        model = _resolve(*named)
        if model is None or model.included:
            continue
        shared += 1
        for name, usage in USAGES.items():
            for tier in ("standard", *sorted(set(model.service_tiers) & set(LITELLM_TIERS))):
                if tier != "standard" and name != "PLAIN":
                    continue
                theirs = litellm_total(entry, usage, tier)
                if theirs is None:
                    continue
                ours = costbook_total(model, usage, tier)
                if not isinstance(ours, Decimal) or ours != theirs:
                    found[f"{key} -> {model.ref} {name} {tier}"] = (
                        f"costbook {ours}, LiteLLM {theirs.normalize()}")
    return shared, found


LITELLM_SHARED, LITELLM_DIFFERENCES = _litellm_differences()


def _unexplained(found: dict[str, str], known: dict[str, str]) -> list[str]:
    return [f"{case}: {what}" for case, what in sorted(found.items())
            if not _listed(case, known)]


def _listed(case: str, known: dict[str, str]) -> bool:
    """Whether a difference is listed: by its exact case, or by a pattern (``*`` for any
    text) that names its reason."""
    return case in known or any(
        "*" in pattern and re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), case)
        for pattern in known)


def test_most_models_are_shared_with_the_references():
    assert GENAI_SHARED >= 2000
    assert LITELLM_SHARED >= 1500


def test_every_difference_from_genai_prices_is_listed_with_its_reason():
    unexplained = _unexplained(GENAI_DIFFERENCES, KNOWN["genai-prices 0.2.5"])
    assert not unexplained, f"{len(unexplained)} unlisted:\n" + "\n".join(unexplained)


def test_every_difference_from_litellm_is_listed_with_its_reason():
    unexplained = _unexplained(LITELLM_DIFFERENCES, KNOWN["LiteLLM 1.110.2"])
    assert not unexplained, f"{len(unexplained)} unlisted:\n" + "\n".join(unexplained)


@pytest.mark.parametrize(("source", "found"), [
    ("genai-prices 0.2.5", GENAI_DIFFERENCES), ("LiteLLM 1.110.2", LITELLM_DIFFERENCES),
])
def test_every_listed_difference_still_occurs_and_says_why(source, found):
    for case, reason in KNOWN[source].items():
        assert isinstance(reason, str) and len(reason) > 20, case
        assert any(_listed(c, {case: reason}) for c in found), f"{case} no longer differs"


# --- models costbook lacks -----------------------------------------------------------------


def _missing() -> dict[str, str]:
    """Every LiteLLM chat, completion or responses model with token rates, and every
    genai-prices model, that costbook does not price: ``LiteLLM <provider> <key>`` and
    ``genai-prices <provider> <model id>``, each with what was looked up."""
    found: dict[str, str] = {}
    for key, entry in LITELLM_DATA.items():
        if not isinstance(entry, dict) or entry.get("mode") not in GEN.LITELLM_MODES:
            continue
        if entry.get("input_cost_per_token") is None or entry.get("output_cost_per_token") is None:
            continue
        case = f"LiteLLM {entry.get('litellm_provider')} {key}"
        named = _litellm_ref(key, entry)
        if named is None:
            found[case] = "no costbook provider"
        elif _resolve(*named) is None:
            found[case] = f"{named[0]}:{named[1]} is unknown"
    for ours, model in _genai_models():
        if ours not in catalog().providers or _resolve(ours, model["id"]) is None:
            found[f"genai-prices {ours} {model['id']}"] = f"{ours}:{model['id']} is unknown"
    mapped = {spec.genai for spec in GEN.PROVIDERS if spec.genai}
    for provider in GENAI_DATA:
        if provider["id"] not in mapped:
            for model in provider["models"]:
                found[f"genai-prices {provider['id']} {model['id']}"] = "no costbook provider"
    return found


MISSING = _missing()


def test_every_reference_model_is_in_costbook_or_listed_as_missing_with_its_reason():
    unexplained = _unexplained(MISSING, KNOWN["missing from costbook"])
    assert not unexplained, f"{len(unexplained)} unlisted:\n" + "\n".join(unexplained)


def test_every_model_listed_as_missing_is_still_missing_and_says_why():
    for case, reason in KNOWN["missing from costbook"].items():
        assert isinstance(reason, str) and len(reason) > 20, case
        assert any(_listed(c, {case: reason}) for c in MISSING), f"{case} is in costbook now"



# --- Bedrock's regional rates --------------------------------------------------------------

AWS_REGION_KEY = re.compile(r"bedrock/((?:us|eu|ap|sa|ca)-[a-z]+-\d)/([^/]+)")


def test_bedrock_keys_of_a_commercial_region_price_at_that_regions_rates():
    """LiteLLM's ``bedrock/<region>/<model id>`` keys resolve as
    ``bedrock:<region>/<model id>``: to the region's own entry where its rates differ from
    the in-region entry's (68 keys of 108 in LiteLLM 1.110.2), else to the in-region entry,
    and price the same either way."""
    keys = [k for k, e in LITELLM_DATA.items() if isinstance(e, dict)
            and AWS_REGION_KEY.fullmatch(k) and e.get("mode") in GEN.LITELLM_MODES]
    assert len(keys) == 108
    own = 0
    for key in keys:
        found = AWS_REGION_KEY.fullmatch(key)
        assert found is not None
        region, model_id = found.groups()
        model = _resolve("bedrock", f"{region}/{model_id}")
        assert model is not None, key
        in_region = _resolve("bedrock", model_id)
        assert in_region is not None and not in_region.id.startswith(f"{region}/"), key
        own += model.id.startswith(f"{region}/")
        assert (model.id == in_region.id) != model.id.startswith(f"{region}/"), key
        assert not [case for case in LITELLM_DIFFERENCES if case.startswith(f"{key} -> ")]
    assert own == 68


def test_azure_data_zone_keys_price_at_the_zones_rates():
    """LiteLLM's ``azure/us|eu|apac/<model>`` keys resolve as ``azure:<zone>/<model>`` to
    the zone's own entry (10% or 20% above Global Standard) and price the same."""
    keys = [k for k, e in LITELLM_DATA.items() if isinstance(e, dict)
            and re.fullmatch(r"azure/(?:us|eu|apac)/[^/]+", k)
            and e.get("mode") in GEN.LITELLM_MODES]
    assert len(keys) == 122
    for key in keys:
        zone, model_id = key.split("/")[1:]
        model = _resolve("azure", f"{zone}/{model_id}")
        assert model is not None and model.id.startswith(f"{zone}/"), key
        assert not [case for case in LITELLM_DIFFERENCES if case.startswith(f"{key} -> ")]
