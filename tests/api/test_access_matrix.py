"""Who may call what: every API route of the app against the permission matrix, with every role,
with tokens of a single scope and without a token; personal data shown only with ``pii:read``; and
every unmasked read in the audit log, without personal data in it.

The routes are discovered from the app, so a new route fails test_every_route_is_classified
until :data:`ROUTES` says what it needs.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from insightloop import Workspace
from insightloop.analytics.segments import parse_condition, save_segment
from insightloop.api import create_app
from insightloop.api.ratelimit import RateLimiter
from insightloop.auth import (
    PERMISSIONS,
    ROLE_PERMISSIONS,
    ROLES,
    AuditEntry,
    AuthStore,
    Permission,
    Role,
)
from tests.api.profile_fixtures import (
    CUSTOMER_ID,
    FAST,
    PERSONAL,
    Credentials,
    build_profile_workspace,
    make_credentials,
)

Access = Permission | Literal["public", "write key"]
#: The TestClient's response (httpx2's, or httpx's with an older Starlette).
Response = Any


@dataclass(frozen=True)
class Rule:
    """What a route needs, and a request it answers with ``ok`` when the caller may call it
    (``method`` defaults to GET without a body and to POST with one)."""

    access: Access
    url: str
    body: dict[str, Any] | None = None
    method: str | None = None
    ok: int = 200


_MESSAGE = {"userId": "u-7", "messageId": "m-access", "timestamp": "2024-03-01T10:00:00Z"}
#: A segment saved in the workspace before the tests.
SEGMENT = "big-spenders"
_SEGMENT_RULE = {"attribute": "revenue", "op": "ge", "value": 100}

#: Every API route of the app by (method, path template).
ROUTES: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): Rule("public", "/healthz"),
    ("GET", "/api/v1/status"): Rule("status:read", "/api/v1/status"),
    ("GET", "/api/v1/runs"): Rule("status:read", "/api/v1/runs?limit=1"),
    ("GET", "/api/v1/profiles/{customer_id}"): Rule(
        "profiles:read", f"/api/v1/profiles/{CUSTOMER_ID}"
    ),
    ("GET", "/api/v1/profiles/by/{identifier_type}/{value}"): Rule(
        "profiles:read", "/api/v1/profiles/by/customer_key/CRM-7"
    ),
    ("GET", "/api/v1/customers"): Rule("profiles:read", "/api/v1/customers?q=CRM-7"),
    ("POST", "/v1/batch"): Rule(
        "write key", "/v1/batch", {"batch": [{**_MESSAGE, "type": "track", "event": "Seen"}]}
    ),
    ("POST", "/v1/track"): Rule("write key", "/v1/track", {**_MESSAGE, "event": "Seen"}),
    ("POST", "/v1/page"): Rule("write key", "/v1/page", {**_MESSAGE, "name": "Home"}),
    ("POST", "/v1/screen"): Rule("write key", "/v1/screen", {**_MESSAGE, "name": "Home"}),
    ("POST", "/v1/identify"): Rule("write key", "/v1/identify", _MESSAGE),
    ("POST", "/v1/group"): Rule("write key", "/v1/group", {**_MESSAGE, "groupId": "g-1"}),
    ("POST", "/v1/alias"): Rule("write key", "/v1/alias", {**_MESSAGE, "previousId": "a-7"}),
    ("POST", "/api/v1/query"): Rule("profiles:read", "/api/v1/query", {"measures": ["customers"]}),
    ("GET", "/api/v1/query/catalogue"): Rule("profiles:read", "/api/v1/query/catalogue"),
    ("GET", "/api/v1/segments"): Rule("profiles:read", "/api/v1/segments"),
    ("GET", "/api/v1/segments/{name}"): Rule("profiles:read", f"/api/v1/segments/{SEGMENT}"),
    ("GET", "/api/v1/segments/{name}/members"): Rule(
        "profiles:read", f"/api/v1/segments/{SEGMENT}/members"
    ),
    ("POST", "/api/v1/segments/preview"): Rule(
        "segments:write", "/api/v1/segments/preview", {"definition": _SEGMENT_RULE}
    ),
    # Writes that leave the workspace as it was, so every role and scope can try them in turn:
    # a definition the data refuses (after the permission check), the saved definition again,
    # and a segment that does not exist.
    ("POST", "/api/v1/segments"): Rule(
        "segments:write",
        "/api/v1/segments",
        {
            "name": "never-saved",
            "definition": {"attribute": "no_such_attribute", "op": "eq", "value": 1},
        },
        ok=422,
    ),
    ("PUT", "/api/v1/segments/{name}"): Rule(
        "segments:write", f"/api/v1/segments/{SEGMENT}", {"definition": _SEGMENT_RULE}, "PUT"
    ),
    ("DELETE", "/api/v1/segments/{name}"): Rule(
        "segments:write", "/api/v1/segments/never-saved", method="DELETE", ok=404
    ),
}

#: Personal data of the customer, each as found in an unmasked answer, plus the parts of it
#: that must not survive masking either (searched for in lower case).
PROBES = sorted(
    {v.lower() for v in PERSONAL.values()}
    | {
        PERSONAL["first_name"].lower(),
        PERSONAL["last_name"].lower(),
        PERSONAL["email"].partition("@")[0],  # the domain is kept on purpose
        PERSONAL["phone"][3:],  # the country calling code is kept on purpose
        PERSONAL["street"].split()[0].lower(),
        "door code",
        "courier",
    }
)
PROFILE_URLS = [
    f"/api/v1/profiles/{CUSTOMER_ID}",
    f"/api/v1/profiles/{CUSTOMER_ID}?timeline_limit=10",
    f"/api/v1/profiles/{CUSTOMER_ID}?kinds=feedback&kinds=interaction",
    f"/api/v1/profiles/by/email/{PERSONAL['email'].upper()}",
    f"/api/v1/profiles/by/phone/{PERSONAL['phone']}",
    "/api/v1/profiles/by/customer_key/CRM-7",
    "/api/v1/profiles/by/loyalty_number/HQ%2F1042",
]
#: Look-ups by contact details: refused without pii:read (a hit would confirm whose they are).
PERSONAL_LOOKUPS = ("/by/email/", "/by/phone/")
SEARCHES = ["vasquez", "ingegerd vas", PERSONAL["email"], PERSONAL["phone"], "CRM-7"]
#: Searches that find the customer without pii:read: by ids, never by name or contact details.
MASKED_SEARCHES = ["CRM-7", CUSTOMER_ID]


def _pii_roles() -> set[Role]:
    return {role for role in ROLES if "pii:read" in ROLE_PERMISSIONS[role]}


def _api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every APIRoute the app serves, included routers' too."""
    # Recent FastAPI (0.165 here) keeps each included router as one entry of app.routes, and
    # iter_route_contexts flattens them; older releases list the routes themselves.
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    if iterate is not None:
        found = [(c.original_route, c.path_format) for c in iterate(app.routes)]
    else:
        found = [(r, getattr(r, "path_format", None)) for r in app.routes]
    # The web UI's pages sign in with a session cookie, not a token: tests/ui/ checks them.
    return {
        (method, str(path))
        for route, path in found
        if isinstance(route, APIRoute)
        and not route.endpoint.__module__.startswith("insightloop.ui")
        for method in sorted(route.methods)
    }


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = build_profile_workspace(tmp_path_factory.mktemp("access") / "ws")
    with Workspace.open(root) as ws:
        assert ws.run(["measures"]).status == "succeeded"
        save_segment(ws.engine, SEGMENT, parse_condition(_SEGMENT_RULE))
    return root


