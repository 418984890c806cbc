"""The ledger: a durable record of the calls that happened, what they cost, and sums of it."""

from __future__ import annotations

import io
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal, overload

from .._errors import LedgerError
from ..pricing._cost import Cost
from ..pricing._money import amount_of, money_text
from ..pricing._usage import MAX_COUNT, count_text
from ..records._entry import EXACT, STATUSES, Entry, entry_time, exact_sum, utc
from ..records._listeners import recorded
from ..records._store import (
    GROUP_COLUMNS,
    TAG_PREFIX,
    EntryFilter,
    LedgerStore,
    RefusedEntry,
    ReportRow,
)
from ..records._tags import SECRET, check_tags
from ..records._text import storable, storable_or_none, storable_tags, stored_form
from ._export import EXPORT_FORMATS, write_csv, write_jsonl
from ._spool import Spool

if TYPE_CHECKING:
    from ._copy import CopyResult
    from ._named_budgets import NamedBudget

# Strings shaped like provider API keys or auth headers; a ledger never stores them.

_MAX_PERCENT = Decimal(1_000_000)


class Ledger:
    """Spend records: one :class:`Entry` per call, kept in an SQLite file or a PostgreSQL
    database.

    ``Ledger(path)`` opens the ledger at ``path``, creating it when missing (``create=False``
    refuses to), or an in-memory ledger with ``":memory:"``; without a path, the ledger at
    :func:`costbook.default_ledger_path`. ``timeout`` bounds the wait for a ledger locked by
    another process, in seconds; ``durable=True`` syncs each entry to disk (survives power
    loss, not only a killed process), at a lower rate. A file that is not a costbook ledger,
    is corrupt, or was written by a newer costbook is refused with a :class:`LedgerError`
    and left untouched. ``read_only=True`` opens an existing ledger for reading alone, even
    in a folder or on a file system that cannot be written; recording then raises a
    :class:`LedgerError`.

    ``Ledger("postgresql://user@host:5432/db")`` keeps the ledger in that PostgreSQL
    database (in its schema ``costbook``), shared by processes on many hosts; it needs
    ``pip install 'costbook[postgres]'``. ``COSTBOOK_LEDGER`` may hold such a URL. There,
    ``record`` returns once the server has committed the entry with the server's own
    ``synchronous_commit`` (``on`` by default: synced to its disk, so it survives a crash of
    the server); ``durable=True`` asks for ``on`` whatever the server's setting, and
    ``durable=False`` for ``off`` (faster: an entry is written out by the server within a
    fraction of a second, and a crash of the server may lose the last ones acknowledged).

    Entries that could not be written when their call ended wait in a spool file (see
    :meth:`keep`): ``<path>.spool`` beside a ledger file, a file in this host's spool folder
    for a ledger at a URL (``COSTBOOK_SPOOL_DIR``, else ``spool`` in costbook's user data
    folder); they are written first at the ledger's next write, by any process of this host.
    A process that exits with entries still spooled says so in a log warning.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        timeout: float = 10.0,
        durable: bool | None = None,
        create: bool = True,
        read_only: bool = False,
    ) -> None:
        from ..stores._postgres_store import is_postgres_url
        from ._paths import LEDGER_ENV

        if path is None and is_postgres_url(os.environ.get(LEDGER_ENV, "")):
            path = os.environ[LEDGER_ENV].strip()
        if is_postgres_url(path):
            from ..stores._postgres_store import PostgresStore

            assert isinstance(path, str)
            self._store: LedgerStore = PostgresStore(
                path, timeout=timeout, durable=durable, create=create, read_only=read_only
            )
            self._spool = Spool.beside(self._store.location)
            return
        from ..stores._sqlite_store import SQLiteStore

        if path is None:
            from ._paths import default_ledger_path

            default = default_ledger_path()
            if create and not read_only:
                default.parent.mkdir(parents=True, exist_ok=True)
            path = default
        self._store = SQLiteStore(
            path, timeout=timeout, durable=bool(durable), create=create, read_only=read_only
        )
        self._spool = Spool.beside(self._store.location)

    @classmethod
    def from_store(cls, store: LedgerStore) -> Ledger:
        """A ledger over another storage backend (anything with the
        :class:`~costbook.records._store.LedgerStore` methods)."""
        ledger = cls.__new__(cls)
        ledger._store = store
        ledger._spool = Spool.beside(store.location)
        return ledger

    @property
    def store(self) -> LedgerStore:
        """The storage backend."""
        return self._store

    @property
    def location(self) -> str:
        """Where the entries are kept: a file path, ``:memory:``, or a URL without its
        password."""
        return self._store.location

    # -- recording ---------------------------------------------------------------------

    def record(
        self,
        cost: Cost,
        *,
        tags: Mapping[str, str] | None = None,
        request_id: str | None = None,
        reported_cost: Decimal | int | str | None = None,
        estimate: object = None,
        status: str = "ok",
        duration: float | timedelta | None = None,
        at: datetime | None = None,
        asked_model: str | None = None,
    ) -> Entry:
        """Record one call and return its :class:`Entry`, once it is committed to disk.

        ``cost`` is the call's :class:`Cost` (usage, model and provider come with it; a
        call that failed before any usage was known is a zero-usage cost with
        ``status="error"``). ``reported_cost`` is what the provider said it charged.
        ``estimate`` is the pre-flight estimate: an amount, a :class:`Cost`, or an object
        with ``low`` and ``high`` costs (an ``Estimate``). ``status`` is ``"ok"``,
        ``"error"``, ``"incomplete"``, ``"invalid_usage"`` or ``"unpriced"`` (no table
        prices the call: ``cost`` is then what counts as its spend, the provider's reported
        charge or 0); ``duration`` is in seconds;
        ``at`` is when the call happened (default: now; a naive datetime is taken as UTC;
        from 1970-01-01 to 9999-12-31 UTC). ``tags`` map strings to strings (user,
        feature, tenant, ...). ``asked_model`` is the model the request asked for, when
        another answered.
        """
        entry = make_entry(
            cost, tags=tags, request_id=request_id, reported_cost=reported_cost,
            estimate=estimate, status=status, duration=duration, at=at, asked_model=asked_model,
        )
        self._replay()
        return recorded(self._store.append(entry))

    def keep(
        self, entry: Entry, *, settle: int | None = None, reserved: Decimal | None = None
    ) -> Entry:
        """Store a checked entry (from :func:`make_entry`) after any entries waiting in
        the spool, settling the reservation ``settle``; when the ledger cannot be written,
        keep it in the spool instead, warn, and return it with id 0. For a call that
        happened: its record is never lost to a failing ledger."""
        try:
            if self._spool.has_waiting():
                self._replay()
            stored = self._store.append(entry, settle=settle, reserved=reserved)
        except RefusedEntry as exc:  # spooled, it would hold back every entry after it
            where = self._spool.reject(entry, str(exc))
            warnings.warn(
                f"{exc}; the entry of this call is kept apart in {where}", RuntimeWarning,
                stacklevel=3,
            )
            return recorded(entry)
        except LedgerError as exc:
            where = self._spool.add(entry, settle=settle)
            warnings.warn(
                f"{exc}; the entry of this call is kept in {where} and will be written into "
                "the ledger at its next write",
                RuntimeWarning,
                stacklevel=3,
            )
            return recorded(entry)
        return recorded(stored)

    def spooled(self) -> int:
        """How many entries wait in the spool to be written into the ledger."""
        return self._spool.waiting()

    @property
    def spool_path(self) -> str | None:
        """The spool file beside the ledger (None for a ledger in memory)."""
        return self._spool.path

    def replay_spool(self) -> int:
        """Write the entries waiting in the spool into the ledger, in order; the number
        written. Raises :class:`LedgerError` when the ledger still cannot be written."""
        return self._spool.replay(self._store)

    def _replay(self) -> None:
        if self._spool.has_waiting():
            self._spool.replay(self._store)

    # -- reading -----------------------------------------------------------------------

    def entries(
        self,
        since: date | datetime | None = None,
        until: date | datetime | None = None,
        model: str | None = None,
        provider: str | None = None,
        tags: Mapping[str, str] | None = None,
        *,
        status: str | None = None,
    ) -> list[Entry]:
        """The entries matching every condition given, in the order they were recorded.

        ``since`` is inclusive and ``until`` exclusive, in UTC; a date stands for its whole
        UTC day, so ``until=date(2025, 6, 30)`` includes June 30. ``model`` and
        ``provider`` match the stored ids exactly (``gpt-4o-mini``, ``openrouter``);
        ``tags`` must all be carried; ``status`` is one of ok, error, incomplete, invalid_usage,
        unpriced, refused.
        """
        where = entry_filter(since, until, model, provider, tags, status)
        return list(self._store.entries(where))

    def total(
        self,
        since: date | datetime | None = None,
        until: date | datetime | None = None,
        model: str | None = None,
        provider: str | None = None,
        tags: Mapping[str, str] | None = None,
        *,
        status: str | None = None,
    ) -> Decimal:
        """The exact summed cost of the entries :meth:`entries` would give."""
        return self._store.total(entry_filter(since, until, model, provider, tags, status))

    def report(
        self,
        by: str | Sequence[str] = "model",
        *,
        since: date | datetime | None = None,
        until: date | datetime | None = None,
        model: str | None = None,
        provider: str | None = None,
        tags: Mapping[str, str] | None = None,
        status: str | None = None,
    ) -> list[ReportRow]:
        """Spend grouped by ``by``: one row per group with its calls, every usage part
        summed, and the exact summed cost, ordered by the group values.

        ``by`` is one key or several among ``model``, ``provider``, ``day``, ``month``
        (UTC, as ``2025-06-10`` and ``2025-06``), ``status``, and tag keys: ``tag:KEY``
        always names a tag, and a plain name that is none of the above names a tag too
        (``by=["model", "team"]``). Each row's ``group`` is keyed by the names as given;
        an entry without the tag has None. ``by=()`` gives one row for everything.
        The filters are those of :meth:`entries`. Calls a limit refused (status
        ``refused``) are not among a row's ``calls``: its ``refused`` counts them and its
        ``risked`` sums their estimates' high bounds.
        """
        names = [by] if isinstance(by, str) else list(by)
        if not all(isinstance(name, str) and name.strip() for name in names):
            raise ValueError(f"report keys must be non-empty strings, got {by!r}")
        names = list(dict.fromkeys(name.strip() for name in names))
        columns = [group_column(name) for name in names]
        where = entry_filter(since, until, model, provider, tags, status)
        rows = self._store.report(columns, where)
        return [
            ReportRow(
                group={name: row.group[column] for name, column in zip(names, columns,
                                                                         strict=True)},
                calls=row.calls, usage=row.usage, cost=row.cost, refused=row.refused,
                risked=row.risked,
            )
            for row in rows
        ]

    def costliest(
        self,
        limit: int = 10,
        *,
        since: date | datetime | None = None,
        until: date | datetime | None = None,
        model: str | None = None,
        provider: str | None = None,
        tags: Mapping[str, str] | None = None,
        status: str | None = None,
    ) -> list[Entry]:
        """The ``limit`` most expensive entries among those :meth:`entries` would give,
        costliest first (of equal costs, the one recorded first)."""
        from ._costliest import costliest_entries

        where = entry_filter(since, until, model, provider, tags, status)
        return costliest_entries(self._store, where, limit)

    def tag_keys(self) -> list[str]:
        """Every tag key carried by an entry of the ledger, sorted: the keys ``report``
        can group by besides the built-in ones."""
        return self._store.tag_keys()

    @overload
    def export(
        self, fmt: Literal["csv", "jsonl"] = "csv", file: None = None, *,
        since: date | datetime | None = None, until: date | datetime | None = None,
        model: str | None = None, provider: str | None = None,
        tags: Mapping[str, str] | None = None, status: str | None = None,
    ) -> str: ...

    @overload
    def export(
        self, fmt: Literal["csv", "jsonl"], file: IO[str], *,
        since: date | datetime | None = None, until: date | datetime | None = None,
        model: str | None = None, provider: str | None = None,
        tags: Mapping[str, str] | None = None, status: str | None = None,
    ) -> int: ...

    def export(
        self,
        fmt: Literal["csv", "jsonl"] = "csv",
        file: IO[str] | None = None,
        *,
        since: date | datetime | None = None,
        until: date | datetime | None = None,
        model: str | None = None,
        provider: str | None = None,
        tags: Mapping[str, str] | None = None,
        status: str | None = None,
    ) -> str | int:
        """The matching entries as CSV (a header row, then one row per entry) or JSON
        Lines (one :meth:`Entry.as_dict` object per line). Without ``file`` the text is
        returned; with a text ``file`` it is written there (streamed, for large ledgers)
        and the number of entries written is returned. Amounts are exact decimal text;
        in CSV, ``cost_items`` and ``tags`` are JSON objects and absent values are empty.
        """
        if fmt not in EXPORT_FORMATS:
            raise ValueError(f"unknown export format {fmt!r}; use one of csv, jsonl")
        where = entry_filter(since, until, model, provider, tags, status)
        out: IO[str] = io.StringIO() if file is None else file
        if fmt == "csv":
            count = write_csv(self._store.entry_rows(where), out)
        else:
            count = write_jsonl(self._store.entry_rows(where, marked=True), out)
        if file is None:
            assert isinstance(out, io.StringIO)
            return out.getvalue()
        return count

    def drift(
        self,
        tolerance: Decimal | int | str = 0,
        *,
        since: date | datetime | None = None,
        until: date | datetime | None = None,
        model: str | None = None,
        provider: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> list[ModelDrift]:
        """Table cost against reported cost, per provider and model, for the entries that
        carry a reported cost (OpenRouter, Requesty report what they charged).

        Each :class:`ModelDrift` lists the calls whose two costs differ by more than
        ``tolerance``: an amount in USD per call (``"0.000001"``), or a percentage of the
        table cost (``"2%"``). Drift on many calls of one model is the sign of a stale
        table or of a provider's markup. Unpriced entries have no table cost to compare,
        and are left out.
        """
        allowed = parse_tolerance(tolerance)
        where = entry_filter(since, until, model, provider, tags, None, reported=True)
        groups: dict[tuple[str, str], list[Entry]] = {}
        for entry in self._store.entries(where):
            if entry.status == "unpriced":
                continue
            groups.setdefault((entry.provider, entry.model), []).append(entry)
        return [
            ModelDrift(
                provider=key[0],
                model=key[1],
                compared=len(entries),
                table_cost=exact_sum(e.total for e in entries),
                reported_cost=exact_sum(e.reported_cost or Decimal(0) for e in entries),
                drifted=tuple(e for e in entries if allowed(e)),
            )
            for key, entries in sorted(groups.items())
        ]

    def copy_to(
        self, target: Ledger, *, progress: Callable[[int, int], None] | None = None
    ) -> CopyResult:
        """Copy every entry of this ledger into ``target`` (SQLite to PostgreSQL or back),
        keeping ids and exact amounts; entries there already are not copied again, and an
        id holding another entry there is refused. ``progress(done, total)`` is called as
        it goes. See :func:`costbook.ledger._copy.copy_entries`."""
        from ._copy import copy_entries

        return copy_entries(self, target, progress=progress)

    def check(self) -> list[str]:
        """Check every stored page and index: what is damaged (the first few problems),
        or an empty list when the ledger is sound. Opening a ledger reads only its
        schema and newest entry, so that it stays fast however large the ledger grows;
        this reads all of it (about 1.5 s per million entries)."""
        return self._store.check()

    # -- named budgets and kept reconciliations ----------------------------------------

    def set_budget(
        self,
        name: str,
        limit: Decimal | int | str,
        *,
        window: str = "total",
        tags: Mapping[str, str] | None = None,
    ) -> NamedBudget | None:
        """Keep a budget in the ledger under ``name`` (1 to 64 letters, digits, ``.``,
        ``_``, ``-``): its ``limit`` in USD, its ``window`` (``total``, ``day``, ``month``)
        and ``tags``, for :meth:`Budget.named` to find from any process. A budget of the
        same name is replaced: it is returned (None when the name is new)."""
        from . import _named_budgets

        return _named_budgets.put(
            self._store, _named_budgets.make(name, limit, window, tags)
        )

    def budgets(self) -> dict[str, NamedBudget]:
        """The budgets kept in the ledger, by name, sorted."""
        from ._named_budgets import all_budgets

        return all_budgets(self._store)

    def delete_budget(self, name: str) -> NamedBudget:
        """Remove the budget kept under ``name`` and return it; an unknown name raises a
        LookupError listing the known ones."""
        from ._named_budgets import remove

        return remove(self._store, name)

    @property
    def read_only(self) -> bool:
        """Whether the ledger was opened with ``read_only=True`` (nothing can be kept)."""
        return bool(getattr(self._store, "read_only", False))

    def keep_reconciliation(self, provider: str, result: Mapping[str, Any]) -> None:
        """Keep ``result`` (a reconciliation as JSON-ready data) as the latest one with
        ``provider``, replacing the one before; the HTML report shows it."""
        import json

        text = json.dumps(dict(result), ensure_ascii=False, sort_keys=True)
        self._store.put_setting(f"reconciliation:{provider}", text)

    def reconciliations(self) -> dict[str, dict[str, Any]]:
        """The latest reconciliation kept per provider (see :meth:`keep_reconciliation`),
        by provider, sorted."""
        import json

        found: dict[str, dict[str, Any]] = {}
        for key, text in sorted(self._store.settings("reconciliation:").items()):
            try:
                value = json.loads(text)
            except ValueError:
                value = None
            # one that cannot be read is an empty dict: the report says so
            found[key.removeprefix("reconciliation:")] = value if isinstance(value, dict) \
                else {}
        return found

    # -- lifetime ----------------------------------------------------------------------

    def close(self) -> None:
        """Close the ledger's connection."""
        self._store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({self.location!r})"


