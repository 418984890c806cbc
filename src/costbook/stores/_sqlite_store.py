"""The SQLite ledger store: one file, WAL mode, a versioned schema migrated forward.

Money is kept as exact decimal text (``'0.00027'``), never REAL: text keeps any precision a
rate or a provider's reported cost has, where integer micro-units would need a fixed
scale chosen in advance (and would overflow a 64-bit sum at a few million dollars when
fine enough for per-token rates). Sums are exact: a SQL aggregate adds the texts as
Decimals in a context that raises rather than rounds. Token counts are INTEGER columns
summed by SQLite.

Durability: each entry is one short write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``)
in WAL mode with ``synchronous=NORMAL``, so a committed entry survives a killed process
(an operating-system crash or power loss may lose the last few; ``durable=True`` uses
``synchronous=FULL`` against that, at a lower rate). Writers in other processes wait on
each other with bounded, jittered backoff; past ``timeout`` a :class:`LedgerError` says the
ledger is locked.

Safety: the file format and its migrations are in :mod:`._sqlite_schema`. Opening an
existing ledger reads its header, its schema and its newest entry, in a time that does
not grow with the ledger; SQLite refuses any page it finds damaged when a read or a write
meets it (a :class:`LedgerError` says the ledger is corrupt), and :meth:`SQLiteStore.check`
reads everything on request (``PRAGMA integrity_check``).
"""

from __future__ import annotations

import json
import os
import random
import socket
import sqlite3
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar, cast

from .._errors import LedgerError
from ..pricing._money import money_text
from ..records._entry import EXACT, Entry, entry_from_row, format_time, parse_time, readable_amount
from ..records._store import (
    EntryFilter,
    Hold,
    RefusedEntry,
    ReportRow,
    ReserveOutcome,
    check_setting_key,
)
from ._sql import (
    Dialect,
    amount_text,
    damaged_costs,
    entry_values,
    overrun_of,
    pages,
    process_alive,
    report_rows,
    report_sql,
    reserved_toward,
    still_held,
    where_sql,
)
from ._sqlite_schema import (
    SCHEMA_VERSION,
    USAGE_COLUMNS,
    check_header,
    inspect,
    integrity_problems,
    lacks_statuses,
    migrate,
    probe,
    validate,
)

T = TypeVar("T")

_ENTRY_COLUMNS = (
    "id, time, provider, model, request_id, status, "
    + ", ".join(USAGE_COLUMNS)
    + ", cost, cost_items, currency, effective, reported_cost, estimate_low, estimate_high,"
    " duration, tags, overrun, late, asked_model"
)
_INSERT_ENTRY = (
    "INSERT INTO entries ("
    + _ENTRY_COLUMNS.removeprefix("id, ")
    + ") VALUES ("
    + ", ".join("?" * (len(_ENTRY_COLUMNS.split(",")) - 1))
    + ")"
)
# True for a row whose counts are integers and whose items and tags are JSON objects, as
# costbook writes them (cheap checks in SQL; an export finds a value of another type).
_AS_WRITTEN = " AND ".join([
    f"typeof({' + '.join(f'e.{c}' for c in ('id', *USAGE_COLUMNS))}) = 'integer'",
    *(f"json_valid(e.{c}) AND substr(e.{c}, 1, 1) = '{{'" for c in ("cost_items", "tags")),
    "readable_amount(e.cost)",
])
_EXPORT_PAGE = 5000
_SQL = Dialect(
    mark="?",
    tables="",
    time=format_time,
    day=lambda day: day.isoformat(),
    groups={
        "model": "e.model",
        "provider": "e.provider",
        "status": "e.status",
        "day": "substr(e.time, 1, 10)",
        "month": "substr(e.time, 1, 7)",
    },
)
_BUSY_CODES = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_FIRST_DELAY = 0.001
_MAX_DELAY = 0.05
_CACHED_TOTALS = 32
_PAGE = 1000
# File stores close their connection before a fork and reopen it on next use, in the
# parent and in the child: SQLite connections must not cross a fork.
_OPEN_STORES: weakref.WeakSet[SQLiteStore] = weakref.WeakSet()


