"""Compiling definitions on the hand-checked shop (tests/analytics/segments/data.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from insightloop.analytics.segments import (
    SegmentSources,
    attr,
    compile_segment,
    events,
    feedback,
    loads_condition,
    orders,
    purchases,
    segment,
)
from insightloop.store import Engine
from tests.analytics.segments.data import AS_OF, MALICIOUS, t

Members = Callable[..., set[str]]

TWO_ORDERS_90D = "{behaviour: orders, within_days: 90, count: {op: ge, value: 2}}"
VIEWED_NOT_BOUGHT = """
behaviour: events
where:
  - {column: event, op: eq, value: Product Viewed}
  - {column: category, op: eq, value: shoes}
within_days: 30
not_followed_by:
  behaviour: purchases
  where: [{column: category, op: eq, value: shoes}]
  within_days: 14
"""
VIEWED_NOT_BOUGHT_SAME = """
behaviour: events
where: [{column: event, value: Product Viewed}]
within_days: 30
not_followed_by: {behaviour: purchases, same: [category], within_days: 14}
"""
NPS_DETRACTOR = """
behaviour: feedback
where:
  - {column: survey_type, op: eq, value: nps}
  - {column: nps, op: le, value: 6}
within_days: 30
"""
TOP_NOT_LAPSED = """
all:
  - {attribute: value_tier, op: eq, value: top}
  - not: {attribute: lifecycle_stage, op: eq, value: lapsed}
"""


def test_at_least_two_orders_in_90_days(members: Members) -> None:
    # c2's order of exactly 90 days ago is outside; c3's of 90 days less a second inside;
    # c5's at as_of inside; c4's after as_of ignored.
    assert members(loads_condition(TWO_ORDERS_90D)) == {"c1", "c3", "c5"}


def test_viewed_shoes_but_did_not_buy_them_within_14_days(members: Members) -> None:
    assert members(loads_condition(VIEWED_NOT_BOUGHT)) == {"c2", "c3", "c4"}


def test_viewed_a_category_but_did_not_buy_the_same_category(members: Members) -> None:
    # c6 bought the shoes they viewed but not the bags; c5 bought bags exactly 14 days later.
    assert members(loads_condition(VIEWED_NOT_BOUGHT_SAME)) == {"c2", "c3", "c4", "c6"}


def test_nps_detractor_in_the_last_30_days(members: Members) -> None:
    assert members(loads_condition(NPS_DETRACTOR)) == {"c1", "c6"}


def test_top_and_not_lapsed(members: Members) -> None:
    # c6 has no lifecycle stage, which is not "lapsed".
    assert members(loads_condition(TOP_NOT_LAPSED)) == {"c1", "c6"}


def test_nesting_all_any_not(members: Members) -> None:
    rule = loads_condition(
        f"""
any:
  - all:
      - {TWO_ORDERS_90D}
      - not: {{attribute: country, op: eq, value: SE}}
  - all:
      - {{attribute: categories, op: contains, value: bags}}
      - not:
          any:
            - {{attribute: value_tier, op: eq, value: low}}
            - behaviour: feedback
              where: [{{column: nps, op: ge, value: 9}}]
              within_days: 30
