"""The storage interface of a ledger: what a backend (SQLite, PostgreSQL) does.

A backend stores entries (append-only: an entry is never changed or removed) and budget
reservations, and answers the few questions the ledger and budgets ask. The ledger
validates its input and shapes its answers; a backend only keeps and sums.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from .._errors import LedgerError
from ..pricing._money import money_text
from ..pricing._usage import Usage
from ._entry import Entry, format_time


class RefusedEntry(LedgerError):
    """A store refused one entry for what it holds (not for the state of the store):
    writing it again would fail again, so it must not hold back the entries after it."""


GROUP_COLUMNS: tuple[str, ...] = ("model", "provider", "day", "month", "status")
"""The keys a report groups by besides tags; a tag key is written ``tag:KEY``."""

TAG_PREFIX = "tag:"

SETTING_PREFIXES: tuple[str, ...] = ("budget:", "reconciliation:")
"""The keys a ledger keeps settings under, beside its own (schema version, ...): a named
budget (``budget:NAME``) and the latest reconciliation with a provider
(``reconciliation:PROVIDER``); each value is JSON text."""


def check_setting_key(key: str) -> str:
    """``key`` when it names a setting (it starts with one of :data:`SETTING_PREFIXES`);
    the ledger's own keys are never written as settings."""
    if not isinstance(key, str) or not key.startswith(SETTING_PREFIXES) \
            or key in SETTING_PREFIXES:
        raise ValueError(f"a setting's key starts with {' or '.join(SETTING_PREFIXES)} and "
                         f"names something after it, got {key!r}")
    return key


@dataclass(frozen=True, slots=True)
class EntryFilter:
    """Which entries a question is about; every given condition must hold.

    ``since`` is inclusive and ``until`` exclusive, both in UTC; ``tags`` are (key, value)
    pairs that an entry must all carry; ``reported`` keeps entries with a reported cost.
    """

    since: datetime | None = None
    until: datetime | None = None
    model: str | None = None
    provider: str | None = None
    status: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    reported: bool = False


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One group of a report: its key values, its number of calls, their summed usage
    (every part) and their exact summed cost. A tag key absent from an entry is None.
    ``refused`` counts the calls a limit refused before sending (not among ``calls``,
    never spend) and ``risked`` is what they would have risked: their estimates' summed
    high bounds."""

    group: Mapping[str, str | None]
    calls: int
    usage: Usage
    cost: Decimal
    refused: int = 0
    risked: Decimal = Decimal(0)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts as exact decimal strings. ``refused`` and
        ``risked`` are there when calls were refused."""
        data: dict[str, Any] = {
            **self.group,
            "calls": self.calls,
            "usage": self.usage.as_dict(),
            "cost": money_text(self.cost),
        }
        if self.refused:
            data.update(refused=self.refused, risked=money_text(self.risked))
        return data


@dataclass(frozen=True, slots=True)
class ReserveOutcome:
    """The answer to a reservation request: the reservation's id when granted (None when
    refused), with the spend and the open reservations it was checked against."""

    reservation_id: int | None
    spent: Decimal
    reserved: Decimal


@dataclass(frozen=True, slots=True)
class Hold:
    """An open reservation as a backend keeps it."""

    id: int
    amount: Decimal
    tags: Mapping[str, str]
    created: datetime
    expires: datetime


def counts_toward(hold_tags: Mapping[str, str], budget_tags: Mapping[str, str]) -> bool:
    """Whether a reservation made with ``hold_tags`` counts against a budget limited to
    ``budget_tags``: it does when it carries all of them (a budget without tags counts
    every reservation; a budget for ``user=alice`` counts those made for alice)."""
    return all(hold_tags.get(key) == value for key, value in budget_tags.items())


