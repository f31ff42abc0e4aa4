"""The segments pages: the list with sizes and trends, a segment's page (history, overlaps,
members, export), the builder with its live count, saving, editing and deleting.

Expected figures come from the engine (SQL over ``segment_members`` and the measures, or the
segment compiler) and from the insight API, never from the pages themselves. Segments made here
have names of their own and are deleted at the end of each test.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import ibis
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from insightloop import Workspace
from insightloop.analytics.attributes import segment_sources
from insightloop.analytics.config import analytics_config
from insightloop.analytics.segments import (
    Problem,
    SegmentDefinitionError,
    SegmentNotFoundError,
    SegmentSources,
    compile_segment,
    condition_to_dict,
    current_members,
    get_segment,
    list_segments,
    parse_condition,
    refresh_segments,
    save_segment,
    segment_overlaps,
)
from insightloop.analytics.segments.catalogue import Catalogue, Column, catalogue_of
from insightloop.analytics.segments.form import (
    MAX_NODES,
    apply_action,
    fits_fields,
    from_condition,
    node_of_problem,
    parse_fields,
    to_condition,
)
from insightloop.analytics.segments.history_counts import (
    membership_over_time,
    size_changes,
    sizes_over_time,
)
from insightloop.analytics.segments.members import overlaps_with
from insightloop.analytics.segments.refresh_one import refresh_segment
from insightloop.api import create_app
from insightloop.auth import AuthStore
from insightloop.identity.config import identity_config
from insightloop.store import Engine
from insightloop.ui.routes.segments import MEMBERS_PAGE
from tests.analytics.segments import conftest as segment_fixtures
from tests.ui.conftest import shot

Client = Callable[[str], TestClient]
CATALOGUE = Catalogue(
    attributes=(
        Column("value_tier", "text"),
        Column("orders", "number"),
        Column("p_alive", "number"),
        Column("first_order_at", "time"),
        Column("categories", "list", "text"),
        Column("vip", "boolean"),
    ),
    behaviours={
        "orders": (Column("channel", "text"), Column("amount", "number")),
        "events": (Column("event", "text"), Column("category", "text")),
        "purchases": (Column("category", "text"), Column("order_id", "text")),
    },
    segments=("lapsed-vip",),
)
#: How long the browser tests wait for a count or a redraw (milliseconds; CI machines are slow).
WAIT = 30_000
TOP = {"attribute": "value_tier", "op": "eq", "value": "top"}
RECENT_ORDERS = {"behaviour": "orders", "within_days": 90, "count": {"op": "ge", "value": 2}}


def unique(prefix: str = "ui-seg") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def sql(root: Path, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of a query over the workspace's database (opened read-only, closed at once)."""
    with Workspace.open(root, read_only=True) as ws:
        rows: list[tuple[Any, ...]] = ws.engine.con.con.execute(query, list(params)).fetchall()
    return rows


def sources_of(ws: Workspace) -> SegmentSources:
    """What the workspace's segments are computed from (as the API and the CLI take it)."""
    sources = segment_sources(
        ws.engine, identity_config(ws.settings.identity), analytics_config(ws.settings.analytics)
    )
    assert sources is not None
    return sources


def engine_count(root: Path, definition: dict[str, Any]) -> int:
    """The customers a definition selects, compiled by the engine directly."""
    with Workspace.open(root, read_only=True) as ws:
        sources = sources_of(ws)
        resolve = {s.name: s.definition for s in list_segments(ws.engine)}
        members = compile_segment(definition, sources, resolve=resolve)
        return int(ws.engine.execute(members.count()))


def fields_of(definition: dict[str, Any], name: str = "", **extra: str) -> dict[str, str]:
    """The builder's form for a definition, as the page would post it."""
    root = from_condition(definition)
    form = {"name": name, "editing": "", "mode": "form", **extra}

    def put(node: Any) -> None:
        form[f"{node.key}.kind"] = node.kind
        for attr in ("mode", "attribute", "op", "value", "value_to", "behaviour", "within_days",
                     "count_op", "count_value", "count_distinct", "segment"):  # fmt: skip
            form[f"{node.key}.{attr}"] = str(getattr(node, attr))
        for f in node.filters:
            form.update({f"{f.key}.column": f.column, f"{f.key}.op": f.op,
                         f"{f.key}.value": f.value})  # fmt: skip
        if node.follow is not None:
            form.update({f"{node.key}.nf.behaviour": node.follow.behaviour,
                         f"{node.key}.nf.within_days": node.follow.within_days,
                         f"{node.key}.nf.same": node.follow.same})  # fmt: skip
        for child in node.children:
            put(child)

    put(root)
    return form


@pytest.fixture
def api(demo_root: Path) -> Iterator[Callable[[str], TestClient]]:
    """``api(username)``: a TestClient of the insight API with a bearer token of that user."""
    opened: list[TestClient] = []

    def make(username: str) -> TestClient:
        _, secret = AuthStore.for_workspace(demo_root).tokens.create(username, actor="test")
        client = TestClient(create_app(demo_root, background=False))
        client.__enter__()
        client.headers["Authorization"] = f"Bearer {secret}"
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def cleanup(demo_root: Path) -> Iterator[list[str]]:
    """Names of segments a test made: deleted afterwards, through the engine."""
    made: list[str] = []
    yield made
    from insightloop.analytics.segments import delete_segment

    with Workspace.open(demo_root) as ws:
        known = {s.name for s in list_segments(ws.engine)}
        for name in reversed(made):
            if name in known:
                delete_segment(ws.engine, name)


# -- the form fields (pure) --------------------------------------------------------------------


