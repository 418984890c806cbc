"""Ledger speed: entries recorded per second by one process and by four at once, the
time of ``total()``, ``report()`` and a budget reservation over 100,000 entries, and the
time to open and to export a ledger of 100,000 and of 1,000,000 entries.

Run: ``python benchmarks/bench_ledger.py`` (about two minutes; files in a temporary
directory; ``--quick`` skips the million). Aims: 2,000 recorded entries a second from one
process; a report over 100,000 entries in under a second; opening a ledger in a time that
does not grow with it; an export of 100,000 entries in about a second.
"""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from _harness import best, fmt_seconds, timed

from costbook import Budget, Cost, Ledger, Usage, price

ONE_PROCESS = 5_000
PER_WORKER = 2_500
WORKERS = 4
BIG = 100_000
USERS = ("alice", "bob", "carol", "dave", "erin")


def costs(count: int) -> list[Cost]:
    """Distinct costs at two providers, as a varied ledger would hold."""
    made = []
    for i in range(count):
        usage = Usage(input_tokens=500 + i % 4000, output_tokens=i % 900,
                      cache_read_tokens=i % 300)
        if i % 3:
            made.append(price(usage, "gpt-4o-mini"))
        else:
            made.append(price(usage, "openai/gpt-4o-mini", provider="requesty"))
    return made


def record_all(ledger: Ledger, batch: list[Cost], *, start: datetime | None = None) -> None:
    for i, cost in enumerate(batch):
        at = None if start is None else start + timedelta(seconds=26 * i)
        ledger.record(cost, tags={"user": USERS[i % len(USERS)]}, request_id=f"gen-{i}", at=at)


def record_when_released(location: str, count: int, *, durable: bool | None = None) -> None:
    """One of the concurrent writers: waits for the start line, records ``count``
    entries, exits."""
    batch = costs(count)
    ledger = Ledger(location, timeout=60, durable=durable)
    print("ready", flush=True)
    sys.stdin.readline()
    record_all(ledger, batch)
    ledger.close()


def record_rate(location: str | Path, count: int, *, durable: bool | None = None) -> float:
    """Entries recorded per second into ``location`` by this process."""
    batch = costs(count)
    with Ledger(location, durable=durable) as ledger:
        started = time.perf_counter()
        record_all(ledger, batch)
        return count / (time.perf_counter() - started)


