"""Entry: one recorded call in a ledger, with its usage, its exact cost and its tags."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow, Rounded
from typing import Any

from ..pricing._cost import Cost
from ..pricing._money import money_text
from ..pricing._usage import USAGE_FIELDS, Usage

EXACT = Context(prec=1000, traps=[Inexact, Rounded, InvalidOperation, Overflow])
"""The arithmetic of ledger amounts: sums and differences that never round (a result
that would need rounding raises instead of being silently changed)."""

EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime.max.replace(tzinfo=timezone.utc)
"""The times an entry may have: from the Unix epoch to the end of year 9999, UTC."""

STATUSES: tuple[str, ...] = (
    "ok", "error", "incomplete", "invalid_usage", "unpriced", "refused", "imported",
)
"""What became of a call: answered (``ok``), failed (``error``), cut short
(``incomplete``: a stream closed early or broken, with the usage known so far), answered
with a usage that could not be read as given (``invalid_usage``: a negative count, a part
larger than its total, ...; recorded with what could be read and counted), answered by
a model, or with a usage part, that no pricing table prices (``unpriced``: its cost is the
provider's reported charge, or 0 when the answer reported none), or refused by a budget,
a ``max_cost`` block or ``unknown_models="refuse"`` before it was sent (``refused``: cost
0, with the estimate that was refused and the limit in the tag :data:`REFUSED_BY`), or
usage a provider's report holds that no tracked call recorded (``imported``: one entry per
day and group, at the provider's reported cost; its estimate is costbook's price of it).

