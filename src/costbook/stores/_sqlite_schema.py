"""The SQLite ledger's file format: its header, its versioned schema and the migrations
that take an older ledger forward.

A file is refused, and not modified, unless its first bytes say it is an SQLite database
whose application id is a costbook ledger's; a newer schema version is refused with both
versions named; an older one is migrated forward in one transaction.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from datetime import datetime, timezone

from .._errors import LedgerError
from ..records._entry import STATUSES, format_time

log = logging.getLogger("costbook.ledger")

APPLICATION_ID = 0x43424C47  # "CBLG" in the SQLite header: this file is a costbook ledger
SQLITE_MAGIC = b"SQLite format 3\x00"

USAGE_COLUMNS: tuple[str, ...] = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "audio_input_tokens",
    "audio_output_tokens",
    "audio_cache_read_tokens",
    "images",
    "web_searches",
    "requests",
)

# The columns of the entries table at schema version 2.
_V2_COLUMNS = (
    "id, time, provider, model, request_id, status, input_tokens, output_tokens, "
    "cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, images, "
    "requests, cost, cost_items, currency, effective, reported_cost, estimate_low, "
    "estimate_high, duration, tags"
)

# The columns of the entries table at schema version 3.
_V3_COLUMNS = (
    "id, time, provider, model, request_id, status, input_tokens, output_tokens, "
    "cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, images, "
    "requests, audio_input_tokens, audio_output_tokens, audio_cache_read_tokens, "
    "web_searches, cost, cost_items, currency, effective, reported_cost, estimate_low, "
    "estimate_high, duration, tags, overrun, late, asked_model"
)

# MIGRATIONS[n] takes a ledger from schema version n to n + 1. Never edit a released step;
# add the next one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
        """CREATE TABLE entries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            request_id TEXT,
            status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'incomplete')),
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cache_read_tokens INTEGER NOT NULL,
            cache_write_tokens INTEGER NOT NULL,
            cache_write_1h_tokens INTEGER NOT NULL,
            reasoning_tokens INTEGER NOT NULL,
            images INTEGER NOT NULL,
            requests INTEGER NOT NULL,
            cost TEXT NOT NULL,
            cost_items TEXT NOT NULL,
            currency TEXT NOT NULL,
            effective TEXT,
            reported_cost TEXT,
            estimate_low TEXT,
            estimate_high TEXT,
            duration REAL,
            tags TEXT NOT NULL
        )""",
        "CREATE INDEX entries_by_time ON entries (time)",
        """CREATE TABLE entry_tags (
            entry_id INTEGER NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (entry_id, key)
        ) WITHOUT ROWID""",
        "CREATE INDEX entry_tags_by_value ON entry_tags (key, value, entry_id)",
    ),
    (
        """CREATE TABLE reservations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            amount TEXT NOT NULL,
            tags TEXT NOT NULL,
            created TEXT NOT NULL,
            expires TEXT NOT NULL,
            pid INTEGER NOT NULL,
            host TEXT NOT NULL
        )""",
        "CREATE INDEX reservations_by_expiry ON reservations (expires)",
    ),
    (
        # status 'invalid_usage': an answer whose usage could not be read as given, and
        # 'unpriced': an answer no table prices, counted at the provider's charge. SQLite
        # cannot change a CHECK constraint, so the table is rebuilt with the same rows and
        # ids, adding what a budget's commit passed: the cost above its reservation
        # (overrun), whether the reservation had lapsed before the commit (late), and
        # the audio and web-search counts, and the model asked for when another answered
        """CREATE TABLE entries_next (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            request_id TEXT,
            status TEXT NOT NULL
                CHECK (status IN ('ok', 'error', 'incomplete', 'invalid_usage', 'unpriced')),
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cache_read_tokens INTEGER NOT NULL,
            cache_write_tokens INTEGER NOT NULL,
            cache_write_1h_tokens INTEGER NOT NULL,
            reasoning_tokens INTEGER NOT NULL,
            images INTEGER NOT NULL,
            requests INTEGER NOT NULL,
            audio_input_tokens INTEGER NOT NULL DEFAULT 0,
            audio_output_tokens INTEGER NOT NULL DEFAULT 0,
            audio_cache_read_tokens INTEGER NOT NULL DEFAULT 0,
            web_searches INTEGER NOT NULL DEFAULT 0,
            cost TEXT NOT NULL,
            cost_items TEXT NOT NULL,
            currency TEXT NOT NULL,
            effective TEXT,
            reported_cost TEXT,
            estimate_low TEXT,
            estimate_high TEXT,
            duration REAL,
            tags TEXT NOT NULL,
            overrun TEXT,
            late INTEGER NOT NULL DEFAULT 0,
            asked_model TEXT
        )""",
        f"INSERT INTO entries_next ({_V2_COLUMNS}) SELECT {_V2_COLUMNS} FROM entries ORDER BY id",
        "DROP TABLE entries",
        "ALTER TABLE entries_next RENAME TO entries",
        "CREATE INDEX entries_by_time ON entries (time)",
        # the spool keys of entries written from a spool file: a replay writes each once
        """CREATE TABLE spooled (
            key TEXT PRIMARY KEY,
            entry_id INTEGER NOT NULL
        ) WITHOUT ROWID""",
    ),
    (
        # the statuses an entry may have are rows of the statuses table, checked by
        # triggers, so that a status is added without rebuilding the table again (as a
        # CHECK constraint needs); the entries table is rebuilt once, without its CHECK
        "CREATE TABLE statuses (name TEXT PRIMARY KEY) WITHOUT ROWID",
        """CREATE TABLE entries_next (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            time TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            request_id TEXT,
            status TEXT NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cache_read_tokens INTEGER NOT NULL,
            cache_write_tokens INTEGER NOT NULL,
            cache_write_1h_tokens INTEGER NOT NULL,
            reasoning_tokens INTEGER NOT NULL,
            images INTEGER NOT NULL,
            requests INTEGER NOT NULL,
            audio_input_tokens INTEGER NOT NULL DEFAULT 0,
            audio_output_tokens INTEGER NOT NULL DEFAULT 0,
            audio_cache_read_tokens INTEGER NOT NULL DEFAULT 0,
            web_searches INTEGER NOT NULL DEFAULT 0,
            cost TEXT NOT NULL,
            cost_items TEXT NOT NULL,
            currency TEXT NOT NULL,
            effective TEXT,
            reported_cost TEXT,
            estimate_low TEXT,
            estimate_high TEXT,
            duration REAL,
            tags TEXT NOT NULL,
            overrun TEXT,
            late INTEGER NOT NULL DEFAULT 0,
            asked_model TEXT
        )""",
        f"INSERT INTO entries_next ({_V3_COLUMNS}) SELECT {_V3_COLUMNS} FROM entries "
        "ORDER BY id",
        "DROP TABLE entries",
        "ALTER TABLE entries_next RENAME TO entries",
        "CREATE INDEX entries_by_time ON entries (time)",
        """CREATE TRIGGER entries_status_insert BEFORE INSERT ON entries
            WHEN NEW.status NOT IN (SELECT name FROM statuses)
            BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: status'); END""",
        """CREATE TRIGGER entries_status_update BEFORE UPDATE OF status ON entries
            WHEN NEW.status NOT IN (SELECT name FROM statuses)
            BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: status'); END""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
TABLES_AT: dict[int, frozenset[str]] = {
    1: frozenset({"meta", "entries", "entry_tags"}),
    2: frozenset({"meta", "entries", "entry_tags", "reservations"}),
    3: frozenset({"meta", "entries", "entry_tags", "reservations", "spooled"}),
    4: frozenset({"meta", "entries", "entry_tags", "reservations", "spooled", "statuses"}),
}


def check_header(path: str, create: bool) -> bool:
    """Refuse a file that is not a costbook ledger by its header alone, before SQLite
    opens it (so it is left as it was). True when a non-empty file is there."""
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        if not create:
            raise LedgerError(f"no ledger at {path}: the file does not exist") from None
        return False
    if os.path.isdir(path):
        raise LedgerError(f"{path} is a directory; a ledger path names a file")
    if size == 0:
        if not create:
            raise LedgerError(f"{path} is empty, not a costbook ledger")
        return False
    with open(path, "rb") as file:
        header = file.read(100)
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise LedgerError(
            f"{path} is not a costbook ledger: it is not an SQLite database; "
            "it was left untouched (give the path of a ledger, or of a new file)"
        )
    application_id = int.from_bytes(header[68:72], "big")
    if application_id != APPLICATION_ID:
        raise LedgerError(
            f"{path} is an SQLite database but not a costbook ledger (its "
            f"application_id is {application_id:#x}, a ledger's is {APPLICATION_ID:#x}); "
            "it was left untouched"
        )
    return True


def inspect(connection: sqlite3.Connection) -> tuple[int, int, set[str]]:
    """The application id, the schema version and the tables of an open database."""
    connection.execute("BEGIN")
    try:
        application_id = connection.execute("PRAGMA application_id").fetchone()[0]
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    finally:
        connection.execute("COMMIT")
    return application_id, version, tables - {"sqlite_sequence"}


def validate(path: str, application_id: int, version: int, tables: set[str]) -> None:
    """Refuse a database that is not a ledger, is newer than this code, or lacks tables."""
    if application_id != APPLICATION_ID:
        raise LedgerError(
            f"{path} is an SQLite database but not a costbook ledger "
            f"(application_id {application_id:#x}); it was left untouched"
        )
    if version > SCHEMA_VERSION:
        raise LedgerError(
            f"ledger {path} has schema version {version}, newer than version "
            f"{SCHEMA_VERSION} that this costbook reads; it was written by a newer "
            "costbook: upgrade costbook to use it (the file was left untouched)"
        )
    expected = TABLES_AT.get(version, frozenset())
    if version < 1 or not expected <= tables:
        missing = ", ".join(sorted(expected - tables)) or "all tables"
        raise LedgerError(
            f"ledger {path} is damaged: schema version {version} but {missing} "
            "missing; it was left untouched"
        )


def probe(connection: sqlite3.Connection) -> None:
    """Read what every use of a ledger needs, in a time that does not grow with it: the
    meta table and the newest entry with its tags. SQLite raises on a damaged page."""
    connection.execute("BEGIN")
    try:
        connection.execute("SELECT count(*) FROM meta").fetchone()
        connection.execute(
            "SELECT e.*, t.* FROM (SELECT * FROM entries ORDER BY id DESC LIMIT 1) e "
            "LEFT JOIN entry_tags t ON t.entry_id = e.id"
        ).fetchall()
    finally:
        connection.execute("COMMIT")


def lacks_statuses(connection: sqlite3.Connection) -> bool:
    """Whether the ledger's statuses table lacks a status of :data:`STATUSES` (one added
    to costbook since the ledger was last opened for writing)."""
    marks = ", ".join("?" for _ in STATUSES)
    row = connection.execute(
        f"SELECT count(*) FROM statuses WHERE name IN ({marks})", STATUSES
    ).fetchone()
    return bool(row[0] < len(STATUSES))


def integrity_problems(connection: sqlite3.Connection) -> list[str]:
    """What ``PRAGMA integrity_check`` finds wrong (the first few); empty when all is
    well. It reads every page: its time grows with the ledger."""
    rows = connection.execute("PRAGMA integrity_check(10)").fetchall()
    problems = [
        line.strip() for row in rows for line in str(row[0]).splitlines()
        if line.strip() and not line.startswith("***")
    ]
    return [] if problems == ["ok"] else problems


def migrate(connection: sqlite3.Connection, path: str) -> None:
    """Take the ledger forward to :data:`SCHEMA_VERSION` in one write transaction."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        now = format_time(datetime.now(timezone.utc))
        if version == 0:
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        for step in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[step]:
                connection.execute(statement)
        connection.executemany("INSERT OR IGNORE INTO statuses (name) VALUES (?)",
                               [(status,) for status in STATUSES])
        if version < SCHEMA_VERSION:
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            key = "created" if version == 0 else f"migrated {version}->{SCHEMA_VERSION}"
            connection.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, now)
            )
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    if 0 < version < SCHEMA_VERSION:
        log.info("migrated ledger %s from schema version %d to %d", path, version, SCHEMA_VERSION)
