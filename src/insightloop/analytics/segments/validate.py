"""Checking a definition against the data: columns exist, operators fit their types, values fit
their columns, behaviour tables are there, referenced segments exist and do not form a cycle.

Every problem is collected with its path, then raised together (:func:`check_condition`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from insightloop.analytics.segments.errors import Problem, SegmentDefinitionError, closest
from insightloop.analytics.segments.model import (
    AllOf,
    AnyOf,
    AttributeCondition,
    BehaviourCondition,
    Condition,
    Filter,
    NotOf,
    SegmentRef,
)

if TYPE_CHECKING:
    import ibis.expr.datatypes as idt
    import ibis.expr.types as ir

    from insightloop.analytics.segments.sources import SegmentSources

__all__ = ["Resolver", "check_condition", "lookup", "parse_time", "problems_of", "references"]

Resolver: TypeAlias = Mapping[str, Condition] | Callable[[str], Condition | None]
"""Where ``{segment: name}`` references are looked up: a mapping or a function (None: unknown)."""

_ORDERED = ("gt", "ge", "lt", "le", "between")
_TYPE_WORDS = (
    ("numeric", "a number", "Write a number without quotes."),
    ("string", "text", "Write the value as text (quote it if it looks like a number)."),
    ("boolean", "true or false", "Write true or false."),
    ("temporal", "an ISO date or time", "Write e.g. 2024-05-01 or 2024-05-01T12:00:00."),
)


def lookup(resolve: Resolver | None, name: str) -> Condition | None:
    if resolve is None:
        return None
    if isinstance(resolve, Mapping):
        return resolve.get(name)
    return resolve(name)


def parse_time(value: str, dtype: idt.DataType) -> dt.date | dt.datetime:
    """An ISO value as the column's kind of time (naive UTC for timestamps)."""
    if dtype.is_date():
        return dt.date.fromisoformat(value[:10])
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _kind(dtype: idt.DataType) -> str | None:
    for kind, _, _ in _TYPE_WORDS:
        if getattr(dtype, f"is_{kind}")():
            return kind
    return None


def _value_fits(value: Any, dtype: idt.DataType) -> bool:
    kind = _kind(dtype)
    if kind == "numeric":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "temporal":
        if not isinstance(value, str):
            return False
        try:
            parse_time(value, dtype)
        except ValueError:
            return False
        return True
    return False


def _op_problems(
    path: str, subject: str, dtype: idt.DataType, op: str, value: Any
) -> list[Problem]:
    """Does ``op`` apply to a column of ``dtype``, and does ``value`` fit it?"""
    if op in ("is_null", "not_null"):
        return []
    if op == "contains":
        if not dtype.is_array():
            return [
                Problem(
                    path,
                    f"operator 'contains' needs a list column; {subject} is {dtype}",
                    "Use eq or in to compare a single value.",
                )
            ]
        dtype = dtype.value_type
    elif dtype.is_array():
        return [
            Problem(
                path,
                f"operator '{op}' does not apply to the list column {subject}",
                "Use contains to ask whether the list holds a value, or is_null / not_null.",
            )
        ]
    elif op in _ORDERED and not (dtype.is_numeric() or dtype.is_temporal()):
        return [
            Problem(
                path,
                f"operator '{op}' does not apply to {subject} of type {dtype}",
                "gt, ge, lt, le and between compare numbers and times; "
                "use eq, ne, in or not_in on other columns.",
            )
        ]
    kind = _kind(dtype)
    if kind is None:
        return [
            Problem(
                path,
                f"{subject} of type {dtype} can only be tested with is_null or not_null",
                None,
            )
        ]
    values = value if isinstance(value, tuple) else (value,)
    wrong = [v for v in values if not _value_fits(v, dtype)]
    if not wrong:
        return []
    _, word, hint = next(t for t in _TYPE_WORDS if t[0] == kind)
    return [Problem(path, f"value {wrong[0]!r} for {subject} is not {word}", hint)]


def _column_problems(
    path: str, table: ir.Table, table_name: str, column: str, what: str = "column"
) -> list[Problem]:
    schema = table.schema()
    if column in schema:
        return []
    return [
        Problem(
            path,
            f"unknown {what} '{column}' of {table_name}",
            closest(column, schema.names, f"{what}s of {table_name}"),
        )
    ]


def _filter_problems(
    path: str, table: ir.Table, name: str, where: Sequence[Filter]
) -> list[Problem]:
    problems: list[Problem] = []
    for i, f in enumerate(where):
        here = f"{path}where[{i}]"
        missing = _column_problems(here, table, name, f.column)
        problems += missing or _op_problems(
            here, f"column '{f.column}' of {name}", table.schema()[f.column], f.op, f.value
        )
    return problems