class DecimalSum:
    """SQL aggregate ``dsum(text)``: the exact sum of decimal texts, as text."""

    def __init__(self) -> None:
        self.total = Decimal(0)

    def step(self, value: str | None) -> None:
        amount = None if value is None else readable_amount(value)
        if amount is not None:  # a damaged value counts as 0, as entries() reads it
            self.total = EXACT.add(self.total, amount)

    def finalize(self) -> str:
        return money_text(self.total)


class IntegerSum:
    """SQL aggregate ``isum(integer)``: the exact sum of counts as decimal text, for sums
    past the 64-bit integers SQLite's ``sum`` adds."""

    def __init__(self) -> None:
        self.total = 0

    def step(self, value: int | None) -> None:
        if value is not None:
            self.total += value

    def finalize(self) -> str:
        return str(self.total)


def _add_functions(connection: sqlite3.Connection) -> None:
    """The exact SQL aggregates every connection of a store uses."""
    connection.create_aggregate("dsum", 1, cast(Any, DecimalSum))
    connection.create_aggregate("isum", 1, cast(Any, IntegerSum))
    connection.create_function("readable_amount", 1, _readable, deterministic=True)
    _add_json_functions(connection)


def _readable(value: object) -> int:
    """SQL ``readable_amount(value)``: 1 for an amount the ledger can read (or NULL)."""
    return int(value is None or readable_amount(value) is not None)


