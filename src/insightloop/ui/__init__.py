"""The web UI: server-rendered pages (Jinja2 + HTMX, Plotly charts) behind the sign-in and roles
of :mod:`insightloop.auth`, every asset served by the app itself (no CDN).

:func:`install_ui` adds the pages, the static files and the handlers that turn a missing
session into the sign-in page and a missing permission into a 403 page. docs/dashboard.md
describes the pages.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from insightloop.ui.assets import assets_router, mount_static
from insightloop.ui.render import render
from insightloop.ui.routes import ROUTERS
from insightloop.ui.security import (
    CsrfRejected,
    LoginRequired,
    PageForbidden,
    login_url,
    session_user,
)
from insightloop.ui.workspace import PageError

__all__ = ["install_ui"]


def _login(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = login_url(exc.next_url)
    if request.headers.get("hx-request"):
        # An HTMX request follows no redirect of the page; this header makes it navigate.
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _forbidden(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, PageForbidden)
    return render(
        request, "error.html", session_user(request), status_code=403, title="Not allowed",
        message=f"This page needs the permission {exc.permission!r}, which the role "
        f"{exc.role!r} does not have.",
        hint="Ask an admin for a role that has it (docs/access-control.md lists the roles).",
    )  # fmt: skip


def _csrf(request: Request, exc: Exception) -> HTMLResponse:
    return render(
        request, "error.html", session_user(request), status_code=403, title="Form expired",
        message="The form was sent without the token of your session (it is older than the "
        "session, or came from another site).",
        hint="Reload the page and send the form again.",
    )  # fmt: skip


def _page_error(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, PageError)
    titles = {404: "Not found", 409: "Not possible now", 422: "Check the input", 503: "Busy"}
    return render(
        request, "error.html", session_user(request), status_code=exc.status,
        title=titles.get(exc.status, "Something went wrong"), message=exc.message, hint=exc.hint,
    )  # fmt: skip


def _is_page(request: Request) -> bool:
    """Whether the request is for a page of the UI (not the API, nor collection)."""
    path = request.url.path
    return not path.startswith(("/api/", "/v1/", "/openapi"))


def _invalid_input(api_handler: Callable[[Request, Exception], Any]) -> Callable[..., Any]:
    """Bad query or form input of a page is a 422 page; of the API, the API's JSON envelope."""

    async def handle(request: Request, exc: Exception) -> Response:
        if not _is_page(request):
            answer = api_handler(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'input'}: {e['msg']}" for e in exc.errors()
        )
        return render(
            request, "error.html", session_user(request), status_code=422,
            title="Check the input", message=f"The address holds a value the page cannot use "
            f"({problems}).", hint="Go back and change it, or start again from the menu.",
        )  # fmt: skip

    return handle


def install_ui(app: FastAPI) -> None:
    """Add the web UI to ``app`` (the API's application, after its error handlers)."""
    app.include_router(assets_router)
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(LoginRequired, _login)
    app.add_exception_handler(PageForbidden, _forbidden)
    app.add_exception_handler(CsrfRejected, _csrf)
    app.add_exception_handler(PageError, _page_error)
    api_handler = app.exception_handlers.get(RequestValidationError)
    if api_handler is not None:
        app.add_exception_handler(RequestValidationError, _invalid_input(api_handler))
    mount_static(app)
