"""The segment definition language: pydantic models, loaded from YAML, JSON or dicts.

A definition is one :data:`Condition`, which is one of

- :class:`AttributeCondition` ``{attribute, op, value}`` on the one-row-per-customer attributes;
- :class:`BehaviourCondition` ``{behaviour, where, within_days, count | aggregate,
  not_followed_by}`` over a behaviour table (orders, purchases, events, ...);
- :class:`AllOf` ``{all: [...]}``, :class:`AnyOf` ``{any: [...]}``, :class:`NotOf` ``{not: ...}``;
- :class:`SegmentRef` ``{segment: name}``, another saved segment.

The models check the shape of a definition (keys, operators, values, windows); whether a column
exists and fits its operator is checked against the data (:mod:`.validate`). Both report problems
as a :class:`~.errors.SegmentDefinitionError` with the path of each failing node.

Examples
--------
>>> rule = loads_condition('''
... all:
...   - {attribute: value_tier, op: eq, value: top}
...   - not: {attribute: lifecycle_stage, op: eq, value: lapsed}
... ''')
>>> dumps_condition(rule, format="json")
'{"all":[{"attribute":"value_tier","op":"eq","value":"top"},{"not":{"attribute":"lifecycle_stage","op":"eq","value":"lapsed"}}]}'
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from insightloop.analytics.segments.errors import Problem, SegmentDefinitionError, closest

__all__ = [
    "BEHAVIOURS",
    "COMPARISONS",
    "OPERATORS",
    "AggregateThreshold",
    "AllOf",
    "AnyOf",
    "AttributeCondition",
    "BehaviourCondition",
    "BehaviourName",
    "Comparison",
    "Condition",
    "CountThreshold",
    "Filter",
    "FollowUp",
    "NotOf",
    "Operator",
    "SegmentRef",
    "condition_to_dict",
    "dumps_condition",
    "loads_condition",
    "parse_condition",
]

Operator = Literal[
    "eq", "ne", "gt", "ge", "lt", "le", "in", "not_in", "between", "is_null", "not_null", "contains"
]
Comparison = Literal["eq", "ne", "gt", "ge", "lt", "le"]
BehaviourName = Literal["orders", "purchases", "events", "contacts", "feedback", "campaigns"]
OPERATORS: tuple[str, ...] = get_args(Operator)
COMPARISONS: tuple[str, ...] = get_args(Comparison)
BEHAVIOURS: tuple[str, ...] = get_args(BehaviourName)

_Scalar = bool | int | float | str
_RULE = "segment_rule"  # the pydantic error type of our own checks; ctx carries the hint


def _rule_error(message: str, hint: str | None = None) -> PydanticCustomError:
    return PydanticCustomError(_RULE, "{message}", {"message": message, "hint": hint or ""})


#: Windows longer than a century are a typo; the engines' date arithmetic overflows far beyond.
MAX_WINDOW_DAYS = 36_600
_INT64 = 2**63


def _scalar(value: Any) -> _Scalar:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool) and not -_INT64 <= value < _INT64:
        raise _rule_error(
            f"value {value} is out of range", "Numbers must fit in 64 bits (about 9.2e18)."
        )
    if isinstance(value, str) and "\x00" in value:
        raise _rule_error("a value holds a NUL character", "Remove the control character.")
    if isinstance(value, bool | int | float | str):
        return value
    raise _rule_error(
        f"value {value!r} is not a number, text, boolean or ISO time",
        "Write one plain value, or a list of them for in, not_in and between.",
    )


def _check_op_value(op: str, value: Any) -> None:
    if op in ("is_null", "not_null"):
        if value is not None:
            raise _rule_error(f"operator '{op}' takes no value", "Remove the value.")
    elif op in ("in", "not_in"):
        if not isinstance(value, tuple) or not value:
            raise _rule_error(
                f"operator '{op}' needs a non-empty list of values", "Write e.g. value: [a, b]."
            )
    elif op == "between":
        if not isinstance(value, tuple) or len(value) != 2:
            raise _rule_error(
                "operator 'between' needs a list of two values [low, high]",
                "Write e.g. value: [10, 20] (both ends included).",
            )
        low, high = value
        if type(low) is type(high) and low > high:
            raise _rule_error(
                f"between: the low end {low!r} is above the high end {high!r}",
                "Write the lower value first.",
            )
    elif value is None:
        raise _rule_error(f"operator '{op}' needs a value", "Add value: ... to the condition.")
    elif isinstance(value, tuple):
        raise _rule_error(
            f"operator '{op}' compares with one value, not a list",
            "Use in or not_in to compare with several values.",
        )


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _ConditionBase(_Model):
    """What every condition shares: combine them with ``&``, ``|`` and ``~``."""

    def __and__(self, other: Any) -> AllOf:
        """Both; ``a & b & c`` is one ``all`` of three."""
        mine = self.all if isinstance(self, AllOf) else (self,)
        theirs = _as_condition(other)
        more = theirs.all if isinstance(theirs, AllOf) else (theirs,)
        return parse_condition({"all": (*mine, *more)})  # type: ignore[return-value]

    def __or__(self, other: Any) -> AnyOf:
        """Either; ``a | b | c`` is one ``any`` of three."""
        mine = self.any if isinstance(self, AnyOf) else (self,)
        theirs = _as_condition(other)
        more = theirs.any if isinstance(theirs, AnyOf) else (theirs,)
        return parse_condition({"any": (*mine, *more)})  # type: ignore[return-value]

    def __invert__(self) -> NotOf:
        """Not this."""
        return parse_condition({"not": self})  # type: ignore[return-value]


def _as_condition(item: Any) -> Any:
    """A condition model, or what a Python builder stands for (``orders(within_days=90)``)."""
    to_condition = getattr(item, "to_condition", None)
    return to_condition() if callable(to_condition) else item


class _Compared(_Model):
    """Checks that ``value`` has the shape its ``op`` needs (subclasses declare both)."""

    @field_validator("value", mode="before", check_fields=False)
    @classmethod
    def _value(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, list | tuple):
            return tuple(_scalar(v) for v in value)
        return _scalar(value)

    @model_validator(mode="after")
    def _fits(self) -> _Compared:
        _check_op_value(getattr(self, "op"), getattr(self, "value"))  # noqa: B009 - declared below
        return self


class Filter(_Compared):
    """One filter on a behaviour table's rows: ``{column, op, value}`` (op defaults to eq)."""

    column: str = Field(min_length=1)
    op: Operator = "eq"
    value: Any = None