def test_fields_become_a_definition_with_nested_groups_and_not() -> None:
    form = {
        "r.kind": "group", "r.mode": "all",
        "r.c0.kind": "attribute", "r.c0.attribute": "orders", "r.c0.op": "between",
        "r.c0.value": " 2 ", "r.c0.value_to": "5.5",
        "r.c1.kind": "group", "r.c1.mode": "any",
        "r.c1.c0.kind": "behaviour", "r.c1.c0.behaviour": "orders", "r.c1.c0.within_days": "90",
        "r.c1.c0.count_op": "ge", "r.c1.c0.count_value": "2",
        "r.c1.c0.f0.column": "channel", "r.c1.c0.f0.op": "in", "r.c1.c0.f0.value": "web, app",
        "r.c1.c0.f1.column": "", "r.c1.c0.f1.value": "ignored: no column picked",
        "r.c1.c1.kind": "group", "r.c1.c1.mode": "none",
        "r.c1.c1.c0.kind": "attribute", "r.c1.c1.c0.attribute": "categories",
        "r.c1.c1.c0.op": "contains", "r.c1.c1.c0.value": "shoes",
        "r.c1.c1.c1.kind": "segment", "r.c1.c1.c1.segment": "lapsed-vip",
        "r.c2.kind": "group", "r.c2.mode": "none",
        "r.c2.c0.kind": "attribute", "r.c2.c0.attribute": "vip", "r.c2.c0.op": "eq",
        "r.c2.c0.value": "True",
        "csrf_token": "not a field of the rule", "name": "x",
    }  # fmt: skip
    definition, paths = to_condition(parse_fields(form), CATALOGUE)
    assert definition == {
        "all": [
            {"attribute": "orders", "op": "between", "value": [2, 5.5]},
            {"any": [
                {"behaviour": "orders", "within_days": 90, "count": {"op": "ge", "value": 2},
                 "where": [{"column": "channel", "op": "in", "value": ["web", "app"]}]},
                {"not": {"any": [
                    {"attribute": "categories", "op": "contains", "value": "shoes"},
                    {"segment": "lapsed-vip"},
                ]}},
            ]},
            {"not": {"attribute": "vip", "op": "eq", "value": True}},
        ]
    }  # fmt: skip
    parse_condition(definition)  # the language takes it as it is
    assert paths["all[1].any[1].not.any[1]"] == "r.c1.c1.c1"
    assert paths["all[2].not"] == "r.c2.c0"


def test_values_are_typed_by_the_catalogue() -> None:
    def value(attribute: str, op: str, text: str, to: str = "") -> Any:
        form = {"r.c0.kind": "attribute", "r.c0.attribute": attribute, "r.c0.op": op,
                "r.c0.value": text, "r.c0.value_to": to}  # fmt: skip
        definition, _ = to_condition(parse_fields(form), CATALOGUE)
        return definition.get("value", "(none)")

    assert value("orders", "ge", "3") == 3
    assert value("p_alive", "lt", "0.25") == 0.25
    assert value("orders", "eq", "ten") == "ten"  # the checks against the data say why
    assert value("orders", "eq", "inf") == "inf"
    assert value("value_tier", "eq", " 10 ") == "10"  # text stays text
    assert value("vip", "eq", "no") is False
    assert value("first_order_at", "ge", "2024-05-01") == "2024-05-01"
    assert value("orders", "in", "1, 2,,3") == [1, 2, 3]
    assert value("p_alive", "between", "0.2", "") == [0.2]  # refused: needs two ends
    assert value("orders", "is_null", "stale") == "(none)"
    assert value("orders", "eq", "  ") == "(none)"  # "needs a value"
    assert value("unknown", "eq", "5") == "5"


def test_behaviour_fields_count_aggregate_and_follow_up() -> None:
    form = {
        "r.c0.kind": "behaviour", "r.c0.behaviour": "events", "r.c0.within_days": "30",
        "r.c0.count_op": "ge", "r.c0.count_value": "", "r.c0.count_distinct": "category",
        "r.c0.f0.column": "event", "r.c0.f0.value": "Product Viewed",
        "r.c0.nf.behaviour": "purchases", "r.c0.nf.within_days": "14",
        "r.c0.nf.same": "category", "r.c0.nf.f0.column": "category", "r.c0.nf.f0.op": "ne",
        "r.c0.nf.f0.value": "gifts",
        "r.c1.kind": "behaviour", "r.c1.behaviour": "orders", "r.c1.count_value": "1",
        "r.c1.agg_fn": "sum", "r.c1.agg_column": "amount", "r.c1.agg_op": "ge",
        "r.c1.agg_value": "100",
    }  # fmt: skip
    definition, _ = to_condition(parse_fields(form), CATALOGUE)
    assert definition == {
        "all": [
            {"behaviour": "events", "where": [{"column": "event", "op": "eq",
                                               "value": "Product Viewed"}],
             "within_days": 30, "count": {"op": "ge", "value": 1, "distinct": "category"},
             "not_followed_by": {"behaviour": "purchases", "within_days": 14,
                                 "same": ["category"],
                                 "where": [{"column": "category", "op": "ne", "value": "gifts"}]}},
            {"behaviour": "orders", "aggregate": {"sum": "amount", "op": "ge", "value": 100}},
        ]
    }  # fmt: skip
    # A count of "at least 1 row" is what a behaviour means anyway: it is left out.
    assert "count" not in definition["all"][1]
    parse_condition(definition)


def _workspace_catalogue(root: Path) -> Catalogue:
    with Workspace.open(root, read_only=True) as ws:
        return catalogue_of(sources_of(ws), [s.name for s in list_segments(ws.engine)])


