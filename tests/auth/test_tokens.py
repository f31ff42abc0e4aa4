"""API tokens: secrets, hashes, scopes, expiry, revocation and the verification cache."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest

from insightloop.auth import ROLE_PERMISSIONS, AuthError, AuthStore
from tests.auth.conftest import FAST_HASHER, Clock


@pytest.fixture
def ann(store: AuthStore) -> str:
    store.users.add("ann", "analyst", actor="t")
    return "ann"


def test_a_token_verifies_as_its_user_and_is_stored_hashed(store: AuthStore, ann: str) -> None:
    token, secret = store.tokens.create(ann, label="crm sync", actor="admin")
    assert secret.startswith(f"il_tok_{token.token_id}_")
    assert len(secret) > 50
    principal = store.tokens.verify(secret)
    assert principal is not None
    assert (principal.username, principal.role, principal.token_id) == (ann, "analyst",
                                                                        token.token_id)  # fmt: skip
    assert principal.permissions == ROLE_PERMISSIONS["analyst"]
    assert set(token.scopes) == ROLE_PERMISSIONS["analyst"]
    assert token.label == "crm sync"
    with sqlite3.connect(store.path) as conn:
        stored = conn.execute("SELECT secret_hash FROM api_tokens").fetchone()[0]
    conn.close()
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.encode() not in store.path.read_bytes()
    assert [t.token_id for t in store.tokens.list(ann)] == [token.token_id]
    assert store.tokens.list("bob") == []


@pytest.mark.parametrize(
    "secret",
    ["", "il_tok_", "il_tok_abc_def", "Bearer x", "il_wk_abc", "il_tok_" + "x" * 500],
)
def test_malformed_and_unknown_secrets_do_not_verify(
    store: AuthStore, ann: str, secret: str
) -> None:
    store.tokens.create(ann, actor="admin")
    assert store.tokens.verify(secret) is None


def test_a_secret_with_a_known_id_but_wrong_random_part_fails(store: AuthStore, ann: str) -> None:
    _, secret = store.tokens.create(ann, actor="admin")
    forged = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    assert store.tokens.verify(forged) is None


def test_scopes_must_be_a_subset_of_the_role(store: AuthStore, ann: str) -> None:
    token, secret = store.tokens.create(ann, scopes=["profiles:read"], actor="admin")
    assert token.scopes == ("profiles:read",)
    principal = store.tokens.verify(secret)
    assert principal is not None
    assert principal.permissions == frozenset({"profiles:read"})
    assert not principal.can("pipeline:run")
    with pytest.raises(AuthError, match="does not grant pii:read") as caught:
        store.tokens.create(ann, scopes=["profiles:read", "pii:read"], actor="admin")
    assert caught.value.code == "invalid_request"
    assert "pipeline:run" in (caught.value.hint or "")
    with pytest.raises(AuthError, match="Unknown permission"):
        store.tokens.create(ann, scopes=["profiles:write"], actor="admin")  # type: ignore[list-item]
    with pytest.raises(AuthError, match="at least one scope"):
        store.tokens.create(ann, scopes=[], actor="admin")
    assert len(store.tokens.list()) == 1


def test_a_lower_role_narrows_existing_tokens(store: AuthStore, ann: str) -> None:
    _, secret = store.tokens.create(ann, actor="admin")
    store.users.set_role(ann, "viewer", actor="admin")
    principal = store.tokens.verify(secret)
    assert principal is not None
    assert principal.permissions == ROLE_PERMISSIONS["viewer"]
    assert principal.role == "viewer"


def test_tokens_expire(store: AuthStore, ann: str, clock: Clock) -> None:
    token, secret = store.tokens.create(ann, expires_in=timedelta(hours=1), actor="admin")
    assert token.expires_at == clock.now + timedelta(hours=1)
    forever, forever_secret = store.tokens.create(ann, expires_in=None, actor="admin")
    assert forever.expires_at is None
    clock.advance(minutes=59)
    assert store.tokens.verify(secret) is not None
    clock.advance(minutes=1)
    assert store.tokens.verify(secret) is None
    assert token.status(clock.now) == "expired"
    clock.advance(days=3650)
    assert store.tokens.verify(forever_secret) is not None
    with pytest.raises(AuthError, match="must be positive"):
        store.tokens.create(ann, expires_in=timedelta(0), actor="admin")


def test_the_default_lifetime_is_90_days(store: AuthStore, ann: str, clock: Clock) -> None:
    token, _ = store.tokens.create(ann, actor="admin")
    assert token.expires_at == clock.now + timedelta(days=90)


def test_revocation_takes_effect(store: AuthStore, ann: str) -> None:
    token, secret = store.tokens.create(ann, actor="admin")
    _, other_secret = store.tokens.create(ann, actor="admin")
    assert store.tokens.verify(secret) is not None
    revoked = store.tokens.revoke(token.token_id, actor="admin")
    assert revoked.revoked_at is not None
    assert store.tokens.verify(secret) is None
    assert store.tokens.verify(other_secret) is not None
    with pytest.raises(AuthError, match="revoked already") as caught:
        store.tokens.revoke(token.token_id, actor="admin")
    assert caught.value.code == "conflict"
    with pytest.raises(AuthError) as caught:
        store.tokens.revoke("nope", actor="admin")
    assert caught.value.code == "not_found"


def test_revocation_in_another_process_is_seen_within_the_cache_time(tmp_path: Path) -> None:
    path = tmp_path / "auth.sqlite"
    server = AuthStore(path, hasher=FAST_HASHER, token_cache_seconds=0.3)
    admin = AuthStore(path, hasher=FAST_HASHER)  # another process, as far as caches go
    admin.users.add("ann", "viewer", actor="t")
    token, secret = admin.tokens.create("ann", actor="t")
    assert server.tokens.verify(secret) is not None
    admin.tokens.revoke(token.token_id, actor="t")
    assert server.tokens.verify(secret) is not None  # still cached
    time.sleep(0.35)
    assert server.tokens.verify(secret) is None


def test_a_disabled_user_s_tokens_stop_verifying(store: AuthStore, ann: str) -> None:
    _, secret = store.tokens.create(ann, actor="admin")
    store.users.disable(ann, actor="admin")
    assert store.tokens.verify(secret) is None
    with pytest.raises(AuthError, match="disabled") as caught:
        store.tokens.create(ann, actor="admin")
    assert caught.value.code == "invalid_request"
    store.users.enable(ann, actor="admin")
    assert store.tokens.verify(secret) is not None


def test_reset_password_revokes_the_user_s_tokens(store: AuthStore, ann: str) -> None:
    store.users.add("bob", "viewer", actor="t")
    _, first = store.tokens.create(ann, actor="admin")
    _, second = store.tokens.create(ann, actor="admin")
    _, bobs = store.tokens.create("bob", actor="admin")
    store.users.reset_password(ann, actor="admin")
    assert store.tokens.verify(first) is None
    assert store.tokens.verify(second) is None
    assert store.tokens.verify(bobs) is not None
    assert all(t.revoked_at is not None for t in store.tokens.list(ann))


def test_tokens_of_unknown_users_are_refused(store: AuthStore) -> None:
    with pytest.raises(AuthError) as caught:
        store.tokens.create("ghost", actor="admin")
    assert caught.value.code == "not_found"


def test_last_used_is_noted_at_most_once_a_minute(store: AuthStore, ann: str, clock: Clock) -> None:
    _, secret = store.tokens.create(ann, actor="admin")
    assert store.tokens.list()[0].last_used_at is None
    store.tokens.verify(secret)
    assert store.tokens.list()[0].last_used_at == clock.now
    first = clock.now
    clock.advance(seconds=30)
    store.tokens.verify(secret)
    assert store.tokens.list()[0].last_used_at == first
    clock.advance(seconds=31)
    store.tokens.verify(secret)
    assert store.tokens.list()[0].last_used_at == clock.now
