"""The spool: entries kept beside a ledger that could not be written, until it can be.

A call that was paid for is never lost because its ledger failed after it (a disk full, a
lock held past the timeout, a database server down): its entry is appended to a spool
file, one JSON line each, synced to disk, and written into the ledger at its next write,
in order. The spool of a ledger file is ``<ledger>.spool`` beside it; the spool of a
PostgreSQL ledger is a file in this host's spool folder (``COSTBOOK_SPOOL_DIR``, else
``spool`` in costbook's user data folder), named after the URL without its password, so
that any process of this host writing that ledger replays it. Each line carries a key
that the ledger stores with the entry in the same transaction, so a replay cut short (a
crash between the ledger's commit and the spool's truncation) writes no entry twice. A
line that cannot be read (one torn by a crash mid-write), and an entry the ledger refuses
for what it holds, are moved to ``<spool>.rejected``, never dropped, and never hold back
the entries after them.

Where the spool file itself cannot be written, entries are held in memory until the ledger
(or the file) can be written, and a warning says so. A process that exits with entries
still spooled says so (a log warning): where they wait, or that they are lost.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import threading
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import IO, Any

from ..pricing._usage import Usage
from ..records._entry import Entry, format_time, parse_time
from ..records._store import LedgerStore, RefusedEntry

log = logging.getLogger("costbook.ledger")

SPOOL_SUFFIX = ".spool"
SPOOL_DIR_ENV = "COSTBOOK_SPOOL_DIR"
# the spools that kept an entry in this process, checked when it exits
_USED: dict[int, Spool] = {}


@dataclass(frozen=True, slots=True)
class Spooled:
    """One entry waiting in a spool: its key, the reservation it settles, the entry."""

    key: str
    settle: int | None
    entry: Entry


class Spool:
    """The spool of one ledger: a file (``path``), or memory alone (``None``)."""

    def __init__(self, path: str | None, location: str = "") -> None:
        self.path = path
        self.location = location or (path or "").removesuffix(SPOOL_SUFFIX)
        self._memory: list[Spooled] = []
        self._rejected: list[Spooled] = []
        self._lock = threading.RLock()

    @classmethod
    def beside(cls, location: str) -> Spool:
        """The spool of the ledger at ``location``: a file beside a ledger file, a file
        in the spool folder for a ledger at a URL (``location`` is then the URL without
        its password), memory for an in-memory ledger."""
        if location == ":memory:":
            return cls(None, location)
        if "://" in location:
            name = hashlib.sha256(location.encode("utf-8", "replace")).hexdigest()[:24]
            return cls(os.path.join(spool_folder(), f"{name}{SPOOL_SUFFIX}"), location)
        return cls(location + SPOOL_SUFFIX, location)

    def add(self, entry: Entry, *, settle: int | None = None) -> str:
        """Keep ``entry`` until the ledger can be written; where it was kept."""
        item = Spooled(uuid.uuid4().hex, settle, entry)
        with self._lock:
            _USED[id(self)] = self
            if self.path is not None and not self._memory:
                try:
                    if "://" in self.location:
                        os.makedirs(os.path.dirname(self.path), exist_ok=True)
                    with self._open("a") as file:
                        file.write(json.dumps(_line(item)) + "\n")
                        file.flush()
                        os.fsync(file.fileno())
                    return self.path
                except OSError as exc:
                    self._memory.append(item)
                    return f"memory (the spool file {self.path} could not be written: {exc})"
            self._memory.append(item)
            return "memory"

    def waiting(self) -> int:
        """How many entries wait to be written into the ledger."""
        with self._lock:
            return len(self._memory) + sum(1 for _ in self._file_lines())

    def has_waiting(self) -> bool:
        """Whether any entry waits (a cheap check: one ``stat`` of the spool file)."""
        if self._memory:
            return True
        if self.path is None:
            return False
        try:
            return os.stat(self.path).st_size > 0
        except OSError:
            return False

    def replay(self, store: LedgerStore) -> int:
        """Write the waiting entries into ``store`` in the order they were spooled; the
        number written. An entry the store refuses for what it holds is moved aside (to
        ``<spool>.rejected``, with a warning) and the next ones are written. A failure of
        the store leaves the rest waiting (entries written already are not written again)
        and is raised."""
        written = 0
        with self._lock:
            if self.path is not None and os.path.exists(self.path):
                with self._open("r+") as file:
                    lines = file.read().splitlines(keepends=True)
                    remaining = lines
                    try:
                        for index, line in enumerate(lines):
                            remaining = lines[index:]
                            item = _parse(line)
                            if item is None:
                                self._reject(line, "could not be read (cut short by a crash?)")
                            elif self._write(store, item):
                                written += 1
                            else:
                                self._reject(json.dumps(_line(item)) + "\n",
                                             "was refused by the ledger")
                        remaining = []
                    finally:  # keep what is left (a failure of the store stops the replay)
                        file.seek(0)
                        file.truncate()
                        file.writelines(remaining)
                        file.flush()
                        os.fsync(file.fileno())
            while self._memory:
                item = self._memory[0]
                if self._write(store, item):
                    written += 1
                else:
                    self._rejected.append(item)
                    warnings.warn(
                        f"an entry spooled in memory for ledger {self.location} was refused "
                        "by it; it is kept apart in this process and the next ones are "
                        "written", RuntimeWarning, stacklevel=4,
                    )
                self._memory.pop(0)
        return written

    def _write(self, store: LedgerStore, item: Spooled) -> bool:
        """Store one spooled entry: False when the store refuses it for what it holds."""
        try:
            store.append(item.entry, settle=item.settle, spool_key=item.key)
        except RefusedEntry as exc:
            log.warning("ledger %s refused a spooled entry: %s", self.location, exc)
            return False
        return True

    def reject(self, entry: Entry, why: str) -> str:
        """Keep an entry the ledger refused for what it holds apart from the spool (it
        would hold back the entries after it); where it was kept."""
        item = Spooled(uuid.uuid4().hex, None, entry)
        with self._lock:
            if self.path is not None:
                try:
                    if "://" in self.location:
                        os.makedirs(os.path.dirname(self.path), exist_ok=True)
                    self._append_rejected(json.dumps(_line(item)) + "\n")
                    return self.path + ".rejected"
                except OSError:
                    pass
            _USED[id(self)] = self
            self._rejected.append(item)
            return f"memory ({why})"

    @contextlib.contextmanager
    def _open(self, mode: str) -> Iterator[IO[str]]:
        """The spool file, locked against other processes while it is used."""
        assert self.path is not None
        if mode == "r+" and not os.path.exists(self.path):
            mode = "a+"
        with open(self.path, mode, encoding="utf-8") as file:
            _lock_file(file)
            try:
                yield file
            finally:
                _unlock_file(file)

    def _file_lines(self) -> Iterator[str]:
        if self.path is None:
            return
        try:
            with open(self.path, encoding="utf-8") as file:
                yield from (line for line in file if line.strip())
        except OSError:
            return

    def _reject(self, line: str, why: str) -> None:
        if not line.strip():
            return
        assert self.path is not None
        self._append_rejected(line if line.endswith("\n") else line + "\n")
        warnings.warn(
            f"a line of the spool {self.path} {why}; it was moved to {self.path}.rejected",
            RuntimeWarning,
            stacklevel=5,
        )

    def _append_rejected(self, line: str) -> None:
        assert self.path is not None
        with open(self.path + ".rejected", "a", encoding="utf-8") as file:
            file.write(line)
            file.flush()
            os.fsync(file.fileno())

    def at_exit(self) -> None:
        """Say what still waits when this process exits: where, or that it is lost."""
        with self._lock:
            in_memory = len(self._memory) + len(self._rejected)
            in_file = sum(1 for _ in self._file_lines())
        if in_file:
            log.warning(
                "%d entr%s of ledger %s still wait%s in the spool %s: written into the "
                "ledger at its next write by any costbook process of this host",
                in_file, "y" if in_file == 1 else "ies", self.location,
                "s" if in_file == 1 else "", self.path,
            )
        if in_memory:
            log.warning(
                "%d entr%s of ledger %s could be written neither to the ledger nor to a "
                "spool file, and are lost with this process",
                in_memory, "y" if in_memory == 1 else "ies", self.location,
            )


def spool_folder() -> str:
    """The folder of the spools of ledgers at a URL: ``COSTBOOK_SPOOL_DIR`` when set,
    else ``spool`` in costbook's per-user data folder."""
    configured = os.environ.get(SPOOL_DIR_ENV, "").strip()
    if configured:
        return os.path.expanduser(configured)
    import platformdirs

    return str(platformdirs.user_data_path("costbook", appauthor=False) / "spool")


