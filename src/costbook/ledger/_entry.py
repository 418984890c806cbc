"""Entry: one recorded call in a ledger, with its usage, its exact cost and its tags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow, Rounded
from typing import Any

from ..pricing._cost import Cost
from ..pricing._money import money_text
from ..pricing._usage import Usage

EXACT = Context(prec=1000, traps=[Inexact, Rounded, InvalidOperation, Overflow])
"""The arithmetic of ledger amounts: sums and differences that never round (a result
that would need rounding raises instead of being silently changed)."""

STATUSES: tuple[str, ...] = ("ok", "error", "incomplete", "invalid_usage")
"""What became of a call: answered (``ok``), failed (``error``), cut short
(``incomplete``: a stream closed early or broken, with the usage known so far), or answered
with a usage that could not be read as given (``invalid_usage``: a negative count, a part
larger than its total, ...; recorded with what could be read and counted)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One call as the ledger holds it.

    ``time`` is when the call happened, in UTC. ``total`` and ``items`` are the cost from
    the pricing tables; ``reported_cost`` is what the provider said it charged, where it
    says; ``estimate_low`` and ``estimate_high`` are the pre-flight bounds, where there was
    an estimate (both equal when a single amount was given). ``duration`` is in seconds.
    ``overrun`` is the cost above the budget reservation it settled (None when within it,
    or when no reservation was settled); ``late`` says that reservation had lapsed before
    the commit (its money was no longer held). An entry holds no API key, header, prompt or
    response text.
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
    def drift(self) -> Decimal | None:
        """What the provider reported minus the table cost; None when nothing was reported."""
        if self.reported_cost is None:
            return None
        return EXACT.subtract(self.reported_cost, self.total)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts are exact decimal strings, the time ISO 8601 in UTC."""

        def text(amount: Decimal | None) -> str | None:
            return None if amount is None else money_text(amount)

        return {
            "id": self.id,
            "time": format_time(self.time),
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
        }


def exact_sum(amounts: Iterable[Decimal]) -> Decimal:
    """The exact sum of ``amounts`` (0 for none)."""
    total = Decimal(0)
    for amount in amounts:
        total = EXACT.add(total, amount)
    return total


def format_time(moment: datetime) -> str:
    """A UTC time as fixed-width ISO 8601 text, ``2025-06-10T14:03:07.250000Z``: sorts as
    text in time order, and its first 10 and 7 characters are its day and month."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    """The inverse of :func:`format_time`."""
    return datetime.fromisoformat(text.removesuffix("Z")).replace(tzinfo=timezone.utc)


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be in UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
