"""Slicing the shop of ``data.py``: every figure below is worked out by hand from the rows
listed there, not taken from the code's output."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from insightloop import Workspace
from insightloop.analytics.cube import Query, QueryResult, run_query
from insightloop.analytics.cube.build import referenced_columns
from insightloop.analytics.cube.catalogue import MEASURES
from insightloop.analytics.cube.plan import CubeSources
from tests.analytics.cube.conftest import Ask
from tests.analytics.cube.data import CONFIG, IDENTITY, build_cube_data
from tests.decorator import mark_with_all_backends


def _table(result: QueryResult) -> list[tuple[Any, ...]]:
    """The rows as tuples of the dimensions and measures (floats rounded to 4 places)."""
    return [
        tuple(round(v, 4) if isinstance(v, float) else v for v in (r[c] for c in result.columns))
        for r in result.rows
    ]


def _totals(result: QueryResult) -> tuple[Any, ...]:
    t = result.totals
    return tuple(round(t[m], 4) if isinstance(t[m], float) else t[m] for m in result.measures)


def test_orders_by_channel(ask: Ask) -> None:
    r = ask(measures=["revenue", "orders", "avg_order_value", "buyers"], by=["channel"])
    # Store: O1 100 + O2 50 + O4 30 + O5 999 (Ada) + O7 20 (Ben); web: O3 1000 SEK = 100 EUR.
    assert _table(r) == [("store", 1199.0, 5, 239.8, 2), ("web", 100.0, 1, 100.0, 1)]
    assert _totals(r) == (1299.0, 6, 216.5, 2)
    assert r.units == {"revenue": "EUR", "orders": "orders", "avg_order_value": "EUR",
                       "buyers": "customers"}  # fmt: skip
    assert r.columns == ["channel", "revenue", "orders", "avg_order_value", "buyers"]
    assert not r.truncated
    assert "SELECT" in r.sql


def test_measures_of_different_tables_line_up_on_one_dimension(ask: Ask) -> None:
    r = ask(measures=["revenue", "contacts"], by=["channel"], order="channel", ascending=True)
    # Orders have store and web, contacts phone, chat and e-mail: the counts of the other are 0.
    assert _table(r) == [
        ("chat", 0.0, 1),
        ("email", 0.0, 1),
        ("phone", 0.0, 1),
        ("store", 1199.0, 0),
        ("web", 100.0, 0),
    ]
    assert _totals(r) == (1299.0, 3)


def test_order_lines_by_category(ask: Ask) -> None:
    r = ask(measures=["units", "sales", "margin", "returned_units"], by=["category"])
    # Toys: 2 + 5 units, 40 + 100 EUR, cost 7 x 5; books: 1 + 2 units, 10 + 20 EUR, cost 3 x 4.
    assert _table(r) == [("toys", 7, 140.0, 105.0, 2), ("books", 3, 30.0, 18.0, 0)]
    assert _totals(r) == (10, 170.0, 123.0, 2)


def test_customer_measures_by_value_tier(ask: Ask) -> None:
    r = ask(
        measures=["customers", "active_customers", "revenue_365d", "profit_12m",
                  "avg_recency_days"],
        by=["value_tier"],
        order="customers",
    )  # fmt: skip
    # Ada (top): 280 ordered in the year to 2024-06-30, profit 211 - 9, last order 10.25 days
    # before the end of the day; Ben and Cy (rest): nothing this year, Ben's order 538 days ago.
    assert _table(r) == [("rest", 2, 0, 0.0, 0.0, 538.0), ("top", 1, 1, 280.0, 202.0, 10.25)]
    assert _totals(r) == (3, 1, 280.0, 202.0, 274.125)
    assert r.as_of == date(2024, 6, 30)


def test_lifetime_value_and_lifecycle(ask: Ask) -> None:
    r = ask(measures=["avg_clv", "total_clv", "avg_p_alive"], by=["country"])
    assert _table(r) == [("SE", 155.0, 310.0, 0.55), ("NO", 0.0, 0.0, 0.5)]
    assert _totals(r) == (103.3333, 310.0, 0.5333)
    stages = ask(measures=["customers"], by=["lifecycle_stage"], order="lifecycle_stage")
    assert _table(stages) == [("prospect", 1), ("lapsed", 1), ("active", 1)]


def test_a_customer_in_two_segments_counts_in_both_and_once_in_the_totals(ask: Ask) -> None:
    r = ask(measures=["customers", "revenue"], by=["segment"], order="segment", ascending=True)
    # buyers: Ada and Ben; vip: Ada (Cy left it); Cy is in none. Nulls sort last.
    assert _table(r) == [("buyers", 2, 1299.0), ("vip", 1, 1279.0), (None, 1, 0.0)]
    assert _totals(r) == (3, 1299.0)


def test_segment_filters(ask: Ask) -> None:
    vip = ask(measures=["revenue", "customers"], filters=[{"dimension": "segment",
              "value": "vip"}])  # fmt: skip
    assert _totals(vip) == (1279.0, 1)
    others = ask(
        measures=["revenue", "customers"],
        filters=[{"dimension": "segment", "op": "not_in", "value": ["vip"]}],
    )
    assert _totals(others) == (20.0, 2)  # Ben's order; Ben and Cy


def test_time_series(ask: Ask) -> None:
    months = ask(measures=["revenue", "orders"], by=["period"], since="2024-01-01",
                 until="2024-06-30")  # fmt: skip
    assert _table(months) == [(date(2024, 3, 1), 50.0, 1), (date(2024, 6, 1), 130.0, 2)]
    assert _totals(months) == (180.0, 3)
    quarters = ask(measures=["revenue"], by=["period"], period="quarter")
    assert _table(quarters) == [
        (date(2023, 1, 1), 20.0),
        (date(2023, 7, 1), 100.0),
        (date(2024, 1, 1), 50.0),
        (date(2024, 4, 1), 130.0),
        (date(2024, 7, 1), 999.0),
    ]
    weeks = ask(measures=["orders"], by=["period"], period="week", since="2024-06-17",
                until="2024-06-23")  # fmt: skip
    assert _table(weeks) == [(date(2024, 6, 17), 2)]  # the Monday of the week of 2024-06-20
    years = ask(measures=["revenue"], by=["period", "channel"], period="year")
    assert _table(years) == [
        (date(2023, 1, 1), "store", 120.0),
        (date(2024, 1, 1), "store", 1079.0),
        (date(2024, 1, 1), "web", 100.0),
    ]


def test_surveys_contacts_and_campaigns(ask: Ask) -> None:
    r = ask(measures=["nps", "avg_csat", "responses", "campaign_responses", "response_rate"])
    # One promoter (9) and one detractor (3) of two: 50 % - 50 % = 0.
    assert _table(r) == [(0.0, 2.0, 2, 1, 1.0)]
    by_month = ask(measures=["nps"], by=["period"], since="2024-01-01")
    assert _table(by_month) == [(date(2024, 1, 1), 100.0), (date(2024, 6, 1), -100.0)]
    reasons = ask(measures=["contacts", "unresolved_contacts"], by=["reason"])
    assert _table(reasons) == [("DELIVERY", 2, 1), ("RETURN", 1, 0)]


def test_activity_by_customer_dimensions_and_filters(ask: Ask) -> None:
    r = ask(measures=["customers", "contacts"], by=["country"])
    assert _table(r) == [("SE", 2, 3), ("NO", 1, 0)]
    top = ask(measures=["revenue"], by=["country"], filters=[{"dimension": "value_tier",
              "value": "top"}])  # fmt: skip
    assert _table(top) == [("SE", 1279.0)]
    web = ask(measures=["revenue", "buyers"], by=["country"], filters=[{"dimension": "channel",
              "value": "web"}])  # fmt: skip
    assert _table(web) == [("SE", 100.0, 1)]


@pytest.mark.parametrize(
    ("condition", "customers"),
    [
        ({"dimension": "orders_365d", "op": "gt", "value": 0}, 1),
        ({"dimension": "orders_365d", "op": "gt", "value": "0"}, 1),
        ({"dimension": "recency_days", "op": "between", "value": [0, 30]}, 1),
        ({"dimension": "country", "op": "in", "value": ["SE", "DK"]}, 2),
        # "Not toys" keeps those without a top category (Cy).
        ({"dimension": "top_category", "op": "ne", "value": "toys"}, 2),
        ({"dimension": "top_category", "op": "not_in", "value": ["toys", "books"]}, 1),
        ({"dimension": "p_alive", "op": "ge", "value": 0.5}, 2),
        ({"dimension": "rfm_score", "op": "eq", "value": 522}, 1),
    ],
)
def test_filters_on_customer_attributes(
    ask: Ask, condition: dict[str, Any], customers: int
) -> None:
    assert ask(measures=["customers"], filters=[condition]).totals["customers"] == customers


def test_sum_and_avg_of_any_numeric_attribute(ask: Ask) -> None:
    r = ask(measures=["sum:orders", "avg:revenue_365d", "sum:clv"], by=["country"])
    # Lifetime orders as of 2024-06-30: Ada 4, Ben 1.
    assert _table(r) == [("SE", 5.0, 140.0, 310.0), ("NO", 0.0, 0.0, 0.0)]
    assert r.units == {"sum:orders": "", "avg:revenue_365d": "EUR", "sum:clv": "EUR"}


def test_small_groups_are_suppressed_before_sorting(ask: Ask) -> None:
    r = ask(min_group_size=2, measures=["customers", "revenue_365d"], by=["value_tier"])
    assert r.rows == [
        {"value_tier": "rest", "customers": 2, "revenue_365d": 0.0, "suppressed": False},
        {"value_tier": "top", "customers": None, "revenue_365d": None, "suppressed": True},
    ]
    assert r.totals == {"customers": 3, "revenue_365d": 280.0, "suppressed": False}
    assert r.suppressed == 1
    # Web revenue is Ada's alone; store revenue is Ada's and Ben's.
    channels = ask(min_group_size=2, measures=["revenue", "contacts"], by=["channel"])
    shown = {row["channel"]: (row["revenue"], row["contacts"]) for row in channels.rows}
    assert shown == {"store": (1199.0, 0), "web": (None, 0), "chat": (0.0, None),
                     "email": (0.0, None), "phone": (0.0, None)}  # fmt: skip
    everything = ask(min_group_size=5, measures=["customers"])
    assert everything.totals == {"customers": None, "suppressed": True}


def test_limit_order_and_a_single_row_without_dimensions(ask: Ask) -> None:
    r = ask(measures=["orders", "revenue"], by=["period"], period="day", order="revenue",
            ascending=True, limit=2)  # fmt: skip
    assert _table(r) == [(date(2023, 1, 10), 1, 20.0), (date(2024, 3, 1), 1, 50.0)]
    assert r.truncated
    assert _totals(r) == (6, 1299.0)
    whole = ask(measures=["orders"])
    assert whole.rows == [whole.totals]
    payload = r.to_dict()
    assert payload["rows"][0]["period"] == "2023-01-10"
    assert payload["truncated"] is True


def test_the_golden_record_and_activity_suffice_before_the_measures(
    duckdb_workspace: Workspace,
) -> None:
    from tests.analytics.shop import load_shop

    load_shop(duckdb_workspace.engine)
    r = run_query(
        duckdb_workspace.engine,
        Query(measures=["customers", "orders"], by=["country"]),
        identity=IDENTITY,
        config=CONFIG,
    )
    assert _table(r) == [(None, 3, 6)]


@mark_with_all_backends
def test_one_query_of_every_kind_on_every_backend(workspace: Workspace) -> None:
    build_cube_data(workspace.engine)

    def ask(**fields: Any) -> QueryResult:
        return run_query(
            workspace.engine, Query.model_validate(fields), identity=IDENTITY, config=CONFIG,
            min_group_size=2,
        )  # fmt: skip

    mixed = ask(measures=["customers", "revenue", "contacts"], by=["segment", "country"],
                filters=[{"dimension": "orders_365d", "op": "ge", "value": 0}])  # fmt: skip
    assert _table(mixed) == [
        ("buyers", "SE", 2, 1299.0, 3),
        # Ties (hidden customers) in the order of the dimensions, empty last.
        ("vip", "SE", None, None, None),  # Ada alone
        (None, "NO", None, 0.0, 0),  # Cy alone: customers hidden; no orders, no contacts
    ]
    assert _totals(mixed) == (3, 1299.0, 3)
    tiers = {"dimension": "value_tier", "op": "in", "value": ["top", "rest"]}
    series = ask(
        measures=["margin", "units"], by=["period", "category"], period="quarter", filters=[tiers]
    )
    # Ada's lines are hers alone (hidden); Ben's books of 2023-Q1 too.
    assert [(r["period"], r["category"], r["suppressed"]) for r in series.rows] == [
        (date(2023, 1, 1), "books", True),
        (date(2024, 1, 1), "books", True),
        (date(2024, 1, 1), "toys", True),
        (date(2024, 4, 1), "toys", True),
    ]
    assert _totals(series) == (123.0, 10)
    others = ask(
        measures=["sum:orders", "nps"],
        filters=[{"dimension": "segment", "op": "not_in", "value": ["vip"]}],
    )
    # Ben (one order) and Cy: two customers, shown; neither answered a survey.
    assert _totals(others) == (1.0, None)


def test_a_query_reads_only_the_customer_columns_it_needs(shop: Workspace) -> None:
    """Queries run on a customer table narrowed to their columns (the whole row compiles many
    times slower); the narrow rows are the whole table's, column for column."""
    engine = shop.engine
    sources = CubeSources(engine, IDENTITY, CONFIG)
    full = sources.customers
    assert full is not None
    for columns in (
        ("country",),
        ("value_tier", "clv", "p_alive"),
        ("lifecycle_stage", "country", "orders_365d"),
        ("persona_id", "city"),
    ):
        present = [c for c in columns if c in full.columns]
        assert present
        narrow = sources.customers_with(present)
        assert narrow is not None
        assert set(narrow.columns) == {"customer_id", *present}
        want = engine.records(full.select("customer_id", *present).order_by("customer_id"))
        assert engine.records(narrow.order_by("customer_id")) == want
    # What a measure reads is found in its expression, also when it declares no column.
    active = MEASURES["active_customers"]
    assert "orders_365d" in referenced_columns(active.aggregate(full), full)


def test_the_customer_columns_are_known_without_building_the_customer_table(
    shop: Workspace, duckdb_workspace: Workspace
) -> None:
    """The sources read the customer columns from the tables' schemas (building the joins takes
    longer than some queries); they are the built table's, in order, with their types."""
    from tests.analytics.shop import load_shop

    load_shop(duckdb_workspace.engine)  # the golden record only: no measures yet
    for ws, computed in ((shop, True), (duckdb_workspace, False)):
        sources = CubeSources(ws.engine, IDENTITY, CONFIG)
        built = sources.customers
        assert built is not None
        assert sources.customer_schema() == dict(built.schema().items())
        assert sources.attributes_computed is computed
        stub = sources.customer_stub()
        assert stub is not None
        assert stub.schema() == built.schema()