def writers_rate(script: str, location: str, workers: int, per_worker: int,
                 *extra: str) -> float:
    """Entries recorded per second by ``workers`` processes of ``script --worker
    location *extra``, released at once, each recording ``per_worker`` entries."""
    procs = [
        subprocess.Popen([sys.executable, script, "--worker", location, *extra],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(workers)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    started = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        proc.wait()
        assert proc.returncode == 0
    elapsed = time.perf_counter() - started
    with Ledger(location) as ledger:
        assert len(ledger.entries()) == workers * per_worker
    return workers * per_worker / elapsed


def worker(path: str) -> None:
    record_when_released(path, PER_WORKER)


def one_process(folder: Path) -> float:
    return record_rate(folder / "one.sqlite", ONE_PROCESS)


def one_process_durable(folder: Path) -> float:
    return record_rate(folder / "durable.sqlite", 1_000, durable=True)


def four_processes(folder: Path) -> float:
    path = folder / "four.sqlite"
    Ledger(path).close()
    return writers_rate(__file__, str(path), WORKERS, PER_WORKER)


def big_ledger(folder: Path) -> None:
    path = folder / "big.sqlite"
    start = datetime.now(timezone.utc) - timedelta(days=30)
    build = timed(lambda: record_all(Ledger(path), costs(BIG), start=start))
    print(f"  {'record 100,000 entries':<44}{fmt_seconds(build):>12}"
          f"  ({BIG / build:,.0f} entries/s)")
    opened = best(lambda: Ledger(path).close())
    print(f"  {'open':<44}{fmt_seconds(opened):>12}")
    ledger = Ledger(path)
    rows: list[tuple[str, float]] = [
        ("total(), first call in a process", timed(ledger.total)),
        ("total(), again (incremental)", best(ledger.total)),
        ("total(tags={'user': 'bob'}), first call", timed(lambda: ledger.total(
            tags={"user": "bob"}))),
        ("report(by='model')", best(lambda: ledger.report("model"))),
        ("report(by=['day', 'user'])", best(lambda: ledger.report(["day", "user"]))),
        ("report(by='provider', since=7 days ago)", best(lambda: ledger.report(
            "provider", since=datetime.now(timezone.utc) - timedelta(days=7)))),
    ]
    fresh = Ledger(path)  # no sum known yet in this ledger object
    budget = Budget("1000000", ledger=fresh, window="month")
    rows.append(("budget.reserve() + release(), first call", timed(
        lambda: budget.reserve("0.01").release())))
    rows.append(("budget.reserve() + release(), again", best(
        lambda: budget.reserve("0.01").release())))
    rows.append(("export('csv') of 100,000 entries", timed(lambda: ledger.export("csv"))))
    rows.append(("export('jsonl') of 100,000 entries", timed(
        lambda: ledger.export("jsonl"))))
    for name, seconds in rows:
        print(f"  {name:<44}{fmt_seconds(seconds):>12}")
    size = os.path.getsize(path) + os.path.getsize(str(path) + "-wal")
    print(f"  {'file size':<44}{size / 1e6:>10.1f} MB")
    fresh.close()
    ledger.close()


def grown(source: Path, target: Path, times: int) -> None:
    """A copy of the ledger at ``source`` with its entries (and their tags) ``times`` over,
    copied in SQL: a quick way to a ledger of a million entries."""
    shutil.copy(source, target)
    wal = Path(str(source) + "-wal")
    if wal.exists():
        shutil.copy(wal, str(target) + "-wal")
    db = sqlite3.connect(target, isolation_level=None)
    columns = [r[1] for r in db.execute("PRAGMA table_info(entries)") if r[1] != "id"]
    names = ", ".join(columns)
    high = db.execute("SELECT max(id) FROM entries").fetchone()[0]
    db.execute("BEGIN")
    for copy in range(1, times):
        db.execute(f"INSERT INTO entries ({names}) SELECT {names} FROM entries "
                   "WHERE id <= ? ORDER BY id", (high,))
        db.execute("INSERT INTO entry_tags (entry_id, key, value) SELECT entry_id + ?, "
                   "key, value FROM entry_tags WHERE entry_id <= ?", (copy * high, high))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def open_and_export(path: Path, label: str) -> None:
    opened = best(lambda: Ledger(path).close())
    print(f"  {'open, ' + label:<44}{fmt_seconds(opened):>12}")
    with Ledger(path) as ledger:
        if hasattr(ledger, "check"):
            print(f"  {'check(), on request, ' + label:<44}{fmt_seconds(timed(ledger.check)):>12}")
        for fmt in ("csv", "jsonl"):
            seconds = timed(lambda fmt=fmt: ledger.export(fmt, io.StringIO()))
            print(f"  {f'export({fmt!r}) to a file, {label}':<44}{fmt_seconds(seconds):>12}")


def growth(folder: Path, *, million: bool) -> None:
    path = folder / "big.sqlite"
    open_and_export(path, "100,000 entries")
    if million:
        bigger = folder / "million.sqlite"
        build = timed(lambda: grown(path, bigger, 10))
        print(f"  {'(copy to 1,000,000 entries in SQL)':<44}{fmt_seconds(build):>12}")
        open_and_export(bigger, "1,000,000 entries")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("recording (one short write transaction per entry, WAL, synchronous=NORMAL)")
        print(f"  {'one process':<44}{one_process(folder):>10,.0f} entries/s")
        print(f"  {'one process, durable=True (fsync each entry)':<44}"
              f"{one_process_durable(folder):>10,.0f} entries/s")
        print(f"  {'four processes at once, together':<44}{four_processes(folder):>10,.0f}"
              " entries/s")
        print("\nover 100,000 entries")
        big_ledger(folder)
        print("\nas the ledger grows")
        growth(folder, million="--quick" not in sys.argv)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker(sys.argv[2])
    else:
        main()
