"""The server: status API and page over a real workspace, and one error envelope everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from insightloop import Workspace
from insightloop.api import create_app
from insightloop.auth import AuthStore
from insightloop.errors import ConfigError, WorkspaceError
from insightloop.store import latest_version
from tests.helpers import duckdb_held_by_another_process

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    with Workspace.init(tmp_path / "ws") as ws:
        ws.engine.insert("orders", [{"order_id": "o1"}, {"order_id": "o2"}])
        ws.run()
    return tmp_path / "ws"


def _token(ws_path: Path, role: str = "admin", **options: object) -> str:
    store = AuthStore.for_workspace(ws_path, hasher=FAST)
    name = f"test-{role}"
    if store.users.get(name) is None:
        store.users.add(name, role, actor="test")  # type: ignore[arg-type]
    return store.tokens.create(name, actor="test", **options)[1]  # type: ignore[arg-type]


@pytest.fixture
def client(ws_path: Path) -> Iterator[TestClient]:
    headers = {"Authorization": f"Bearer {_token(ws_path)}"}
    with TestClient(create_app(ws_path), raise_server_exceptions=False, headers=headers) as c:
        yield c


def _is_envelope(body: dict[str, object]) -> bool:
    return {"code", "message", "hint"} <= set(body)


def test_status_api_reports_schema_tables_and_last_run(client: TestClient) -> None:
    r = client.get("/api/v1/status")
    assert r.status_code == 200
    body = r.json()
    assert body["schema_current"] is True
    assert body["backend"] == "duckdb"
    rows = {t["name"]: t["rows"] for t in body["tables"]}
    assert rows["orders"] == 2
    assert body["last_run"]["status"] == "succeeded"
    assert body["profile_store"]["customers"] == 0  # orders without identifiers: no customers
    assert datetime.fromisoformat(body["profile_store"]["built_at"]).tzinfo is not None
    assert [s["step"] for s in body["last_run"]["step_records"]] == [
        "load",
        "collect",
        "resolve",
        "golden",
        "activity",
        "measures",
        "clv",
        "lifecycle",
        "personas",
        "segments",
        "profiles",
        "dashboard",
        "table_stats",
    ]


def test_runs_api_is_paginated_by_limit(client: TestClient) -> None:
    r = client.get("/api/v1/runs", params={"limit": 1})
    assert r.status_code == 200
    assert r.json()["count"] == 1


def _signed_in(client: TestClient, ws_path: Path) -> TestClient:
    store = AuthStore.for_workspace(ws_path, hasher=FAST)
    store.users.add("page-viewer", "viewer", password="a-password-for-pages", actor="test")
    client.app.state.auth = store  # type: ignore[attr-defined]
    r = client.post("/login", data={"username": "page-viewer", "password": "a-password-for-pages"})
    assert r.status_code == 200, r.text
    return client


def test_the_status_page_shows_the_workspace(client: TestClient, ws_path: Path) -> None:
    assert client.get("/status", follow_redirects=False).status_code == 303  # sign in first
    _signed_in(client, ws_path)
    r = client.get("/status")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert f'id="schema-version">v{latest_version()}<' in html
    assert 'data-table="orders">2<' in html
    assert "succeeded" in html
    # Every asset is served locally: no CDN.
    assert "http://" not in html.replace("http://testserver", "")
    assert "https://" not in html
    css = client.get("/static/style.css")
    assert css.status_code == 200


def test_health(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_unknown_routes_use_the_error_envelope(client: TestClient) -> None:
    r = client.get("/api/v1/nope")
    assert r.status_code == 404
    assert _is_envelope(r.json())
    assert r.json()["code"] == "not_found"


def test_invalid_parameters_use_the_error_envelope(client: TestClient) -> None:
    r = client.get("/api/v1/runs", params={"limit": 0})
    assert r.status_code == 422
    body = r.json()
    assert _is_envelope(body)
    assert body["code"] == "invalid_request"
    assert body["errors"][0]["location"] == ["query", "limit"]


def test_a_500_never_echoes_the_exception_text(ws_path: Path) -> None:
    app = create_app(ws_path)

    @app.get("/boom")
    def boom() -> None:
        raise ValueError("customer ada@example.com, +46701234567")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom")
    assert r.status_code == 500
    assert r.json() == {"code": "internal_error", "message": "Internal server error.", "hint": None}


def test_a_busy_workspace_is_a_503_with_retry_after(ws_path: Path) -> None:
    headers = {"Authorization": f"Bearer {_token(ws_path)}"}
    with (
        duckdb_held_by_another_process(ws_path / "insightloop.duckdb"),
        TestClient(create_app(ws_path), raise_server_exceptions=False, headers=headers) as c,
    ):
        r = c.get("/api/v1/status")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "5"
    assert r.json()["code"] == "workspace_error"


def test_the_app_needs_a_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSIGHTLOOP_WORKSPACE", raising=False)
    with pytest.raises(ConfigError, match="No workspace"):
        create_app()
    with pytest.raises(WorkspaceError, match="not an insightloop workspace"):
        create_app(tmp_path)


def test_no_page_loads_anything_from_another_host(client: TestClient, ws_path: Path) -> None:
    # The product must work on an offline network: no CDN-backed documentation pages.
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    html = client.get("/login").text + _signed_in(client, ws_path).get("/").text
    for attribute in ("src=", "href="):
        for value in html.split(attribute)[1:]:
            target = value.split()[0].strip("\"'>")
            assert target.startswith(("/", "#")), f"{attribute}{target} is not local"


def test_the_openapi_document_has_stable_operation_ids(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    ops = {op["operationId"] for path in spec["paths"].values() for op in path.values()}
    assert {"get_status", "list_runs", "health"} <= ops


def test_request_errors_get_client_statuses() -> None:
    from insightloop.api.errors import _status_for
    from insightloop.identity.manual import AlreadyDecidedError, UnknownCustomerError
    from insightloop.profile import (
        AmbiguousIdentifierError,
        ProfileNotFoundError,
        ProfileQueryError,
    )

    assert _status_for(ProfileNotFoundError("No customer has that identifier.")) == 404
    assert _status_for(AmbiguousIdentifierError("Two customers hold it.")) == 409
    assert _status_for(ProfileQueryError("Unknown kind.")) == 400
    assert _status_for(UnknownCustomerError("No such customer.")) == 404
    assert _status_for(AlreadyDecidedError("Already decided.")) == 409


def test_the_insight_api_needs_a_valid_bearer_token(ws_path: Path) -> None:
    with TestClient(create_app(ws_path), raise_server_exceptions=False) as c:
        for headers in ({}, {"Authorization": "Bearer il_tok_nope"}, {"Authorization": "Basic x"}):
            r = c.get("/api/v1/status", headers=headers)
            assert r.status_code == 401
            assert r.headers["www-authenticate"] == "Bearer"
            assert r.json()["code"] == "unauthorized"
        viewer = {"Authorization": f"Bearer {_token(ws_path, 'viewer')}"}
        assert c.get("/api/v1/status", headers=viewer).status_code == 200
        narrow = _token(ws_path, "analyst", scopes=["profiles:read"])
        r = c.get("/api/v1/runs", headers={"Authorization": f"Bearer {narrow}"})
        assert r.status_code == 403
        assert r.json()["code"] == "forbidden"
        assert "status:read" in r.json()["message"]


def test_a_revoked_token_stops_working(ws_path: Path) -> None:
    store = AuthStore.for_workspace(ws_path, hasher=FAST)
    secret = _token(ws_path, "viewer")
    app = create_app(ws_path)
    app.state.auth = AuthStore.for_workspace(ws_path, hasher=FAST, token_cache_seconds=0)
    with TestClient(app, headers={"Authorization": f"Bearer {secret}"}) as c:
        assert c.get("/api/v1/status").status_code == 200
        (token,) = store.tokens.list("test-viewer")
        store.tokens.revoke(token.token_id, actor="test")
        assert c.get("/api/v1/status").status_code == 401


def test_tokens_are_rate_limited(ws_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSIGHTLOOP_SERVER__TOKEN_REQUESTS_PER_SECOND", "1")
    headers = {"Authorization": f"Bearer {_token(ws_path, 'viewer')}"}
    with TestClient(create_app(ws_path), headers=headers) as c:
        codes = [c.get("/api/v1/runs").status_code for _ in range(4)]
        last = c.get("/api/v1/runs")
    assert codes[:2] == [200, 200]
    assert last.status_code == 429
    assert int(last.headers["retry-after"]) >= 1


def test_a_server_process_tunes_its_garbage_collector(tmp_path: Path) -> None:
    # In a child: the tuning is process-wide, and this test process keeps its defaults.
    with Workspace.init(tmp_path / "ws"):
        pass
    script = (
        "import gc, json; from insightloop.api.app import serving_app, SERVING_GC_THRESHOLD; "
        "app = serving_app(); "
        "print(json.dumps([gc.get_threshold()[0], SERVING_GC_THRESHOLD, gc.get_freeze_count()]))"
    )
    env = {**os.environ, "INSIGHTLOOP_WORKSPACE": str(tmp_path / "ws")}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    threshold, expected, frozen = json.loads(out.stdout.splitlines()[-1])
    assert threshold == expected > 700
    assert frozen > 10_000  # the modules and the app built at start-up
