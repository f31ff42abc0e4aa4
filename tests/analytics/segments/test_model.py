"""The definition language: YAML/JSON round trips, and Python builders equal to YAML."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from insightloop.analytics.segments import (
    AllOf,
    AttributeCondition,
    BehaviourCondition,
    NotOf,
    all_of,
    any_of,
    attr,
    condition_to_dict,
    dumps_condition,
    events,
    feedback,
    loads_condition,
    not_,
    orders,
    parse_condition,
    purchases,
    segment,
)

EVERY_KIND = """
any:
  - all:
      - {attribute: value_tier, op: eq, value: top}
      - not: {attribute: lifecycle_stage, op: eq, value: lapsed}
      - {attribute: categories, op: contains, value: shoes}
      - {attribute: revenue_365d, op: between, value: [100, 250.5]}
      - {attribute: country, op: not_in, value: [SE, "x'; DROP TABLE segments; --"]}
      - {attribute: p_alive, op: not_null}
  - behaviour: orders
    where: [{column: channel, op: eq, value: web}, {column: amount, op: gt, value: 10}]
    within_days: 90
    count: {op: ge, value: 2}
  - behaviour: purchases
    within_days: 365
    count: {op: ge, value: 2, distinct: order_id}
    aggregate: {sum: amount, op: ge, value: 100}
  - behaviour: events
    where: [{column: event, value: Product Viewed}]
    within_days: 30
    not_followed_by:
      behaviour: purchases
      where: [{column: quantity, op: ge, value: 1}]
      within_days: 14
      same: [category]
  - segment: lapsed-vip
"""


def test_yaml_and_json_round_trip() -> None:
    rule = loads_condition(EVERY_KIND)
    assert loads_condition(dumps_condition(rule)) == rule
    text = dumps_condition(rule, format="json")
    assert loads_condition(text) == rule
    assert parse_condition(json.loads(text)) == rule
    assert parse_condition(condition_to_dict(rule)) == rule
    # Defaults are left out of the stored form, so equal rules have equal text.
    assert '"op":"eq"' not in text.split("Product Viewed")[0].split("events")[1]
    assert dumps_condition(loads_condition(text), format="json") == text


def test_values_keep_their_type() -> None:
    rule = loads_condition("{attribute: rfm_score, op: in, value: ['555', 5, 5.5, true]}")
    assert isinstance(rule, AttributeCondition)
    assert rule.value == ("555", 5, 5.5, True)
    moment = attr("first_order_at") >= dt.datetime(2024, 1, 2, 3, 4)
    assert moment == loads_condition(
        "{attribute: first_order_at, op: ge, value: '2024-01-02T03:04:00'}"
    )


def test_the_examples_built_in_python_equal_their_yaml() -> None:
    pairs = [
        (
            orders(within_days=90).count() >= 2,
            "{behaviour: orders, within_days: 90, count: {op: ge, value: 2}}",
        ),
        (
            events(event="Product Viewed", category="X", within_days=30).not_followed_by(
                purchases(same=["category"], within_days=14)
            ),
            """
behaviour: events
where: [{column: event, value: Product Viewed}, {column: category, value: X}]
within_days: 30
not_followed_by: {behaviour: purchases, within_days: 14, same: [category]}
""",
        ),
        (
            feedback(survey_type="nps", within_days=30).where("nps", "le", 6).to_condition(),
            """
behaviour: feedback
where: [{column: survey_type, op: eq, value: nps}, {column: nps, op: le, value: 6}]
within_days: 30
""",
        ),
        (
            (attr("value_tier") == "top") & ~(attr("lifecycle_stage") == "lapsed"),
            """
all:
  - {attribute: value_tier, op: eq, value: top}
  - not: {attribute: lifecycle_stage, op: eq, value: lapsed}
""",
        ),
        (
            (attr("revenue_365d") >= 100) | orders(within_days=30) | segment("vip"),
            """
any:
  - {attribute: revenue_365d, op: ge, value: 100}
  - {behaviour: orders, within_days: 30}
  - {segment: vip}
""",
        ),
        (
            purchases(within_days=365).sum("amount") >= 100,
            "{behaviour: purchases, within_days: 365, aggregate: {sum: amount, value: 100}}",
        ),
        (
            orders(within_days=7, not_followed_by=orders(within_days=3)).count() >= 2,
            """
behaviour: orders
within_days: 7
count: {value: 2}
not_followed_by: {behaviour: orders, within_days: 3}
""",
        ),
    ]
    for built, text in pairs:
        assert built == loads_condition(text), text


def test_combinators_flatten_and_accept_builders() -> None:
    a, b, c = attr("a") == 1, attr("b") == 2, attr("c") == 3
    assert a & b & c == AllOf(all=(a, b, c))
    assert all_of(a, b, c) == a & b & c
    assert any_of(a, orders()) == a | orders()
    assert not_(orders()) == ~orders() == NotOf(not_=BehaviourCondition(behaviour="orders"))
    assert attr("x").isin(["a"]) == loads_condition("{attribute: x, op: in, value: [a]}")
    assert attr("x").not_in(["a"]).op == "not_in"
    assert attr("x").between(1, 2).value == (1, 2)
    assert attr("x").is_null().op == "is_null"
    assert attr("x").not_null().op == "not_null"
    assert (attr("x") != 1).op == "ne"
    assert (attr("x") < 1).op == "lt"
    assert (attr("x") <= 1).op == "le"
    assert (attr("x") > 1).op == "gt"
    assert (orders().count(distinct="order_id") == 1).count.distinct == "order_id"  # type: ignore[union-attr]


@pytest.mark.parametrize("fn", ["avg", "min", "max"])
def test_aggregate_builders(fn: str) -> None:
    built = getattr(orders(), fn)("amount") < 5
    assert built == loads_condition(
        f"{{behaviour: orders, aggregate: {{{fn}: amount, op: lt, value: 5}}}}"
    )
