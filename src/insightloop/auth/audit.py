"""The audit log: who did what, to what, when, and how it ended. Append-only.

Store methods record every admin action themselves, in the same transaction as the change; the
server records every read of a profile's personal data with :meth:`AuditLog.record`. SQLite
triggers refuse ``UPDATE`` and ``DELETE`` on the table, so no code path can rewrite history.

Details are JSON and never hold personal data or secrets: they name ids, roles and scopes.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from insightloop.auth.database import AuthDatabase, from_db, to_db
from insightloop.auth.errors import AuthError
from insightloop.auth.models import AuditEntry

__all__ = ["AuditLog"]

log = logging.getLogger(__name__)

#: The most entries one query returns.
MAX_LIMIT = 100_000


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class AuditLog:
    """Writes and queries the audit log of an :class:`~insightloop.auth.AuthStore`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from insightloop.auth import AuthStore
    >>> store = AuthStore(pathlib.Path(tempfile.mkdtemp()) / "auth.sqlite")
    >>> store.audit.record("ann", "profile.read", target="cus_123", details={"fields": 7})
    >>> [(e.actor, e.action, e.target) for e in store.audit.query(actor="ann")]
    [('ann', 'profile.read', 'cus_123')]
    """

    def __init__(self, db: AuthDatabase) -> None:
        self._db = db

    def record(
        self,
        actor: str,
        action: str,
        *,
        target: str | None = None,
        details: Mapping[str, object] | None = None,
        outcome: str = "ok",
    ) -> None:
        """Append an entry, stamped with the current UTC time.

        Parameters
        ----------
        actor
            Who acted: a username, ``cli:<os user>``, ``system``.
        action
            What was done, as ``noun.verb`` (``profile.read``, ``user.add``).
        target
            What it was done to: an id, never personal data.
        details
            JSON-serialisable facts (ids, counts, field names); never personal data or secrets.
        outcome
            ``ok`` (default), ``refused``, ``denied``, ``error``.
        """
        with self._db.transaction() as conn:
            self.insert(conn, actor, action, target=target, details=details, outcome=outcome)

    def record_many(self, entries: Sequence[Mapping[str, Any]], *, synced: bool = True) -> None:
        """Append several entries in one transaction (all or none); each a mapping of
        :meth:`record`'s arguments (``actor``, ``action``, optional ``target``, ``details``,
        ``outcome``). ``synced=False``: see :meth:`AuthDatabase.transaction`."""
        with self._db.transaction(synced=synced) as conn:
            self._insert_all(conn, entries)

    def writer_connection(self, *, synced: bool) -> sqlite3.Connection:
        """A connection that :meth:`append_batch` commits batches through (the caller closes
        it); ``synced=False`` commits without waiting for the disk."""
        conn = self._db.connect(thread_bound=False)
        conn.execute(f"PRAGMA synchronous = {'FULL' if synced else 'NORMAL'}")
        return conn

    def append_batch(self, conn: sqlite3.Connection, entries: Sequence[Mapping[str, Any]]) -> None:
        """Append entries in one transaction on ``conn`` (from :meth:`writer_connection`)."""
        self._db.begin_soon(conn)
        try:
            self._insert_all(conn, entries)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _insert_all(self, conn: sqlite3.Connection, entries: Sequence[Mapping[str, Any]]) -> None:
        for e in entries:
            self.insert(
                conn,
                e["actor"],
                e["action"],
                target=e.get("target"),
                details=e.get("details"),
                outcome=e.get("outcome", "ok"),
            )

    def insert(
        self,
        conn: sqlite3.Connection,
        actor: str,
        action: str,
        *,
        target: str | None = None,
        details: Mapping[str, object] | None = None,
        outcome: str = "ok",
    ) -> None:
        """Append an entry inside the caller's transaction (store methods use this, so the
        change and its audit row commit together)."""
        if not actor or not action:
            raise AuthError("An audit entry needs an actor and an action.", code="invalid_request")
        text = json.dumps(dict(details or {}), sort_keys=True, default=str, ensure_ascii=False)
        conn.execute(
            "INSERT INTO audit_log (at, actor, action, target, details, outcome) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (to_db(self._db.now()), actor, action, target, text, outcome),
        )
        log.debug("audit: %s %s %s (%s)", actor, action, target or "-", outcome)

    @contextmanager
    def refusals(self, actor: str, action: str, target: str | None) -> Iterator[None]:
        """Record an admin action that fails with an :class:`AuthError` as ``refused``.

        The error's code goes into the details; its message stays out (it may quote input).
        """
        try:
            yield
        except AuthError as exc:
            self.record(actor, action, target=target, details={"error": exc.code},
                        outcome="refused")  # fmt: skip
            raise

    def query(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Entries matching every filter given, newest first.

        Parameters
        ----------
        actor, target
            Exact match.
        action
            Exact match, or a prefix ending in ``*``: ``user.*`` finds every user action.
        since, until
            Entries at or after ``since`` and before ``until`` (naive times are UTC).
        limit
            At most this many entries (1 to 100,000).
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise AuthError(
                f"The limit must be between 1 and {MAX_LIMIT:,}; it is {limit}.",
                code="invalid_request",
            )
        where: list[str] = []
        params: list[object] = []
        if actor is not None:
            where.append("actor = ?")
            params.append(actor)
        if action is not None:
            if action.endswith("*"):
                where.append("action LIKE ? ESCAPE '\\'")
                params.append(_escape_like(action[:-1]) + "%")
            else:
                where.append("action = ?")
                params.append(action)
        if target is not None:
            where.append("target = ?")
            params.append(target)
        if since is not None:
            where.append("at >= ?")
            params.append(to_db(since))
        if until is not None:
            where.append("at < ?")
            params.append(to_db(until))
        # Only fixed fragments are joined; every value is a bound parameter.
        sql = "SELECT * FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY entry_id DESC LIMIT ?"
        params.append(limit)
        with self._db.read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [_entry(row) for row in rows]


def _entry(row: sqlite3.Row) -> AuditEntry:
    details: Any = json.loads(row["details"]) if row["details"] else {}
    at = from_db(row["at"])
    assert at is not None
    return AuditEntry(
        entry_id=int(row["entry_id"]),
        at=at,
        actor=row["actor"],
        action=row["action"],
        target=row["target"],
        details=details if isinstance(details, dict) else {"value": details},
        outcome=row["outcome"],
    )
