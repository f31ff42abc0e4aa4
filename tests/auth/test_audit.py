"""The audit log: a row for every admin action, append-only, queryable, safe under concurrency."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from insightloop.auth import AuthError, AuthStore
from tests.auth.conftest import FAST_HASHER, Clock


def test_every_admin_action_is_audited_without_secrets(store: AuthStore) -> None:
    admin_password = store.bootstrap_admin()
    _, ann_password = store.users.add("ann", "analyst", actor="root")
    store.users.set_role("ann", "agent", actor="root")
    store.users.disable("ann", actor="root")
    store.users.enable("ann", actor="root")
    token, token_secret = store.tokens.create("ann", actor="root")
    store.tokens.revoke(token.token_id, actor="root")
    new_password = store.users.reset_password("ann", actor="root")
    key, key_secret = store.write_keys.create("web", actor="root")
    store.write_keys.revoke(key.key_id, actor="root")
    entries = store.audit.query()
    assert [(e.actor, e.action, e.target, e.outcome) for e in reversed(entries)] == [
        ("system", "user.bootstrap_admin", "admin", "ok"),
        ("root", "user.add", "ann", "ok"),
        ("root", "user.set_role", "ann", "ok"),
        ("root", "user.disable", "ann", "ok"),
        ("root", "user.enable", "ann", "ok"),
        ("root", "token.create", token.token_id, "ok"),
        ("root", "token.revoke", token.token_id, "ok"),
        ("root", "user.reset_password", "ann", "ok"),
        ("root", "write_key.create", key.key_id, "ok"),
        ("root", "write_key.revoke", key.key_id, "ok"),
    ]
    assert entries[-3].details == {"from": "analyst", "to": "agent"}
    assert entries[2].details == {"tokens_revoked": 0}
    text = repr(entries)
    for secret in (admin_password, ann_password, token_secret, new_password, key_secret):
        assert secret
        assert secret not in text


def test_refused_admin_actions_are_audited_too(store: AuthStore) -> None:
    with pytest.raises(AuthError):
        store.users.add("ann", "viewer", password="short", actor="root")
    with pytest.raises(AuthError):
        store.tokens.revoke("nope", actor="root")
    entries = store.audit.query()
    assert [(e.action, e.target, e.outcome, e.details) for e in entries] == [
        ("token.revoke", "nope", "refused", {"error": "not_found"}),
        ("user.add", "ann", "refused", {"error": "invalid_request"}),
    ]


def test_the_audit_log_refuses_update_and_delete(store: AuthStore) -> None:
    store.audit.record("ann", "profile.read", target="cus_1")
    conn = sqlite3.connect(store.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE audit_log SET actor = 'mallory'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM audit_log")
    finally:
        conn.close()
    assert [e.actor for e in store.audit.query()] == ["ann"]


def test_query_filters(store: AuthStore, clock: Clock) -> None:
    start = clock.now
    store.audit.record("ann", "profile.read", target="cus_1", details={"fields": ["email"]})
    clock.advance(hours=1)
    store.audit.record("bob", "profile.read", target="cus_2")
    clock.advance(hours=1)
    store.audit.record("ann", "segment.create", target="seg_1", outcome="denied")
    clock.advance(hours=1)
    store.audit.record("ann", "profile.read", target="cus_2")

    def q(**filters: object) -> list[tuple[str, str, str | None]]:
        return [(e.actor, e.action, e.target) for e in store.audit.query(**filters)]  # type: ignore[arg-type]

    assert q(actor="ann") == [
        ("ann", "profile.read", "cus_2"),
        ("ann", "segment.create", "seg_1"),
        ("ann", "profile.read", "cus_1"),
    ]
    assert q(action="segment.create") == [("ann", "segment.create", "seg_1")]
    assert q(action="profile.*", target="cus_2") == [
        ("ann", "profile.read", "cus_2"),
        ("bob", "profile.read", "cus_2"),
    ]
    assert q(action="profile_*") == []  # _ is no wildcard
    assert q(since=start + timedelta(hours=1), until=start + timedelta(hours=2)) == [
        ("bob", "profile.read", "cus_2")
    ]
    assert q(since=start.replace(tzinfo=None) + timedelta(hours=3)) == [  # naive = UTC
        ("ann", "profile.read", "cus_2")
    ]
    assert len(q(limit=2)) == 2
    first = store.audit.query(target="cus_1")[0]
    assert first.details == {"fields": ["email"]}
    assert first.at == start
    assert store.audit.query(target="seg_1")[0].outcome == "denied"
    with pytest.raises(AuthError, match="limit"):
        store.audit.query(limit=0)


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from insightloop.auth import AuthStore
    store = AuthStore(Path(sys.argv[1]))
    for i in range(int(sys.argv[3])):
        store.audit.record(sys.argv[2], "profile.read", target=f"cus_{i}")
        if i % 20 == 0:
            store.write_keys.create("src", actor=sys.argv[2])
    """
)


def test_two_processes_writing_at_once_lose_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "auth.sqlite"
    rows = 300
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), name, str(rows)])
        for name in ("worker-1", "worker-2", "worker-3")
    ]
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    store = AuthStore(path, hasher=FAST_HASHER)
    for name in ("worker-1", "worker-2", "worker-3"):
        reads = store.audit.query(actor=name, action="profile.read", limit=10_000)
        assert len(reads) == rows
        assert len(store.audit.query(actor=name, action="write_key.create")) == rows // 20
    assert len(store.write_keys.list("src")) == 3 * rows // 20


def test_no_secret_reaches_the_logs(store: AuthStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [store.bootstrap_admin() or ""]
    _, password = store.users.add("ann", "agent", actor="root")
    secrets.append(password)
    secrets.append(store.users.add("bob", "viewer", password="my own passphrase",
                                   actor="root")[1])  # fmt: skip
    assert store.users.authenticate("ann", password) is not None
    assert store.users.authenticate("ann", "a wrong guess of a password") is None
    token, token_secret = store.tokens.create("ann", actor="root")
    secrets.append(token_secret)
    assert store.tokens.verify(token_secret) is not None
    store.tokens.revoke(token.token_id, actor="root")
    secrets.append(store.users.reset_password("ann", actor="root"))
    key, key_secret = store.write_keys.create("web", actor="root")
    secrets.append(key_secret)
    assert store.write_keys.verify(key_secret) is not None
    store.write_keys.revoke(key.key_id, actor="root")
    with pytest.raises(AuthError):
        store.users.add("carl", "viewer", password="tiny", actor="root")
    secrets += ["a wrong guess of a password", "tiny"]
    assert caplog.records, "the flow logs something (ids and usernames)"
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.__dict__!r}" for r in caplog.records)
    for secret in secrets:
        assert secret
        assert secret not in logged
        assert secret[-12:] not in logged  # not even a part of one
