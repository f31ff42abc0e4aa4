"""Write keys: one source each, stored hashed, verified from a cache, revocable."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from insightloop.auth import AuthError, AuthStore
from tests.auth.conftest import FAST_HASHER


def test_create_and_verify(store: AuthStore) -> None:
    key, secret = store.write_keys.create("web", label="shop front", actor="admin")
    assert secret.startswith("il_wk_")
    assert ":" not in secret
    assert len(secret) >= 30
    assert all(c.isalnum() or c in "-_" for c in secret)
    assert key.prefix == secret[:10]
    assert (key.source, key.label, key.revoked_at) == ("web", "shop front", None)
    assert store.write_keys.verify(secret) == key
    assert store.write_keys.verify(secret + "x") is None
    assert store.write_keys.verify("") is None
    assert store.write_keys.verify("il_tok_abc") is None
    assert secret.encode() not in store.path.read_bytes()
    assert hashlib.sha256(secret.encode()).hexdigest().encode() in store.path.read_bytes()


def test_each_source_has_its_keys_and_revocation_is_per_key(store: AuthStore) -> None:
    web, web_secret = store.write_keys.create("web", actor="admin")
    app, app_secret = store.write_keys.create("app", actor="admin")
    web2, web2_secret = store.write_keys.create("web", actor="admin")
    assert store.write_keys.verify(app_secret) == app
    revoked = store.write_keys.revoke(web.key_id, actor="admin")
    assert revoked.revoked
    assert store.write_keys.verify(web_secret) is None
    assert store.write_keys.verify(web2_secret) == web2
    assert store.write_keys.verify(app_secret) == app
    assert {k.key_id for k in store.write_keys.list()} == {app.key_id, web2.key_id}
    assert [k.key_id for k in store.write_keys.list("web")] == [web2.key_id]
    assert {k.key_id for k in store.write_keys.list("web", include_revoked=True)} == {
        web.key_id,
        web2.key_id,
    }
    with pytest.raises(AuthError, match="revoked already") as caught:
        store.write_keys.revoke(web.key_id, actor="admin")
    assert caught.value.code == "conflict"
    with pytest.raises(AuthError) as caught:
        store.write_keys.revoke("wk_nope", actor="admin")
    assert caught.value.code == "not_found"


def test_bad_source_names_are_refused(store: AuthStore) -> None:
    with pytest.raises(AuthError, match="Invalid source name") as caught:
        store.write_keys.create("web shop", actor="admin")
    assert caught.value.code == "invalid_request"


def test_another_process_s_revocation_is_seen_within_a_second(tmp_path: Path) -> None:
    path = tmp_path / "auth.sqlite"
    server = AuthStore(path, hasher=FAST_HASHER, write_key_cache_seconds=0.3)
    admin = AuthStore(path, hasher=FAST_HASHER)
    key, secret = admin.write_keys.create("web", actor="admin")
    assert server.write_keys.verify(secret) == key
    admin.write_keys.revoke(key.key_id, actor="admin")
    assert server.write_keys.verify(secret) == key  # from the cache
    time.sleep(0.35)
    assert server.write_keys.verify(secret) is None


def test_verification_is_served_from_memory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = AuthStore(tmp_path / "auth.sqlite", hasher=FAST_HASHER, write_key_cache_seconds=60)
    _, secret = store.write_keys.create("web", actor="admin")
    assert store.write_keys.verify(secret) is not None
    reads: list[int] = []
    original = store._db.read

    def counting_read():  # type: ignore[no-untyped-def]
        reads.append(1)
        return original()

    monkeypatch.setattr(store._db, "read", counting_read)
    for _ in range(1000):
        assert store.write_keys.verify(secret) is not None
        assert store.write_keys.verify("il_wk_unknown") is None
    assert reads == []
