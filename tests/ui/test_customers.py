"""Customer search and the 360° page against the demo workspace: finding a customer by name,
e-mail, phone and id, the profile's parts against the database, masking and auditing per role,
the timeline's filters, and in a browser: search, open, filter, masked for a viewer."""

from __future__ import annotations

import html as html_lib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import orjson
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from insightloop import Workspace
from insightloop.auth import ROLE_PERMISSIONS, ROLES, AuthStore
from insightloop.profile import KINDS
from insightloop.profile.store import ProfileStore
from insightloop.store import WorkspaceLayout
from tests.ui.conftest import shot

PII_ROLES = [r for r in ROLES if "pii:read" in ROLE_PERMISSIONS[r]]
MASKED_ROLES = [r for r in ROLES if "pii:read" not in ROLE_PERMISSIONS[r]]


@dataclass(frozen=True)
class Subject:
    """A demo customer with a name, an e-mail and a phone of their own, contact notes, survey
    answers, and more touchpoints than a profile document keeps."""

    customer_id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    street: str
    counts: dict[str, int]

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def personal(self) -> list[str]:
        """Values no role without pii:read may see, as they appear in the HTML."""
        return [_esc(v) for v in (self.email, self.phone, self.name, self.street)]


def _esc(value: str) -> str:
    """``value`` as the pages write it (Jinja's escaping)."""
    return str(escape(value))


