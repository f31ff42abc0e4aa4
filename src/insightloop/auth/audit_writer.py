"""Group commit for the audit log: many threads and coroutines record, one thread writes.

A server that audits every read of personal data would otherwise open a connection and commit
(an fsync) per request, which caps it at a few hundred reads a second. :class:`AuditWriter`
collects the entries of concurrent requests and commits them together; each caller returns only
once its entry is committed, so no response leaves before its audit row is on disk.

Examples
--------
>>> import tempfile, pathlib
>>> from insightloop.auth import AuthStore
>>> store = AuthStore(pathlib.Path(tempfile.mkdtemp()) / "auth.sqlite")
>>> writer = AuditWriter(store.audit)
>>> writer.record("ann", "profile.read", target="cus_1")
>>> writer.close()
>>> [e.target for e in store.audit.query(action="profile.read")]
['cus_1']
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
from collections.abc import Mapping
from typing import Any

from insightloop.auth.audit import AuditLog
from insightloop.errors import InsightloopError

__all__ = ["AuditWriteError", "AuditWriter"]

log = logging.getLogger(__name__)


class AuditWriteError(InsightloopError):
    """An audit entry could not be committed: what it records must not happen."""

    code = "audit_failed"

    def __init__(self, message: str = "The audit log could not be written.") -> None:
        super().__init__(
            message, hint="Check the disk and permissions of the workspace's auth.sqlite."
        )


class _Batch:
    """Entries committed together, and who waits for them."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def finish(self, error: BaseException | None) -> None:
        self.error = error
        self.done.set()
        for loop, future in self.waiters:
            loop.call_soon_threadsafe(_settle, future, error)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(AuditWriteError())


class AuditWriter:
    """Writes audit entries for many threads in one transaction per batch.

    The writer thread starts on first use in each process (a server forks its workers after
    building the application). ``synced=False`` commits without waiting for the disk: entries
    survive a crash of the server but not a power cut (see :meth:`AuthDatabase.transaction`).
    """

    def __init__(self, audit: AuditLog, *, synced: bool = True, timeout: float = 30.0) -> None:
        self._audit = audit
        self._synced = synced
        self._timeout = timeout
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._batch = _Batch()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closed = False

    def _enqueue(
        self,
        entry: dict[str, Any],
        waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None,
    ) -> _Batch:
        with self._lock:
            if self._closed:
                raise AuditWriteError("The audit writer is closed (the server is stopping).")
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="insightloop-audit", daemon=True
                )
                self._thread.start()
            self._batch.entries.append(entry)
            if waiter is not None:
                self._batch.waiters.append(waiter)
            self._wake.notify()
            return self._batch

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                with self._lock:
                    while not self._batch.entries and not self._closed:
                        self._wake.wait()
                    if not self._batch.entries and self._closed:
                        return
                    batch, self._batch = self._batch, _Batch()
                try:
                    if conn is None:
                        conn = self._audit.writer_connection(synced=self._synced)
                    self._audit.append_batch(conn, batch.entries)
                except Exception as exc:  # noqa: BLE001 - every waiter hears of any failure
                    log.error("the audit log could not be written: %s", type(exc).__name__)
                    batch.finish(exc)
                    if conn is not None:
                        conn.close()
                        conn = None
                else:
                    batch.finish(None)
        finally:
            if conn is not None:
                conn.close()

    @staticmethod
    def _entry(
        actor: str,
        action: str,
        target: str | None,
        details: Mapping[str, object] | None,
        outcome: str,
    ) -> dict[str, Any]:
        return {
            "actor": actor,
            "action": action,
            "target": target,
            "details": details,
            "outcome": outcome,
        }

    def record(
        self,
        actor: str,
        action: str,
        *,
        target: str | None = None,
        details: Mapping[str, object] | None = None,
        outcome: str = "ok",
    ) -> None:
        """Append an entry (see :meth:`AuditLog.record`); returns once it is committed.

        Raises
        ------
        AuditWriteError
            ``audit_failed`` when the entry could not be written.
        """
        batch = self._enqueue(self._entry(actor, action, target, details, outcome))
        if not batch.done.wait(self._timeout) or batch.error is not None:
            raise AuditWriteError()

    async def arecord(
        self,
        actor: str,
        action: str,
        *,
        target: str | None = None,
        details: Mapping[str, object] | None = None,
        outcome: str = "ok",
    ) -> None:
        """:meth:`record` for coroutines: awaits the commit without blocking the event loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._enqueue(self._entry(actor, action, target, details, outcome), (loop, future))
        try:
            await asyncio.wait_for(future, self._timeout)
        except TimeoutError:
            raise AuditWriteError() from None

    def close(self) -> None:
        """Commit what is queued and stop the writer thread (the next record starts another)."""
        with self._lock:
            self._closed = True
            self._wake.notify()
            thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout=self._timeout)
        with self._lock:
            self._closed = False
            self._thread = None