def _round_trips(wanted: dict[str, Any], catalogue: Catalogue) -> None:
    assert fits_fields(wanted, catalogue), wanted
    again, _ = to_condition(from_condition(wanted), catalogue)
    assert condition_to_dict(parse_condition(again)) == condition_to_dict(parse_condition(wanted))


def test_saved_definitions_round_trip_through_the_fields(demo_root: Path) -> None:
    with Workspace.open(demo_root, read_only=True) as ws:
        saved = [condition_to_dict(s.definition) for s in list_segments(ws.engine)]
    assert len(saved) >= 4
    for wanted in saved:
        _round_trips(wanted, _workspace_catalogue(demo_root))
    for wanted in [
        {"all": [TOP, {"not": {"any": [RECENT_ORDERS, {"segment": "lapsed-vip"}]}}]},
        {"any": [{"attribute": "p_alive", "op": "between", "value": [0.2, 0.5]},
                 {"attribute": "vip", "op": "ne", "value": False},
                 {"attribute": "orders", "op": "not_in", "value": [1, 2]},
                 {"attribute": "categories", "op": "is_null"}]},
    ]:  # fmt: skip
        _round_trips(wanted, CATALOGUE)
    # What the fields cannot hold exactly is edited as YAML instead.
    assert not fits_fields(
        {"attribute": "value_tier", "op": "in", "value": ["a,b", "c"]}, CATALOGUE
    )
    assert not fits_fields({"all": [TOP]}, CATALOGUE)
    # Without the catalogue's kinds a number would come back as text.
    assert not fits_fields({"attribute": "nps", "op": "ge", "value": 9}, CATALOGUE)


def test_actions_add_and_remove_nodes_filters_and_follow_ups() -> None:
    root = from_condition({"all": [TOP, RECENT_ORDERS]})
    apply_action(root, "add:r:group", CATALOGUE)
    assert [c.kind for c in root.children] == ["attribute", "behaviour", "group"]
    assert root.children[2].mode == "any"
    assert root.children[2].children[0].kind == "attribute"
    apply_action(root, "add:r.c2:segment", CATALOGUE)
    assert root.children[2].children[1].segment == "lapsed-vip"
    apply_action(root, "add-filter:r.c1", CATALOGUE)
    apply_action(root, "add-follow:r.c1", CATALOGUE)
    apply_action(root, "add-filter:r.c1.nf", CATALOGUE)
    orders = root.children[1]
    assert len(orders.filters) == 1
    assert orders.follow is not None
    assert [f.key for f in orders.follow.filters] == ["r.c1.nf.f0"]
    apply_action(root, "remove:r.c1.nf.f0", CATALOGUE)
    apply_action(root, "remove:r.c1.f0", CATALOGUE)
    assert orders.filters == []
    assert orders.follow is not None
    assert orders.follow.filters == []
    apply_action(root, "remove:r.c1.nf", CATALOGUE)
    assert orders.follow is None
    apply_action(root, "remove:r.c0", CATALOGUE)
    # Keys follow the places after a removal.
    assert [c.key for c in root.children] == ["r.c0", "r.c1"]
    assert root.children[1].children[1].key == "r.c1.c1"
    for nonsense in ("add:r.c0:group", "add:r:table", "remove:r.c9", "explode:r", ""):
        before = to_condition(root, CATALOGUE)
        apply_action(root, nonsense, CATALOGUE)  # an attribute holds no children
        assert to_condition(root, CATALOGUE) == before


def test_problems_land_on_their_condition_and_forms_are_bounded() -> None:
    root = from_condition({"all": [TOP, {"any": [RECENT_ORDERS, {"segment": "x"}]}]})
    _, paths = to_condition(root, CATALOGUE)
    assert node_of_problem(Problem("all[1].any[0].where[0]", "m"), paths) == "r.c1.c0"
    assert node_of_problem(Problem("all[1].any[1]", "m"), paths) == "r.c1.c1"
    assert node_of_problem(Problem("all[10]", "m"), paths) == "r"
    assert node_of_problem(Problem("", "m"), paths) == "r"
    many = {f"r.c{i}.kind": "attribute" for i in range(MAX_NODES + 1)}
    with pytest.raises(SegmentDefinitionError, match="more than"):
        parse_fields(many)
    deep = {"r" + ".c0" * depth + ".kind": "group" for depth in range(1, 10)}
    with pytest.raises(SegmentDefinitionError, match="nested"):
        parse_fields(deep)


def test_the_catalogue_lists_attributes_and_behaviours_with_their_kinds(demo_root: Path) -> None:
    catalogue = _workspace_catalogue(demo_root)
    columns = {c for (c,) in sql(demo_root, "select column_name from (describe customer_measures)")}
    kinds = {c.name: c.label for c in catalogue.attributes}
    assert columns - {"customer_id"} <= set(kinds)
    assert kinds["value_tier"] == "text"
    assert kinds["p_alive"] == "number"
    assert kinds["categories"] == "list of text"
    assert kinds["first_order_at"] == "time"
    assert set(catalogue.behaviours) <= {"orders", "purchases", "events", "contacts",
                                         "feedback", "campaigns"}  # fmt: skip
    assert "at" not in {c.name for c in catalogue.behaviours["orders"]}
    assert {c.name: c.label for c in catalogue.behaviours["feedback"]}["nps"] == "number"
    assert set(catalogue.segments) == {s for (s,) in sql(demo_root, "select name from segments")}


# -- the engine functions the pages use --------------------------------------------------------

#: An in-memory engine holding the segment tables (the fixture of the segment tests).
engine = segment_fixtures.engine
T1, T2, T3 = (datetime(2024, 1, 1, 10), datetime(2024, 1, 2, 10), datetime(2024, 1, 9, 10))


