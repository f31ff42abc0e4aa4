"""Bearer tokens of the insight API: scoped, expiring, revocable, stored as SHA-256 hashes.

A secret looks like ``il_tok_<token_id>_<random>``: the public id makes a leaked token easy to
find and revoke, the 256 random bits make it impossible to guess. Only ``sha256(secret)`` is kept;
the secret is returned once, at creation.

:meth:`Tokens.verify` runs on every API request. Verified hashes are cached in memory for at most
``cache_seconds`` (2 s by default), so a revocation, a disabled user or a new role takes effect in
every server process within that time, and in the revoking process at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from insightloop.auth.audit import AuditLog
from insightloop.auth.database import AuthDatabase, from_db, to_db
from insightloop.auth.errors import AuthError
from insightloop.auth.models import ApiToken, Principal
from insightloop.auth.roles import (
    PERMISSIONS,
    ROLE_PERMISSIONS,
    Permission,
    Role,
    check_permissions,
)

__all__ = ["TOKEN_PREFIX", "Tokens"]

log = logging.getLogger(__name__)

TOKEN_PREFIX = "il_tok_"
_ID_LENGTH = 12
# Anything longer is no token of ours; refuse it before hashing.
_MAX_SECRET_LENGTH = 200
# The cache forgets everything when it grows past this (random bad tokens must not fill memory).
_MAX_CACHE = 10_000
# last_used_at is a write; refresh it at most this often per token.
_LAST_USED_EVERY = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _token(row: sqlite3.Row) -> ApiToken:
    created = from_db(row["created_at"])
    assert created is not None
    return ApiToken(
        token_id=row["token_id"],
        username=row["username"],
        scopes=tuple(json.loads(row["scopes"])),
        label=row["label"],
        created_at=created,
        expires_at=from_db(row["expires_at"]),
        revoked_at=from_db(row["revoked_at"]),
        last_used_at=from_db(row["last_used_at"]),
    )


class Tokens:
    """The API tokens of an :class:`~insightloop.auth.AuthStore` (``store.tokens``).

    Parameters
    ----------
    db, audit
        The store's database and audit log.
    cache_seconds
        How long a verification result is reused (≤ 2 s keeps revocation prompt; tests use 0).
    """

    def __init__(self, db: AuthDatabase, audit: AuditLog, *, cache_seconds: float = 2.0) -> None:
        self._db = db
        self._audit = audit
        self._ttl = cache_seconds
        # sha256 hex -> (monotonic time cached, principal or None, token expiry)
        self._cache: dict[str, tuple[float, Principal | None, datetime | None]] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Drop every cached verification (after a revocation in this process)."""
        with self._lock:
            self._cache = {}

    # -- changes ----------------------------------------------------------------------------

    def create(
        self,
        username: str,
        *,
        scopes: Iterable[Permission] | None = None,
        expires_in: timedelta | None = timedelta(days=90),
        label: str | None = None,
        actor: str,
    ) -> tuple[ApiToken, str]:
        """Create a token for ``username``; returns it with its secret (shown once).

        Parameters
        ----------
        scopes
            The permissions the token carries; default: all of the user's role. Must be a
            subset of the role's permissions.
        expires_in
            Lifetime; ``None`` for a token that never expires.
        label
            What the token is for (``"crm sync"``), shown in lists.

        Raises
        ------
        AuthError
            ``not_found`` for an unknown user; ``invalid_request`` for a disabled user, an
            unknown scope or one the role does not grant, or a lifetime that is not positive.
        """
        with self._audit.refusals(actor, "token.create", username):
            if expires_in is not None and expires_in <= timedelta(0):
                raise AuthError(
                    f"A token's lifetime must be positive; it is {expires_in}.",
                    code="invalid_request",
                    hint="Give a number of days of at least 1, or no expiry.",
                )
            token_id = secrets.token_hex(_ID_LENGTH // 2)
            secret = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
            now = self._db.now()
            with self._db.transaction() as conn:
                row = conn.execute(
                    "SELECT username, role, disabled FROM users WHERE username = ?", (username,)
                ).fetchone()
                if row is None:
                    raise AuthError(
                        f"There is no user {username!r}.",
                        code="not_found",
                        hint="See the users with `insightloop users list`.",
                    )
                if row["disabled"]:
                    raise AuthError(
                        f"User {row['username']!r} is disabled.",
                        code="invalid_request",
                        hint=f"Enable it first: `insightloop users enable {row['username']}`.",
                    )
                granted = self._scopes(row["role"], scopes)
                conn.execute(
                    "INSERT INTO api_tokens (token_id, username, secret_hash, scopes, label, "
                    "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        token_id,
                        row["username"],
                        _digest(secret),
                        json.dumps(list(granted)),
                        label,
                        to_db(now),
                        to_db(now + expires_in) if expires_in is not None else None,
                    ),
                )
                self._audit.insert(
                    conn,
                    actor,
                    "token.create",
                    target=token_id,
                    details={
                        "username": row["username"],
                        "scopes": list(granted),
                        "expires_at": to_db(now + expires_in) if expires_in else None,
                    },
                )
                token = _token(self._require(conn, token_id))
        log.info("API token %s created for user %s", token_id, token.username)
        return token, secret

    @staticmethod
    def _scopes(role: Role, scopes: Iterable[Permission] | None) -> tuple[Permission, ...]:
        allowed = ROLE_PERMISSIONS[role]
        wanted = allowed if scopes is None else check_permissions(scopes)
        beyond = wanted - allowed
        if beyond:
            raise AuthError(
                f"The role {role!r} does not grant {', '.join(sorted(beyond))}; a token can "
                "carry only permissions of its user's role.",
                code="invalid_request",
                hint=f"Choose scopes among: {', '.join(p for p in PERMISSIONS if p in allowed)}.",
            )
        if not wanted:
            raise AuthError("A token needs at least one scope.", code="invalid_request")
        return tuple(p for p in PERMISSIONS if p in wanted)

    def revoke(self, token_id: str, *, actor: str) -> ApiToken:
        """Revoke a token: it stops verifying at once in this process, within the cache time
        (2 s) in others.

        Raises
        ------
        AuthError
            ``not_found``; ``conflict`` when it is revoked already.
        """
        with self._audit.refusals(actor, "token.revoke", token_id), self._db.transaction() as conn:
            token = _token(self._require(conn, token_id))
            if token.revoked_at is not None:
                raise AuthError(
                    f"Token {token_id} was revoked already, at {token.revoked_at:%Y-%m-%d %H:%M}"
                    " UTC.",
                    code="conflict",
                )
            conn.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE token_id = ?",
                (to_db(self._db.now()), token_id),
            )
            self._audit.insert(conn, actor, "token.revoke", target=token_id,
                               details={"username": token.username})  # fmt: skip
            token = _token(self._require(conn, token_id))
        self.forget()
        log.info("API token %s revoked", token_id)
        return token

    # -- reading ----------------------------------------------------------------------------

    def list(self, username: str | None = None) -> list[ApiToken]:
        """Every token (of ``username``, if given), newest first, also expired and revoked."""
        sql = "SELECT * FROM api_tokens"
        params: tuple[str, ...] = ()
        if username is not None:
            sql += " WHERE username = ?"
            params = (username,)
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY created_at DESC, token_id", params).fetchall()
        return [_token(r) for r in rows]

    def _require(self, conn: sqlite3.Connection, token_id: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM api_tokens WHERE token_id = ?", (token_id,)).fetchone()
        if row is None:
            raise AuthError(
                f"There is no API token {token_id!r}.",
                code="not_found",
                hint="See the tokens with `insightloop tokens list`.",
            )
        return row

    def verify(self, secret: str) -> Principal | None:
        """The principal a bearer secret stands for, or ``None``.

        ``None`` when the secret is malformed or unknown, or its token is revoked or expired, or
        its user is disabled. The principal's permissions are the token's scopes that the user's
        current role still grants.
        """
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > _MAX_SECRET_LENGTH:
            return None
        digest = _digest(secret)
        cached = self._cache.get(digest)
        if cached is not None and time.monotonic() - cached[0] < self._ttl:
            principal, expires_at = cached[1], cached[2]
        else:
            principal, expires_at = self._load(secret, digest)
            with self._lock:
                if len(self._cache) >= _MAX_CACHE:
                    self._cache = {}
                self._cache[digest] = (time.monotonic(), principal, expires_at)
        if principal is None or (expires_at is not None and expires_at <= self._db.now()):
            return None
        return principal

    def _load(self, secret: str, digest: str) -> tuple[Principal | None, datetime | None]:
        token_id = secret[len(TOKEN_PREFIX) :].partition("_")[0]
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT t.secret_hash, t.scopes, t.expires_at, t.revoked_at, t.last_used_at, "
                "u.username, u.role, u.disabled FROM api_tokens t "
                "JOIN users u ON u.username = t.username WHERE t.token_id = ?",
                (token_id,),
            ).fetchone()
        if row is None or not hmac.compare_digest(row["secret_hash"], digest):
            return None, None
        if row["revoked_at"] is not None or row["disabled"]:
            return None, None
        expires_at = from_db(row["expires_at"])
        now = self._db.now()
        if expires_at is not None and expires_at <= now:
            return None, None
        role: Role = row["role"]
        scopes = frozenset(json.loads(row["scopes"])) & ROLE_PERMISSIONS[role]
        last_used = from_db(row["last_used_at"])
        if last_used is None or now - last_used >= _LAST_USED_EVERY:
            self._touch(token_id, now)
        return Principal(row["username"], role, scopes, token_id), expires_at

    def _touch(self, token_id: str, now: datetime) -> None:
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "UPDATE api_tokens SET last_used_at = ? WHERE token_id = ?",
                    (to_db(now), token_id),
                )
        except sqlite3.OperationalError as exc:  # busy or read-only: the time of use can wait
            log.debug("could not note the use of API token %s: %s", token_id, exc)
