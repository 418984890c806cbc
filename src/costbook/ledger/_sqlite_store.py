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
import logging
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
from ..pricing._usage import Usage
from ._entry import EXACT, Entry, entry_from_row, format_time, parse_time
from ._sqlite_schema import (
    SCHEMA_VERSION,
    USAGE_COLUMNS,
    check_header,
    inspect,
    integrity_problems,
    migrate,
    probe,
    validate,
)
from ._store import (
    GROUP_COLUMNS,
    TAG_PREFIX,
    EntryFilter,
    Hold,
    ReportRow,
    ReserveOutcome,
    counts_toward,
    time_bound,
)

log = logging.getLogger("costbook.ledger")

T = TypeVar("T")

_ENTRY_COLUMNS = (
    "id, time, provider, model, request_id, status, "
    + ", ".join(USAGE_COLUMNS)
    + ", cost, cost_items, currency, effective, reported_cost, estimate_low, estimate_high,"
    " duration, tags"
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
])
_EXPORT_PAGE = 5000
_GROUP_SQL = {
    "model": "e.model",
    "provider": "e.provider",
    "status": "e.status",
    "day": "substr(e.time, 1, 10)",
    "month": "substr(e.time, 1, 7)",
}
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
        if value is not None:
            self.total = EXACT.add(self.total, Decimal(value))

    def finalize(self) -> str:
        return money_text(self.total)


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
    ) -> None:
        if timeout < 0:
            raise ValueError(f"timeout must be 0 or more seconds, got {timeout}")
        self._path = os.fspath(path)
        if not self._path.strip():
            raise ValueError("a ledger path is empty; give a file path, or ':memory:'")
        self._memory = self._path == ":memory:"
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
        try:
            connection = sqlite3.connect(
                self._path if not self._memory else ":memory:",
                isolation_level=None,
                check_same_thread=False,
                timeout=0,
            )
        except sqlite3.Error as exc:
            raise LedgerError(f"cannot open ledger {self._path}: {exc}") from exc
        try:
            connection.create_aggregate("dsum", 1, cast(Any, DecimalSum))
            _add_json_functions(connection)
            self._retry(lambda: connection.execute(f"PRAGMA synchronous={self._synchronous}"))
        except BaseException:
            connection.close()
            raise
        return connection

    def _prepare(self, connection: sqlite3.Connection, *, existed: bool, create: bool) -> None:
        application_id, version, tables = self._retry(lambda: inspect(connection))
        if application_id == 0 and version == 0 and not tables:
            if not create:
                raise LedgerError(f"{self._path} is empty, not a costbook ledger")
        else:
            validate(self._path, application_id, version, tables)
            if existed:
                self._retry(lambda: probe(connection))
        if version < SCHEMA_VERSION:
            self._retry(lambda: migrate(connection, self._path))
        if not self._memory:
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

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def attempt() -> T:
            connection = self._conn()
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = work(connection)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
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

    def append(self, entry: Entry, *, settle: int | None = None) -> Entry:
        usage = entry.usage
        values = (
            format_time(entry.time),
            entry.provider,
            entry.model,
            entry.request_id,
            entry.status,
            *(getattr(usage, name) for name in USAGE_COLUMNS),
            money_text(entry.total),
            json.dumps({part: money_text(v) for part, v in entry.items.items()}),
            entry.currency,
            entry.effective.isoformat() if entry.effective else None,
            _text(entry.reported_cost),
            _text(entry.estimate_low),
            _text(entry.estimate_high),
            entry.duration,
            json.dumps(dict(entry.tags), ensure_ascii=False, sort_keys=True),
        )
        tags = list(entry.tags.items())

        def work(connection: sqlite3.Connection) -> int:
            entry_id = connection.execute(_INSERT_ENTRY, values).lastrowid
            if tags:
                connection.executemany(
                    "INSERT INTO entry_tags (entry_id, key, value) VALUES (?, ?, ?)",
                    [(entry_id, key, value) for key, value in tags],
                )
            if settle is not None:
                connection.execute("DELETE FROM reservations WHERE id = ?", (settle,))
            assert entry_id is not None
            return entry_id

        return replace(entry, id=self._write(work))

    def entries(self, where: EntryFilter) -> Iterator[Entry]:
        after = 0
        while True:
            clause, params = _where(where, after=after)
            sql = (
                f"SELECT {_ENTRY_COLUMNS} FROM entries e WHERE {clause} ORDER BY e.id LIMIT ?"
            )

            def page(connection: sqlite3.Connection, sql: str = sql,
                     params: list[Any] = params) -> list[tuple[Any, ...]]:
                return connection.execute(sql, [*params, _PAGE]).fetchall()

            rows = self._read(page)
            for row in rows:
                yield entry_from_row(row)
            if len(rows) < _PAGE:
                return
            after = rows[-1][0]

    def entry_rows(
        self, where: EntryFilter, *, marked: bool = False
    ) -> Iterator[list[tuple[Any, ...]]]:
        after = 0
        selected = f"{_ENTRY_COLUMNS}, {_AS_WRITTEN}" if marked else _ENTRY_COLUMNS
        while True:
            clause, params = _where(where, after=after)
            sql = f"SELECT {selected} FROM entries e WHERE {clause} ORDER BY e.id LIMIT ?"

            def page(connection: sqlite3.Connection, sql: str = sql,
                     params: list[Any] = params) -> list[tuple[Any, ...]]:
                return connection.execute(sql, [*params, _EXPORT_PAGE]).fetchall()

            rows = self._read(page)
            if rows:
                yield rows
            if len(rows) < _EXPORT_PAGE:
                return
            after = rows[-1][0]

    def check(self) -> list[str]:
        def attempt() -> list[str]:
            try:
                return integrity_problems(self._conn())
            except sqlite3.DatabaseError as exc:
                if _is_busy(exc):
                    raise
                return [str(exc)]  # damage that stops the check itself

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
            clause, params = _where(where, after=last)
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
        keys: list[str] = []
        joins: list[str] = []
        join_params: list[Any] = []
        for index, name in enumerate(by):
            if name.startswith(TAG_PREFIX):
                alias = f"g{index}"
                joins.append(
                    f"LEFT JOIN entry_tags {alias} ON {alias}.entry_id = e.id "
                    f"AND {alias}.key = ?"
                )
                join_params.append(name.removeprefix(TAG_PREFIX))
                keys.append(f"{alias}.value")
            elif name in _GROUP_SQL:
                keys.append(_GROUP_SQL[name])
            else:
                raise ValueError(
                    f"cannot group by {name!r}; use one of {', '.join(GROUP_COLUMNS)} "
                    "or tag:KEY"
                )
        clause, params = _where(where)
        sums = ", ".join(f"sum(e.{column})" for column in USAGE_COLUMNS)
        selected = ", ".join([*keys, "count(*)", sums, "dsum(e.cost)"])
        sql = f"SELECT {selected} FROM entries e {' '.join(joins)} WHERE {clause}"
        if keys:
            sql += " GROUP BY " + ", ".join(str(i + 1) for i in range(len(keys)))
        rows = self._read(lambda c: c.execute(sql, [*join_params, *params]).fetchall())
        width = len(keys)
        result = [
            ReportRow(
                group=dict(zip(by, row[:width], strict=True)),
                calls=row[width],
                usage=Usage(**dict(zip(USAGE_COLUMNS, row[width + 1:-1], strict=True))),
                cost=Decimal(row[-1]),
            )
            for row in rows
            if row[width]
        ]
        result.sort(key=lambda r: [(v is None, v or "") for v in r.group.values()])
        return result

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
            connection.execute("DELETE FROM reservations WHERE expires <= ?", (now,))
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
        rows = self._read(lambda c: c.execute(
            "SELECT id, amount, tags, created, expires FROM reservations WHERE expires > ? "
            "ORDER BY id", (now,),
        ).fetchall())
        return [
            Hold(row[0], Decimal(row[1]), json.loads(row[2]), parse_time(row[3]),
                 parse_time(row[4]))
            for row in rows
        ]

    def release(self, reservation_id: int) -> None:
        self._write(lambda c: c.execute(
            "DELETE FROM reservations WHERE id = ?", (reservation_id,)
        ))

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


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else money_text(amount)


def _where(where: EntryFilter, *, after: int = 0) -> tuple[str, list[Any]]:
    clauses = ["e.id > ?"]
    params: list[Any] = [after]
    if where.since is not None:
        clauses.append("e.time >= ?")
        params.append(time_bound(where.since))
    if where.until is not None:
        clauses.append("e.time < ?")
        params.append(time_bound(where.until))
    for column in ("model", "provider", "status"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"e.{column} = ?")
            params.append(value)
    if where.reported:
        clauses.append("e.reported_cost IS NOT NULL")
    for key, value in where.tags:
        clauses.append(
            "EXISTS (SELECT 1 FROM entry_tags t WHERE t.entry_id = e.id "
            "AND t.key = ? AND t.value = ?)"
        )
        params.extend((key, value))
    return " AND ".join(clauses), params


def _reserved(connection: sqlite3.Connection, tags: Mapping[str, str], now: str) -> Decimal:
    total = Decimal(0)
    for amount, hold_tags in connection.execute(
        "SELECT amount, tags FROM reservations WHERE expires > ?", (now,)
    ):
        if counts_toward(json.loads(hold_tags), tags):
            total = EXACT.add(total, Decimal(amount))
    return total
