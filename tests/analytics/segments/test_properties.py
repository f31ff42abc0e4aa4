"""Properties on random small data: not(not(x)) == x, all([x]) == x, any([x]) == x, and every
definition selects what a plain-Python evaluation of it selects."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insightloop.analytics.segments import (
    AllOf,
    AnyOf,
    AttributeCondition,
    BehaviourCondition,
    Condition,
    NotOf,
    SegmentSources,
    attr,
    compile_segment,
    orders,
)
from insightloop.store import Engine

AS_OF = dt.datetime(2024, 6, 30)
ENGINE = Engine.in_memory()
TIERS = ["top", "low", None]

customers = st.lists(
    st.tuples(st.sampled_from(TIERS), st.lists(st.integers(-3, 40), max_size=4)),
    min_size=1,
    max_size=6,
)
leaves = st.one_of(
    st.sampled_from(["top", "low"]).map(lambda v: attr("value_tier") == v),
    st.sampled_from(["top", "low"]).map(lambda v: attr("value_tier") != v),
    st.builds(
        lambda days, n: orders(within_days=days).count() >= n,
        st.sampled_from([7, 30]),
        st.integers(0, 2),
    ),
    st.builds(lambda n: orders().count() == n, st.integers(0, 2)),
)
conditions = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: AllOf(all=tuple(xs))),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: AnyOf(any=tuple(xs))),
        inner.map(lambda x: NotOf(not_=x)),
    ),
    max_leaves=5,
)


def sources(data: list[tuple[str | None, list[int]]]) -> SegmentSources:
    ids = [f"c{i}" for i in range(len(data))]
    attributes = ibis.memtable(
        {"customer_id": ids, "value_tier": [tier for tier, _ in data]},
        schema={"customer_id": "string", "value_tier": "string"},
    )
    rows = [
        (cid, AS_OF - dt.timedelta(days=d))
        for cid, (_, ds) in zip(ids, data, strict=True)
        for d in ds
    ]
    # Arrow with explicit types: pandas would call an empty column float.
    table = ibis.memtable(
        pa.table(
            {
                "customer_id": pa.array([r[0] for r in rows], pa.string()),
                "at": pa.array([r[1] for r in rows], pa.timestamp("us")),
            }
        )
    )
    return SegmentSources(attributes, as_of=AS_OF, orders=table)


def reference(cond: Condition, data: list[tuple[str | None, list[int]]]) -> set[str]:
    """The members, computed row by row in Python."""
    found = set()
    for i, (tier, days) in enumerate(data):
        if _holds(cond, tier, days):
            found.add(f"c{i}")
    return found


def _holds(cond: Any, tier: str | None, days: list[int]) -> bool:
    if isinstance(cond, AttributeCondition):
        return tier == cond.value if cond.op == "eq" else tier != cond.value
    if isinstance(cond, BehaviourCondition):
        window = cond.within_days
        # Days ago: 0 is as_of itself; negative is after as_of (ignored).
        n = sum(1 for d in days if d >= 0 and (window is None or d < window))
        assert cond.count is not None
        return n >= cond.count.value if cond.count.op == "ge" else n == cond.count.value
    if isinstance(cond, AllOf):
        return all(_holds(c, tier, days) for c in cond.all)
    if isinstance(cond, AnyOf):
        return any(_holds(c, tier, days) for c in cond.any)
    return not _holds(cond.not_, tier, days)


def members(cond: Condition, src: SegmentSources) -> set[str]:
    return set(ENGINE.to_pyarrow(compile_segment(cond, src))["customer_id"].to_pylist())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=customers, cond=conditions)
def test_negation_and_singletons_change_nothing(data: Any, cond: Condition) -> None:
    src = sources(data)
    expected = members(cond, src)
    assert expected == reference(cond, data)
    assert members(NotOf(not_=NotOf(not_=cond)), src) == expected
    assert members(AllOf(all=(cond,)), src) == expected
    assert members(AnyOf(any=(cond,)), src) == expected
