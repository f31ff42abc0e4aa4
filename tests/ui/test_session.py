"""Signing in and out of the web UI, the session cookie, CSRF, and what every page needs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastapi.routing
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from insightloop.auth import ROLES, AuthStore
from insightloop.ui.assets import HTMX_SHA256, STATIC_DIR
from insightloop.ui.security import COOKIE, safe_next
from tests.ui.conftest import make_app, shot


def _ui_routes(app: Any) -> list[tuple[str, str]]:
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    if iterate is not None:
        found = [(c.original_route, c.path_format) for c in iterate(app.routes)]
    else:
        found = [(r, getattr(r, "path_format", None)) for r in app.routes]
    return sorted(
        (method, str(path))
        for route, path in found
        if isinstance(route, APIRoute) and route.endpoint.__module__.startswith("insightloop.ui")
        for method in route.methods
    )


def test_every_page_needs_a_session(demo_root: Path) -> None:
    open_to_all = {
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/assets/plotly-{version}.min.js"),
    }
    with TestClient(make_app(demo_root)) as client:
        routes = _ui_routes(client.app)
        assert ("GET", "/") in routes
        for method, path in routes:
            if (method, path) in open_to_all:
                continue
            url = path.replace("{", "x").replace("}", "")
            r = client.request(method, url, follow_redirects=False)
            assert r.status_code == 303, (method, path, r.status_code)
            assert r.headers["location"].startswith("/login"), (method, path)


def test_signing_in_out_and_the_cookie(demo_root: Path, passwords: dict[str, str]) -> None:
    with TestClient(make_app(demo_root)) as client:
        r = client.get("/status", follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/login?next=/status")
        r = client.post("/login", data={"username": "ui-agent", "password": "wrong", "next": "/"})
        assert r.status_code == 401
        assert "Wrong user name or password" in r.text
        r = client.post(
            "/login",
            data={"username": "ui-agent", "password": passwords["agent"], "next": "/status"},
            follow_redirects=False,
        )
        assert (r.status_code, r.headers["location"]) == (303, "/status")
        cookie = r.headers["set-cookie"]
        assert COOKIE in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        page = client.get("/status")
        assert page.status_code == 200
        assert "ui-agent" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        # Signing out needs the session's CSRF token; afterwards the cookie is worthless.
        assert client.post("/logout", follow_redirects=False).status_code == 403
        token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
        secret = client.cookies[COOKIE]
        r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/login")
    auth = AuthStore.for_workspace(demo_root)
    assert auth.tokens.verify(secret) is None
    actions = [(e.actor, e.action, e.outcome) for e in auth.audit.query(actor="ui-agent")]
    assert ("ui-agent", "session.start", "ok") in actions
    assert ("ui-agent", "session.start", "refused") in actions
    assert ("ui-agent", "session.end", "ok") in actions


def test_a_disabled_user_loses_the_session(demo_root: Path, passwords: dict[str, str]) -> None:
    auth = AuthStore.for_workspace(demo_root)
    auth.users.add("ui-leaver", "viewer", password="a-long-enough-password", actor="test")
    with TestClient(make_app(demo_root)) as client:
        client.post("/login", data={"username": "ui-leaver", "password": "a-long-enough-password"})
        assert client.get("/status").status_code == 200
        auth.users.disable("ui-leaver", actor="test")
        auth.tokens.forget()
        client.app.state.auth.tokens.forget()
        assert client.get("/status", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/segments", "/segments"), ("//evil.example", "/"), ("https://evil.example", "/"),
     ("/\\evil", "/"), ("", "/"), (None, "/")],
)  # fmt: skip
def test_sign_in_only_returns_to_this_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_the_vendored_htmx_is_the_published_file() -> None:
    data = (STATIC_DIR / "vendor" / "htmx" / "htmx.min.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == HTMX_SHA256


@pytest.mark.parametrize("role", ROLES)
def test_the_navigation_shows_what_the_role_may_open(
    client_as: Callable[[str], TestClient], role: str
) -> None:
    html = client_as(role).get("/status").text
    assert ('href="/admin"' in html) == (role == "admin")
    assert ('href="/identity"' in html) == (role in ("admin", "analyst"))
    assert 'href="/customers"' in html


def test_signing_in_with_a_browser(page_as: Callable[[str], Any]) -> None:
    page = page_as("viewer")
    page.goto("/status")
    assert page.locator("#whoami").inner_text().startswith("ui-viewer")
    shot(page, "status-viewer")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    shot(page, "login")


def test_bad_input_is_a_page_for_pages_and_the_envelope_for_the_api(
    client_as: Callable[[str], TestClient],
) -> None:
    client = client_as("admin")
    r = client.get("/customers", params={"q": "anna", "offset": "many"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("text/html")
    assert "Check the input" in r.text
    api = client.get("/api/v1/runs", params={"limit": "many"})
    assert api.status_code in (401, 422)
    assert api.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("role", ROLES)
def test_every_role_signs_in_with_a_browser_and_lands_on_the_overview(
    page_as: Callable[[str], Any], role: str
) -> None:
    page = page_as(role)  # signs in through the form
    assert page.url.endswith("/")
    page.locator("#chart-revenue .main-svg").first.wait_for()
    links = page.get_by_role("navigation", name="Sections").get_by_role("link").all_inner_texts()
    assert links[:3] == ["Overview", "Customers", "Segments"]
    assert ("Administration" in links) == (role == "admin")
    assert ("Identity" in links) == (role in ("admin", "analyst"))
    shot(page, f"overview-{role}")
