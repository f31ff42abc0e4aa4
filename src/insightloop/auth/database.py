"""The SQLite file of the auth store: connections, transactions, the schema and its version.

Users, tokens, write keys and the audit log live in ``<workspace>/auth.sqlite``, not in the DuckDB
database: the server's worker processes write audit rows and token use while ``insightloop run``
holds DuckDB's single-writer lock. SQLite in WAL mode lets many processes read while one writes,
and ``busy_timeout`` makes a writer wait its turn instead of failing.

Every operation opens a short connection and closes it: the server calls the store from several
threads and processes, and a connection must never cross a ``fork``. The hot paths (verifying
tokens and write keys) are cached in memory by their owners, so connecting stays off them.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from insightloop.errors import MigrationError, WorkspaceError

__all__ = ["SCHEMA_VERSION", "AuthDatabase", "Clock", "from_db", "to_db", "utc_now"]

log = logging.getLogger(__name__)

#: A function returning the current time (UTC, aware); tests pass their own.
Clock = Callable[[], datetime]

#: The schema version this release writes (``PRAGMA user_version``).
SCHEMA_VERSION = 1

#: How long a connection waits for another process's write to finish before failing.
BUSY_TIMEOUT_MS = 5000

_ROLES_CHECK = "role IN ('admin', 'analyst', 'marketer', 'agent', 'viewer')"

# Each entry brings the schema from version i to i + 1; append, never edit.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        f"""CREATE TABLE users (
            username TEXT PRIMARY KEY COLLATE NOCASE,
            role TEXT NOT NULL CHECK ({_ROLES_CHECK}),
            password_hash TEXT NOT NULL,
            disabled INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            password_changed_at TEXT NOT NULL
        )""",
        """CREATE TABLE api_tokens (
            token_id TEXT PRIMARY KEY,
            username TEXT NOT NULL REFERENCES users (username),
            secret_hash TEXT NOT NULL UNIQUE,
            scopes TEXT NOT NULL,
            label TEXT,
            created_at TEXT NOT NULL,
            expires_at TEXT,
            revoked_at TEXT,
            last_used_at TEXT
        )""",
        "CREATE INDEX api_tokens_username ON api_tokens (username)",
        """CREATE TABLE write_keys (
            key_id TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            secret_hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL,
            label TEXT,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        )""",
        """CREATE TABLE audit_log (
            entry_id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT,
            details TEXT NOT NULL DEFAULT '{}',
            outcome TEXT NOT NULL DEFAULT 'ok'
        )""",
        "CREATE INDEX audit_log_at ON audit_log (at)",
        "CREATE INDEX audit_log_actor ON audit_log (actor, at)",
        "CREATE INDEX audit_log_target ON audit_log (target, at)",
        """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: no UPDATE'); END""",
        """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: no DELETE'); END""",
    ),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION


def utc_now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


def to_db(value: datetime | None) -> str | None:
    """A time as stored: UTC ISO 8601 with microseconds, so text order is time order.

    Naive times are taken as UTC.

    Examples
    --------
    >>> to_db(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    '2025-01-02T03:04:05.000000Z'
    """
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_db(value: str | None) -> datetime | None:
    """A stored time back as an aware UTC datetime."""
    if value is None:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class AuthDatabase:
    """The auth store's SQLite file: creates it with its schema, hands out connections.

    Parameters
    ----------
    path
        The database file; its folder must exist. A new file is readable by its owner only:
        it holds password hashes.
    clock
        Returns the current UTC time (default: the system clock).
    """

    def __init__(self, path: Path, *, clock: Clock | None = None) -> None:
        self.path = Path(path)
        self.clock: Clock = clock or utc_now
        if not self.path.parent.is_dir():
            raise WorkspaceError(
                f"Cannot create the auth database {self.path}: {self.path.parent} does not exist.",
                hint="Create the workspace first with `insightloop init DIR`.",
            )
        if not self.path.exists():
            # Another process may create it first: fine.
            with suppress(FileExistsError):
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        self._ensure_schema()

    def now(self) -> datetime:
        """The current time from the store's clock (UTC)."""
        value = self.clock()
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    def connect(self, *, thread_bound: bool = True) -> sqlite3.Connection:
        """A connection for a long-lived writer, in autocommit mode (the caller closes it).

        Closing the last connection to a WAL database checkpoints it (an fsync): a writer that
        commits often keeps one connection instead of opening one per transaction.
        """
        conn = self._connect(thread_bound=thread_bound)
        return conn

    def _connect(self, *, thread_bound: bool = True) -> sqlite3.Connection:
        # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE), see `transaction`.
        conn = sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=thread_bound,
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading, closed at the end of the block."""
        with closing(self._connect()) as conn:
            yield conn

    @contextmanager
    def transaction(self, *, synced: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction, committed at the end of the block or rolled back on an error.

        ``BEGIN IMMEDIATE`` takes the write lock up front: a transaction that read first and
        upgraded later could fail at once with "database is locked", which ``busy_timeout`` does
        not retry.

        ``synced=False`` commits without waiting for the disk (``synchronous = NORMAL`` in WAL
        mode): the commit survives a crash of the process, but a power cut may lose the last
        commits. Changes of users, tokens and keys are always synced.
        """
        with closing(self._connect()) as conn:
            conn.execute(f"PRAGMA synchronous = {'FULL' if synced else 'NORMAL'}")
            if synced:
                conn.execute("BEGIN IMMEDIATE")
            else:
                self.begin_soon(conn)
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @staticmethod
    def begin_soon(conn: sqlite3.Connection) -> None:
        """``BEGIN IMMEDIATE``, retried every 0.2 ms while another process writes.

        SQLite's own busy handler backs off to sleeps of 50 and 100 ms, which two server
        workers auditing every request at once turn into the latency of every request.
        """
        conn.execute("PRAGMA busy_timeout = 0")
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.0002)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def schema_version(self) -> int:
        with self.read() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def _ensure_schema(self) -> None:
        with closing(self._connect()) as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version == SCHEMA_VERSION:
                return
            if version > SCHEMA_VERSION:
                raise MigrationError(
                    f"The auth database {self.path} has schema version {version}; this release "
                    f"knows versions up to {SCHEMA_VERSION}.",
                    hint="Upgrade insightloop to the release that wrote this workspace.",
                )
            # WAL is a property of the file, set once; it cannot change inside a transaction.
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have migrated while this one waited for the lock.
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                for number in range(version, SCHEMA_VERSION):
                    for statement in _MIGRATIONS[number]:
                        conn.execute(statement)
                    log.info("auth database migrated to version %d", number + 1)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
