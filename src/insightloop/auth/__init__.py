"""Access control: users with roles, bearer API tokens, write keys of sources, the audit log.

Everything lives in ``<workspace>/auth.sqlite`` (SQLite in WAL mode, so the server's processes
can write audit rows while ``insightloop run`` holds the DuckDB database). Passwords are hashed
with argon2id, tokens and write keys stored as SHA-256 hashes; secrets are returned once, at
creation, and never logged. See docs/access-control.md.

The permission matrix is documented in :mod:`insightloop.auth.roles`.
"""

from __future__ import annotations

from insightloop.auth.audit import AuditLog
from insightloop.auth.audit_writer import AuditWriter
from insightloop.auth.errors import AuthError
from insightloop.auth.models import ApiToken, AuditEntry, Principal, User, WriteKey
from insightloop.auth.passwords import MIN_PASSWORD_LENGTH, generate_password
from insightloop.auth.roles import PERMISSIONS, ROLE_PERMISSIONS, ROLES, Permission, Role
from insightloop.auth.store import AuthStore
from insightloop.auth.tokens import TOKEN_PREFIX, Tokens
from insightloop.auth.users import Users
from insightloop.auth.write_keys import WRITE_KEY_PREFIX, WriteKeys

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "PERMISSIONS",
    "ROLES",
    "ROLE_PERMISSIONS",
    "TOKEN_PREFIX",
    "WRITE_KEY_PREFIX",
    "ApiToken",
    "AuditEntry",
    "AuditLog",
    "AuditWriter",
    "AuthError",
    "AuthStore",
    "Permission",
    "Principal",
    "Role",
    "Tokens",
    "User",
    "Users",
    "WriteKey",
    "WriteKeys",
    "generate_password",
]
