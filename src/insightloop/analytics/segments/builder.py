"""Writing definitions in Python: the builders produce the same models as YAML does.

Examples
--------
>>> rule = (attr("value_tier") == "top") & ~(attr("lifecycle_stage") == "lapsed")
>>> dumps_condition(rule, format="json")
'{"all":[{"attribute":"value_tier","op":"eq","value":"top"},{"not":{"attribute":"lifecycle_stage","op":"eq","value":"lapsed"}}]}'
>>> (orders(within_days=90).count() >= 2) == loads_condition(
...     "{behaviour: orders, within_days: 90, count: {op: ge, value: 2}}"
... )
True

Mind Python's precedence: ``~`` binds tighter than ``==``, so negate a comparison in brackets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from insightloop.analytics.segments.errors import Problem, SegmentDefinitionError
from insightloop.analytics.segments.model import (
    AllOf,
    AnyOf,
    AttributeCondition,
    BehaviourCondition,
    BehaviourName,
    Comparison,
    Condition,
    Filter,
    NotOf,
    Operator,
    SegmentRef,
    dumps_condition,
    loads_condition,
    parse_condition,
)

__all__ = [
    "Attr",
    "Behaviour",
    "Measure",
    "all_of",
    "any_of",
    "attr",
    "campaigns",
    "contacts",
    "events",
    "feedback",
    "not_",
    "orders",
    "purchases",
    "segment",
]

# Doctest namespace: the examples above show the round trip through text.
_ = (dumps_condition, loads_condition)


class Attr:
    """A customer attribute, compared with Python operators and methods."""

    __hash__ = None  # type: ignore[assignment]  # == builds a condition, so no hashing

    def __init__(self, name: str) -> None:
        self.name = name

    def _cond(self, op: Operator, value: Any = None) -> AttributeCondition:
        data = {"attribute": self.name, "op": op, "value": value}
        return parse_condition(data)  # type: ignore[return-value]

    def __eq__(self, value: object) -> AttributeCondition:  # type: ignore[override]
        return self._cond("eq", value)

    def __ne__(self, value: object) -> AttributeCondition:  # type: ignore[override]
        return self._cond("ne", value)

    def __gt__(self, value: Any) -> AttributeCondition:
        return self._cond("gt", value)

    def __ge__(self, value: Any) -> AttributeCondition:
        return self._cond("ge", value)

    def __lt__(self, value: Any) -> AttributeCondition:
        return self._cond("lt", value)

    def __le__(self, value: Any) -> AttributeCondition:
        return self._cond("le", value)

    def isin(self, values: Iterable[Any]) -> AttributeCondition:
        return self._cond("in", list(values))

    def not_in(self, values: Iterable[Any]) -> AttributeCondition:
        return self._cond("not_in", list(values))

    def between(self, low: Any, high: Any) -> AttributeCondition:
        """Both ends included."""
        return self._cond("between", [low, high])

    def is_null(self) -> AttributeCondition:
        return self._cond("is_null")

    def not_null(self) -> AttributeCondition:
        return self._cond("not_null")

    def contains(self, value: Any) -> AttributeCondition:
        """The list attribute holds ``value``."""
        return self._cond("contains", value)


def attr(name: str) -> Attr:
    """The attribute ``name`` of the customer attributes table."""
    return Attr(name)


def segment(name: str) -> SegmentRef:
    """The members of the saved segment ``name``."""
    return SegmentRef(segment=name)


def _condition(item: Condition | Behaviour) -> Condition:
    return item.to_condition() if isinstance(item, Behaviour) else item


def all_of(*conditions: Condition | Behaviour) -> AllOf:
    """Customers meeting every condition."""
    return parse_condition({"all": [_condition(c) for c in conditions]})  # type: ignore[return-value]


def any_of(*conditions: Condition | Behaviour) -> AnyOf:
    """Customers meeting at least one condition."""
    return parse_condition({"any": [_condition(c) for c in conditions]})  # type: ignore[return-value]


def not_(condition: Condition | Behaviour) -> NotOf:
    """Customers not meeting the condition."""
    return parse_condition({"not": _condition(condition)})  # type: ignore[return-value]


@dataclass(frozen=True)
class Behaviour:
    """Rows of a behaviour table: a condition (at least one row) until counted or aggregated.

    Build one with :func:`orders`, :func:`purchases`, :func:`events`, :func:`contacts`,
    :func:`feedback` or :func:`campaigns`; keyword arguments other than ``within_days``,
    ``same`` and ``not_followed_by`` are equality filters.
    """

    name: BehaviourName
    filters: tuple[Filter, ...] = ()
    within_days: int | None = None
    same: tuple[str, ...] = ()
    follow: Behaviour | None = field(default=None)

    def where(self, column: str, op: Operator = "eq", value: Any = None) -> Behaviour:
        """Also filter on ``column op value``."""
        data = {"column": column, "op": op, "value": value}
        try:
            added = Filter.model_validate(data)
        except ValueError:
            # The same problems, with their path, as the YAML form reports.
            probe = {"behaviour": self.name, "where": [data]}
            parse_condition(probe)
            raise
        return replace(self, filters=(*self.filters, added))

    def not_followed_by(self, follow: Behaviour) -> BehaviourCondition:
        """Rows that no ``follow`` row came after within its ``within_days`` (at least one)."""
        return replace(self, follow=follow).to_condition()

    def count(self, *, distinct: str | None = None) -> Measure:
        """The number of matching rows (or of distinct values of ``distinct``)."""
        return Measure(self, "count", distinct)

    def sum(self, column: str) -> Measure:
        return Measure(self, "sum", column)

    def avg(self, column: str) -> Measure:
        return Measure(self, "avg", column)

    def min(self, column: str) -> Measure:
        return Measure(self, "min", column)

    def max(self, column: str) -> Measure:
        return Measure(self, "max", column)

    def _follow_up(self) -> dict[str, Any]:
        data: dict[str, Any] = {"behaviour": self.name, "where": self.filters, "same": self.same}
        if self.within_days is not None:
            data["within_days"] = self.within_days
        return data

    def to_condition(self, **thresholds: Any) -> BehaviourCondition:
        """The definition (``thresholds``: ``count`` and/or ``aggregate`` as dicts)."""
        if self.same:
            raise SegmentDefinitionError(
                [
                    Problem(
                        "",
                        "same applies only to the behaviour given to not_followed_by",
                        "Move same=[...] to the follow-up.",
                    )
                ]
            )
        data: dict[str, Any] = {"behaviour": self.name, "where": self.filters, **thresholds}
        if self.within_days is not None:
            data["within_days"] = self.within_days
        if self.follow is not None:
            data["not_followed_by"] = self.follow._follow_up()
        return parse_condition(data)  # type: ignore[return-value]

    def __and__(self, other: Condition | Behaviour) -> AllOf:
        return all_of(self, other)

    def __or__(self, other: Condition | Behaviour) -> AnyOf:
        return any_of(self, other)

    def __invert__(self) -> NotOf:
        return not_(self)


@dataclass(frozen=True)
class Measure:
    """A count or aggregate of a :class:`Behaviour`; compare it with a number."""

    behaviour: Behaviour
    function: str
    column: str | None

    def _cond(self, op: Comparison, value: Any) -> BehaviourCondition:
        if self.function == "count":
            count: dict[str, Any] = {"op": op, "value": value}
            if self.column is not None:
                count["distinct"] = self.column
            return self.behaviour.to_condition(count=count)
        aggregate = {self.function: self.column, "op": op, "value": value}
        return self.behaviour.to_condition(aggregate=aggregate)

    __hash__ = None  # type: ignore[assignment]  # == builds a condition, so no hashing

    def __eq__(self, value: object) -> BehaviourCondition:  # type: ignore[override]
        return self._cond("eq", value)

    def __ne__(self, value: object) -> BehaviourCondition:  # type: ignore[override]
        return self._cond("ne", value)

    def __gt__(self, value: Any) -> BehaviourCondition:
        return self._cond("gt", value)

    def __ge__(self, value: Any) -> BehaviourCondition:
        return self._cond("ge", value)

    def __lt__(self, value: Any) -> BehaviourCondition:
        return self._cond("lt", value)

    def __le__(self, value: Any) -> BehaviourCondition:
        return self._cond("le", value)


def _behaviour(
    name: BehaviourName,
    within_days: int | None,
    same: Sequence[str],
    not_followed_by: Behaviour | None,
    equals: dict[str, Any],
) -> Behaviour:
    found = Behaviour(name, within_days=within_days, same=tuple(same), follow=not_followed_by)
    for column, value in equals.items():
        found = found.where(column, "eq", value)
    return found


def orders(
    *,
    within_days: int | None = None,
    same: Sequence[str] = (),
    not_followed_by: Behaviour | None = None,
    **equals: Any,
) -> Behaviour:
    """Orders (one row per order: order_id, channel, amount, status)."""
    return _behaviour("orders", within_days, same, not_followed_by, equals)


def purchases(
    *,
    within_days: int | None = None,
    same: Sequence[str] = (),
    not_followed_by: Behaviour | None = None,
    **equals: Any,
) -> Behaviour:
    """Order lines (order_id, sku, category, quantity, amount, channel)."""
    return _behaviour("purchases", within_days, same, not_followed_by, equals)


def events(
    *,
    within_days: int | None = None,
    same: Sequence[str] = (),
    not_followed_by: Behaviour | None = None,
    **equals: Any,
) -> Behaviour:
    """Tracked events (type, event, name, category, channel)."""
    return _behaviour("events", within_days, same, not_followed_by, equals)


def contacts(
    *,
    within_days: int | None = None,
    same: Sequence[str] = (),
    not_followed_by: Behaviour | None = None,
    **equals: Any,
) -> Behaviour:
    """Contact-centre interactions (channel, reason, direction, resolved, duration_seconds)."""
    return _behaviour("contacts", within_days, same, not_followed_by, equals)


def feedback(
    *,
    within_days: int | None = None,
    same: Sequence[str] = (),
    not_followed_by: Behaviour | None = None,
    **equals: Any,
) -> Behaviour:
    """Survey responses (survey_type, nps, csat, ces)."""
    return _behaviour("feedback", within_days, same, not_followed_by, equals)


def campaigns(
    *,
    within_days: int | None = None,
    same: Sequence[str] = (),
    not_followed_by: Behaviour | None = None,
    **equals: Any,
) -> Behaviour:
    """Campaign memberships (campaign_id, group_name, responded)."""
    return _behaviour("campaigns", within_days, same, not_followed_by, equals)
