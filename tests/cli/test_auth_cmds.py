"""``insightloop users``, ``tokens``, ``keys``, ``audit`` and the first admin of ``init``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from insightloop import Workspace
from insightloop.auth import PERMISSIONS, ROLES, AuthStore

# The entry point registers every command in its order: importing auth_cmds first would list
# `users` first, and the generated docs/cli.md would differ (see test_identity_cmds.py).
from insightloop.cli.main import app, auth_cmds

cli_actor = auth_cmds.cli_actor

runner = CliRunner()


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin, env={"COLUMNS": "200", "NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


def _secret(out: str, label: str) -> str:
    found = re.findall(rf"^  {label}: (\S+)$", out, flags=re.MULTILINE)
    assert len(found) == 1, out
    return str(found[0])


@pytest.fixture
def ws(tmp_path: Path) -> str:
    code, out, err = invoke("init", str(tmp_path / "ws"))
    assert code == 0, out + err
    return str(tmp_path / "ws")


def test_init_prints_the_first_admin_password_once(tmp_path: Path) -> None:
    path = str(tmp_path / "ws")
    code, out, _ = invoke("init", path)
    assert code == 0
    password = _secret(out, "password")
    assert "username: admin" in out
    assert out.count(password) == 1
    assert "shown only now" in out
    assert "insightloop users reset-password admin" in out
    assert AuthStore.for_workspace(Path(path)).users.authenticate("admin", password)
    code, out, err = invoke("init", path)
    assert code == 1
    assert "already an insightloop workspace" in err
    assert "password" not in out + err


def test_workspace_init_keeps_the_password_and_open_does_not(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        assert ws.initial_admin_password
        assert ws.layout.auth_file == tmp_path / "ws" / "auth.sqlite"
        assert ws.layout.auth_file.is_file()
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.initial_admin_password is None
    with Workspace.init(tmp_path / "ws", exist_ok=True) as ws:
        assert ws.initial_admin_password is None


def test_users_add_list_disable_enable_reset_set_role(ws: str) -> None:
    code, out, _ = invoke("users", "add", "ann", "--role", "analyst", "-w", ws)
    assert code == 0, out
    password = _secret(out, "password")
    assert "cannot be shown again" in out
    store = AuthStore.for_workspace(Path(ws))
    assert store.users.authenticate("ann", password)
    code, out, _ = invoke("users", "add", "bob", "--role", "agent", "--password-stdin", "-w", ws,
                          stdin="a passphrase of my own\n")  # fmt: skip
    assert code == 0, out
    assert "a passphrase of my own" not in out
    assert store.users.authenticate("bob", "a passphrase of my own")
    code, out, _ = invoke("users", "list", "-w", ws)
    assert code == 0
    assert re.search(r"ann\s+│\s+analyst\s+│\s+active", out), out
    code, out, _ = invoke("users", "disable", "ann", "-w", ws)
    assert code == 0, out
    assert "cannot sign in" in out
    assert not store.users.authenticate("ann", password)
    code, out, _ = invoke("users", "list", "-w", ws, "--json")
    assert {u["username"]: u["disabled"] for u in json.loads(out)} == {
        "admin": False,
        "ann": True,
        "bob": False,
    }
    assert invoke("users", "enable", "ann", "-w", ws)[0] == 0
    code, out, _ = invoke("users", "reset-password", "ann", "-w", ws)
    assert code == 0, out
    new = _secret(out, "password")
    assert store.users.authenticate("ann", new)
    assert not store.users.authenticate("ann", password)
    code, out, _ = invoke("users", "set-role", "ann", "viewer", "-w", ws)
    assert code == 0, out
    assert "ann is now viewer (was analyst)" in out


def test_user_mistakes_fail_with_a_hint(ws: str) -> None:
    code, _, err = invoke("users", "add", "ann", "--role", "agent", "--password-stdin", "-w", ws,
                          stdin="Tiny-pw1\n")  # fmt: skip
    assert code == 1
    assert "too short (8 characters)" in err
    assert "Hint:" in err
    assert "Tiny-pw1" not in err
    code, _, err = invoke("users", "add", "ann", "--role", "boss", "-w", ws)
    assert code == 2
    assert "boss" in err
    code, _, err = invoke("users", "add", "admin", "--role", "viewer", "-w", ws)
    assert code == 1
    assert "exists already" in err
    code, _, err = invoke("users", "disable", "ghost", "-w", ws)
    assert code == 1
    assert "There is no user 'ghost'" in err
    assert "users list" in err
    code, _, err = invoke("users", "disable", "admin", "-w", ws)
    assert code == 1
    assert "last enabled admin" in err
    code, _, err = invoke("users", "add", "ann", "--role", "agent", "--password-stdin", "-w", ws,
                          stdin="")  # fmt: skip
    assert code == 1
    assert "found no password on stdin" in err
    code, _, err = invoke("users", "list", "-w", str(Path(ws).parent / "nowhere"))
    assert code == 1
    assert "insightloop init" in err


def test_tokens_create_list_revoke(ws: str) -> None:
    invoke("users", "add", "ann", "--role", "analyst", "-w", ws)
    scopes = ("--scope", "profiles:read", "--scope", "status:read")
    code, out, _ = invoke("tokens", "create", "ann", *scopes, "--label", "crm", "--expires-days",
                          "7", "-w", ws)  # fmt: skip
    assert code == 0, out
    secret = _secret(out, "token")
    assert "Authorization: Bearer $INSIGHTLOOP_TOKEN" in out
    assert "http://127.0.0.1:8000/api/v1/status" in out
    store = AuthStore.for_workspace(Path(ws))
    principal = store.tokens.verify(secret)
    assert principal is not None
    assert principal.permissions == {"profiles:read", "status:read"}
    token_id = principal.token_id
    assert token_id
    code, out, _ = invoke("tokens", "list", "-w", ws)
    assert code == 0
    assert token_id in out
    assert secret not in out
    code, out, _ = invoke("tokens", "create", "ann", "--no-expiry", "-w", ws, "--json")
    assert code == 0, out
    created = json.loads(out)
    assert created["token"]["expires_at"] is None
    assert created["secret"].startswith("il_tok_")
    code, out, _ = invoke("tokens", "list", "--user", "ann", "-w", ws, "--json")
    assert len(json.loads(out)) == 2
    code, out, _ = invoke("tokens", "revoke", token_id, "-w", ws)
    assert code == 0, out
    assert f"Revoked API token {token_id} of ann" in out
    assert AuthStore.for_workspace(Path(ws), token_cache_seconds=0).tokens.verify(secret) is None
    code, _, err = invoke("tokens", "create", "ann", "--scope", "users:manage", "-w", ws)
    assert code == 1
    assert "does not grant users:manage" in err
    code, _, err = invoke("tokens", "create", "ann", "--no-expiry", "--expires-days", "3", "-w", ws)
    assert code == 1
    assert "contradict" in err


def test_keys_create_list_revoke(ws: str) -> None:
    code, out, _ = invoke("keys", "create", "web", "--label", "shop", "-w", ws)
    assert code == 0, out
    secret = _secret(out, "write key")
    assert 'analytics.host = "http://127.0.0.1:8000"' in out
    assert "analytics.write_key" in out
    store = AuthStore.for_workspace(Path(ws))
    key = store.write_keys.verify(secret)
    assert key is not None
    assert key.source == "web"
    code, out, _ = invoke("keys", "list", "-w", ws)
    assert key.key_id in out
    assert key.prefix in out
    assert secret not in out
    code, out, _ = invoke("keys", "revoke", key.key_id, "-w", ws)
    assert code == 0, out
    code, out, _ = invoke("keys", "list", "-w", ws)
    assert "No active write keys" in out
    code, out, _ = invoke("keys", "list", "--all", "--source", "web", "-w", ws, "--json")
    assert [k["key_id"] for k in json.loads(out)] == [key.key_id]
    code, _, err = invoke("keys", "revoke", key.key_id, "-w", ws)
    assert code == 1
    assert "revoked already" in err


def test_audit_shows_and_filters_what_was_done(ws: str) -> None:
    invoke("users", "add", "ann", "--role", "analyst", "-w", ws)
    invoke("keys", "create", "web", "-w", ws)
    code, out, _ = invoke("audit", "-w", ws)
    assert code == 0, out
    for action in ("user.bootstrap_admin", "user.add", "write_key.create"):
        assert action in out
    assert cli_actor() in out
    code, out, _ = invoke("audit", "--action", "user.*", "--since", "1h", "-w", ws, "--json")
    assert code == 0
    entries = json.loads(out)
    assert [(e["actor"], e["action"], e["target"]) for e in entries] == [
        (cli_actor(), "user.add", "ann"),
        ("system", "user.bootstrap_admin", "admin"),
    ]
    code, out, _ = invoke("audit", "--actor", "nobody", "-w", ws)
    assert "No audit entries match" in out
    code, out, _ = invoke("audit", "--until", "2000-01-01", "-w", ws, "--json")
    assert json.loads(out) == []
    code, _, err = invoke("audit", "--since", "yesterday", "-w", ws)
    assert code == 1
    assert "ISO 8601" in err


def test_the_cli_choices_are_the_roles_and_permissions() -> None:
    assert tuple(auth_cmds.RoleChoice) == ROLES
    assert tuple(auth_cmds.PermissionChoice) == PERMISSIONS
    assert cli_actor().startswith("cli")


def test_demo_up_shows_usable_admin_credentials_also_on_a_reused_workspace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from insightloop.cli.demo_cmds import _show_demo_admin

    with Workspace.init(tmp_path / "ws") as ws:
        first = ws.initial_admin_password
    _show_demo_admin(tmp_path / "ws", first)
    out = capsys.readouterr().out
    assert first
    assert _secret(out, "password") == first
    assert "username: admin" in out
    # `demo up` again: the workspace is reused and the first password is gone; a new one works.
    _show_demo_admin(tmp_path / "ws", None)
    out = capsys.readouterr().out
    assert "password of its admin 'admin' was reset" in " ".join(out.split())
    second = _secret(out, "password")
    store = AuthStore.for_workspace(tmp_path / "ws")
    assert store.users.authenticate("admin", second)
    assert not store.users.authenticate("admin", first)
    assert store.audit.query(action="user.reset_password")[0].actor == "cli:demo"
