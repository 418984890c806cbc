"""genai-prices' published data file (``v2/data.json``) as costbook tables.

The file is a list of providers, each with its models. A model's ``prices`` are one set of
rates or a list of sets with start dates (price history); a rate is a number (a JSON
number, or a decimal string in the files written from the package) or
``{"base": ..., "tiers": [{"start": N, "price": ...}]}``: prompt-size tiers, billed once
the prompt has more than ``start`` tokens. ``price_variants`` hold batch and service-tier
rates. Rates are USD per million tokens (``*_mtok``) or per thousand units (``*_kcount``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from ._converted import (
    SHAPE_ERRORS,
    Converted,
    all_zero,
    day,
    https,
    kcount,
    limit,
    mtok,
    note,
    provider_id,
    rate,
    skip_reason,
)
from ._fetch import SyncError

# genai-prices' rate -> (costbook's rate, conversion)
RATES = {
    "input_mtok": ("input", mtok),
    "output_mtok": ("output", mtok),
    "cache_read_mtok": ("cache_read", mtok),
    "cache_write_mtok": ("cache_write", mtok),
    "cache_write_1h_mtok": ("cache_write_1h", mtok),
    "output_reasoning_mtok": ("reasoning", mtok),
    "input_audio_mtok": ("audio_input", mtok),
    "cache_audio_read_mtok": ("audio_cache_read", mtok),
    "output_audio_mtok": ("audio_output", mtok),
    "web_searches_kcount": ("per_web_search", kcount),
    "requests_kcount": ("per_request", kcount),
}
# genai-prices' provider ids that costbook spells otherwise
PROVIDERS = {"aws": "bedrock", "google": "google", "x-ai": "xai", "together": "together",
             "fireworks": "fireworks", "mistral": "mistral"}


def convert(payload: Any, today: date) -> Converted:
    """genai-prices' data as costbook tables; a payload of the wrong shape raises
    SyncError."""
    providers = payload.get("providers") if isinstance(payload, Mapping) else payload
    if not isinstance(providers, list) or not all(isinstance(p, Mapping) for p in providers):
        raise SyncError("expected genai-prices' data: a JSON list of providers, each an object "
                        "with id and models")
    found = Converted()
    for item in providers:
        raw_id, models = item.get("id"), item.get("models")
        if not isinstance(raw_id, str) or not isinstance(models, list):
            raise SyncError("expected genai-prices' data: a provider without an id or a "
                            "models list")
        table = found.table(provider_id(raw_id, PROVIDERS), str(item.get("name") or raw_id),
                            raw_id)
        table.pricing_url = https(item.get("pricing_urls") or ())
        counts = found.notes_at(table.provider)
        for model in models:
            if not isinstance(model, Mapping) or not isinstance(model.get("id"), str):
                found.skip(table.provider, f"{raw_id}: a model without an id")
                continue
            where = f"{raw_id}/{model['id']}"
            try:
                fields = _entry(model, where, today, counts)
            except SHAPE_ERRORS as exc:
                found.skip(table.provider, f"{where}: {skip_reason(exc)}")
                continue
            if fields is None:
                continue
            if table.pricing_url is not None:
                fields["pricing_url"] = table.pricing_url
            found.add(table, model["id"], fields)
    return found


def _entry(model: Mapping[str, Any], where: str, today: date,
           counts: dict[str, list[str]]) -> dict[str, Any] | None:
    sets = _history(model.get("prices"), where, counts)
    if not any(k != "effective" for s in sets for k in s):
        raise ValueError("no rates costbook can price")
    if all(all_zero(s) for s in sets):
        raise ValueError("every rate is 0 (free, or included in a plan); not priced at $0")
    fields: dict[str, Any] = {"prices": sets}
    if isinstance(model.get("name"), str) and model["name"].strip():
        fields["name"] = model["name"].strip()
    window = limit(model.get("context_window"))
    if window is not None:
        fields["context_window"] = window
    if model.get("deprecated") is True:
        fields["deprecated"] = today  # retired by the day of the check (no date stated)
    elif day(model.get("deprecated")) is not None:
        fields["deprecated"] = day(model.get("deprecated"))
    tiers: dict[str, list[dict[str, Any]]] = {}
    for variant in model.get("price_variants") or ():
        name = _tier_name(variant.get("when") if isinstance(variant, Mapping) else None)
        if name is None:
            note(counts, f"price variant {_when(variant)} is not a service tier costbook "
                 "bills; left out", where)
            continue
        if name == "standard":
            continue
        constraint = variant.get("constraint") or {}
        variant_sets = _history(variant.get("prices"), where, counts)
        start = day(constraint.get("start_date")) if isinstance(constraint, Mapping) else None
        if start is not None and len(variant_sets) == 1:
            variant_sets[0]["effective"] = start
        known = tiers.setdefault(name, [])
        dates = {s.get("effective") for s in known}
        known += [s for s in variant_sets if s.get("effective") not in dates]
    for name, variant_sets in tiers.items():
        variant_sets.sort(key=lambda s: s.get("effective") or date.min)
        if variant_sets:
            fields.setdefault("service_tiers", {})[name] = variant_sets
    return fields


def _when(variant: Any) -> str:
    when = variant.get("when") if isinstance(variant, Mapping) else None
    if not isinstance(when, Mapping):
        return "(no condition)"
    return ", ".join(f"{k}={v}" for k, v in sorted(when.items()))


def _tier_name(when: Any) -> str | None:
    if not isinstance(when, Mapping) or len(when) != 1:
        return None
    (key, value), = when.items()
    if key == "processing" and value == "batch":
        return "batch"
    if key in ("service_tier", "speed") and isinstance(value, str):
        value = value.strip().lower()
        if value == "default":
            return "standard"
        if value.isidentifier() and value.isascii():
            return value
    return None


def _history(prices: Any, where: str, counts: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The price sets of ``prices``, oldest first: one set, or conditional sets with start
    dates. Sets for certain hours of the day raise ValueError (the model is skipped)."""
    if isinstance(prices, Mapping):
        return [_set(prices, where, counts)]
    if not isinstance(prices, list):
        raise ValueError("prices is neither a set of rates nor a list of them")
    sets: dict[date | None, dict[str, Any]] = {}
    for item in prices:
        if not isinstance(item, Mapping) or not isinstance(item.get("prices"), Mapping):
            raise ValueError("a conditional price without prices")
        constraint = item.get("constraint") or {}
        if not isinstance(constraint, Mapping):
            raise ValueError("a price constraint that is not an object")
        if "start_time" in constraint or "end_time" in constraint:
            # the other sets would price every hour at one hour's rates: under-priced
            raise ValueError("its rates depend on the hour of day (peak and off-peak), "
                             "which costbook's tables do not state; not priced")
        unknown = sorted(set(constraint) - {"start_date"})
        if unknown:
            note(counts, f"rates under condition {', '.join(unknown)} are left out", where)
            continue
        start = day(constraint.get("start_date"))
        if constraint.get("start_date") is not None and start is None:
            raise ValueError(f"start_date {constraint.get('start_date')!r} is not a date")
        if start in sets:
            continue
        price_set = _set(item["prices"], where, counts)
        if start is not None:
            price_set["effective"] = start
        sets[start] = price_set
    return [sets[k] for k in sorted(sets, key=lambda d: d or date.min)]


