"""The personas, value-tier and breakdown-explorer pages, checked against the workspace's data
(queried in the engine here) and against the slicing API for the same query."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from fastapi.testclient import TestClient

from insightloop import Workspace
from insightloop.analytics.config import analytics_config
from insightloop.analytics.cube import DEFAULT_MIN_GROUP_SIZE, Query, QueryResult, run_query
from insightloop.analytics.persona_report import persona_overview
from insightloop.api import create_app
from insightloop.auth import ROLES, AuthStore
from insightloop.identity.config import identity_config
from insightloop.ui.routes.analysis import _csv_cell, explore_charts, format_value
from tests.api.profile_fixtures import FAST
from tests.ui.conftest import make_app, shot

HIDDEN = f"hidden (fewer than {DEFAULT_MIN_GROUP_SIZE} customers)"


class _Tables(HTMLParser):
    """The cells of every table of a page, by the table's id: rows of (tag, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._stack: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._stack.append(dict(attrs).get("id") or f"table-{len(self.tables)}")
            self.tables.setdefault(self._stack[-1], [])
        elif tag == "tr" and self._stack:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._stack:
            self._stack.pop()
        elif tag == "tr" and self._row is not None and self._stack:
            self.tables[self._stack[-1]].append(self._row)
            self._row = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def number(text: str) -> float:
    return float(text.split(" ")[0].replace(",", ""))


