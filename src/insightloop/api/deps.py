"""Dependencies shared by the routers: the workspace, and who is asking with what rights."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from insightloop.api.ratelimit import RateLimiter
from insightloop.auth import AuthStore, Permission, Principal
from insightloop.workspace import Workspace

__all__ = ["WorkspaceDep", "documented_body", "json_body", "require"]


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
    check.permission = permission  # type: ignore[attr-defined]  # for the OpenAPI security
    return check


_Body = TypeVar("_Body", bound=BaseModel)


def json_body(
    model: type[_Body], permission: Permission
) -> Callable[[Request, Principal], Awaitable[_Body]]:
    """A dependency that reads the JSON body as ``model`` after the permission check.

    FastAPI parses a declared body before any dependency runs, so a caller without rights would
    learn how a body is judged before being refused; with this, 401/403 come first. Bad JSON or
    fields are the central 422 envelope, located under ``body``. Document the body with
    :func:`documented_body`.
    """

    guard = Depends(require(permission))

    async def parse(request: Request, principal: Principal = guard) -> Any:
        raw = await request.body()
        try:
            return model.model_validate_json(raw or b"null")
        except ValidationError as exc:
            errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            raise RequestValidationError(errors) from None

    return parse


def documented_body(model: type[BaseModel], *, component: str | None = None) -> dict[str, Any]:
    """``openapi_extra`` for a route whose body :func:`json_body` reads: the model's schema, or
    a reference to ``component`` of the document (for a model that nests others, which a
    response of the app already puts among the components)."""
    if component is not None:
        schema: dict[str, Any] = {"$ref": f"#/components/schemas/{component}"}
    else:
        schema = model.model_json_schema()
        if "$defs" in schema:
            raise ValueError(f"{model.__name__} nests models: name its component")
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}
