"""``AuthStore``: the one entry point to users, API tokens, write keys and the audit log of a
workspace, kept in ``<workspace>/auth.sqlite``."""

from __future__ import annotations

from pathlib import Path

from argon2 import PasswordHasher

from insightloop.auth.audit import AuditLog
from insightloop.auth.database import AuthDatabase, Clock
from insightloop.auth.passwords import Passwords
from insightloop.auth.tokens import Tokens
from insightloop.auth.users import Users
from insightloop.auth.write_keys import WriteKeys
from insightloop.store import WorkspaceLayout

__all__ = ["AuthStore"]


class AuthStore:
    """Users with roles, API tokens, write keys and the audit log of one workspace.

    Cheap to construct (it only makes sure the file and its schema exist); every operation opens
    its own short SQLite connection, so one store may be shared by threads, and each server
    process makes its own.

    Parameters
    ----------
    path
        The SQLite file; created with its schema when missing. Its folder must exist.
    hasher
        The argon2 password hasher; default ``PasswordHasher()`` (argon2-cffi's secure
        defaults). Tests pass cheap parameters.
    clock
        Returns the current UTC time; default the system clock. Tests pass their own to expire
        tokens.
    token_cache_seconds, write_key_cache_seconds
        How long verification results are reused in memory (2 s and 1 s): the longest delay
        before a revocation takes effect in another process. Tests pass 0.

    Attributes
    ----------
    users : Users
    tokens : Tokens
    write_keys : WriteKeys
    audit : AuditLog

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from argon2 import PasswordHasher
    >>> fast = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    >>> store = AuthStore(pathlib.Path(tempfile.mkdtemp()) / "auth.sqlite", hasher=fast)
    >>> user, password = store.users.add("ann", "analyst", actor="cli:root")
    >>> store.users.authenticate("ann", password).can("pipeline:run")
    True
    >>> token, secret = store.tokens.create("ann", scopes=["profiles:read"], actor="cli:root")
    >>> store.tokens.verify(secret).permissions
    frozenset({'profiles:read'})
    >>> [e.action for e in store.audit.query()]
    ['token.create', 'user.add']
    """

    def __init__(
        self,
        path: Path,
        *,
        hasher: PasswordHasher | None = None,
        clock: Clock | None = None,
        token_cache_seconds: float = 2.0,
        write_key_cache_seconds: float = 1.0,
    ) -> None:
        self.path = Path(path)
        self._db = AuthDatabase(self.path, clock=clock)
        self.audit = AuditLog(self._db)
        self.tokens = Tokens(self._db, self.audit, cache_seconds=token_cache_seconds)
        self.users = Users(self._db, self.audit, Passwords(hasher), on_revoke=self.tokens.forget)
        self.write_keys = WriteKeys(self._db, self.audit, cache_seconds=write_key_cache_seconds)

    @classmethod
    def for_workspace(
        cls,
        root: Path,
        *,
        hasher: PasswordHasher | None = None,
        clock: Clock | None = None,
        token_cache_seconds: float = 2.0,
        write_key_cache_seconds: float = 1.0,
    ) -> AuthStore:
        """The store of the workspace at ``root``: ``root / "auth.sqlite"``
        (:attr:`WorkspaceLayout.auth_file <insightloop.store.WorkspaceLayout.auth_file>`)."""
        return cls(
            WorkspaceLayout(Path(root)).auth_file,
            hasher=hasher,
            clock=clock,
            token_cache_seconds=token_cache_seconds,
            write_key_cache_seconds=write_key_cache_seconds,
        )

    @property
    def schema_version(self) -> int:
        """The schema version of the file (``PRAGMA user_version``)."""
        return self._db.schema_version()

    def bootstrap_admin(self, username: str = "admin") -> str | None:
        """Create the first admin with a generated password and return the password, to be
        shown once; ``None`` (and no change) when an admin exists already.

        Audited as ``user.bootstrap_admin`` by ``system``.
        """
        return self.users.bootstrap_admin(username)

    def __repr__(self) -> str:
        return f"AuthStore({str(self.path)!r})"
