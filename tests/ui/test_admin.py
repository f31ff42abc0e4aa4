"""The administration pages: users and roles, API tokens, write keys, sources with their last
loads, and the audit log."""

from __future__ import annotations

import csv
import io
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from insightloop import Workspace
from insightloop.auth import AuthStore
from insightloop.ui.routes.admin_records import mask_url, to_csv
from tests.api.profile_fixtures import FAST
from tests.ui.conftest import make_app, shot

PAGES = {
    "/admin": "users:manage",
    "/admin/users": "users:manage",
    "/admin/tokens": "keys:manage",
    "/admin/keys": "keys:manage",
    "/admin/sources": "keys:manage",
    "/admin/audit": "audit:read",
    "/admin/audit.csv": "audit:read",
}
_SECRET = re.compile(r'id="secret" class="secret" type="text" readonly value="([^"]+)"')


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def secret_of(html: str) -> str:
    match = _SECRET.search(html)
    assert match, "no secret on the page"
    return match.group(1)


def found(pattern: str, html: str) -> str:
    match = re.search(pattern, html)
    assert match, f"{pattern!r} is not on the page"
    return match.group(1)


def role_of(root: Path, username: str) -> str | None:
    user = store(root).users.get(username)
    return user.role if user else None


def alert_of(html: str) -> str:
    match = re.search(r'<div class="alert" role="alert" id="error">(.*?)</div>', html, re.S)
    assert match, "no error message on the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def store(root: Path) -> AuthStore:
    return AuthStore.for_workspace(root, hasher=FAST, token_cache_seconds=0)


def second_client(client: TestClient) -> TestClient:
    """Another browser on the same server (its own cookies, the same app and auth store)."""
    return TestClient(client.app)


def sign_in_as(client: TestClient, username: str, password: str) -> int:
    r = client.post(
        "/login",
        data={"username": username, "password": password, "next": "/status"},
        follow_redirects=False,
    )
    return r.status_code


# -- rights ------------------------------------------------------------------------------------


def test_every_page_opens_for_an_admin(client_as: Callable[[str], TestClient]) -> None:
    admin = client_as("admin")
    for page in PAGES:
        r = admin.get(page)
        assert r.status_code == 200, (page, r.text[:500])
        assert r.headers["cache-control"] == "no-store"
    html = admin.get("/admin/users").text
    assert '<a href="/admin/users" aria-current="page">' in html
    # The role matrix is the store's.
    assert html.count('aria-label="granted"') == 5 + 2 + 5 + 2 + 3 + 2 + 1 + 1 + 1


@pytest.mark.parametrize("role", ["analyst", "marketer", "agent", "viewer"])
def test_other_roles_are_refused(client_as: Callable[[str], TestClient], role: str) -> None:
    client = client_as(role)
    for page, permission in PAGES.items():
        r = client.get(page)
        assert r.status_code == 403, (page, r.status_code)
        assert permission in r.text
    name = unique("not-made")
    r = client.post("/admin/users", data={"username": name, "role": "admin"})
    assert r.status_code == 403
    r = client.post("/admin/keys", data={"source": "web"})
    assert r.status_code == 403
    assert client.get("/status").text.count('href="/admin"') == 0


# -- users -------------------------------------------------------------------------------------


