"""The costliest entries of a ledger: its most expensive calls, read in one streaming pass."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ..records._entry import ROW_COLUMNS, Entry, entry_from_row, readable_amount
from ..records._store import EntryFilter, LedgerStore

_ID = ROW_COLUMNS.index("id")
_COST = ROW_COLUMNS.index("cost")


def costliest_entries(store: LedgerStore, where: EntryFilter, limit: int) -> list[Entry]:
    """The ``limit`` entries matching ``where`` of highest table cost, costliest first;
    between equal costs, the one recorded first comes first. Only the cost of each stored
    row is read until the winners are known, so that a large ledger is ranked quickly."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"limit must be a whole number of entries, got {limit!r}")
    if limit < 0:
        raise ValueError(f"limit must be 0 or more entries, got {limit}")
    if limit == 0:
        return []

    def ranked() -> Iterator[tuple[Decimal, int, tuple[Any, ...]]]:
        for page in store.entry_rows(where):
            for row in page:
                yield _amount(row[_COST]), -row[_ID], row

    best = heapq.nlargest(limit, ranked(), key=lambda item: (item[0], item[1]))
    return [entry_from_row(row) for _, _, row in best]


def _amount(text: object) -> Decimal:
    """A stored cost; a value costbook did not write ranks as 0 (as its entry reads)."""
    value = readable_amount(text)
    return Decimal(0) if value is None else value