class SQLiteStore:
    """A ledger kept in one SQLite file (or in memory with ``":memory:"``).

    Safe to share between threads (calls are serialised) and across ``fork``: the
    connection is closed before a fork and reopened on next use, in parent and child alike,
    since an SQLite connection must not cross a fork.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 10.0,
        durable: bool = False,
        create: bool = True,
        read_only: bool = False,
    ) -> None:
        if timeout < 0:
            raise ValueError(f"timeout must be 0 or more seconds, got {timeout}")
        self._path = os.fspath(path)
        if not self._path.strip():
            raise ValueError("a ledger path is empty; give a file path, or ':memory:'")
        self._memory = self._path == ":memory:"
        if read_only and self._memory:
            raise ValueError("a read-only ledger needs a file; ':memory:' starts empty")
        self._read_only = read_only
        self._immutable = False  # set when a read-only folder keeps SQLite from sharing it
        create = create and not read_only
        self._timeout = timeout
        self._synchronous = "FULL" if durable else "NORMAL"
        self._lock = threading.RLock()
        self._totals: OrderedDict[EntryFilter, tuple[int, Decimal]] = OrderedDict()
        self._connection: sqlite3.Connection | None = None
        self._closed = False
        existed = False if self._memory else check_header(self._path, create)
        connection = self._connect()
        try:
            self._prepare(connection, existed=existed, create=create)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        if not self._memory:
            _OPEN_STORES.add(self)

    # -- opening -----------------------------------------------------------------------

    @property
    def location(self) -> str:
        return ":memory:" if self._memory else self._path

    def _connect(self) -> sqlite3.Connection:
        if self._read_only:
            return self._connect_read_only()
        try:
            connection = sqlite3.connect(
                self._path if not self._memory else ":memory:",
                isolation_level=None,
                check_same_thread=False,
                timeout=0,
            )
        except sqlite3.Error as exc:
            why = _why_not(self._path, exc)
            raise LedgerError(f"cannot open ledger {self._path}: {why}") from exc
        try:
            _add_functions(connection)
            self._retry(lambda: connection.execute(f"PRAGMA synchronous={self._synchronous}"))
        except BaseException:
            connection.close()
            raise
        return connection

    def _connect_read_only(self) -> sqlite3.Connection:
        """A connection that never writes (``mode=ro``). In WAL mode a reader needs the
        ``-shm`` file; where it cannot be created (a read-only folder or file system) and
        no ``-wal`` file holds entries yet to be merged, the file is read as it stands
        (``immutable=1``): nothing can be writing it then."""
        from pathlib import Path

        uri = Path(os.path.abspath(self._path)).as_uri() + "?mode=ro"
        for attempt in (False, True):
            immutable = self._immutable or attempt
            try:
                connection = sqlite3.connect(
                    uri + ("&immutable=1" if immutable else ""), uri=True,
                    isolation_level=None, check_same_thread=False, timeout=0,
                )
            except sqlite3.Error as exc:
                why = _why_not(self._path, exc)
                raise LedgerError(f"cannot open ledger {self._path}: {why}") from exc
            try:
                connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError as exc:
                connection.close()
                wal = self._path + "-wal"
                pending = os.path.exists(wal) and os.path.getsize(wal) > 0
                if immutable or _is_busy(exc) or pending:
                    raise LedgerError(
                        f"cannot read ledger {self._path}: {exc}"
                        + ("; its -wal file holds entries not yet merged, and its folder "
                           "cannot be written: open it once where it can be written"
                           if pending else "")
                    ) from exc
                continue
            _add_functions(connection)
            self._immutable = immutable
            return connection
        raise AssertionError("unreachable")

    def _prepare(self, connection: sqlite3.Connection, *, existed: bool, create: bool) -> None:
        application_id, version, tables = self._retry(lambda: inspect(connection))
        if application_id == 0 and version == 0 and not tables:
            if not create:
                raise LedgerError(f"{self._path} is empty, not a costbook ledger")
        else:
            validate(self._path, application_id, version, tables)
            if existed:
                self._retry(lambda: probe(connection))
        if version < SCHEMA_VERSION and self._read_only:
            raise LedgerError(
                f"ledger {self._path} has schema version {version}, older than version "
                f"{SCHEMA_VERSION}; it cannot be read without upgrading it, which needs "
                "write access: open it once with costbook.Ledger(path)"
            )
        if version < SCHEMA_VERSION or (
            not self._read_only and self._retry(lambda: lacks_statuses(connection))
        ):
            self._retry(lambda: migrate(connection, self._path))
        if not self._memory and not self._read_only:
            self._retry(lambda: self._use_wal(connection))

    def _use_wal(self, connection: sqlite3.Connection) -> None:
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise LedgerError(
                    f"ledger {self._path} cannot use WAL mode (SQLite answered {mode!r}); "
                    "a ledger needs a local file system that supports it"
                )

    # -- transactions ------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise LedgerError(f"ledger {self.location} is closed")
        if self._connection is None:  # closed for a fork
            self._connection = self._connect()
        return self._connection

    def _before_fork(self) -> None:
        self._lock.acquire()
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _after_fork(self) -> None:
        self._lock.release()

    def _retry(self, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` until the database is not locked, with jittered exponential
        backoff, for at most ``timeout`` seconds."""
        deadline = time.monotonic() + self._timeout
        delay = _FIRST_DELAY
        attempts = 0
        while True:
            attempts += 1
            try:
                return attempt()
            except sqlite3.Error as exc:
                if not _is_busy(exc):
                    raise self._ledger_error(exc) from exc
                if time.monotonic() + delay > deadline:
                    raise LedgerError(
                        f"ledger {self.location} is locked by another connection; gave up "
                        f"after {self._timeout:g} s and {attempts} attempts (another process "
                        "may hold a long write transaction; raise the timeout or find it)"
                    ) from exc
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, _MAX_DELAY)

    def _ledger_error(self, exc: sqlite3.Error) -> LedgerError:
        code = getattr(exc, "sqlite_errorcode", None)
        text = str(exc)
        if (code is not None and code & 0xFF in _CORRUPT_CODES) or (
            "malformed" in text or "not a database" in text
        ):
            return LedgerError(
                f"ledger {self.location} is corrupt: {text}; it was left as it is "
                "(Ledger.check() lists the damage): restore it from a backup"
            )
        return LedgerError(f"ledger {self.location}: {text}")

    def _write(self, work: Callable[[sqlite3.Connection], T], *, one: bool = False) -> T:
        """``work`` in a write transaction; ``one``: it runs one statement, which is a
        transaction of its own."""
        if self._read_only:
            raise LedgerError(
                f"ledger {self.location} was opened read-only; open it without "
                "read_only=True to record or reserve"
            )

        def attempt() -> T:
            connection = self._conn()
            if not one:
                connection.execute("BEGIN IMMEDIATE")
            refused = None
            try:
                result = work(connection)
                if not one:
                    connection.execute("COMMIT")
            except (sqlite3.IntegrityError, sqlite3.DataError, UnicodeError) as exc:
                # the entry itself cannot be stored: writing it again would fail again
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                refused = RefusedEntry(f"ledger {self.location} refused the entry: {exc}")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            if refused is not None:
                raise refused
            return result

        with self._lock:
            return self._retry(attempt)

    def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def attempt() -> T:
            connection = self._conn()
            connection.execute("BEGIN")
            try:
                result = work(connection)
            finally:
                if connection.in_transaction:
                    connection.execute("COMMIT")
            return result

        with self._lock:
            return self._retry(attempt)

    # -- entries -----------------------------------------------------------------------

    def append(
        self,
        entry: Entry,
        *,
        settle: int | None = None,
        reserved: Decimal | None = None,
        spool_key: str | None = None,
    ) -> Entry:
        values = entry_values(_SQL, entry)
        tags = list(entry.tags.items())

        def work(connection: sqlite3.Connection) -> Entry:
            if spool_key is not None:
                stored = connection.execute(
                    "SELECT entry_id FROM spooled WHERE key = ?", (spool_key,)
                ).fetchone()
                if stored is not None:
                    if settle is not None:
                        connection.execute("DELETE FROM reservations WHERE id = ?", (settle,))
                    return replace(entry, id=int(stored[0]))
            overrun, late = (
                (None, False) if settle is None
                else _settle(connection, settle, entry.total, reserved)
            )
            row = [*values, amount_text(overrun), int(late), entry.asked_model]
            entry_id = connection.execute(_INSERT_ENTRY, row).lastrowid
            if spool_key is not None:
                connection.execute(
                    "INSERT INTO spooled (key, entry_id) VALUES (?, ?)", (spool_key, entry_id)
                )
            if tags:
                connection.executemany(
                    "INSERT INTO entry_tags (entry_id, key, value) VALUES (?, ?, ?)",
                    [(entry_id, key, value) for key, value in tags],
                )
            assert entry_id is not None
            return replace(entry, id=entry_id, overrun=overrun, late=late)

        # an entry alone (no settling, spool key or tags) is one INSERT
        return self._write(work, one=settle is None and spool_key is None and not tags)

    def settle(self, reservation_id: int, entry: Entry, reserved: Decimal) -> Entry:
        def work(connection: sqlite3.Connection) -> Entry:
            overrun, late = _settle(connection, reservation_id, entry.total, reserved)
            if overrun is None and not late:
                return entry
            connection.execute(
                "UPDATE entries SET overrun = ?, late = ? WHERE id = ?",
                (amount_text(overrun), int(late), entry.id),
            )
            return replace(entry, overrun=overrun, late=late)

        return self._write(work)

    def import_entries(self, entries: Sequence[Entry]) -> tuple[int, int]:
        from ..records._store import refuse_different

        def work(connection: sqlite3.Connection) -> tuple[int, int]:
            ids = [e.id for e in entries]
            present: dict[int, Entry] = {}
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                rows = connection.execute(
                    f"SELECT {_ENTRY_COLUMNS} FROM entries e WHERE e.id IN "
                    f"({', '.join('?' * len(chunk))})", chunk,
                ).fetchall()
                present.update((row[0], entry_from_row(row)) for row in rows)
            refuse_different(self.location, entries, present)
            new = [e for e in entries if e.id not in present]
            connection.executemany(
                _INSERT_ENTRY.replace("INSERT INTO entries (", "INSERT INTO entries (id, ")
                .replace("VALUES (", "VALUES (?, "),
                [[e.id, *entry_values(_SQL, e), amount_text(e.overrun), int(e.late), e.asked_model]
                 for e in new],
            )
            connection.executemany(
                "INSERT INTO entry_tags (entry_id, key, value) VALUES (?, ?, ?)",
                [(e.id, key, value) for e in new for key, value in e.tags.items()],
            )
            return len(new), len(present)

        result = self._write(work) if entries else (0, 0)
        self._totals.clear()  # ids below those summed may have been added
        return result

    def overruns(self, where: EntryFilter) -> tuple[Decimal, int]:
        clause, params = where_sql(_SQL, where)
        text, late = self._read(lambda c: c.execute(
            f"SELECT dsum(e.overrun), total(e.late) FROM entries e WHERE {clause}", params
        ).fetchone())
        return Decimal(text or 0), int(late or 0)

    def entries(self, where: EntryFilter) -> Iterator[Entry]:
        for page in self._pages(where, _ENTRY_COLUMNS, _PAGE):
            for row in page:
                yield entry_from_row(row)

    def entry_rows(
        self, where: EntryFilter, *, marked: bool = False
    ) -> Iterator[list[tuple[Any, ...]]]:
        selected = f"{_ENTRY_COLUMNS}, {_AS_WRITTEN}" if marked else _ENTRY_COLUMNS
        yield from self._pages(where, selected, _EXPORT_PAGE)

    def _pages(self, where: EntryFilter, selected: str,
               size: int) -> Iterator[list[tuple[Any, ...]]]:
        def fetch(after: int) -> list[tuple[Any, ...]]:
            clause, params = where_sql(_SQL, where, after=after)
            sql = f"SELECT {selected} FROM entries e WHERE {clause} ORDER BY e.id LIMIT ?"
            return self._read(lambda c: c.execute(sql, [*params, size]).fetchall())

        return pages(fetch, size)

    def check(self) -> list[str]:
        def attempt() -> list[str]:
            try:
                problems = integrity_problems(self._conn())
                damaged = self._conn().execute(
                    "SELECT count(*) FROM entries WHERE NOT readable_amount(cost) "
                    "OR NOT readable_amount(overrun)"
                ).fetchone()[0]
            except sqlite3.DatabaseError as exc:
                if _is_busy(exc):
                    raise
                return [str(exc)]  # damage that stops the check itself
            return problems + ([damaged_costs(damaged)] if damaged else [])

        with self._lock:
            return self._retry(attempt)

    def total(self, where: EntryFilter) -> Decimal:
        return self._read(lambda connection: self._total_in(connection, where))

    def _total_in(self, connection: sqlite3.Connection, where: EntryFilter) -> Decimal:
        """The summed cost matching ``where``, read incrementally: entries are append-only
        and ids grow in commit order, so a sum known up to one id needs only the entries
        after it."""
        high = connection.execute("SELECT max(id) FROM entries").fetchone()[0] or 0
        last, known = self._totals.get(where, (0, Decimal(0)))
        if high < last:  # entries were removed from outside costbook: start over
            last, known = 0, Decimal(0)
        if high > last:
            clause, params = where_sql(_SQL, where, after=last)
            text = connection.execute(
                f"SELECT dsum(e.cost) FROM entries e WHERE {clause} AND e.id <= ?",
                [*params, high],
            ).fetchone()[0]
            known = EXACT.add(known, Decimal(text or 0))
        self._totals[where] = (high, known)
        self._totals.move_to_end(where)
        while len(self._totals) > _CACHED_TOTALS:
            self._totals.popitem(last=False)
        return known

    def report(self, by: Sequence[str], where: EntryFilter) -> list[ReportRow]:
        sql, params = report_sql(_SQL, by, where, total="sum", cost_total="dsum")
        exact_sql, _ = report_sql(_SQL, by, where, total="isum", cost_total="dsum")

        def work(connection: sqlite3.Connection) -> list[Any]:
            try:
                return connection.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if "integer overflow" not in str(exc):
                    raise
            # counts summed past 2**63 - 1: exact sums in Python (slower, and rare)
            return connection.execute(exact_sql, params).fetchall()

        return report_rows(by, self._read(work))

    def tag_keys(self) -> list[str]:
        rows = self._read(lambda c: c.execute(
            "SELECT DISTINCT key FROM entry_tags ORDER BY key"
        ).fetchall())
        return [row[0] for row in rows]

    # -- reservations ------------------------------------------------------------------

    def reserve(
        self,
        amount: Decimal,
        *,
        limit: Decimal,
        where: EntryFilter,
        tags: Mapping[str, str],
        expires: datetime,
    ) -> ReserveOutcome:
        def work(connection: sqlite3.Connection) -> ReserveOutcome:
            now = format_time(datetime.now(timezone.utc))
            _drop_dead_holds(connection, now)
            spent = self._total_in(connection, where)
            reserved = _reserved(connection, tags, now)
            if EXACT.add(EXACT.add(spent, reserved), amount) > limit:
                return ReserveOutcome(None, spent, reserved)
            cursor = connection.execute(
                "INSERT INTO reservations (amount, tags, created, expires, pid, host) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    money_text(amount),
                    json.dumps(dict(tags), ensure_ascii=False, sort_keys=True),
                    now,
                    format_time(expires),
                    os.getpid(),
                    socket.gethostname(),
                ),
            )
            return ReserveOutcome(cursor.lastrowid, spent, reserved)

        return self._write(work)

    def spend(self, where: EntryFilter, tags: Mapping[str, str]) -> tuple[Decimal, Decimal]:
        def work(connection: sqlite3.Connection) -> tuple[Decimal, Decimal]:
            now = format_time(datetime.now(timezone.utc))
            return self._total_in(connection, where), _reserved(connection, tags, now)

        return self._read(work)

    def holds(self) -> list[Hold]:
        now = format_time(datetime.now(timezone.utc))

        def work(connection: sqlite3.Connection) -> list[tuple[Any, ...]]:
            live = [hold[0] for hold in _live_holds(connection, now)]
            rows = connection.execute(
                "SELECT id, amount, tags, created, expires FROM reservations WHERE expires > ? "
                "ORDER BY id", (now,),
            ).fetchall()
            return [row for row in rows if row[0] in live]

        return [
            Hold(row[0], Decimal(row[1]), json.loads(row[2]), parse_time(row[3]),
                 parse_time(row[4]))
            for row in self._read(work)
        ]

    def renew(self, reservation_id: int, expires: datetime) -> bool:
        def work(connection: sqlite3.Connection) -> bool:
            now = format_time(datetime.now(timezone.utc))
            cursor = connection.execute(
                "UPDATE reservations SET expires = ? WHERE id = ? AND expires > ?",
                (format_time(expires), reservation_id, now),
            )
            return cursor.rowcount == 1

        return self._write(work)

    def release(self, reservation_id: int) -> None:
        self._write(lambda c: c.execute(
            "DELETE FROM reservations WHERE id = ?", (reservation_id,)
        ))

    # -- settings --------------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        """Whether the store was opened for reading alone."""
        return self._read_only

    def settings(self, prefix: str) -> dict[str, str]:
        rows = self._read(lambda c: c.execute(
            "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len(prefix), prefix),
        ).fetchall())
        return {str(key): str(value) for key, value in rows}

    def put_setting(self, key: str, value: str | None) -> str | None:
        check_setting_key(key)

        def work(connection: sqlite3.Connection) -> str | None:
            row = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if value is None:
                connection.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                connection.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value)
                )
            return None if row is None else str(row[0])

        return self._write(work)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._connection is not None:
                self._connection.close()
                self._connection = None
            _OPEN_STORES.discard(self)

    def __repr__(self) -> str:
        return f"SQLiteStore({self.location!r})"