def _sql(root: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a hand-written query of the workspace's DuckDB file."""
    with duckdb.connect(str(WorkspaceLayout(root).database_file), read_only=True) as db:
        return db.execute(sql, list(params)).fetchall()


def _timeline(root: Path, customer_id: str, **options: Any) -> list[Any]:
    """The customer's touchpoints from the database (the 360-degree view's reader)."""
    with Workspace.open(root, read_only=True) as ws:
        return ws.profiles.timeline(customer_id, **options)


@pytest.fixture(scope="module")
def subject(demo_root: Path) -> Subject:
    # Golden records whose e-mail and phone belong to no one else, with a long last name.
    rows = _sql(
        demo_root,
        "SELECT customer_id, first_name, last_name, email, phone, street FROM customers c "
        "WHERE first_name IS NOT NULL AND length(last_name) >= 5 AND street IS NOT NULL "
        "AND email IN (SELECT email FROM customers GROUP BY 1 HAVING count(*) = 1) "
        "AND phone IN (SELECT phone FROM customers GROUP BY 1 HAVING count(*) = 1) "
        "ORDER BY customer_id",
    )
    store = ProfileStore(WorkspaceLayout(demo_root).profiles_dir)
    for cid, first, last, email, phone, street in rows:
        raw = store.get(cid)
        assert raw is not None
        counts = orjson.loads(raw)["timeline_counts"]
        varied = counts["interaction"] and counts["feedback"] and counts["order"] >= 3
        if varied and sum(counts.values()) > 60:
            return Subject(cid, first, last, email, phone, street, counts)
    raise AssertionError("the demo company has no customer to test with")


def _rows(html: str) -> list[str]:
    """The customer ids of a result table, in order."""
    return re.findall(r'<tr data-customer="([^"]+)">', html)


def _entries(html: str) -> list[tuple[str, str]]:
    """The (kind, key) of each timeline entry shown, in order."""
    return re.findall(r'<tr data-kind="([a-z]+)" data-key="([^"]*)">', html)


# -- search ------------------------------------------------------------------------------------


def test_search_by_name_e_mail_phone_and_id(
    client_as: Callable[[str], TestClient], subject: Subject
) -> None:
    client = client_as("agent")
    for q in (subject.name, subject.last_name.lower(), subject.email, subject.phone):
        r = client.get("/customers/results", params={"q": q})
        assert r.status_code == 200, q
        assert subject.customer_id in _rows(r.text), q
    r = client.get("/customers", params={"q": subject.name})
    assert r.status_code == 200
    assert subject.customer_id in _rows(r.text)
    assert _esc(subject.email) in r.text
    # The live search keeps the address bar in step, for reloading and sharing.
    r = client.get("/customers/results", params={"q": subject.last_name})
    assert r.headers["hx-replace-url"] == f"/customers?q={quote(subject.last_name)}"


@pytest.mark.parametrize("how", ["email", "email-upper", "phone", "phone-spaced", "id"])
def test_an_identifier_typed_in_full_opens_the_customer(
    client_as: Callable[[str], TestClient], subject: Subject, how: str
) -> None:
    phone = subject.phone
    q = {
        "email": subject.email,
        "email-upper": f" {subject.email.upper()} ",
        "phone": phone,
        "phone-spaced": f"{phone[:3]} {phone[3:6]} {phone[6:]}",
        "id": subject.customer_id,
    }[how]
    # Contact details open the customer for roles with pii:read only (see below); a customer
    # id also for roles that see the profile masked.
    client = client_as("viewer" if how == "id" else "agent")
    r = client.get("/customers", params={"q": q}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, f"/customers/{subject.customer_id}")


def test_results_come_a_page_at_a_time(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    client = client_as("agent")
    # A country code every Swedish phone number starts with: many customers match.
    (swedes,) = _sql(demo_root, "SELECT count(*) FROM customers WHERE phone LIKE '+46%'")[0]
    assert swedes > 40
    first = client.get("/customers", params={"q": "46"}).text
    second = client.get("/customers", params={"q": "46", "offset": 20}).text
    assert len(_rows(first)) == len(_rows(second)) == 20
    assert not set(_rows(first)) & set(_rows(second))
    assert 'href="/customers?q=46&amp;offset=20"' in first
    assert 'rel="prev"' not in first
    assert 'href="/customers?q=46"' in second
    assert 'rel="next"' in second


def test_a_search_without_words_or_hits_says_so(client_as: Callable[[str], TestClient]) -> None:
    client = client_as("agent")
    r = client.get("/customers", params={"q": "!!!"})
    assert r.status_code == 200
    assert "The search has no words to look for." in r.text
    r = client.get("/customers/results", params={"q": "zzzxqj"})
    assert "No customer matches “zzzxqj”." in r.text
    assert _rows(r.text) == []
    assert "Type a name, an e-mail" in client.get("/customers").text
    r = client.get("/customers/results", params={"q": "a"})
    assert "Type at least two characters." in r.text
    assert _rows(r.text) == []


@pytest.mark.parametrize("role", ROLES)
def test_search_results_are_masked_without_pii_read(
    client_as: Callable[[str], TestClient], subject: Subject, role: str
) -> None:
    r = client_as(role).get("/customers/results", params={"q": subject.customer_id})
    assert _rows(r.text) == [subject.customer_id]
    if role in PII_ROLES:
        assert _esc(subject.email) in r.text
        assert 'class="masked"' not in r.text
    else:
        for value in subject.personal():
            assert value not in r.text, role
        domain = subject.email.rpartition("@")[2]
        assert f'<span class="masked">***@{domain}</span>' in r.text


@pytest.mark.parametrize("role", ROLES)
def test_without_pii_read_personal_data_finds_no_one(
    client_as: Callable[[str], TestClient], subject: Subject, role: str
) -> None:
    """A hit for a guessed e-mail, phone or name would confirm whose it is, masked or not."""
    client = client_as(role)
    for q in (subject.email, subject.phone, subject.name):
        found = _rows(client.get("/customers/results", params={"q": q}).text)
        assert (subject.customer_id in found) == (role in PII_ROLES), (role, q)
    typed_in_full = client.get("/customers", params={"q": subject.email}, follow_redirects=False)
    assert (typed_in_full.status_code == 303) == (role in PII_ROLES)
    if role not in PII_ROLES:
        assert "and not searched" in typed_in_full.text


def test_unmasked_search_results_are_audited_one_entry_per_customer(
    client_as: Callable[[str], TestClient], demo_root: Path, subject: Subject
) -> None:
    audit = AuthStore.for_workspace(demo_root).audit

    def searches(actor: str) -> int:
        return len(
            audit.query(
                actor=actor, action="customer.search", target=subject.customer_id, limit=1000
            )
        )

    before = searches("ui-agent"), searches("ui-marketer")
    html = client_as("agent").get("/customers/results", params={"q": subject.last_name}).text
    client_as("marketer").get("/customers/results", params={"q": subject.last_name})
    assert (searches("ui-agent"), searches("ui-marketer")) == (before[0] + 1, before[1])
    shown = _rows(html)
    entries = audit.query(actor="ui-agent", action="customer.search", limit=len(shown))
    assert sorted(e.target for e in entries) == sorted(shown)
    assert entries[0].details == {"results": len(shown), "offset": 0, "via": "ui"}


# -- the 360-degree page -----------------------------------------------------------------------


def test_the_profile_shows_the_customer_as_the_database_holds_them(
    client_as: Callable[[str], TestClient], demo_root: Path, subject: Subject
) -> None:
    cid = subject.customer_id
    html = client_as("admin").get(f"/customers/{cid}").text
    assert f'<h1 id="customer-name">{_esc(subject.name)}</h1>' in html
    # Those who decide on identities get a way to the customer's records there.
    assert f'href="/identity/customers/{cid}" id="identity-link"' in html
    agent = client_as("agent").get(f"/customers/{cid}").text
    assert 'id="identity-link"' not in agent
    (tier, stage, persona, clv, dclv, alive, orders, score) = _sql(
        demo_root,
        "SELECT m.value_tier, l.lifecycle_stage, p.persona, v.clv, v.discounted_clv, v.p_alive, "
        "m.orders, m.rfm_score FROM customer_measures m "
        "JOIN customer_lifecycle l USING (customer_id) "
        "JOIN customer_personas p USING (customer_id) "
        "JOIN customer_clv v USING (customer_id) WHERE customer_id = ?",
        cid,
    )[0]
    assert f'id="value-tier">{tier} tier<' in html
    assert f'id="lifecycle-stage">{stage.replace("_", " ")}<' in html
    assert f'id="persona">{_esc(persona)}<' in html
    assert f'<div class="value">{clv:,.2f} EUR</div>' in html
    assert f'<div class="value">{dclv:,.2f} EUR</div>' in html
    assert f'<div class="value">{100 * alive:.1f} %</div>' in html
    assert (
        f'<tr data-measure="orders"><th scope="row">Orders</th><td class="num">{orders:,}<' in html
    )
    assert f">RFM {score}<" in html
    # Every identifier, every source record, the consents and segments of the database.
    for id_type, value in _sql(
        demo_root, "SELECT id_type, id_value FROM identifier_map WHERE customer_id = ?", cid
    ):
        assert f'data-id-type="{id_type}"><th scope="row">' in html
        assert f'<td class="ident">{_esc(value)}</td>' in html
    sources = {s for (s,) in _sql(
        demo_root, "SELECT DISTINCT source FROM customer_map WHERE customer_id = ?", cid
    )}  # fmt: skip
    assert set(re.findall(r'<tbody data-source="([^"]+)">', html)) == sources
    segments = {s for (s,) in _sql(
        demo_root,
        "SELECT s.name FROM segment_members m JOIN segments s USING (segment_id) "
        "WHERE m.customer_id = ? AND m.exited_at IS NULL", cid,
    )}  # fmt: skip
    assert set(re.findall(r'<li data-segment="([^"]+)">', html)) == segments
    for kind in KINDS:
        assert f'data-count="{kind}">{subject.counts[kind]:,}<' in html


def test_each_golden_value_says_where_it_came_from(
    client_as: Callable[[str], TestClient], demo_root: Path, subject: Subject
) -> None:
    html = client_as("agent").get(f"/customers/{subject.customer_id}").text
    (provenance,) = _sql(
        demo_root, "SELECT provenance FROM customers WHERE customer_id = ?", subject.customer_id
    )[0]
    email = orjson.loads(provenance)["email"]
    at = email["at"].replace("T", " ")[:16]
    # On hover (title), and in the row for keyboards and screen readers (aria-describedby).
    assert (
        f'title="From {email["source"]} record {email["key"]}, {at} UTC, rule {email["rule"]}" '
        f'aria-describedby="prov-email">{_esc(subject.email)}</span>'
    ) in html
    cell = re.search(r'<td class="provenance" id="prov-email">(.*?)</td>', html)
    assert cell
    assert email["source"] in cell.group(1)
    assert email["key"] in cell.group(1)


@pytest.mark.parametrize("role", ROLES)
def test_personal_data_is_masked_without_pii_read(
    client_as: Callable[[str], TestClient], demo_root: Path, subject: Subject, role: str
) -> None:
    cid = subject.customer_id
    notes = [
        n for (n,) in _sql(demo_root, "SELECT notes FROM interactions WHERE notes IS NOT NULL")
    ]
    client = client_as(role)
    page = client.get(f"/customers/{cid}").text
    contacts = client.get(
        f"/customers/{cid}/timeline", params={"kinds": "interaction", "chosen": "1"}
    ).text
    assert _entries(contacts)
    if role in PII_ROLES:
        assert _esc(subject.email) in page
        assert _esc(subject.name) in page
        assert 'id="masked-notice"' not in page
        assert any(_esc(n) in contacts for n in notes)
    else:
        for value in subject.personal():
            assert value not in page, role
        assert 'id="masked-notice"' in page
        assert '<span class="masked">***</span>' in page
        assert not any(_esc(n) in contacts for n in notes)
        assert '<summary>Notes</summary><span class="masked">***</span>' in contacts


def test_viewing_a_profile_unmasked_is_audited(
    client_as: Callable[[str], TestClient], demo_root: Path, subject: Subject
) -> None:
    audit = AuthStore.for_workspace(demo_root).audit
    cid = subject.customer_id

    def reads(actor: str) -> list[Any]:
        return audit.query(actor=actor, action="profile.read", target=cid, limit=1000)

    before = {role: len(reads(f"ui-{role}")) for role in ROLES}
    for role in ROLES:
        client = client_as(role)
        assert client.get(f"/customers/{cid}").status_code == 200
        assert (
            client.get(f"/customers/{cid}/timeline", params={"kinds": "order"}).status_code == 200
        )
    for role in ROLES:
        made = reads(f"ui-{role}")[: len(reads(f"ui-{role}")) - before[role]]
        if role in PII_ROLES:
            assert [e.details for e in made] == [{"via": "ui", "part": "timeline"}, {"via": "ui"}]
        else:
            assert made == [], role


def test_an_unknown_customer_is_a_404_page(client_as: Callable[[str], TestClient]) -> None:
    client = client_as("agent")
    for url in ("/customers/cus_0000000000000000", "/customers/cus_0000000000000000/timeline"):
        r = client.get(url)
        assert r.status_code == 404
        assert "<h1>Not found</h1>" in r.text
        assert "No customer has this customer id." in r.text


# -- the timeline ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kinds", [("order",), ("interaction", "feedback"), ("campaign",), ("event",)]
)
def test_the_timeline_filter_shows_only_the_chosen_kinds(
    client_as: Callable[[str], TestClient],
    demo_root: Path,
    subject: Subject,
    kinds: tuple[str, ...],
) -> None:
    cid = subject.customer_id
    expected = [(e.kind, e.key) for e in _timeline(demo_root, cid, kinds=list(kinds), limit=25)]
    assert expected
    client = client_as("analyst")
    part = client.get(f"/customers/{cid}/timeline", params={"kinds": list(kinds), "chosen": "1"})
    assert part.status_code == 200
    assert '<div id="timeline-part">' in part.text
    assert "<html" not in part.text
    assert sorted(_entries(part.text)) == sorted(expected)
    # Without JavaScript, the form reloads the page with the same filter.
    page = client.get(f"/customers/{cid}", params={"kinds": list(kinds), "chosen": "1"}).text
    # Touchpoints at the same moment (a campaign's members) may come in either order.
    assert sorted(_entries(page)) == sorted(expected)
    for kind in KINDS:
        checked = f'name="kinds" value="{kind}" checked>' in page
        assert checked == (kind in kinds), kind


def test_the_timeline_filters_by_day_and_shows_older_entries(
    client_as: Callable[[str], TestClient], demo_root: Path, subject: Subject
) -> None:
    cid = subject.customer_id
    client = client_as("agent")
    newest = _timeline(demo_root, cid, limit=None)
    assert len(newest) == sum(subject.counts.values())
    # The first page is the 25 newest of all kinds, then 25 more.
    html = client.get(f"/customers/{cid}").text
    assert _entries(html) == [(e.kind, e.key) for e in newest[:25]]
    more = re.search(r'hx-get="([^"]+/timeline\?[^"]+)"[^>]*>Show older touchpoints', html)
    assert more
    html = client.get(html_lib.unescape(more.group(1))).text
    assert _entries(html) == [(e.kind, e.key) for e in newest[:50]]
    # A window of days, both ends included.
    middle = newest[len(newest) // 2].at
    assert middle is not None
    day = middle.date().isoformat()
    start = datetime.fromisoformat(day)
    within = _timeline(
        demo_root, cid, kinds=["order", "event"], since=start, until=start + timedelta(days=1)
    )
    html = client.get(
        f"/customers/{cid}/timeline",
        params={"kinds": ["order", "event"], "since": day, "until": day, "chosen": "1"},
    ).text
    assert _entries(html) == [(e.kind, e.key) for e in within][:25]
    assert f"from {day} to {day}" in html


def test_a_timeline_filter_that_cannot_be_read_says_why(
    client_as: Callable[[str], TestClient], subject: Subject
) -> None:
    client = client_as("agent")
    cid = subject.customer_id
    r = client.get(f"/customers/{cid}", params={"kinds": "orders"})
    assert r.status_code == 422
    assert "Unknown timeline kind(s): orders." in r.text
    r = client.get(
        f"/customers/{cid}/timeline", params={"since": "2024-05-02", "until": "2024-05-01"}
    )
    assert r.status_code == 200  # HTMX swaps only successful answers: the part says it
    assert "The day &#39;from&#39; is after the day &#39;to&#39;." in r.text
    r = client.get(f"/customers/{cid}/timeline", params={"chosen": "1"})
    assert "No kind of touchpoint chosen" in r.text
    assert _entries(r.text) == []


def test_every_count_of_the_timeline_is_the_database_s(demo_root: Path, subject: Subject) -> None:
    whole = Counter(e.kind for e in _timeline(demo_root, subject.customer_id, limit=None))
    assert {k: whole[k] for k in KINDS} == subject.counts


# -- in a browser ------------------------------------------------------------------------------


def test_an_agent_searches_opens_and_filters_a_customer(
    page_as: Callable[[str], Any], demo_root: Path, subject: Subject
) -> None:
    from playwright.sync_api import expect

    cid = subject.customer_id
    page = page_as("agent")
    page.goto("/customers")
    search = page.get_by_label("Search by name, e-mail, phone or any identifier")
    search.fill(subject.email)
    row = page.locator(f'#customer-results tr[data-customer="{cid}"]')
    expect(row).to_be_visible()
    expect(page.locator("#search-status")).to_contain_text("matching")
    shot(page, "customers-search")
    row.get_by_role("link", name=cid).click()
    page.wait_for_url(f"**/customers/{cid}")
    expect(page.locator("#customer-name")).to_have_text(subject.name)
    expect(page.locator("#golden")).to_contain_text(subject.email)
    shot(page, "customers-profile")

    orders = [(e.kind, e.key) for e in _timeline(demo_root, cid, kinds=["order"], limit=25)]
    for kind in ("event", "interaction", "feedback", "campaign"):
        page.locator(f'.timeline-filters input[value="{kind}"]').uncheck()
    rows = page.locator("#timeline-entries tbody tr")
    expect(page.locator('#timeline-entries tr[data-kind]:not([data-kind="order"])')).to_have_count(
        0
    )
    expect(rows).to_have_count(len(orders))
    shown = [(r.get_attribute("data-kind"), r.get_attribute("data-key")) for r in rows.all()]
    assert shown == orders
    shot(page, "customers-profile-orders")

    # The README's flow: an e-mail typed in full and Enter open the customer at once.
    page.goto("/customers")
    page.get_by_label("Search by name, e-mail, phone or any identifier").fill(subject.email)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/customers/{cid}")


def test_a_viewer_sees_the_profile_masked(page_as: Callable[[str], Any], subject: Subject) -> None:
    from playwright.sync_api import expect

    page = page_as("viewer")
    page.goto("/customers")
    page.get_by_label("Search by name, e-mail, phone or any identifier").fill(subject.customer_id)
    row = page.locator(f'#customer-results tr[data-customer="{subject.customer_id}"]')
    expect(row.locator(".masked").first).to_be_visible()
    row.get_by_role("link", name=subject.customer_id).click()
    page.wait_for_url(f"**/customers/{subject.customer_id}")
    expect(page.locator("#masked-notice")).to_be_visible()
    expect(page.locator('tr[data-field="email"] .masked')).to_have_text(
        "***@" + subject.email.rpartition("@")[2]
    )
    content = page.content()
    for value in subject.personal():
        assert value not in content
    shot(page, "customers-profile-masked")
