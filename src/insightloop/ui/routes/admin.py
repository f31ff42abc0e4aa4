"""Administration: users and roles, API tokens, write keys, sources with their last loads, and
the audit log (docs/access-control.md).

Every change goes through :class:`~insightloop.auth.AuthStore` with the signed-in admin as the
actor, so the store writes the audit entry in the same transaction as the change (refusals
too). A secret (a generated password, a token, a write key) is rendered once, in the answer to
the POST that made it, and never travels in a URL. The users, tokens, keys and audit pages read
only ``auth.sqlite``: they keep working while ``insightloop run`` holds the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any, Literal, TypeVar, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from insightloop.auth import (
    MIN_PASSWORD_LENGTH,
    PERMISSIONS,
    ROLE_PERMISSIONS,
    ROLES,
    AuthError,
    Permission,
    Principal,
    Role,
)
from insightloop.config import load_settings
from insightloop.errors import ConfigError
from insightloop.store import WorkspaceLayout
from insightloop.ui.render import render
from insightloop.ui.routes import admin_records
from insightloop.ui.routes.admin_records import auth_store, failure, is_partial
from insightloop.ui.security import SESSION_LABEL, page_user
from insightloop.ui.workspace import PageError

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
router.include_router(admin_records.router)

UsersAdmin = Annotated[Principal, Depends(page_user("users:manage"))]
KeysAdmin = Annotated[Principal, Depends(page_user("keys:manage"))]

_PAGE = 50
#: Counting today's audit entries stops here: the store has no count, and the page stays fast.
_TODAY_CAP = 1_000
_T = TypeVar("_T")


def _back(path: str, **params: str) -> RedirectResponse:
    """Post/redirect/get: back to a list, with a notice code (never a secret) in the query."""
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


def _slice(items: Sequence[_T], page: int, size: int) -> tuple[list[_T], int, int]:
    """The items of ``page`` (from 1; a page past the end is the last one), that page, and the
    number of pages."""
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 1), pages)
    return list(items[(page - 1) * size : page * size]), page, pages


def _shown_once(
    request: Request, user: Principal, *, title: str, label: str, secret: str, **context: Any
) -> HTMLResponse:
    """The page that shows a new secret, once (``render`` sends it with ``no-store``)."""
    return render(
        request, "admin/secret.html", user, title=title, label=label, secret=secret, **context
    )


# -- the landing page --------------------------------------------------------------------------


def _declared_sources(request: Request) -> list[str]:
    """The names of the sources in ``insightloop.toml`` as it is now (read without opening the
    database; the sources page checks the declarations)."""
    layout = WorkspaceLayout(request.app.state.workspace_root)
    try:
        return list(load_settings(layout.config_file).sources)
    except ConfigError as exc:
        raise PageError(409, exc.message, exc.hint or "Fix insightloop.toml.") from None


@router.get("/admin", response_class=HTMLResponse)
def admin_home(request: Request, user: UsersAdmin) -> Response:
    """The landing page: counts of users, tokens, write keys, sources and today's audit entries,
    with links to the pages that manage them."""
    auth = auth_store(request)
    now = datetime.now(UTC)
    users = auth.users.list()
    tokens = [t for t in auth.tokens.list() if t.status(now) == "active"]
    sessions = sum(t.label == SESSION_LABEL for t in tokens)
    midnight = datetime.combine(now.date(), time(), tzinfo=UTC)
    today = len(auth.audit.query(since=midnight, limit=_TODAY_CAP + 1))
    counts = {
        "users": len(users),
        "disabled": sum(u.disabled for u in users),
        "tokens": len(tokens) - sessions,
        "sessions": sessions,
        "write_keys": len(auth.write_keys.list()),
        "sources": len(_declared_sources(request)),
        "audit_today": f"{_TODAY_CAP:,}+" if today > _TODAY_CAP else f"{today:,}",
    }
    return render(
        request, "admin/index.html", user, counts=counts, today=now.date().isoformat(),
        latest=auth.audit.query(limit=10),
    )  # fmt: skip


# -- users -------------------------------------------------------------------------------------


def _users_page(
    request: Request, user: Principal, page: int = 1, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """The users page with its forms; ``context`` adds a notice, an error or the form as it was
    sent."""
    auth = auth_store(request)
    users, page, pages = _slice(auth.users.list(), page, 100)
    # A sign-in opens a session token, so the newest one is the last sign-in.
    last_sign_in: dict[str, datetime] = {}
    for t in auth.tokens.list():
        if t.label == SESSION_LABEL and t.username.lower() not in last_sign_in:
            last_sign_in[t.username.lower()] = t.created_at  # the list is newest first
    matrix = [(p, [p in ROLE_PERMISSIONS[r] for r in ROLES]) for p in PERMISSIONS]
    return render(
        request, "admin/users.html", user, status_code=status_code, users=users, page=page,
        pages=pages, last_sign_in=last_sign_in, roles=ROLES, matrix=matrix,
        min_password=MIN_PASSWORD_LENGTH, **context,
    )  # fmt: skip


_USER_NOTICES = {
    "added": "User {subject} was added with the password you typed.",
    "role": "The role of {subject} was changed; its API tokens keep only the scopes the new "
    "role grants.",
    "disabled": "{subject} is disabled: it cannot sign in, and its sessions and API tokens are "
    "refused (within 2 s on every server process).",
    "enabled": "{subject} is enabled again.",
}


def _notice(notices: Mapping[str, str], done: str | None, subject: str | None) -> str | None:
    if done is None or done not in notices or not subject:
        return None
    return notices[done].format(subject=subject[:64])


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    user: UsersAdmin,
    page: Annotated[int, Query(ge=1)] = 1,
    done: Annotated[str | None, Query(max_length=20)] = None,
    subject: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The users with their roles, the forms that change them, and the role matrix."""
    return _users_page(request, user, page, notice=_notice(_USER_NOTICES, done, subject))