class AttributeCondition(_Compared, _ConditionBase):
    """Customers whose attribute satisfies ``op`` ``value``.

    ``ne`` and ``not_in`` also match customers whose attribute is missing; the comparisons
    (``gt``, ``ge``, ``lt``, ``le``, ``between``) never do.
    """

    attribute: str = Field(min_length=1)
    op: Operator
    value: Any = None


class CountThreshold(_Model):
    """How many matching rows a customer needs (default: at least one).

    ``distinct`` counts distinct values of a column instead of rows (e.g. ``order_id`` on
    purchases: "bought in at least 2 orders").
    """

    op: Comparison = "ge"
    value: int = Field(default=1, ge=0)
    distinct: str | None = None


class AggregateThreshold(_Model):
    """A sum, mean, minimum or maximum of a numeric column compared with a number.

    Written ``{sum: amount, op: ge, value: 100}``. The sum over no rows is 0; the mean, minimum
    and maximum over no rows have no value and never match.
    """

    sum: str | None = None
    avg: str | None = None
    min: str | None = None
    max: str | None = None
    op: Comparison = "ge"
    value: float | int

    @field_validator("value", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _rule_error(f"aggregate value {value!r} is not a number", "Write e.g. 100.")
        return value

    @model_validator(mode="after")
    def _one_function(self) -> AggregateThreshold:
        given = [f for f in ("sum", "avg", "min", "max") if getattr(self, f) is not None]
        if len(given) != 1:
            raise _rule_error(
                "an aggregate needs exactly one of sum, avg, min or max"
                + (f", not {' and '.join(given)}" if given else ""),
                "Write e.g. aggregate: {sum: amount, op: ge, value: 100}.",
            )
        return self

    @property
    def function(self) -> Literal["sum", "avg", "min", "max"]:
        for name in ("sum", "avg", "min", "max"):
            if getattr(self, name) is not None:
                return name
        raise AssertionError("validated to hold one function")

    @property
    def column(self) -> str:
        column: str = getattr(self, self.function)
        return column


class FollowUp(_Model):
    """The behaviour that must *not* follow a trigger within ``within_days`` (and up to as_of).

    ``same`` names columns whose value must equal the trigger row's (e.g. ``[category]``: the
    purchase must be of the category that was viewed).
    """

    behaviour: BehaviourName
    where: tuple[Filter, ...] = ()
    within_days: int = Field(gt=0, le=MAX_WINDOW_DAYS)
    same: tuple[str, ...] = ()


class BehaviourCondition(_ConditionBase):
    """Customers with matching behaviour rows in the last ``within_days`` days before as_of.

    Without ``count`` or ``aggregate`` the condition asks for at least one matching row. With
    ``not_followed_by``, only trigger rows that no matching follow-up came after are counted.
    """

    behaviour: BehaviourName
    where: tuple[Filter, ...] = ()
    within_days: int | None = Field(default=None, gt=0, le=MAX_WINDOW_DAYS)
    count: CountThreshold | None = None
    aggregate: AggregateThreshold | None = None
    not_followed_by: FollowUp | None = None

    def thresholds(self) -> tuple[CountThreshold | None, AggregateThreshold | None]:
        """The count and aggregate to meet (a count of at least one when neither is given)."""
        if self.count is None and self.aggregate is None:
            return CountThreshold(), None
        return self.count, self.aggregate


class AllOf(_ConditionBase):
    """Customers meeting every condition."""

    all: tuple[Condition, ...] = Field(min_length=1)


class AnyOf(_ConditionBase):
    """Customers meeting at least one condition."""

    any: tuple[Condition, ...] = Field(min_length=1)


class NotOf(_ConditionBase):
    """Customers (of the attributes table) not meeting the condition."""

    not_: Condition = Field(alias="not")


class SegmentRef(_ConditionBase):
    """The members of another saved segment (references may nest; cycles are refused)."""

    segment: str = Field(min_length=1)


_TAGS: dict[str, type[_ConditionBase]] = {
    "attribute": AttributeCondition,
    "behaviour": BehaviourCondition,
    "all": AllOf,
    "any": AnyOf,
    "not": NotOf,
    "segment": SegmentRef,
}
# Tags are the class names, so a path can tell them apart from keys ("all" is both).
_TAG_OF_CLASS = {cls: cls.__name__ for cls in _TAGS.values()}
_CLASS_OF_TAG = {cls.__name__: cls for cls in _TAGS.values()}


def _kind(value: Any) -> str | None:
    if isinstance(value, Mapping):
        found = [key for key in _TAGS if key in value]
        return _TAGS[found[0]].__name__ if len(found) == 1 else None
    return _TAG_OF_CLASS.get(type(value))


Condition = Annotated[
    Annotated[AttributeCondition, Tag("AttributeCondition")]
    | Annotated[BehaviourCondition, Tag("BehaviourCondition")]
    | Annotated[AllOf, Tag("AllOf")]
    | Annotated[AnyOf, Tag("AnyOf")]
    | Annotated[NotOf, Tag("NotOf")]
    | Annotated[SegmentRef, Tag("SegmentRef")],
    Discriminator(
        _kind,
        custom_error_type="not_a_condition",
        custom_error_message="not a condition",
    ),
]
"""One node of a definition (see the module docstring)."""

for _cls in (AllOf, AnyOf, NotOf):
    _cls.model_rebuild()

_ADAPTER: TypeAdapter[Condition] = TypeAdapter(Condition)

# The model whose keys are valid below a key of another (for "unknown key" hints).
_SUBMODELS: dict[tuple[type[BaseModel], str], type[BaseModel]] = {
    (BehaviourCondition, "where"): Filter,
    (BehaviourCondition, "count"): CountThreshold,
    (BehaviourCondition, "aggregate"): AggregateThreshold,
    (BehaviourCondition, "not_followed_by"): FollowUp,
    (FollowUp, "where"): Filter,
}


def _keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


_LABELS = {"op": "operators", "behaviour": "behaviours"}


def _problems(errors: list[Any]) -> list[Problem]:
    problems = [_problem(e) for e in errors]
    # A list whose items failed is also reported as too short: only the items' problems count.
    failing = {p.path for p in problems if not p.message.endswith("needs at least one condition")}
    return [
        p
        for p in problems
        if not (
            p.message.endswith("needs at least one condition")
            and any(f.startswith(p.path + "[") for f in failing)
        )
    ]


def _problem(error: Any) -> Problem:
    """Turn one pydantic error into a problem with a path like ``all[1].where[0]``."""
    parts: list[str] = []
    model: type[BaseModel] | None = None
    for item in error["loc"]:
        if isinstance(item, str) and item in _CLASS_OF_TAG:
            model = _CLASS_OF_TAG[item]
        elif isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            if model is not None:
                model = _SUBMODELS.get((model, item), model)
            parts.append(f".{item}" if parts else str(item))
    kind, ctx = error["type"], error.get("ctx") or {}
    field = parts[-1].lstrip(".") if parts else ""
    if kind == _RULE:
        return Problem("".join(parts), ctx["message"], ctx["hint"] or None)
    if kind == "extra_forbidden":
        where = "".join(parts[:-1])
        hint = closest(field, _keys(model) if model else [], "keys")
        return Problem(where, f"unknown key '{field}'", hint)
    if kind == "missing":
        return Problem("".join(parts[:-1]), f"missing required key '{field}'", None)
    if kind == "literal_error":
        expected = [e.strip().strip("'") for e in ctx["expected"].replace(" or ", ", ").split(",")]
        shown, label = error["input"], _LABELS.get(field, field)
        return Problem(
            "".join(parts),
            f"{shown!r} is not a valid {field}",
            closest(str(shown), expected, label),
        )
    if kind == "too_short":
        return Problem("".join(parts), f"'{field}' needs at least one condition", None)
    if kind == "not_a_condition":
        return Problem(
            "".join(parts),
            "not a condition",
            "Write a mapping with exactly one of the keys: " + ", ".join(_TAGS) + ".",
        )
    if kind in ("greater_than", "greater_than_equal"):
        bound = ctx.get("gt", ctx.get("ge"))
        word = "greater than" if kind == "greater_than" else "at least"
        days = "Windows count whole days back from as_of." if "within_days" in field else None
        return Problem(
            "".join(parts), f"{field} must be {word} {bound}, not {error['input']!r}", days
        )
    return Problem("".join(parts), str(error["msg"]), None)


def parse_condition(data: Condition | Mapping[str, Any] | Any) -> Condition:
    """Validate a definition given as a dict (or return a model unchanged; a Python builder
    becomes its model).

    Raises
    ------
    SegmentDefinitionError
        Listing every problem with its path.
    """
    if isinstance(data, _ConditionBase):
        return data  # type: ignore[return-value]
    data = _as_condition(data)
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise SegmentDefinitionError(_problems(exc.errors())) from None


def _yaml() -> Any:
    import yaml  # type: ignore[import-untyped]  # PyYAML ships no type information

    return yaml


def loads_condition(text: str) -> Condition:
    """Parse a definition from YAML or JSON text (JSON is YAML)."""
    yaml = _yaml()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SegmentDefinitionError(
            [Problem("", f"the text is not valid YAML or JSON: {exc}", "Check the indentation.")]
        ) from None
    return parse_condition(data)


def condition_to_dict(condition: Condition) -> dict[str, Any]:
    """The definition as plain data, keeping only keys that differ from their defaults."""
    data: dict[str, Any] = _ADAPTER.dump_python(
        condition, mode="json", by_alias=True, exclude_defaults=True
    )
    return data


def dumps_condition(condition: Condition, *, format: Literal["yaml", "json"] = "yaml") -> str:
    """The definition as YAML (readable) or compact JSON (stored; equal rules, equal text)."""
    data = condition_to_dict(condition)
    if format == "json":
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    text: str = _yaml().safe_dump(data, sort_keys=False, allow_unicode=True)
    return text