@pytest.fixture(scope="module")
def credentials(root: Path) -> Credentials:
    return make_credentials(root)


@pytest.fixture(scope="module")
def write_key(root: Path) -> str:
    return AuthStore.for_workspace(root, hasher=FAST).write_keys.create("web", actor="test")[1]


@pytest.fixture(scope="module")
def audit(root: Path) -> AuthStore:
    return AuthStore.for_workspace(root, hasher=FAST)


@pytest.fixture(scope="module")
def app(root: Path) -> FastAPI:
    app = create_app(root, background=False)
    # Each test sends dozens of requests with one token; the limit is tested in test_app.py.
    app.state.token_limiter = RateLimiter(0)
    app.state.write_key_limiter = RateLimiter(0)
    return app


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _call(client: TestClient, rule: Rule, headers: dict[str, str]) -> Response:
    method = rule.method or ("GET" if rule.body is None else "POST")
    return client.request(method, rule.url, json=rule.body, headers=headers)


def _basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def _check_401(response: Response, where: object) -> None:
    assert response.status_code == 401, (where, response.text)
    body = response.json()
    assert {"code", "message", "hint"} <= set(body), (where, body)
    if body["code"] == "unauthorized":  # the insight API's bearer challenge
        assert response.headers.get("www-authenticate") == "Bearer", where
    else:  # the collection API wants a write key
        assert body["code"] in ("missing_write_key", "invalid_write_key"), (where, body)


def _check_403(response: Response, needed: str, where: object) -> None:
    assert response.status_code == 403, (where, response.text)
    body = response.json()
    assert set(body) == {"code", "message", "hint"}, (where, body)
    assert body["code"] == "forbidden", (where, body)
    assert repr(needed) in body["message"], (where, body)


# -- routes and rights -------------------------------------------------------------------------


