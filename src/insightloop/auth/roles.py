"""Roles and the permissions each one grants.

Five roles, nine permissions, one fixed matrix (``✓`` = granted):

=================== ===== ======= ======== ===== ======
permission          admin analyst marketer agent viewer
=================== ===== ======= ======== ===== ======
``profiles:read``   ✓     ✓       ✓        ✓     ✓
``pii:read``        ✓                      ✓
``status:read``     ✓     ✓       ✓        ✓     ✓
``identity:decide`` ✓     ✓
``segments:write``  ✓     ✓       ✓
``pipeline:run``    ✓     ✓
``users:manage``    ✓
``keys:manage``     ✓
``audit:read``      ✓
=================== ===== ======= ======== ===== ======

``pii:read`` shows personal data unmasked: names, contact details, addresses and free text. Every
other role sees profiles with those fields masked. ``identity:decide`` covers merge, unmerge,
accept and reject; ``keys:manage`` covers API tokens of other users and the write keys of sources.

Examples
--------
>>> sorted(ROLE_PERMISSIONS["agent"])
['pii:read', 'profiles:read', 'status:read']
>>> "pii:read" in ROLE_PERMISSIONS["analyst"]
False
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Literal, cast, get_args

from insightloop.auth.errors import AuthError

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "ROLE_PERMISSIONS",
    "Permission",
    "Role",
    "check_permissions",
    "check_role",
]

Role = Literal["admin", "analyst", "marketer", "agent", "viewer"]
Permission = Literal[
    "profiles:read",
    "pii:read",
    "status:read",
    "identity:decide",
    "segments:write",
    "pipeline:run",
    "users:manage",
    "keys:manage",
    "audit:read",
]

#: Every role, from most to least privileged.
ROLES: tuple[Role, ...] = get_args(Role)
#: Every permission, in the order of the matrix above.
PERMISSIONS: tuple[Permission, ...] = get_args(Permission)

_GRANTS: dict[Permission, tuple[Role, ...]] = {
    "profiles:read": ROLES,
    "pii:read": ("admin", "agent"),
    "status:read": ROLES,
    "identity:decide": ("admin", "analyst"),
    "segments:write": ("admin", "analyst", "marketer"),
    "pipeline:run": ("admin", "analyst"),
    "users:manage": ("admin",),
    "keys:manage": ("admin",),
    "audit:read": ("admin",),
}

#: The permissions of each role (read-only).
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {role: frozenset(p for p in PERMISSIONS if role in _GRANTS[p]) for role in ROLES}
)


def check_role(role: str) -> Role:
    """Return ``role`` as a :data:`Role`, or raise an :class:`AuthError` listing the roles."""
    if role not in ROLES:
        raise AuthError(
            f"Unknown role {role!r}.",
            code="invalid_request",
            hint=f"Use one of: {', '.join(ROLES)}.",
        )
    return role


def check_permissions(permissions: Iterable[str]) -> frozenset[Permission]:
    """Return the permissions as a set, or raise an :class:`AuthError` naming the unknown ones."""
    given = list(permissions)
    unknown = sorted({p for p in given if p not in PERMISSIONS})
    if unknown:
        raise AuthError(
            f"Unknown permission(s): {', '.join(unknown)}.",
            code="invalid_request",
            hint=f"Use any of: {', '.join(PERMISSIONS)}.",
        )
    return frozenset(cast(Permission, p) for p in given)
