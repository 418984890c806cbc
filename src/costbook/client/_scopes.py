"""Spend limits for a block of code, and where tracked calls record by default."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import BudgetExceeded, CostLimitExceeded
from ..pricing._money import usd

if TYPE_CHECKING:
    from ..ledger._ledger import Ledger
    from ..records._entry import Entry

F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.RLock()
_active: list[max_cost] = []
_default_ledgers: list[Ledger] = []
_opened: dict[str, Ledger] = {}


def _as_limit(limit: Decimal | str | int) -> Decimal:
    if isinstance(limit, (float, bool)):
        raise TypeError(f"a cost limit is a Decimal, a string or an int, not {limit!r}; "
                        f"write max_cost({str(limit)!r})")
    from ..pricing._money import amount_of  # the money forms a Budget takes: 1, "0.25", "$1"

    try:
        value = amount_of(limit, "max_cost limit")
    except ValueError as exc:
        raise ValueError(f"{exc}; a cost limit is a finite amount of 0 or more") from None
    if value < 0:
        raise ValueError(f"a cost limit is a finite amount of 0 or more, got {limit!r}")
    return value


class ScopeHold:
    """A call admitted into a :class:`max_cost` block, until its cost is known."""

    def __init__(self, scope: max_cost, amount: Decimal) -> None:
        self._scope = scope
        self._amount = amount
        self._open = True

    def commit(self, entry: Entry) -> None:
        """Count the call's actual cost in place of its high bound."""
        self._scope._settle(self, entry)

    def release(self) -> None:
        """Drop the hold; nothing is counted."""
        self._scope._settle(self, None)


class max_cost:  # lower case: used like a function, `with costbook.max_cost("0.10"):`
    """A spend limit for the tracked calls made inside a block (any thread, sync or async).

    A call whose pre-flight high bound would take the block past ``limit`` is refused with
    :class:`BudgetExceeded` before it is sent; on leaving the block,
    :class:`CostLimitExceeded` (an ``AssertionError``) is raised if the actual total passed
    ``limit``. ``spent``, ``calls`` and ``entries`` can be read inside and after the block.
    Tracked clients without a ledger of their own record into ``ledger`` (default: a fresh
    in-memory ledger). Works as a decorator too, a fresh limit for each call.
    """

    def __init__(self, limit: Decimal | str | int, *, ledger: Ledger | None = None) -> None:
        self.limit: Decimal | None = _as_limit(limit)
        self._ledger = ledger
        self._provides_ledger = True
        self._reserved = Decimal(0)
        self._holds: set[ScopeHold] = set()
        self.entries: list[Entry] = []

    @property
    def ledger(self) -> Ledger:
        """The ledger the block's tracked calls record into by default."""
        with _lock:
            if self._ledger is None:
                from ..ledger._ledger import Ledger

                self._ledger = Ledger(":memory:")
            return self._ledger

    @property
    def spent(self) -> Decimal:
        """The actual cost of the calls recorded in the block so far."""
        with _lock:
            return sum((e.total for e in self.entries), Decimal(0))

    @property
    def calls(self) -> int:
        """How many tracked calls were recorded in the block (errors included)."""
        with _lock:
            return len(self.entries)

    @classmethod
    def collector(cls) -> max_cost:
        """A block without a limit that only collects the calls made inside it, and leaves
        where they record unchanged (for reports)."""
        scope = cls(0)
        scope.limit = None
        scope._provides_ledger = False
        return scope

    def admit(self, amount: Decimal) -> ScopeHold:
        """Hold ``amount`` for a call, or raise :class:`BudgetExceeded` if it would not fit."""
        with _lock:
            spent = self.spent
            if self.limit is not None and spent + self._reserved + amount > self.limit:
                raise BudgetExceeded(
                    f"max_cost limit {usd(self.limit)}: spent {usd(spent)}, reserved "
                    f"{usd(self._reserved)}, this call may cost up to {usd(amount)}; "
                    "refused before sending",
                    limit=self.limit, spent=spent, reserved=self._reserved, asked=amount,
                )
            hold = ScopeHold(self, amount)
            self._reserved += amount
            self._holds.add(hold)
            return hold

    def _settle(self, hold: ScopeHold, entry: Entry | None) -> None:
        with _lock:
            if hold in self._holds:
                self._holds.discard(hold)
                self._reserved -= hold._amount
            if entry is not None:
                self.entries.append(entry)

    def __enter__(self) -> max_cost:
        with _lock:
            _active.append(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with _lock:
            if self in _active:
                _active.remove(self)
        if exc_type is None and self.limit is not None and self.spent > self.limit:
            raise CostLimitExceeded(
                f"{self.calls} tracked call(s) cost {usd(self.spent)}, more than the limit "
                f"of {usd(self.limit)}"
            )

    def __call__(self, func: F) -> F:
        if self.limit is None:
            raise TypeError("a collector is not a decorator")
        limit, ledger = self.limit, self._ledger
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with max_cost(limit, ledger=ledger):
                    return await func(*args, **kwargs)
            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with max_cost(limit, ledger=ledger):
                return func(*args, **kwargs)
        return run  # type: ignore[return-value]


def active_scopes() -> list[max_cost]:
    """The :class:`max_cost` blocks open now, outermost first."""
    with _lock:
        return list(_active)


def push_default_ledger(ledger: Ledger) -> None:
    """Make ``ledger`` where tracked clients without a ledger record (until popped)."""
    with _lock:
        _default_ledgers.append(ledger)


def pop_default_ledger(ledger: Ledger) -> None:
    """Undo :func:`push_default_ledger`."""
    with _lock:
        if ledger in _default_ledgers:
            _default_ledgers.remove(ledger)


def ledger_for_call() -> Ledger:
    """Where a tracked call without a ledger of its own records: the innermost
    :class:`max_cost` block's ledger, else a pushed default, else the default ledger file
    (``COSTBOOK_LEDGER`` or the per-user data directory)."""
    with _lock:
        for scope in reversed(_active):
            if scope._provides_ledger:
                return scope.ledger
        if _default_ledgers:
            return _default_ledgers[-1]
        from ..ledger._ledger import Ledger
        from ..ledger._paths import default_ledger_path

        path = default_ledger_path()
        key = str(path)
        if key not in _opened:
            path.parent.mkdir(parents=True, exist_ok=True)  # a fresh machine has no folder yet
            _opened[key] = Ledger(path)
        return _opened[key]