def test_every_route_is_classified(app: FastAPI) -> None:
    served = _api_routes(app)
    unclassified = sorted(served - set(ROUTES))
    stale = sorted(set(ROUTES) - served)
    assert not unclassified, f"add these routes to ROUTES with what they need: {unclassified}"
    assert not stale, f"ROUTES names routes the app does not serve: {stale}"
    assert {r.access for r in ROUTES.values()} <= {*PERMISSIONS, "public", "write key"}


def test_the_openapi_document_states_each_operation_s_credentials(app: FastAPI) -> None:
    document = app.openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {**schemes["bearerToken"], "type": "http", "scheme": "bearer"}
    assert schemes["writeKey"] == {**schemes["writeKey"], "type": "http", "scheme": "basic"}
    for (method, path), rule in ROUTES.items():
        operation = document["paths"][path][method.lower()]
        if rule.access == "public":
            assert operation["security"] == [], path
        elif rule.access == "write key":
            assert operation["security"] == [{"writeKey": []}], path
        else:
            assert operation["security"] == [{"bearerToken": []}], path
            assert operation["x-permission"] == rule.access, path
            assert f"`{rule.access}`" in operation["description"], path


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_matrix_grants(
    client: TestClient, credentials: Credentials, role: Role
) -> None:
    headers = Credentials.header(credentials.by_role[role])
    for route, rule in ROUTES.items():
        response = _call(client, rule, headers)
        if rule.access == "public":
            assert response.status_code == 200, (route, response.text)
        elif rule.access == "write key":  # a bearer token is not a write key
            _check_401(response, route)
            assert response.json()["code"] == "missing_write_key", route
        elif rule.access in ROLE_PERMISSIONS[role]:
            assert response.status_code == rule.ok, (route, response.text)
        else:
            _check_403(response, rule.access, route)


@pytest.mark.parametrize("scope", PERMISSIONS)
def test_a_token_opens_only_the_routes_of_its_scopes(
    client: TestClient, credentials: Credentials, scope: Permission
) -> None:
    # Every role holds profiles:read and status:read, so only a token narrower than its role
    # shows that each route asks for its own permission and no other.
    headers = Credentials.header(credentials.by_scope[scope])
    for route, rule in ROUTES.items():
        response = _call(client, rule, headers)
        if rule.access == "public":
            assert response.status_code == 200, (route, response.text)
        elif rule.access == "write key":
            _check_401(response, route)
        elif rule.access == scope:
            assert response.status_code == rule.ok, (route, response.text)
        else:
            _check_403(response, rule.access, route)


BAD_HEADERS = {
    "no header": {},
    "unknown token": {"Authorization": "Bearer il_tok_000000000000_" + "x" * 43},
    "empty bearer": {"Authorization": "Bearer "},
    "other scheme": {"Authorization": "Token il_tok_000000000000_x"},
    "basic with a bearer secret": {"Authorization": "Basic il_tok_000000000000_x"},
}


@pytest.mark.parametrize("headers", list(BAD_HEADERS.values()), ids=list(BAD_HEADERS))
def test_without_a_valid_token_every_route_but_the_public_ones_is_401(
    client: TestClient, headers: dict[str, str]
) -> None:
    for route, rule in ROUTES.items():
        response = _call(client, rule, headers)
        if rule.access == "public":
            assert response.status_code == 200, (route, response.text)
            continue
        _check_401(response, route)
        if rule.access != "write key":
            assert response.json()["code"] == "unauthorized", route


def test_a_write_key_opens_the_collection_api_only(client: TestClient, write_key: str) -> None:
    for route, rule in ROUTES.items():
        response = _call(client, rule, _basic(write_key))
        if rule.access in ("public", "write key"):
            assert response.status_code == 200, (route, response.text)
        else:
            _check_401(response, route)
            assert response.json()["code"] == "unauthorized", route
    # Also when it is sent as a bearer token.
    for route, rule in ROUTES.items():
        if rule.access not in ("public", "write key"):
            _check_401(_call(client, rule, {"Authorization": f"Bearer {write_key}"}), route)


# -- masking -----------------------------------------------------------------------------------


def test_the_roles_with_pii_read_are_admin_and_agent() -> None:
    # The matrix of docs/access-control.md; the tests below derive from ROLE_PERMISSIONS.
    assert _pii_roles() == {"admin", "agent"}


def _leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [probe for probe in PROBES if probe in lowered]


