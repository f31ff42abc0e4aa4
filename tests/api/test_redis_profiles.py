"""A workspace configured with ``[profiles] store = "redis"``: the pipeline writes the profile
documents into a real Redis server, and the API serves, finds and searches them from there, the
same way as from the SQLite store (no file in <workspace>/profiles)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from insightloop.api import create_app
from insightloop.config import Settings, load_settings
from insightloop.profile.backends import open_profile_store, redis_prefix
from insightloop.profile.redis_store import RedisProfileStore
from insightloop.profile.store import ProfileStoreError
from insightloop.store import WorkspaceLayout
from tests.api.profile_fixtures import (
    CUSTOMER_ID,
    PERSONAL,
    Credentials,
    build_profile_workspace,
    make_credentials,
)
from tests.conftest import REDIS_URL as URL


@pytest.fixture
def prefix(redis_server: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Workspaces of the test keep their profiles in Redis, under a prefix of their own."""
    name = f"insightloop-test:{uuid.uuid4().hex}:"
    monkeypatch.setenv("INSIGHTLOOP_PROFILES__STORE", "redis")
    monkeypatch.setenv("INSIGHTLOOP_PROFILES__REDIS_URL", URL)
    monkeypatch.setenv("INSIGHTLOOP_PROFILES__REDIS_PREFIX", name)
    yield name
    for key in list(redis_server.scan_iter(match=f"{name}*")):
        redis_server.unlink(key)


def test_the_pipeline_writes_and_the_api_serves_profiles_from_redis(
    tmp_path: Path, prefix: str
) -> None:
    root = build_profile_workspace(tmp_path / "ws")
    settings = load_settings(WorkspaceLayout(root).config_file)
    store = open_profile_store(root, settings)
    assert isinstance(store, RedisProfileStore)
    assert store.info()["customers"] == 2
    assert not any(WorkspaceLayout(root).profiles_dir.glob("gen-*")), "written to SQLite too"

    credentials = make_credentials(root)
    app = create_app(root, background=False)
    with TestClient(app) as client:
        agent = Credentials.header(credentials.by_role["agent"])
        viewer = Credentials.header(credentials.by_role["viewer"])
        profile = client.get(f"/api/v1/profiles/{CUSTOMER_ID}", headers=agent).json()
        assert profile["golden"]["email"] == PERSONAL["email"]
        by_email = client.get(f"/api/v1/profiles/by/email/{PERSONAL['email']}", headers=agent)
        assert by_email.json()["customer_id"] == CUSTOMER_ID
        found = client.get("/api/v1/customers", params={"q": "vasquez"}, headers=agent).json()
        assert [h["customer_id"] for h in found["data"]] == [CUSTOMER_ID]
        # Masked, and not found by personal data, as from the SQLite store.
        masked = client.get("/api/v1/customers", params={"q": "vasquez"}, headers=viewer).json()
        assert masked["data"] == []
        by_key = client.get("/api/v1/profiles/by/customer_key/CRM-7", headers=viewer).json()
        assert (by_key["customer_id"], by_key["masked"]) == (CUSTOMER_ID, True)
        status = client.get("/api/v1/status", headers=agent).json()
        assert status["profile_store"]["customers"] == 2
        assert status["profile_store"]["store"] == "redis"


def test_redis_without_a_url_says_what_to_set(tmp_path: Path, prefix: str) -> None:
    root = build_profile_workspace(tmp_path / "ws")
    settings = load_settings(WorkspaceLayout(root).config_file)
    settings.profiles.redis_url = None
    with pytest.raises(ProfileStoreError) as caught:
        open_profile_store(root, settings)
    assert "redis_url" in caught.value.message
    assert "INSIGHTLOOP_PROFILES__REDIS_URL" in (caught.value.hint or "")


def test_the_default_prefix_comes_from_the_workspace_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("INSIGHTLOOP_PROFILES__REDIS_PREFIX", raising=False)
    settings = Settings(name="Shop EU/1")
    assert redis_prefix(settings) == "insightloop:Shop_EU_1:"
    assert redis_prefix(Settings(profiles={"redis_prefix": "eu:"})) == "eu:"