@atexit.register
def _say_what_waits() -> None:
    for spool in list(_USED.values()):
        with contextlib.suppress(Exception):
            spool.at_exit()


def _lock_file(file: IO[str]) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: lock the first byte
        import msvcrt

        file.seek(0)
        msvcrt.locking(file.fileno(), msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
        return
    fcntl.flock(file.fileno(), fcntl.LOCK_EX)


def _unlock_file(file: IO[str]) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        file.seek(0)
        msvcrt.locking(file.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        return
    fcntl.flock(file.fileno(), fcntl.LOCK_UN)


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount)


def _line(item: Spooled) -> dict[str, Any]:
    entry = item.entry
    return {
        "key": item.key,
        "settle": item.settle,
        "time": format_time(entry.time),
        "provider": entry.provider,
        "model": entry.model,
        "usage": entry.usage.as_dict(),
        "total": str(entry.total),
        "items": {part: str(value) for part, value in entry.items.items()},
        "status": entry.status,
        "request_id": entry.request_id,
        "reported_cost": _text(entry.reported_cost),
        "estimate_low": _text(entry.estimate_low),
        "estimate_high": _text(entry.estimate_high),
        "duration": entry.duration,
        "tags": dict(entry.tags),
        "effective": entry.effective.isoformat() if entry.effective else None,
        "currency": entry.currency,
        "asked_model": entry.asked_model,
    }


def _parse(line: str) -> Spooled | None:
    if not line.endswith("\n"):
        return None  # torn by a crash mid-write

    def amount(value: str | None) -> Decimal | None:
        return None if value is None else Decimal(value)

    try:
        data = json.loads(line)
        entry = Entry(
            id=0,
            time=parse_time(data["time"]),
            provider=data["provider"],
            model=data["model"],
            usage=Usage(**data["usage"]),
            total=Decimal(data["total"]),
            items={part: Decimal(value) for part, value in data["items"].items()},
            status=data["status"],
            request_id=data["request_id"],
            reported_cost=amount(data["reported_cost"]),
            estimate_low=amount(data["estimate_low"]),
            estimate_high=amount(data["estimate_high"]),
            duration=data["duration"],
            tags=data["tags"],
            effective=date.fromisoformat(data["effective"]) if data["effective"] else None,
            currency=data["currency"],
            asked_model=data.get("asked_model"),
        )
        return Spooled(str(data["key"]), data["settle"], entry)
    except (ValueError, KeyError, TypeError, ArithmeticError):
        return None
