"""Copying a ledger's entries into another ledger: SQLite to PostgreSQL, and back.

Entries keep their ids, so a copy run again (or cut short and run again) copies only what
is missing; amounts, times, marks and tags are copied exactly. An id that holds another
entry in the target is refused, and an entry whose stored values could not be read is
left where it is (it would be copied with stand-ins): both are named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..records._entry import Entry
from ..records._store import SETTING_PREFIXES, EntryFilter, LedgerStore


class Stored(Protocol):
    """What a copy reads of a ledger (:class:`~costbook.ledger._ledger.Ledger`)."""

    @property
    def location(self) -> str: ...
    @property
    def store(self) -> LedgerStore: ...

BATCH = 1000


@dataclass(frozen=True, slots=True)
class CopyResult:
    """What a copy did: entries read from the source, copied into the target, found
    there already, and the ids of those left behind because they could not be read;
    ``settings`` counts the named budgets and kept reconciliations copied (those the
    target lacked)."""

    source: str
    target: str
    read: int
    copied: int
    present: int
    unreadable: tuple[int, ...] = ()
    settings: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "source": self.source,
            "target": self.target,
            "read": self.read,
            "copied": self.copied,
            "present": self.present,
            "unreadable": list(self.unreadable),
            "settings": self.settings,
        }


def copy_entries(
    source: Stored, target: Stored, *, progress: Callable[[int, int], None] | None = None
) -> CopyResult:
    """Copy every entry of ``source`` into ``target`` in batches, each one transaction;
    ``progress(done, total)`` after each."""
    if source.store is target.store:
        raise ValueError("a ledger cannot be copied into itself")
    everything = EntryFilter()
    totals = source.store.report((), everything)
    total = totals[0].calls if totals else 0
    read = copied = present = 0
    unreadable: list[int] = []
    batch: list[Entry] = []

    def flush() -> None:
        nonlocal copied, present
        stored, there = target.store.import_entries(batch)
        copied += stored
        present += there
        batch.clear()
        if progress is not None:
            progress(read, total)

    for entry in source.store.entries(everything):
        read += 1
        if entry.unreadable:
            unreadable.append(entry.id)
            continue
        batch.append(entry)
        if len(batch) >= BATCH:
            flush()
    flush()
    return CopyResult(source.location, target.location, read, copied, present,
                      tuple(unreadable), _copy_settings(source, target))


def _copy_settings(source: Stored, target: Stored) -> int:
    """Copy the source's settings (named budgets, kept reconciliations) that the target
    lacks; one the target has already is left as it is there."""
    copied = 0
    for prefix in SETTING_PREFIXES:
        there = target.store.settings(prefix)
        for key, value in source.store.settings(prefix).items():
            if key not in there:
                target.store.put_setting(key, value)
                copied += 1
    return copied

