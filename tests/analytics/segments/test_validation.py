"""Validation: every problem is reported at once, with the path of its node, and a hint."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from insightloop.analytics.segments import (
    SegmentDefinitionError,
    SegmentSources,
    attr,
    compile_segment,
    loads_condition,
    orders,
    parse_condition,
    purchases,
    segment,
)
from insightloop.errors import InsightloopError


def _use(definition: Any, sources: SegmentSources | None, **kwargs: Any) -> None:
    if callable(definition):
        definition = definition()
    if isinstance(definition, str):
        definition = loads_condition(definition)
    condition = parse_condition(definition)
    if sources is not None:
        compile_segment(condition, sources, **kwargs)


def fails(definition: Any, sources: SegmentSources | None = None, **kwargs: Any) -> Any:
    """The error of a definition that must be refused (parsed, then compiled if sources)."""
    with pytest.raises(SegmentDefinitionError) as caught:
        _use(definition, sources, **kwargs)
    assert isinstance(caught.value, InsightloopError)
    return caught.value


def test_unknown_attribute_names_the_path_and_the_closest(shop: SegmentSources) -> None:
    error = fails(
        """
all:
  - {attribute: country, op: eq, value: SE}
  - any:
      - {attribute: valu_tier, op: eq, value: top}
""",
        shop,
    )
    assert error.message == (
        "Invalid segment definition at all[1].any[0]: unknown attribute 'valu_tier' of the "
        "customer attributes"
    )
    assert error.hint.startswith("Did you mean 'value_tier'? Known attributes of the customer")
    assert "lifecycle_stage" in error.hint
    assert [p.path for p in error.problems] == ["all[1].any[0]"]


def test_unknown_column_of_a_behaviour(shop: SegmentSources) -> None:
    error = fails(orders(chanel="web"), shop)
    assert "at where[0]: unknown column 'chanel' of orders" in error.message
    assert "Did you mean 'channel'?" in error.hint


def test_operator_type_mismatches(shop: SegmentSources) -> None:
    error = fails(attr("value_tier") > "top", shop)
    assert "operator 'gt' does not apply to attribute 'value_tier' of type string" in error.message
    assert "use eq, ne, in or not_in" in error.hint
    error = fails(attr("country").contains("SE"), shop)
    assert "operator 'contains' needs a list column; attribute 'country' is string" in str(error)
    error = fails(attr("categories") == "shoes", shop)
    assert "does not apply to the list column attribute 'categories'" in error.message
    assert "Use contains" in error.hint
    error = fails(attr("orders") >= "ten", shop)
    assert "value 'ten' for attribute 'orders' is not a number" in error.message
    assert error.hint == "Write a number without quotes."
    error = fails(attr("first_order_at") < "last tuesday", shop)
    assert "is not an ISO date or time" in error.message
    error = fails(orders(within_days=30).sum("channel") > 3, shop)
    assert "aggregate.sum: sum needs a numeric column; 'channel' of orders is string" in str(error)


def test_missing_and_misshapen_values() -> None:
    error = fails({"attribute": "value_tier", "op": "eq"})
    assert error.message == "Invalid segment definition at (root): operator 'eq' needs a value"
    assert error.hint == "Add value: ... to the condition."
    error = fails({"attribute": "x", "op": "in", "value": "a"})
    assert "operator 'in' needs a non-empty list of values" in error.message
    error = fails({"attribute": "x", "op": "between", "value": [5, 1]})
    assert "the low end 5 is above the high end 1" in error.message
    error = fails({"attribute": "x", "op": "is_null", "value": 1})
    assert "operator 'is_null' takes no value" in error.message
    error = fails({"attribute": "x", "op": "eq", "value": {"a": 1}})
    assert "is not a number, text, boolean or ISO time" in error.message


def test_negative_windows_are_refused() -> None:
    error = fails(
        "{not: {behaviour: events, within_days: -5, "
        "not_followed_by: {behaviour: purchases, within_days: 0}}}"
    )
    assert [p.path for p in error.problems] == [
        "not.within_days",
        "not.not_followed_by.within_days",
    ]
    assert "within_days must be greater than 0, not -5" in error.message
    assert "Windows count whole days back from as_of" in error.hint
    assert "count" in str(fails("{behaviour: orders, count: {value: -1}}"))


def test_unknown_keys_operators_and_behaviours_suggest_the_closest() -> None:
    error = fails("{any: [{attribute: a, op: gtt, value: 1}, {behaviour: order}, {bhaviour: x}]}")
    assert error.message.splitlines() == [
        "Invalid segment definition (3 problems):",
        "  - any[0].op: 'gtt' is not a valid op",
        "  - any[1].behaviour: 'order' is not a valid behaviour",
        "  - any[2]: not a condition",
    ]
    assert "any[0].op: Did you mean 'gt'?" in error.hint
    assert "any[1].behaviour: Did you mean 'orders'?" in error.hint
    error = fails("{behaviour: orders, within_day: 3}")
    assert error.message.endswith("unknown key 'within_day'")
    assert error.hint.startswith("Did you mean 'within_days'?")
    error = fails("{behaviour: orders, aggregate: {sum: amount, avg: amount, value: 1}}")
    assert "exactly one of sum, avg, min or max, not sum and avg" in error.message
    assert "'all' needs at least one condition" in fails("{all: []}").message


def test_a_missing_behaviour_table(shop: SegmentSources) -> None:
    no_events = dataclasses.replace(shop, events=None)
    error = fails(
        "{all: [{attribute: country, op: eq, value: SE},"
        " {behaviour: campaigns}, {behaviour: events}]}",
        no_events,
    )
    assert [p.path for p in error.problems] == ["all[1]", "all[2]"]
    assert "there is no campaigns data to compute behaviour 'campaigns' from" in error.message
    assert "Behaviours with data: orders, purchases, feedback." in error.hint


def test_same_columns_must_exist_on_both_sides(shop: SegmentSources) -> None:
    rule = orders(within_days=30).not_followed_by(purchases(same=["channel"], within_days=7))
    assert compile_segment(rule, shop) is not None
    error = fails(
        orders(within_days=30).not_followed_by(purchases(same=["category"], within_days=7)), shop
    )
    assert "not_followed_by.same[0]: unknown column 'category' of orders" in str(error)


def test_segment_references_must_exist_and_not_cycle(shop: SegmentSources) -> None:
    saved = {"a": segment("b") & (attr("orders") >= 1), "b": segment("a"), "vip": segment("vip")}
    error = fails(segment("vipp"), shop, resolve=saved)
    assert "unknown segment 'vipp'" in error.message
    assert error.hint.startswith("Did you mean 'vip'?")
    error = fails(segment("a"), shop, resolve=saved)
    assert "segment references form a cycle: a -> b -> a" in error.message
    assert error.problems[0].path == "segment(a).all[0].segment(b)"
    error = fails(segment("vip"), shop, resolve=saved, name="vip")
    assert "cycle: vip -> vip" in error.message
    assert "unknown segment 'x'" in fails(segment("x"), shop).message


def test_builder_errors_are_the_same_errors() -> None:
    error = fails(lambda: orders(within_days=-1).count() >= 2)
    assert "within_days must be greater than 0" in error.message
    with pytest.raises(SegmentDefinitionError, match="needs a value"):
        orders().where("channel", "eq")
    with pytest.raises(SegmentDefinitionError, match="same applies only"):
        purchases(same=["category"]).to_condition()
    with pytest.raises(SegmentDefinitionError, match="at all\\[1\\]: not a condition"):
        attr("a").is_null() & attr("b")  # type: ignore[operator]
    with pytest.raises(SegmentDefinitionError, match="missing required key 'within_days'"):
        orders().not_followed_by(purchases())


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"behaviour": "orders", "within_days": 10**12}, "less than or equal to 36600"),
        ({"attribute": "orders", "op": "eq", "value": 2**70}, "out of range"),
        ({"attribute": "country", "op": "eq", "value": "S\x00E"}, "NUL character"),
    ],
)
def test_values_the_engines_cannot_take_are_refused_up_front(
    definition: dict[str, object], message: str
) -> None:
    with pytest.raises(SegmentDefinitionError, match=message):
        parse_condition(definition)