def people(moment: datetime, **tiers: str) -> SegmentSources:
    table = ibis.memtable(
        {"customer_id": list(tiers), "value_tier": list(tiers.values())},
        schema={"customer_id": "string", "value_tier": "string"},
    )
    return SegmentSources(table, as_of=moment)


def open_rows(engine: Engine, name: str) -> set[str]:
    return set(engine.to_pyarrow(current_members(engine, name))["customer_id"].to_pylist())


def test_refreshing_one_segment_records_only_its_history(engine: Engine) -> None:
    save_segment(engine, "top", TOP, now=T1)
    save_segment(engine, "low", {"attribute": "value_tier", "op": "eq", "value": "low"}, now=T1)
    first = refresh_segment(engine, people(T1, a="top", b="top", c="low"), "top", T1)
    assert (first.name, first.entered, first.exited) == ("top", 2, 0)
    assert open_rows(engine, "top") == {"a", "b"}
    assert open_rows(engine, "low") == set()  # the others wait for the pipeline
    second = refresh_segment(engine, people(T2, a="top", b="low", c="top"), "top", T2)
    assert (second.entered, second.exited) == (1, 1)
    assert open_rows(engine, "top") == {"a", "c"}
    again = refresh_segment(engine, people(T2, a="top", b="low", c="top"), "top", T3)
    assert (again.entered, again.exited) == (0, 0)
    # The same history as the refresh of every segment writes: nothing more to do for "top".
    report = refresh_segments(engine, people(T2, a="top", b="low", c="top"), T3)
    assert {c.name: (c.entered, c.exited) for c in report.segments} == {
        "top": (0, 0),
        "low": (1, 0),
    }
    rows = engine.records(engine.table("segment_members").order_by("customer_id", "entered_at"))
    top_id = get_segment(engine, "top").segment_id
    mine = [(r["customer_id"], r["entered_at"], r["exited_at"]) for r in rows
            if r["segment_id"] == top_id]  # fmt: skip
    assert mine == [("a", T1, None), ("b", T1, T2), ("c", T2, None)]
    with pytest.raises(SegmentNotFoundError):
        refresh_segment(engine, people(T2), "nope", T3)


def test_history_is_counted_per_day_and_week_with_sizes_then_and_now(engine: Engine) -> None:
    save_segment(engine, "top", TOP, now=T1)
    refresh_segment(engine, people(T1, a="top", b="top"), "top", T1)
    refresh_segment(engine, people(T2, a="top", c="top"), "top", T2)
    refresh_segment(engine, people(T3, c="top"), "top", T3)
    top = get_segment(engine, "top").segment_id
    days = engine.records(membership_over_time(engine, top, "day"))
    assert [(r["start"], r["entered"], r["exited"], r["members"]) for r in days] == [
        (T1.date(), 2, 0, 2), (T2.date(), 1, 1, 2), (T3.date(), 0, 1, 1)
    ]  # fmt: skip
    weeks = engine.records(membership_over_time(engine, top, "week"))
    # 2024-01-01 is a Monday: the first two days are one week, the 9th the next.
    assert [(r["start"].isoformat(), r["entered"], r["exited"], r["members"]) for r in weeks] == [
        ("2024-01-01", 3, 1, 2), ("2024-01-08", 0, 1, 1)
    ]  # fmt: skip
    sizes = engine.records(sizes_over_time(engine, [top]))
    assert [(r["day"], r["members"]) for r in sizes] == [(T1.date(), 2), (T2.date(), 2),
                                                         (T3.date(), 1)]  # fmt: skip
    changes = {r["name"]: r for r in engine.records(size_changes(engine, T1 + timedelta(hours=1)))}
    assert (changes["top"]["size"], changes["top"]["before"], changes["top"]["change"]) == (
        1,
        2,
        -1,
    )
    save_segment(engine, "empty", {"attribute": "value_tier", "op": "eq", "value": "x"}, now=T3)
    empty = engine.records(size_changes(engine, T1))
    assert [(r["size"], r["before"]) for r in empty if r["name"] == "empty"] == [(0, 0)]


def test_overlaps_of_one_segment_agree_with_every_pair(engine: Engine) -> None:
    tiers = {"a": "top", "b": "top", "c": "low", "d": "mid"}
    save_segment(engine, "top", TOP, now=T1)
    save_segment(engine, "top-or-low", {"attribute": "value_tier", "op": "in",
                                        "value": ["top", "low"]}, now=T1)  # fmt: skip
    save_segment(engine, "mid", {"attribute": "value_tier", "op": "eq", "value": "mid"}, now=T1)
    refresh_segments(engine, people(T1, **tiers), T1)
    (pair,) = [p for p in segment_overlaps(engine) if {p.a, p.b} == {"top", "top-or-low"}]
    sizes = {pair.a: pair.size_a, pair.b: pair.size_b}
    mine = overlaps_with(engine, "top")
    assert [o.b for o in mine] == ["top-or-low"]  # "mid" shares nobody
    assert (mine[0].size_a, mine[0].size_b) == (sizes["top"], sizes["top-or-low"]) == (2, 3)
    assert (mine[0].both, mine[0].jaccard) == (pair.both, pair.jaccard)
    assert mine[0].jaccard == pytest.approx(2 / 3)


# -- pages through the TestClient --------------------------------------------------------------


def _open_sizes(root: Path) -> dict[str, int]:
    rows = sql(
        root,
        "select s.name, count(m.customer_id) from segments s left join segment_members m "
        "on m.segment_id = s.segment_id and m.exited_at is null group by s.name",
    )
    return {name: int(n) for name, n in rows}