@dataclass(frozen=True, slots=True)
class ModelDrift:
    """Reported against table cost for one model at one provider: ``compared`` calls had
    a reported cost; their summed table and reported costs; the calls past the tolerance."""

    provider: str
    model: str
    compared: int
    table_cost: Decimal
    reported_cost: Decimal
    drifted: tuple[Entry, ...]

    @property
    def difference(self) -> Decimal:
        """Reported minus table cost over the compared calls (positive: charged more)."""
        return EXACT.subtract(self.reported_cost, self.table_cost)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts as exact decimal strings."""
        return {
            "provider": self.provider,
            "model": self.model,
            "compared": self.compared,
            "table_cost": money_text(self.table_cost),
            "reported_cost": money_text(self.reported_cost),
            "difference": money_text(self.difference),
            "drifted": [
                {
                    "id": e.id,
                    "time": e.as_dict()["time"],
                    "request_id": e.request_id,
                    "table_cost": money_text(e.total),
                    "reported_cost": money_text(e.reported_cost or Decimal(0)),
                    "difference": money_text(e.drift or Decimal(0)),
                }
                for e in self.drifted
            ],
        }


# -- building and checking entries -------------------------------------------------------


def make_entry(
    cost: Cost,
    *,
    tags: Mapping[str, str] | None = None,
    request_id: str | None = None,
    reported_cost: Decimal | int | str | None = None,
    estimate: object = None,
    status: str = "ok",
    duration: float | timedelta | None = None,
    at: datetime | None = None,
    asked_model: str | None = None,
) -> Entry:
    """A checked :class:`Entry` (id 0 until stored) from what :meth:`Ledger.record` takes."""
    if not isinstance(cost, Cost):
        raise TypeError(
            f"cost must be a costbook.Cost (from costbook.price), got {type(cost).__name__}"
        )
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    # a sum of usages may pass the bound of one call's counts, which a ledger cannot store
    for name, value in cost.usage.as_dict().items():
        if value > MAX_COUNT:
            raise ValueError(
                f"usage {name} must be at most 2**63 - 1 ({MAX_COUNT}) to be recorded, got "
                f"{count_text(value)}; record each call on its own"
            )
    if request_id is not None:
        if not isinstance(request_id, str):
            raise TypeError(f"request_id must be a string, got {type(request_id).__name__}")
        if SECRET.search(request_id):
            raise ValueError("request_id looks like an API key; a ledger never stores secrets")
    if at is not None and not isinstance(at, datetime):
        raise TypeError(f"at must be a datetime, got {type(at).__name__}")
    if asked_model is not None and not isinstance(asked_model, str):
        raise TypeError(f"asked_model must be a string, got {type(asked_model).__name__}")
    low, high = estimate_bounds(estimate)
    return Entry(
        id=0,
        time=entry_time(at) if at is not None else datetime.now(timezone.utc),
        provider=storable(cost.provider, "provider"),
        model=storable(cost.model, "model"),
        usage=cost.usage,
        total=cost.total,
        items=dict(cost.items),
        status=status,
        request_id=storable_or_none(request_id, "request_id"),
        reported_cost=None if reported_cost is None else amount_of(
            reported_cost, "reported_cost"
        ),
        estimate_low=low,
        estimate_high=high,
        duration=seconds(duration),
        tags=storable_tags(check_tags(tags)),
        effective=cost.effective,
        currency=storable(cost.currency, "currency"),
        asked_model=storable_or_none(asked_model, "asked_model"),
    )


def cost_amount(value: object, name: str) -> Decimal:
    """The amount of a Cost (its total), or of a plain amount."""
    if isinstance(value, Cost):
        return value.total
    return amount_of(value, name)


def estimate_bounds(estimate: object) -> tuple[Decimal | None, Decimal | None]:
    """The (low, high) amounts of an estimate given as an amount, a Cost, or an object
    with ``low`` and ``high`` (each a Cost or an amount)."""
    if estimate is None:
        return None, None
    if isinstance(estimate, (Cost, Decimal, int, str, float)):
        amount = cost_amount(estimate, "estimate")
        return amount, amount
    if hasattr(estimate, "low") and hasattr(estimate, "high"):
        low = cost_amount(estimate.low, "estimate.low")
        high = cost_amount(estimate.high, "estimate.high")
        if low > high:
            raise ValueError(f"estimate low {low} is more than its high {high}")
        return low, high
    raise TypeError(
        "estimate must be an amount, a costbook.Cost, or an estimate with low and high "
        f"costs; got {type(estimate).__name__}"
    )


def seconds(duration: float | timedelta | None) -> float | None:
    """A duration in seconds, from a number or a timedelta."""
    if duration is None:
        return None
    if isinstance(duration, timedelta):
        value = duration.total_seconds()
    elif isinstance(duration, (int, float)) and not isinstance(duration, bool):
        value = float(duration)
    else:
        raise TypeError(
            f"duration must be seconds or a timedelta, got {type(duration).__name__}"
        )
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"duration must be 0 or more seconds, got {duration!r}")
    return value


def entry_filter(
    since: date | datetime | None,
    until: date | datetime | None,
    model: str | None,
    provider: str | None,
    tags: Mapping[str, str] | None,
    status: str | None,
    *,
    reported: bool = False,
) -> EntryFilter:
    """The filter of the arguments shared by :meth:`Ledger.entries` and the others."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    for name, value in (("model", model), ("provider", provider)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    start = bound(since, "since", end=False)
    stop = bound(until, "until", end=True)
    if start is not None and stop is not None and start >= stop:
        raise ValueError(f"since ({since}) must come before until ({until})")
    return EntryFilter(
        since=start,
        until=stop,
        model=None if model is None else stored_form(model),
        provider=None if provider is None else stored_form(provider),
        status=status,
        tags=tuple(sorted(
            (stored_form(key), stored_form(value)) for key, value in check_tags(tags).items()
        )),
        reported=reported,
    )