A status is added here alone: the stores accept every status listed (SQLite keeps them
in its ``statuses`` table, PostgreSQL in its check), on the first write-enabled open."""

NOT_SENT: tuple[str, ...] = ("refused",)
"""Statuses of calls that were never sent: they are no calls in a report's ``calls``, and
never count as spend; reports count them apart, with the spend they would have risked
(their estimates' high bounds)."""

REFUSED_BY = "refused_by"
"""The tag of a ``refused`` entry that names the limit that refused it."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One call as the ledger holds it.

    ``time`` is when the call happened, in UTC. ``total`` is what the call counts as spend
    (in totals, reports and budgets) and ``items`` its breakdown: the cost from the pricing
    tables, or for an ``unpriced`` entry the provider's reported charge (item
    ``reported``), 0 when it reported none. ``reported_cost`` is what the provider said it
    charged, where it says; ``asked_model`` is the model the request asked for when another
    answered (a router's fallback, ``openrouter/auto``, an Azure deployment name);
    ``estimate_low`` and ``estimate_high`` are the pre-flight bounds, where there was an
    estimate (both equal when a single amount was given). ``duration`` is in seconds.
    ``overrun`` is the cost above the budget reservation it settled (None when within it,
    or when no reservation was settled); ``late`` says that reservation had lapsed before
    the commit (its money was no longer held). An entry holds no API key, header, prompt or
    response text.

    ``unreadable`` is empty for every entry costbook wrote. A row stored otherwise (by
    another program, or damaged) is still read: each value not in the form costbook
    writes is kept there as its stored text, by column (``time``, ``usage``, ``cost``,
    ...), and its field holds what could be read from it, else a stand-in: the Unix epoch
    for a time, zero usage or cost, no other amount, empty items and tags.
    """

    id: int
    time: datetime
    provider: str
    model: str
    usage: Usage
    total: Decimal
    items: Mapping[str, Decimal]
    status: str = "ok"
    request_id: str | None = None
    reported_cost: Decimal | None = None
    estimate_low: Decimal | None = None
    estimate_high: Decimal | None = None
    duration: float | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    effective: date | None = None
    currency: str = "USD"
    overrun: Decimal | None = None
    late: bool = False
    unreadable: Mapping[str, str] = field(default_factory=dict)
    asked_model: str | None = None

    @property
    def cost(self) -> Cost:
        """The table cost of the call as a :class:`~costbook.Cost`."""
        return Cost(
            total=self.total,
            items=dict(self.items),
            model=self.model,
            provider=self.provider,
            usage=self.usage,
            effective=self.effective,
            currency=self.currency,
        )

    @property
    def refused_by(self) -> str | None:
        """The limit that refused the call, for a ``refused`` entry (else None)."""
        return self.tags.get(REFUSED_BY) if self.status == "refused" else None

    @property
    def drift(self) -> Decimal | None:
        """What the provider reported minus the table cost; None when nothing was reported."""
        if self.reported_cost is None:
            return None
        return EXACT.subtract(self.reported_cost, self.total)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts are exact decimal strings, the time ISO 8601 in UTC.
        An entry with :attr:`unreadable` values gives their stored text, and has them
        under ``unreadable`` too."""

        def text(amount: Decimal | None) -> str | None:
            return None if amount is None else money_text(amount)

        data = {
            "id": self.id,
            "time": self.unreadable.get("time") or format_time(self.time),
            "provider": self.provider,
            "model": self.model,
            "request_id": self.request_id,
            "status": self.status,
            "usage": self.usage.as_dict(),
            "cost": money_text(self.total),
            "cost_items": {part: money_text(value) for part, value in self.items.items()},
            "currency": self.currency,
            "effective": self.effective.isoformat() if self.effective else None,
            "reported_cost": text(self.reported_cost),
            "estimate_low": text(self.estimate_low),
            "estimate_high": text(self.estimate_high),
            "duration": self.duration,
            "tags": dict(self.tags),
            "overrun": text(self.overrun),
            "late": self.late,
            "asked_model": self.asked_model,
        }
        if self.unreadable:
            data["unreadable"] = dict(self.unreadable)
        return data


AMOUNT_DIGITS = 100
"""A stored amount is readable when it is a finite decimal under 1E+101 with at most
this many decimal places (as costbook writes every amount). Any other stored value (text
that is no number, NaN, an infinity) is damage: it counts as 0 in every total, report and
budget, :meth:`Entry.unreadable` holds its stored text, and ``Ledger.check()`` counts it."""


def readable_amount(value: object) -> Decimal | None:
    """A stored amount as a Decimal, or None when it is not readable (see
    :data:`AMOUNT_DIGITS`)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        return None
    try:
        amount = Decimal(value)
    except (ValueError, ArithmeticError):
        return None
    if not amount.is_finite():
        return None
    if amount and (amount.adjusted() > AMOUNT_DIGITS
                   or amount.as_tuple().exponent < -AMOUNT_DIGITS):  # type: ignore[operator]
        return None
    return amount


def exact_sum(amounts: Iterable[Decimal]) -> Decimal:
    """The exact sum of ``amounts`` (0 for none)."""
    total = Decimal(0)
    for amount in amounts:
        total = EXACT.add(total, amount)
    return total


def format_time(moment: datetime) -> str:
    """A UTC time as fixed-width ISO 8601 text, ``2025-06-10T14:03:07.250000Z``: sorts as
    text in time order, and its first 10 and 7 characters are its day and month."""
    return utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


_LOOSE_TIME = re.compile(
    r"\s*(\d{1,4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?)?"
    r"\s*(?:Z|[+-]00:?00)?\s*"
)


def parse_time(text: str) -> datetime:
    """The inverse of :func:`format_time`. Also reads a UTC time written otherwise
    (``999-12-31T00:00:00Z``, ``2025-06-10 14:03``); raises ValueError for anything else."""
    if len(text) == 27 and text[-1] == "Z":
        try:
            return datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    match = _LOOSE_TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a UTC time like 2025-06-10T14:03:07.250000Z")
    year, month, day, hour, minute, second = (int(p or 0) for p in match.groups()[:6])
    micro = int((match.group(7) or "0").ljust(6, "0"))
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone.utc)


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be in UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def entry_time(moment: datetime, name: str = "at") -> datetime:
    """``moment`` in UTC, refused with a ValueError outside :data:`EARLIEST` to
    :data:`LATEST` (a time that cannot be stored as fixed-width ISO 8601 text)."""
    try:
        in_utc = utc(moment)
    except OverflowError:
        in_utc = None
    if in_utc is None or not EARLIEST <= in_utc <= LATEST:
        raise ValueError(
            f"{name} must be between 1970-01-01 and 9999-12-31 (UTC), got {moment!r}"
        )
    return in_utc