def api_query(root: Path, username: str, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /api/v1/query`` with a bearer token of ``username``."""
    _, secret = AuthStore.for_workspace(root).tokens.create(username, actor="test")
    with TestClient(create_app(root, background=False)) as api:
        r = api.post("/api/v1/query", json=body, headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200, r.text
    return dict(r.json())


# -- personas -----------------------------------------------------------------------------------


def test_the_persona_page_shows_every_persona_with_its_size(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    with Workspace.open(demo_root, read_only=True) as ws:
        members = ws.engine.table("customer_personas")
        sizes = {
            r["persona_id"]: r["n"]
            for r in ws.engine.records(members.group_by("persona_id").aggregate(n=members.count()))
        }
        labels = {
            r["persona_id"]: r["label"] for r in ws.engine.records(ws.engine.table("personas"))
        }
    assert len(labels) >= 2
    assert set(labels) == set(sizes)
    html = client_as("analyst").get("/personas").text
    articles = re.findall(
        r'<article class="card persona" id="persona-(P\d+)".*?</article>', html, re.S
    )
    assert sorted(articles) == sorted(labels)
    for persona_id, label in labels.items():
        card = html.split(f'id="persona-{persona_id}"')[1].split("</article>")[0]
        assert f'data-persona-size="{sizes[persona_id]}"' in card
        escaped = label.replace("&", "&amp;")
        assert escaped in card
        assert "▲" in card or "▼" in card  # traits, with the direction of each
    # Largest first, and the shares add up to the customers with a persona.
    shown = [sizes[p] for p in re.findall(r'id="persona-(P\d+)"', html) if p in sizes]
    assert shown == sorted(shown, reverse=True)
    assert f"{sum(sizes.values()):,} customers who ordered" in html
    # Each card links to its persona's revenue and orders over time in the explorer.
    link = re.search(r'href="(/explore\?[^"]*f_dim=persona[^"]*)"', html)
    assert link is not None
    explored = client_as("analyst").get(link.group(1).replace("&amp;", "&"))
    assert explored.status_code == 200
    label = dict(parse_qsl(link.group(1).replace("&amp;", "&").split("?", 1)[1]))["f_val"]
    assert label in labels.values()
    assert f"persona={label}" in explored.text  # the filter, as the result describes it
    assert 'id="explore-table"' in explored.text
    assert 'id="persona-chart"' in html


def test_a_persona_smaller_than_the_minimum_group_shows_no_figures(demo_root: Path) -> None:
    with Workspace.open(demo_root, read_only=True) as ws:
        everyone = persona_overview(ws.engine)
        assert everyone is not None
        sizes = sorted(v.size or 0 for v in everyone.personas)
        cut = sizes[0] + 1  # the smallest persona falls under it
        overview = persona_overview(ws.engine, min_group_size=cut)
    assert overview is not None
    hidden = [p for p in overview.personas if p.hidden]
    assert len(hidden) == sum(1 for n in sizes if n < cut) >= 1
    for p in hidden:
        assert (p.size, p.share, p.value_share, p.traits, p.channels) == (None, None, None, (), ())
    assert all(p.size is not None and p.size >= cut for p in overview.personas if not p.hidden)


def test_every_role_opens_the_analysis_pages(client_as: Callable[[str], TestClient]) -> None:
    for role in ROLES:
        client = client_as(role)
        for path in ("/personas", "/value", "/explore"):
            r = client.get(path)
            assert r.status_code == 200, (role, path)
            assert 'aria-current="page"' in r.text


def _empty_workspace_client(tmp_path: Path) -> TestClient:
    root = tmp_path / "empty"
    Workspace.init(root).close()
    AuthStore.for_workspace(root, hasher=FAST).users.add(
        "ui-analyst", "analyst", password="pw-analyst-correct-horse", actor="test"
    )
    client = TestClient(make_app(root))
    r = client.post(
        "/login",
        data={"username": "ui-analyst", "password": "pw-analyst-correct-horse", "next": "/status"},
    )
    assert r.status_code == 200
    return client


def test_pages_before_the_pipeline_ran_say_what_to_run(tmp_path: Path) -> None:
    with _empty_workspace_client(tmp_path) as client:
        personas = client.get("/personas")
        assert personas.status_code == 200
        assert "insightloop run personas" in personas.text
        assert "plotly" not in personas.text  # no chart, no chart library
        value = client.get("/value")
        assert value.status_code == 200
        assert "insightloop run measures" in value.text
        explore = client.get("/explore")
        assert explore.status_code == 200
        # Customer measures cannot be picked before the measures are computed.
        assert re.search(r'value="avg_clv"[^>]* disabled', explore.text)
        r = client.get("/explore/result?measure=avg_clv&by=value_tier")
        assert r.status_code == 400
        assert "needs lifetime value" in r.text
        r = client.get("/explore/result?measure=orders&by=channel")
        assert r.status_code == 200
        assert 'id="explore-table"' in r.text


# -- value tiers --------------------------------------------------------------------------------


def test_value_tiers_equal_the_engine_aggregation(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    with Workspace.open(demo_root, read_only=True) as ws:
        m = ws.engine.table("customer_measures")
        expected = {
            r["value_tier"]: r
            for r in ws.engine.records(
                m.group_by("value_tier").aggregate(
                    customers=m.count(), revenue=m.revenue_365d.sum(), profit=m.profit_12m.sum()
                )
            )
        }
        clv = ws.engine.table("customer_clv")
        j = m.inner_join(clv, m.customer_id == clv.customer_id)
        avg_clv = {
            r["value_tier"]: r["avg_clv"]
            for r in ws.engine.records(j.group_by("value_tier").aggregate(avg_clv=j.clv.mean()))
        }
        life = ws.engine.table("customer_lifecycle")
        k = m.inner_join(life, m.customer_id == life.customer_id)
        mix = {
            (r["value_tier"], r["lifecycle_stage"]): r["n"]
            for r in ws.engine.records(
                k.group_by(["value_tier", "lifecycle_stage"]).aggregate(n=k.count())
            )
        }
    total_revenue = sum(r["revenue"] for r in expected.values())
    page = client_as("admin").get("/value")
    assert page.status_code == 200
    found = tables(page.text)
    rows = {r[0]: r for r in found["tier-table"][1:]}
    assert set(expected) <= set(rows)
    for tier, r in expected.items():
        _, customers, _, revenue, revenue_share, _, _, profit, _ = rows[tier]
        assert int(number(customers)) == r["customers"]
        assert number(revenue) == pytest.approx(r["revenue"], abs=0.01)
        assert number(profit) == pytest.approx(r["profit"], abs=0.01)
        assert number(revenue_share) == pytest.approx(100 * r["revenue"] / total_revenue, abs=0.06)
    assert number(rows["total"][1]) == sum(r["customers"] for r in expected.values())
    clv_rows = {r[0]: r for r in found["clv-table"][1:]}
    for tier, value in avg_clv.items():
        assert number(clv_rows[tier][1]) == pytest.approx(value, abs=0.01)
    stages = found["mix-table"][0][1:]
    for row in found["mix-table"][1:]:
        for stage, cell in zip(stages, row[1:], strict=True):
            assert int(number(cell)) == mix.get((row[0], stage.replace(" ", "_")), 0)
    assert 'id="tier-shares-chart"' in page.text
    assert 'id="tier-mix-chart"' in page.text


def test_the_value_page_agrees_with_slicing(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    query = Query(measures=["customers", "avg_clv", "avg_p_alive"], by=["value_tier"])
    with Workspace.open(demo_root, read_only=True) as ws:
        result = run_query(
            ws.engine, query, identity=identity_config(ws.settings.identity),
            config=analytics_config(ws.settings.analytics),
        )  # fmt: skip
    found = tables(client_as("admin").get("/value").text)
    tiers = {r[0]: r for r in found["tier-table"][1:]}
    clv = {r[0]: r for r in found["clv-table"][1:]}
    for row in result.rows:
        assert int(number(tiers[row["value_tier"]][1])) == row["customers"]
        assert number(clv[row["value_tier"]][1]) == pytest.approx(row["avg_clv"], abs=0.01)
        assert number(clv[row["value_tier"]][4]) == pytest.approx(
            100 * row["avg_p_alive"], abs=0.06
        )


def test_value_tiers_hide_small_cells_for_roles_without_pii(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    with Workspace.open(demo_root, read_only=True) as ws:
        m = ws.engine.table("customer_measures")
        life = ws.engine.table("customer_lifecycle")
        k = m.inner_join(life, m.customer_id == life.customer_id)
        small = ws.engine.records(
            k.group_by(["value_tier", "lifecycle_stage"])
            .aggregate(n=k.count())
            .filter(lambda t: t.n < DEFAULT_MIN_GROUP_SIZE)
        )
    assert small, "the demo has a small cell of a tier and a stage"
    viewer = tables(client_as("viewer").get("/value").text)["mix-table"]
    admin = tables(client_as("admin").get("/value").text)["mix-table"]
    stages = [s.replace(" ", "_") for s in viewer[0][1:]]
    for cell in small:
        column = stages.index(cell["lifecycle_stage"]) + 1
        v = next(r for r in viewer if r[0] == cell["value_tier"])
        a = next(r for r in admin if r[0] == cell["value_tier"])
        assert v[column] == "hidden"
        assert int(number(a[column])) == cell["n"]


# -- the breakdown explorer ---------------------------------------------------------------------

QUERY = {"measures": ["revenue", "orders"], "by": ["channel", "period"], "period": "month",
         "since": "2022-01-01",
         "filters": [{"dimension": "country", "op": "in", "value": ["SE", "GB"]}]}  # fmt: skip
PARAMS = urlencode(
    {"measure": ["revenue", "orders"], "by": ["channel", "period"], "period": "month",
     "since": "2022-01-01", "f_dim": ["country", ""], "f_op": ["in", "eq"],
     "f_val": ["SE, GB", ""]},
    doseq=True,
)  # fmt: skip


def _shown(row: dict[str, Any], measures: list[str], units: dict[str, str]) -> list[str]:
    return [
        HIDDEN if row[m] is None and row["suppressed"] else format_value(row[m], units[m])
        for m in measures
    ]


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_the_explorer_shows_what_the_api_answers(
    client_as: Callable[[str], TestClient], demo_root: Path, role: str
) -> None:
    expected = api_query(demo_root, f"ui-{role}", QUERY)
    assert expected["count"] > 4
    client = client_as(role)
    for path in ("/explore?", "/explore/result?"):
        r = client.get(path + PARAMS)
        assert r.status_code == 200, r.text
        found = tables(r.text)["explore-table"]
        header, body, total = found[0], found[1:-1], found[-1]
        assert header == ["channel", "period", "revenue (EUR)", "orders"]
        assert len(body) == expected["count"]
        for shown, row in zip(body, expected["rows"], strict=True):
            assert shown[:2] == [row["channel"], row["period"]]
            assert shown[2:] == _shown(row, expected["measures"], expected["units"])
        assert total[2:] == _shown(expected["totals"], expected["measures"], expected["units"])
        assert 'id="explore-chart-0"' in r.text
        assert 'id="explore-chart-1"' in r.text
    # The HTMX part puts the page's address with the query in the address bar.
    pushed = r.headers["HX-Push-Url"]
    assert pushed.startswith("/explore?")
    assert parse_qsl(pushed.split("?", 1)[1]) == [
        ("measure", "revenue"), ("measure", "orders"), ("by", "channel"), ("by", "period"),
        ("since", "2022-01-01"), ("f_dim", "country"), ("f_op", "in"), ("f_val", "SE, GB"),
    ]  # fmt: skip
    hidden = sum(HIDDEN in " ".join(row) for row in body)
    assert hidden == expected["suppressed_rows"]
    if role == "viewer":
        assert expected["min_group_size"] == DEFAULT_MIN_GROUP_SIZE
        assert expected["suppressed_rows"] > 0, "some month of a channel has few customers"
        assert "are hidden for your role" in r.text
    else:
        assert expected["suppressed_rows"] == 0
        assert HIDDEN not in r.text


def test_the_full_page_keeps_the_form_filled_in(client_as: Callable[[str], TestClient]) -> None:
    html = client_as("analyst").get("/explore?" + PARAMS).text
    assert re.search(r'<option value="revenue" selected', html)
    assert re.search(r'<option value="orders" selected', html)
    assert re.search(r'id="by-0" name="by">.*?<option value="channel" selected', html, re.S)
    assert re.search(r'id="by-1" name="by">.*?<option value="period" selected', html, re.S)
    assert 'value="2022-01-01"' in html
    assert 'value="SE, GB"' in html
    assert re.search(r'<option value="month" selected', html)
    assert 'href="/explore/result.csv?' in html


def test_the_csv_download_holds_the_rows(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    expected = api_query(demo_root, "ui-viewer", QUERY)
    r = client_as("viewer").get("/explore/result.csv?" + PARAMS)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert 'filename="revenue-orders-by-channel-period.csv"' in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["channel", "period", "revenue", "orders", "suppressed"]
    assert len(rows) - 1 == expected["count"]
    for got, want in zip(rows[1:], expected["rows"], strict=True):
        assert got[:2] == [want["channel"], want["period"]]
        assert got[4] == str(want["suppressed"])
        for value, measure in zip(got[2:4], ("revenue", "orders"), strict=True):
            if want[measure] is None:
                assert value == ""
            else:
                assert float(value) == pytest.approx(want[measure])


def _result(by: list[str], measures: list[str], rows: list[dict[str, Any]]) -> QueryResult:
    return QueryResult(
        query=Query(measures=measures, by=by), dimensions=by, measures=measures, rows=rows,
        totals={}, units=dict.fromkeys(measures, "EUR"), truncated=False, sql="",
    )  # fmt: skip


def test_the_charts_of_a_result() -> None:
    cities = [{"city": f"c{i:02}", "sales": float(100 - i), "suppressed": False} for i in range(70)]
    [figure], cut = explore_charts(_result(["city"], ["sales"], cities))
    assert cut
    assert figure["data"][0]["type"] == "bar"
    assert figure["data"][0]["x"] == [f"c{i:02}" for i in range(60)]  # the engine's order
    months = [(2, "web", 5.0), (1, "web", 3.0), (1, "app", None), (2, "app", 4.0)]
    rows = [
        {"period": date(2024, m, 1), "channel": c, "revenue": v, "suppressed": v is None}
        for m, c, v in months
    ]
    [line], cut = explore_charts(_result(["channel", "period"], ["revenue"], rows))
    assert not cut
    assert [t["type"] for t in line["data"]] == ["scatter", "scatter"]
    by_name = {t["name"]: t for t in line["data"]}
    assert by_name["web"]["x"] == ["2024-01-01", "2024-02-01"]
    assert by_name["web"]["y"] == [3.0, 5.0]
    assert by_name["app"]["y"] == [None, 4.0]  # hidden: a gap
    two = [
        {"channel": c, "category": k, "sales": 1.0, "avg_order_value": 1.0, "suppressed": False}
        for c in ("web", "app")
        for k in ("toys", "home")
    ]
    stacked, plain = explore_charts(
        _result(["category", "channel"], ["sales", "avg_order_value"], two), "stacked"
    )[0]
    assert stacked["layout"]["barmode"] == "stack"
    assert plain["layout"]["barmode"] == "group"  # an average does not add up
    assert explore_charts(_result([], ["sales"], [{"sales": 1.0, "suppressed": False}])) == (
        [],
        False,
    )


def test_csv_cells_cannot_become_formulas() -> None:
    assert _csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _csv_cell("@SUM") == "'@SUM"
    assert _csv_cell("SE") == "SE"
    assert _csv_cell(-3.5) == -3.5
    assert _csv_cell(None) == ""


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("measure=revenue&by=category", "&#39;revenue&#39; counts orders and cannot be split by"),
        ("measure=revnue", "Did you mean &#39;revenue&#39;?"),
        ("by=channel", "pick at least one measure"),
        ("measure=revenue&measure=orders&measure=units&measure=sales", "pick at most 3 measures"),
        ("measure=revenue&since=2024-13-40", "since"),
        ("measure=revenue&since=2024-05-01&until=2024-01-01", "since is after until"),
        ("measure=revenue&period=fortnight", "period"),
        ("measure=revenue&limit=lots", "is not a whole number"),
        ("measure=revenue&limit=0", "limit"),
        ("measure=revenue&f_dim=country&f_op=like&f_val=SE", "filter 1 (country) op"),
        ("measure=revenue&f_dim=country&f_op=eq&f_val=", "filter 1 (country): give a value"),
        ("measure=revenue&f_dim=nosuch&f_op=eq&f_val=1", "nosuch"),
        ("measure=revenue&f_dim=country&f_op=eq&f_val=%01SE", "a value holds a control character"),
        (
            "measure=revenue&f_dim=country&f_op=in&f_val=" + ",".join(map(str, range(101))),
            "filter 1 (country): at most 100 values",
        ),
        ("measure=revenue&f_dim=orders_365d&f_op=gt&f_val=many", "a value is not a number"),
        ("measure=revenue&by=a&by=b&by=c&by=d", "by"),
    ],
)
def test_a_bad_query_shows_its_problems(
    client_as: Callable[[str], TestClient], query: str, problem: str
) -> None:
    client = client_as("analyst")
    part = client.get("/explore/result?" + query)
    assert part.status_code == 400
    assert 'id="explore-problems"' in part.text
    assert problem in part.text
    page = client.get("/explore?" + query)
    assert page.status_code == 400
    assert problem in page.text
    assert 'id="explore-form"' in page.text
    # To the page's own HTMX request, 200: htmx swaps it in, the browser logs no error.
    swapped = client.get("/explore/result?" + query, headers={"HX-Request": "true"})
    assert swapped.status_code == 200
    assert problem in swapped.text
    download = client.get("/explore/result.csv?" + query)
    assert download.status_code == 400
    assert download.text.startswith("Invalid query")


def test_a_query_without_dimensions_shows_the_totals(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    with Workspace.open(demo_root, read_only=True) as ws:
        m = ws.engine.table("customer_measures")
        customers = int(ws.engine.execute(m.count()))
        profit = float(ws.engine.execute(m.profit_12m.sum()))
    r = client_as("analyst").get("/explore/result?measure=customers&measure=profit_12m")
    assert r.status_code == 200
    table = tables(r.text)["explore-table"]
    assert table[1] == [f"{customers:,}", f"{profit:,.2f}"]
    assert 'id="explore-total-0"' in r.text
    assert "explore-chart" not in r.text


def test_the_explorer_offers_the_catalogue(client_as: Callable[[str], TestClient]) -> None:
    html = client_as("analyst").get("/explore").text
    for name in ("revenue", "customers", "avg_clv", "nps"):
        assert f'<option value="{name}"' in html
    for dimension in ("value_tier", "persona", "channel", "period", "segment"):
        assert f'<option value="{dimension}"' in html
    assert '<optgroup label="Customer attributes">' in html
    assert 'value="orders_365d"' in html
    # The ready-made questions all run on the demo company.
    examples = re.search(r'<ul id="explore-examples">(.*?)</ul>', html, re.S)
    assert examples is not None
    links = re.findall(r'href="([^"]+)"', examples.group(1))
    assert len(links) >= 4
    client = client_as("analyst")
    for link in links:
        r = client.get(link.replace("&amp;", "&"))
        assert r.status_code == 200, (link, r.text[-800:])
        assert 'id="explore-table"' in r.text
    # Every control has a label.
    for control in re.findall(r'<(?:select|input) [^>]*id="([^"]+)"', html):
        assert f'for="{control}"' in html, control


# -- in the browser -----------------------------------------------------------------------------


def test_personas_value_and_explorer_in_the_browser(page_as: Callable[[str], Any]) -> None:
    page = page_as("analyst")
    page.goto("/personas")
    page.wait_for_selector("#persona-chart .main-svg")
    assert page.locator("article.persona").count() >= 2
    shot(page, "analysis-personas")

    page.goto("/value")
    page.wait_for_selector("#tier-shares-chart .main-svg")
    page.wait_for_selector("#tier-mix-chart .main-svg")
    assert page.locator("#tier-table tbody tr").count() >= 3
    shot(page, "analysis-value")

    page.goto("/explore")
    page.get_by_label("Measures (1 to 3)").select_option(["revenue"])
    page.get_by_label("Dimension 1").select_option("channel")
    page.get_by_label("Dimension 2").select_option("period")
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("#explore-chart-0 .main-svg")
    assert page.locator("#explore-table tbody tr").count() > 3
    assert page.locator("#explore-table thead th").all_inner_texts()[:3] == [
        "channel",
        "period",
        "revenue (EUR)",
    ]
    # The address bar now holds the query: a link that opens the same breakdown.
    page.wait_for_url(re.compile(r"/explore\?.*measure=revenue"))
    shot(page, "analysis-explore")
    page.reload()
    page.wait_for_selector("#explore-chart-0 .main-svg")
    assert page.locator("#measure option[value=revenue]").evaluate("o => o.selected")


def test_a_bad_query_in_the_browser_shows_the_problem(page_as: Callable[[str], Any]) -> None:
    page = page_as("analyst")
    page.goto("/explore")
    # Problems the form itself catches come back as a 400 part; it is shown, not dropped.
    page.get_by_label("Dimension 1").select_option("channel")
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("#explore-problems")
    assert "pick at least one measure" in page.locator("#explore-problems").inner_text()
    shot(page, "analysis-explore-problem")
