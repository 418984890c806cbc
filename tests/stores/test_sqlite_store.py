"""The SQLite ledger file: format, schema versions, refusals, locks, crashes, concurrency."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from costbook import Ledger, LedgerError, Usage, price
from costbook.pricing._usage import USAGE_FIELDS
from costbook.records._entry import exact_sum
from costbook.stores._sqlite_schema import (
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    USAGE_COLUMNS,
)
from costbook.stores._sqlite_store import SQLiteStore
from ledger_workers import returned_before_kills, run_together, start, worker_cost


def mini(input_tokens: int, output_tokens: int = 0) -> object:
    return price(Usage(input_tokens=input_tokens, output_tokens=output_tokens), "gpt-4o-mini")


def filled(path: Path, count: int = 300) -> bytes:
    with Ledger(path) as ledger:
        for i in range(count):
            ledger.record(mini(i + 1, i), tags={"i": str(i)})
    return path.read_bytes()


def siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name))


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


# -- the file ------------------------------------------------------------------------------


def test_a_new_ledger_is_a_versioned_wal_sqlite_file(tmp_path):
    path = tmp_path / "spend.sqlite"
    Ledger(path).close()
    db = raw(path)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"meta", "entries", "entry_tags", "reservations", "spooled"} <= tables
    assert db.execute("SELECT key FROM meta").fetchall() == [("created",)]
    db.close()
    header = path.read_bytes()[:100]
    assert header.startswith(b"SQLite format 3\x00")
    assert int.from_bytes(header[68:72], "big") == APPLICATION_ID


def test_money_is_stored_as_exact_text_never_real(tmp_path):
    path = tmp_path / "spend.sqlite"
    with Ledger(path) as ledger:
        ledger.record(mini(1234, 56), reported_cost=Decimal("0.000222100000000000000001"),
                      estimate=Decimal("0.1"))
    db = raw(path)
    row = db.execute(
        "SELECT typeof(cost), cost, typeof(reported_cost), reported_cost, typeof(estimate_low),"
        " cost_items FROM entries"
    ).fetchone()
    assert row[:5] == ("text", "0.0002187", "text", "0.000222100000000000000001", "text")
    assert json.loads(row[5]) == {"input": "0.0001851", "output": "0.0000336"}
    db.close()
    with Ledger(path) as ledger:
        assert ledger.entries()[0].reported_cost == Decimal("0.000222100000000000000001")


def test_the_usage_columns_are_every_usage_field():
    # a new usage field needs a schema migration that adds its column
    assert USAGE_COLUMNS == USAGE_FIELDS


def test_two_ledgers_on_one_file_see_each_others_entries(tmp_path):
    path = tmp_path / "spend.sqlite"
    first, second = Ledger(path), Ledger(path)
    first.record(mini(1000))
    assert second.total() == Decimal("0.00015")
    second.record(mini(2000))
    assert first.total() == Decimal("0.00045")  # a cached sum picks up the new entry
    first.record(mini(3000))
    assert second.total() == first.total() == Decimal("0.0009")
    assert [e.id for e in second.entries()] == [1, 2, 3]
    first.close()
    second.close()


def test_in_memory_ledgers_are_separate():
    with Ledger(":memory:") as one, Ledger(":memory:") as two:
        one.record(mini(1000))
        assert one.total() == Decimal("0.00015")
        assert two.entries() == []
        assert one.location == ":memory:"


def test_a_missing_file_is_refused_when_creating_is_not_allowed(tmp_path):
    path = tmp_path / "nothing.sqlite"
    with pytest.raises(LedgerError, match=r"no ledger at .*nothing\.sqlite"):
        Ledger(path, create=False)
    assert not path.exists()


# -- schema versions -------------------------------------------------------------------------


def test_an_older_ledger_is_migrated_forward_keeping_its_entries(tmp_path):
    path = tmp_path / "v1.sqlite"
    db = raw(path)
    db.execute("BEGIN")
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for statement in MIGRATIONS[0]:
        db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    v1_usage = [c for c in USAGE_COLUMNS if not c.startswith("audio_") and c != "web_searches"]
    columns = ["time", "provider", "model", "request_id", "status", *v1_usage, "cost",
               "cost_items", "currency", "effective", "tags"]
    db.execute(
        f"INSERT INTO entries ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        ("2025-06-10T12:00:00.000000Z", "openai", "gpt-4o-mini", "chatcmpl-1", "ok",
         1000, 10, 0, 0, 0, 0, 0, 1, "0.000156", '{"input": "0.00015", "output": "0.000006"}',
         "USD", "2024-07-18", '{"team": "search"}'),
    )
    db.execute("INSERT INTO entry_tags VALUES (1, 'team', 'search')")
    db.execute("COMMIT")
    db.close()

    with Ledger(path) as ledger:
        (entry,) = ledger.entries(tags={"team": "search"})
        assert entry.total == Decimal("0.000156")
        assert entry.usage == Usage(input_tokens=1000, output_tokens=10)
        assert entry.request_id == "chatcmpl-1"
        assert (entry.overrun, entry.late) == (None, False)
        from costbook import Budget

        Budget("1", ledger=ledger).reserve("0.5").release()  # the new table works
    db = raw(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 4
    assert db.execute("SELECT key FROM meta").fetchall() == [("migrated 1->4",)]
    db.close()


def test_a_ledger_from_a_newer_costbook_is_refused_naming_both_versions(tmp_path):
    path = tmp_path / "new.sqlite"
    filled(path, 5)
    db = raw(path)
    db.execute("PRAGMA user_version = 7")
    db.close()
    before = path.read_bytes()
    with pytest.raises(LedgerError) as refused:
        Ledger(path)
    message = str(refused.value)
    assert "schema version 7" in message
    assert f"version {SCHEMA_VERSION} that this costbook reads" in message
    assert "upgrade costbook" in message
    assert path.read_bytes() == before
    assert siblings(path) == ["new.sqlite"]


# -- refusals ---------------------------------------------------------------------------------


def foreign_sqlite(path: Path) -> None:
    db = raw(path)
    db.execute("CREATE TABLE notes (body TEXT)")
    db.execute("INSERT INTO notes VALUES ('keep me')")
    db.close()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.write_text("id,cost\n1,0.5\n"), "not an SQLite database"),
        (lambda p: p.write_bytes(bytes(range(256)) * 64), "not an SQLite database"),
        (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\x01" * 40), "not an SQLite"),
        (foreign_sqlite, "an SQLite database but not a costbook ledger"),
    ],
    ids=["csv", "binary", "short-header", "other-sqlite-app"],
)
def test_a_file_that_is_not_a_ledger_is_refused_and_left_untouched(tmp_path, make, reason):
    path = tmp_path / "some.file"
    make(path)
    before = path.read_bytes()
    with pytest.raises(LedgerError, match=reason):
        Ledger(path)
    assert path.read_bytes() == before
    assert siblings(path) == ["some.file"]


def overwrite(data: bytes, start: int, length: int) -> bytes:
    noise = random.Random(start).randbytes(length)
    return data[:start] + noise + data[start + length:]


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: overwrite(b, 4096 * (leaf_pages(b)[len(leaf_pages(b)) // 2] - 1), 4096),  # a table page
        lambda b: overwrite(b, 100, 3996),  # the schema, after the header
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b[:-4096] + bytes(4096),  # last page zeroed
    ],
    ids=["table-page", "schema-page", "truncated", "zeroed-page"],
)
def test_a_corrupt_ledger_is_found_and_left_untouched(tmp_path, damage):
    path = tmp_path / "spend.sqlite"
    path.write_bytes(damage(filled(path)))
    before = path.read_bytes()
    try:
        ledger = Ledger(path)  # refused when the schema or the newest entries are damaged
    except LedgerError as refused:
        assert "is corrupt" in str(refused)
    else:  # damage elsewhere: found by a check, and by any read that meets it
        problems = ledger.check()
        assert problems and all(isinstance(p, str) for p in problems)
        with pytest.raises(LedgerError, match="is corrupt"):
            ledger.export("csv", io.StringIO())
            ledger.report(["day", "i"])
        ledger.close()
    assert path.read_bytes() == before
    assert siblings(path) == ["spend.sqlite"]


def leaf_pages(data: bytes) -> list[int]:
    """The numbers of the table leaf pages of an SQLite file (page type 13)."""
    size = int.from_bytes(data[16:18], "big")
    return [n for n in range(2, len(data) // size + 1) if data[(n - 1) * size] == 13]


def test_opening_reads_no_more_than_the_schema_and_the_newest_entry(tmp_path):
    path = tmp_path / "spend.sqlite"
    data = filled(path, 3000)
    size = int.from_bytes(data[16:18], "big")
    middle = leaf_pages(data)[len(leaf_pages(data)) // 2]
    path.write_bytes(overwrite(data, (middle - 1) * size, size))
    with Ledger(path) as ledger:  # a full check at every open took time growing with the file
        problems = ledger.check()
        assert any("page" in problem or "malformed" in problem for problem in problems)
        with pytest.raises(LedgerError, match=r"is corrupt.*check\(\)"):
            ledger.entries()


def test_a_sound_ledger_checks_clean(tmp_path):
    path = tmp_path / "spend.sqlite"
    filled(path, 50)
    with Ledger(path) as ledger:
        assert ledger.check() == []
    with Ledger(":memory:") as scratch:
        assert scratch.check() == []


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(LedgerError, match="is a directory"):
        Ledger(tmp_path)


# -- locks ------------------------------------------------------------------------------------


def test_a_locked_ledger_is_retried_then_refused_clearly(tmp_path):
    path = tmp_path / "spend.sqlite"
    ledger = Ledger(path, timeout=0.3)
    ledger.record(mini(1000))
    holder = raw(path)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO meta VALUES ('held', 'by a test')")
    with pytest.raises(LedgerError) as refused:
        ledger.record(mini(2000))
    message = str(refused.value)
    assert "is locked by another connection" in message
    assert "gave up after 0.3 s" in message
    attempts = int(message.split(" attempts")[0].rsplit(" ", 1)[1])
    assert attempts > 1  # it retried, with backoff
    assert ledger.total() == Decimal("0.00015")  # readers are not blocked in WAL mode
    holder.execute("ROLLBACK")
    ledger.record(mini(2000))
    assert ledger.total() == Decimal("0.00045")
    holder.close()
    ledger.close()


def test_a_write_waits_for_a_lock_released_within_the_timeout(tmp_path):
    path = tmp_path / "spend.sqlite"
    ledger = Ledger(path, timeout=30)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO meta VALUES ('held', 'by a test')")
    timer = threading.Timer(0.2, lambda: holder.execute("COMMIT"))
    timer.start()
    entry = ledger.record(mini(1000))  # retried until the holder commits
    timer.join()
    assert not holder.in_transaction
    assert entry.id == 1
    assert [e.id for e in ledger.entries()] == [1]
    holder.close()
    ledger.close()


def test_timeout_must_not_be_negative(tmp_path):
    with pytest.raises(ValueError, match="timeout must be 0 or more"):
        SQLiteStore(tmp_path / "x.sqlite", timeout=-1)


def test_an_empty_path_is_refused():
    with pytest.raises(ValueError, match="a ledger path is empty"):
        Ledger("")


# -- processes --------------------------------------------------------------------------------


def test_four_processes_appending_lose_nothing(tmp_path):
    path = tmp_path / "spend.sqlite"
    Ledger(path).close()
    workers = [start("record", path, w, 500) for w in range(4)]
    assert run_together(workers) == ["done\n"] * 4
    expected = exact_sum(worker_cost(w, i).total for w in range(4) for i in range(500))
    with Ledger(path) as ledger:
        entries = ledger.entries()
        assert len(entries) == 2000
        assert sorted(e.id for e in entries) == list(range(1, 2001))
        assert ledger.total() == expected
        for w in range(4):
            mine = ledger.entries(tags={"worker": str(w)})
            assert [e.usage for e in mine] == [worker_cost(w, i).usage for i in range(500)]
        assert sum(r.calls for r in ledger.report("worker")) == 2000


def test_processes_creating_one_new_ledger_at_once_share_it(tmp_path):
    path = tmp_path / "new.sqlite"
    workers = [start("open-and-record", path) for _ in range(4)]
    outputs = run_together(workers)
    assert sorted(outputs) == [f"recorded {n}\n" for n in range(1, 5)]
    db = raw(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("SELECT count(*) FROM entries").fetchone()[0] == 4
    assert db.execute("SELECT count(*) FROM meta").fetchone()[0] == 1  # created once
    db.close()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_process_leaves_every_returned_entry_in_a_consistent_file(tmp_path):
    path = tmp_path / "spend.sqlite"
    returned = returned_before_kills(path)
    db = raw(path)
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    stored = [row[0] for row in db.execute("SELECT id FROM entries ORDER BY id")]
    db.close()
    assert set(returned) <= set(stored)
    assert len(stored) <= len(returned) + 3  # at most one more per kill, never printed
    assert stored == list(range(1, len(stored) + 1))
    with Ledger(path) as ledger:
        assert len(ledger.entries()) == len(stored)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_ledger_is_usable_on_both_sides_of_a_fork(tmp_path):
    path = tmp_path / "spend.sqlite"
    ledger = Ledger(path)
    ledger.record(mini(1))
    pid = os.fork()
    if pid == 0:  # the child records through the ledger it inherited
        code = 1
        try:
            for i in range(200):
                ledger.record(mini(1000 + i))
            code = 0
        finally:
            os._exit(code)
    for i in range(100):
        ledger.record(mini(2000 + i))
    ledger.close()  # the parent is done first: the child's entries must not suffer
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with Ledger(path) as reopened:
        tokens = sorted(e.usage.input_tokens for e in reopened.entries())
    assert tokens == [1, *range(1000, 1200), *range(2000, 2100)]
    db = raw(path)
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    db.close()


def test_a_version_2_ledger_gains_the_invalid_usage_status_keeping_ids(tmp_path):
    path = tmp_path / "v2.sqlite"
    db = raw(path)
    db.execute("BEGIN")
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for step in MIGRATIONS[:2]:
        for statement in step:
            db.execute(statement)
    db.execute("PRAGMA user_version = 2")
    v2_usage = [c for c in USAGE_COLUMNS if not c.startswith("audio_") and c != "web_searches"]
    columns = ["time", "provider", "model", "status", *v2_usage, "cost", "cost_items",
               "currency", "tags"]
    for tokens in (1, 2):
        db.execute(
            f"INSERT INTO entries ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            ("2025-06-10T12:00:00.000000Z", "openai", "gpt-4o-mini", "ok",
             tokens, 0, 0, 0, 0, 0, 0, 1, "0", "{}", "USD", "{}"),
        )
    db.execute("COMMIT")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        db.execute("UPDATE entries SET status = 'invalid_usage'")
    db.close()
    with Ledger(path) as ledger:
        third = ledger.record(price(Usage(input_tokens=3), "gpt-4o-mini"),
                              status="invalid_usage")
        assert [e.id for e in ledger.entries()] == [1, 2, 3] and third.id == 3
        assert [e.usage.input_tokens for e in ledger.entries(status="invalid_usage")] == [3]
    db = raw(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 4
    db.close()


def test_a_version_3_ledger_gains_the_refused_status_keeping_its_entries(tmp_path):
    path = tmp_path / "v3.sqlite"
    db = raw(path)
    db.execute("BEGIN")
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for step in MIGRATIONS[:3]:
        for statement in step:
            db.execute(statement)
    db.execute("PRAGMA user_version = 3")
    columns = ["time", "provider", "model", "status", *USAGE_COLUMNS, "cost", "cost_items",
               "currency", "tags", "overrun", "late", "asked_model"]
    db.execute(
        f"INSERT INTO entries ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        ("2025-06-10T12:00:00.000000Z", "openai", "gpt-4o-mini", "unpriced",
         *([7] + [0] * (len(USAGE_COLUMNS) - 1)), "0.5", '{"reported": "0.5"}', "USD", "{}",
         "0.1", 1, "prod-4o"),
    )
    db.execute("COMMIT")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        db.execute("UPDATE entries SET status = 'refused'")
    db.close()
    with Ledger(path) as ledger:
        refused = ledger.record(price(Usage(), "gpt-4o-mini"), status="refused")
        first, second = ledger.entries()
        assert (first.id, first.status, first.total, first.overrun, first.late,
                first.asked_model, first.usage.input_tokens) == (
            1, "unpriced", Decimal("0.5"), Decimal("0.1"), True, "prod-4o", 7)
        assert (second.id, second.status) == (refused.id, "refused") == (2, "refused")
    db = raw(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 4
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed: status"):
        db.execute("UPDATE entries SET status = 'lost'")
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed: status"):
        db.execute(
            f"INSERT INTO entries ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            ("2025-06-10T12:00:00.000000Z", "openai", "gpt-4o-mini", "lost",
             *([0] * len(USAGE_COLUMNS)), "0", "{}", "USD", "{}", None, 0, None),
        )
    db.close()


def test_a_status_added_to_costbook_is_accepted_on_the_next_open(tmp_path, monkeypatch):
    from costbook.records import _entry
    from costbook.stores import _sqlite_schema

    path = tmp_path / "spend.sqlite"
    Ledger(path).close()
    more = (*_entry.STATUSES, "imported")
    monkeypatch.setattr(_sqlite_schema, "STATUSES", more)
    monkeypatch.setattr("costbook.ledger._ledger.STATUSES", more)
    with Ledger(path) as ledger:
        entry = ledger.record(price(Usage(input_tokens=1), "gpt-4o-mini"), status="imported")
        assert ledger.entries()[0].status == entry.status == "imported"
