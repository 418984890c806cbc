"""What a provider's usage and cost reports say, read into one shape for every provider:
usage per day and group (model, project), and cost per day and group."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from ..pricing._usage import Usage
from ._http import ReportError

PROJECT_TAG = "project"
"""The ledger tag that files a tracked call under a provider's project or workspace."""

NO_USAGE = Usage(requests=0)
"""A usage of nothing at all, to sum from."""

MAX_PAGES = 1000
"""Pages read from one report at most: a window needs a few."""


@dataclass(frozen=True)
class ReportedUsage:
    """Usage a provider reports for one day and group. ``requests`` is None where the
    report does not count requests (Anthropic's); ``service_tier`` is costbook's name for
    the request mode (``standard``, ``batch``, ``flex``, ``priority``); ``long_context``
    says the report put this usage in the model's long-context price tier."""

    day: date
    model: str | None
    project: str | None
    usage: Usage
    requests: int | None
    service_tier: str = "standard"
    long_context: bool = False


@dataclass(frozen=True)
class ReportedCost:
    """A cost a provider reports for one day and group, in USD."""

    day: date
    model: str | None
    project: str | None
    amount: Decimal
    line_item: str | None = None


@dataclass(frozen=True)
class ProviderReport:
    """A provider's reports for a window: its usage rows and its cost rows (empty where
    the provider publishes no cost report)."""

    provider: str
    usage: tuple[ReportedUsage, ...]
    costs: tuple[ReportedCost, ...]


def pages(fetch: Callable[[str | None], Any], where: str) -> Iterator[Mapping[str, Any]]:
    """The buckets of every page of a paged report: ``fetch(page)`` gets one page (None
    for the first), which has ``data`` (buckets), ``has_more`` and ``next_page``."""
    page: str | None = None
    for _ in range(MAX_PAGES):
        answer = fetch(page)
        if not isinstance(answer, Mapping) or not isinstance(answer.get("data"), list):
            raise ReportError(f"{where}: the answer has no 'data' list of buckets")
        for bucket in answer["data"]:
            if not isinstance(bucket, Mapping):
                raise ReportError(f"{where}: a bucket is not an object: {bucket!r:.80}")
            yield bucket
        page = answer.get("next_page")
        if not answer.get("has_more") or not page:
            return
    raise ReportError(f"{where}: more than {MAX_PAGES} pages; ask for a shorter window")


def results(bucket: Mapping[str, Any], where: str) -> list[Mapping[str, Any]]:
    """A bucket's result rows (objects), or an error naming the report."""
    rows = bucket.get("results")
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise ReportError(f"{where}: a bucket has no 'results' list of objects")
    return rows


def count(row: Mapping[str, Any], name: str, where: str) -> int:
    """A whole, non-negative count from a report row (null or absent is 0)."""
    value = row.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value < 0 \
            or value != int(value):
        raise ReportError(f"{where}: {name} is {value!r}, not a whole number of 0 or more")
    return int(value)


def text(row: Mapping[str, Any], name: str) -> str | None:
    """A group value from a report row (None when null or absent)."""
    value = row.get(name)
    return None if value is None else str(value)


def day_of_unix(seconds: Any, where: str) -> date:
    """The UTC day of a bucket start given in Unix seconds."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, Decimal)):
        raise ReportError(f"{where}: a bucket's start_time is {seconds!r}, not Unix seconds")
    return datetime.fromtimestamp(int(seconds), timezone.utc).date()


def day_of_text(value: Any, where: str) -> date:
    """The UTC day of a bucket start given as RFC 3339 text or a plain date."""
    if not isinstance(value, str):
        raise ReportError(f"{where}: a bucket's start is {value!r}, not a date")
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ReportError(f"{where}: a bucket's start is {value!r}, not a date") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.date()


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
