"""A :class:`~insightloop.analytics.cube.plan.Plan` compiled into one Ibis expression.

Pure functions: nothing runs here. Each source of the query's measures (the customer table, or
a behaviour table) is aggregated on its own, by the query's dimensions, into rows that carry
its measures and the number of distinct customers behind them; the parts are stacked
(``UNION ALL``) and grouped once more, so measures of different sources line up on the same
groups without a join (which would lose groups whose dimension is empty). Small-cell
suppression and the zero of additive measures are applied in the engine, before sorting, so
the order of the rows reveals nothing that the values hide.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir

from insightloop.analytics.cube.catalogue import (
    CUSTOMER,
    CUSTOMER_SOURCE,
    CubeDimension,
    CubeMeasure,
)
from insightloop.analytics.cube.plan import CubeSources, Plan, PlannedFilter
from insightloop.analytics.cube.query import Query

__all__ = ["SUPPRESSED", "column_name", "cube_expr", "ordered", "referenced_columns"]

#: The flag column of the rows: a value was hidden because too few customers are behind it.
SUPPRESSED = "suppressed"

_GRAIN_UNITS = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}


def column_name(measure: CubeMeasure) -> str:
    """The engine's name of a measure's column (``sum:x`` becomes ``sum__x``: plain names are
    portable across engines)."""
    return measure.name.replace(":", "__")


def _count_name(source: str) -> str:
    return f"_n_{source}"


def cube_expr(plan: Plan, sources: CubeSources, *, min_group_size: int = 0) -> ir.Table:
    """One row per group of the plan's dimensions (one row in all without dimensions): the
    dimensions, the measures and :data:`SUPPRESSED`.

    ``min_group_size``: a measure computed from fewer distinct customers than this is empty
    and its row flagged (0 or 1: nothing is hidden).
    """
    parts = [_part(plan, sources, source) for source in plan.sources()]
    dims = [d.name for d in plan.by]
    if len(parts) == 1:
        grouped = parts[0]
    else:
        stacked = parts[0].union(*parts[1:])
        values = [column_name(m) for m in plan.measures] + [_count_name(s) for s in plan.sources()]
        aggs = {v: stacked[v].max() for v in values}
        grouped = stacked.group_by(dims).aggregate(**aggs) if dims else stacked.aggregate(**aggs)
    columns: dict[str, ir.Value] = {d: grouped[d] for d in dims}
    small: list[ir.BooleanValue] = []
    for m in plan.measures:
        value = grouped[column_name(m)]
        if m.additive:
            value = ibis.coalesce(value, ibis.literal(0).cast(m.dtype))
        if min_group_size > 1:
            n = grouped[_count_name(m.source)]
            hidden = ibis.coalesce((n > 0) & (n < min_group_size), False)
            value = ibis.ifelse(hidden, ibis.null().cast(m.dtype), value)
            small.append(hidden)
        columns[column_name(m)] = value
    flag = ibis.or_(*small) if small else ibis.literal(False)
    return grouped.select(**columns, **{SUPPRESSED: flag})


def ordered(expr: ir.Table, plan: Plan) -> ir.Table:
    """The rows sorted as the query asks (ties by the dimensions), one more than the limit (to
    tell whether the limit cut rows off)."""
    query = plan.query
    key = query.order_measure()
    by_measure = {m.name: column_name(m) for m in plan.measures}
    column = by_measure.get(key, key)
    first = ibis.asc(column) if query.sorted_ascending() else ibis.desc(column)
    rest = [ibis.asc(d.name) for d in plan.by if d.name != column]
    return expr.order_by([first, *rest]).limit(query.limit + 1)


def _part(plan: Plan, sources: CubeSources, source: str) -> ir.Table:
    """The measures of one source by the plan's dimensions, with the other sources' measures
    as empty columns (so the parts stack)."""
    if source == CUSTOMER_SOURCE:
        t = _customer_columns(_customer_base(plan, sources, with_measures=True), plan)
    else:
        t = _window(sources.activity.get(source), plan.query)
        for f in plan.activity_filters():
            assert f.dimension is not None
            t = t.filter(_predicate(t[f.dimension.columns[source]].cast("string"), f))
        t = _with_customers(t, plan, sources)
    t = _with_segments(t, plan, sources)
    keys = {d.name: _dimension(t, d, source, plan.query) for d in plan.by}
    t = t.mutate(**keys) if keys else t
    own = [m for m in plan.measures if m.source == source]
    metrics: dict[str, ir.Value] = {column_name(m): m.aggregate(t).cast(m.dtype) for m in own}
    metrics[_count_name(source)] = t.customer_id.nunique().cast("int64")
    g = t.group_by(list(keys)).aggregate(**metrics) if keys else t.aggregate(**metrics)
    selected: dict[str, ir.Value] = {name: g[name] for name in keys}
    for m in plan.measures:
        name = column_name(m)
        selected[name] = g[name] if m.source == source else ibis.null().cast(m.dtype)
    for s in plan.sources():
        name = _count_name(s)
        selected[name] = g[name] if s == source else ibis.null().cast("int64")
    return g.select(**selected)


def _window(t: ir.Table, query: Query) -> ir.Table:
    if query.since is not None:
        t = t.filter(t.at >= datetime.combine(query.since, time()))
    if query.until is not None and query.until < date.max:
        # The whole of the last day: rows before the start of the day after.
        t = t.filter(t.at < datetime.combine(query.until + timedelta(days=1), time()))
    return t


def _customer_dims(plan: Plan) -> list[CubeDimension]:
    return [d for d in plan.by if d.kind == CUSTOMER and d.origin != "segments"]


def _column_filters(plan: Plan) -> list[PlannedFilter]:
    return [f for f in plan.customer_filters() if not f.on_segments]


def _customer_base(plan: Plan, sources: CubeSources, *, with_measures: bool) -> ir.Table:
    """The customer table with only the columns the plan reads: its filters', its dimensions'
    and (``with_measures``) those its customer measures aggregate."""
    full = sources.customer_stub()
    assert full is not None  # the plan checked it
    needed = {f.column for f in _column_filters(plan)} | {d.column for d in _customer_dims(plan)}
    if with_measures:
        for m in plan.measures:
            if m.source == CUSTOMER_SOURCE:
                needed |= referenced_columns(m.aggregate(full), full)
    narrow = sources.customers_with(needed)
    assert narrow is not None
    return narrow


def referenced_columns(expr: ir.Expr, table: ir.Table) -> set[str]:
    """The columns of ``table`` that ``expr`` reads."""
    fields = expr.op().find(ops.Field)
    return {f.name for f in fields if f.rel == table.op()}


def _customer_columns(base: ir.Table, plan: Plan) -> ir.Table:
    """The customer table filtered, with its dimensions as ``_c_<name>``."""
    conditions = [_predicate(base[f.column], f) for f in _column_filters(plan)]
    t = base.filter(*conditions) if conditions else base
    dims = {f"_c_{d.name}": t[d.column] for d in _customer_dims(plan)}
    return t.mutate(**dims) if dims else t


def _with_customers(t: ir.Table, plan: Plan, sources: CubeSources) -> ir.Table:
    """Activity rows with their customer's dimensions, of the customers the filters keep."""
    dims = _customer_dims(plan)
    filtered = bool(_column_filters(plan))
    if not dims and not filtered:
        return t
    base = _customer_columns(_customer_base(plan, sources, with_measures=False), plan)
    base = base.select(_ck=base.customer_id, **{f"_c_{d.name}": base[f"_c_{d.name}"] for d in dims})
    # Inner when the customers are filtered (only theirs count), else left (every row counts,
    # with empty dimensions for a customer the table does not know).
    joined = t.join(base, t.customer_id == base._ck, how="inner" if filtered else "left")
    return joined.drop("_ck")


