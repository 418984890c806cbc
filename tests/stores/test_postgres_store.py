"""The PostgreSQL ledger on a real, throwaway server: schema, refusals, connections,
processes racing and killed, and copies to and from SQLite."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import psycopg
import pytest

from costbook import Budget, BudgetExceeded, Ledger, LedgerError, Usage, price
from costbook.pricing._usage import USAGE_FIELDS
from costbook.records._entry import STATUSES, exact_sum
from costbook.stores._postgres_schema import SCHEMA_VERSION
from costbook.stores._postgres_store import masked
from ledger_workers import (
    cost_of,
    hanging,
    returned_before_kills,
    run_together,
    start,
    worker_cost,
)


def mini(input_tokens: int, output_tokens: int = 0) -> object:
    return price(Usage(input_tokens=input_tokens, output_tokens=output_tokens), "gpt-4o-mini")


def sql(url: str, statement: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as connection:
        cursor = connection.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "costbook", *args], capture_output=True,
                          text=True, timeout=120)


# -- the schema ---------------------------------------------------------------------------------


def test_a_new_ledger_is_a_versioned_schema_with_exact_columns(postgres_url):
    sql(postgres_url, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')")
    with Ledger(postgres_url) as ledger:
        ledger.record(mini(1234, 56), reported_cost=Decimal("0.000222100000000000000001"))
    tables = {r[0] for r in sql(postgres_url, "SELECT table_name FROM information_schema.tables "
                                              "WHERE table_schema = 'costbook'")}
    assert tables == {"meta", "entries", "entry_tags", "reservations", "spooled"}
    meta = dict(sql(postgres_url, "SELECT key, value FROM costbook.meta"))
    assert meta["schema_version"] == str(SCHEMA_VERSION) == "1"
    assert meta["application"] == "costbook ledger"
    assert set(json.loads(meta["statuses"])) == set(STATUSES)
    types = dict(sql(postgres_url, "SELECT column_name, data_type FROM "
                                   "information_schema.columns WHERE table_schema = 'costbook' "
                                   "AND table_name = 'entries'"))
    for name in ("cost", "reported_cost", "estimate_low", "estimate_high", "overrun"):
        assert types[name] == "numeric"
    assert types["time"] == "timestamp with time zone"
    assert {name: types[name] for name in USAGE_FIELDS} == dict.fromkeys(USAGE_FIELDS, "bigint")
    assert sql(postgres_url, "SELECT cost::text, reported_cost::text FROM costbook.entries") == [
        ("0.0002187", "0.000222100000000000000001")]
    assert sql(postgres_url, "SELECT body FROM notes") == [("keep me",)]  # left alone


def test_a_schema_named_costbook_that_is_not_a_ledger_is_refused_and_left_alone(postgres_url):
    sql(postgres_url, "CREATE SCHEMA costbook; CREATE TABLE costbook.entries (x int)")
    with pytest.raises(LedgerError, match=r"not a costbook ledger's.*left untouched"):
        Ledger(postgres_url)
    assert sql(postgres_url, "SELECT table_name FROM information_schema.tables "
                             "WHERE table_schema = 'costbook'") == [("entries",)]


def test_a_newer_schema_is_refused_naming_both_versions(postgres_url):
    Ledger(postgres_url).close()
    sql(postgres_url, "UPDATE costbook.meta SET value = '7' WHERE key = 'schema_version'")
    with pytest.raises(LedgerError, match=r"schema version 7, newer than version 1.*upgrade"):
        Ledger(postgres_url)
    sql(postgres_url, "UPDATE costbook.meta SET value = '1' WHERE key = 'schema_version'")
    sql(postgres_url, "ALTER TABLE costbook.entries ADD COLUMN video_seconds BIGINT")
    with pytest.raises(LedgerError, match=r"usage column.*video_seconds.*newer costbook"):
        Ledger(postgres_url)


def test_a_usage_field_or_status_added_to_costbook_is_added_to_the_ledger(postgres_url):
    with Ledger(postgres_url) as ledger:
        ledger.record(mini(10))
    # as a ledger written before the last usage field and status existed
    last = USAGE_FIELDS[-1]
    sql(postgres_url, f"ALTER TABLE costbook.entries DROP COLUMN {last}")
    sql(postgres_url, "ALTER TABLE costbook.entries DROP CONSTRAINT entries_status")
    sql(postgres_url, "ALTER TABLE costbook.entries ADD CONSTRAINT entries_status "
                      "CHECK (status IN ('ok', 'error'))")
    sql(postgres_url, "UPDATE costbook.meta SET value = '[\"error\", \"ok\"]' "
                      "WHERE key = 'statuses'")
    with Ledger(postgres_url) as ledger:
        (old,) = ledger.entries()
        assert getattr(old.usage, last) == 0
        ledger.record(mini(20), status="invalid_usage")
        assert [e.status for e in ledger.entries()] == ["ok", "invalid_usage"]


def test_an_empty_database_is_refused_without_create_and_read_only_refuses_writes(postgres_url):
    with pytest.raises(LedgerError, match=r"no ledger at .*no costbook schema"):
        Ledger(postgres_url, create=False)
    with pytest.raises(LedgerError, match="no ledger at"):
        Ledger(postgres_url, read_only=True)
    with Ledger(postgres_url) as ledger:
        ledger.record(mini(10))
    with Ledger(postgres_url, read_only=True) as reader:
        assert reader.total() == Decimal("0.0000015")
        with pytest.raises(LedgerError, match="opened read-only"):
            reader.record(mini(10))


def test_the_environment_and_the_command_line_take_a_url(postgres_url, monkeypatch):
    monkeypatch.setenv("COSTBOOK_LEDGER", postgres_url)
    with Ledger() as ledger:
        assert ledger.location == postgres_url
        ledger.record(mini(1000), tags={"team": "search"})
    shown = run_cli("report", "--by", "team")  # the child inherits COSTBOOK_LEDGER
    assert shown.returncode == 0, shown.stderr
    assert "search" in shown.stdout and "$0.00015" in shown.stdout


# -- connections --------------------------------------------------------------------------------


def test_the_password_is_never_shown(postgres_url):
    with_password = postgres_url.replace("postgres@", "postgres:hunter2@")
    with Ledger(with_password) as ledger:
        assert "hunter2" not in ledger.location + repr(ledger) + repr(ledger.store)
        assert ledger.location == postgres_url
    missing = with_password.rsplit("/", 1)[0] + "/no_such_db?password=hunter2"
    with pytest.raises(LedgerError) as refused:
        Ledger(missing)
    assert "no_such_db" in str(refused.value) and "hunter2" not in str(refused.value)
    assert masked("postgresql://u:p%40ss@h:5/d?sslmode=require&password=x") == (
        "postgresql://u@h:5/d?sslmode=require")


def test_a_lost_connection_is_retried_once(postgres_url):
    with Ledger(postgres_url) as ledger:
        ledger.record(mini(10))
        sql(postgres_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        assert ledger.total() == Decimal("0.0000015")
        sql(postgres_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        assert ledger.record(mini(20)).id == 2


def test_a_sum_is_exact_when_an_older_transaction_commits_after_newer_ones(postgres_url):
    # entries get ids when written, not when committed: a sum cached by id would miss one
    with Ledger(postgres_url) as ledger:
        ledger.record(mini(1000))
        late = psycopg.connect(postgres_url)
        late.execute(
            "INSERT INTO costbook.entries (time, provider, model, status, cost, cost_items, "
            "currency, tags) VALUES (now(), 'openai', 'gpt-4o-mini', 'ok', 1, '{}', 'USD', "
            "'{}')"
        )
        ledger.record(mini(2000))
        assert ledger.total() == Decimal("0.00045")
        ledger.record(mini(3000))
        assert ledger.total() == Decimal("0.0009")
        late.commit()
        late.close()
        assert ledger.total() == Decimal("1.0009")
        assert sorted(e.id for e in ledger.entries()) == [1, 2, 3, 4]


# -- processes ----------------------------------------------------------------------------------


def test_four_processes_appending_lose_nothing(postgres_url):
    Ledger(postgres_url).close()
    workers = [start("record", postgres_url, w, 500) for w in range(4)]
    assert run_together(workers) == ["done\n"] * 4
    expected = exact_sum(worker_cost(w, i).total for w in range(4) for i in range(500))
    with Ledger(postgres_url) as ledger:
        entries = ledger.entries()
        assert len(entries) == 2000
        assert sorted(e.id for e in entries) == list(range(1, 2001))
        assert ledger.total() == expected
        for w in range(4):
            mine = ledger.entries(tags={"worker": str(w)})
            assert [e.usage for e in mine] == [worker_cost(w, i).usage for i in range(500)]
        assert sum(r.calls for r in ledger.report("worker")) == 2000


def test_processes_creating_one_new_ledger_at_once_share_it(postgres_url):
    workers = [start("open-and-record", postgres_url) for _ in range(4)]
    outputs = run_together(workers)
    assert sorted(outputs) == [f"recorded {n}\n" for n in range(1, 5)]
    assert sql(postgres_url, "SELECT count(*) FROM costbook.meta WHERE key = 'created'") == [(1,)]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_process_loses_no_entry_whose_record_returned(postgres_url):
    returned = returned_before_kills(postgres_url)
    stored = [row[0] for row in sql(postgres_url, "SELECT id FROM costbook.entries ORDER BY id")]
    assert set(returned) <= set(stored)
    assert len(stored) <= len(returned) + 3  # at most one more per kill, never printed
    with Ledger(postgres_url) as ledger:
        assert len(ledger.entries()) == len(stored)
        assert ledger.check() == []


def test_eight_racing_processes_cannot_overspend(postgres_url):
    Ledger(postgres_url).close()
    workers = [start("race", postgres_url, "1.00", "0.30") for _ in range(8)]
    results = [out.strip() for out in run_together(workers)]
    assert len([r for r in results if r.startswith("committed")]) == 3
    refused = [r for r in results if r.startswith("exceeded")]
    assert len(refused) == 5
    assert all("limit $1.00" in r and "asked $0.30" in r for r in refused)
    with Ledger(postgres_url) as ledger:
        assert ledger.total() == Decimal("0.90")
        assert len(ledger.entries()) == 3
        assert ledger.store.holds() == []


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_process_holds_nothing_here_and_another_hosts_hold_lasts(postgres_url):
    Ledger(postgres_url).close()
    killed, elsewhere = hanging(postgres_url, "0.50"), hanging(postgres_url, "0.30")
    for child in (killed, elsewhere):
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    sql(postgres_url, "UPDATE costbook.reservations SET host = 'elsewhere.example' "
                      "WHERE amount = 0.30")
    with Ledger(postgres_url) as ledger:
        budget = Budget("1", ledger=ledger)
        assert budget.reserved() == Decimal("0.3")  # the dead one here holds nothing
        with pytest.raises(BudgetExceeded, match=r"reserved \$0\.30"):
            budget.reserve("0.71")
        budget.reserve("0.70").commit(cost_of("0.70"))
        assert [h.amount for h in ledger.store.holds()] == [Decimal("0.3")]


# -- copies and the command line -----------------------------------------------------------------


def test_copy_and_report_between_sqlite_and_postgresql_are_exact_both_ways(tmp_path,
                                                                           postgres_server):
    first, back = tmp_path / "first.sqlite", tmp_path / "back.sqlite"
    url = postgres_server.new_database()
    with Ledger(first) as ledger:
        budget = Budget("100", ledger=ledger)
        for i in range(40):
            ledger.record(mini(1000 + i, i), tags={"team": "ab"[i % 2]},
                          reported_cost=Decimal("0.00000000000000000001") * (i + 1),
                          duration=0.1 * i)
        budget.reserve("0.000001").commit(cost_of("0.0008"))  # marked with an overrun
        ledger.set_budget("team-a", "0.000000000000000000015", window="month",
                          tags={"team": "a"})
    out = run_cli("ledger", "copy", str(first), url, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["copied"] == 41
    assert json.loads(out.stdout)["settings"] == 1
    again = run_cli("ledger", "copy", str(first), url, "--json")
    assert json.loads(again.stdout) == {
        "source": str(first), "target": url, "read": 41, "copied": 0, "present": 41,
        "unreadable": [], "settings": 0}
    out = run_cli("ledger", "copy", url, str(back))
    assert out.returncode == 0, out.stderr
    assert out.stdout == (f"copied 41 entries from {url} to {back}; with 1 named budget(s) "
                          "and kept reconciliation(s)\n")
    with Ledger(back) as copied:
        assert copied.budgets()["team-a"].limit == Decimal("0.000000000000000000015")
    with Ledger(first) as a, Ledger(url) as b, Ledger(back) as c:
        assert a.entries() == b.entries() == c.entries()
        assert a.export("jsonl") == b.export("jsonl") == c.export("jsonl")
        assert a.export("csv") == b.export("csv") == c.export("csv")
        assert a.total() == b.total() == c.total()
    for args in (["report", "--by", "model"], ["report", "--by", "team", "day", "--json"],
                 ["budget", "status", "--limit", "1"], ["reconcile", "--json"],
                 ["budget", "list", "--json"]):
        outputs = [run_cli(*args, "--ledger", str(where)) for where in (first, url, back)]
        assert outputs[0].stdout.strip() and outputs[0].stderr == ""
        assert outputs[0].stdout == outputs[1].stdout == outputs[2].stdout
    with Ledger(url) as b:
        assert b.record(mini(1)).id == 42  # ids go on after the copied ones


def test_a_copy_into_a_ledger_holding_other_entries_under_the_same_ids_is_refused(
        tmp_path, postgres_url):
    with Ledger(tmp_path / "a.sqlite") as source, Ledger(postgres_url) as target:
        source.record(mini(1))
        target.record(mini(2))
        with pytest.raises(LedgerError, match="another entry under id 1"):
            source.copy_to(target)
        assert [e.usage.input_tokens for e in target.entries()] == [2]


# -- a crash of the server ----------------------------------------------------------------------


@pytest.fixture
def own_server(request):  # type: ignore[no-untyped-def]
    """A server of this test's own, that it may crash and start again (durable: with
    fsync, when the test is marked so by ``@pytest.mark.parametrize("own_server",
    ["durable"], indirect=True)``)."""
    from pg_server import PostgresServer, Unavailable

    try:
        server = PostgresServer(durable=getattr(request, "param", "") == "durable")
    except Unavailable as exc:
        if os.environ.get("COSTBOOK_TEST_POSTGRES") == "required":
            pytest.fail(f"no PostgreSQL server could be started: {exc}")
        pytest.skip(f"no PostgreSQL server could be started: {exc}")
    yield server
    server.stop()


def test_what_record_acknowledged_survives_a_crash_of_the_server(own_server):
    url = own_server.new_database()
    with Ledger(url) as ledger:
        budget = Budget("100", ledger=ledger)
        acknowledged = [ledger.record(mini(10 + n), tags={"n": str(n)}).id for n in range(300)]
        acknowledged += [budget.reserve("0.01").commit(cost_of("0.008")).id for _ in range(30)]
        own_server.crash()  # pg_ctl stop -m immediate
    own_server.start()
    stored = {row[0] for row in sql(url, "SELECT id FROM costbook.entries")}
    assert len(acknowledged) == 330 and set(acknowledged) <= stored


@pytest.mark.parametrize("own_server", ["durable"], indirect=True)
def test_durable_false_alone_lets_commits_return_before_their_sync(own_server):
    def syncs(url: str, durable: bool | None, *, holds: bool = False) -> int:
        """How many WAL syncs the server made while 60 entries were recorded (or 60
        reservations made and released)."""
        before = sql(url, "SELECT wal_sync FROM pg_stat_wal")[0][0]
        with Ledger(url, durable=durable) as ledger:
            budget = Budget("100", ledger=ledger)
            for n in range(60):
                if holds:
                    budget.reserve("0.01").release()
                else:
                    ledger.record(mini(10 + n), tags={"n": str(n)} if n % 2 else None)
        time.sleep(0.5)  # the backends report their counts as they end
        return int(sql(url, "SELECT wal_sync FROM pg_stat_wal")[0][0]) - before

    url = own_server.new_database()
    Ledger(url).close()
    assert syncs(url, None) >= 60  # each commit synced: the server's own setting, on
    assert syncs(url, True) >= 60
    assert syncs(url, False) < 30  # synced by the server in the background
    # reservations wait for no sync, unless durable=True
    assert syncs(url, None, holds=True) < 30
    assert syncs(url, True, holds=True) >= 120


def test_entries_spooled_while_the_server_is_down_outlive_the_process(own_server, monkeypatch,
                                                                      tmp_path):
    monkeypatch.setenv("COSTBOOK_SPOOL_DIR", str(tmp_path / "spools"))
    url = own_server.new_database()
    Ledger(url).close()
    child = start("keep-after-start", url, 5)
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline() == "ready\n"
    own_server.crash()
    out, err = child.communicate("go\n", timeout=120)
    assert child.returncode == 0, err
    waiting, path = out.split()
    assert waiting == "5" and path.startswith(str(tmp_path / "spools"))
    assert "hunter2" not in path
    assert f"5 entries of ledger {url} still wait in the spool {path}" in err
    own_server.start()
    with Ledger(url) as ledger:
        assert ledger.spooled() == 5 and ledger.spool_path == path
        ledger.record(mini(10))
        assert [e.tags.get("n") for e in ledger.entries()] == ["0", "1", "2", "3", "4", None]
        assert ledger.spooled() == 0


# -- passwords ----------------------------------------------------------------------------------


def chain(error: BaseException) -> str:
    """The text of an exception, everything chained to it, and its traceback."""
    import traceback

    texts = []
    seen: BaseException | None = error
    while seen is not None:
        texts.append(f"{seen!r} {seen}")
        seen = seen.__cause__ or seen.__context__
    return " ".join(texts) + "".join(traceback.format_exception(error))


@pytest.mark.parametrize("password", ["S3cret%zzPW", "S3cret%4", "S3cret%"])
def test_a_password_with_broken_percent_encoding_is_never_shown(postgres_url, password,
                                                                caplog):
    caplog.set_level("DEBUG")
    url = f"{postgres_url}?password={password}"
    with pytest.raises(LedgerError) as refused:
        Ledger(url)
    assert "password in its URL has a % that is not followed by two hex digits" in str(
        refused.value)
    assert "S3cret" not in chain(refused.value) and "S3cret" not in caplog.text
    in_authority = postgres_url.replace("postgres@", f"postgres:{password}@")
    with pytest.raises(LedgerError) as refused:
        Ledger(in_authority)
    assert "S3cret" not in chain(refused.value)
    shown = run_cli("report", "--ledger", url)
    assert shown.returncode != 0 and "S3cret" not in shown.stdout + shown.stderr


def test_a_password_is_in_no_chained_exception(postgres_url, caplog):
    caplog.set_level("DEBUG")
    base = postgres_url.rsplit("/", 1)[0]
    for url in (f"{base}/no_such_db?password=Hunter%32Two",
                base.replace("postgres@", "postgres:Hunter%32Two@") + "/no_such_db"):
        with pytest.raises(LedgerError, match="no_such_db") as refused:
            Ledger(url)
        assert "Hunter" not in chain(refused.value), url
    with Ledger(f"{postgres_url}?password=Hunter%32Two", timeout=1) as ledger:
        ledger.record(mini(10))
        admin, name = f"{base}/postgres", postgres_url.rsplit("/", 1)[1]
        sql(admin, f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        sql(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (name,))
        with pytest.raises(LedgerError) as refused:
            ledger.total()
        assert "Hunter" not in chain(refused.value)
    assert "Hunter" not in caplog.text


# -- behind a connection pooler -----------------------------------------------------------------


@pytest.fixture(scope="module", params=["transaction", "session"])
def pgbouncer(request, postgres_server):  # type: ignore[no-untyped-def]
    """PgBouncer (Debian's package) in front of the session's server, in each pool mode.
    Missing, it skips the tests; with COSTBOOK_TEST_POSTGRES=required (CI), it fails them."""
    from pg_server import Unavailable
    from pgbouncer_server import PgBouncer

    try:
        bouncer = PgBouncer(postgres_server, request.param)
    except Unavailable as exc:
        if os.environ.get("COSTBOOK_TEST_POSTGRES") == "required":
            pytest.fail(f"no PgBouncer could be started: {exc}")
        pytest.skip(f"no PgBouncer could be started: {exc}")
    yield bouncer
    bouncer.stop()


def test_the_ledger_works_through_pgbouncer(pgbouncer, postgres_url):
    url = pgbouncer.url(postgres_url)
    for rounds, durable in enumerate((None, True, False), start=1):
        with Ledger(url, durable=durable) as ledger:
            budget = Budget("100", ledger=ledger)
            for n in range(12):  # past the count after which a driver may prepare
                ledger.record(mini(10 + n), tags={"n": str(n % 3)})
                budget.reserve("0.01").commit(cost_of("0.008"))
                assert ledger.total() == budget.spent()
            assert sum(r.calls for r in ledger.report("n")) == 24 * rounds
    with Ledger(postgres_url) as direct:
        assert len(direct.entries()) == 72
        assert direct.total() == exact_sum(e.total for e in direct.entries())
        assert direct.check() == []
    with Ledger(url, read_only=True) as reader:
        assert len(reader.entries(tags={"n": "0"})) == 12
        with pytest.raises(LedgerError, match="opened read-only"):
            reader.record(mini(10))


def test_racing_processes_cannot_overspend_through_pgbouncer(pgbouncer, postgres_url):
    url = pgbouncer.url(postgres_url)
    Ledger(url).close()
    workers = [start("race", url, "1.00", "0.30") for _ in range(8)]
    results = [out.strip() for out in run_together(workers)]
    assert len([r for r in results if r.startswith("committed")]) == 3
    with Ledger(postgres_url) as ledger:
        assert ledger.total() == Decimal("0.90") and ledger.store.holds() == []
