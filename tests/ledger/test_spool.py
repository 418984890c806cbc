"""The spool: entries a failing ledger could not take are kept beside it and written later,
in order, exactly once."""

from __future__ import annotations

import os
import shutil
import sqlite3
import warnings
from decimal import Decimal

import pytest

import costbook
from costbook import Budget, Ledger, LedgerError, Usage, price
from costbook.ledger._ledger import make_entry


def cost(tokens: int):
    return price(Usage(input_tokens=tokens), "gpt-4o-mini")


def entry(tokens: int, **details):
    return make_entry(cost(tokens), **details)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "spend.sqlite"


class Locked:
    """Another connection holding the ledger's write lock (BEGIN EXCLUSIVE)."""

    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("BEGIN EXCLUSIVE")

    def release(self):
        self.db.execute("COMMIT")
        self.db.close()


def test_a_locked_ledger_spools_and_writes_later_in_order(path):
    ledger = Ledger(path, timeout=0.2)
    ledger.keep(entry(1))
    lock = Locked(path)
    with pytest.warns(RuntimeWarning, match=r"locked.*kept in .*spend\.sqlite\.spool"):
        kept = ledger.keep(entry(2, request_id="chatcmpl-2", tags={"team": "a"}))
    assert kept.id == 0 and kept.request_id == "chatcmpl-2"
    with pytest.warns(RuntimeWarning):
        ledger.keep(entry(3))
    assert ledger.spooled() == 2
    assert len((path.parent / "spend.sqlite.spool").read_text().splitlines()) == 2
    with pytest.raises(LedgerError, match="locked"):
        ledger.record(cost(9))  # a plain record says the ledger failed
    lock.release()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ledger.keep(entry(4))
    assert [e.usage.input_tokens for e in ledger.entries()] == [1, 2, 3, 4]
    assert [e.id for e in ledger.entries()] == [1, 2, 3, 4]
    second = ledger.entries()[1]
    assert second.request_id == "chatcmpl-2" and second.tags == {"team": "a"}
    assert second.total == cost(2).total
    assert ledger.spooled() == 0
    assert (path.parent / "spend.sqlite.spool").read_text() == ""
    ledger.close()


def test_a_replay_cut_short_after_the_commit_writes_each_entry_once(path, tmp_path):
    ledger = Ledger(path, timeout=0.1)
    lock = Locked(path)
    with pytest.warns(RuntimeWarning):
        ledger.keep(entry(1))
        ledger.keep(entry(2))
    lock.release()
    spool = tmp_path / "spend.sqlite.spool"
    copy = tmp_path / "copy.spool"
    shutil.copy(spool, copy)
    assert ledger.replay_spool() == 2
    shutil.copy(copy, spool)  # as if the process died before the spool was truncated
    assert ledger.spooled() == 2
    assert ledger.replay_spool() == 2
    assert [e.usage.input_tokens for e in ledger.entries()] == [1, 2]
    assert ledger.spooled() == 0
    ledger.close()


def test_a_waiting_spool_is_written_at_the_next_write_of_any_ledger_object(path):
    first = Ledger(path, timeout=0.1)
    lock = Locked(path)
    with pytest.warns(RuntimeWarning):
        first.keep(entry(7))
    lock.release()
    first.close()
    with Ledger(path) as again:
        assert again.spooled() == 1
        assert again.entries() == []
        again.record(cost(8))
        assert [e.usage.input_tokens for e in again.entries()] == [7, 8]
        assert again.spooled() == 0


def test_a_spooled_commit_settles_its_reservation_when_written(path):
    ledger = Ledger(path, timeout=0.1)
    budget = Budget("1", ledger=ledger)
    reservation = budget.reserve("0.5")
    lock = Locked(path)
    with pytest.warns(RuntimeWarning):
        kept = reservation.commit(cost(5), spool=True)
    assert kept.id == 0 and not reservation.open
    lock.release()
    assert budget.status().reserved == Decimal("0.5")  # held until the entry is written
    ledger.replay_spool()
    assert budget.status().reserved == 0
    assert budget.spent() == cost(5).total
    ledger.close()


def test_a_torn_line_is_moved_aside_not_dropped(path, tmp_path):
    ledger = Ledger(path, timeout=0.1)
    lock = Locked(path)
    with pytest.warns(RuntimeWarning):
        ledger.keep(entry(1))
    lock.release()
    spool = tmp_path / "spend.sqlite.spool"
    with spool.open("a") as file:
        file.write('{"key": "abc", "time": "2025-06')  # a write cut by a crash
    with pytest.warns(RuntimeWarning, match="moved to"):
        assert ledger.replay_spool() == 1
    assert (tmp_path / "spend.sqlite.spool.rejected").read_text() == \
        '{"key": "abc", "time": "2025-06\n'
    assert [e.usage.input_tokens for e in ledger.entries()] == [1]
    ledger.close()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into read-only directories")
def test_a_read_only_directory_keeps_entries_in_memory_until_writable(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    ledger = Ledger(folder / "spend.sqlite", timeout=0.1)
    ledger.close()
    folder.chmod(0o500)
    try:
        ledger = Ledger(folder / "spend.sqlite", timeout=0.1)
        with pytest.warns(RuntimeWarning, match="memory"):
            ledger.keep(entry(1))
        assert ledger.spooled() == 1
    finally:
        folder.chmod(0o700)
    ledger.keep(entry(2))
    assert [e.usage.input_tokens for e in ledger.entries()] == [1, 2]
    ledger.close()


def test_an_in_memory_ledger_has_a_memory_spool():
    ledger = Ledger(":memory:")
    assert ledger.spool_path is None and ledger.spooled() == 0
    assert ledger.keep(entry(1)).id == 1


def test_a_spooled_entry_keeps_its_status_and_asked_model(path):
    ledger = Ledger(path, timeout=0.2)
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    cost = costbook.Cost(total=Decimal("0.002"), items={"reported": Decimal("0.002")},
                         model="acme/new-model", provider="openrouter",
                         usage=costbook.Usage(input_tokens=3))
    entry = make_entry(cost, status="unpriced", reported_cost="0.002",
                       asked_model="openrouter/auto")
    with pytest.warns(RuntimeWarning, match="spool"):
        ledger.keep(entry)
    lock.execute("COMMIT")
    lock.close()
    assert ledger.replay_spool() == 1
    [stored] = ledger.entries()
    assert (stored.status, stored.asked_model, stored.total) == (
        "unpriced", "openrouter/auto", Decimal("0.002"))
    ledger.close()
