"""``/api/v1/segments``: rule segments through the API, on the hand-checked shop.

As of 2024-06-30 (tests/analytics/shop.py): Ada is the one customer of the top value tier and
the one with orders in the last 30 days; Ben and Cy are in the rest tier. The router is included
here (the app factory includes it once it is registered there).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from insightloop import Workspace
from insightloop.analytics.measures import build_measures
from insightloop.api import create_app
from insightloop.api.ratelimit import RateLimiter
from insightloop.api.routers import segments
from insightloop.auth import ROLE_PERMISSIONS, ROLES, AuthStore, Role
from tests.analytics.shop import AS_OF, CONFIG, IDENTITY, load_shop
from tests.api.profile_fixtures import FAST, Credentials, make_credentials

URL = "/api/v1/segments"
TOP = {"attribute": "value_tier", "op": "eq", "value": "top"}
TIERED = {"attribute": "value_tier", "op": "in", "value": ["top", "rest"]}
RECENT = {"behaviour": "orders", "within_days": 30}
#: The TestClient's response (httpx's).
Response = Any


def new_workspace(path: Path) -> Path:
    with Workspace.init(path) as ws:
        # segment_sources reads the workspace's own settings: declare what the shop needs.
        ws.add_config_section("identity", {"customer_keys": {"pos": "loyalty_number"}})
        ws.add_config_section("analytics", {"exchange_rates": {"SEK": 0.1}})
    return path


def serve(root: Path) -> FastAPI:
    app = create_app(root, background=False)
    # FastAPI 0.165 lists an included router as one entry of app.routes (older ones, its routes).
    if not any(
        getattr(r, "original_router", None) is segments.router
        or getattr(r, "path", "").startswith(URL)
        for r in app.routes
    ):
        app.include_router(segments.router)
    app.state.token_limiter = RateLimiter(0)  # dozens of requests per test, one token
    return app


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = new_workspace(tmp_path_factory.mktemp("segments-api") / "ws")
    with Workspace.open(path) as ws:
        load_shop(ws.engine)
        build_measures(ws.engine, IDENTITY, CONFIG, now=datetime(2024, 7, 10), as_of=AS_OF)
    return path


@pytest.fixture(scope="module")
def credentials(root: Path) -> Credentials:
    return make_credentials(root)


@pytest.fixture(scope="module")
def client(root: Path) -> Iterator[TestClient]:
    with TestClient(serve(root), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def admin(credentials: Credentials) -> dict[str, str]:
    return Credentials.header(credentials.by_role["admin"])


def refresh(root: Path) -> None:
    """The pipeline step that computes the members (the server never holds the database)."""
    with Workspace.open(root) as ws:
        record = ws.run(["segments"])
    assert record.status == "succeeded", record.error


def check_envelope(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert {"code", "message", "hint"} <= set(body), body
    assert body["code"] == code, body
    return body


# -- rights ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_and_only_segment_writers_write(
    client: TestClient, credentials: Credentials, admin: dict[str, str], role: Role
) -> None:
    headers = Credentials.header(credentials.by_role[role])
    name = f"rights-{role}"
    assert (
        client.post(URL, json={"name": name, "definition": TOP}, headers=admin).status_code == 201
    )

    # Reading: every role (profiles:read).
    assert client.get(URL, headers=headers).status_code == 200
    assert client.get(f"{URL}/{name}", headers=headers).status_code == 200
    assert client.get(f"{URL}/{name}/members", headers=headers).status_code == 200

    writes = [
        ("POST", URL, {"name": f"{name}-new", "definition": TOP}, 201),
        ("POST", f"{URL}/preview", {"definition": TOP}, 200),
        ("PUT", f"{URL}/{name}", {"definition": TIERED}, 200),
        ("DELETE", f"{URL}/{name}-new", None, 204),
        ("DELETE", f"{URL}/{name}", None, 204),
    ]
    writer = "segments:write" in ROLE_PERMISSIONS[role]
    for method, url, body, status in writes:
        response = client.request(method, url, json=body, headers=headers)
        if writer:
            assert response.status_code == status, (method, url, response.text)
        else:
            error = check_envelope(response, 403, "forbidden")
            assert set(error) == {"code", "message", "hint"}
            assert "'segments:write'" in error["message"], error
    if not writer:  # still there, unchanged
        assert client.get(f"{URL}/{name}", headers=headers).json()["version"] == 1
        assert client.delete(f"{URL}/{name}", headers=admin).status_code == 204


def test_without_a_token_nothing_answers(client: TestClient) -> None:
    for method, url in [("GET", URL), ("GET", f"{URL}/x"), ("GET", f"{URL}/x/members"),
                        ("POST", URL), ("POST", f"{URL}/preview"), ("PUT", f"{URL}/x"),
                        ("DELETE", f"{URL}/x")]:  # fmt: skip
        check_envelope(client.request(method, url), 401, "unauthorized")


# -- the life of a segment ---------------------------------------------------------------------


def test_create_list_refresh_members_new_version_and_delete(
    client: TestClient, root: Path, credentials: Credentials, admin: dict[str, str]
) -> None:
    created = client.post(URL, json={"name": "life", "definition": TOP}, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["version"], body["size"]) == ("life", 1, 0)
    assert (body["changed"], body["preview_count"]) == (True, 1)
    assert body["definition"] == TOP
    assert body["created_by"] == Credentials.username("admin")
    assert body["created_at"].endswith(("+00:00", "Z"))

    listed = client.get(URL, headers=admin).json()
    assert {s["name"]: s["size"] for s in listed["data"]}["life"] == 0
    assert listed["count"] == len(listed["data"])

    refresh(root)
    members = client.get(f"{URL}/life/members", headers=admin).json()
    assert [m["customer_id"] for m in members["data"]] == ["C-ADA"]
    assert set(members["data"][0]) == {"customer_id", "entered_at"}  # no names, no contacts
    assert (members["total"], members["next_offset"]) == (1, None)
    detail = client.get(f"{URL}/life", headers=admin).json()
    assert (detail["size"], detail["version"]) == (1, 1)
    assert [(h["entered"], h["exited"]) for h in detail["history"]] == [(1, 0)]

    changed = client.put(f"{URL}/life", json={"definition": TIERED}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["version"], changed.json()["changed"]) == (2, True)
    assert changed.json()["preview_count"] == 3
    same = client.put(f"{URL}/life", json={"definition": TIERED}, headers=admin).json()
    assert (same["version"], same["changed"]) == (2, False)

    refresh(root)
    first = client.get(f"{URL}/life/members?limit=2", headers=admin).json()
    assert (len(first["data"]), first["total"], first["next_offset"]) == (2, 3, 2)
    rest = client.get(f"{URL}/life/members?limit=2&offset=2", headers=admin).json()
    assert (len(rest["data"]), rest["next_offset"]) == (1, None)
    ids = [m["customer_id"] for m in first["data"] + rest["data"]]
    assert sorted(ids) == ["C-ADA", "C-BEN", "C-CY"]
    assert ids[0] == "C-ADA"  # longest-standing first
    detail = client.get(f"{URL}/life", headers=admin).json()
    assert sum(h["entered"] for h in detail["history"]) == 3

    deleted = client.delete(f"{URL}/life", headers=admin)
    assert deleted.status_code == 204
    assert deleted.content == b""
    check_envelope(client.get(f"{URL}/life", headers=admin), 404, "not_found")

    audit = AuthStore.for_workspace(root, hasher=FAST).audit
    entries = audit.query(target="life", action="segment.*")
    assert [(e.actor, e.action, e.details["version"]) for e in reversed(entries)] == [
        (Credentials.username("admin"), "segment.create", 1),
        (Credentials.username("admin"), "segment.update", 2),  # the unchanged PUT: no entry
        (Credentials.username("admin"), "segment.delete", 2),
    ]


def test_preview_counts_without_saving(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(f"{URL}/preview", json={"definition": RECENT}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 1
    assert response.json()["as_of"].startswith("2024-06-30T23:59:59")
    names = [s["name"] for s in client.get(URL, headers=admin).json()["data"]]
    assert not [n for n in names if "preview" in n]


# -- errors ------------------------------------------------------------------------------------


BAD = {
    "all": [
        {"attribute": "valu_tier", "op": "eq", "value": "top"},
        {"behaviour": "orders", "where": [{"column": "chanel", "value": "web"}]},
        {"attribute": "orders", "op": "gt", "value": "ten"},
    ]
}


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", URL, {"name": "broken", "definition": BAD}),
        ("POST", f"{URL}/preview", {"definition": BAD}),
    ],
    ids=["create", "preview"],
)
def test_a_bad_definition_lists_every_problem_with_its_path(
    client: TestClient, admin: dict[str, str], method: str, url: str, body: dict[str, Any]
) -> None:
    error = check_envelope(
        client.request(method, url, json=body, headers=admin), 422, "invalid_segment"
    )
    problems = {p["path"]: p for p in error["problems"]}
    assert list(problems) == ["all[0]", "all[1].where[0]", "all[2]"]
    assert (
        problems["all[0]"]["message"] == "unknown attribute 'valu_tier' of the customer attributes"
    )
    assert problems["all[0]"]["hint"].startswith("Did you mean 'value_tier'?")
    assert problems["all[1].where[0]"]["hint"].startswith("Did you mean 'channel'?")
    assert "is not a number" in problems["all[2]"]["message"]
    assert "3 problems" in error["message"]
    check_envelope(client.get(f"{URL}/broken", headers=admin), 404, "not_found")


def test_a_malformed_definition_is_refused_with_its_path(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = {"definition": {"behaviour": "orders", "within_days": -5, "cuont": 2}}
    error = check_envelope(
        client.post(f"{URL}/preview", json=body, headers=admin), 422, "invalid_segment"
    )
    assert {p["path"] for p in error["problems"]} == {"within_days", ""}
    assert any("Did you mean 'count'?" in (p["hint"] or "") for p in error["problems"])


def test_an_unknown_segment_is_a_404_naming_the_closest(
    client: TestClient, admin: dict[str, str]
) -> None:
    assert (
        client.post(URL, json={"name": "lapsed-vip", "definition": TOP}, headers=admin).status_code
        == 201
    )
    try:
        for method, url, body in [
            ("GET", f"{URL}/lapsed-vpi", None),
            ("GET", f"{URL}/lapsed-vpi/members", None),
            ("PUT", f"{URL}/lapsed-vpi", {"definition": TOP}),
            ("DELETE", f"{URL}/lapsed-vpi", None),
        ]:
            error = check_envelope(
                client.request(method, url, json=body, headers=admin), 404, "not_found"
            )
            assert error["message"] == "There is no saved segment named 'lapsed-vpi'.", method
            assert error["hint"].startswith("Did you mean 'lapsed-vip'?"), method
    finally:
        client.delete(f"{URL}/lapsed-vip", headers=admin)


def test_conflicts_are_409(client: TestClient, admin: dict[str, str]) -> None:
    assert (
        client.post(URL, json={"name": "base", "definition": TOP}, headers=admin).status_code == 201
    )
    using = {"all": [{"segment": "base"}, RECENT]}
    assert (
        client.post(URL, json={"name": "uses-base", "definition": using}, headers=admin).status_code
        == 201
    )
    try:
        taken = client.post(URL, json={"name": "base", "definition": TIERED}, headers=admin)
        error = check_envelope(taken, 409, "conflict")
        assert "PUT /api/v1/segments/base" in error["hint"]
        in_use = check_envelope(client.delete(f"{URL}/base", headers=admin), 409, "conflict")
        assert in_use["message"] == "Segment 'base' is used by uses-base."
        # A reference back is a cycle: a problem of the definition.
        cycle = client.put(
            f"{URL}/base", json={"definition": {"segment": "uses-base"}}, headers=admin
        )
        assert "cycle" in check_envelope(cycle, 422, "invalid_segment")["problems"][0]["message"]
    finally:
        client.delete(f"{URL}/uses-base", headers=admin)
        client.delete(f"{URL}/base", headers=admin)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Not A Slug", "definition": TOP},
        {"name": "ok-name", "definition": TOP, "description": "not stored"},
        {"name": "ok-name"},
        {"name": "ok-name", "definition": ["not", "an", "object"]},
    ],
    ids=["bad name", "unknown field", "no definition", "definition not an object"],
)
def test_a_malformed_request_is_a_422_listing_its_fields(
    client: TestClient, admin: dict[str, str], body: dict[str, Any]
) -> None:
    error = check_envelope(client.post(URL, json=body, headers=admin), 422, "invalid_request")
    assert error["errors"], error
    check_envelope(client.get(f"{URL}/ok-name", headers=admin), 404, "not_found")


@pytest.mark.parametrize(
    ("definition", "code"),
    [
        ({"attribute": "value_tier", "op": "eq", "value": "top\x00"}, "invalid_request"),
        ({"attribute": "orders", "op": "gt", "value": 2**64}, "invalid_request"),
        ({"behaviour": "orders", "within_days": 10**12}, "invalid_segment"),
    ],
    ids=["NUL character", "beyond 64 bits", "window beyond any date"],
)
def test_what_no_query_can_hold_is_refused_not_a_500(
    client: TestClient, admin: dict[str, str], definition: dict[str, Any], code: str
) -> None:
    for url, body in [(f"{URL}/preview", {"definition": definition}),
                      (URL, {"name": "odd", "definition": definition})]:  # fmt: skip
        check_envelope(client.post(url, json=body, headers=admin), 422, code)
    check_envelope(client.get(f"{URL}/odd", headers=admin), 404, "not_found")  # nothing saved
    check_envelope(client.get(f"{URL}/odd%00", headers=admin), 422, "invalid_request")


def test_before_the_measures_it_says_what_to_run(tmp_path: Path) -> None:
    root = new_workspace(tmp_path / "ws")
    store = AuthStore.for_workspace(root, hasher=FAST)
    store.users.add("ann", "analyst", actor="test")
    headers = Credentials.header(store.tokens.create("ann", actor="test")[1])
    with TestClient(serve(root), raise_server_exceptions=False) as client:
        for url, body in [(URL, {"name": "top", "definition": TOP}),
                          (f"{URL}/preview", {"definition": TOP})]:  # fmt: skip
            error = check_envelope(client.post(url, json=body, headers=headers), 409, "conflict")
            assert "measures have not been computed" in error["message"]
            assert "insightloop run" in error["hint"]
        assert client.get(URL, headers=headers).json() == {"data": [], "count": 0}
