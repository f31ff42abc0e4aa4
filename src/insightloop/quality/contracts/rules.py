"""The declarative rules of a data-quality contract and their validation.

A contract is a list of rules for one canonical entity. Each rule is a pydantic model selected by
its ``kind``; every rule has a ``severity`` (``"reject"`` quarantines the row, ``"warn"`` loads it
and counts the warning) and an ``id`` (``<kind>:<columns>``) by which configuration replaces or
disables it. :func:`parse_contract` checks a definition against the canonical model and reports
every problem at once with a :class:`~insightloop.quality.contracts.reasons.ContractError`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from insightloop.quality.contracts.reasons import ContractError, Severity
from insightloop.store.schema import ENTITY_TABLES, TableSpec, table_spec

__all__ = [
    "ENTITY_TABLES",
    "AllowedValuesRule",
    "Contract",
    "FormatRule",
    "PatternRule",
    "RangeRule",
    "ReferenceRule",
    "RequiredRule",
    "Rule",
    "UniqueKeyRule",
    "entity_table",
    "parse_contract",
    "parse_rule",
]


Bound = int | float | Decimal | datetime | date | str
_NUMERIC = ("int", "float", "decimal")
_TEMPORAL = ("date", "timestamp")


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    severity: Severity = "reject"

    @property
    def columns_checked(self) -> tuple[str, ...]:
        raise NotImplementedError  # pragma: no cover

    @property
    def id(self) -> str:
        """The rule's name in configuration: ``<kind>:<columns>``."""
        kind = getattr(self, "kind", "rule")
        return f"{kind}:{'+'.join(self.columns_checked) or '*'}"


class RequiredRule(_Rule):
    """The column is non-null and, for text, non-blank after trimming (``required_missing``)."""

    kind: Literal["required"] = "required"
    column: str

    @property
    def columns_checked(self) -> tuple[str, ...]:
        return (self.column,)


class FormatRule(_Rule):
    """A non-null ``<column>__reason`` from the normalisers becomes a violation with that code.

    ``severity`` applies to codes not listed in ``severities``; ``columns`` empty means every
    reason column of the batch.
    """

    kind: Literal["format"] = "format"
    columns: tuple[str, ...] = ()
    severities: dict[str, Severity] = Field(default_factory=dict)

    @property
    def columns_checked(self) -> tuple[str, ...]:
        return self.columns


class AllowedValuesRule(_Rule):
    """The value is one of ``values`` (``value_not_allowed``); nulls pass."""

    kind: Literal["allowed_values"] = "allowed_values"
    column: str
    values: tuple[str | int | float | bool, ...] = Field(min_length=1)
    ignore_case: bool = False

    @property
    def columns_checked(self) -> tuple[str, ...]:
        return (self.column,)


class RangeRule(_Rule):
    """The value lies within ``[min, max]``, both inclusive and optional (``out_of_range``)."""

    kind: Literal["range"] = "range"
    column: str
    min: Bound | None = None
    max: Bound | None = None

    @property
    def columns_checked(self) -> tuple[str, ...]:
        return (self.column,)


class PatternRule(_Rule):
    """The text matches ``regex`` as a whole (RE2 syntax; ``pattern_mismatch``); nulls pass."""

    kind: Literal["pattern"] = "pattern"
    column: str
    regex: str = Field(min_length=1)

    @property
    def columns_checked(self) -> tuple[str, ...]:
        return (self.column,)


class UniqueKeyRule(_Rule):
    """Keys are unique within the batch and, if ``check_known``, not among the loaded keys."""

    kind: Literal["unique_key"] = "unique_key"
    columns: tuple[str, ...] = Field(min_length=1)
    check_known: bool = True

    @property
    def columns_checked(self) -> tuple[str, ...]:
        return self.columns


class ReferenceRule(_Rule):
    """The value is among the keys of the entity ``references`` (``reference_missing``)."""

    kind: Literal["reference"] = "reference"
    column: str
    references: str
    severity: Severity = "warn"

    @property
    def columns_checked(self) -> tuple[str, ...]:
        return (self.column,)


Rule = Annotated[
    RequiredRule
    | FormatRule
    | AllowedValuesRule
    | RangeRule
    | PatternRule
    | UniqueKeyRule
    | ReferenceRule,
    Field(discriminator="kind"),
]
_RULE: TypeAdapter[Rule] = TypeAdapter(Rule)


