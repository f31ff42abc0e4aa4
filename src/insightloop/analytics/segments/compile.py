"""Compiling a definition to an Ibis expression: the customer ids of the segment's members.

Pure functions: nothing runs here (the engine runs the result). Values enter the expression as
typed Ibis literals and columns by name after validation, so no user text becomes SQL text. Only
portable operations are used (filters, joins, group-bys, set operations), so the expression runs
on DuckDB and on Spark alike.

Semantics:

- The customers of ``sources.attributes`` are the universe; ``not`` is the universe minus its
  operand, so ``not(not(x)) == x`` and a missing value never makes a customer vanish from both a
  condition and its negation.
- A comparison with a missing value is false; ``ne`` and ``not_in`` are true on a missing value.
- Behaviour rows count when ``as_of - within_days < at <= as_of``.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import ibis

from insightloop.analytics.segments.model import (
    AggregateThreshold,
    AllOf,
    AnyOf,
    AttributeCondition,
    BehaviourCondition,
    Condition,
    CountThreshold,
    Filter,
    NotOf,
    SegmentRef,
    parse_condition,
)
from insightloop.analytics.segments.validate import Resolver, check_condition, lookup, parse_time

if TYPE_CHECKING:
    import ibis.expr.datatypes as idt
    import ibis.expr.types as ir

    from insightloop.analytics.segments.sources import SegmentSources

__all__ = ["compile_segment"]

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def compile_segment(
    definition: Condition | Mapping[str, Any],
    sources: SegmentSources,
    *,
    resolve: Resolver | None = None,
    name: str | None = None,
) -> ir.Table:
    """The members of a segment: a table with one column, ``customer_id``, without duplicates.

    Parameters
    ----------
    definition
        A condition model or its dict form.
    sources
        The attribute and behaviour tables and as_of.
    resolve
        Where ``{segment: name}`` references are looked up (a mapping of names to definitions,
        or a function returning ``None`` for an unknown name).
    name
        The segment's own name, when it is a saved one (so a reference back to it is a cycle).

    Raises
    ------
    SegmentDefinitionError
        Listing every problem of the definition against these sources, with its path.

    Examples
    --------
    >>> import datetime as dt, ibis
    >>> from insightloop.analytics.segments import SegmentSources
    >>> attributes = ibis.memtable({"customer_id": ["a", "b"], "value_tier": ["top", "low"]})
    >>> sources = SegmentSources(attributes, as_of=dt.datetime(2024, 6, 1))
    >>> expr = compile_segment({"attribute": "value_tier", "op": "eq", "value": "top"}, sources)
    >>> expr.execute()["customer_id"].tolist()
    ['a']
    """
    condition = parse_condition(definition)
    check_condition(condition, sources, resolve, name=name)
    return _Compiler(sources, resolve).members(condition).distinct()


def _literal(value: Any, dtype: idt.DataType) -> ir.Value:
    if dtype.is_temporal():
        return ibis.literal(parse_time(value, dtype), type=dtype)
    if dtype.is_numeric():
        return ibis.literal(value, type="int64" if isinstance(value, int) else "float64")
    return ibis.literal(value, type=dtype)


def _predicate(column: ir.Value, op: str, value: Any) -> ir.BooleanValue:
    """``column op value`` as a boolean that is never null (a missing value is not a match)."""
    dtype = column.type()
    if op == "is_null":
        return column.isnull()
    if op == "not_null":
        return column.notnull()
    if op == "contains":
        test = column.contains(_literal(value, dtype.value_type))
    elif op == "in":
        test = column.isin([_literal(v, dtype) for v in value])
    elif op == "not_in":
        test = column.notin([_literal(v, dtype) for v in value])
    elif op == "between":
        test = column.between(_literal(value[0], dtype), _literal(value[1], dtype))
    else:
        test = _COMPARE[op](column, _literal(value, dtype))
    if op in ("ne", "not_in"):
        return column.isnull() | ibis.coalesce(test, False)
    return ibis.coalesce(test, False)


def _holds_for_zero(count: CountThreshold | None, aggregate: AggregateThreshold | None) -> bool:
    """Does a customer without any matching row meet the thresholds (e.g. ``count eq 0``)?"""
    if count is not None and not _COMPARE[count.op](0, count.value):
        return False
    if aggregate is None:
        return True
    return aggregate.function == "sum" and bool(_COMPARE[aggregate.op](0, aggregate.value))


def _attribute_only(cond: Condition) -> bool:
    if isinstance(cond, AttributeCondition):
        return True
    if isinstance(cond, AllOf):
        return all(_attribute_only(c) for c in cond.all)
    if isinstance(cond, AnyOf):
        return all(_attribute_only(c) for c in cond.any)
    if isinstance(cond, NotOf):
        return _attribute_only(cond.not_)
    return False


class _Compiler:
    def __init__(self, sources: SegmentSources, resolve: Resolver | None) -> None:
        self.sources = sources
        self.resolve = resolve
        attributes = sources.attributes
        self.attributes = attributes.filter(attributes.customer_id.notnull())
        self.universe = self.attributes.select("customer_id").distinct()
        self.as_of = ibis.literal(sources.as_of, type="timestamp")
        self.refs: dict[str, ir.Table] = {}

    def members(self, cond: Condition) -> ir.Table:
        if _attribute_only(cond):
            # One filter over the attributes instead of a set operation per condition.
            return self.attributes.filter(self.attribute_predicate(cond)).select("customer_id")
        if isinstance(cond, BehaviourCondition):
            return self.behaviour(cond)
        if isinstance(cond, AllOf | AnyOf):
            return self.combine(cond)
        if isinstance(cond, NotOf):
            return self.universe.difference(self.members(cond.not_))
        assert isinstance(cond, SegmentRef)
        return self.reference(cond)

    def attribute_predicate(self, cond: Condition) -> ir.BooleanValue:
        """An attribute-only condition as one never-null boolean over the attributes."""
        if isinstance(cond, AttributeCondition):
            return _predicate(self.attributes[cond.attribute], cond.op, cond.value)
        if isinstance(cond, AllOf):
            return ibis.and_(*(self.attribute_predicate(c) for c in cond.all))
        if isinstance(cond, AnyOf):
            return ibis.or_(*(self.attribute_predicate(c) for c in cond.any))
        if isinstance(cond, NotOf):
            return ~self.attribute_predicate(cond.not_)
        raise TypeError(f"not an attribute condition: {cond!r}")

    def combine(self, cond: AllOf | AnyOf) -> ir.Table:
        children = cond.all if isinstance(cond, AllOf) else cond.any
        plain = [c for c in children if _attribute_only(c)]
        tables = [self.members(c) for c in children if not _attribute_only(c)]
        if plain:
            group = AllOf(all=tuple(plain)) if isinstance(cond, AllOf) else AnyOf(any=tuple(plain))
            tables.insert(0, self.members(group))
        first, *rest = tables
        if not rest:
            return first.distinct()
        if isinstance(cond, AllOf):
            return first.intersect(*rest)
        return first.union(*rest, distinct=True)

    def reference(self, cond: SegmentRef) -> ir.Table:
        if cond.segment not in self.refs:
            target = lookup(self.resolve, cond.segment)
            if target is None:  # validated before compiling
                raise AssertionError(f"segment {cond.segment!r} vanished")
            self.refs[cond.segment] = self.members(target)
        return self.refs[cond.segment]

    def rows(self, name: str, where: tuple[Filter, ...], within_days: int | None) -> ir.Table:
        """The rows of a behaviour table up to as_of, in the window, matching the filters."""
        table = self.sources.behaviour(name)
        assert table is not None  # validated before compiling
        table = table.view()  # a table may meet itself (events not followed by events)
        tests = [table["at"] <= self.as_of]
        if within_days is not None:
            start = self.sources.as_of - dt.timedelta(days=within_days)
            tests.append(table["at"] > ibis.literal(start, type="timestamp"))
        tests += [_predicate(table[f.column], f.op, f.value) for f in where]
        return table.filter(*tests)

    def behaviour(self, cond: BehaviourCondition) -> ir.Table:
        rows = self.rows(cond.behaviour, cond.where, cond.within_days)
        follow = cond.not_followed_by
        if follow is not None:
            later = self.rows(follow.behaviour, follow.where, None)
            until = rows["at"] + ibis.interval(days=follow.within_days)
            on = [
                rows.customer_id == later.customer_id,
                later["at"] >= rows["at"],
                later["at"] <= until,
                *(rows[c] == later[c] for c in follow.same),
            ]
            rows = rows.anti_join(later, on)
        count, aggregate = cond.thresholds()
        metrics: dict[str, ir.Value] = {}
        if count is not None:
            metrics["n"] = rows[count.distinct].nunique() if count.distinct else rows.count()
        if aggregate is not None:
            column = rows[aggregate.column]
            metrics["v"] = {
                "sum": column.sum,
                "avg": column.mean,
                "min": column.min,
                "max": column.max,
            }[aggregate.function]()
        per_customer = rows.group_by("customer_id").aggregate(**metrics)
        if _holds_for_zero(count, aggregate):
            # Customers without a matching row qualify too: start from every customer.
            joined = self.universe.left_join(per_customer, "customer_id")
            base = joined.select(
                "customer_id",
                **{k: ibis.coalesce(joined[k], 0) for k in metrics},
            )
        else:
            base = per_customer.semi_join(self.universe, "customer_id")
        tests = []
        if count is not None:
            tests.append(_COMPARE[count.op](base.n, count.value))
        if aggregate is not None:
            tests.append(_COMPARE[aggregate.op](base.v, aggregate.value))
        return base.filter(*tests).select("customer_id")