def _with_segments(t: ir.Table, plan: Plan, sources: CubeSources) -> ir.Table:
    """Rows of the customers the segment filters keep; with ``_c_segment`` (one row per current
    segment of the customer, empty for none) when split by segment."""
    filters = [f for f in plan.customer_filters() if f.on_segments]
    split = any(d.origin == "segments" for d in plan.by)
    if not filters and not split:
        return t
    segments = sources.segments
    assert segments is not None  # the plan checked it
    members = segments.select("customer_id", "segment").distinct()
    for f in filters:
        chosen = members.filter(members.segment.isin(list(f.values)))
        if f.filter.op in ("eq", "in"):
            t = t.semi_join(chosen, t.customer_id == chosen.customer_id)
        else:
            t = t.anti_join(chosen, t.customer_id == chosen.customer_id)
    if split:
        m = members.select(_sk=members.customer_id, _c_segment=members.segment)
        t = t.left_join(m, t.customer_id == m._sk).drop("_sk")
    return t


def _dimension(t: ir.Table, d: CubeDimension, source: str, query: Query) -> ir.Value:
    if d.kind == CUSTOMER:
        return t[f"_c_{d.name}"].cast("string")
    if d.name == "period":
        return t.at.truncate(_GRAIN_UNITS[query.period]).cast("date")
    return t[d.columns[source]].cast("string")


def _predicate(column: ir.Value, f: PlannedFilter) -> ir.BooleanValue:
    v = f.values
    op = f.filter.op
    if op == "eq":
        return column == v[0]
    if op == "ne":
        # "Not X" keeps those without a value, as a person reading the filter expects.
        return (column != v[0]) | column.isnull()
    if op == "in":
        return column.isin(list(v))
    if op == "not_in":
        return ~column.isin(list(v)) | column.isnull()
    if op == "between":
        return column.between(v[0], v[1])
    compare = {"gt": column.__gt__, "ge": column.__ge__, "lt": column.__lt__, "le": column.__le__}
    result: ir.BooleanValue = compare[op](v[0])
    return result