@router.post("/admin/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    user: UsersAdmin,
    username: Annotated[str, Form(max_length=200)],
    role: Annotated[str, Form(max_length=20)],
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Add a user; a generated password is shown once, a typed one leads back to the list."""
    name = username.strip()
    try:
        added, secret = auth_store(request).users.add(
            name, cast(Role, role), password=password or None, actor=user.username
        )
    except AuthError as exc:
        return _users_page(request, user, form={"username": name, "role": role}, **failure(exc))
    if password:
        return _back("/admin/users", done="added", subject=added.username)
    return _shown_once(
        request, user, title=f"User {added.username} added", label="Password", secret=secret,
        subject=added.username, role=added.role, back="/admin/users", kind="password",
    )  # fmt: skip


@router.post("/admin/users/{username}/role", response_class=HTMLResponse)
def set_role(
    request: Request, user: UsersAdmin, username: str, role: Annotated[str, Form(max_length=20)]
) -> Response:
    """Give a user another role (refused for the last enabled admin)."""
    try:
        changed = auth_store(request).users.set_role(
            username, cast(Role, role), actor=user.username
        )
    except AuthError as exc:
        return _users_page(request, user, **failure(exc))
    return _back("/admin/users", done="role", subject=changed.username)


def _switch(request: Request, user: Principal, username: str, disable: bool) -> Response:
    """Disable or enable a user; back to the list, or the list with the store's refusal."""
    users = auth_store(request).users
    try:
        if disable:
            changed = users.disable(username, actor=user.username)
        else:
            changed = users.enable(username, actor=user.username)
    except AuthError as exc:
        return _users_page(request, user, **failure(exc))
    return _back(
        "/admin/users", done="disabled" if disable else "enabled", subject=changed.username
    )


@router.post("/admin/users/{username}/disable", response_class=HTMLResponse)
def disable_user(request: Request, user: UsersAdmin, username: str) -> Response:
    """Disable a user: no sign-in, and its sessions and tokens are refused."""
    return _switch(request, user, username, True)


@router.post("/admin/users/{username}/enable", response_class=HTMLResponse)
def enable_user(request: Request, user: UsersAdmin, username: str) -> Response:
    """Enable a disabled user again."""
    return _switch(request, user, username, False)


@router.post("/admin/users/{username}/password", response_class=HTMLResponse)
def reset_password(request: Request, user: UsersAdmin, username: str) -> Response:
    """Make a new password for a user (shown once); the store revokes its API tokens."""
    auth = auth_store(request)
    try:
        secret = auth.users.reset_password(username, actor=user.username)
    except AuthError as exc:
        return _users_page(request, user, **failure(exc))
    found = auth.users.get(username)
    name = found.username if found else username
    return _shown_once(
        request, user, title=f"New password for {name}", label="Password", secret=secret,
        subject=name, back="/admin/users", kind="password", reset=True,
    )  # fmt: skip


# -- API tokens --------------------------------------------------------------------------------

_TOKEN_KINDS = {
    "all": "API tokens and web sessions",
    "api": "API tokens",
    "session": "web sessions",
}
_TOKEN_STATES = ("active", "expired", "revoked", "all")


def _tokens_page(
    request: Request,
    user: Principal,
    *,
    of: str = "",
    kind: str = "all",
    state: str = "active",
    page: int = 1,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The tokens page (or, for HTMX, its table) with the filters applied."""
    auth = auth_store(request)
    now = datetime.now(UTC)
    shown = [
        t
        for t in auth.tokens.list(of or None)
        if (kind == "all" or (t.label == SESSION_LABEL) == (kind == "session"))
        and (state == "all" or t.status(now) == state)
    ]
    tokens, page, pages = _slice(shown, page, _PAGE)
    filters = {"user": of, "kind": kind, "status": state}
    users = auth.users.list()
    # A token with every permission of its user's role says so instead of listing them.
    whole = {
        t.token_id
        for t in tokens
        for u in users
        if u.username == t.username and frozenset(t.scopes) == ROLE_PERMISSIONS[u.role]
    }
    template = "admin/_tokens_table.html" if is_partial(request) else "admin/tokens.html"
    return render(
        request, template, user, status_code=status_code, tokens=tokens, total=len(shown),
        page=page, pages=pages, filters=filters, query=urlencode(filters), now=now, users=users,
        whole=whole, kinds=_TOKEN_KINDS, states=_TOKEN_STATES, permissions=PERMISSIONS,
        session_label=SESSION_LABEL,
        headers={"Vary": "HX-Request"}, **context,
    )  # fmt: skip


@router.get("/admin/tokens", response_class=HTMLResponse)
def tokens_page(
    request: Request,
    user: KeysAdmin,
    of: Annotated[str, Query(alias="user", max_length=64)] = "",
    kind: Annotated[Literal["all", "api", "session"], Query()] = "all",
    state: Annotated[Literal["active", "expired", "revoked", "all"], Query(alias="status")] = (
        "active"
    ),
    page: Annotated[int, Query(ge=1)] = 1,
    done: Annotated[str | None, Query(max_length=20)] = None,
    subject: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Every user's API tokens and web sessions, filtered by user, kind and status."""
    notice = _notice({"revoked": "API token {subject} was revoked."}, done, subject)
    return _tokens_page(request, user, of=of, kind=kind, state=state, page=page, notice=notice)


@router.post("/admin/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    user: KeysAdmin,
    username: Annotated[str, Form(max_length=64)],
    scopes: Annotated[list[str] | None, Form(max_length=40)] = None,
    expires_days: Annotated[str, Form(max_length=6)] = "90",
    no_expiry: Annotated[bool, Form()] = False,
    label: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Create an API token for a user; its secret is shown once."""
    form = {"username": username, "scopes": scopes or [], "expires_days": expires_days,
            "no_expiry": no_expiry, "label": label}  # fmt: skip
    try:
        if label.strip().lower() == SESSION_LABEL:
            raise AuthError(
                f"The label {SESSION_LABEL!r} is kept for the sessions of the web UI.",
                hint="Name what the token is for, e.g. 'crm sync'.",
            )
        if not no_expiry and not expires_days.strip().isdigit():
            raise AuthError(
                f"The lifetime must be a whole number of days; it is {expires_days[:6]!r}.",
                hint="Give a number of days of at least 1, or tick 'never expires'.",
            )
        expires_in = None if no_expiry else timedelta(days=int(expires_days))
        token, secret = auth_store(request).tokens.create(
            username, scopes=cast(list[Permission], scopes) if scopes else None,
            expires_in=expires_in, label=label.strip() or None, actor=user.username,
        )  # fmt: skip
    except (AuthError, OverflowError) as exc:
        error = exc if isinstance(exc, AuthError) else AuthError("That lifetime is too long.")
        return _tokens_page(request, user, form=form, **failure(error))
    return _shown_once(
        request, user, title=f"API token {token.token_id} for {token.username}", label="Token",
        secret=secret, token=token, back="/admin/tokens", kind="token",
    )  # fmt: skip


@router.post("/admin/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(request: Request, user: KeysAdmin, token_id: str) -> Response:
    """Revoke an API token or a web session."""
    try:
        token = auth_store(request).tokens.revoke(token_id, actor=user.username)
    except AuthError as exc:
        return _tokens_page(request, user, **failure(exc))
    return _back("/admin/tokens", status="all", done="revoked", subject=token.token_id)


# -- write keys --------------------------------------------------------------------------------


def _keys_page(
    request: Request,
    user: Principal,
    *,
    everything: bool = False,
    page: int = 1,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The write keys page with its form; ``context`` adds a notice, an error or the form."""
    every = auth_store(request).write_keys.list(include_revoked=everything)
    known = sorted(set(_declared_sources(request)) | {k.source for k in every})
    keys, page, pages = _slice(every, page, _PAGE)
    return render(
        request, "admin/keys.html", user, status_code=status_code, keys=keys, total=len(every),
        page=page, pages=pages, everything=everything, sources=known, **context,
    )  # fmt: skip


@router.get("/admin/keys", response_class=HTMLResponse)
def keys_page(
    request: Request,
    user: KeysAdmin,
    show: Annotated[Literal["active", "all"], Query()] = "active",
    page: Annotated[int, Query(ge=1)] = 1,
    done: Annotated[str | None, Query(max_length=20)] = None,
    subject: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The write keys (the revoked ones too with ``show=all``)."""
    notice = _notice({"revoked": "Write key {subject} was revoked."}, done, subject)
    return _keys_page(request, user, everything=show == "all", page=page, notice=notice)


@router.post("/admin/keys", response_class=HTMLResponse)
def create_key(
    request: Request,
    user: KeysAdmin,
    source: Annotated[str, Form(max_length=200)],
    label: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Create a write key for a source; its secret is shown once."""
    try:
        key, secret = auth_store(request).write_keys.create(
            source.strip(), label=label.strip() or None, actor=user.username
        )
    except AuthError as exc:
        form = {"source": source, "label": label}
        return _keys_page(request, user, form=form, **failure(exc))
    return _shown_once(
        request, user, title=f"Write key {key.key_id} for {key.source}", label="Write key",
        secret=secret, key=key, back="/admin/keys", kind="write_key",
    )  # fmt: skip


@router.post("/admin/keys/{key_id}/revoke", response_class=HTMLResponse)
def revoke_key(request: Request, user: KeysAdmin, key_id: str) -> Response:
    """Revoke a write key."""
    try:
        key = auth_store(request).write_keys.revoke(key_id, actor=user.username)
    except AuthError as exc:
        return _keys_page(request, user, **failure(exc))
    return _back("/admin/keys", show="all", done="revoked", subject=key.key_id)
