"""Users: argon2 hashes, sign-in, passwords, roles, disabling, the first admin."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from insightloop.auth import (
    PERMISSIONS,
    ROLE_PERMISSIONS,
    ROLES,
    AuthError,
    AuthStore,
    Principal,
)
from insightloop.auth.passwords import Passwords
from tests.auth.conftest import FAST_HASHER

PASSWORD = "correct horse battery staple"


def _stored_hash(store: AuthStore, username: str) -> str:
    with sqlite3.connect(store.path) as conn:
        row = conn.execute("SELECT password_hash FROM users WHERE username = ?", (username,))
        value: str = row.fetchone()[0]
    conn.close()
    return value


def test_passwords_are_stored_as_argon2id_hashes_only(store: AuthStore) -> None:
    user, password = store.users.add("ann", "analyst", password=PASSWORD, actor="t")
    assert password == PASSWORD
    stored = _stored_hash(store, "ann")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert PASSWORD.encode() not in store.path.read_bytes()
    assert not hasattr(user, "password_hash")
    assert "argon2" not in repr(user)


def test_authenticate_right_wrong_disabled_unknown(store: AuthStore) -> None:
    store.users.add("ann", "agent", password=PASSWORD, actor="t")
    principal = store.users.authenticate("ann", PASSWORD)
    assert principal == Principal("ann", "agent", ROLE_PERMISSIONS["agent"], None)
    assert principal.can("pii:read")
    assert not principal.can("pipeline:run")
    assert store.users.authenticate("ANN", PASSWORD) is not None  # usernames ignore case
    assert store.users.authenticate("ann", PASSWORD + "!") is None
    assert store.users.authenticate("ann", "") is None
    assert store.users.authenticate("nobody", PASSWORD) is None
    store.users.disable("ann", actor="t")
    assert store.users.authenticate("ann", PASSWORD) is None
    store.users.enable("ann", actor="t")
    assert store.users.authenticate("ann", PASSWORD) is not None


def test_generated_passwords_are_long_random_and_work(store: AuthStore) -> None:
    _, first = store.users.add("ann", "viewer", actor="t")
    _, second = store.users.add("bob", "viewer", actor="t")
    assert first != second
    assert len(first) >= 20
    assert len(second) >= 20
    assert all(c.isalnum() or c in "-_" for c in first + second)
    assert store.users.authenticate("ann", first)
    assert store.users.authenticate("bob", second)


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("Xq7!zp", "too short (6 characters): it needs at least 12"),
        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
        ("my-name-is-ann-ok", "contains the username"),
        (" leading space pw", "white space"),
        ("x" * 2000, "too long"),
    ],
)
def test_weak_passwords_are_refused_saying_what_to_fix(
    store: AuthStore, password: str, says: str
) -> None:
    with pytest.raises(AuthError) as caught:
        store.users.add("ann", "viewer", password=password, actor="t")
    assert caught.value.code == "invalid_request"
    assert says in caught.value.message
    assert caught.value.hint
    assert password not in str(caught.value)
    assert store.users.get("ann") is None


def test_duplicates_bad_names_and_roles_are_refused(store: AuthStore) -> None:
    store.users.add("ann", "viewer", actor="t")
    with pytest.raises(AuthError, match="exists already") as caught:
        store.users.add("Ann", "analyst", actor="t")
    assert caught.value.code == "conflict"
    with pytest.raises(AuthError, match="Invalid username") as caught:
        store.users.add("ann smith", "viewer", actor="t")
    assert caught.value.code == "invalid_request"
    with pytest.raises(AuthError, match="Unknown role") as caught:
        store.users.add("bob", "superuser", actor="t")  # type: ignore[arg-type]
    assert "admin, analyst, marketer, agent, viewer" in (caught.value.hint or "")
    assert [u.username for u in store.users.list()] == ["ann"]


def test_the_role_matrix() -> None:
    expected = {
        "profiles:read": set(ROLES),
        "pii:read": {"admin", "agent"},
        "status:read": set(ROLES),
        "identity:decide": {"admin", "analyst"},
        "segments:write": {"admin", "analyst", "marketer"},
        "pipeline:run": {"admin", "analyst"},
        "users:manage": {"admin"},
        "keys:manage": {"admin"},
        "audit:read": {"admin"},
    }
    assert set(PERMISSIONS) == set(expected)
    assert ROLES == ("admin", "analyst", "marketer", "agent", "viewer")
    for permission, roles in expected.items():
        assert {r for r in ROLES if permission in ROLE_PERMISSIONS[r]} == roles, permission
    assert ROLE_PERMISSIONS["admin"] == frozenset(PERMISSIONS)
    with pytest.raises(TypeError):
        ROLE_PERMISSIONS["viewer"] = frozenset(PERMISSIONS)  # type: ignore[index]


def test_the_matrix_is_documented_as_in_the_code() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "access-control.md").read_text(encoding="utf-8")
    for permission in PERMISSIONS:
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{permission}`"))
        cells = [c.strip() for c in row.strip("|").split("|")][1 : 1 + len(ROLES)]
        granted = {role for role, cell in zip(ROLES, cells, strict=True) if cell}
        assert granted == {r for r in ROLES if permission in ROLE_PERMISSIONS[r]}, permission


def test_set_role_and_reset_password(store: AuthStore) -> None:
    store.users.add("ann", "viewer", password=PASSWORD, actor="t")
    user = store.users.set_role("ann", "marketer", actor="t")
    assert user.role == "marketer"
    principal = store.users.authenticate("ann", PASSWORD)
    assert principal is not None
    assert principal.can("segments:write")
    before = user.password_changed_at
    new = store.users.reset_password("ann", actor="t")
    assert new != PASSWORD
    assert store.users.authenticate("ann", PASSWORD) is None
    assert store.users.authenticate("ann", new) is not None
    changed = store.users.get("ann")
    assert changed is not None
    assert changed.password_changed_at >= before
    chosen = "another long passphrase"
    assert store.users.reset_password("ann", password=chosen, actor="t") == chosen
    assert store.users.authenticate("ann", chosen) is not None
    with pytest.raises(AuthError, match="too short"):
        store.users.reset_password("ann", password="short", actor="t")
    with pytest.raises(AuthError) as caught:
        store.users.reset_password("nobody", actor="t")
    assert caught.value.code == "not_found"


def test_the_last_enabled_admin_cannot_be_disabled_or_demoted(store: AuthStore) -> None:
    store.bootstrap_admin()
    for change in (
        lambda: store.users.disable("admin", actor="t"),
        lambda: store.users.set_role("admin", "viewer", actor="t"),
    ):
        with pytest.raises(AuthError, match="last enabled admin") as caught:
            change()
        assert caught.value.code == "conflict"
    store.users.add("root", "admin", actor="t")
    assert store.users.disable("admin", actor="t").disabled
    with pytest.raises(AuthError, match="disabled already") as caught:
        store.users.disable("admin", actor="t")
    assert caught.value.code == "conflict"


def test_bootstrap_admin_once(store: AuthStore) -> None:
    password = store.bootstrap_admin()
    assert password is not None
    assert len(password) >= 20
    principal = store.users.authenticate("admin", password)
    assert principal is not None
    assert principal.permissions == frozenset(PERMISSIONS)
    assert store.bootstrap_admin() is None
    assert store.bootstrap_admin("other") is None
    assert [u.username for u in store.users.list()] == ["admin"]


def test_a_hash_with_old_parameters_is_upgraded_at_sign_in(tmp_path: Path) -> None:
    path = tmp_path / "auth.sqlite"
    old = AuthStore(path, hasher=FAST_HASHER)
    old.users.add("ann", "viewer", password=PASSWORD, actor="t")
    assert "m=8192,t=1,p=1" in _stored_hash(old, "ann")
    stronger = PasswordHasher(time_cost=2, memory_cost=16384, parallelism=1)
    new = AuthStore(path, hasher=stronger)
    assert new.users.authenticate("ann", PASSWORD) is not None
    assert "m=16384,t=2,p=1" in _stored_hash(new, "ann")
    assert new.users.authenticate("ann", PASSWORD) is not None


def test_unknown_users_are_verified_against_a_dummy_hash(
    monkeypatch: pytest.MonkeyPatch, store: AuthStore
) -> None:
    calls: list[str] = []
    original = Passwords.verify

    def spy(self: Passwords, password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return original(self, password_hash, password)

    monkeypatch.setattr(Passwords, "verify", spy)
    assert store.users.authenticate("nobody", PASSWORD) is None
    assert len(calls) == 1
    assert calls[0].startswith("$argon2id$")


def test_the_default_hasher_is_argon2_cffis(tmp_path: Path) -> None:
    store = AuthStore(tmp_path / "auth.sqlite")
    hasher = store.users._passwords.hasher
    default = PasswordHasher()
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (
        default.time_cost,
        default.memory_cost,
        default.parallelism,
    )


def test_the_file_is_private_and_versioned(store: AuthStore) -> None:
    assert store.path.stat().st_mode & 0o077 == 0
    assert store.schema_version == 1
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    again = AuthStore(store.path, hasher=FAST_HASHER)  # opening again changes nothing
    assert again.schema_version == 1


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    from insightloop.errors import MigrationError

    path = tmp_path / "auth.sqlite"
    AuthStore(path, hasher=FAST_HASHER)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(MigrationError, match="schema version 99"):
        AuthStore(path)
