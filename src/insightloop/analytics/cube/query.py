"""The query model of slicing: measures by dimensions, with filters, a period grain and a window.

A :class:`Query` is plain data (pydantic): the API takes it as JSON, the CLI builds it from its
compact syntax with :func:`parse_query`. Whether its names exist and fit together is checked
against the catalogue and the workspace by :func:`insightloop.analytics.cube.plan_query`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from insightloop.analytics.cube.catalogue import DIMENSIONS, MEASURES
from insightloop.analytics.cube.errors import QueryError

__all__ = [
    "MAX_DIMENSIONS",
    "MAX_ROWS",
    "OPS",
    "Filter",
    "Grain",
    "Op",
    "Query",
    "Scalar",
    "parse_filter",
    "parse_names",
    "parse_query",
]

#: At most this many dimensions in ``by``: a fourth is rarely read, and multiplies the groups.
MAX_DIMENSIONS = 3
#: The most rows a query returns (``limit`` cannot exceed it).
MAX_ROWS = 10_000

Op = Literal["eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "between"]
OPS: tuple[str, ...] = ("eq", "ne", "in", "not_in", "gt", "ge", "lt", "le", "between")
Grain = Literal["day", "week", "month", "quarter", "year"]


def _printable(text: str) -> str:
    # Lone surrogates (which JSON can carry) have no place in a value, and engines cannot take
    # them in a literal; control characters are refused by the pattern.
    if any(unicodedata.category(ch) == "Cs" for ch in text):
        raise ValueError("a value holds an unpaired surrogate")
    return text


#: Names are identifiers (``sum:<column>`` for a generic measure).
Name = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=100, pattern=r"^[A-Za-z_][A-Za-z0-9_]*(:[A-Za-z_][A-Za-z0-9_]*)?$"
    ),
]
#: A measure's name: one of the catalogue, or an aggregate of a customer attribute (documented
#: as such; any other identifier is refused with the closest known name).
MeasureName = Annotated[
    Name,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "enum": list(MEASURES)},
                {"type": "string", "pattern": r"^(sum|avg):[A-Za-z_][A-Za-z0-9_]*$"},
            ]
        }
    ),
]
DimensionName = Annotated[Name, WithJsonSchema({"type": "string", "enum": list(DIMENSIONS)})]
#: Text of a filter value: printable (DuckDB, for one, ends a literal at NUL).
Text = Annotated[
    str,
    StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f-\x9f]*$"),
    AfterValidator(_printable),
]
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day(value: object) -> object:
    # What the JSON schema says and no more: YYYY-MM-DD (pydantic alone would take a number
    # of seconds, or a time of midnight).
    if isinstance(value, str) and not _DAY.fullmatch(value):
        raise ValueError("a day is written YYYY-MM-DD")
    if isinstance(value, bool | int | float):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_day)]

#: A filter value: text, a number or a truth value (converted to the column's type).
Scalar = bool | int | float | Text


class Filter(BaseModel):
    """Keep only what ``dimension op value`` holds for.

    ``in`` and ``not_in`` take a list, ``between`` a list of two (both ends included), the
    others one value. ``dimension`` is a dimension of the catalogue or any column of the
    customer attributes (``orders_365d``, ``p_alive``, ...).
    """

    model_config = ConfigDict(extra="forbid")

    dimension: Name
    op: Op = "eq"
    value: Scalar | Annotated[list[Scalar], Field(min_length=1, max_length=100)]

    @model_validator(mode="after")
    def _value_fits_op(self) -> Filter:
        many = isinstance(self.value, list)
        if self.op in ("in", "not_in") and not many:
            self.value = [self.value]  # type: ignore[list-item]
        elif self.op == "between" and not (many and len(self.value) == 2):  # type: ignore[arg-type]
            raise ValueError("'between' takes a list of two values: [low, high]")
        elif self.op not in ("in", "not_in", "between") and many:
            raise ValueError(f"'{self.op}' takes one value, not a list (use 'in' for several)")
        return self

    def values(self) -> list[Scalar]:
        return list(self.value) if isinstance(self.value, list) else [self.value]

    def describe(self) -> str:
        symbol = {"eq": "=", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
        shown = ",".join(str(v) for v in self.values())
        if self.op in symbol:
            return f"{self.dimension}{symbol[self.op]}{shown}"
        return f"{self.dimension} {self.op.replace('_', ' ')} {shown}"


class Query(BaseModel):
    """Measures by up to three dimensions.

    Examples
    --------
    >>> q = Query(measures=["revenue", "orders"], by=["country", "period"], period="quarter")
    >>> q.order_measure(), q.sorted_ascending()
    ('period', True)
    >>> Query(measures=["revenue", "orders"], by=["country"]).order_measure()
    'revenue'
    >>> Query(measures=["revenue"], by=["a", "b", "c", "d"])
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for Query
    ...
    """

    model_config = ConfigDict(extra="forbid")

    measures: list[MeasureName] = Field(
        min_length=1,
        max_length=10,
        description="Measures to compute: names of the catalogue, or `sum:<column>` / "
        "`avg:<column>` of a numeric customer attribute.",
    )
    by: list[DimensionName] = Field(
        default_factory=list,
        max_length=MAX_DIMENSIONS,
        description="Dimensions to split by (none: one row for everything).",
    )
    filters: list[Filter] = Field(
        default_factory=list, max_length=20, description="Conditions that all must hold."
    )
    period: Grain = Field("month", description="Grain of the `period` dimension.")
    since: Day | None = Field(None, description="Activity from this day on (included).")
    until: Day | None = Field(None, description="Activity up to this day (included).")
    limit: Annotated[int, Strict()] = Field(
        1000, ge=1, le=MAX_ROWS, description="At most this many rows."
    )
    order: Name | None = Field(
        None,
        description="Measure or dimension of the query to sort by (default: the period when "
        "split by it, else the first measure).",
    )
    ascending: Annotated[bool, Strict()] = Field(
        False, description="Sort ascending (default: descending)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Query:
        for what, names in (("measures", self.measures), ("by", self.by)):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"{what} names {', '.join(twice)} more than once")
        if self.since and self.until and self.since > self.until:
            raise ValueError("since is after until")
        return self

    def order_measure(self) -> str:
        """What the rows are sorted by."""
        if self.order:
            return self.order
        return "period" if "period" in self.by else self.measures[0]

    def sorted_ascending(self) -> bool:
        return self.ascending or (self.order is None and "period" in self.by)


_FILTER = re.compile(
    r"^\s*(?P<name>[A-Za-z_][\w:.]*)\s*"
    r"(?P<op>!=|>=|<=|==|=|>|<|\s(?:not\s+in|in|between)\s)\s*(?P<value>.*?)\s*$",
    re.IGNORECASE,
)
_SYMBOLS = {"!=": "ne", ">=": "ge", "<=": "le", "==": "eq", "=": "eq", ">": "gt", "<": "lt"}


def parse_filter(text: str) -> Filter:
    """A filter from the CLI's compact form.

    Examples
    --------
    >>> parse_filter("country=SE").model_dump()
    {'dimension': 'country', 'op': 'eq', 'value': 'SE'}
    >>> parse_filter("value_tier in top, middle").value
    ['top', 'middle']
    >>> parse_filter("orders_365d between 1,5").op
    'between'
    """
    m = _FILTER.match(text)
    if m is None or not m["value"]:
        raise QueryError(
            [f"cannot read the filter {text!r}"],
            hint="Write a filter as DIM=VALUE, DIM!=VALUE, DIM>VALUE (>=, <, <=), "
            "'DIM in A,B', 'DIM not in A,B' or 'DIM between LOW,HIGH'.",
        )
    raw_op = " ".join(m["op"].lower().split())
    op = _SYMBOLS.get(raw_op, raw_op.replace(" ", "_"))
    value: Scalar | list[Scalar] = m["value"]
    if op in ("in", "not_in", "between"):
        value = [v.strip() for v in m["value"].split(",") if v.strip()]
    try:
        return Filter(dimension=m["name"], op=op, value=value)  # type: ignore[arg-type]
    except ValueError as exc:
        raise QueryError([f"filter {text!r}: {_first_error(exc)}"]) from None


def parse_names(text: str | Sequence[str] | None) -> list[str]:
    """``"a,b"`` (or several such) as ``["a", "b"]``."""
    if text is None:
        return []
    parts = [text] if isinstance(text, str) else list(text)
    return [n.strip() for p in parts for n in p.split(",") if n.strip()]


def parse_query(
    measures: str | Sequence[str],
    *,
    by: str | Sequence[str] | None = None,
    where: Sequence[str] = (),
    period: str = "month",
    since: date | None = None,
    until: date | None = None,
    limit: int = 1000,
    order: str | None = None,
    ascending: bool = False,
) -> Query:
    """A :class:`Query` from the CLI's compact syntax (a :class:`QueryError` when malformed).

    Examples
    --------
    >>> q = parse_query("revenue,orders", by="country", where=["value_tier in top,middle"])
    >>> q.measures, q.by, q.filters[0].describe()
    (['revenue', 'orders'], ['country'], 'value_tier in top,middle')
    """
    filters = [parse_filter(w) for w in where]
    try:
        return Query(
            measures=parse_names(measures),
            by=parse_names(by),
            filters=filters,
            period=period,  # type: ignore[arg-type]
            since=since,
            until=until,
            limit=limit,
            order=order,
            ascending=ascending,
        )
    except ValueError as exc:
        raise QueryError([_first_error(exc)]) from None


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for e in errors():
            where = ".".join(str(p) for p in e["loc"])
            parts.append(f"{where}: {e['msg']}" if where else str(e["msg"]))
        return "; ".join(parts)
    return str(exc)
