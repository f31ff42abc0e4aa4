"""The records of the auth store: users, signed-in principals, API tokens, write keys and audit
entries. None of them carries a password hash or a secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from insightloop.auth.roles import PERMISSIONS, Permission, Role

__all__ = ["ApiToken", "AuditEntry", "Principal", "User", "WriteKey"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class User:
    """A person who signs in to the server.

    Attributes
    ----------
    username
        Unique, compared without regard to case.
    role
        What the user may do; see :data:`insightloop.auth.ROLE_PERMISSIONS`.
    disabled
        A disabled user cannot sign in and none of its tokens verifies.
    created_at, password_changed_at
        UTC times.
    """

    username: str
    role: Role
    disabled: bool
    created_at: datetime
    password_changed_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": self.role,
            "disabled": self.disabled,
            "created_at": _iso(self.created_at),
            "password_changed_at": _iso(self.password_changed_at),
        }


@dataclass(frozen=True)
class Principal:
    """Who makes a request, and what they may do in it.

    Attributes
    ----------
    username, role
        The signed-in user and its current role.
    permissions
        The role's permissions; for a token, those of its scopes that the role still grants.
    token_id
        The API token the request came with; ``None`` for a password sign-in.

    Examples
    --------
    >>> p = Principal("ann", "agent", frozenset({"profiles:read", "pii:read"}), None)
    >>> p.can("pii:read"), p.can("users:manage")
    (True, False)
    """

    username: str
    role: Role
    permissions: frozenset[Permission]
    token_id: str | None = None

    def can(self, permission: Permission) -> bool:
        """Whether the principal holds ``permission``."""
        return permission in self.permissions

    def to_dict(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "role": self.role,
            "permissions": [p for p in PERMISSIONS if p in self.permissions],
            "token_id": self.token_id,
        }


@dataclass(frozen=True)
class ApiToken:
    """A bearer token of the insight API (the secret itself is shown once, at creation).

    Attributes
    ----------
    token_id
        Public id; the secret embeds it (``il_tok_<token_id>_...``).
    scopes
        The permissions the token carries, a subset of its user's role.
    expires_at, revoked_at, last_used_at
        UTC times, or ``None`` (never expires, not revoked, not used yet). ``last_used_at`` is
        refreshed at most once a minute.
    """

    token_id: str
    username: str
    scopes: tuple[Permission, ...]
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = None

    def status(self, now: datetime) -> str:
        """``revoked``, ``expired`` or ``active`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def to_dict(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "username": self.username,
            "scopes": list(self.scopes),
            "label": self.label,
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "revoked_at": _iso(self.revoked_at),
            "last_used_at": _iso(self.last_used_at),
        }


@dataclass(frozen=True)
class WriteKey:
    """The key one source sends events to the collection API with.

    Attributes
    ----------
    key_id
        Public id, used to revoke the key.
    source
        The source whose events the key admits.
    prefix
        The first 10 characters of the secret, to recognise a key in an SDK's configuration.
    """

    key_id: str
    source: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None
    prefix: str

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "source": self.source,
            "label": self.label,
            "created_at": _iso(self.created_at),
            "revoked_at": _iso(self.revoked_at),
            "prefix": self.prefix,
        }


@dataclass(frozen=True)
class AuditEntry:
    """One row of the append-only audit log.

    Attributes
    ----------
    entry_id
        Increasing number; later entries have larger ids.
    at
        UTC time of the action.
    actor
        Who acted: a username, ``cli:<os user>``, or ``system``.
    action
        What was done, e.g. ``user.add`` or ``profile.read``.
    target
        What it was done to (a username, token id, key id, customer id), if anything.
    details
        Further facts as JSON; never personal data or secrets.
    outcome
        ``ok``, or e.g. ``refused`` when the action was not allowed or not possible.
    """

    entry_id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    details: dict[str, Any] = field(default_factory=dict)
    outcome: str = "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry_id,
            "at": _iso(self.at),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "details": self.details,
            "outcome": self.outcome,
        }
