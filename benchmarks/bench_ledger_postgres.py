"""PostgreSQL ledger speed beside SQLite's on the same machine: entries recorded per second
from one process and from four at once, ``total()`` and ``report()`` over 100,000 entries,
and a budget reservation round trip; each as a ratio to SQLite.

Run: ``python benchmarks/bench_ledger_postgres.py`` (about two minutes). It starts a
throwaway PostgreSQL server with its default, durable settings (``initdb`` and ``pg_ctl``
from Debian's ``postgresql`` package, as in the tests), or uses the database at
``$COSTBOOK_BENCH_POSTGRES`` (a URL; its ``costbook`` schema is dropped first). Aims: at
least 2,000 entries a second from four processes; a report over 100,000 entries in under
a second.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from _harness import best, fmt_seconds, timed
from bench_ledger import BIG, costs, record_all, record_rate, record_when_released, writers_rate

from costbook import Budget, Ledger

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

ONE_PROCESS = 2_000
PER_WORKER = 1_000
WORKERS = 4


def worker(location: str, durable: str = "default") -> None:
    record_when_released(location, PER_WORKER,
                         durable={"default": None, "on": True, "off": False}[durable])


def one_process(location: str) -> float:
    return record_rate(location, ONE_PROCESS)


def one_process_durable(location: str) -> float:
    return record_rate(location, 500, durable=True)


def one_process_fast(location: str) -> float:
    return record_rate(location, ONE_PROCESS, durable=False)


def four_processes(location: str) -> float:
    Ledger(location).close()
    return writers_rate(__file__, location, WORKERS, PER_WORKER)


def four_processes_fast(location: str) -> float:
    Ledger(location).close()
    return writers_rate(__file__, location, WORKERS, PER_WORKER, "off")


def big(location: str) -> list[tuple[str, float]]:
    """Times over a ledger of :data:`BIG` entries."""
    ledger = Ledger(location)
    fresh = Ledger(location)  # no sum known yet in this ledger object
    budget = Budget("1000000", ledger=fresh, window="month")
    week = datetime.now(timezone.utc) - timedelta(days=7)
    rows = [
        ("total(), first call in a process", timed(ledger.total)),
        ("total(), again", best(ledger.total)),
        ("report(by='model')", best(lambda: ledger.report("model"))),
        ("report(by=['day', 'user'])", best(lambda: ledger.report(["day", "user"]))),
        ("report(by='provider', since=7 days ago)",
         best(lambda: ledger.report("provider", since=week))),
        ("budget.reserve() + release(), first call",
         timed(lambda: budget.reserve("0.01").release())),
        ("budget.reserve() + release(), again",
         best(lambda: budget.reserve("0.01").release(), rounds=50)),
        ("export('csv') of 100,000 entries", timed(lambda: ledger.export("csv"))),
    ]
    fresh.close()
    ledger.close()
    return rows


def databases() -> tuple[Callable[[], str], Callable[[], None]]:
    """A maker of new database URLs, and what to do at the end."""
    given = os.environ.get("COSTBOOK_BENCH_POSTGRES")
    if given:
        import psycopg

        def reuse() -> str:
            with psycopg.connect(given, autocommit=True) as connection:
                connection.execute("DROP SCHEMA IF EXISTS costbook CASCADE")
            return given

        return reuse, lambda: None
    from pg_server import PostgresServer

    server = PostgresServer(durable=True)
    return server.new_database, server.stop


def main() -> None:
    new_database, stop = databases()
    folder = Path(tempfile.mkdtemp(prefix="costbook-bench-"))
    try:
        print("entries recorded per second (each one transaction, committed; by default "
              "SQLite syncs its WAL to disk in the background, PostgreSQL syncs each commit "
              "(synchronous_commit as the server sets it, on); durable=True syncs each "
              "commit in both, durable=False syncs PostgreSQL's in the background)")
        print(f"  {'':<44}{'SQLite':>12}{'PostgreSQL':>12}{'ratio':>8}")
        for name, run, location in (
            ("one process", one_process, "one"),
            ("one process, durable=True (synced to disk)", one_process_durable, "durable"),
            ("one process, durable=False", one_process_fast, "fast"),
            ("four processes at once, together", four_processes, "four"),
            ("four processes at once, durable=False", four_processes_fast, "four-fast"),
        ):
            lite = run(str(folder / f"{location}.sqlite"))
            pg = run(new_database())
            print(f"  {name:<44}{lite:>12,.0f}{pg:>12,.0f}{pg / lite:>8.2f}")
        source = folder / "big.sqlite"
        start = datetime.now(timezone.utc) - timedelta(days=30)
        with Ledger(source) as ledger:
            record_all(ledger, costs(BIG), start=start)
        target = new_database()
        with Ledger(source) as lite, Ledger(target) as pg:
            copying = timed(lambda: lite.copy_to(pg))
        print(f"\nover {BIG:,} entries (ledger copy of them into PostgreSQL: "
              f"{fmt_seconds(copying)}, {BIG / copying:,.0f} entries/s)")
        print(f"  {'':<44}{'SQLite':>12}{'PostgreSQL':>12}{'ratio':>8}")
        for (name, lite_s), (_, pg_s) in zip(big(str(source)), big(target), strict=True):
            print(f"  {name:<44}{fmt_seconds(lite_s):>12}{fmt_seconds(pg_s):>12}"
                  f"{pg_s / lite_s:>8.1f}")
    finally:
        stop()
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(*sys.argv[2:4])
    else:
        main()