class LedgerStore(Protocol):
    """A ledger's storage. Every method is one transaction; the backends are
    :class:`costbook.stores._sqlite_store.SQLiteStore` and
    :class:`costbook.stores._postgres_store.PostgresStore`."""

    @property
    def location(self) -> str:
        """Where the entries are kept (a file path, ``:memory:``, a URL without password)."""
        ...

    def append(
        self,
        entry: Entry,
        *,
        settle: int | None = None,
        reserved: Decimal | None = None,
        spool_key: str | None = None,
    ) -> Entry:
        """Store ``entry`` (its ``id`` is ignored) and return it with the id it was given.
        With ``settle``, the reservation of that id (of amount ``reserved``) is removed in
        the same transaction, and the entry is marked with any cost above it (``overrun``)
        and whether the reservation had lapsed first (``late``). With ``spool_key``, an
        entry stored before under that key is returned instead of storing it again (a
        spool replayed twice writes each entry once)."""
        ...

    def settle(self, reservation_id: int, entry: Entry, reserved: Decimal) -> Entry:
        """Remove a reservation that an entry stored already settles, marking the entry as
        :meth:`append` with ``settle`` does; the entry is returned with its marks."""
        ...

    def import_entries(self, entries: Sequence[Entry]) -> tuple[int, int]:
        """Store ``entries`` keeping their ids (and marks), in one transaction: how many
        were stored, and how many were there already (the same entry under its id). An
        id holding another entry is refused with a :class:`LedgerError`, and nothing of
        the batch is stored."""
        ...

    def overruns(self, where: EntryFilter) -> tuple[Decimal, int]:
        """The summed overrun of the entries matching ``where``, and how many were late."""
        ...

    def renew(self, reservation_id: int, expires: datetime) -> bool:
        """Move an open reservation's expiry to ``expires``; False when it had lapsed
        already (expired or gone), and nothing changes."""
        ...

    def entries(self, where: EntryFilter) -> Iterator[Entry]:
        """The entries matching ``where``, oldest id first."""
        ...

    def entry_rows(
        self, where: EntryFilter, *, marked: bool = False
    ) -> Iterator[Sequence[tuple[Any, ...]]]:
        """The entries matching ``where``, oldest id first, as pages of stored rows: the
        values of :data:`~costbook.records._entry.ROW_COLUMNS` as stored. With ``marked``,
        each row ends with a flag, true when its counts are integers and its items and
        tags JSON objects (as costbook writes them). For streaming exports."""
        ...

    def check(self) -> list[str]:
        """A full integrity check of the stored data: what is damaged (the first few
        problems), empty when all is well. It reads everything, so it takes time that
        grows with the ledger."""
        ...

    def total(self, where: EntryFilter) -> Decimal:
        """The exact summed cost of the entries matching ``where``."""
        ...

    def report(self, by: Sequence[str], where: EntryFilter) -> list[ReportRow]:
        """Entries matching ``where`` grouped by ``by`` (names in :data:`GROUP_COLUMNS` or
        ``tag:KEY``), one row per group, ordered by the group values. ``by`` empty gives
        one row for all (none when nothing matches)."""
        ...

    def tag_keys(self) -> list[str]:
        """Every tag key carried by an entry, sorted."""
        ...

    def reserve(
        self,
        amount: Decimal,
        *,
        limit: Decimal,
        where: EntryFilter,
        tags: Mapping[str, str],
        expires: datetime,
    ) -> ReserveOutcome:
        """In one write transaction: drop expired reservations, and those made on this
        host by a process that is gone (a killed process holds nothing); grant ``amount`` when the
        spend matching ``where`` plus the open reservations counting toward ``tags`` plus
        ``amount`` is at most ``limit``."""
        ...

    def spend(self, where: EntryFilter, tags: Mapping[str, str]) -> tuple[Decimal, Decimal]:
        """The spend matching ``where`` and the open reservations counting toward ``tags``,
        read at one moment."""
        ...

    def holds(self) -> list[Hold]:
        """The open reservations: unexpired, and not made on this host by a process that
        is gone."""
        ...

    def release(self, reservation_id: int) -> None:
        """Remove a reservation; removing one that is gone already does nothing."""
        ...

    def settings(self, prefix: str) -> dict[str, str]:
        """The settings whose key starts with ``prefix`` (one of :data:`SETTING_PREFIXES`),
        by key: JSON texts kept in the ledger's ``meta`` table."""
        ...

    def put_setting(self, key: str, value: str | None) -> str | None:
        """Keep ``value`` under ``key`` (see :func:`check_setting_key`), or remove it when
        ``value`` is None, in one transaction; the value it replaced (None when none)."""
        ...

    def close(self) -> None:
        """Release the connection; the store is not used after."""
        ...


def refuse_different(location: str, entries: Sequence[Entry],
                     present: Mapping[int, Entry]) -> None:
    """Raise when an entry's id holds another entry in the ledger at ``location``."""
    for entry in entries:
        stored = present.get(entry.id)
        if stored is not None and stored != entry:
            raise LedgerError(
                f"ledger {location} has another entry under id {entry.id} (stored "
                f"{stored.provider}:{stored.model} at {format_time(stored.time)}, copied "
                f"{entry.provider}:{entry.model} at {format_time(entry.time)}); entries are "
                "copied keeping their ids: copy into a new ledger, or one copied from the "
                "same source"
            )