_FORKING: list[SQLiteStore] = []


def _close_before_fork() -> None:
    _FORKING[:] = list(_OPEN_STORES)
    for store in _FORKING:
        store._before_fork()


def _reopen_after_fork() -> None:
    for store in _FORKING:
        store._after_fork()
    _FORKING.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_close_before_fork,
        after_in_parent=_reopen_after_fork,
        after_in_child=_reopen_after_fork,
    )


def _add_json_functions(connection: sqlite3.Connection) -> None:
    """Make sure ``json_valid`` and ``json_type`` exist: SQLite before 3.38 could be
    built without its JSON functions."""
    try:
        connection.execute("SELECT json_type(json('{}'))").fetchone()
    except sqlite3.OperationalError:
        _python_json_functions(connection)


def _python_json_functions(connection: sqlite3.Connection) -> None:
    """``json_valid`` and ``json_type`` (of a whole text) in Python."""

    def parsed(text: object) -> object:
        if not isinstance(text, str):
            raise ValueError(text)
        return json.loads(text)

    def valid(text: object) -> int:
        try:
            parsed(text)
        except ValueError:
            return 0
        return 1

    def kind(text: object) -> str:
        value = parsed(text)
        return "object" if isinstance(value, dict) else type(value).__name__

    connection.create_function("json_valid", 1, valid, deterministic=True)
    connection.create_function("json_type", 1, kind, deterministic=True)


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return bool(code & 0xFF in _BUSY_CODES)
    text = str(exc)
    return "locked" in text or "busy" in text


