"""Record listeners: told of each entry this process records, once, after it is kept."""

from __future__ import annotations

import logging
import sqlite3
import warnings

import pytest

from costbook import Budget, Ledger, Usage, price
from costbook.ledger._ledger import make_entry
from costbook.records._listeners import (
    add_record_listener,
    record_listeners,
    remove_record_listener,
)


def cost(tokens: int):
    return price(Usage(input_tokens=tokens), "gpt-4o-mini")


@pytest.fixture
def heard():
    entries = []
    add_record_listener(entries.append)
    yield entries
    remove_record_listener(entries.append)
    assert entries.append not in record_listeners()


def test_record_keep_and_a_budget_commit_each_tell_the_stored_entry_once(tmp_path, heard):
    with Ledger(tmp_path / "spend.sqlite") as ledger:
        first = ledger.record(cost(1000), tags={"team": "a"})
        second = ledger.keep(make_entry(cost(2000)))
        budget = Budget("1", ledger=ledger)
        third = budget.reserve("0.01").commit(cost(3000))
        fourth = budget.reserve("0.01").commit(cost(4000), spool=True)
        budget.reserve("0.01").commit(ledger.record(cost(5000)))  # told once, by record
        assert heard == [first, second, third, fourth, ledger.entries()[-1]]
        assert [e.id for e in heard] == [1, 2, 3, 4, 5]
        assert [e.usage.input_tokens for e in heard] == [1000, 2000, 3000, 4000, 5000]


def test_a_spooled_entry_is_told_when_spooled_and_not_again_at_its_replay(tmp_path, heard):
    path = tmp_path / "spend.sqlite"
    ledger = Ledger(path, timeout=0.1)
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    with pytest.warns(RuntimeWarning, match="spool"):
        kept = ledger.keep(make_entry(cost(700)))
    assert heard == [kept] and kept.id == 0
    lock.execute("COMMIT")
    lock.close()
    assert ledger.replay_spool() == 1
    assert heard == [kept]
    ledger.close()


def test_a_failed_record_tells_no_one(tmp_path, heard):
    path = tmp_path / "spend.sqlite"
    Ledger(path).close()
    with Ledger(path, read_only=True) as ledger, pytest.raises(Exception, match="read"):
        ledger.record(cost(100))
    assert heard == []


def test_a_listener_that_raises_is_logged_and_never_breaks_the_record(tmp_path, heard, caplog):
    def broken(entry):
        raise RuntimeError("exporter down")

    add_record_listener(broken)
    try:
        with Ledger(tmp_path / "spend.sqlite") as ledger, caplog.at_level(logging.WARNING):
            entry = ledger.record(cost(100))
        assert entry.id == 1 and heard == [entry]  # the others are still told
        assert "record listener" in caplog.text and "exporter down" in caplog.text
    finally:
        remove_record_listener(broken)


def test_listeners_are_added_once_and_must_be_callable(heard):
    add_record_listener(heard.append)
    assert record_listeners().count(heard.append) == 1
    with pytest.raises(TypeError, match="callable"):
        add_record_listener("print")  # type: ignore[arg-type]
    remove_record_listener(print)  # not registered: nothing happens
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert heard.append in record_listeners()
