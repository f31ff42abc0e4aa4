"""What the cube refuses, and that it says what is possible instead."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from insightloop import Workspace
from insightloop.analytics.cube import Query, QueryError, run_query
from tests.analytics.cube.conftest import Ask
from tests.analytics.cube.data import CONFIG, IDENTITY, build_cube_data
from tests.analytics.shop import load_shop


def _problems(ask: Ask, **fields: Any) -> list[str]:
    with pytest.raises(QueryError) as caught:
        ask(**fields)
    assert caught.value.code == "invalid_request"
    assert "--list" in (caught.value.hint or "")
    return list(caught.value.problems)


def test_unknown_names_get_the_closest_match_and_the_list(ask: Ask) -> None:
    problems = _problems(ask, measures=["revenu"], by=["countri"])
    assert len(problems) == 2  # every problem at once
    assert "unknown measure 'revenu'. Did you mean 'revenue'?" in problems[0]
    assert "avg_order_value" in problems[0]  # the known ones are listed
    assert "unknown dimension 'countri'. Did you mean 'country'?" in problems[1]
    [problem] = _problems(ask, measures=["customers"], filters=[{"dimension": "ordrs_365d",
                          "op": "gt", "value": 1}])  # fmt: skip
    assert "Did you mean 'orders_365d'?" in problem


def test_a_customer_measure_splits_by_customer_dimensions_only(ask: Ask) -> None:
    [problem] = _problems(ask, measures=["customers"], by=["period"])
    assert "'customers' is a customer measure" in problem
    assert "value_tier" in problem
    assert "segment" in problem
    [problem] = _problems(ask, measures=["profit_12m"], filters=[{"dimension": "channel",
                          "value": "web"}])  # fmt: skip
    assert "cannot be filtered by the activity dimension 'channel'" in problem


def test_an_activity_measure_splits_by_its_own_dimensions(ask: Ask) -> None:
    [problem] = _problems(ask, measures=["revenue"], by=["category"])
    assert "'revenue' counts orders and cannot be split by 'category'" in problem
    assert "period, channel, store" in problem
    assert "sales" in problem  # the measures that can
    assert "units" in problem


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"measures": ["revenue"], "filters": [{"dimension": "period", "value": "2024"}]},
         "use since and until"),
        ({"measures": ["customers"], "since": "2024-01-01"}, "since/until select activity"),
        ({"measures": ["revenue"], "by": ["country"], "order": "orders"}, "cannot order by"),
        ({"measures": ["customers"], "filters": [{"dimension": "orders_365d", "op": "gt",
          "value": "many"}]}, "filter on 'orders_365d': a value is not a number"),
        ({"measures": ["customers"], "filters": [{"dimension": "segment", "op": "gt",
          "value": "vip"}]}, "use eq, ne, in or not_in"),
        ({"measures": ["max:orders"]}, "unknown aggregate 'max'"),
        ({"measures": ["sum:value_tier"]}, "'value_tier' is not a numeric customer attribute"),
        ({"measures": ["sum:ordrs"]}, "Did you mean 'orders'?"),
        ({"measures": ["customers"], "filters": [{"dimension": "customer_id", "value": "C-ADA"}]},
         "unknown filter dimension 'customer_id'"),
    ],
)  # fmt: skip
def test_what_cannot_be_answered_is_refused(
    ask: Ask, fields: dict[str, Any], expected: str
) -> None:
    problems = _problems(ask, **fields)
    assert any(expected in p for p in problems), problems


def test_filter_values_are_not_repeated_in_errors(ask: Ask) -> None:
    [problem] = _problems(ask, measures=["customers"], filters=[{"dimension": "p_alive",
                          "value": "Hornsgatan 42"}])  # fmt: skip
    assert "Hornsgatan" not in problem


@pytest.fixture
def bare(tmp_path: Any) -> Iterator[Workspace]:
    """The shop with measures, but without lifetime value, lifecycle or segments."""
    ws = Workspace.init(tmp_path / "ws")
    build_cube_data(ws.engine, clv=False, segments=False)
    yield ws
    ws.close()


def test_what_is_not_computed_yet_names_the_step(bare: Workspace) -> None:
    query = Query(measures=["avg_clv", "customers"], by=["lifecycle_stage", "segment"])
    with pytest.raises(QueryError) as caught:
        run_query(bare.engine, query, identity=IDENTITY, config=CONFIG)
    problems = caught.value.problems
    assert len(problems) == 3
    assert "'avg_clv' needs lifetime value (`insightloop run clv`)" in problems[0]
    assert "`insightloop run lifecycle`" in problems[1]
    assert "'segment' needs segments" in problems[2]


def test_before_the_measures_only_the_golden_record_and_activity_can_be_sliced(
    duckdb_workspace: Workspace,
) -> None:
    load_shop(duckdb_workspace.engine)
    query = Query(measures=["revenue_365d"], by=["value_tier"])
    with pytest.raises(QueryError) as caught:
        run_query(duckdb_workspace.engine, query, identity=IDENTITY, config=CONFIG)
    assert [p.split(",")[0] for p in caught.value.problems] == [
        "'revenue_365d' needs the measures",
        "'value_tier' needs the measures",
    ]
