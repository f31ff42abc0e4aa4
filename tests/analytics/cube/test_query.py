"""The query model and the CLI's compact syntax (no engine)."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from insightloop.analytics.cube import Filter, Query, QueryError, parse_filter, parse_query


@pytest.mark.parametrize(
    ("text", "dimension", "op", "value"),
    [
        ("country=SE", "country", "eq", "SE"),
        ("country == SE", "country", "eq", "SE"),
        ("country!=SE", "country", "ne", "SE"),
        ("orders_365d>0", "orders_365d", "gt", "0"),
        ("orders_365d >= 2", "orders_365d", "ge", "2"),
        ("p_alive<0.5", "p_alive", "lt", "0.5"),
        ("recency_days<=30", "recency_days", "le", "30"),
        ("value_tier in top,middle", "value_tier", "in", ["top", "middle"]),
        ("value_tier IN top, middle", "value_tier", "in", ["top", "middle"]),
        ("country not in SE,NO", "country", "not_in", ["SE", "NO"]),
        ("orders_365d between 1,5", "orders_365d", "between", ["1", "5"]),
        ("city=New York", "city", "eq", "New York"),
    ],
)
def test_compact_filters(text: str, dimension: str, op: str, value: object) -> None:
    f = parse_filter(text)
    assert (f.dimension, f.op, f.value) == (dimension, op, value)


@pytest.mark.parametrize("text", ["country", "=SE", "country=", "orders_365d between 1"])
def test_unreadable_filters_say_how_to_write_one(text: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_filter(text)
    assert text in caught.value.message


def test_a_single_value_for_in_becomes_a_list() -> None:
    assert Filter(dimension="country", op="in", value="SE").value == ["SE"]


@pytest.mark.parametrize(
    ("op", "value"), [("between", [1]), ("between", 3), ("eq", ["a", "b"]), ("gt", [1])]
)
def test_the_value_must_fit_the_operator(op: str, value: object) -> None:
    with pytest.raises(ValidationError):
        Filter.model_validate({"dimension": "orders", "op": op, "value": value})


def test_the_query_refuses_what_cannot_be_answered() -> None:
    with pytest.raises(ValidationError, match="at most 3"):
        Query(measures=["revenue"], by=["a", "b", "c", "d"])
    with pytest.raises(ValidationError, match="more than once"):
        Query(measures=["revenue", "revenue"])
    with pytest.raises(ValidationError, match="since is after until"):
        Query(measures=["revenue"], since=date(2024, 2, 1), until=date(2024, 1, 1))
    with pytest.raises(ValidationError):
        Query(measures=[])
    with pytest.raises(ValidationError):
        Query(measures=["revenue"], limit=0)
    with pytest.raises(ValidationError, match="Extra inputs"):
        Query.model_validate({"measures": ["revenue"], "sql": "drop table customers"})


def test_order_defaults_to_time_for_a_time_series_and_else_to_the_first_measure() -> None:
    series = Query(measures=["revenue", "orders"], by=["period", "channel"])
    assert (series.order_measure(), series.sorted_ascending()) == ("period", True)
    ranking = Query(measures=["revenue", "orders"], by=["channel"])
    assert (ranking.order_measure(), ranking.sorted_ascending()) == ("revenue", False)
    chosen = Query(measures=["revenue", "orders"], by=["period"], order="orders")
    assert (chosen.order_measure(), chosen.sorted_ascending()) == ("orders", False)


def test_parse_query_reads_the_cli_arguments() -> None:
    q = parse_query(
        "revenue, orders",
        by="country,period",
        where=["value_tier in top,middle", "country!=NO"],
        period="quarter",
        since=date(2024, 1, 1),
        limit=5,
    )
    assert q.measures == ["revenue", "orders"]
    assert q.by == ["country", "period"]
    assert [f.describe() for f in q.filters] == ["value_tier in top,middle", "country!=NO"]
    assert (q.period, q.since, q.limit) == ("quarter", date(2024, 1, 1), 5)
    with pytest.raises(QueryError, match="period"):
        parse_query("revenue", period="fortnight")