def _settle(
    connection: sqlite3.Connection, reservation_id: int, total: Decimal,
    reserved: Decimal | None,
) -> tuple[Decimal | None, bool]:
    """Drop a reservation that a cost settles: the cost above it (None when within it),
    and whether it had lapsed (expired, or gone) before this moment."""
    now = format_time(datetime.now(timezone.utc))
    row = connection.execute(
        "SELECT amount, expires FROM reservations WHERE id = ?", (reservation_id,)
    ).fetchone()
    connection.execute("DELETE FROM reservations WHERE id = ?", (reservation_id,))
    late = row is None or row[1] <= now
    held = Decimal(row[0]) if row is not None else reserved
    return overrun_of(reservation_id, total, held, late=late), late


def _reserved(connection: sqlite3.Connection, tags: Mapping[str, str], now: str) -> Decimal:
    return reserved_toward(
        ((amount, json.loads(hold_tags)) for _, amount, hold_tags, _, _
         in _live_holds(connection, now)),
        tags,
    )


def _live_holds(connection: sqlite3.Connection, now: str) -> list[tuple[Any, ...]]:
    """(id, amount, tags, pid, host) of the reservations that still hold: unexpired, and
    not made by a process of this host that is gone."""
    return still_held(connection.execute(
        "SELECT id, amount, tags, pid, host FROM reservations WHERE expires > ? ORDER BY id",
        (now,),
    ).fetchall(), socket.gethostname())


def _drop_dead_holds(connection: sqlite3.Connection, now: str) -> None:
    """Remove expired reservations, and those of this host's processes that are gone."""
    connection.execute("DELETE FROM reservations WHERE expires <= ?", (now,))
    here = socket.gethostname()
    dead = [
        (hold_id,) for hold_id, pid in connection.execute(
            "SELECT id, pid FROM reservations WHERE host = ?", (here,)
        ).fetchall()
        if not process_alive(pid)
    ]
    connection.executemany("DELETE FROM reservations WHERE id = ?", dead)


def _why_not(path: str, exc: sqlite3.Error) -> str:
    """Why SQLite could not open ``path``, in plain words where the cause is the folder."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return (f"the folder {folder} does not exist (create it, or give a path in a "
                "folder that exists)")
    if not os.path.exists(path) and not os.access(folder, os.W_OK):
        return f"the folder {folder} is not writable, so a new ledger cannot be created there"
    return str(exc)