@pytest.mark.parametrize("role", ROLES)
def test_profiles_show_personal_data_only_with_pii_read(
    client: TestClient, credentials: Credentials, role: Role
) -> None:
    headers = Credentials.header(credentials.by_role[role])
    for url in PROFILE_URLS:
        response = client.get(url, headers=headers)
        if role not in _pii_roles() and any(part in url for part in PERSONAL_LOOKUPS):
            assert response.status_code == 403, (url, response.text)
            assert response.json()["code"] == "forbidden"
            assert "pii:read" in response.json()["message"]
            assert _leaks(response.text) == [], url
            continue
        assert response.status_code == 200, (url, response.text)
        body = response.json()
        assert body["customer_id"] == CUSTOMER_ID
        if role in _pii_roles():
            assert body["masked"] is False, url
            shown = {name: value for name, value in PERSONAL.items() if value in response.text}
            if "kinds" in url:  # the filter keeps the note and the comment, nothing else
                assert {"notes", "comment"} <= set(shown), url
            else:
                assert shown == dict(PERSONAL), url
        else:
            assert body["masked"] is True, url
            assert _leaks(response.text) == [], url
            # Masked, not emptied: what analysis needs is still there.
            assert body["golden"]["country"] == "SE"
            assert body["golden"]["email"] == "***@example.org"
            assert {e["key"] for e in body["timeline"]} <= {"F-77", "I-77", "W-77"}
            assert body["timeline"], url


@pytest.mark.parametrize("role", ROLES)
def test_search_results_show_personal_data_only_with_pii_read(
    client: TestClient, credentials: Credentials, role: Role
) -> None:
    headers = Credentials.header(credentials.by_role[role])
    for q in SEARCHES + MASKED_SEARCHES:
        response = client.get("/api/v1/customers", params={"q": q}, headers=headers)
        assert response.status_code == 200, (q, response.text)
        body = response.json()
        if role not in _pii_roles() and q not in MASKED_SEARCHES:
            # Names, e-mails and phones are not searched: a hit would confirm whose they are.
            assert body["data"] == [], q
            continue
        assert [hit["customer_id"] for hit in body["data"]] == [CUSTOMER_ID], q
        if role in _pii_roles():
            assert body["masked"] is False
            for name in ("first_name", "last_name", "email", "phone", "city"):
                assert body["data"][0][name] == PERSONAL[name], (q, name)
        else:
            assert body["masked"] is True
            assert _leaks(response.text) == [], q
            assert body["data"][0]["country"] == "SE"


# -- audit -------------------------------------------------------------------------------------


def _reads(audit: AuthStore, username: str) -> list[AuditEntry]:
    entries = [
        e
        for action in ("profile.read", "customer.search")
        for e in audit.audit.query(actor=username, action=action, limit=100_000)
    ]
    return sorted(entries, key=lambda e: e.entry_id)


@pytest.mark.parametrize("role", ROLES)
def test_unmasked_reads_are_audited_and_masked_ones_are_not(
    client: TestClient, credentials: Credentials, audit: AuthStore, role: Role
) -> None:
    username = Credentials.username(role)
    headers = Credentials.header(credentials.by_role[role])
    seen = {e.entry_id for e in _reads(audit, username)}
    requests = [
        f"/api/v1/profiles/{CUSTOMER_ID}",
        f"/api/v1/profiles/by/email/{PERSONAL['email']}",
        "/api/v1/customers?q=vasquez",
        # Neither finds anyone, so neither shows anything to audit.
        "/api/v1/profiles/C-NOBODY",
        "/api/v1/customers?q=nobodyatall",
    ]
    statuses = [client.get(url, headers=headers).status_code for url in requests]
    new = [e for e in _reads(audit, username) if e.entry_id not in seen]
    if role not in _pii_roles():
        # By e-mail: refused; by name: no hit, since names are not searched without pii:read.
        assert statuses == [200, 403, 200, 404, 200]
        assert new == []
        return
    assert statuses == [200, 200, 200, 404, 200]
    assert [(e.action, e.actor, e.target, e.details) for e in new[:2]] == [
        ("profile.read", username, CUSTOMER_ID, {"via": "customer_id"}),
        ("profile.read", username, CUSTOMER_ID, {"via": "email"}),
    ]
    (search,) = new[2:]
    assert (search.action, search.actor, search.outcome) == ("customer.search", username, "ok")
    # The customers whose data the page showed are named (by id) in the entry.
    assert search.target == CUSTOMER_ID or search.details.get("customer_ids") == [CUSTOMER_ID]


def test_the_audit_log_holds_no_personal_data(
    client: TestClient, credentials: Credentials, audit: AuthStore
) -> None:
    for role in _pii_roles():
        headers = Credentials.header(credentials.by_role[role])
        for url in PROFILE_URLS:
            assert client.get(url, headers=headers).status_code == 200
        for q in SEARCHES:
            response = client.get("/api/v1/customers", params={"q": q}, headers=headers)
            assert response.status_code == 200
    entries = audit.audit.query(limit=100_000)
    assert {"profile.read", "customer.search"} <= {e.action for e in entries}
    for entry in entries:
        text = json.dumps([entry.actor, entry.action, entry.target, entry.details])
        assert _leaks(text) == [], entry