"""
    )
    # c5 (NO) has two recent orders; c1 and c3 are in SE. Of the bag lovers c1 and c2, neither
    # is low, and c2 is a promoter.
    assert members(rule) == {"c1", "c5"}


def test_not_is_the_universe_minus_the_condition(members: Members) -> None:
    everyone = {f"c{i}" for i in range(1, 8)}
    inner = loads_condition(TWO_ORDERS_90D)
    assert members(~inner) == everyone - {"c1", "c3", "c5"}
    # ne matches a missing value, so it equals not(eq); gt never matches a missing value.
    assert members(attr("value_tier") != "top") == {"c3", "c4", "c5", "c7"}
    assert members(~(attr("value_tier") == "top")) == {"c3", "c4", "c5", "c7"}
    assert members(attr("revenue_365d") > 0) == {"c1", "c2", "c3", "c5", "c6"}
    assert members(~(attr("revenue_365d") > 0)) == {"c4", "c7"}


def test_rows_after_as_of_are_ignored(members: Members, shop: SegmentSources) -> None:
    # c4 ordered for 500 after as_of: no order of 100 or more in the last 30 days.
    big = orders(within_days=30).where("amount", "ge", 100)
    assert members(big) == {"c1", "c5"}
    # Moving as_of past c4's order brings it in (and c1's order of 1 June out of the window).
    later = dataclasses.replace(shop, as_of=t("2024-07-06"))
    assert members(big, later) == {"c4", "c5"}
    # Without a window every row up to as_of counts.
    assert members(orders().count() >= 3) == {"c6"}


def test_window_boundary_is_exactly_n_days(members: Members, shop: SegmentSources) -> None:
    exactly = orders(within_days=90, channel="store")
    assert members(exactly) == {"c3", "c5"}  # c2's store order is exactly 90 days old
    assert members(dataclasses.replace(exactly, within_days=91)) == {"c2", "c3", "c5"}
    # An order exactly at as_of counts; one a second later does not.
    at_as_of = dataclasses.replace(shop, as_of=t("2024-06-29T23:59:59"))
    assert "c5" in members(orders(within_days=1, channel="store"))
    assert "c5" not in members(orders(within_days=1, channel="store"), at_as_of)


def test_aggregates_and_counts(members: Members) -> None:
    assert members(orders(within_days=90).sum("amount") >= 100) == {"c1", "c5"}
    assert members(orders(within_days=90).avg("amount") < 30) == {"c3"}
    assert members(orders(within_days=90).max("amount") >= 60) == {"c1", "c5"}
    # Customers without matching rows qualify for counts and sums that zero satisfies.
    assert members(orders(within_days=90).count() == 0) == {"c6", "c7"}
    assert members(orders(within_days=90).sum("amount") < 45) == {"c4", "c6", "c7", "c2"}
    # ... and never for a mean, minimum or maximum, which have no value without rows.
    assert members(orders(within_days=90).min("amount") < 1000) == {"c1", "c2", "c3", "c4", "c5"}
    assert members(purchases(within_days=30).count(distinct="category") >= 1) == {
        "c1",
        "c2",
        "c3",
        "c5",
        "c6",
    }


def test_attribute_operators(members: Members) -> None:
    assert members(attr("country").isin(["SE", "NO"])) == {"c1", "c3", "c5", "c6", "c7"}
    assert members(attr("country").not_in(["SE"])) == {"c2", "c4", "c5"}
    assert members(attr("revenue_365d").between(50, 110)) == {"c2", "c3", "c5"}
    assert members(attr("revenue_365d").is_null()) == {"c4"}
    assert members(attr("p_alive").not_null()) == {"c1", "c2", "c3", "c5", "c6"}
    assert members(attr("categories").contains("bags")) == {"c1", "c2"}
    assert members(attr("first_order_at") < "2024-01-01") == {"c1"}
    assert members(attr("first_order_at") >= "2024-04-01T00:00:00+00:00") == {"c2", "c3"}


def test_events_not_followed_by_events(members: Members) -> None:
    # Viewed and not added to the cart within 14 days: only c1 added (shoes, 10 days later).
    rule = events(event="Product Viewed", within_days=60).not_followed_by(
        events(event="Product Added", within_days=14)
    )
    assert members(rule) == {"c2", "c3", "c4", "c5", "c6"}


def test_segment_references(members: Members) -> None:
    saved = {"two-orders": loads_condition(TWO_ORDERS_90D), "top": attr("value_tier") == "top"}
    rule = segment("two-orders") & ~segment("top")
    assert members(rule, resolve=saved) == {"c3", "c5"}
    assert members(rule, resolve=saved.get) == {"c3", "c5"}


def test_a_malicious_value_is_a_literal(members: Members, engine: Engine) -> None:
    assert members(attr("value_tier") == MALICIOUS) == {"c7"}
    assert members(orders(channel=MALICIOUS)) == set()
    assert members(attr("country").isin([MALICIOUS, "it's"])) == set()
    assert engine.has_table("segments")
    assert engine.count("shop_attributes") == 7


def test_compile_accepts_dicts_and_builders(shop: SegmentSources, engine: Engine) -> None:
    as_dict = {"attribute": "value_tier", "op": "eq", "value": "top"}
    expr = compile_segment(as_dict, shop)
    assert expr.columns == ("customer_id",)
    assert set(engine.execute(expr)["customer_id"]) == {"c1", "c2", "c6"}
    assert engine.execute(compile_segment(feedback(within_days=30), shop).count()) == 4


@pytest.mark.parametrize("tz_as_of", [AS_OF.replace(tzinfo=__import__("datetime").UTC)])
def test_an_aware_as_of_is_converted_to_naive_utc(tz_as_of: object, shop: SegmentSources) -> None:
    assert dataclasses.replace(shop, as_of=tz_as_of).as_of == AS_OF
