"""The OpenAPI document's security: which credentials each operation takes, and which right.

FastAPI documents a security scheme only for its own security classes; the API checks its bearer
tokens and write keys in one lighter dependency (:func:`insightloop.api.deps.require`) and in the
collection handler. This module adds what those checks ask for to the document, from the routes
themselves, so that it cannot drift from them:

- ``bearerToken`` on every operation guarded by :func:`~insightloop.api.deps.require`, with the
  permission it needs as ``x-permission`` (and in the description);
- ``writeKey`` (HTTP basic, the key as the user name) on the collection API;
- no security at all (``security: []``) on the public liveness probe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.routing import APIRoute

__all__ = ["BEARER", "WRITE_KEY", "install_security_schemes"]

BEARER = "bearerToken"
WRITE_KEY = "writeKey"
#: The tag of the operations that take a source's write key.
COLLECTION_TAG = "collection"

SCHEMES: dict[str, dict[str, Any]] = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token: `Authorization: Bearer <token>`. "
        "`insightloop tokens create USER [--scope PERMISSION ...]` makes one; each operation "
        "needs the permission named in its `x-permission`, which the token's scopes (or its "
        "user's role) must include.",
    },
    WRITE_KEY: {
        "type": "http",
        "scheme": "basic",
        "description": "A source's write key as the user name of HTTP basic auth, with an "
        "empty password, as the Segment and RudderStack SDKs send it (or as `writeKey` in the "
        "body). `insightloop keys create SOURCE` makes one.",
    },
}


def _routes(app: FastAPI) -> Iterator[tuple[APIRoute, Any, str]]:
    """``(route, dependant, path)`` of every documented API route, included routers' too."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    if iterate is None:  # FastAPI before 0.165 lists the routes themselves
        for route in app.routes:
            if isinstance(route, APIRoute) and route.include_in_schema:
                yield route, route.dependant, route.path_format
        return
    for context in iterate(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema:
            # The context's dependant includes the dependencies of the router it came from.
            yield route, context.dependant, str(context.path_format)


def _permission(dependant: Any) -> str | None:
    """The permission a :func:`~insightloop.api.deps.require` check in the tree asks for."""
    stack = [dependant]
    while stack:
        node = stack.pop()
        permission = getattr(node.call, "permission", None)
        if permission:
            return str(permission)
        stack.extend(node.dependencies)
    return None


def _secure(operation: dict[str, Any], route: APIRoute, permission: str | None) -> None:
    if permission is not None:
        operation["security"] = [{BEARER: []}]
        operation["x-permission"] = permission
        note = f"Needs a bearer token with the permission `{permission}`."
        operation["description"] = f"{operation.get('description', '').rstrip()}\n\n{note}".strip()
    elif COLLECTION_TAG in route.tags:
        operation["security"] = [{WRITE_KEY: []}]
    else:
        operation["security"] = []


def install_security_schemes(app: FastAPI) -> None:
    """Make ``app.openapi()`` document the credentials and permission of every operation."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()  # FastAPI's document, cached on the app: completed in place
        document.setdefault("components", {})["securitySchemes"] = SCHEMES
        paths = document.get("paths", {})
        for route, dependant, path in _routes(app):
            for method in route.methods or ():
                operation = paths.get(path, {}).get(method.lower())
                if operation is not None:
                    _secure(operation, route, _permission(dependant))
        return document

    app.openapi = openapi  # type: ignore[method-assign]
