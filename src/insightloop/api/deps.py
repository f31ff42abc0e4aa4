"""Dependencies shared by the routers: the workspace, and who is asking with what rights."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from insightloop.api.ratelimit import RateLimiter
from insightloop.auth import AuthStore, Permission, Principal
from insightloop.workspace import Workspace

__all__ = ["WorkspaceDep", "require"]


def _workspace(request: Request) -> Iterator[Workspace]:
    # Opened per request and closed right after: DuckDB lets one process write at a time, and a
    # server that held the file open would lock `insightloop run` out.
    root: Path = request.app.state.workspace_root
    ws = Workspace.open(root, read_only=True)
    try:
        yield ws
    finally:
        ws.close()


WorkspaceDep = Annotated[Workspace, Depends(_workspace)]

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def _principal(request: Request) -> Principal:
    """The user of the request's bearer token (401 without a valid one; 429 when too fast)."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise HTTPException(
            401,
            "This API needs a bearer token: send 'Authorization: Bearer <token>' "
            "(`insightloop tokens create USER` makes one).",
            headers=_CHALLENGE,
        )
    auth: AuthStore = request.app.state.auth
    principal = auth.tokens.verify(secret.strip())
    if principal is None:
        raise HTTPException(
            401, "The token is unknown, expired or revoked, or its user is disabled.",
            headers=_CHALLENGE,
        )  # fmt: skip
    limiter: RateLimiter = request.app.state.token_limiter
    wait = limiter.check(principal.token_id or principal.username)
    if wait:
        raise HTTPException(
            429,
            "Too many requests for this token.",
            headers={"Retry-After": RateLimiter.retry_after(wait)},
        )
    request.state.principal = principal
    return principal


@functools.cache
def require(permission: Permission) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that lets through principals holding ``permission`` (403 otherwise) and
    returns the principal.

    One dependency that does it all, and the same one for the same permission (cached): FastAPI
    resolves each dependency of each request with some ceremony, which on a profile look-up
    costs more than the look-up.
    """

    # A coroutine, not a function: FastAPI runs a plain function dependency in a worker
    # thread, a hop that costs more than the check.
    async def check(request: Request) -> Principal:
        principal = await _principal(request)
        if not principal.can(permission):
            raise HTTPException(
                403,
                f"This needs the permission {permission!r}, which the token does not carry "
                f"(role {principal.role!r}).",
            )
        return principal

    check.__name__ = f"require_{permission.replace(':', '_')}"
    return check