def bound(value: date | datetime | None, name: str, *, end: bool) -> datetime | None:
    """A filter bound in UTC: a datetime as is (naive taken as UTC), a date as the start
    of its UTC day, or, for an end bound, the start of the next day."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, date):
        start = datetime.combine(value, time(0), tzinfo=timezone.utc)
        return start + timedelta(days=1) if end else start
    raise TypeError(f"{name} must be a date or a datetime, got {type(value).__name__}")


def group_column(name: str) -> str:
    """A report key as the store names it: a column, or ``tag:KEY``."""
    if name in GROUP_COLUMNS:
        return name
    key = name.removeprefix(TAG_PREFIX) if name.startswith(TAG_PREFIX) else name
    if not key:
        raise ValueError("tag: needs a tag key after it, like tag:team")
    return TAG_PREFIX + key


def parse_tolerance(tolerance: Decimal | int | str) -> Callable[[Entry], bool]:
    """A predicate on entries: whether the reported cost differs from the table cost by
    more than ``tolerance`` (an amount, or a percentage of the table cost as ``"2%"``)."""
    if isinstance(tolerance, str) and tolerance.strip().endswith("%"):
        text = tolerance.strip().removesuffix("%")
        try:
            percent = Decimal(text)
        except ArithmeticError:
            raise ValueError(f"tolerance {tolerance!r} is not a percentage like 2%") from None
        if not percent.is_finite() or percent < 0:
            raise ValueError(f"tolerance must be 0% or more, got {tolerance!r}")
        if percent > _MAX_PERCENT:
            raise ValueError(
                f"tolerance {tolerance!r} is more than {_MAX_PERCENT}%; a percentage of the "
                "table cost is written like 2%"
            )

        def relative(entry: Entry) -> bool:
            limit = EXACT.multiply(abs(entry.total), percent).scaleb(-2, EXACT)
            return abs(entry.drift or Decimal(0)) > limit

        return relative
    try:
        amount = amount_of(tolerance, "tolerance")
    except ValueError:
        raise ValueError(
            f"tolerance {tolerance!r} is neither an amount in USD (0.000001) nor a "
            "percentage of the table cost (2%)"
        ) from None
    if amount < 0:
        raise ValueError(f"tolerance must be 0 or more, got {tolerance!r}")

    def absolute(entry: Entry) -> bool:
        return abs(entry.drift or Decimal(0)) > amount

    return absolute