def test_add_a_user_and_sign_in_with_the_password_shown_once(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    admin = client_as("admin")
    name = unique("ann")
    r = admin.post("/admin/users", data={"username": name, "role": "analyst"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert str(r.url).endswith("/admin/users")
    assert "shown only now" in r.text
    password = secret_of(r.text)
    assert len(password) >= 24
    # The list never shows the password again.
    assert password not in admin.get("/admin/users").text
    assert role_of(demo_root, name) == "analyst"

    browser = second_client(admin)
    assert sign_in_as(browser, name, password) == 303
    page = browser.get("/status")
    assert page.status_code == 200
    assert name in page.text
    entries = store(demo_root).audit.query(actor="ui-admin", action="user.add", target=name)
    assert [(e.outcome, e.details) for e in entries] == [("ok", {"role": "analyst"})]


def test_a_typed_password_and_the_checks_of_the_store(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    admin = client_as("admin")
    name = unique("bo")
    r = admin.post("/admin/users", data={"username": name, "role": "viewer", "password": "short"})
    assert r.status_code == 422
    assert "12" in alert_of(r.text)
    assert f'value="{name}"' in r.text  # the form keeps what was typed, but not the password
    assert store(demo_root).users.get(name) is None

    r = admin.post("/admin/users", data={"username": "bad name!", "role": "viewer"})
    assert r.status_code == 422
    assert "Invalid username" in alert_of(r.text)
    r = admin.post("/admin/users", data={"username": unique("x"), "role": "boss"})
    assert r.status_code == 422
    assert "Unknown role" in alert_of(r.text)

    typed = "a-long-enough-passphrase"
    r = admin.post(
        "/admin/users",
        data={"username": name, "role": "viewer", "password": typed},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert typed not in r.headers["location"]
    page = admin.get(r.headers["location"])
    assert f"User {name} was added with the password you typed." in page.text
    assert typed not in page.text
    r = admin.post("/admin/users", data={"username": name.upper(), "role": "viewer"})
    assert r.status_code == 409
    assert "exists already" in alert_of(r.text)
    assert sign_in_as(second_client(admin), name, typed) == 303


def test_change_role_disable_enable_and_reset_password(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    admin = client_as("admin")
    name = unique("cy")
    password = secret_of(
        admin.post("/admin/users", data={"username": name, "role": "analyst"}).text
    )
    browser = second_client(admin)
    assert sign_in_as(browser, name, password) == 303
    assert browser.get("/status").status_code == 200

    r = admin.post(f"/admin/users/{name}/role", data={"role": "marketer"}, follow_redirects=False)
    assert r.status_code == 303
    assert "The role of" in admin.get(r.headers["location"]).text
    assert role_of(demo_root, name) == "marketer"
    r = admin.post(f"/admin/users/{name}/role", data={"role": "boss"})
    assert r.status_code == 422

    r = admin.post(f"/admin/users/{name}/disable", follow_redirects=False)
    assert r.status_code == 303
    assert f'<tr data-user="{name}" class="is-disabled">' in admin.get("/admin/users").text
    # The user's session is refused at once: the same server revoked it.
    r = browser.get("/status", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")
    assert sign_in_as(second_client(admin), name, password) == 401
    r = admin.post(f"/admin/users/{name}/disable")
    assert r.status_code == 409
    assert "disabled already" in alert_of(r.text)

    assert admin.post(f"/admin/users/{name}/enable", follow_redirects=False).status_code == 303
    r = admin.post(f"/admin/users/{name}/password")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    new = secret_of(r.text)
    assert new != password
    assert sign_in_as(second_client(admin), name, password) == 401
    assert sign_in_as(second_client(admin), name, new) == 303
    r = admin.post(f"/admin/users/{unique('nobody')}/password")
    assert r.status_code == 404
    assert "There is no user" in alert_of(r.text)

    actions = [e.action for e in store(demo_root).audit.query(actor="ui-admin", target=name)]
    for action in ("user.add", "user.set_role", "user.disable", "user.enable"):
        assert action in actions
    assert "user.reset_password" in actions


@pytest.fixture(scope="module")
def own_root(
    demo_root: Path, passwords: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A copy of the demo workspace for changes others must not see (its own admins, a
    database source)."""
    root = tmp_path_factory.mktemp("admin-own") / "ws"
    shutil.copytree(demo_root, root)
    return root


@pytest.fixture
def own_admin(own_root: Path, passwords: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(make_app(own_root)) as client:
        assert sign_in_as(client, "ui-admin", passwords["admin"]) == 303
        token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', client.get("/status").text)
        assert token
        client.headers["X-CSRF-Token"] = token.group(1)
        yield client


def test_the_last_admin_can_neither_be_disabled_nor_demoted(
    own_root: Path, own_admin: TestClient
) -> None:
    auth = store(own_root)
    for u in auth.users.list():
        if u.role == "admin" and not u.disabled and u.username != "ui-admin":
            auth.users.disable(u.username, actor="test")
    r = own_admin.post("/admin/users/ui-admin/disable")
    assert r.status_code == 409
    message = alert_of(r.text)
    assert "last enabled admin" in message
    assert "Add or enable another admin" in message
    r = own_admin.post("/admin/users/ui-admin/role", data={"role": "viewer"})
    assert r.status_code == 409
    assert "last enabled admin" in alert_of(r.text)
    user = auth.users.get("ui-admin")
    assert user is not None
    assert user.role == "admin"
    assert not user.disabled
    refused = auth.audit.query(actor="ui-admin", target="ui-admin", limit=5)
    assert {(e.action, e.outcome, e.details.get("error")) for e in refused} >= {
        ("user.disable", "refused", "conflict"),
        ("user.set_role", "refused", "conflict"),
    }


# -- API tokens --------------------------------------------------------------------------------


def test_a_token_made_in_the_ui_works_until_it_is_revoked(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    admin = client_as("admin")
    label = unique("crm sync")
    r = admin.post(
        "/admin/tokens",
        data={"username": "ui-analyst", "scopes": ["status:read", "profiles:read"],
              "expires_days": "7", "label": label},
    )  # fmt: skip
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    secret = secret_of(r.text)
    token_id = found(r'<code id="secret-token-id">([0-9a-f]+)</code>', r.text)
    assert secret.startswith(f"il_tok_{token_id}_")

    api = TestClient(admin.app)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/status", headers=bearer).status_code == 200
    token = next(t for t in store(demo_root).tokens.list("ui-analyst") if t.token_id == token_id)
    assert token.label == label
    assert token.scopes == ("profiles:read", "status:read")
    assert token.expires_at is not None
    assert timedelta(days=6) < token.expires_at - datetime.now(UTC) <= timedelta(days=7)

    listed = admin.get("/admin/tokens?user=ui-analyst&kind=api").text
    assert f'data-token="{token_id}"' in listed
    assert label in listed
    assert secret not in listed

    r = admin.post(f"/admin/tokens/{token_id}/revoke", follow_redirects=False)
    assert r.status_code == 303
    assert f"API token {token_id} was revoked." in admin.get(r.headers["location"]).text
    assert api.get("/api/v1/status", headers=bearer).status_code == 401
    r = admin.post(f"/admin/tokens/{token_id}/revoke")
    assert r.status_code == 409
    assert "revoked already" in alert_of(r.text)
    entries = store(demo_root).audit.query(actor="ui-admin", target=token_id)
    assert [e.action for e in entries] == ["token.revoke", "token.revoke", "token.create"]
    assert entries[0].outcome == "refused"


def test_what_a_token_may_not_be(client_as: Callable[[str], TestClient], demo_root: Path) -> None:
    admin = client_as("admin")
    before = len(store(demo_root).tokens.list("ui-viewer"))
    r = admin.post("/admin/tokens", data={"username": "ui-viewer", "scopes": ["pii:read"]})
    assert r.status_code == 422
    assert "does not grant pii:read" in alert_of(r.text)
    assert 'value="pii:read" checked' in r.text  # the form is shown again as it was sent
    r = admin.post("/admin/tokens", data={"username": "ui-viewer", "label": "Web Session"})
    assert r.status_code == 422
    assert "kept for the sessions" in alert_of(r.text)
    r = admin.post("/admin/tokens", data={"username": "ui-viewer", "expires_days": "0"})
    assert r.status_code == 422
    assert "must be positive" in alert_of(r.text)
    r = admin.post("/admin/tokens", data={"username": "ui-viewer", "expires_days": "x"})
    assert r.status_code == 422
    r = admin.post("/admin/tokens", data={"username": unique("ghost")})
    assert r.status_code == 404
    assert len(store(demo_root).tokens.list("ui-viewer")) == before
    r = admin.post("/admin/tokens", data={"username": "ui-viewer", "no_expiry": "true"})
    assert r.status_code == 200
    assert "never" in r.text


def test_web_sessions_are_listed_apart(client_as: Callable[[str], TestClient]) -> None:
    admin = client_as("admin")
    sessions = admin.get("/admin/tokens?user=ui-admin&kind=session").text
    assert 'class="badge session">web session</span>' in sessions
    assert 'class="badge">this session</span>' in sessions
    assert 'class="kind-api"' not in sessions
    apis = admin.get("/admin/tokens?kind=api&status=all").text
    assert 'class="kind-session"' not in apis
    partial = admin.get("/admin/tokens?kind=session", headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert partial.text.lstrip().startswith('<div id="tokens-results">')
    assert "<html" not in partial.text


# -- write keys --------------------------------------------------------------------------------


def test_create_and_revoke_a_write_key(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    admin = client_as("admin")
    source = unique("web")
    r = admin.post("/admin/keys", data={"source": source, "label": "shop front"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    secret = secret_of(r.text)
    assert secret.startswith("il_wk_")
    key_id = found(r'<code id="secret-key-id">(wk_[0-9a-f]+)</code>', r.text)
    key = store(demo_root).write_keys.verify(secret)
    assert key is not None
    assert (key.key_id, key.source, key.label) == (key_id, source, "shop front")
    listed = admin.get("/admin/keys").text
    assert f'data-key="{key_id}"' in listed
    assert secret[:10] in listed
    assert secret not in listed
    assert source in admin.get("/admin/sources").text  # a source of the collection API

    r = admin.post(f"/admin/keys/{key_id}/revoke", follow_redirects=False)
    assert r.status_code == 303
    assert store(demo_root).write_keys.verify(secret) is None
    assert f'data-key="{key_id}"' not in admin.get("/admin/keys").text
    assert "revoked" in admin.get("/admin/keys?show=all").text
    r = admin.post("/admin/keys", data={"source": "no spaces please"})
    assert r.status_code == 422
    assert "Invalid source name" in alert_of(r.text)
    actions = [e.action for e in store(demo_root).audit.query(actor="ui-admin", target=key_id)]
    assert actions == ["write_key.revoke", "write_key.create"]


# -- sources -----------------------------------------------------------------------------------


def _expected_last_loads(root: Path) -> dict[str, dict[str, Any]]:
    """The last load of each source, worked out in Python from the rows of load_batches."""
    with Workspace.open(root, read_only=True) as ws:
        batches = ws.engine.to_pyarrow(ws.engine.table("load_batches")).to_pylist()
        declared = list(ws.sources())
    finished = [b for b in batches if b["status"] != "started"]
    expected: dict[str, dict[str, Any]] = {}
    for name in declared:
        mine = [b for b in finished if b["source"] == name]
        if not mine:
            continue
        newest = max(mine, key=lambda b: (b["finished_at"] or b["started_at"], b["batch_id"]))
        run = [b for b in mine if b["run_id"] == newest["run_id"]]
        expected[name] = {
            col: sum(b[col] or 0 for b in run)
            for col in ("rows_read", "rows_loaded", "rows_quarantined", "duplicates_skipped")
        }
        statuses = {b["status"] for b in run}
        expected[name]["status"] = (
            "failed" if "failed" in statuses else "loaded" if "loaded" in statuses else "unchanged"
        )
    assert len(expected) == len(declared) > 10, "every demo source was loaded"
    return expected


def test_sources_show_their_last_loads(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    expected = _expected_last_loads(demo_root)
    html = client_as("admin").get("/admin/sources").text
    for name, figures in expected.items():
        row = re.search(rf'<tr data-source="{name}">(.*?)</tr>', html, re.S)
        assert row, name
        shown: dict[str, Any] = {
            k: int(v.replace(",", ""))
            for k, v in re.findall(r'data-col="(\w+)">([\d,]+)<', row.group(1))
        }
        status = re.search(r'class="load-status status-(\w+)"', row.group(1))
        shown["status"] = status.group(1) if status else None
        assert shown == figures, name


def test_a_database_password_never_shows(own_root: Path, own_admin: TestClient) -> None:
    with Workspace.open(own_root) as ws:
        ws.add_source(
            "erp_db",
            {"kind": "database", "entity": "customers", "table": "customers", "incremental": False,
             "url": "postgresql://reader:Sup3r-S3cret-pw@db.example.com:5432/sales"
                    "?sslmode=require&password=0ther-S3cret"},
        )  # fmt: skip
    html = own_admin.get("/admin/sources").text
    assert "Sup3r-S3cret-pw" not in html
    assert "0ther-S3cret" not in html
    row = re.search(r'<tr data-source="erp_db">(.*?)</tr>', html, re.S)
    assert row
    assert "postgresql://reader@db.example.com:5432/sales (table customers)" in row.group(1)
    assert "not loaded yet" in row.group(1)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://reader:pw@db:5432/sales?sslmode=require", "postgresql://reader@db:5432/sales"),
        ("postgres://u:${PGPASSWORD}@${PGHOST}/x", "postgres://u@${PGHOST}/x"),
        ("mysql://u:p@ss@db/shop", "mysql://u@db/shop"),
        ("mysql://u:pa/ss@db/shop", "mysql://***"),
        ("postgresql://u:1234?x@db/y", "postgresql://***"),
        ("sqlite:///data/shop.db", "sqlite:///data/shop.db"),
        ("nonsense", "?://***"),
    ],
)  # fmt: skip
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


# -- the audit log -----------------------------------------------------------------------------


def _entry_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-entry="(\d+)">', html)]


def test_audit_filters_find_what_the_ui_did(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    admin = client_as("admin")
    name = unique("dee")
    admin.post("/admin/users", data={"username": name, "role": "viewer"})
    admin.post(f"/admin/users/{name}/role", data={"role": "agent"})
    admin.post("/admin/users", data={"username": name, "role": "viewer"})  # refused: taken
    auth = store(demo_root)

    html = admin.get(f"/admin/audit?target={name}").text
    expected = [e.entry_id for e in auth.audit.query(target=name)]
    assert _entry_ids(html) == expected
    assert len(expected) == 3
    html = admin.get(f"/admin/audit?target={name}&action=user.set_role").text
    assert _entry_ids(html) == [
        e.entry_id for e in auth.audit.query(target=name, action="user.set_role")
    ]
    assert "from=<span>viewer</span>" in html
    assert "to=<span>agent</span>" in html
    html = admin.get(f"/admin/audit?target={name}&outcome=refused").text
    (refused,) = auth.audit.query(target=name, action="user.add", limit=1)
    assert _entry_ids(html) == [refused.entry_id]
    assert refused.outcome == "refused"
    html = admin.get(f"/admin/audit?target={name}&action=user.*&actor=ui-admin&since=1h").text
    assert len(_entry_ids(html)) == 3
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    html = admin.get(f"/admin/audit?target={name}&until={yesterday}").text
    assert _entry_ids(html) == []
    assert 'id="audit-empty"' in html
    today = datetime.now(UTC).date().isoformat()
    assert len(_entry_ids(admin.get(f"/admin/audit?target={name}&until={today}").text)) == 3

    r = admin.get("/admin/audit?since=last+tuesday")
    assert r.status_code == 422
    assert "is no time" in alert_of(r.text)
    partial = admin.get(f"/admin/audit?target={name}", headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="audit-results">')
    assert "<html" not in partial.text
    assert len(_entry_ids(partial.text)) == 3


def test_the_audit_log_pages_and_exports(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    actor = unique("pager")
    auth = store(demo_root)
    auth.audit.record_many(
        [{"actor": actor, "action": "profile.read", "target": f"cus_{i:04d}",
          "outcome": "denied" if i % 10 == 0 else "ok"} for i in range(120)]
    )  # fmt: skip
    admin = client_as("admin")
    seen: list[int] = []
    url: str | None = f"/admin/audit?actor={actor}"
    while url is not None:
        html = admin.get(url.replace("&amp;", "&")).text
        seen += _entry_ids(html)
        found = re.search(r'<a href="([^"]+)" rel="next" id="audit-older">', html)
        url = found.group(1) if found else None
    assert seen == [e.entry_id for e in auth.audit.query(actor=actor, limit=500)]
    assert len(seen) == 120
    assert seen == sorted(seen, reverse=True)

    denied = _entry_ids(admin.get(f"/admin/audit?actor={actor}&outcome=denied").text)
    assert denied == [
        e.entry_id for e in auth.audit.query(actor=actor, limit=500) if e.outcome == "denied"
    ]
    assert len(denied) == 12

    r = admin.get(f"/admin/audit.csv?actor={actor}&outcome=denied")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [int(row["entry_id"]) for row in rows] == denied
    assert {row["outcome"] for row in rows} == {"denied"}
    (export,) = auth.audit.query(actor="ui-admin", action="audit.export", limit=1)
    assert export.details == {"entries": 12, "filters": ["actor", "outcome"]}


def test_csv_cells_are_never_formulas(demo_root: Path) -> None:
    auth = store(demo_root)
    actor = unique("csv")
    auth.audit.record(actor, "profile.read", target="=HYPERLINK(1)", details={"via": "+x"})
    (entry,) = auth.audit.query(actor=actor)
    row = list(csv.reader(io.StringIO(to_csv([entry]))))[1]
    assert row[4] == "'=HYPERLINK(1)"
    assert row[2] == actor


# -- in the browser ----------------------------------------------------------------------------


def test_administration_in_the_browser(page_as: Callable[[str], Any]) -> None:
    from playwright.sync_api import expect

    page = page_as("admin")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto("/admin")
    assert page.locator("#count-users .value").inner_text().isdigit()
    shot(page, "admin-overview")

    name = unique("eve")
    page.goto("/admin/users")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Role", exact=True).select_option("marketer")
    page.get_by_role("button", name="Add user").click()
    page.wait_for_url("**/admin/users")
    password = page.locator("#secret").input_value()
    assert len(password) >= 24
    shot(page, "admin-user-added")
    page.get_by_role("link", name="I have stored it").click()
    assert page.locator(f'tr[data-user="{name}"] select').input_value() == "marketer"
    shot(page, "admin-users")

    page.goto("/admin/tokens")
    page.get_by_label("For user").select_option(name)
    label = unique("nightly export")
    page.get_by_label("Label").fill(label)
    page.get_by_label("status:read").check()
    page.get_by_role("button", name="Create token").click()
    token_id = page.locator("#secret-token-id").inner_text()
    assert page.locator("#secret").input_value().startswith(f"il_tok_{token_id}_")
    shot(page, "admin-token-created")
    page.goto(f"/admin/tokens?user={name}")
    row = page.locator(f'tr[data-token="{token_id}"]')
    row.get_by_role("button", name="Revoke").click()
    page.wait_for_url(lambda url: "done=revoked" in url)
    expect(page.locator(f'tr[data-token="{token_id}"] .token-status')).to_contain_text("revoked")
    page.get_by_label("Kind").select_option("session")
    expect(page.locator("#tokens tr.kind-api")).to_have_count(0)
    expect(page.locator("#tokens tr.kind-session").first).to_be_visible()
    shot(page, "admin-tokens")

    page.goto("/admin/audit")
    page.get_by_label("Actor").fill("ui-admin")
    page.get_by_label("Target").fill(token_id)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(lambda url: f"target={token_id}" in url)
    expect(page.locator("#audit td.action")).to_have_text(["token.revoke", "token.create"])
    shot(page, "admin-audit")

    page.goto("/admin/keys")
    source = unique("app")
    page.get_by_label("Source").fill(source)
    page.get_by_role("button", name="Create write key").click()
    assert page.locator("#secret").input_value().startswith("il_wk_")
    key_id = page.locator("#secret-key-id").inner_text()
    shot(page, "admin-key-created")
    page.get_by_role("link", name="I have stored it").click()
    expect(page.locator(f'tr[data-key="{key_id}"] td').first).to_have_text(source)
    shot(page, "admin-keys")
    page.goto("/admin/sources")
    assert page.locator("#sources tbody tr").count() >= 15
    shot(page, "admin-sources")
