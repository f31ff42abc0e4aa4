"""Identity review pages: the queue, a pair side by side, accept and reject, a customer's records
with unmerge, merge, the merge history and the decisions; rights, masking, audit and CSRF.

Tests that decide work on their own copy of the demo workspace (``shutil.copytree`` of
``demo_root`` into ``tmp_path``), served by their own app; the browser test starts its own
uvicorn server on its copy. The demo company of 800 customers has 24 open review pairs, so no
threshold needs lowering.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from insightloop import Workspace
from insightloop.auth import AuthStore
from insightloop.identity.config import identity_config
from insightloop.identity.records import person_records
from insightloop.identity.review_view import COMPARED_FIELDS, record_token
from insightloop.profile.store import ProfileStore
from insightloop.store import WorkspaceLayout
from insightloop.ui.routes import identity as identity_routes
from tests.ui.conftest import make_app, serve, shot

PAGES = ("/identity", "/identity/merges", "/identity/decisions")
_CSRF = re.compile(r'name="csrf-token" content="([0-9a-f]+)"')
_REVIEW = re.compile(r'<tr data-review="([0-9a-f]+)"')


@pytest.fixture
def ws_copy(demo_root: Path, passwords: dict[str, str], tmp_path: Path) -> Path:
    """A copy of the demo workspace (with the users of every role) that a test may change."""
    root = tmp_path / "ws"
    shutil.copytree(demo_root, root)
    return root


@pytest.fixture
def client_for(passwords: dict[str, str]) -> Iterator[Callable[[Path, str], TestClient]]:
    """``client_for(root, "analyst")``: a TestClient on workspace ``root``, signed in (through
    the status page, so no other section's page is involved), CSRF header set."""
    opened: list[TestClient] = []

    def make(root: Path, role: str) -> TestClient:
        client = TestClient(make_app(root))
        client.__enter__()
        opened.append(client)
        r = client.post(
            "/login",
            data={"username": f"ui-{role}", "password": passwords[role], "next": "/status"},
        )
        assert r.status_code == 200, r.text
        match = _CSRF.search(r.text)
        assert match
        client.headers["X-CSRF-Token"] = match.group(1)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def client_as(
    demo_root: Path, client_for: Callable[[Path, str], TestClient]
) -> Callable[[str], TestClient]:
    """A client on the shared demo workspace, for tests that only read (and refused changes)."""
    return lambda role: client_for(demo_root, role)


@pytest.fixture
def client_on(
    ws_copy: Path, client_for: Callable[[Path, str], TestClient]
) -> Callable[[str], TestClient]:
    """A client on this test's own copy of the workspace, for tests that decide."""
    return lambda role: client_for(ws_copy, role)


def _open(root: Path) -> Workspace:
    return Workspace.open(root, read_only=True)


def _owners(root: Path, nodes: list[str]) -> dict[str, str]:
    """``source|key`` -> customer id, from ``customer_map``."""
    with _open(root) as ws:
        rows = ws.engine.records(ws.engine.table("customer_map"))
    return {
        f"{r['source']}|{r['source_key']}": r["customer_id"]
        for r in rows
        if f"{r['source']}|{r['source_key']}" in nodes
    }


def _audit(root: Path, action: str) -> list[Any]:
    return AuthStore.for_workspace(root).audit.query(action=action)


def _expected_fields(root: Path, left: tuple[str, str], right: tuple[str, str]) -> dict[str, str]:
    """Each compared field's verdict, from the full description of every record (the reference
    that the page's narrowed reads must agree with)."""
    with _open(root) as ws:
        table = person_records(ws.engine, identity_config(ws.settings.identity)).to_pylist()
    rows = {(r["record_source"], r["record_key"]): r for r in table}
    a, b = rows[left], rows[right]

    def norm(v: Any) -> str:
        return v.isoformat() if isinstance(v, date | datetime) else " ".join(str(v).split()).lower()

    out = {}
    for name, _, _ in COMPARED_FIELDS:
        x, y = a[name], b[name]
        if x in (None, "") or y in (None, ""):
            out[name] = "missing"
        else:
            out[name] = "matched" if norm(x) == norm(y) else "differed"
    return out


# -- the queue and a pair -------------------------------------------------------------------------


def test_queue_lists_the_review_queue(
    client_as: Callable[[str], TestClient], demo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _open(demo_root) as ws:
        open_pairs = ws.review_queue("open", None)
        every = ws.review_queue("all", None)
    assert len(open_pairs) >= 12, "the demo company should queue borderline pairs"
    client = client_as("analyst")
    page = client.get("/identity")
    assert page.status_code == 200
    assert _REVIEW.findall(page.text) == [p.review_id for p in open_pairs][:25]
    assert f"open ({len(open_pairs)})" in page.text
    top = open_pairs[0]
    assert f"{top.score:.3f}" in page.text
    assert f'href="/identity/review/{top.review_id}"' in page.text
    assert (
        _REVIEW.findall(client.get("/identity?status=all").text)
        == [p.review_id for p in every][:25]
    )
    assert "No accepted pairs." in client.get("/identity?status=accepted").text
    # Paginated: pages of 10 give the queue's order, then the rest.
    monkeypatch.setattr(identity_routes, "QUEUE_PAGE", 10)
    shown = [_REVIEW.findall(client.get(f"/identity?page={n}").text) for n in (1, 2, 3)]
    assert [r for part in shown for r in part] == [p.review_id for p in open_pairs][:30]
    assert len(shown[0]) == 10
    assert "Page 1 of" in client.get("/identity").text
    assert client.get("/identity?status=maybe").status_code == 422
    assert "Page 99 is past the end of the list." in client.get("/identity?page=99").text


def test_queue_filter_answers_htmx_with_the_table_only(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    client = client_as("admin")
    r = client.get("/identity?status=all", headers={"HX-Request": "true", "HX-Target": "queue"})
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<section id="queue"')
    assert "<html" not in r.text
    with _open(demo_root) as ws:
        assert _REVIEW.findall(r.text) == [p.review_id for p in ws.review_queue("all", 25)]


def test_pair_side_by_side_masked_for_analyst(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    with _open(demo_root) as ws:
        pair = ws.review_queue("open", 1)[0]
        c = ws.engine.table("src_customers")
        rows = ws.engine.records(c.filter(c.source_key == pair.left.key))
    person = rows[0]
    before = len(_audit(demo_root, "identity.review.read"))
    page = client_as("analyst").get(f"/identity/review/{pair.review_id}")
    assert page.status_code == 200
    shown = dict(re.findall(r'data-field="(\w+)" data-status="(\w+)"', page.text))
    expected = _expected_fields(
        demo_root, (pair.left.source, pair.left.key), (pair.right.source, pair.right.key)
    )
    assert shown == expected
    assert set(shown.values()) >= {"matched", "missing"}
    for name, level in pair.evidence.items():
        if name in ("first_name", "email") and level:
            assert f"<td>{level}</td>" in page.text
    for value in (person["email"], person["last_name"], person["phone"], person["street"]):
        if value:
            assert str(value) not in page.text
    assert "***@" + person["email"].split("@")[1] in page.text
    assert person["birth_date"].isoformat() not in page.text
    assert pair.left.key in page.text  # record keys are ids, not personal data
    assert len(_audit(demo_root, "identity.review.read")) == before  # masked: nothing to audit


def test_pair_unmasked_for_admin_is_audited(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    with _open(demo_root) as ws:
        pair = ws.review_queue("open", 1)[0]
    page = client_as("admin").get(f"/identity/review/{pair.review_id}")
    assert page.status_code == 200
    assert pair.left.email
    assert pair.left.email in page.text
    assert pair.left.name
    assert pair.left.name.split()[0] in page.text
    entries = _audit(demo_root, "identity.review.read")
    assert entries[0].actor == "ui-admin"
    assert entries[0].target == pair.review_id
    client_as("admin").get("/identity")
    latest = _audit(demo_root, "identity.review.read")[0]
    assert latest.target == "queue"
    assert pair.review_id in latest.details["review_ids"]


def test_unknown_pair_and_customer(client_as: Callable[[str], TestClient]) -> None:
    client = client_as("analyst")
    r = client.get("/identity/review/000000000000")
    assert r.status_code == 404
    assert "No review pair has the id" in r.text
    r = client.get("/identity/customers/cus_nobody")
    assert r.status_code == 404
    assert "Unknown customer id: cus_nobody" in r.text
    assert client.get("/identity/customers/bad%20id!").status_code == 404


# -- deciding -------------------------------------------------------------------------------------


def test_accept_and_reject_through_the_page(
    client_on: Callable[[str], TestClient], ws_copy: Path
) -> None:
    with _open(ws_copy) as ws:
        queue = ws.review_queue("open", None)
    first, second = queue[:2]
    # A pair with a guest, whose key is the guest's e-mail: pages mask it for the analyst.
    guests = [p for p in queue[2:] if "id:email" in (p.left.source, p.right.source)]
    assert guests, "the demo company should queue a pair with a guest record"
    third = guests[0]
    guest_email = third.right.key if third.right.source == "id:email" else third.left.key
    client = client_on("analyst")
    r = client.post(
        f"/identity/review/{first.review_id}",
        data={"verdict": "accept", "reason": "same address and name"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/identity/review/{second.review_id}?decided={first.review_id}"
    nodes = [f"{first.left.source}|{first.left.key}", f"{first.right.source}|{first.right.key}"]
    owners = _owners(ws_copy, nodes)
    assert len(set(owners.values())) == 1
    page = client.get(r.headers["location"])
    notice = re.search(r'id="notice">(.*?)</p>', page.text, re.S)
    assert notice
    assert notice.group(1) == (
        f"Pair {first.review_id} accepted by ui-analyst: both records are now customer "
        f"{owners[nodes[0]]}."
    )
    r = client.post(
        f"/identity/review/{third.review_id}", data={"verdict": "reject"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/identity/review/{second.review_id}?decided={third.review_id}"
    with _open(ws_copy) as ws:
        accepted = ws.review_queue("accepted", None)
        rejected = ws.review_queue("rejected", None)
        log = ws.merge_log(5)
        kinds = [d.kind for d in ws.identity_decisions()]
    assert [(p.review_id, p.decided_by) for p in accepted] == [(first.review_id, "ui-analyst")]
    assert [(p.review_id, p.decided_by) for p in rejected] == [(third.review_id, "ui-analyst")]
    assert kinds == ["accept", "reject"]
    assert any(m["kind"] == "manual_merge" and m["actor"] == "ui-analyst" for m in log)
    third_nodes = [
        f"{third.left.source}|{third.left.key}",
        f"{third.right.source}|{third.right.key}",
    ]
    assert len(set(_owners(ws_copy, third_nodes).values())) == 2
    audited = _audit(ws_copy, "identity.accept")
    assert audited[0].target == first.review_id
    assert audited[0].actor == "ui-analyst"
    assert audited[0].details["after_ids"] == [owners[nodes[0]]]
    assert _audit(ws_copy, "identity.reject")[0].target == third.review_id
    # The same decision twice is refused (and audited as refused); the queue page says so.
    r = client.post(f"/identity/review/{first.review_id}", data={"verdict": "accept"})
    assert r.status_code == 409
    assert "already accepted" in r.text
    assert _audit(ws_copy, "identity.accept")[0].outcome == "refused"
    assert client.post(f"/identity/review/{first.review_id}", data={}).status_code == 422
    listed = _REVIEW.findall(client.get("/identity?status=accepted").text)
    assert listed == [first.review_id]
    decisions = client.get("/identity/decisions").text
    assert re.findall(r'data-decision="[\w-]+" class="active"', decisions)
    assert guest_email not in decisions
    assert "id:email|***@" + guest_email.split("@")[1] in decisions
    assert guest_email not in client.get(f"/identity/review/{third.review_id}").text
    assert guest_email in client_on("admin").get("/identity/decisions").text


def _customer_with_records(root: Path) -> tuple[str, list[str], str]:
    """A customer of three or more records, its records, and a customer record of it that
    hangs on one link only (taking it out leaves the rest together)."""
    with _open(root) as ws:
        links = ws.engine.records(ws.engine.table("identity_links"))
        cmap = ws.engine.records(ws.engine.table("customer_map"))
    degree: dict[str, int] = {}
    for link in links:
        if link["overridden_by"] is None:
            for side in ("left", "right"):
                node = f"{link[f'{side}_source']}|{link[f'{side}_key']}"
                degree[node] = degree.get(node, 0) + 1
    held: dict[str, list[str]] = {}
    for row in cmap:
        held.setdefault(row["customer_id"], []).append(f"{row['source']}|{row['source_key']}")
    for customer_id in sorted(held):
        records = sorted(held[customer_id])
        leaves = [r for r in records if not r.startswith("id:") and degree.get(r) == 1]
        if len(records) >= 3 and leaves:
            return customer_id, records, leaves[0]
    raise AssertionError("the demo company has no customer of three records with a leaf")


def test_unmerge_a_record_then_merge_it_back(
    client_on: Callable[[str], TestClient], ws_copy: Path
) -> None:
    customer_id, records, taken = _customer_with_records(ws_copy)
    client = client_on("analyst")
    reads = len(_audit(ws_copy, "identity.records.read"))
    page = client.get(f"/identity/customers/{customer_id}")
    assert page.status_code == 200
    with _open(ws_copy) as ws:
        c = ws.engine.table("src_customers")
        source, key = taken.split("|", 1)
        (person,) = ws.engine.records(c.filter((c._source == source) & (c.source_key == key)))
    assert person["last_name"] not in page.text
    if person["email"]:
        assert person["email"] not in page.text
        assert "***@" + person["email"].split("@")[1] in page.text
    assert len(_audit(ws_copy, "identity.records.read")) == reads  # masked: nothing to audit
    admin_page = client_on("admin").get(f"/identity/customers/{customer_id}")
    assert person["last_name"] in admin_page.text
    read = _audit(ws_copy, "identity.records.read")
    read = read[: len(read) - reads]  # newest first: the entries since the analyst's visit
    assert [(e.actor, e.target, e.details) for e in read] == [
        ("ui-admin", customer_id, {"records": len(records)})
    ]
    tokens = re.findall(r'name="record" value="([0-9a-f]{16})"', page.text)
    assert sorted(tokens) == sorted(record_token(r) for r in records)
    r = client.post(
        "/identity/unmerge",
        data={"customer_id": customer_id, "record": [record_token(taken)], "reason": "not her"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"/identity/customers/{customer_id}?decision=dec-")
    owners = _owners(ws_copy, records)
    new_id = owners[taken]
    assert new_id != customer_id
    assert {owners[r] for r in records if r != taken} == {customer_id}
    with _open(ws_copy) as ws:
        last = ws.merge_log(1)[0]
    assert (last["kind"], last["before_ids"], sorted(last["after_ids"])) == (
        "manual_unmerge", [customer_id], sorted([customer_id, new_id]),
    )  # fmt: skip
    assert (last["actor"], last["reason"]) == ("ui-analyst", "not her")
    # The profile documents were rewritten: the new customer holds the record taken out.
    profile = ProfileStore(WorkspaceLayout(ws_copy).profiles_dir).get(new_id)
    assert profile is not None
    assert (source, key) in {(x["source"], x["key"]) for x in orjson.loads(profile)["records"]}
    page = client.get(r.headers["location"])
    assert "Unmerge saved as decision" in page.text
    assert f'value="{customer_id} {new_id}"' in page.text  # the merge form, ready to undo it
    # Merge it back.
    r = client.post(
        "/identity/merge",
        data={"customer_ids": f"{customer_id}, {new_id}", "reason": "it was her after all"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"/identity/customers/{customer_id}?decision=dec-")
    assert set(_owners(ws_copy, records).values()) == {customer_id}
    with _open(ws_copy) as ws:
        log = ws.merge_log(2)
        decisions = ws.identity_decisions()
    assert [m["kind"] for m in log] == ["manual_merge", "manual_unmerge"]
    assert sorted(log[0]["before_ids"]) == sorted([customer_id, new_id])
    assert log[0]["after_ids"] == [customer_id]
    assert [(d.kind, d.active) for d in decisions] == [("unmerge", False), ("merge", True)]
    assert _audit(ws_copy, "identity.unmerge")[0].details["records"] == 1
    assert _audit(ws_copy, "identity.merge")[0].target == customer_id
    # The history pages list what happened, newest first, revoked decisions too.
    history = client.get("/identity/merges").text
    assert re.findall(r'<tr data-kind="(\w+)"', history)[:2] == ["manual_merge", "manual_unmerge"]
    listed = client.get("/identity/decisions").text
    assert re.findall(r'data-decision="([\w-]+)" class="(\w+)"', listed) == [
        (d.decision_id, "revoked" if d.revoked_at else "active") for d in reversed(decisions)
    ]


def test_refused_decisions_change_nothing(
    client_on: Callable[[str], TestClient], ws_copy: Path
) -> None:
    customer_id, records, _ = _customer_with_records(ws_copy)
    client = client_on("analyst")
    token = record_token(records[0])
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"customer_id": customer_id, "record": [token], "reason": " "}, 422, "reason is required"),
        ({"customer_id": customer_id, "reason": "x"}, 422, "No records given"),
        ({"customer_id": customer_id, "record": ["f" * 16], "reason": "x"}, 422, "not records of"),
        (
            {
                "customer_id": customer_id,
                "record": [record_token(r) for r in records],
                "reason": "x",
            },
            422,
            "nothing would remain",
        ),
        ({"customer_id": "cus_nobody", "record": [token], "reason": "x"}, 404, "Unknown customer"),
    ]
    for data, status, message in cases:
        r = client.post("/identity/unmerge", data=data)
        assert (r.status_code, message in r.text) == (status, True), (data, r.status_code)
    r = client.post("/identity/merge", data={"customer_ids": customer_id, "reason": "x"})
    assert r.status_code == 422
    assert "cannot be merged with itself" in r.text
    r = client.post("/identity/merge", data={"customer_ids": f"{customer_id} cus_nobody"})
    assert r.status_code == 422
    assert "reason is required" in r.text
    with _open(ws_copy) as ws:
        assert ws.merge_log(5) == []
        assert ws.identity_decisions() == []
    refused = _audit(ws_copy, "identity.unmerge")
    assert len(refused) == len(cases)
    assert {e.outcome for e in refused} == {"refused"}
    assert all(set(e.details) == {"error"} for e in refused)


# -- rights ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["marketer", "viewer", "agent"])
def test_roles_without_identity_decide_get_403(
    client_as: Callable[[str], TestClient], demo_root: Path, role: str
) -> None:
    with _open(demo_root) as ws:
        pair = ws.review_queue("open", 1)[0]
    left = f"{pair.left.source}|{pair.left.key}"
    customer = _owners(demo_root, [left])[left]
    client = client_as(role)
    for url in (*PAGES, f"/identity/review/{pair.review_id}", f"/identity/customers/{customer}"):
        r = client.get(url)
        assert r.status_code == 403, (role, url)
        assert "identity:decide" in r.text
    posts: dict[str, dict[str, Any]] = {
        f"/identity/review/{pair.review_id}": {"verdict": "accept"},
        "/identity/unmerge": {"customer_id": customer, "record": ["x"], "reason": "x"},
        "/identity/merge": {"customer_ids": f"{customer} {customer}", "reason": "x"},
    }
    for url, data in posts.items():
        assert client.post(url, data=data).status_code == 403, (role, url)
    assert 'href="/identity"' not in client.get("/status").text


def test_a_decision_without_the_csrf_token_is_refused(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    with _open(demo_root) as ws:
        pair = ws.review_queue("open", 1)[0]
    client = client_as("analyst")
    del client.headers["X-CSRF-Token"]
    r = client.post(f"/identity/review/{pair.review_id}", data={"verdict": "accept"})
    assert r.status_code == 403
    assert "Form expired" in r.text
    r = client.post(
        f"/identity/review/{pair.review_id}", data={"verdict": "accept", "csrf_token": "0" * 40}
    )
    assert r.status_code == 403
    with _open(demo_root) as ws:
        assert ws.review_queue("accepted", None) == []


# -- in the browser -------------------------------------------------------------------------------


@pytest.fixture
def identity_server(ws_copy: Path) -> Iterator[str]:
    """The app on the copy, served by uvicorn in a thread (as conftest's ``live_server``)."""
    with serve(ws_copy) as url:
        yield url


def test_review_unmerge_and_merge_again_in_the_browser(
    browser: Any, identity_server: str, passwords: dict[str, str], ws_copy: Path
) -> None:
    with _open(ws_copy) as ws:
        top = ws.review_queue("open", 1)[0]
    context = browser.new_context(base_url=identity_server, viewport={"width": 1366, "height": 900})
    problems: list[str] = []
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.set_default_timeout(60_000)  # a decision rewrites customers, golden records, profiles
    try:
        page.goto("/login?next=/identity")
        page.get_by_label("User name").fill("ui-analyst")
        page.get_by_label("Password").fill(passwords["analyst"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/identity")
        assert page.locator("tr[data-review]").first.get_attribute("data-review") == top.review_id
        shot(page, "identity-queue")
        page.get_by_role("link", name=f"Review pair {top.review_id}").click()
        page.wait_for_url(f"**/identity/review/{top.review_id}")
        assert page.locator("#compare tr.field").count() == len(COMPARED_FIELDS)
        shot(page, "identity-pair")
        page.get_by_label("Reason").fill("same person, same address")
        page.get_by_role("button", name="Accept: same person").click()
        page.wait_for_url(f"**decided={top.review_id}")
        assert "accepted by ui-analyst" in page.locator("#notice").inner_text()
        shot(page, "identity-pair-accepted")
        page.get_by_role("link", name="Review queue", exact=True).click()
        page.get_by_label("Status").select_option("accepted")  # HTMX swaps the table in
        page.wait_for_url(lambda url: url.endswith("/identity?status=accepted"))
        rows = page.locator("tr[data-review]")
        rows.first.wait_for()
        assert rows.evaluate_all("rs => rs.map(r => r.dataset.review)") == [top.review_id]
        shot(page, "identity-queue-accepted")

        left = f"{top.left.source}|{top.left.key}"
        customer_id = _owners(ws_copy, [left])[left]
        page.get_by_label("Customer id").fill(customer_id)
        page.get_by_role("button", name="Open customer").click()
        page.wait_for_url(f"**/identity/customers/{customer_id}")
        shot(page, "identity-customer")
        page.get_by_label(f"Take out {top.left.source} {top.left.key}").check()
        assert page.locator("#checked-count").inner_text().startswith("1 of ")
        page.locator("#unmerge-reason").fill("two people after all")
        page.get_by_role("button", name="Take the checked records out").click()
        page.wait_for_url("**decision=dec-*")
        assert "Unmerge saved" in page.locator("#notice").inner_text()
        new_id = _owners(ws_copy, [left])[left]
        assert new_id != customer_id
        assert page.locator("#merge-ids").input_value() == f"{customer_id} {new_id}"
        shot(page, "identity-customer-unmerged")

        page.locator("#merge-reason").fill("one person: re-merged")
        page.get_by_role("button", name="Merge the customers").click()
        page.wait_for_function("document.querySelector('#notice')?.textContent.includes('Merge')")
        right = f"{top.right.source}|{top.right.key}"
        owners = _owners(ws_copy, [left, right])
        assert owners[left] == owners[right]
        assert page.url.split("?")[0].endswith(f"/identity/customers/{owners[left]}")
        shot(page, "identity-customer-merged")
        page.get_by_role("link", name="Merge history").click()
        kinds = page.locator("tr[data-kind]").evaluate_all("rs => rs.map(r => r.dataset.kind)")
        assert kinds[:3] == ["manual_merge", "manual_unmerge", "manual_merge"]
        shot(page, "identity-merges")
        page.get_by_role("link", name="Decisions").click()
        with _open(ws_copy) as ws:
            revoked = [d for d in ws.identity_decisions() if d.revoked_at is not None]
        assert len(revoked) >= 1
        assert page.locator("#decisions tr.revoked").count() == len(revoked)
        shot(page, "identity-decisions")
    finally:
        context.close()
    with _open(ws_copy) as ws:
        log = ws.merge_log(3)
    assert [m["kind"] for m in log] == ["manual_merge", "manual_unmerge", "manual_merge"]
    assert {m["actor"] for m in log} == {"ui-analyst"}
    assert not problems, problems