class _Checker:
    def __init__(self, sources: SegmentSources | None, resolve: Resolver | None) -> None:
        self.sources = sources
        self.resolve = resolve
        self.done: set[str] = set()

    def node(self, cond: Condition, path: str, stack: tuple[str, ...]) -> list[Problem]:
        if isinstance(cond, AttributeCondition | BehaviourCondition):
            if self.sources is None:  # only the references are checked
                return []
            if isinstance(cond, AttributeCondition):
                return self.attribute(self.sources, cond, path)
            return self.behaviour(self.sources, cond, path)
        if isinstance(cond, AllOf | AnyOf):
            key = "all" if isinstance(cond, AllOf) else "any"
            children = cond.all if isinstance(cond, AllOf) else cond.any
            return [
                p for i, c in enumerate(children) for p in self.node(c, f"{path}{key}[{i}].", stack)
            ]
        if isinstance(cond, NotOf):
            return self.node(cond.not_, f"{path}not.", stack)
        return self.reference(cond, path, stack)

    def attribute(
        self, sources: SegmentSources, cond: AttributeCondition, path: str
    ) -> list[Problem]:
        here = path.rstrip(".")
        table = sources.attributes
        missing = _column_problems(
            here, table, "the customer attributes", cond.attribute, "attribute"
        )
        if missing:
            return missing
        subject = f"attribute '{cond.attribute}'"
        return _op_problems(here, subject, table.schema()[cond.attribute], cond.op, cond.value)

    @staticmethod
    def _table(
        sources: SegmentSources, name: str, path: str
    ) -> tuple[ir.Table | None, list[Problem]]:
        table = sources.behaviour(name)
        if table is None:
            there = [n for n in sources.behaviour_names() if sources.behaviour(n) is not None]
            return None, [
                Problem(
                    path,
                    f"there is no {name} data to compute behaviour '{name}' from",
                    f"Load {name} data, or remove the condition. Behaviours with data: "
                    f"{', '.join(there) or 'none'}.",
                )
            ]
        schema = table.schema()
        if "customer_id" not in schema or "at" not in schema or not schema["at"].is_timestamp():
            return None, [
                Problem(
                    path,
                    f"the {name} table needs a customer_id column and an 'at' timestamp column",
                    "This is a bug in the producer of the segment sources.",
                )
            ]
        return table, []

    def behaviour(
        self, sources: SegmentSources, cond: BehaviourCondition, path: str
    ) -> list[Problem]:
        here = path.rstrip(".")
        table, problems = self._table(sources, cond.behaviour, here)
        if table is None:
            return problems
        name = cond.behaviour
        problems += _filter_problems(path, table, name, cond.where)
        if cond.count is not None and cond.count.distinct is not None:
            problems += _column_problems(f"{path}count.distinct", table, name, cond.count.distinct)
        if cond.aggregate is not None:
            agg, at = cond.aggregate, f"{path}aggregate.{cond.aggregate.function}"
            missing = _column_problems(at, table, name, agg.column)
            problems += missing
            if not missing and not table.schema()[agg.column].is_numeric():
                problems.append(
                    Problem(
                        at,
                        f"{agg.function} needs a numeric column; '{agg.column}' of {name} is "
                        f"{table.schema()[agg.column]}",
                        "Aggregate a numeric column, or count the rows with count.",
                    )
                )
        follow = cond.not_followed_by
        if follow is not None:
            at = f"{path}not_followed_by"
            later, more = self._table(sources, follow.behaviour, at)
            problems += more
            if later is not None:
                problems += _filter_problems(f"{at}.", later, follow.behaviour, follow.where)
                for i, column in enumerate(follow.same):
                    spot = f"{at}.same[{i}]"
                    missing = _column_problems(spot, table, name, column)
                    missing += _column_problems(spot, later, follow.behaviour, column)
                    problems += missing
                    if not missing and table.schema()[column] != later.schema()[column]:
                        problems.append(
                            Problem(
                                spot,
                                f"'{column}' is {table.schema()[column]} in {name} but "
                                f"{later.schema()[column]} in {follow.behaviour}",
                                "Compare columns of the same type.",
                            )
                        )
        return problems

    def reference(self, cond: SegmentRef, path: str, stack: tuple[str, ...]) -> list[Problem]:
        here, name = path.rstrip("."), cond.segment
        if name in stack:
            cycle = " -> ".join((*stack[stack.index(name) :], name))
            return [
                Problem(
                    here,
                    f"segment references form a cycle: {cycle}",
                    "Remove one of the references.",
                )
            ]
        target = lookup(self.resolve, name)
        if target is None:
            known = list(self.resolve) if isinstance(self.resolve, Mapping) else []
            return [Problem(here, f"unknown segment '{name}'", closest(name, known, "segments"))]
        if name in self.done:
            return []
        self.done.add(name)
        return self.node(target, f"{path}segment({name}).", (*stack, name))


def problems_of(
    condition: Condition,
    sources: SegmentSources | None,
    resolve: Resolver | None = None,
    *,
    name: str | None = None,
) -> list[Problem]:
    """Every problem of ``condition`` against ``sources`` (empty when it compiles).

    Without ``sources`` only the segment references are checked (saving a definition).
    ``name`` is the segment's own name, so a definition that reaches itself is a cycle.
    """
    checker = _Checker(sources, resolve)
    problems = checker.node(condition, "", (name,) if name else ())
    return [Problem(p.path.rstrip("."), p.message, p.hint) for p in problems]


def check_condition(
    condition: Condition,
    sources: SegmentSources | None,
    resolve: Resolver | None = None,
    *,
    name: str | None = None,
) -> None:
    """Raise a :class:`SegmentDefinitionError` listing every problem, if there is one."""
    problems = problems_of(condition, sources, resolve, name=name)
    if problems:
        raise SegmentDefinitionError(problems)


def references(condition: Condition) -> set[str]:
    """The names of the segments ``condition`` refers to directly."""
    if isinstance(condition, SegmentRef):
        return {condition.segment}
    if isinstance(condition, AllOf | AnyOf):
        children = condition.all if isinstance(condition, AllOf) else condition.any
        return set().union(*(references(c) for c in children))
    if isinstance(condition, NotOf):
        return references(condition.not_)
    return set()
