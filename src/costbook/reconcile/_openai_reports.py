"""OpenAI's organization reports: ``GET /organization/usage/completions`` (tokens and
requests by day, model, project, batch and service tier) and ``GET /organization/costs``
(USD by day, project and line item), read with an admin key."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ..pricing._usage import Usage
from ._http import ReportError, get_json
from ._reports import (
    ProviderReport,
    ReportedCost,
    ReportedUsage,
    count,
    day_of_unix,
    day_start,
    pages,
    results,
    text,
)

BASE_URL = "https://api.openai.com/v1"
KEY_ENV = "OPENAI_ADMIN_KEY"
# OpenAI's service tiers as costbook's tables name them
_TIERS = {None: "standard", "default": "standard", "auto": "standard", "scale": "standard"}


def read_openai(base_url: str, key: str, key_name: str, since: date, until: date) -> (
        ProviderReport):
    """The usage and cost reports for the days ``since`` to ``until`` (inclusive)."""
    base = base_url.rstrip("/")
    window = {
        "start_time": int(day_start(since).timestamp()),
        "end_time": int(day_start(until + timedelta(days=1)).timestamp()),
        "bucket_width": "1d",
    }
    headers = {"Authorization": f"Bearer {key}"}

    def fetch(path: str, group_by: list[str], limit: int) -> Any:
        url = f"{base}{path}"
        return lambda page: get_json(url, {**window, "group_by": group_by, "limit": limit,
                                           "page": page}, headers, key_name=key_name)

    usage_url = f"{base}/organization/usage/completions"
    usage = [
        _usage_row(row, bucket, usage_url)
        for bucket in pages(fetch("/organization/usage/completions",
                                  ["model", "project_id", "batch", "service_tier"], 31),
                            usage_url)
        for row in results(bucket, usage_url)
    ]
    costs_url = f"{base}/organization/costs"
    costs = [
        _cost_row(row, bucket, costs_url)
        for bucket in pages(fetch("/organization/costs", ["project_id", "line_item"], 180),
                            costs_url)
        for row in results(bucket, costs_url)
    ]
    return ProviderReport("openai", tuple(usage), tuple(costs))


def _usage_row(row: Mapping[str, Any], bucket: Mapping[str, Any], where: str) -> ReportedUsage:
    text_in = count(row, "input_tokens", where)
    audio_in = count(row, "input_audio_tokens", where)
    audio_out = count(row, "output_audio_tokens", where)
    tier = text(row, "service_tier")
    batch = row.get("batch") is True
    return ReportedUsage(
        day=day_of_unix(bucket.get("start_time"), where),
        model=text(row, "model"),
        project=text(row, "project_id"),
        usage=Usage(
            input_tokens=text_in + audio_in,
            cache_read_tokens=min(count(row, "input_cached_tokens", where), text_in),
            audio_input_tokens=audio_in,
            output_tokens=count(row, "output_tokens", where) + audio_out,
            audio_output_tokens=audio_out,
            requests=count(row, "num_model_requests", where),
        ),
        requests=count(row, "num_model_requests", where),
        service_tier="batch" if batch else _TIERS.get(tier, tier or "standard"),
    )


def _cost_row(row: Mapping[str, Any], bucket: Mapping[str, Any], where: str) -> ReportedCost:
    amount = row.get("amount")
    value = amount.get("value") if isinstance(amount, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ReportError(f"{where}: a cost has no amount.value number: {amount!r:.80}")
    currency = amount.get("currency") if isinstance(amount, Mapping) else None
    if currency not in (None, "usd", "USD"):
        raise ReportError(f"{where}: a cost is in {currency!r}; costbook reconciles USD")
    line_item = text(row, "line_item")
    model = line_item.split(",", 1)[0].strip() if line_item else None
    return ReportedCost(day=day_of_unix(bucket.get("start_time"), where), model=model,
                        project=text(row, "project_id"), amount=Decimal(value),
                        line_item=line_item)
