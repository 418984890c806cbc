"""What the SQLite and PostgreSQL stores share: an entry's stored values, the SQL of a
filter and of a report (in each store's :class:`Dialect`), a report's rows, the overrun
of a settled reservation, and which reservations still hold."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from ..pricing._money import money_text
from ..pricing._usage import USAGE_FIELDS, Usage, usage_counts
from ..records._entry import EXACT, NOT_SENT, Entry
from ..records._store import GROUP_COLUMNS, TAG_PREFIX, EntryFilter, ReportRow, counts_toward

log = logging.getLogger("costbook.ledger")

R = TypeVar("R", bound=Sequence[Any])


@dataclass(frozen=True, slots=True)
class Dialect:
    """How a store writes SQL: its parameter placeholder, the prefix of its table names,
    a time and a day as it stores them, the SQL of each group key that is no tag, and the
    SQL of a stored amount in sums (``{}`` the column): NULL where it cannot be read."""

    mark: str
    tables: str
    time: Callable[[datetime], object]
    day: Callable[[date], object]
    groups: Mapping[str, str]
    amount: str = "{}"


def entry_values(dialect: Dialect, entry: Entry) -> list[Any]:
    """An entry's stored values, from its time to its tags (without overrun, late and the
    model asked for)."""
    return [
        dialect.time(entry.time),
        entry.provider,
        entry.model,
        entry.request_id,
        entry.status,
        *usage_counts(entry.usage),
        money_text(entry.total),
        json.dumps({part: money_text(v) for part, v in entry.items.items()}),
        entry.currency,
        dialect.day(entry.effective) if entry.effective else None,
        amount_text(entry.reported_cost),
        amount_text(entry.estimate_low),
        amount_text(entry.estimate_high),
        entry.duration,
        _tags_json(dict(entry.tags)) if entry.tags else "{}",
    ]


_tags_json = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode


def damaged_costs(count: int) -> str:
    """What :meth:`~costbook.records._store.LedgerStore.check` says of ``count`` entries
    whose cost or overrun cannot be read."""
    return (
        f"{count} entr{'y' if count == 1 else 'ies'} whose cost or overrun cannot be read "
        "(not a finite decimal amount): counted as 0 in totals, reports and budgets; "
        "Ledger.entries() gives the stored text under unreadable"
    )


def amount_text(amount: Decimal | None) -> str | None:
    """An amount as the exact decimal text a store keeps; None stays None."""
    return None if amount is None else money_text(amount)


def where_sql(dialect: Dialect, where: EntryFilter, *, after: int = 0) -> tuple[str, list[Any]]:
    """The condition on entries ``e`` that ``where`` makes, for ids above ``after``, and
    its parameters."""
    mark = dialect.mark
    clauses = [f"e.id > {mark}"]
    params: list[Any] = [after]
    if where.since is not None:
        clauses.append(f"e.time >= {mark}")
        params.append(dialect.time(where.since))
    if where.until is not None:
        clauses.append(f"e.time < {mark}")
        params.append(dialect.time(where.until))
    for column in ("model", "provider", "status"):
        value = getattr(where, column)
        if value is not None:
            clauses.append(f"e.{column} = {mark}")
            params.append(value)
    if where.reported:
        clauses.append("e.reported_cost IS NOT NULL")
    for key, value in where.tags:
        clauses.append(
            f"EXISTS (SELECT 1 FROM {dialect.tables}entry_tags t WHERE t.entry_id = e.id "
            f"AND t.key = {mark} AND t.value = {mark})"
        )
        params.extend((key, value))
    return " AND ".join(clauses), params


def report_sql(
    dialect: Dialect, by: Sequence[str], where: EntryFilter, *, total: str, cost_total: str
) -> tuple[str, list[Any]]:
    """The query of a report grouped by ``by`` over the entries matching ``where``, and
    its parameters: each row the group values, the count, the usage columns summed with
    the SQL function ``total`` and the cost summed with ``cost_total``."""
    keys: list[str] = []
    joins: list[str] = []
    join_params: list[Any] = []
    for index, name in enumerate(by):
        if name.startswith(TAG_PREFIX):
            alias = f"g{index}"
            joins.append(
                f"LEFT JOIN {dialect.tables}entry_tags {alias} ON {alias}.entry_id = e.id "
                f"AND {alias}.key = {dialect.mark}"
            )
            join_params.append(name.removeprefix(TAG_PREFIX))
            keys.append(f"{alias}.value")
        elif name in dialect.groups:
            keys.append(dialect.groups[name])
        else:
            raise ValueError(
                f"cannot group by {name!r}; use one of {', '.join(GROUP_COLUMNS)} "
                "or tag:KEY"
            )
    clause, params = where_sql(dialect, where)
    sums = ", ".join(f"{total}(e.{column})" for column in USAGE_FIELDS)
    not_sent = "e.status IN (" + ", ".join(f"'{status}'" for status in NOT_SENT) + ")"
    amount = dialect.amount.format
    selected = ", ".join([
        *keys, "count(*)", f"sum(CASE WHEN {not_sent} THEN 1 ELSE 0 END)",
        f"{cost_total}(CASE WHEN {not_sent} THEN {amount('e.estimate_high')} END)", sums,
        f"{cost_total}({amount('e.cost')})",
    ])
    sql = f"SELECT {selected} FROM {dialect.tables}entries e {' '.join(joins)} WHERE {clause}"
    if keys:
        sql += " GROUP BY " + ", ".join(str(i + 1) for i in range(len(keys)))
    return sql, [*join_params, *params]


def report_rows(by: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[ReportRow]:
    """The rows of a :func:`report_sql` query as report rows (groups without calls
    left out), ordered by the group values (absent ones last)."""
    width = len(by)
    result = [
        ReportRow(
            group=dict(zip(by, row[:width], strict=True)),
            calls=row[width] - int(row[width + 1] or 0),
            usage=Usage.summed({
                name: int(value)
                for name, value in zip(USAGE_FIELDS, row[width + 3:-1], strict=True)
            }),
            cost=Decimal(0) if row[-1] is None else Decimal(row[-1]),
            refused=int(row[width + 1] or 0),
            risked=Decimal(0) if row[width + 2] is None else Decimal(row[width + 2]),
        )
        for row in rows
        if row[width]
    ]
    result.sort(key=lambda r: [(v is None, v or "") for v in r.group.values()])
    return result


def pages(fetch: Callable[[int], list[R]], size: int) -> Iterator[list[R]]:
    """Rows in pages of up to ``size``, each page fetched by ``fetch(after)``: the rows
    whose id (their first value) is above ``after``, in id order."""
    after = 0
    while True:
        rows = fetch(after)
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = rows[-1][0]


def overrun_of(
    reservation_id: int, total: Decimal, held: Decimal | None, *, late: bool
) -> Decimal | None:
    """The cost ``total`` above the reservation ``held`` that it settles (None when within
    it, or when nothing is known of it); a warning says so, and when it had lapsed."""
    overrun = None
    notes = ["after it had lapsed"] if late else []
    if held is not None and total > held:
        overrun = EXACT.subtract(total, held)
        notes.insert(0, f"{money_text(overrun)} above its {money_text(held)}")
    if notes:
        log.warning(
            "reservation %d settled %s: the cost %s is recorded in full and counted",
            reservation_id, " and ".join(notes), money_text(total),
        )
    return overrun


def still_held(rows: Iterable[R], here: str) -> list[R]:
    """The reservations among ``rows`` (each ending with its pid and host) that still
    hold: one made by a process of this host (``here``) that is gone holds nothing."""
    alive: dict[int, bool] = {}
    return [
        row for row in rows
        if row[-1] != here or alive.setdefault(row[-2], process_alive(row[-2]))
    ]


def reserved_toward(holds: Iterable[tuple[Any, Mapping[str, str]]],
                    tags: Mapping[str, str]) -> Decimal:
    """The summed amount of the ``holds`` (amount, tags) that count toward ``tags``."""
    total = Decimal(0)
    for amount, hold_tags in holds:
        if counts_toward(hold_tags, tags):
            total = EXACT.add(total, Decimal(amount))
    return total


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host may still run. Only a process known to be gone
    is reported dead: no such pid, or a zombie (killed, not yet reaped by its parent); a
    process of another user (``EPERM``) is alive, and so is anything this cannot tell."""
    if not isinstance(pid, int) or pid <= 0:
        return True  # not a process id (0 and negatives would name process groups)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, run by someone else
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in (b"Z", b"X")