ROW_COLUMNS: tuple[str, ...] = (
    "id", "time", "provider", "model", "request_id", "status", *USAGE_FIELDS, "cost",
    "cost_items", "currency", "effective", "reported_cost", "estimate_low", "estimate_high",
    "duration", "tags", "overrun", "late", "asked_model",
)
"""An entry as a store gives it back: these values in this order, as stored (times,
amounts and dates as text; items and tags as JSON text)."""
_USAGE_END = 6 + len(USAGE_FIELDS)


def entry_from_row(row: Sequence[Any]) -> Entry:
    """The entry of a stored row (:data:`ROW_COLUMNS`). Never raises for what a row
    holds: a value that cannot be read is kept in :attr:`Entry.unreadable`."""
    try:
        return _read(row)
    except (ValueError, TypeError, ArithmeticError, AttributeError):
        return _read_carefully(row)


def _read(row: Sequence[Any]) -> Entry:
    (cost, items, currency, effective, reported, low, high, duration, tags, overrun,
     late, asked) = row[_USAGE_END:]
    item_map = json.loads(items)
    tag_map = json.loads(tags)
    text = row[1]
    if type(item_map) is not dict or type(tag_map) is not dict or len(text) != 27 or (
        readable_amount(cost) is None
    ):
        raise TypeError("not as costbook writes it")
    return Entry(
        id=row[0],
        time=datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=timezone.utc),
        provider=row[2],
        model=row[3],
        request_id=row[4],
        status=row[5],
        usage=Usage(**dict(zip(USAGE_FIELDS, row[6:_USAGE_END], strict=True))),
        total=Decimal(cost),
        items={part: Decimal(value) for part, value in item_map.items()},
        currency=currency,
        effective=date.fromisoformat(effective) if effective else None,
        reported_cost=None if reported is None else Decimal(reported),
        estimate_low=None if low is None else Decimal(low),
        estimate_high=None if high is None else Decimal(high),
        duration=None if duration is None else float(duration),
        tags=tag_map,
        overrun=None if overrun is None else Decimal(overrun),
        late=bool(late),
        asked_model=asked,
    )


def _read_carefully(row: Sequence[Any]) -> Entry:
    values = dict(zip(ROW_COLUMNS, row, strict=True))
    unreadable: dict[str, str] = {}

    def read(column: str, convert: Any, stand_in: Any) -> Any:
        raw = values[column]
        if raw is None:
            return None
        try:
            value = convert(raw)
        except (ValueError, TypeError, ArithmeticError, AttributeError):
            value = stand_in
        if value is stand_in or (column == "time" and format_time(value) != raw):
            unreadable[column] = raw if isinstance(raw, str) else repr(raw)
        return value

    def amount(raw: Any) -> Decimal:
        value = readable_amount(raw)
        if value is None:
            raise ValueError(raw)
        return value

    def amounts(raw: Any) -> dict[str, Decimal]:
        value = json.loads(raw)
        return {str(part): amount(each) for part, each in value.items()}

    def tags(raw: Any) -> dict[str, str]:
        value = json.loads(raw)
        if not all(isinstance(v, str) for v in value.values()):
            raise TypeError(raw)
        return {str(key): each for key, each in value.items()}

    counts = {name: values[name] for name in USAGE_FIELDS}
    try:
        usage = Usage(**counts)
    except (ValueError, TypeError):
        usage = Usage(**dict.fromkeys(USAGE_FIELDS, 0))
        unreadable["usage"] = json.dumps(counts, default=repr)
    return Entry(
        id=values["id"],
        time=read("time", parse_time, EARLIEST) or EARLIEST,
        provider=values["provider"],
        model=values["model"],
        request_id=values["request_id"],
        status=values["status"],
        usage=usage,
        total=read("cost", amount, Decimal(0)) or Decimal(0),
        items=read("cost_items", amounts, {}) or {},
        currency=values["currency"],
        effective=read("effective", date.fromisoformat, None),
        reported_cost=read("reported_cost", amount, None),
        estimate_low=read("estimate_low", amount, None),
        estimate_high=read("estimate_high", amount, None),
        duration=read("duration", float, None),
        tags=read("tags", tags, {}) or {},
        overrun=read("overrun", amount, None),
        late=bool(read("late", lambda raw: bool(int(raw)), None)),
        unreadable=unreadable,
        asked_model=values["asked_model"] if isinstance(values["asked_model"], str) else None,
    )
