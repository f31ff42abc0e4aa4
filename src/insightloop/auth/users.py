"""Users: add, list, disable and enable, reset passwords, change roles, sign in.

Passwords are hashed with argon2id and never stored, logged or audited; a generated password is
returned once to the caller, who shows it once. Every change is audited in its own transaction.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable

from insightloop.auth.audit import AuditLog
from insightloop.auth.database import AuthDatabase, from_db, to_db
from insightloop.auth.errors import AuthError
from insightloop.auth.models import Principal, User
from insightloop.auth.passwords import Passwords, check_password, generate_password
from insightloop.auth.roles import ROLE_PERMISSIONS, Role, check_role

__all__ = ["Users", "check_username"]

log = logging.getLogger(__name__)

_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def check_username(username: str) -> str:
    """Return ``username`` if it is valid, else raise an :class:`AuthError` saying why.

    Usernames are 1 to 64 letters, digits and ``. _ @ -``, starting with a letter or digit (an
    email address is fine); they compare without regard to case.
    """
    if not _USERNAME.fullmatch(username):
        raise AuthError(
            f"Invalid username {username[:64]!r}.",
            code="invalid_request",
            hint="Use 1 to 64 letters, digits and . _ @ -, starting with a letter or digit.",
        )
    return username


def _user(row: sqlite3.Row) -> User:
    created, changed = from_db(row["created_at"]), from_db(row["password_changed_at"])
    assert created is not None
    assert changed is not None
    return User(row["username"], row["role"], bool(row["disabled"]), created, changed)


def _not_found(username: str) -> AuthError:
    return AuthError(
        f"There is no user {username!r}.",
        code="not_found",
        hint="See the users with `insightloop users list`.",
    )


class Users:
    """The users of an :class:`~insightloop.auth.AuthStore` (``store.users``).

    Parameters
    ----------
    db, audit, passwords
        The store's database, audit log and password hasher.
    on_revoke
        Called after a change that may stop tokens from verifying (disable, new role, new
        password), so the token cache of this process forgets them at once.
    """

    def __init__(
        self,
        db: AuthDatabase,
        audit: AuditLog,
        passwords: Passwords,
        on_revoke: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._audit = audit
        self._passwords = passwords
        self._on_revoke = on_revoke

    # -- reading ----------------------------------------------------------------------------

    def list(self) -> list[User]:
        """Every user, by username."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM users ORDER BY username").fetchall()
        return [_user(r) for r in rows]

    def get(self, username: str) -> User | None:
        """The user named ``username`` (any case), or ``None``."""
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        return _user(row) if row else None

    def _require(self, conn: sqlite3.Connection, username: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
        if row is None:
            raise _not_found(username)
        return row

    # -- changes ----------------------------------------------------------------------------

    def add(
        self, username: str, role: Role, *, password: str | None = None, actor: str = "cli"
    ) -> tuple[User, str]:
        """Add a user; returns it with its password (generated when none is given).

        Raises
        ------
        AuthError
            ``invalid_request`` for a bad username, role or a weak password (the message says
            what to fix); ``conflict`` when the username is taken.
        """
        with self._audit.refusals(actor, "user.add", username[:64]):
            check_username(username)
            check_role(role)
            if password is None:
                password = generate_password()
            else:
                check_password(password, username)
            password_hash = self._passwords.hash(password)
            now = to_db(self._db.now())
            try:
                with self._db.transaction() as conn:
                    conn.execute(
                        "INSERT INTO users (username, role, password_hash, disabled, created_at,"
                        " password_changed_at) VALUES (?, ?, ?, 0, ?, ?)",
                        (username, role, password_hash, now, now),
                    )
                    self._audit.insert(conn, actor, "user.add", target=username,
                                       details={"role": role})  # fmt: skip
                    user = _user(self._require(conn, username))
            except sqlite3.IntegrityError:
                raise AuthError(
                    f"A user named {username!r} exists already.",
                    code="conflict",
                    hint="Choose another username, or change that user with `insightloop users "
                    "set-role` or `users reset-password`.",
                ) from None
        log.info("user %s added with role %s", username, role)
        return user, password

    def disable(self, username: str, *, actor: str) -> User:
        """Disable a user: it cannot sign in and its tokens stop verifying (they stay listed).

        Raises
        ------
        AuthError
            ``not_found``; ``conflict`` when the user is disabled already or is the last
            enabled admin.
        """
        user = self._set_disabled(username, True, actor)
        self._on_revoke()
        return user

    def enable(self, username: str, *, actor: str) -> User:
        """Enable a disabled user again (its unexpired, unrevoked tokens verify again)."""
        return self._set_disabled(username, False, actor)

    def _set_disabled(self, username: str, disabled: bool, actor: str) -> User:
        action = "user.disable" if disabled else "user.enable"
        with self._audit.refusals(actor, action, username), self._db.transaction() as conn:
            row = self._require(conn, username)
            if bool(row["disabled"]) == disabled:
                state = "disabled" if disabled else "enabled"
                raise AuthError(f"User {row['username']!r} is {state} already.", code="conflict")
            if disabled and row["role"] == "admin":
                self._keep_an_admin(conn, row["username"])
            conn.execute(
                "UPDATE users SET disabled = ? WHERE username = ?", (int(disabled), username)
            )
            self._audit.insert(conn, actor, action, target=row["username"])
            user = _user(self._require(conn, username))
        log.info("user %s %s", user.username, "disabled" if disabled else "enabled")
        return user

    def set_role(self, username: str, role: Role, *, actor: str) -> User:
        """Give a user another role; its tokens keep only the scopes the new role grants.

        Raises
        ------
        AuthError
            ``not_found``; ``invalid_request`` for an unknown role; ``conflict`` when this would
            leave no enabled admin.
        """
        with self._audit.refusals(actor, "user.set_role", username):
            check_role(role)
            with self._db.transaction() as conn:
                row = self._require(conn, username)
                if row["role"] == "admin" and role != "admin" and not row["disabled"]:
                    self._keep_an_admin(conn, row["username"])
                conn.execute("UPDATE users SET role = ? WHERE username = ?", (role, username))
                self._audit.insert(conn, actor, "user.set_role", target=row["username"],
                                   details={"from": row["role"], "to": role})  # fmt: skip
                user = _user(self._require(conn, username))
        self._on_revoke()
        log.info("user %s now has role %s", user.username, role)
        return user

    def reset_password(self, username: str, *, password: str | None = None, actor: str) -> str:
        """Give a user a new password (generated when none is given) and revoke its tokens.

        Returns the new password, for the caller to show once.
        """
        with self._audit.refusals(actor, "user.reset_password", username):
            if password is None:
                password = generate_password()
            else:
                check_password(password, username)
            password_hash = self._passwords.hash(password)
            with self._db.transaction() as conn:
                row = self._require(conn, username)
                now = to_db(self._db.now())
                conn.execute(
                    "UPDATE users SET password_hash = ?, password_changed_at = ? "
                    "WHERE username = ?",
                    (password_hash, now, username),
                )
                revoked = conn.execute(
                    "UPDATE api_tokens SET revoked_at = ? WHERE username = ? "
                    "AND revoked_at IS NULL",
                    (now, row["username"]),
                ).rowcount
                self._audit.insert(conn, actor, "user.reset_password", target=row["username"],
                                   details={"tokens_revoked": revoked})  # fmt: skip
        self._on_revoke()
        log.info("password of user %s reset; %d token(s) revoked", row["username"], revoked)
        return password

    def _keep_an_admin(self, conn: sqlite3.Connection, username: str) -> None:
        others = conn.execute(
            "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0 AND username <> ?",
            (username,),
        ).fetchone()[0]
        if not others:
            raise AuthError(
                f"{username!r} is the last enabled admin; without one nobody could manage users.",
                code="conflict",
                hint="Add or enable another admin first (`insightloop users add NAME --role "
                "admin`).",
            )

    # -- signing in -------------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> Principal | None:
        """The principal for a correct username and password, else ``None``.

        ``None`` for an unknown or disabled user and a wrong password alike, in about the same
        time (an unknown user is verified against a dummy hash). A hash made with older argon2
        parameters is replaced by one with the current parameters.
        """
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT username, role, password_hash, disabled FROM users WHERE username = ?",
                (username,),
            ).fetchone()
        if row is None:
            self._passwords.verify_nobody(password)
            return None
        if not self._passwords.verify(row["password_hash"], password) or row["disabled"]:
            return None
        if self._passwords.needs_rehash(row["password_hash"]):
            self._rehash(row["username"], row["password_hash"], password)
        role: Role = row["role"]
        return Principal(row["username"], role, ROLE_PERMISSIONS[role], None)

    def _rehash(self, username: str, old_hash: str, password: str) -> None:
        new_hash = self._passwords.hash(password)
        with self._db.transaction() as conn:
            # Only if the password did not change meanwhile.
            conn.execute(
                "UPDATE users SET password_hash = ? WHERE username = ? AND password_hash = ?",
                (new_hash, username, old_hash),
            )
        log.info("password hash of user %s upgraded to the current argon2 parameters", username)

    def bootstrap_admin(self, username: str = "admin") -> str | None:
        """Create the first admin with a generated password and return the password; ``None``
        (and no change) when an admin exists already."""
        check_username(username)
        with self._db.read() as conn:
            if conn.execute("SELECT 1 FROM users WHERE role = 'admin'").fetchone():
                return None
        password = generate_password()
        password_hash = self._passwords.hash(password)
        now = to_db(self._db.now())
        with self._db.transaction() as conn:
            # Checked again under the write lock: two processes may bootstrap at once.
            if conn.execute("SELECT 1 FROM users WHERE role = 'admin'").fetchone():
                return None
            if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
                raise AuthError(
                    f"A user named {username!r} exists but is not an admin.",
                    code="conflict",
                    hint=f"Make it an admin with `insightloop users set-role {username} admin`.",
                )
            conn.execute(
                "INSERT INTO users (username, role, password_hash, disabled, created_at,"
                " password_changed_at) VALUES (?, 'admin', ?, 0, ?, ?)",
                (username, password_hash, now, now),
            )
            self._audit.insert(conn, "system", "user.bootstrap_admin", target=username,
                               details={"role": "admin"})  # fmt: skip
        log.info("first admin %s created", username)
        return password