def test_the_list_shows_every_segment_with_its_size_and_change(
    client_as: Client, demo_root: Path
) -> None:
    sizes = _open_sizes(demo_root)
    cutoff = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=30)  # stored: naive UTC
    before = dict(
        sql(
            demo_root,
            "select s.name, count(m.customer_id) from segments s left join segment_members m "
            "on m.segment_id = s.segment_id and m.entered_at <= ? "
            "and (m.exited_at is null or m.exited_at > ?) group by s.name",
            cutoff,
            cutoff,
        )
    )
    assert len(sizes) >= 4
    page = client_as("viewer").get("/segments")
    assert page.status_code == 200
    for name, size in sizes.items():
        row = re.search(rf'<tr data-segment="{name}">(.*?)</tr>', page.text, re.S)
        assert row, name
        assert f'data-size="{size}"' in row.group(1)
        assert f'data-change="{size - before[name]}"' in row.group(1)
    assert 'id="segment-trend"' in page.text  # the chart of the largest ones
    assert "New segment" not in page.text  # a viewer does not build segments
    assert 'href="/segments/new"' in client_as("marketer").get("/segments").text


def test_a_segment_page_shows_its_history_overlaps_and_masked_members(
    client_as: Client, demo_root: Path
) -> None:
    name = "repeat-buyers-90d"
    (segment_id,) = sql(demo_root, "select segment_id from segments where name = ?", name)[0]
    entered = dict(
        sql(
            demo_root,
            "select cast(entered_at as date), count(*) from segment_members "
            "where segment_id = ? group by 1",
            segment_id,
        )
    )
    shared = dict(
        sql(
            demo_root,
            "select s.name, count(*) from segment_members a join segment_members b "
            "on a.customer_id = b.customer_id and b.segment_id <> a.segment_id "
            "join segments s on s.segment_id = b.segment_id where a.segment_id = ? "
            "and a.exited_at is null and b.exited_at is null group by s.name",
            segment_id,
        )
    )
    first = sql(
        demo_root,
        "select m.customer_id, c.email from segment_members m join customers c "
        "using (customer_id) where m.segment_id = ? and m.exited_at is null "
        "order by m.entered_at, m.customer_id limit 1",
        segment_id,
    )[0]
    size = _open_sizes(demo_root)[name]
    page = client_as("marketer").get(f"/segments/{name}")
    assert page.status_code == 200
    text = page.text
    assert re.search(rf'id="segment-size">.*?class="value">{size:,}<', text, re.S)
    assert "behaviour: orders" in text
    assert "within_days: 90" in text
    for day, count in entered.items():  # the numbers under the history chart
        assert re.search(
            rf"<th scope=\"row\">{day.isoformat()}</th><td class=\"num\">{count:,}<", text
        )
    for other, both in shared.items():
        assert re.search(
            rf'href="/segments/{other}">{other}</a></th><td class="num">{both:,}<', text
        )
    # Members: ids for everyone, names and e-mail addresses masked for a marketer.
    assert f'href="/customers/{first[0]}"' in text
    assert first[1] not in text
    assert "***@" in text
    assert 'id="edit-segment"' in text
    week = client_as("viewer").get(f"/segments/{name}?period=week")
    assert week.status_code == 200
    assert 'id="edit-segment"' not in week.text


def test_members_with_personal_data_are_audited_and_paged(
    client_as: Client, demo_root: Path
) -> None:
    name = "browsed-not-bought"
    (segment_id,) = sql(demo_root, "select segment_id from segments where name = ?", name)[0]
    second_page = sql(
        demo_root,
        "select m.customer_id, c.email from segment_members m join customers c "
        "using (customer_id) where m.segment_id = ? and m.exited_at is null "
        "order by m.entered_at, m.customer_id limit ? offset ?",
        segment_id,
        MEMBERS_PAGE,
        2 * MEMBERS_PAGE,
    )
    assert second_page
    agent = client_as("agent")
    offset = 2 * MEMBERS_PAGE
    part = agent.get(f"/segments/{name}/members?offset={offset}", headers={"HX-Request": "true"})
    assert part.status_code == 200
    assert "<html" not in part.text
    for customer_id, email in second_page:
        assert customer_id in part.text
        if email:
            assert email in part.text
    audit = AuthStore.for_workspace(demo_root).audit
    reads = audit.query(actor="ui-agent", action="segment.read_contacts", limit=1000)
    read_ids = {e.target for e in reads}
    assert {c for c, _ in second_page} <= read_ids
    assert reads[0].details == {"segment": name, "results": len(second_page), "to": "page"}
    # Without HTMX the part is the page itself, at that offset.
    r = agent.get(f"/segments/{name}/members?offset={offset}", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].endswith(f"?offset={offset}#members")
    # A marketer's reads of masked members are not personal data: nothing recorded.
    client_as("marketer").get(f"/segments/{name}")
    assert not audit.query(actor="ui-marketer", action="segment.read_contacts")


def test_the_preview_counts_as_the_engine_and_the_api_do(
    client_as: Client, demo_root: Path, api: Callable[[str], TestClient]
) -> None:
    definition = {"all": [TOP, {"behaviour": "orders", "within_days": 90}]}
    expected = engine_count(demo_root, definition)
    by_api = api("ui-marketer").post("/api/v1/segments/preview", json={"definition": definition})
    assert by_api.status_code == 200, by_api.text
    assert by_api.json()["count"] == expected
    top_tier = sql(demo_root, "select count(*) from customer_measures where value_tier = 'top'")
    customers = sql(demo_root, "select count(*) from customer_measures")[0][0]
    marketer = client_as("marketer")
    for rule, count in [(definition, expected), (TOP, top_tier[0][0])]:
        r = marketer.post("/segments/preview", data=fields_of(rule))
        assert r.status_code == 200
        assert f'data-count="{count}"' in r.text
        assert f"of {customers:,}" in r.text
    # The YAML tab counts the same.
    yaml_form = {"mode": "yaml", "yaml": "{attribute: value_tier, op: eq, value: top}"}
    assert (
        f'data-count="{top_tier[0][0]}"' in marketer.post("/segments/preview", data=yaml_form).text
    )


