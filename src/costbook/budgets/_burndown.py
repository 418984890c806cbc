"""A budget's burn-down: how its spend grew over its window, step by step, against its limit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Protocol

from ..pricing._money import money_text
from ..records._entry import EXACT, ROW_COLUMNS, format_time, readable_amount
from ..records._store import EntryFilter, LedgerStore

_TIME = ROW_COLUMNS.index("time")
_COST = ROW_COLUMNS.index("cost")


class _Stored(Protocol):
    @property
    def store(self) -> LedgerStore: ...


class Budgeted(Protocol):
    """What a burn-down reads of a budget (:class:`~costbook.budgets._budget.Budget`)."""

    @property
    def limit(self) -> Decimal: ...
    @property
    def window(self) -> str: ...
    @property
    def tags(self) -> Mapping[str, str]: ...
    @property
    def ledger(self) -> _Stored: ...
    def window_start(self, now: datetime | None = None) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class BurnPoint:
    """The spend in a budget's window from its start up to ``at`` (exclusive), in USD."""

    at: datetime
    spent: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {"at": format_time(self.at), "spent": money_text(self.spent)}


@dataclass(frozen=True, slots=True)
class BurnDown:
    """How a budget's window was spent: ``points`` of cumulative spend, one at ``start``
    and one at the end of each ``step`` (``hour`` for a day's window, else ``day``) that
    had spend (``now`` for the step under way), and one at ``now``; ``end`` is when the
    window ends (None for ``total``). ``spent``, ``reserved`` and ``remaining`` are the
    budget's status in that window."""

    limit: Decimal
    window: str
    tags: Mapping[str, str]
    step: str
    start: datetime
    end: datetime | None
    now: datetime
    points: tuple[BurnPoint, ...]
    spent: Decimal
    reserved: Decimal
    remaining: Decimal

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts as exact decimal strings, times ISO 8601 in UTC."""
        return {
            "limit": money_text(self.limit),
            "window": self.window,
            "tags": dict(self.tags),
            "step": self.step,
            "start": format_time(self.start),
            "end": format_time(self.end) if self.end else None,
            "now": format_time(self.now),
            "points": [point.as_dict() for point in self.points],
            "spent": money_text(self.spent),
            "reserved": money_text(self.reserved),
            "remaining": money_text(self.remaining),
        }


def burn_down(budget: Budgeted, now: datetime | None = None) -> BurnDown:
    """The burn-down of ``budget`` as of ``now`` (default: the current time)."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    start = budget.window_start(moment)
    tags = tuple(sorted(budget.tags.items()))
    store = budget.ledger.store
    spent_now, reserved = store.spend(EntryFilter(since=start, tags=tags), budget.tags)
    steps: dict[datetime, Decimal] = {}
    if budget.window == "day":
        step = "hour"
        assert start is not None
        for page in store.entry_rows(EntryFilter(since=start, tags=tags)):
            for row in page:
                at = _hour_end(row[_TIME], start)
                steps[at] = EXACT.add(steps.get(at, Decimal(0)), _amount(row[_COST]))
    else:
        step = "day"
        for day in store.report(["day"], EntryFilter(since=start, tags=tags)):
            at = _day_end(day.group["day"], start or moment)
            steps[at] = EXACT.add(steps.get(at, Decimal(0)), day.cost)
    if start is None:  # all time: from the first day with spend
        first = min(steps, default=None)
        day_start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        start = min(first - timedelta(days=1), day_start) if first else day_start
    points = [BurnPoint(start, Decimal(0))]
    spent = Decimal(0)
    length = timedelta(hours=1) if step == "hour" else timedelta(days=1)
    for at in sorted(steps):
        spent = EXACT.add(spent, steps[at])
        # the step under way ends now: its spend so far is known, not that of its end
        points.append(BurnPoint(moment if at - length <= moment < at else max(at, start),
                                spent))
    if points[-1].at < moment:
        points.append(BurnPoint(moment, spent))
    return BurnDown(
        limit=budget.limit,
        window=budget.window,
        tags=budget.tags,
        step=step,
        start=start,
        end=_window_end(budget.window, start),
        now=moment,
        points=tuple(points),
        spent=spent_now,
        reserved=reserved,
        remaining=EXACT.subtract(EXACT.subtract(budget.limit, spent_now), reserved),
    )


def _window_end(window: str, start: datetime) -> datetime | None:
    if window == "day":
        return start + timedelta(days=1)
    if window == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return None


def _hour_end(text: object, fallback: datetime) -> datetime:
    """The end of the hour of a stored time (a time costbook did not write: ``fallback``)."""
    try:
        hour = datetime.strptime(str(text)[:13], "%Y-%m-%dT%H").replace(tzinfo=timezone.utc)
    except ValueError:
        return fallback
    return hour + timedelta(hours=1)


def _day_end(text: str | None, fallback: datetime) -> datetime:
    """The end of a report's UTC day (a day costbook did not write: ``fallback``)."""
    try:
        day = date.fromisoformat(text or "")
    except ValueError:
        return fallback
    return datetime.combine(day, time(0), tzinfo=timezone.utc) + timedelta(days=1)


def _amount(text: object) -> Decimal:
    """A stored cost; one that cannot be read counts as 0, as everywhere."""
    value = readable_amount(text)
    return Decimal(0) if value is None else value
