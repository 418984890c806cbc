"""Budgets: a limit on ledger spend over a window, enforced by reserving before a call."""

from __future__ import annotations

import logging
import math
import os
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._errors import BudgetExceeded
from ..ledger._ledger import Ledger, cost_amount, make_entry
from ..pricing._cost import Cost
from ..pricing._money import amount_of, money_text, usd
from ..records._entry import EXACT, Entry, format_time
from ..records._listeners import recorded as notify
from ..records._store import EntryFilter
from ..records._tags import check_tags

if TYPE_CHECKING:
    from ._burndown import BurnDown

log = logging.getLogger("costbook.ledger")

WINDOWS: tuple[str, ...] = ("total", "day", "month")
DEFAULT_TTL = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """A budget at one moment: its limit, the window's start (None for ``total``), the
    spend in it, the open reservations, and what is left to reserve (negative when actual
    costs went past the limit). ``overrun`` is what commits in the window cost above their
    reservations (included in ``spent``); ``late`` counts commits whose reservation had
    lapsed first. ``refused`` counts the calls the budget's window saw refused by a limit
    before sending (with the budget's tags), and ``risked`` is what they would have risked
    (their estimates' high bounds); neither counts as spend."""

    limit: Decimal
    window: str
    since: datetime | None
    tags: Mapping[str, str]
    spent: Decimal
    reserved: Decimal
    remaining: Decimal
    overrun: Decimal = Decimal(0)
    late: int = 0
    refused: int = 0
    risked: Decimal = Decimal(0)

    @property
    def exhausted(self) -> bool:
        """Whether nothing more can be reserved."""
        return self.remaining <= 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts as exact decimal strings."""
        return {
            "limit": money_text(self.limit),
            "window": self.window,
            "since": format_time(self.since) if self.since else None,
            "tags": dict(self.tags),
            "spent": money_text(self.spent),
            "reserved": money_text(self.reserved),
            "remaining": money_text(self.remaining),
            "exhausted": self.exhausted,
            "overrun": money_text(self.overrun),
            "late": self.late,
            "refused": self.refused,
            "risked": money_text(self.risked),
        }


class Budget:
    """A limit on what a ledger may spend over a window, counted in UTC.

    ``window`` is ``"total"`` (all time), ``"day"`` or ``"month"`` (the current UTC day or
    calendar month). With ``tags``, only entries carrying all of them count, and only
    reservations made by budgets with those tags. Before a call, :meth:`reserve` its
    upper bound; after it, commit the reservation with the actual cost. ``ttl`` is how long
    an uncommitted reservation holds; one left by a process that died holds nothing from the
    moment its death is seen on the same host, and expires after ``ttl`` seen from another.
    Several processes sharing the ledger file share the budget.
    """

    def __init__(
        self,
        limit: Decimal | int | str,
        *,
        ledger: Ledger,
        window: str = "total",
        tags: Mapping[str, str] | None = None,
        ttl: float | timedelta = DEFAULT_TTL,
    ) -> None:
        if not isinstance(ledger, Ledger):
            raise TypeError(f"ledger must be a costbook.Ledger, got {type(ledger).__name__}")
        if window not in WINDOWS:
            raise ValueError(f"window must be one of {', '.join(WINDOWS)}, got {window!r}")
        self._limit = amount_of(limit, "limit")
        if self._limit < 0:
            raise ValueError(f"limit must be 0 or more, got {limit}")
        self._ledger = ledger
        self._window = window
        self._tags = check_tags(tags)
        self._ttl = _ttl(ttl)
        self._name: str | None = None

    @classmethod
    def named(
        cls, name: str, *, ledger: Ledger, ttl: float | timedelta = DEFAULT_TTL
    ) -> Budget:
        """The budget kept in ``ledger`` under ``name`` (see :meth:`Ledger.set_budget`, or
        ``costbook budget set``), with its limit, window and tags. An unknown name raises
        a LookupError listing the known ones."""
        if not isinstance(ledger, Ledger):
            raise TypeError(f"ledger must be a costbook.Ledger, got {type(ledger).__name__}")
        from ..ledger._named_budgets import get

        kept = get(ledger.store, name)
        budget = cls(kept.limit, ledger=ledger, window=kept.window, tags=kept.tags, ttl=ttl)
        budget._name = kept.name
        return budget

    @property
    def name(self) -> str | None:
        """The name it is kept under in the ledger (None for a budget made in code)."""
        return self._name

    @property
    def limit(self) -> Decimal:
        return self._limit

    @property
    def ledger(self) -> Ledger:
        return self._ledger

    @property
    def window(self) -> str:
        return self._window

    @property
    def tags(self) -> Mapping[str, str]:
        return dict(self._tags)

    @property
    def ttl(self) -> timedelta:
        return self._ttl

    def window_start(self, now: datetime | None = None) -> datetime | None:
        """The start of the current window in UTC (None for ``total``)."""
        moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
        if self._window == "day":
            return moment.replace(hour=0, minute=0, second=0, microsecond=0)
        if self._window == "month":
            return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return None

    def _where(self) -> EntryFilter:
        return EntryFilter(since=self.window_start(), tags=tuple(sorted(self._tags.items())))

    def status(self) -> BudgetStatus:
        """Limit, spend, reservations and what remains, read at one moment, with the calls
        refused in the window."""
        where = self._where()
        status = self._status(where)
        rows = self._ledger.store.report((), replace(where, status="refused"))
        if not rows:
            return status
        return replace(status, refused=rows[0].refused, risked=rows[0].risked)

    def _status(self, where: EntryFilter) -> BudgetStatus:
        spent, reserved = self._ledger.store.spend(where, self._tags)
        overrun, late = self._ledger.store.overruns(where)
        return BudgetStatus(
            limit=self._limit,
            window=self._window,
            since=where.since,
            tags=dict(self._tags),
            spent=spent,
            reserved=reserved,
            remaining=EXACT.subtract(EXACT.subtract(self._limit, spent), reserved),
            overrun=overrun,
            late=late,
        )

    def burn_down(self, now: datetime | None = None) -> BurnDown:
        """How the window's spend grew up to ``now`` (default: the current time): a
        :class:`~costbook.budgets._burndown.BurnDown` of cumulative spend per hour (a day's
        window) or per day, with the limit and the status, for a chart against the limit."""
        from ._burndown import burn_down

        return burn_down(self, now)

    def spent(self) -> Decimal:
        """The ledger's spend in the current window (with the budget's tags)."""
        return self._status(self._where()).spent

    def reserved(self) -> Decimal:
        """The open reservations counting against this budget."""
        return self._status(self._where()).reserved

    def remaining(self) -> Decimal:
        """What can still be reserved: limit - spent - reserved (negative when actual
        costs went past the limit)."""
        return self._status(self._where()).remaining

    def reserve(self, amount: Decimal | int | str | Cost | object) -> Reservation:
        """Set ``amount`` aside for a call, or raise :class:`BudgetExceeded` when spent +
        reserved + amount would pass the limit. Checked and written in one transaction,
        so concurrent processes cannot together overspend.

        ``amount`` is an amount, a :class:`Cost`, or an estimate with a ``high`` bound.
        """
        asked = _asked(amount)
        if asked < 0:
            raise ValueError(f"a reservation must be 0 or more, got {asked}")
        expires = datetime.now(timezone.utc) + self._ttl
        outcome = self._ledger.store.reserve(
            asked, limit=self._limit, where=self._where(), tags=self._tags, expires=expires
        )
        if outcome.reservation_id is None:
            raise BudgetExceeded(
                self._refusal(asked, outcome.spent, outcome.reserved),
                limit=self.limit, spent=outcome.spent, reserved=outcome.reserved, asked=asked,
            )
        return Reservation(self, outcome.reservation_id, asked, expires)

    def _refusal(self, asked: Decimal, spent: Decimal, reserved: Decimal) -> str:
        left = EXACT.subtract(EXACT.subtract(self._limit, spent), reserved)
        named = f"{self._name!r} " if self._name else ""
        return (
            f"budget {named}of {usd(self._limit)} ({self._describe()}) exceeded: asked "
            f"{usd(asked)}, "
            f"spent {usd(spent)}, reserved {usd(reserved)}, limit {usd(self._limit)}; "
            f"{usd(max(left, Decimal(0)))} left"
        )

    def _describe(self) -> str:
        scope = {"total": "all time", "day": "today, UTC", "month": "this month, UTC"}
        text = scope[self._window]
        if self._tags:
            text += ", tags " + " ".join(f"{k}={v}" for k, v in sorted(self._tags.items()))
        return text

    def __repr__(self) -> str:
        tags = f", tags={self._tags!r}" if self._tags else ""
        if self._name is not None:
            tags += f", name={self._name!r}"
        return f"Budget({money_text(self._limit)!r}, window={self._window!r}{tags})"


@dataclass(eq=False)
class Reservation:
    """Money set aside by :meth:`Budget.reserve` until the call's cost is known.

    :meth:`commit` replaces it with the actual cost; :meth:`release` drops it. Used as a
    context manager, leaving the block releases it unless it was committed (so an error
    inside never leaves it holding money). Uncommitted, it expires at ``expires``.
    """

    budget: Budget
    id: int
    amount: Decimal
    expires: datetime
    state: str = field(default="open")

    @property
    def open(self) -> bool:
        """Whether it still holds money (neither committed nor released)."""
        return self.state == "open"

    def commit(
        self,
        entry_or_cost: Entry | Cost,
        *,
        tags: Mapping[str, str] | None = None,
        request_id: str | None = None,
        reported_cost: Decimal | int | str | None = None,
        estimate: object = None,
        status: str = "ok",
        duration: float | timedelta | None = None,
        at: datetime | None = None,
        spool: bool = False,
        asked_model: str | None = None,
    ) -> Entry:
        """Replace the reservation with the actual cost; the recorded entry is returned.

        Given a :class:`Cost`, records it (with the budget's tags added to ``tags`` and
        the other arguments of :meth:`Ledger.record`) and drops the reservation in the
        same transaction. Given an :class:`Entry` already recorded in the budget's ledger,
        drops the reservation; the entry must carry the budget's tags, or its cost would
        not count against the budget. With ``spool=True``, a ledger that cannot be written
        keeps the entry in its spool (see :meth:`Ledger.keep`) instead of raising.
        """
        self._require_open("commit")
        budget_tags = self.budget.tags
        if isinstance(entry_or_cost, Entry):
            given = dict(tags=tags, request_id=request_id, reported_cost=reported_cost,
                         estimate=estimate, duration=duration, at=at, asked_model=asked_model)
            extra = sorted(k for k, v in given.items() if v is not None)
            if extra or status != "ok":
                raise ValueError(
                    "an Entry is recorded already; commit(entry) takes no "
                    f"{', '.join(extra) or 'status'}"
                )
            missing = {k: v for k, v in budget_tags.items() if entry_or_cost.tags.get(k) != v}
            if missing:
                raise ValueError(
                    f"entry {entry_or_cost.id} lacks the budget's tags "
                    f"{_tag_text(missing)}, so its cost would not count against the budget; "
                    "record it with those tags"
                )
            settled = self.budget.ledger.store.settle(self.id, entry_or_cost, self.amount)
            self._settled()
            return settled
        if not isinstance(entry_or_cost, Cost):
            raise TypeError(
                "commit takes the recorded Entry or the call's Cost, got "
                f"{type(entry_or_cost).__name__}"
            )
        merged = dict(check_tags(tags))
        clash = {k: v for k, v in budget_tags.items() if merged.get(k, v) != v}
        if clash:
            raise ValueError(
                f"tags {_tag_text({k: merged[k] for k in clash})} differ from the budget's "
                f"{_tag_text(clash)}; its cost would not count against the budget"
            )
        merged.update(budget_tags)
        entry = make_entry(
            entry_or_cost, tags=merged, request_id=request_id, reported_cost=reported_cost,
            estimate=estimate, status=status, duration=duration, at=at, asked_model=asked_model,
        )
        if spool:
            recorded = self.budget.ledger.keep(entry, settle=self.id, reserved=self.amount)
        else:
            recorded = notify(self.budget.ledger.store.append(
                entry, settle=self.id, reserved=self.amount
            ))
        self._settled()
        return recorded

    def release(self) -> None:
        """Drop the reservation (the call was not made). Releasing twice does nothing."""
        if self.state == "committed":
            raise RuntimeError(f"reservation {self.id} was committed; it cannot be released")
        if self.state == "open":
            self.budget.ledger.store.release(self.id)
            self._settled("released")

    def renew(self, ttl: float | timedelta | None = None) -> bool:
        """Hold the money for ``ttl`` more from now (default: the budget's ttl). False when
        the reservation had lapsed already (its money was free for others): nothing is held
        then, and its commit will be marked ``late``."""
        if self.state != "open":
            return False
        expires = datetime.now(timezone.utc) + (self.budget.ttl if ttl is None else _ttl(ttl))
        if not self.budget.ledger.store.renew(self.id, expires):
            return False
        self.expires = expires
        return True

    def keep_alive(self) -> Reservation:
        """Renew the reservation in the background, before it expires, until it is
        committed or released (or dropped): it then lives as long as the call it holds
        money for, however long that takes. Returns the reservation."""
        _KEEPER.add(self)
        return self

    def _settled(self, state: str = "committed") -> None:
        self.state = state
        _KEEPER.discard(self)

    def _require_open(self, action: str) -> None:
        if self.state != "open":
            raise RuntimeError(f"reservation {self.id} was {self.state}; it cannot {action}")

    def __enter__(self) -> Reservation:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.state == "open":
            self.release()

    def __repr__(self) -> str:
        return (
            f"Reservation(id={self.id}, amount={money_text(self.amount)!r}, "
            f"state={self.state!r})"
        )


class _Keeper:
    """One background thread that renews kept-alive reservations when half their ttl has
    passed; it runs only while there are some."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: weakref.WeakSet[Reservation] = weakref.WeakSet()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    def add(self, reservation: Reservation) -> None:
        with self._lock:
            self._kept.add(reservation)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="costbook-reservations", daemon=True
                )
                self._thread.start()
            self._wake.set()

    def discard(self, reservation: Reservation) -> None:
        with self._lock:
            self._kept.discard(reservation)

    def forget_all(self) -> None:
        """In a forked child: the parent's reservations are the parent's to keep."""
        self._kept = weakref.WeakSet()
        self._thread = None
        self._lock = threading.Lock()

    def _run(self) -> None:
        while True:
            with self._lock:
                kept = [r for r in self._kept if r.open]
                if not kept:
                    self._thread = None
                    return
                self._wake.clear()
            now = datetime.now(timezone.utc)
            for reservation in kept:
                ttl = reservation.budget.ttl
                if reservation.expires - now <= ttl / 2:
                    try:
                        if not reservation.renew():
                            self.discard(reservation)
                    except Exception as exc:  # a locked ledger: try again next round
                        log.warning("could not renew reservation %d: %s", reservation.id, exc)
            pause = min(r.budget.ttl for r in kept).total_seconds() / 4
            self._wake.wait(min(max(pause, 0.02), 30.0))


_KEEPER = _Keeper()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_KEEPER.forget_all)


def _asked(amount: object) -> Decimal:
    if isinstance(amount, (Cost, Decimal, int, str, float)):
        return cost_amount(amount, "amount")
    high = getattr(amount, "high", None)
    if high is not None:
        return cost_amount(high, "amount.high")
    raise TypeError(
        "reserve takes an amount, a costbook.Cost or an estimate with a high bound, got "
        f"{type(amount).__name__}"
    )


def _ttl(ttl: float | timedelta) -> timedelta:
    if isinstance(ttl, timedelta):
        value = ttl
    elif isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and math.isfinite(ttl):
        value = timedelta(seconds=ttl)
    else:
        raise TypeError(f"ttl must be seconds or a timedelta, got {ttl!r}")
    if value <= timedelta(0):
        raise ValueError(f"ttl must be more than 0 seconds, got {ttl!r}")
    return value


def _tag_text(tags: Mapping[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(tags.items()))
