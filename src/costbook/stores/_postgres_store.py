"""The PostgreSQL ledger store: one ledger shared by processes on many hosts.

``PostgresStore("postgresql://user@host:5432/db")`` keeps a ledger in the schema
``costbook`` of that database (see :mod:`._postgres_schema`), through psycopg 3 and a
connection pool that threads share (``pip install 'costbook[postgres]'``).

Money is ``NUMERIC`` (exact), read back as Decimal and written out with the same
:func:`~costbook.pricing._money.money_text` as the SQLite store, so reports and exports
are the same text from both; times are ``TIMESTAMPTZ`` in UTC; token counts ``BIGINT``,
summed exactly by PostgreSQL (a sum of ``BIGINT`` is ``NUMERIC``).

Each entry is one short transaction (one statement when it settles nothing), committed
with the server's own ``synchronous_commit`` (``on`` by default): when ``record`` returns,
the entry is on the server's disk and survives a crash of the server, as an SQLite
ledger's entries survive a killed process. ``durable=True`` asks for ``on`` whatever the
server's setting; ``durable=False`` for ``off`` (each commit returns before its sync:
faster, and a crash of the server may lose the entries of the last fraction of a
second). The setting is made inside each transaction, never as a startup parameter, and
no statement is prepared on the server, so the ledger works through a connection pooler
(PgBouncer in transaction or session mode) as well as directly.

A budget's check and reservation are one transaction under an advisory lock, so that
processes on any host are granted one at a time, each seeing what the others hold and
spent; a serialization failure or deadlock is retried with bounded, jittered backoff. Sums are
cached per filter up to the oldest transaction still running (entries are append-only,
and every one written by a finished transaction is visible), so a budget's check reads
only the entries written since.

A connection found lost is replaced and the call retried once (a write only when it had
not been sent yet); past that, a :class:`LedgerError` says so. The password of the URL is
never shown: not in :attr:`location`, errors, reprs or logs.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from .._errors import LedgerError
from ..pricing._money import money_text
from ..pricing._usage import USAGE_FIELDS
from ..records._entry import AMOUNT_DIGITS, EXACT, Entry, entry_from_row
from ..records._store import (
    EntryFilter,
    Hold,
    RefusedEntry,
    ReportRow,
    ReserveOutcome,
    check_setting_key,
    refuse_different,
)
from ._postgres_schema import (
    LOCK_CLASS,
    RESERVE_LOCK,
    SCHEMA,
    SPOOL_LOCK,
    inspect,
    migrate,
    validate,
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

log = logging.getLogger("costbook.ledger")

T = TypeVar("T")

URL_SCHEMES = ("postgresql://", "postgres://")

_E = f"{SCHEMA}.entries"
_ROW_SQL = ", ".join([
    "e.id",
    "to_char(e.time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
    "e.provider", "e.model", "e.request_id", "e.status",
    *(f"e.{name}" for name in USAGE_FIELDS),
    "e.cost", "e.cost_items::text", "e.currency", "to_char(e.effective, 'YYYY-MM-DD')",
    "e.reported_cost", "e.estimate_low", "e.estimate_high", "e.duration", "e.tags::text",
    "e.overrun", "e.late::int", "e.asked_model",
])
_AMOUNTS = tuple(
    6 + len(USAGE_FIELDS) + offset for offset in (0, 4, 5, 6, 9)
)  # cost, reported_cost, estimate_low, estimate_high, overrun in a row

_INSERT_COLUMNS = (
    "time", "provider", "model", "request_id", "status", *USAGE_FIELDS, "cost",
    "cost_items", "currency", "effective", "reported_cost", "estimate_low", "estimate_high",
    "duration", "tags", "overrun", "late", "asked_model",
)
_INSERT = (
    f"INSERT INTO {_E} ({', '.join(_INSERT_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(_INSERT_COLUMNS))}) RETURNING id"
)
_INSERT_TAGGED = (
    f"WITH e AS ({_INSERT}), t AS (INSERT INTO {SCHEMA}.entry_tags (entry_id, key, value) "
    "SELECT e.id, u.k, u.v FROM e, unnest(%s::text[], %s::text[]) AS u(k, v)) "
    "SELECT id FROM e"
)
# the same, committed with the ledger's own synchronous_commit (the first parameter):
# set for this statement's transaction alone, never for the connection
_SET_COMMIT = "WITH c AS (SELECT set_config('synchronous_commit', %s, true) AS v), "
_INSERT_SET = f"{_SET_COMMIT}e AS ({_INSERT}) SELECT id FROM e, c"
_INSERT_TAGGED_SET = _SET_COMMIT + _INSERT_TAGGED.removeprefix("WITH ").replace(
    "SELECT id FROM e", "SELECT id FROM e, c"
)
# a stored amount in sums: NULL (left out) where it cannot be read, as entries() reads it
# (see costbook.records._entry.readable_amount): NaN, an infinity, or out of bounds
_AMOUNT = (
    f"CASE WHEN abs({{0}}) < 1e{AMOUNT_DIGITS + 1} AND scale({{0}}) <= {AMOUNT_DIGITS} "
    "THEN {0} END"
)
_SQL = Dialect(
    mark="%s",
    tables=f"{SCHEMA}.",
    time=lambda moment: moment,
    day=lambda day: day,
    groups={
        "model": "e.model",
        "provider": "e.provider",
        "status": "e.status",
        "day": "to_char(e.time AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        "month": "to_char(e.time AT TIME ZONE 'UTC', 'YYYY-MM')",
    },
    amount=_AMOUNT,
)
_COST = _AMOUNT.format("e.cost")
_AS_WRITTEN = (
    f"json_typeof(e.cost_items) = 'object' AND json_typeof(e.tags) = 'object' "
    f"AND {_COST} IS NOT NULL"
)
_PAGE = 1000
_EXPORT_PAGE = 5000
_CACHED_TOTALS = 32
_FIRST_DELAY = 0.005
_MAX_DELAY = 0.2
_RETRIED_STATES = {"40001", "40P01"}  # serialization failure, deadlock
_ENDED_STATES = ("08", "57P01", "57P02", "57P03")  # connection exceptions, shutdowns
_MAX_POOL = 4
_IDLE_CHECK = 1.0  # seconds a pooled connection may idle before it is checked
# Pools of a parent process, kept by a forked child that must not close their
# connections (closing would end them for the parent too).
_ABANDONED: list[Any] = []


def is_postgres_url(location: object) -> bool:
    """Whether ``location`` is a PostgreSQL URL (``postgresql://`` or ``postgres://``)."""
    return isinstance(location, str) and location.strip().lower().startswith(URL_SCHEMES)


def masked(url: str) -> str:
    """``url`` without its password (in the authority or as a ``password`` parameter)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            user, host = netloc.rsplit("@", 1)
            netloc = user.split(":", 1)[0] + "@" + host
        query = urlencode([
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().endswith("password")
        ])
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return f"{url.split('://', 1)[0]}://(a URL that cannot be read)"


def passwords(url: str) -> list[str]:
    """Every form of the passwords ``url`` holds (in its authority, or as a ``password``
    parameter), as written and percent-decoded, longest first: what no message may show."""
    found: set[str] = set()
    rest = url.split("://", 1)[-1]
    authority = rest.split("/", 1)[0].split("?", 1)[0]
    if "@" in authority:
        user = authority.rsplit("@", 1)[0]
        if ":" in user:
            found.add(user.split(":", 1)[1])
    query = url.split("?", 1)[1] if "?" in url else ""
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if unquote(key).strip().lower().endswith("password"):
            found.add(value)
    found |= {unquote(secret) for secret in found}
    return sorted((secret for secret in found if secret), key=len, reverse=True)


_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def check_url(url: str, location: str) -> None:
    """Refuse a URL whose percent-encoding is broken, naming the part and never its
    text: the driver's own error would quote it, password included."""
    rest = url.split("://", 1)[-1]
    authority = rest.split("/", 1)[0].split("?", 1)[0]
    user = authority.rsplit("@", 1)[0] if "@" in authority else ""
    query = url.split("?", 1)[1] if "?" in url else ""
    parts = [("user name", user.split(":", 1)[0]), ("password", user.partition(":")[2]),
             ("host", authority.rsplit("@", 1)[-1]), ("database name", rest.partition("/")[2]
                                                       .split("?", 1)[0])]
    parts += [(f"parameter {unquote(key)!r}" if key.lower() != "password" else "password",
               value) for key, _, value in (p.partition("=") for p in query.split("&"))]
    for name, text in parts:
        if _BAD_PERCENT.search(text):
            raise LedgerError(
                f"cannot open ledger {location}: the {name} in its URL has a % that is not "
                "followed by two hex digits; percent-encode it (write % as %25)"
            )


class PostgresStore:
    """A ledger kept in a PostgreSQL database, shared by threads (a connection pool),
    processes and hosts. ``timeout`` bounds connecting and waiting for a lock, in
    seconds; ``durable`` (None: the server's setting) sets ``synchronous_commit``."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        durable: bool | None = None,
        create: bool = True,
        read_only: bool = False,
    ) -> None:
        if timeout < 0:
            raise ValueError(f"timeout must be 0 or more seconds, got {timeout}")
        try:
            import psycopg  # noqa: F401
            import psycopg_pool  # noqa: F401
        except ImportError as exc:
            raise LedgerError(
                f"a PostgreSQL ledger needs psycopg 3 and psycopg_pool ({exc}); install "
                "them with: pip install 'costbook[postgres]'"
            ) from None
        self._url = url.strip()
        self._location = masked(self._url)
        self._secrets = passwords(self._url)
        check_url(self._url, self._location)
        self._timeout = timeout
        self._read_only = read_only
        # set in each write transaction, never as a startup parameter (a connection
        # pooler refuses those, or would keep a session's settings for the next client)
        self._commit = {None: None, True: "on", False: "off"}[durable]
        self._used: dict[int, float] = {}
        self._lock = threading.Lock()
        self._totals: OrderedDict[EntryFilter, tuple[int, Decimal]] = OrderedDict()
        self._pool: Any = None
        self._pid = os.getpid()
        self._closed = False
        self._prepare(create=create and not read_only)

    # -- opening -----------------------------------------------------------------------

    @property
    def location(self) -> str:
        return self._location

    def _connect(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(self._url, autocommit=True, prepare_threshold=None,
                                   connect_timeout=max(1, round(self._timeout)))
        except psycopg.Error as exc:
            error = LedgerError(f"cannot connect to ledger {self._location}: {self._clean(exc)}")
        raise error  # outside the except block: no chained driver text

    def _prepare(self, *, create: bool) -> None:
        connection = self._connect()
        try:
            with connection.cursor() as cursor:
                exists, meta, columns = inspect(cursor)
                if validate(self._location, exists, meta, columns, create=create):
                    return
                if self._read_only:
                    raise LedgerError(
                        f"ledger {self._location} needs an upgrade of its schema, which "
                        "needs write access: open it once with costbook.Ledger(url)"
                    )
                with connection.transaction():
                    migrate(cursor, self._location)
        except LedgerError:
            raise
        except Exception as exc:
            error = self._error(exc, "cannot open ledger")
        else:
            return
        finally:
            connection.close()
        raise error  # outside the except block: no chained driver text

    def _get_pool(self) -> Any:
        with self._lock:
            return self._pool_here()

    def _pool_here(self) -> Any:
        if self._closed:
            raise LedgerError(f"ledger {self._location} is closed")
        if self._pid != os.getpid():  # forked: the parent's connections stay the parent's
            if self._pool is not None:
                _ABANDONED.append(self._pool)
            self._pool = None
            self._pid = os.getpid()
            self._totals.clear()
        if self._pool is None:
            from psycopg_pool import ConnectionPool

            # no server-side prepared statements: a pooler in transaction mode (PgBouncer)
            # hands each transaction another server connection, that lacks them
            kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": None}
            self._pool = ConnectionPool(
                self._url, min_size=1, max_size=_MAX_POOL, kwargs=kwargs, open=True,
                timeout=max(self._timeout, 0.1), check=self._check, name="costbook-ledger",
            )
        return self._pool

    def _check(self, connection: Any) -> None:
        """Check a connection idle for a while before it is used (a round trip): the
        server may have ended it meanwhile."""
        if time.monotonic() - self._used.get(id(connection), 0.0) > _IDLE_CHECK:
            from psycopg_pool import ConnectionPool

            ConnectionPool.check_connection(connection)

    # -- running work ------------------------------------------------------------------

    def _clean(self, exc: BaseException) -> str:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        text = text.replace(self._url, self._location)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _error(self, exc: BaseException, doing: str = "ledger") -> LedgerError:
        return LedgerError(f"{doing} {self._location}: {self._clean(exc)}")

    def _run(self, work: Callable[[Any], T], *, write: bool) -> T:
        """Run ``work(connection)``: a lost connection retried once (a write only when
        it was lost before the work began), serialization failures and deadlocks retried
        with backoff until ``timeout``."""
        import psycopg
        from psycopg_pool import PoolTimeout

        if write and self._read_only:
            raise LedgerError(
                f"ledger {self._location} was opened read-only; open it without "
                "read_only=True to record or reserve"
            )
        deadline = time.monotonic() + self._timeout
        delay = _FIRST_DELAY
        lost = 0
        while True:
            pool = self._get_pool()
            began = False
            # errors are raised outside the except blocks: a chained exception
            # (__context__) would carry the driver's own text, which may hold the URL
            error: LedgerError | None = None
            try:
                with pool.connection() as connection:
                    began = True
                    result = work(connection)
                    self._used[id(connection)] = time.monotonic()
                    return result
            except PoolTimeout as exc:
                error = LedgerError(
                    f"cannot connect to ledger {self._location} within {self._timeout:g} s "
                    f"({self._clean(exc)}); is the server running and reachable?"
                )
            except psycopg.OperationalError as exc:
                state = getattr(exc, "sqlstate", None)
                if state in _RETRIED_STATES and time.monotonic() + delay < deadline:
                    time.sleep(delay * random.uniform(0.5, 1.5))
                    delay = min(delay * 2, _MAX_DELAY)
                    continue
                if state == "55P03":  # lock_not_available: lock_timeout passed
                    error = LedgerError(
                        f"ledger {self._location} is locked by another connection; gave up "
                        f"after {self._timeout:g} s (another process may hold a long "
                        "transaction; raise the timeout or find it)"
                    )
                else:
                    # the server ended the connection (it says so: the statement did not
                    # run), or it was lost without a word (a write may have run: retried
                    # only when it had not begun)
                    ended = state is not None and state.startswith(_ENDED_STATES)
                    if lost == 0 and (ended or (state is None and (not write or not began))):
                        lost += 1
                        log.warning("ledger %s: connection lost (%s); retrying once",
                                    self._location, self._clean(exc))
                        continue
                    if state is None or ended:
                        error = LedgerError(
                            f"lost the connection to ledger {self._location}: "
                            f"{self._clean(exc)}"
                            + ("; the write may or may not have been stored" if write else "")
                        )
                    else:
                        error = self._error(exc)
            except (psycopg.DataError, psycopg.IntegrityError, UnicodeError) as exc:
                # a write: the entry itself cannot be stored, and would fail again
                error = RefusedEntry(
                    f"ledger {self._location} refused the entry: {self._clean(exc)}"
                ) if write else self._error(exc)
            except psycopg.Error as exc:
                error = self._error(exc)
            raise error

    def _transaction(self, work: Callable[[Any], T], *, write: bool = True,
                     holds: bool = False) -> T:
        """Run ``work(cursor)`` in one transaction. A write commits with the ledger's
        ``synchronous_commit``; one that changes only reservations (``holds``) does not
        wait for its sync unless ``durable=True``: a reservation lost to a crash of the
        server frees its money early, and the cost it held is still recorded in full."""
        commit = ("on" if self._commit == "on" else "off") if holds else self._commit

        def run(connection: Any) -> T:
            with connection.transaction(), connection.cursor() as cursor:
                if write:
                    cursor.execute(
                        "SELECT set_config('lock_timeout', %s, true), "
                        "set_config('synchronous_commit', coalesce(%s, "
                        "current_setting('synchronous_commit')), true)",
                        (f"{int(self._timeout * 1000)}ms", commit),
                    )
                return work(cursor)

        return self._run(run, write=write)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        def run(connection: Any) -> list[tuple[Any, ...]]:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return list(cursor.fetchall())

        return self._run(run, write=False)

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
        keys = list(entry.tags)
        tagged = [*keys], [entry.tags[k] for k in keys]

        def insert(cursor: Any, overrun: Decimal | None, late: bool) -> int:
            row = [*values, amount_text(overrun), late, entry.asked_model]
            if keys:
                cursor.execute(_INSERT_TAGGED, [*row, *tagged])
            else:
                cursor.execute(_INSERT, row)
            return int(cursor.fetchone()[0])

        if settle is None and spool_key is None:
            def plain(connection: Any) -> int:
                if self._commit is None:
                    with connection.cursor() as cursor:
                        return insert(cursor, None, False)
                row = [self._commit, *values, None, False, entry.asked_model]
                with connection.cursor() as cursor:
                    if keys:
                        cursor.execute(_INSERT_TAGGED_SET, [*row, *tagged])
                    else:
                        cursor.execute(_INSERT_SET, row)
                    return int(cursor.fetchone()[0])

            return replace(entry, id=self._run(plain, write=True), overrun=None, late=False)

        def work(cursor: Any) -> Entry:
            if spool_key is not None:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                               (LOCK_CLASS + SPOOL_LOCK, spool_key))
                cursor.execute(f"SELECT entry_id FROM {SCHEMA}.spooled WHERE key = %s",
                               (spool_key,))
                stored = cursor.fetchone()
                if stored is not None:
                    if settle is not None:
                        cursor.execute(f"DELETE FROM {SCHEMA}.reservations WHERE id = %s",
                                       (settle,))
                    return replace(entry, id=int(stored[0]))
            overrun, late = (
                (None, False) if settle is None
                else _settle(cursor, settle, entry.total, reserved)
            )
            entry_id = insert(cursor, overrun, late)
            if spool_key is not None:
                cursor.execute(
                    f"INSERT INTO {SCHEMA}.spooled (key, entry_id) VALUES (%s, %s)",
                    (spool_key, entry_id),
                )
            return replace(entry, id=entry_id, overrun=overrun, late=late)

        return self._transaction(work)

    def settle(self, reservation_id: int, entry: Entry, reserved: Decimal) -> Entry:
        def work(cursor: Any) -> Entry:
            overrun, late = _settle(cursor, reservation_id, entry.total, reserved)
            if overrun is None and not late:
                return entry
            cursor.execute(f"UPDATE {_E} SET overrun = %s, late = %s WHERE id = %s",
                           (amount_text(overrun), late, entry.id))
            return replace(entry, overrun=overrun, late=late)

        return self._transaction(work)

    def import_entries(self, entries: Sequence[Entry]) -> tuple[int, int]:
        """Store ``entries`` keeping their ids, in one transaction: (stored, present).
        An id stored already counts as present when its entry is the same, and is
        refused (nothing of the batch stored) when it differs."""
        if not entries:
            return 0, 0

        def work(cursor: Any) -> tuple[int, int]:
            ids = [e.id for e in entries]
            cursor.execute(f"SELECT {_ROW_SQL} FROM {_E} e WHERE e.id = ANY(%s)", (ids,))
            present = {row[0]: entry_from_row(_texts(row)) for row in cursor.fetchall()}
            refuse_different(self._location, entries, present)
            new = [e for e in entries if e.id not in present]
            if new:
                columns = ", ".join(("id", *_INSERT_COLUMNS))
                cursor.executemany(
                    f"INSERT INTO {_E} ({columns}) OVERRIDING SYSTEM VALUE VALUES "
                    f"({', '.join(['%s'] * (len(_INSERT_COLUMNS) + 1))})",
                    [[e.id, *entry_values(_SQL, e), amount_text(e.overrun), e.late, e.asked_model]
                     for e in new],
                )
                cursor.executemany(
                    f"INSERT INTO {SCHEMA}.entry_tags (entry_id, key, value) "
                    "VALUES (%s, %s, %s)",
                    [(e.id, k, v) for e in new for k, v in e.tags.items()],
                )
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{_E}', 'id'), "
                    f"greatest((SELECT max(id) FROM {_E}), 1))"
                )
            return len(new), len(present)

        return self._transaction(work)

    def overruns(self, where: EntryFilter) -> tuple[Decimal, int]:
        clause, params = where_sql(_SQL, where)
        ((amount, late),) = self._query(
            f"SELECT sum({_AMOUNT.format('e.overrun')}), count(*) FILTER (WHERE e.late) "
            f"FROM {_E} e "
            f"WHERE {clause}", params,
        )
        return _exact(amount), int(late or 0)

    def entries(self, where: EntryFilter) -> Iterator[Entry]:
        for page in self._pages(where, _ROW_SQL, _PAGE):
            for row in page:
                yield entry_from_row(row)

    def entry_rows(
        self, where: EntryFilter, *, marked: bool = False
    ) -> Iterator[list[tuple[Any, ...]]]:
        selected = f"{_ROW_SQL}, {_AS_WRITTEN}" if marked else _ROW_SQL
        yield from self._pages(where, selected, _EXPORT_PAGE)

    def _pages(self, where: EntryFilter, selected: str,
               size: int) -> Iterator[list[tuple[Any, ...]]]:
        def fetch(after: int) -> list[tuple[Any, ...]]:
            clause, params = where_sql(_SQL, where, after=after)
            rows = self._query(
                f"SELECT {selected} FROM {_E} e WHERE {clause} ORDER BY e.id LIMIT %s",
                [*params, size],
            )
            return [_texts(row) for row in rows]

        return pages(fetch, size)

    def check(self) -> list[str]:
        checks = [
            (f"SELECT count(*) FROM {_E} e WHERE json_typeof(e.cost_items) <> 'object' "
             "OR json_typeof(e.tags) <> 'object'",
             "entries whose cost items or tags are not JSON objects"),
            (f"SELECT count(*) FROM {SCHEMA}.entry_tags t WHERE NOT EXISTS "
             f"(SELECT 1 FROM {_E} e WHERE e.id = t.entry_id)",
             "tags of entries that do not exist"),
            (f"SELECT count(*) FROM {_E} e WHERE e.tags::jsonb <> coalesce((SELECT "
             f"jsonb_object_agg(t.key, t.value) FROM {SCHEMA}.entry_tags t "
             "WHERE t.entry_id = e.id), '{}'::jsonb)",
             "entries whose tags differ from their tag rows"),
            (f"SELECT count(*) FROM {SCHEMA}.spooled s WHERE NOT EXISTS "
             f"(SELECT 1 FROM {_E} e WHERE e.id = s.entry_id)",
             "spool keys of entries that do not exist"),
            (f"SELECT count(*) FROM {_E} e WHERE {_COST} IS NULL OR (e.overrun IS NOT NULL "
             f"AND {_AMOUNT.format('e.overrun')} IS NULL)", ""),
        ]
        problems = []
        for sql, what in checks:
            try:
                ((count,),) = self._query(sql)
            except LedgerError as exc:
                problems.append(str(exc))
                continue
            if count:
                problems.append(f"{count} {what}" if what else damaged_costs(count))
        return problems

    def total(self, where: EntryFilter) -> Decimal:
        def run(connection: Any) -> Decimal:
            with connection.cursor() as cursor:
                return self._sums(cursor, where, None)[0]

        return self._run(run, write=False)

    def _sums(self, cursor: Any, where: EntryFilter,
              now: datetime | None) -> tuple[Decimal, list[tuple[Any, ...]]]:
        """The summed cost matching ``where`` and (with ``now``) the reservations
        unexpired at ``now``, read in one statement (one snapshot). The sum is cached up
        to the oldest transaction running at that snapshot: every entry written by a
        transaction before it is final, so the next sum reads only the entries after."""
        with self._lock:
            horizon, known = self._totals.get(where, (0, Decimal(0)))
        clause, params = where_sql(_SQL, where)
        holds = (
            f"(SELECT coalesce(json_agg(json_build_array(r.id, r.amount::text, r.tags, "
            f"r.pid, r.host) ORDER BY r.id), '[]') FROM {SCHEMA}.reservations r "
            "WHERE r.expires > %s)::text"
            if now is not None else "'[]'"
        )
        cursor.execute(
            f"SELECT h.x::text, (SELECT sum({_COST}) FROM {_E} e WHERE {clause} "
            f"AND e.xid >= %s::xid8 AND e.xid < h.x), (SELECT sum({_COST}) FROM {_E} e "
            f"WHERE {clause} AND e.xid >= h.x), {holds} "
            "FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS x) h",
            [*params, str(horizon), *params, *([now] if now is not None else [])],
        )
        text, settled, recent, held = cursor.fetchone()
        reached = int(text)
        known = EXACT.add(known, _exact(settled))
        with self._lock:
            if reached > self._totals.get(where, (0, Decimal(0)))[0]:
                self._totals[where] = (reached, known)
                self._totals.move_to_end(where)
                while len(self._totals) > _CACHED_TOTALS:
                    self._totals.popitem(last=False)
        return EXACT.add(known, _exact(recent)), [tuple(h) for h in json.loads(held)]

    def report(self, by: Sequence[str], where: EntryFilter) -> list[ReportRow]:
        sql, params = report_sql(_SQL, by, where, total="sum", cost_total="sum")
        return report_rows(by, self._query(sql, params))

    def tag_keys(self) -> list[str]:
        rows = self._query(
            f"SELECT DISTINCT key COLLATE \"C\" FROM {SCHEMA}.entry_tags ORDER BY 1"
        )
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
        here = socket.gethostname()

        def work(cursor: Any) -> ReserveOutcome:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, RESERVE_LOCK))
            now = datetime.now(timezone.utc)
            cursor.execute(f"DELETE FROM {SCHEMA}.reservations WHERE expires <= %s", (now,))
            cursor.execute(f"SELECT id, pid FROM {SCHEMA}.reservations WHERE host = %s",
                           (here,))
            dead = [hold_id for hold_id, pid in cursor.fetchall() if not process_alive(pid)]
            if dead:
                cursor.execute(f"DELETE FROM {SCHEMA}.reservations WHERE id = ANY(%s)",
                               (dead,))
            spent, holds = self._sums(cursor, where, now)
            reserved = _reserved(holds, tags, here)
            if EXACT.add(EXACT.add(spent, reserved), amount) > limit:
                return ReserveOutcome(None, spent, reserved)
            cursor.execute(
                f"INSERT INTO {SCHEMA}.reservations (amount, tags, created, expires, pid, "
                "host) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (money_text(amount), json.dumps(dict(tags), ensure_ascii=False,
                                                sort_keys=True),
                 now, expires, os.getpid(), here),
            )
            return ReserveOutcome(int(cursor.fetchone()[0]), spent, reserved)

        return self._transaction(work, holds=True)

    def spend(self, where: EntryFilter, tags: Mapping[str, str]) -> tuple[Decimal, Decimal]:
        def run(connection: Any) -> tuple[Decimal, Decimal]:
            with connection.cursor() as cursor:
                spent, holds = self._sums(cursor, where, datetime.now(timezone.utc))
            return spent, _reserved(holds, tags, socket.gethostname())

        return self._run(run, write=False)

    def holds(self) -> list[Hold]:
        here = socket.gethostname()
        rows = self._query(
            f"SELECT id, amount, tags::text, created, expires, pid, host FROM "
            f"{SCHEMA}.reservations WHERE expires > %s ORDER BY id",
            (datetime.now(timezone.utc),),
        )
        return [
            Hold(row[0], row[1], json.loads(row[2]), row[3].astimezone(timezone.utc),
                 row[4].astimezone(timezone.utc))
            for row in still_held(rows, here)
        ]

    def renew(self, reservation_id: int, expires: datetime) -> bool:
        def work(cursor: Any) -> bool:
            cursor.execute(
                f"UPDATE {SCHEMA}.reservations SET expires = %s WHERE id = %s "
                "AND expires > %s", (expires, reservation_id, datetime.now(timezone.utc)),
            )
            return bool(cursor.rowcount == 1)

        return self._transaction(work, holds=True)

    def release(self, reservation_id: int) -> None:
        def work(cursor: Any) -> None:
            cursor.execute(f"DELETE FROM {SCHEMA}.reservations WHERE id = %s",
                           (reservation_id,))

        self._transaction(work, holds=True)

    # -- settings --------------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        """Whether the store was opened for reading alone."""
        return self._read_only

    def settings(self, prefix: str) -> dict[str, str]:
        rows = self._query(
            f"SELECT key, value FROM {SCHEMA}.meta WHERE left(key, %s) = %s ORDER BY key",
            (len(prefix), prefix),
        )
        return {str(key): str(value) for key, value in rows}

    def put_setting(self, key: str, value: str | None) -> str | None:
        check_setting_key(key)

        def work(cursor: Any) -> str | None:
            cursor.execute(f"SELECT value FROM {SCHEMA}.meta WHERE key = %s FOR UPDATE",
                           (key,))
            row = cursor.fetchone()
            if value is None:
                cursor.execute(f"DELETE FROM {SCHEMA}.meta WHERE key = %s", (key,))
            else:
                cursor.execute(
                    f"INSERT INTO {SCHEMA}.meta (key, value) VALUES (%s, %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", (key, value),
                )
            return None if row is None else str(row[0])

        return self._transaction(work)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.close()

    def __repr__(self) -> str:
        return f"PostgresStore({self._location!r})"


def _texts(row: Sequence[Any]) -> tuple[Any, ...]:
    """A stored row with its amounts as the exact text the SQLite store keeps."""
    values = list(row)
    for index in _AMOUNTS:
        if values[index] is not None:
            values[index] = money_text(values[index])
    return tuple(values)


def _exact(value: Decimal | None) -> Decimal:
    return Decimal(0) if value is None else value


def _settle(cursor: Any, reservation_id: int, total: Decimal,
            reserved: Decimal | None) -> tuple[Decimal | None, bool]:
    """Drop a reservation that a cost settles: the cost above it (None when within it),
    and whether it had lapsed (expired, or gone) before this moment."""
    now = datetime.now(timezone.utc)
    cursor.execute(
        f"DELETE FROM {SCHEMA}.reservations WHERE id = %s RETURNING amount, expires",
        (reservation_id,),
    )
    row = cursor.fetchone()
    late = row is None or row[1] <= now
    held = row[0] if row is not None else reserved
    return overrun_of(reservation_id, total, held, late=late), late


def _reserved(holds: Sequence[tuple[Any, ...]], tags: Mapping[str, str], here: str) -> Decimal:
    """The open reservations counting toward ``tags``: those of this host's processes
    that are gone hold nothing."""
    return reserved_toward(
        ((amount, hold_tags) for _, amount, hold_tags, _, _ in still_held(holds, here)), tags
    )
