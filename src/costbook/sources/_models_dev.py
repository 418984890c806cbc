"""models.dev's ``api.json`` as costbook tables.

The file maps each provider id to the provider (``name``, ``doc``) and its ``models``
keyed by id, each with ``cost`` in USD per million tokens (``input``, ``output``,
``cache_read``, ``cache_write``, ``reasoning``, ``input_audio``, ``output_audio`` and
prompt-size ``tiers``, each billed once the context passes ``tier.size``) and ``limit``
(``context``, ``output``). A copy may wrap the providers under ``providers``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from ._converted import (
    SHAPE_ERRORS,
    Converted,
    all_zero,
    https,
    limit,
    mtok,
    note,
    provider_id,
    rate,
    skip_reason,
)
from ._fetch import SyncError

RATES = {
    "input": "input", "output": "output", "cache_read": "cache_read",
    "cache_write": "cache_write", "reasoning": "reasoning", "input_audio": "audio_input",
    "output_audio": "audio_output",
}
PROVIDERS = {"google-vertex-anthropic": "vertex", "llama": "meta"}


def convert(payload: Any, today: date) -> Converted:
    """models.dev's data as costbook tables; a payload of the wrong shape raises
    SyncError."""
    providers = payload.get("providers") if isinstance(payload, Mapping) else None
    if not isinstance(providers, Mapping):
        providers = payload
    if not isinstance(providers, Mapping) or not providers or not all(
        isinstance(p, Mapping) and isinstance(p.get("models"), Mapping)
        for p in providers.values()
    ):
        raise SyncError("expected models.dev's api.json: a JSON object of providers, each "
                        "with its models keyed by id")
    found = Converted()
    if isinstance(payload, Mapping) and isinstance(payload.get("source"), str):
        found.version = " ".join(payload["source"].split())[:80]
    for raw_id, item in sorted(providers.items()):
        table = found.table(provider_id(str(raw_id), PROVIDERS),
                            str(item.get("name") or raw_id), str(raw_id))
        doc = https([item.get("doc")])
        counts = found.notes_at(table.provider)
        for model_id, model in sorted(item["models"].items()):
            where = f"{raw_id}/{model_id}"
            if not isinstance(model, Mapping):
                found.skip(table.provider, f"{where}: not an object")
                continue
            try:
                fields = _entry(model, where, today, counts)
            except SHAPE_ERRORS as exc:
                found.skip(table.provider, f"{where}: {skip_reason(exc)}")
                continue
            if doc is not None:
                fields["pricing_url"] = doc
            found.add(table, str(model_id), fields)
    return found


def _entry(model: Mapping[str, Any], where: str, today: date,
           counts: dict[str, list[str]]) -> dict[str, Any]:
    cost = model.get("cost")
    if not isinstance(cost, Mapping):
        raise ValueError("no cost")
    price_set: dict[str, Any] = {}
    for name, value in cost.items():
        if value is None:
            continue
        if name == "tiers":
            price_set["tiers"] = _tiers(value, where, counts)
            if not price_set["tiers"]:
                del price_set["tiers"]
        elif name in RATES:
            price_set[RATES[name]] = mtok(rate(value, f"cost.{name}"))
        elif not isinstance(value, (int, float, str)) or _nonzero(value):
            note(counts, f"cost.{name} is not a rate costbook bills; left out", where)
    if not {"input", "output"} & set(price_set):
        raise ValueError("no input or output rate")
    if all_zero(price_set):
        raise ValueError("every rate is 0 (free, or included in a plan); not priced at $0")
    fields: dict[str, Any] = {"prices": [price_set]}
    if isinstance(model.get("name"), str) and model["name"].strip():
        fields["name"] = model["name"].strip()
    limits = model.get("limit")
    if not isinstance(limits, Mapping):
        limits = {}
    window, most = limit(limits.get("context")), limit(limits.get("output"))
    if window is not None:
        fields["context_window"] = window
    if most is not None and (window is None or most <= window):
        fields["max_output_tokens"] = most
    if model.get("status") == "deprecated":
        fields["deprecated"] = today  # retired by the day of the check (no date stated)
    return fields


def _tiers(value: Any, where: str, counts: dict[str, list[str]]) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValueError("cost.tiers is not a list")
    tiers: dict[int, dict[str, Any]] = {}
    for item in value:
        about = item.get("tier") if isinstance(item, Mapping) else None
        if not isinstance(about, Mapping):
            raise ValueError("cost.tiers holds a tier without its size")
        if about.get("type", "context") != "context":
            note(counts, f"tiers of type {about.get('type')!r} are left out", where)
            continue
        size = limit(about.get("size"))
        if size is None:
            raise ValueError(f"cost.tiers: size {about.get('size')!r} is not a token count")
        rates = {RATES[k]: mtok(rate(v, f"cost.tiers.{k}")) for k, v in item.items()
                 if k in RATES and v is not None}
        if rates:
            tiers.setdefault(size, {}).update(rates)
    return [{"above": size, **tiers[size]} for size in sorted(tiers)]


def _nonzero(value: Any) -> bool:
    try:
        return rate(value, "") != 0
    except ValueError:
        return True
