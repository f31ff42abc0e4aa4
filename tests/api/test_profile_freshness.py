"""Received events reach the profile API within seconds, through the server's own loader."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from insightloop import Workspace
from insightloop.api import create_app
from insightloop.auth import AuthStore

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
#: The issue's promise: a new event is visible in the customer's profile within 5 seconds.
VISIBLE_WITHIN = 5.0


def _event(message_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "timestamp": "2026-11-02T10:00:00.000Z",
        "context": {"page": {"path": "/"}},
        **fields,
    }


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    """A workspace whose one customer is known by web user id u1 (the profile store built)."""
    with Workspace.init(tmp_path / "ws") as ws:
        ws.engine.insert(
            "events",
            [
                {
                    "message_id": "seed-1",
                    "type": "identify",
                    "user_id": "u1",
                    "anonymous_id": "a1",
                    "timestamp": "2026-11-01T09:00:00",
                    "_source": "web",
                }
            ],
        )
        ws.run()
    return tmp_path / "ws"


@pytest.fixture
def keys(ws_path: Path) -> dict[str, str]:
    store = AuthStore.for_workspace(ws_path, hasher=FAST)
    store.users.add("agent1", "agent", actor="test")
    return {
        "write": store.write_keys.create("web", actor="test")[1],
        "token": store.tokens.create("agent1", actor="test")[1],
    }


@pytest.fixture
def client(ws_path: Path) -> Iterator[TestClient]:
    # The background loader runs as in `insightloop serve`, at the default interval.
    with TestClient(create_app(ws_path), raise_server_exceptions=False) as c:
        yield c


def _send(client: TestClient, key: str, path: str, body: dict[str, Any]) -> None:
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    r = client.post(path, json=body, headers={"Authorization": auth})
    assert r.status_code == 200, r.text


def _wait_for(client: TestClient, token: str, message_id: str) -> float:
    """Seconds until the customer u1's profile shows ``message_id`` (fails after the promise)."""
    start = time.monotonic()
    while time.monotonic() - start < VISIBLE_WITHIN:
        r = client.get(
            "/api/v1/profiles/by/user_id/u1", headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 200, r.text
        if message_id in {e["key"] for e in r.json()["timeline"]}:
            return time.monotonic() - start
        time.sleep(0.1)
    pytest.fail(f"{message_id} was not in the profile {VISIBLE_WITHIN} s after it was sent")


def test_a_received_event_shows_in_the_profile_within_five_seconds(
    client: TestClient, keys: dict[str, str]
) -> None:
    body = _event("fresh-1", type="track", userId="u1", event="Product Viewed")
    _send(client, keys["write"], "/v1/track", body)
    seconds = _wait_for(client, keys["token"], "fresh-1")
    assert seconds < VISIBLE_WITHIN
    auth = {"Authorization": f"Bearer {keys['token']}"}
    r = client.get("/api/v1/profiles/by/user_id/u1", headers=auth)
    assert r.json()["timeline_counts"]["event"] == 2


def test_a_visitor_who_logs_in_brings_their_earlier_anonymous_events(
    client: TestClient, keys: dict[str, str]
) -> None:
    page = _event("anon-1", type="page", anonymousId="a9", name="Shoes")
    login = _event("login-1", type="identify", userId="u1", anonymousId="a9")
    _send(client, keys["write"], "/v1/page", page)
    _send(client, keys["write"], "/v1/identify", login)
    _wait_for(client, keys["token"], "login-1")
    _wait_for(client, keys["token"], "anon-1")


def test_profiles_answer_503_with_a_hint_before_the_store_is_built(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "empty"):
        pass
    store = AuthStore.for_workspace(tmp_path / "empty", hasher=FAST)
    store.users.add("agent1", "agent", actor="test")
    token = store.tokens.create("agent1", actor="test")[1]
    app = create_app(tmp_path / "empty", background=False)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/v1/profiles/cus_1", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 503
    assert r.headers["Retry-After"]
    assert r.json()["code"] == "profile_store_unavailable"
    assert "insightloop run" in r.json()["hint"]
