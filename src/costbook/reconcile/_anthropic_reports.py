"""Anthropic's organization reports: ``GET /v1/organizations/usage_report/messages``
(uncached input, cache reads, 5-minute and 1-hour cache writes, output and web searches,
by day, model, workspace, service tier and context window) and
``GET /v1/organizations/cost_report`` (by day, workspace and description; amounts in
cents as decimal text), read with an admin key."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ..pricing._usage import Usage
from ._http import ReportError, get_json
from ._reports import (
    ProviderReport,
    ReportedCost,
    ReportedUsage,
    count,
    day_of_text,
    day_start,
    pages,
    results,
    text,
)

BASE_URL = "https://api.anthropic.com"
KEY_ENV = "ANTHROPIC_ADMIN_KEY"
API_VERSION = "2023-06-01"
_CENTS = Decimal(100)


def read_anthropic(base_url: str, key: str, key_name: str, since: date, until: date) -> (
        ProviderReport):
    """The usage and cost reports for the days ``since`` to ``until`` (inclusive)."""
    base = base_url.rstrip("/")
    window = {
        "starting_at": day_start(since).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ending_at": day_start(until + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "bucket_width": "1d",
    }
    headers = {"x-api-key": key, "anthropic-version": API_VERSION}

    def fetch(url: str, group_by: list[str], limit: int) -> Any:
        return lambda page: get_json(url, {**window, "group_by[]": group_by, "limit": limit,
                                           "page": page}, headers, key_name=key_name)

    usage_url = f"{base}/v1/organizations/usage_report/messages"
    usage = [
        _usage_row(row, bucket, usage_url)
        for bucket in pages(fetch(usage_url, ["model", "workspace_id", "service_tier",
                                              "context_window"], 31), usage_url)
        for row in results(bucket, usage_url)
    ]
    cost_url = f"{base}/v1/organizations/cost_report"
    costs = [
        _cost_row(row, bucket, cost_url)
        for bucket in pages(fetch(cost_url, ["workspace_id", "description"], 31), cost_url)
        for row in results(bucket, cost_url)
    ]
    return ProviderReport("anthropic", tuple(usage), tuple(costs))


def _usage_row(row: Mapping[str, Any], bucket: Mapping[str, Any], where: str) -> ReportedUsage:
    writes = row.get("cache_creation")
    writes = writes if isinstance(writes, Mapping) else {}
    five_minute = count(writes, "ephemeral_5m_input_tokens", where)
    one_hour = count(writes, "ephemeral_1h_input_tokens", where)
    reads = count(row, "cache_read_input_tokens", where)
    tools = row.get("server_tool_use")
    tools = tools if isinstance(tools, Mapping) else {}
    return ReportedUsage(
        day=day_of_text(bucket.get("starting_at"), where),
        model=text(row, "model"),
        project=text(row, "workspace_id"),
        usage=Usage(
            input_tokens=count(row, "uncached_input_tokens", where) + reads + five_minute
            + one_hour,
            cache_read_tokens=reads,
            cache_write_tokens=five_minute + one_hour,
            cache_write_1h_tokens=one_hour,
            output_tokens=count(row, "output_tokens", where),
            web_searches=count(tools, "web_search_requests", where),
            requests=0,  # the report does not count requests
        ),
        requests=None,
        service_tier=text(row, "service_tier") or "standard",
        long_context=text(row, "context_window") == "200k-1M",
    )


def _cost_row(row: Mapping[str, Any], bucket: Mapping[str, Any], where: str) -> ReportedCost:
    raw = row.get("amount")
    try:
        cents = Decimal(str(raw)) if isinstance(raw, (str, int, Decimal)) else None
    except InvalidOperation:
        cents = None
    if cents is None or not cents.is_finite():
        raise ReportError(f"{where}: a cost's amount is {raw!r}, not a decimal number")
    if row.get("currency") not in (None, "USD"):
        raise ReportError(f"{where}: a cost is in {row.get('currency')!r}; costbook "
                          "reconciles USD")
    return ReportedCost(day=day_of_text(bucket.get("starting_at"), where),
                        model=text(row, "model"), project=text(row, "workspace_id"),
                        amount=cents / _CENTS, line_item=text(row, "description"))