def test_the_preview_lists_problems_by_condition(client_as: Client) -> None:
    rule = {"all": [TOP, {"any": [RECENT_ORDERS, TOP]}]}
    form = fields_of(rule)
    form.update({"r.c1.c1.attribute": "valu_tier", "r.c1.c0.f0.column": "chanel",
                 "r.c1.c0.f0.op": "eq", "r.c1.c0.f0.value": "web"})  # fmt: skip
    r = client_as("analyst").post("/segments/preview", data=form)
    assert r.status_code == 200
    assert "data-count" not in r.text
    assert "2 problems" in r.text
    assert re.search(
        r"Condition 2\.2</strong> <code>all\[1\]\.any\[1\]</code>: unknown attribute", r.text
    )
    assert "Did you mean &#39;value_tier&#39;?" in r.text
    assert re.search(r"Condition 2\.1</strong> <code>all\[1\]\.any\[0\]\.where\[0\]</code>", r.text)
    bad_yaml = client_as("analyst").post(
        "/segments/preview", data={"mode": "yaml", "yaml": "all: ["}
    )
    assert "not valid YAML or JSON" in bad_yaml.text


def test_builder_actions_draw_the_tree_again(client_as: Client) -> None:
    marketer = client_as("marketer")
    new = marketer.get("/segments/new")
    assert new.status_code == 200
    assert 'name="r.c0.attribute"' in new.text
    assert 'hx-post="/segments/preview"' in new.text
    form = fields_of({"all": [TOP, RECENT_ORDERS]}, name="x")
    hx = {"HX-Request": "true"}
    added = marketer.post("/segments/builder", data={**form, "action": "add:r:group"}, headers=hx)
    assert added.status_code == 200
    assert "<html" not in added.text
    assert 'name="r.c2.c0.attribute"' in added.text
    assert "Condition 3.1" in added.text
    removed = marketer.post("/segments/builder", data={**form, "action": "remove:r.c0"}, headers=hx)
    assert 'name="r.c1.kind"' not in removed.text
    assert 'name="r.c0.behaviour"' in removed.text
    as_yaml = marketer.post("/segments/builder", data={**form, "action": "to-yaml"}, headers=hx)
    assert "<textarea" in as_yaml.text
    assert "value_tier" in as_yaml.text
    back = marketer.post(
        "/segments/builder",
        data={"mode": "yaml", "yaml": "any: [{segment: top-tier-at-risk}, {behaviour: contacts}]",
              "action": "to-form"},
        headers=hx,
    )  # fmt: skip
    assert 'name="r.c0.segment"' in back.text
    assert 'value="any" selected' in back.text
    # Another attribute: only the tests of its kind are offered.
    form["r.c0.attribute"] = "categories"
    redrawn = marketer.post("/segments/builder", data=form, headers=hx)
    assert '<option value="contains" selected>' in redrawn.text
    assert 'value="gt"' not in redrawn.text.split('name="r.c0.op"')[1].split("</select>")[0]
    # Without HTMX (no script) the whole page comes back.
    whole = marketer.post("/segments/builder", data={**form, "action": "add:r:behaviour"})
    assert "<html" in whole.text
    assert 'name="r.c2.behaviour"' in whole.text


