"""Signing in to the web UI: session cookies, the CSRF token, and who may open which page.

A session is an API token of the signed-in user (label ``web session``, 12 hours), kept in an
HttpOnly, SameSite=Lax cookie: it expires, can be revoked like any token (`insightloop tokens
revoke`), and is refused as soon as its user is disabled. Changes (POST) also need the CSRF token
of the session, sent by the page's forms and HTMX requests; it is derived from the session's
secret, so it needs no storage and changes with every session.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import quote, urlsplit

from fastapi import Request

from insightloop.auth import AuthStore, Permission, Principal

__all__ = [
    "COOKIE",
    "SESSION_LIFETIME",
    "LoginRequired",
    "PageForbidden",
    "csrf_token",
    "end_session",
    "login_url",
    "page_user",
    "safe_next",
    "session_user",
    "start_session",
]

COOKIE = "insightloop_session"
SESSION_LIFETIME = timedelta(hours=12)
SESSION_LABEL = "web session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """The request has no valid session: the handler sends the browser to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PageForbidden(Exception):
    """The signed-in user's role lacks the permission the page needs (a 403 page)."""

    def __init__(self, permission: Permission, role: str) -> None:
        super().__init__(permission)
        self.permission = permission
        self.role = role


class CsrfRejected(Exception):
    """A change without the session's CSRF token (a 403 page)."""


def csrf_token(secret: str) -> str:
    """The CSRF token of the session whose cookie holds ``secret``."""
    return hmac.new(secret.encode(), b"insightloop-csrf", hashlib.sha256).hexdigest()[:40]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def start_session(auth: AuthStore, username: str, password: str) -> tuple[Principal, str] | None:
    """Check the password and open a session; the cookie's secret with the user, or ``None``."""
    principal = auth.users.authenticate(username, password)
    if principal is None:
        return None
    _, secret = auth.tokens.create(
        principal.username, expires_in=SESSION_LIFETIME, label=SESSION_LABEL,
        actor=principal.username,
    )  # fmt: skip
    return principal, secret


def end_session(auth: AuthStore, principal: Principal) -> None:
    """Revoke the session's token (signing out)."""
    if principal.token_id is not None:
        auth.tokens.revoke(principal.token_id, actor=principal.username)
        auth.tokens.forget()


def session_user(request: Request) -> Principal | None:
    """The user of the request's session cookie, or ``None``."""
    secret = request.cookies.get(COOKIE)
    if not secret:
        return None
    auth: AuthStore = request.app.state.auth
    principal = auth.tokens.verify(secret)
    if principal is not None:
        request.state.csrf = csrf_token(secret)
        request.state.principal = principal
    return principal


async def _check_csrf(request: Request) -> None:
    expected = getattr(request.state, "csrf", None)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # Starlette keeps it for the route's Form parameters
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise CsrfRejected()


@functools.cache
def page_user(
    permission: Permission = "profiles:read",
) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the signed-in user holding ``permission``.

    Without a session the browser is sent to the sign-in page (and back afterwards); without the
    permission the answer is a 403 page. A change (any method but GET and HEAD) also needs the
    session's CSRF token.
    """

    async def check(request: Request) -> Principal:
        principal = session_user(request)
        if principal is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            if request.method not in ("GET", "HEAD"):
                target = urlsplit(request.headers.get("hx-current-url") or "/").path or "/"
            raise LoginRequired(target)
        if not principal.can(permission):
            raise PageForbidden(permission, principal.role)
        if request.method not in ("GET", "HEAD"):
            await _check_csrf(request)
        return principal

    check.__name__ = f"page_user_{permission.replace(':', '_')}"
    return check


def login_url(next_url: str) -> str:
    return f"/login?next={quote(safe_next(next_url), safe='/')}"
