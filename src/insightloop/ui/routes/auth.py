"""Signing in and out, and the workspace status page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from insightloop.auth import AuthStore, Principal
from insightloop.ui.render import render
from insightloop.ui.security import (
    COOKIE,
    SESSION_LIFETIME,
    end_session,
    page_user,
    safe_next,
    session_user,
    start_session,
)
from insightloop.ui.workspace import open_workspace

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    if session_user(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", None, next=safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    auth: AuthStore = request.app.state.auth
    opened = start_session(auth, username.strip(), password)
    if opened is None:
        # Only a user name that exists is recorded: people type passwords into the wrong field.
        name = username.strip()
        known = auth.users.get(name) is not None if 0 < len(name) <= 64 else False
        auth.audit.record(
            name if known else "-", "session.start", target=name if known else None,
            outcome="refused",
        )  # fmt: skip
        return render(
            request, "login.html", None, status_code=401, next=safe_next(next),
            username=username, error="Wrong user name or password, or the user is disabled.",
        )  # fmt: skip
    principal, secret = opened
    auth.audit.record(principal.username, "session.start", target=principal.username)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        secret,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, user: Annotated[Principal, Depends(page_user())]) -> Response:
    auth: AuthStore = request.app.state.auth
    end_session(auth, user)
    auth.audit.record(user.username, "session.end", target=user.username)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/status", response_class=HTMLResponse)
def status_page(
    request: Request, user: Annotated[Principal, Depends(page_user("status:read"))]
) -> Response:
    with open_workspace(request) as ws:
        status, runs = ws.status(), ws.runs(10)
    layers = [
        (title, [t for t in status.tables if t.layer == layer])
        for layer, title in (
            ("source", "Source-level data"),
            ("unified", "Unified customer data"),
            ("system", "System"),
        )
    ]
    return render(
        request, "status.html", user, status=status, layers=layers, runs=runs,
        last_run=status.last_run,
    )  # fmt: skip
