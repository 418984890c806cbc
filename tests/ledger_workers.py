"""Worker processes for the ledger and budget tests: ``python ledger_workers.py COMMAND ...``.

Commands that race wait at a start line: they print ``ready`` and block until a line
arrives on stdin, so that the test releases every worker at once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from costbook import Budget, BudgetExceeded, Cost, Ledger, Usage, price

HERE = Path(__file__).resolve()


def worker_cost(worker: int, index: int) -> Cost:
    """The cost recorded by ``worker`` as its ``index``-th entry: all distinct."""
    usage = Usage(input_tokens=1_000 * worker + index + 1, output_tokens=index % 97,
                  cache_read_tokens=index % 7)
    return price(usage, "gpt-4o-mini")


def cost_of(amount: str) -> Cost:
    """A claude-3-5-haiku cost of exactly ``amount`` USD (input at $0.80 per million tokens;
    the counts are only priced, never sent)."""
    tokens = Decimal(amount) / Decimal("0.0000008")
    assert tokens == tokens.to_integral_value(), amount
    return price(Usage(input_tokens=int(tokens)), "claude-3-5-haiku-20241022")


def start(command: str, *args: object) -> subprocess.Popen[str]:
    """Start a worker with pipes on stdin and stdout."""
    return subprocess.Popen(
        [sys.executable, str(HERE), command, *map(str, args)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def release_together(workers: list[subprocess.Popen[str]]) -> None:
    """Wait until every worker is at its start line, then let them all go."""
    for worker in workers:
        assert worker.stdout is not None
        line = worker.stdout.readline()
        assert line == "ready\n", (line, worker.stderr.read() if worker.stderr else "")
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()


def run_together(workers: list[subprocess.Popen[str]]) -> list[str]:
    """Release every worker at once and wait for each to end successfully: what each
    printed, in order. None is left running, whatever happens."""
    try:
        release_together(workers)
        outputs = []
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0, err
            outputs.append(out)
    finally:
        for worker in workers:
            worker.kill()
    return outputs


def returned_before_kills(location: object, rounds: int = 3) -> list[int]:
    """The ids of the entries a worker recording without end printed as their record
    returned, before it was killed (SIGKILL) mid-way; ``rounds`` workers, one after the
    other, each killed after 150 to 250 entries."""
    returned: list[int] = []
    for _round in range(rounds):
        child = start("record-until-killed", location)
        assert child.stdout is not None
        for _ in range(150 + random.randrange(100)):
            line = child.stdout.readline()
            assert line.endswith("\n"), child.stderr.read() if child.stderr else ""
            returned.append(int(line))
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
        rest = child.stdout.read()  # what it printed before dying, buffered lines included
        for stream in (child.stdout, child.stderr, child.stdin):
            if stream:
                stream.close()
        returned.extend(int(line) for line in rest.split("\n")[:-1])  # whole lines only
    return returned


def hanging(location: object, amount: str, ttl: float = 3600) -> subprocess.Popen[str]:
    """A worker that has reserved ``amount`` (for ``ttl`` seconds) under a budget of $1
    and hangs on, holding it."""
    child = start("reserve-and-hang", location, "1", amount, ttl)
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.startswith("reserved "), child.stderr.read() if child.stderr else ""
    return child


def _wait_for_start() -> None:
    print("ready", flush=True)
    sys.stdin.readline()


def record(path: str, worker: str, count: str) -> None:
    """Record ``count`` entries tagged with the worker's number."""
    number = int(worker)
    costs = [worker_cost(number, i) for i in range(int(count))]
    ledger = Ledger(path, timeout=60)
    _wait_for_start()
    for cost in costs:
        ledger.record(cost, tags={"worker": worker})
    print("done", flush=True)


def open_and_record(path: str) -> None:
    """Open (and so maybe create) the ledger only once released, and record one entry."""
    _wait_for_start()
    entry = Ledger(path, timeout=60).record(worker_cost(9, 0))
    print(f"recorded {entry.id}", flush=True)


def record_until_killed(path: str) -> None:
    """Record entries without end, printing each id once its ``record`` has returned."""
    ledger = Ledger(path)
    index = 0
    while True:
        entry = ledger.record(worker_cost(0, index), tags={"n": str(index)})
        sys.stdout.write(f"{entry.id}\n")
        sys.stdout.flush()
        index += 1


def race(path: str, limit: str, amount: str) -> None:
    """Reserve ``amount`` against a budget of ``limit``, hold it a moment, commit it."""
    ledger = Ledger(path, timeout=60)
    budget = Budget(limit, ledger=ledger)
    cost = cost_of(amount)
    _wait_for_start()
    try:
        reservation = budget.reserve(amount)
    except BudgetExceeded as exc:
        print(f"exceeded: {exc}", flush=True)
        return
    time.sleep(0.2)  # hold the reservation while the others ask
    entry = reservation.commit(cost)
    print(f"committed {entry.id}", flush=True)


def reserve_and_hang(path: str, limit: str, amount: str, ttl: str) -> None:
    """Reserve and never commit: the process is killed holding the reservation."""
    budget = Budget(limit, ledger=Ledger(path), ttl=float(ttl))
    reservation = budget.reserve(amount)
    print(f"reserved {reservation.id}", flush=True)
    sys.stdin.readline()
    time.sleep(3600)


def keep_after_start(path: str, count: str) -> None:
    """Open the ledger, wait at the start line (the test stops the server meanwhile), then
    keep ``count`` entries as the tracked client does, and exit: what waits, and where."""
    import warnings

    from costbook.ledger._ledger import make_entry

    ledger = Ledger(path, timeout=1)
    _wait_for_start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for index in range(int(count)):
            ledger.keep(make_entry(worker_cost(5, index), tags={"n": str(index)}))
    print(ledger.spooled(), ledger.spool_path, flush=True)


COMMANDS = {
    "keep-after-start": keep_after_start,
    "record": record,
    "open-and-record": open_and_record,
    "record-until-killed": record_until_killed,
    "race": race,
    "reserve-and-hang": reserve_and_hang,
}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