class Contract(BaseModel):
    """The rules one entity's batches must satisfy.

    Examples
    --------
    >>> c = Contract(entity="feedback", rules=[RangeRule(column="nps", min=0, max=10)])
    >>> [r.id for r in c.rules]
    ['range:nps']
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    entity: str
    rules: tuple[Rule, ...] = ()

    def rule(self, rule_id: str) -> Rule:
        """The rule named ``rule_id``; raises ``KeyError`` if the contract has none."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def entity_table(entity: str) -> TableSpec:
    """The canonical table of ``entity``; :class:`ContractError` for an unknown entity.

    Examples
    --------
    >>> entity_table("customers").name
    'src_customers'
    """
    if entity not in ENTITY_TABLES:
        raise ContractError(
            f"Unknown entity {entity!r} for a data contract.",
            hint=f"Use one of: {', '.join(ENTITY_TABLES)}.",
        )
    return table_spec(ENTITY_TABLES[entity])


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def parse_rule(data: Mapping[str, Any], *, entity: str, where: str = "rule") -> Rule:
    """Validate one rule definition; :class:`ContractError` lists every problem in it.

    Examples
    --------
    >>> parse_rule({"kind": "range", "column": "nps", "max": 10}, entity="feedback").id
    'range:nps'
    """
    problems: list[str] = []
    try:
        rule = _RULE.validate_python(dict(data))
    except ValidationError as exc:
        for e in exc.errors():
            problems.append(f"{entity} {where} at {_location(e['loc'])}: {e['msg']}")
        raise ContractError(
            f"The contract of {entity!r} has {len(problems)} invalid setting(s):",
            problems=problems,
            hint="Fix the rule definitions listed; see docs/data-contracts.md.",
        ) from None
    problems = _semantic_problems(rule, entity_table(entity), entity, where)
    if problems:
        raise ContractError(
            f"The contract of {entity!r} has {len(problems)} problem(s):",
            problems=problems,
            hint="Fix the rule definitions listed; see docs/data-contracts.md.",
        )
    return rule


def parse_contract(entity: str, rules: list[Mapping[str, Any]]) -> Contract:
    """Validate a contract's rule definitions and report every problem of every rule at once.

    Examples
    --------
    >>> parse_contract("events", [{"kind": "required", "column": "message_id"}]).rules[0].id
    'required:message_id'
    >>> parse_contract("events", [{"kind": "required"}, {"kind": "range", "column": "nope"}])
    Traceback (most recent call last):
    ...
    insightloop.quality.contracts.reasons.ContractError: The contract of 'events' has 2 ...
    """
    entity_table(entity)
    problems: list[str] = []
    parsed: list[Rule] = []
    for i, data in enumerate(rules):
        try:
            parsed.append(parse_rule(data, entity=entity, where=f"rule {i}"))
        except ContractError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ContractError(
            f"The contract of {entity!r} has {len(problems)} problem(s):",
            problems=problems,
            hint="Fix the rule definitions listed; see docs/data-contracts.md.",
        )
    return Contract(entity=entity, rules=tuple(parsed))


def _dtype_kind(dtype: str) -> str:
    return dtype.split("(")[0]


def _semantic_problems(rule: Rule, spec: TableSpec, entity: str, where: str) -> list[str]:
    """What is wrong with a well-formed rule given the entity's canonical columns."""
    prefix = f"{entity} {where} ({rule.id})"
    dtypes = {c.name: c.dtype for c in spec.columns}
    problems = [
        f"{prefix}: column {col!r} is not in table {spec.name}; use one of its columns "
        "(docs/data-model.md)."
        for col in rule.columns_checked
        if col not in dtypes
    ]
    if problems:
        return problems
    if isinstance(rule, RangeRule):
        kind = _dtype_kind(dtypes[rule.column])
        if rule.min is None and rule.max is None:
            problems.append(f"{prefix}: give `min`, `max` or both.")
        elif not kind.startswith(_NUMERIC + _TEMPORAL):
            problems.append(f"{prefix}: a range needs a numeric, date or timestamp column.")
        else:
            bounds = [b for b in (rule.min, rule.max) if b is not None]
            numeric = kind.startswith(_NUMERIC)
            for b in bounds:
                ok = _is_number(b) if numeric else _as_datetime(b) is not None
                if not ok:
                    want = "a number" if numeric else "a date or ISO 8601 timestamp"
                    problems.append(f"{prefix}: bound {b!r} must be {want}.")
            if not problems and len(bounds) == 2 and _order_key(bounds[0]) > _order_key(bounds[1]):
                problems.append(f"{prefix}: `min` is greater than `max`; swap them.")
    elif isinstance(rule, PatternRule):
        try:
            re.compile(rule.regex)
        except re.error as exc:
            problems.append(f"{prefix}: the regular expression does not compile ({exc}).")
    elif isinstance(rule, UniqueKeyRule) and len(set(rule.columns)) != len(rule.columns):
        problems.append(f"{prefix}: a key column is listed twice; list each once.")
    return problems


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _as_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _order_key(value: object) -> Any:
    return value if _is_number(value) else _as_datetime(value)