def test_saving_through_the_ui_matches_the_api_and_is_audited(
    client_as: Client, demo_root: Path, api: Callable[[str], TestClient], cleanup: list[str]
) -> None:
    name = unique()
    cleanup.append(name)
    definition = {"all": [TOP, {"behaviour": "orders", "within_days": 365}]}
    marketer = client_as("marketer")
    r = marketer.post("/segments", data=fields_of(definition, name=name), follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/segments/{name}?saved=created"
    page = marketer.get(r.headers["location"])
    shown = int(re.search(r'id="segment-size">.*?class="value">([\d,]+)<', page.text, re.S)
                .group(1).replace(",", ""))  # fmt: skip
    assert "Saved the new segment" in page.text
    detail = api("ui-marketer").get(f"/api/v1/segments/{name}").json()
    assert detail["size"] == shown == engine_count(demo_root, definition) > 0
    assert detail["created_by"] == "ui-marketer"
    assert detail["version"] == 1
    assert detail["definition"] == definition
    assert sum(h["entered"] for h in detail["history"]) == shown  # members at once
    audit = AuthStore.for_workspace(demo_root).audit
    created = audit.query(action="segment.create", target=name)
    assert [(e.actor, e.details["version"]) for e in created] == [("ui-marketer", 1)]

    # The same rule again changes nothing; a changed one is version 2, members refreshed.
    same = fields_of(definition, name=name, editing=name)
    r = marketer.post("/segments", data=same, follow_redirects=False)
    assert r.headers["location"] == f"/segments/{name}?saved=unchanged"
    changed = {"all": [TOP, {"behaviour": "orders", "within_days": 90}]}
    r = marketer.post("/segments", data=fields_of(changed, name=name, editing=name),
                      follow_redirects=False)  # fmt: skip
    assert r.headers["location"] == f"/segments/{name}?saved=updated"
    detail = api("ui-marketer").get(f"/api/v1/segments/{name}").json()
    assert detail["version"] == 2
    assert detail["size"] == engine_count(demo_root, changed)
    assert [e.details["version"] for e in audit.query(action="segment.update", target=name)] == [2]
    edit = marketer.get(f"/segments/{name}/edit")
    assert edit.status_code == 200
    assert 'value="365"' not in edit.text
    assert 'value="90"' in edit.text

    # A name that is taken, or not a name, keeps the rule on the page.
    taken = marketer.post("/segments", data=fields_of(definition, name=name))
    assert taken.status_code == 409
    assert "exists (version 2)" in taken.text
    assert 'name="r.c1.behaviour"' in taken.text
    for bad in ("Bad Name", "new"):
        refused = marketer.post("/segments", data=fields_of(definition, name=bad))
        assert refused.status_code == 422
        assert 'name="r.c0.attribute"' in refused.text

    # Deleting asks first, then removes it and its history, on record.
    confirm = marketer.get(f"/segments/{name}/delete")
    assert confirm.status_code == 200
    assert 'id="confirm-delete"' in confirm.text
    r = marketer.post(f"/segments/{name}/delete", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, f"/segments?deleted={name}")
    assert api("ui-marketer").get(f"/api/v1/segments/{name}").status_code == 404
    assert not sql(demo_root, "select 1 from segments where name = ?", name)
    assert audit.query(action="segment.delete", target=name)[0].actor == "ui-marketer"
    assert marketer.get(f"/segments/{name}").status_code == 404


def test_a_rule_the_data_refuses_shows_the_builder_again(
    client_as: Client, demo_root: Path
) -> None:
    name = unique()
    form = fields_of({"all": [TOP, RECENT_ORDERS]}, name=name)
    form["r.c0.attribute"] = "valu_tier"
    form["r.c1.within_days"] = "100000000"
    r = client_as("analyst").post("/segments", data=form)
    assert r.status_code == 422
    assert "The rule does not fit the data" in r.text
    assert "within_days" in r.text
    assert 'value="valu_tier" selected' in r.text  # what was typed stays
    form["r.c1.within_days"] = "90"
    r = client_as("analyst").post("/segments", data=form)
    assert r.status_code == 422
    assert "unknown attribute" in r.text
    assert 'class="node attribute invalid"' in r.text  # marked where it is
    yaml_form = {
        "name": name,
        "mode": "yaml",
        "yaml": "{behaviour: orders, within_days: 99999999999}",
    }
    assert client_as("analyst").post("/segments", data=yaml_form).status_code == 422
    assert not sql(demo_root, "select 1 from segments where name = ?", name)


def test_a_referenced_segment_cannot_be_deleted(client_as: Client, cleanup: list[str]) -> None:
    base, user = unique("ui-base"), unique("ui-user")
    cleanup.extend([base, user])
    admin = client_as("admin")
    for name, rule in [(base, TOP), (user, {"segment": base})]:
        r = admin.post("/segments", data=fields_of(rule, name=name), follow_redirects=False)
        assert r.status_code == 303, r.text
    confirm = admin.get(f"/segments/{base}/delete")
    assert f"{user} refers to it" in confirm.text
    assert 'id="confirm-delete"' not in confirm.text
    r = admin.post(f"/segments/{base}/delete")
    assert r.status_code == 409
    assert user in r.text
    # Its builder does not offer the segment itself to refer to.
    form = {**fields_of(TOP, name=base, editing=base), "action": "add:r:segment"}
    tree = admin.post("/segments/builder", data=form, headers={"HX-Request": "true"}).text
    assert f'<option value="{base}"' not in tree
    assert f'<option value="{user}"' in tree


def test_export_respects_roles_and_is_audited(client_as: Client, demo_root: Path) -> None:
    name = "top-tier-at-risk"
    expected = sql(
        demo_root,
        "select m.customer_id, c.first_name, c.last_name, c.email from segment_members m "
        "join segments s using (segment_id) left join customers c using (customer_id) "
        "where s.name = ? and m.exited_at is null order by m.customer_id",
        name,
    )
    assert expected
    agent = client_as("agent").get(f"/segments/{name}/export.csv")
    assert agent.status_code == 200
    assert agent.headers["content-type"].startswith("text/csv")
    assert f'filename="{name}-members.csv"' in agent.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(agent.text)))
    assert list(rows[0]) == ["customer_id", "entered_at", "first_name", "last_name", "email"]
    assert [(r["customer_id"], r["email"]) for r in rows] == [(e[0], e[3] or "") for e in expected]
    entries = AuthStore.for_workspace(demo_root).audit.query(action="segment.export", target=name)
    assert entries[0].actor == "ui-agent"
    assert entries[0].details["members"] == len(expected)
    assert entries[0].details["contacts"]

    marketer = client_as("marketer").get(f"/segments/{name}/export.csv")
    rows = list(csv.DictReader(io.StringIO(marketer.text)))
    assert list(rows[0]) == ["customer_id", "entered_at"]
    assert [r["customer_id"] for r in rows] == [e[0] for e in expected]
    assert not any(e[3] and e[3] in marketer.text for e in expected)
    assert not AuthStore.for_workspace(demo_root).audit.query(
        actor="ui-marketer", action="segment.export"
    )