def _set(prices: Mapping[str, Any], where: str, counts: dict[str, list[str]]) -> dict[str, Any]:
    price_set: dict[str, Any] = {}
    tiers: dict[int, dict[str, Any]] = {}
    for name, value in prices.items():
        if value is None:
            continue
        if name not in RATES:
            if _stated(value):
                note(counts, f"{name} is not a rate costbook bills; left out", where)
            continue
        ours, convert = RATES[name]
        if isinstance(value, Mapping):
            price_set[ours] = convert(rate(value.get("base"), f"{name}.base"))
            for tier in value.get("tiers") or ():
                start = tier.get("start") if isinstance(tier, Mapping) else None
                if isinstance(start, bool) or not isinstance(start, (int, Decimal)) \
                        or start != int(start) or start < 0:
                    raise ValueError(f"{name}: a tier start {start!r} is not a token count")
                tiers.setdefault(int(start), {})[ours] = convert(
                    rate(tier.get("price"), f"{name} tier {start}"))
        else:
            price_set[ours] = convert(rate(value, name))
    if tiers:
        price_set["tiers"] = [{"above": start, **tiers[start]} for start in sorted(tiers)]
    return price_set


def _stated(value: Any) -> bool:
    """Whether a rate costbook leaves out states a charge (0 states none)."""
    try:
        if isinstance(value, Mapping):
            return True
        return rate(value, "") != 0
    except ValueError:
        return True
