"""OpenRouter's activity report: ``GET /activity`` (per UTC day and model: requests,
prompt, completion and reasoning tokens, and the USD charged), read with an API key that
may see the account's activity. Its usage and its cost come from the same rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ..pricing._usage import Usage
from ._http import ReportError, get_json
from ._reports import ProviderReport, ReportedCost, ReportedUsage, count, day_of_text, text

BASE_URL = "https://openrouter.ai/api/v1"
KEY_ENV = "OPENROUTER_API_KEY"
MAX_DAYS = 366


def read_openrouter(base_url: str, key: str, key_name: str, since: date, until: date) -> (
        ProviderReport):
    """The activity of each day from ``since`` to ``until`` (inclusive)."""
    days = (until - since).days + 1
    if days > MAX_DAYS:
        raise ReportError(f"OpenRouter's activity is read a day at a time; ask for at most "
                          f"{MAX_DAYS} days, not {days}")
    url = f"{base_url.rstrip('/')}/activity"
    headers = {"Authorization": f"Bearer {key}"}
    usage: list[ReportedUsage] = []
    costs: list[ReportedCost] = []
    for offset in range(days):
        day = since + timedelta(days=offset)
        answer: Any = get_json(url, {"date": day.isoformat()}, headers, key_name=key_name)
        rows = answer.get("data") if isinstance(answer, Mapping) else None
        if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
            raise ReportError(f"{url}: the answer has no 'data' list of objects")
        for row in rows:
            when = day_of_text(row.get("date"), url)
            model = text(row, "model")
            usage.append(ReportedUsage(
                day=when, model=model, project=None,
                usage=Usage(input_tokens=count(row, "prompt_tokens", url),
                            output_tokens=count(row, "completion_tokens", url),
                            reasoning_tokens=min(count(row, "reasoning_tokens", url),
                                                 count(row, "completion_tokens", url)),
                            requests=count(row, "requests", url)),
                requests=count(row, "requests", url),
            ))
            charged = row.get("usage")
            if isinstance(charged, bool) or not isinstance(charged, (int, Decimal)):
                raise ReportError(f"{url}: a row's usage (USD) is {charged!r}, not a number")
            costs.append(ReportedCost(day=when, model=model, project=None,
                                      amount=Decimal(charged)))
    return ProviderReport("openrouter", tuple(usage), tuple(costs))
