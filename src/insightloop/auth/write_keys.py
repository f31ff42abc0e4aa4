"""Write keys: what a source's SDK sends events to the collection API with.

A write key belongs to one source, so the collection API knows where events come from, and
revoking one source's key leaves the others working. The secret (``il_wk_<random>``, URL-safe and
without ``:``, since Segment-compatible SDKs send it as the HTTP basic-auth user) is shown once;
only its SHA-256 hash and its first 10 characters are stored.

:meth:`WriteKeys.verify` runs for every collection request, thousands a second: it looks the hash
up in an in-memory dict of the active keys, reloaded from SQLite at most once per
``cache_seconds`` (1 s by default), so a revocation takes effect everywhere within about a second.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import sqlite3
import threading
import time
from types import MappingProxyType

from insightloop.auth.audit import AuditLog
from insightloop.auth.database import AuthDatabase, from_db, to_db
from insightloop.auth.errors import AuthError
from insightloop.auth.models import WriteKey

__all__ = ["WRITE_KEY_PREFIX", "WriteKeys", "check_source_name"]

log = logging.getLogger(__name__)

WRITE_KEY_PREFIX = "il_wk_"
_PREFIX_LENGTH = 10
_MAX_SECRET_LENGTH = 200
_SOURCE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_source_name(source: str) -> str:
    """Return ``source`` if it is a valid source name, else raise an :class:`AuthError`."""
    if not _SOURCE.fullmatch(source):
        raise AuthError(
            f"Invalid source name {source[:64]!r}.",
            code="invalid_request",
            hint="Use 1 to 64 letters, digits and _ . -, as in the [sources.NAME] of "
            "insightloop.toml.",
        )
    return source


def _key(row: sqlite3.Row) -> WriteKey:
    created = from_db(row["created_at"])
    assert created is not None
    return WriteKey(
        key_id=row["key_id"],
        source=row["source"],
        label=row["label"],
        created_at=created,
        revoked_at=from_db(row["revoked_at"]),
        prefix=row["prefix"],
    )


class WriteKeys:
    """The write keys of an :class:`~insightloop.auth.AuthStore` (``store.write_keys``).

    Parameters
    ----------
    db, audit
        The store's database and audit log.
    cache_seconds
        The longest time between reloads of the active keys (tests use 0).
    """

    def __init__(self, db: AuthDatabase, audit: AuditLog, *, cache_seconds: float = 1.0) -> None:
        self._db = db
        self._audit = audit
        self._ttl = cache_seconds
        self._active: MappingProxyType[str, WriteKey] = MappingProxyType({})
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Reload the active keys at the next verification."""
        self._loaded_at = None

    # -- changes ----------------------------------------------------------------------------

    def create(self, source: str, *, label: str | None = None, actor: str) -> tuple[WriteKey, str]:
        """Create a write key for ``source``; returns it with its secret (shown once).

        Raises
        ------
        AuthError
            ``invalid_request`` for a malformed source name.
        """
        with self._audit.refusals(actor, "write_key.create", source[:64]):
            check_source_name(source)
            secret = WRITE_KEY_PREFIX + secrets.token_urlsafe(24)
            key_id = "wk_" + secrets.token_hex(6)
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO write_keys (key_id, source, secret_hash, prefix, label, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (key_id, source, _digest(secret), secret[:_PREFIX_LENGTH], label,
                     to_db(self._db.now())),
                )  # fmt: skip
                self._audit.insert(conn, actor, "write_key.create", target=key_id,
                                   details={"source": source})  # fmt: skip
                key = _key(self._require(conn, key_id))
        self.forget()
        log.info("write key %s created for source %s", key_id, source)
        return key, secret

    def revoke(self, key_id: str, *, actor: str) -> WriteKey:
        """Revoke a write key: effective at once in this process, within ~1 s in others.

        Raises
        ------
        AuthError
            ``not_found``; ``conflict`` when it is revoked already.
        """
        refusals = self._audit.refusals(actor, "write_key.revoke", key_id)
        with refusals, self._db.transaction() as conn:
            key = _key(self._require(conn, key_id))
            if key.revoked_at is not None:
                raise AuthError(
                    f"Write key {key_id} was revoked already, at "
                    f"{key.revoked_at:%Y-%m-%d %H:%M} UTC.",
                    code="conflict",
                    hint=f"Create a new key with `insightloop keys create {key.source}`.",
                )
            conn.execute(
                "UPDATE write_keys SET revoked_at = ? WHERE key_id = ?",
                (to_db(self._db.now()), key_id),
            )
            self._audit.insert(conn, actor, "write_key.revoke", target=key_id,
                               details={"source": key.source})  # fmt: skip
            key = _key(self._require(conn, key_id))
        self.forget()
        log.info("write key %s of source %s revoked", key_id, key.source)
        return key

    # -- reading ----------------------------------------------------------------------------

    def list(self, source: str | None = None, include_revoked: bool = False) -> list[WriteKey]:
        """The write keys (of ``source``, if given), newest first; revoked ones on request."""
        where, params = [], []
        if source is not None:
            where.append("source = ?")
            params.append(source)
        if not include_revoked:
            where.append("revoked_at IS NULL")
        sql = "SELECT * FROM write_keys"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY created_at DESC, key_id", params).fetchall()
        return [_key(r) for r in rows]

    def _require(self, conn: sqlite3.Connection, key_id: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM write_keys WHERE key_id = ?", (key_id,)).fetchone()
        if row is None:
            raise AuthError(
                f"There is no write key {key_id!r}.",
                code="not_found",
                hint="See the keys with `insightloop keys list --all`.",
            )
        return row

    def verify(self, secret: str) -> WriteKey | None:
        """The active write key ``secret`` belongs to, or ``None``."""
        if not secret.startswith(WRITE_KEY_PREFIX) or len(secret) > _MAX_SECRET_LENGTH:
            return None
        loaded_at = self._loaded_at
        if loaded_at is None or time.monotonic() - loaded_at >= self._ttl:
            self._reload()
        return self._active.get(_digest(secret))

    def _reload(self) -> None:
        with self._lock:
            # Another thread may have reloaded while this one waited.
            if self._loaded_at is not None and time.monotonic() - self._loaded_at < self._ttl:
                return
            started = time.monotonic()
            with self._db.read() as conn:
                rows = conn.execute("SELECT * FROM write_keys WHERE revoked_at IS NULL").fetchall()
            self._active = MappingProxyType({r["secret_hash"]: _key(r) for r in rows})
            self._loaded_at = started