def test_export_streams_in_chunks(demo_root: Path) -> None:
    from insightloop.analytics.segments.members import member_chunks

    with Workspace.open(demo_root, read_only=True) as ws:
        chunks = list(member_chunks(ws.engine, "browsed-not-bought", size=40, contacts=True))
    ids = [r["customer_id"] for chunk in chunks for r in chunk]
    assert all(len(c) <= 40 for c in chunks)
    assert len(chunks) > 2
    assert ids == sorted(ids)
    assert len(ids) == len(set(ids))
    assert len(ids) == _open_sizes(demo_root)["browsed-not-bought"]
    assert set(chunks[0][0]) == {"customer_id", "entered_at", "first_name", "last_name", "email"}


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_roles_without_segments_write_neither_build_nor_save(
    client_as: Client, demo_root: Path, role: str
) -> None:
    client = client_as(role)
    assert client.get("/segments").status_code == 200
    assert client.get("/segments/top-tier-at-risk").status_code == 200
    for url in ("/segments/new", "/segments/top-tier-at-risk/edit",
                "/segments/top-tier-at-risk/delete"):  # fmt: skip
        r = client.get(url)
        assert r.status_code == 403, url
        assert "segments:write" in r.text, url
    form = fields_of(TOP, name=unique())
    for url in ("/segments", "/segments/preview", "/segments/builder",
                "/segments/top-tier-at-risk/delete"):  # fmt: skip
        assert client.post(url, data=form).status_code == 403, url
    assert sql(demo_root, "select count(*) from segments where name = 'top-tier-at-risk'") == [(1,)]


def test_changes_need_the_session_csrf_token(client_as: Client) -> None:
    client = client_as("admin")
    del client.headers["X-CSRF-Token"]
    r = client.post("/segments", data=fields_of(TOP, name=unique()))
    assert r.status_code == 403
    assert "Form expired" in r.text
    assert client.post("/segments/top-tier-at-risk/delete").status_code == 403


def test_unknown_segments_are_404_pages_naming_the_closest(client_as: Client) -> None:
    client = client_as("analyst")
    r = client.get("/segments/top-tier-at-rsk")
    assert r.status_code == 404
    assert "Did you mean &#39;top-tier-at-risk&#39;?" in r.text
    for url in ("/segments/nope/edit", "/segments/nope/export.csv", "/segments/nope/delete",
                "/segments/%01bad"):  # fmt: skip
        assert client.get(url).status_code == 404, url


# -- in the browser ----------------------------------------------------------------------------


def test_build_watch_the_count_save_and_see_the_history(
    page_as: Callable[[str], Any], demo_root: Path, cleanup: list[str]
) -> None:
    name = unique("ui-browser")
    cleanup.append(name)
    definition = {"all": [TOP, {"behaviour": "orders", "within_days": 90}]}
    expected = engine_count(demo_root, definition)
    top_tier = sql(demo_root, "select count(*) from customer_measures where value_tier = 'top'")
    page = page_as("marketer")
    page.goto("/segments")
    page.wait_for_selector("#segment-trend .main-svg")
    shot(page, "segments-list")
    page.click("#new-segment")
    page.wait_for_url("**/segments/new")
    page.wait_for_selector("#preview-problems, #preview-count")
    # Condition 1: an attribute (picking it draws the tests of its kind).
    page.locator("#r-c0-attribute").select_option("value_tier")
    expect(page.locator("#r-c0-value")).to_have_attribute("placeholder", "", timeout=WAIT)
    page.locator("#r-c0-value").fill("top")
    expect(page.locator("#preview-count")).to_have_attribute(
        "data-count", str(top_tier[0][0]), timeout=WAIT
    )
    # Condition 2: a behaviour with a window.
    page.get_by_role("button", name="Add a behaviour condition to the rule").click()
    page.wait_for_selector("#r-c1-within_days")
    page.locator("#r-c1-within_days").fill("90")
    expect(page.locator("#preview-count")).to_have_attribute(
        "data-count", str(expected), timeout=WAIT
    )
    page.locator("#segment-name").fill(name)
    shot(page, "segments-builder")
    page.click("#save-segment")
    page.wait_for_url(f"**/segments/{name}?saved=created")
    assert page.locator("#segment-size .value").inner_text() == f"{expected:,}"
    page.wait_for_selector("#members-over-time .main-svg")
    shot(page, "segments-detail")
    page.click("#delete-segment")
    page.click("#confirm-delete")
    page.wait_for_url("**/segments?deleted=*")
    assert page.locator(f'tr[data-segment="{name}"]').count() == 0


def test_the_builder_in_the_browser_handles_groups_yaml_and_problems(
    page_as: Callable[[str], Any], demo_root: Path
) -> None:
    (saved,) = sql(demo_root, "select definition from segments where name = 'top-tier-at-risk'")
    rule = json.loads(saved[0])
    lapsed = {"attribute": "lifecycle_stage", "op": "eq", "value": "lapsed"}
    before = engine_count(demo_root, rule)
    after = engine_count(demo_root, {"all": [*rule["all"], {"not": lapsed}]})
    page = page_as("analyst")
    page.goto("/segments/top-tier-at-risk/edit")
    count = page.locator("#preview-count")
    expect(count).to_have_attribute("data-count", str(before), timeout=WAIT)
    page.get_by_role("button", name="Add a group to the rule").click()
    page.wait_for_selector("#r-c2-mode")
    page.locator("#r-c2-mode").select_option("none")
    page.locator("#r-c2-c0-attribute").select_option("lifecycle_stage")
    expect(page.locator("#r-c2-c0-value")).to_have_attribute("placeholder", "", timeout=WAIT)
    page.locator("#r-c2-c0-value").fill("lapsed")
    expect(count).to_have_attribute("data-count", str(after), timeout=WAIT)
    page.locator("#r-c0-value").fill("")
    expect(page.locator("#preview")).to_contain_text("Condition 1", timeout=WAIT)
    expect(page.locator("#preview")).to_contain_text("needs a value")
    page.click("#tab-yaml")
    page.wait_for_selector("#rule-yaml")
    assert "lifecycle_stage" in page.locator("#rule-yaml").input_value()
    shot(page, "segments-builder-yaml")
