"""A query checked against the catalogue and the workspace: every name resolved, every value
converted to its column's type, every combination allowed, or all the problems at once.

:class:`CubeSources` says what the workspace has (the customer table, the segments, the behaviour
tables); :func:`plan_query` turns a :class:`~insightloop.analytics.cube.query.Query` into a
:class:`Plan` that :mod:`insightloop.analytics.cube.build` compiles without further checks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from insightloop.analytics.activity import Activity
from insightloop.analytics.activity_marts import slicing_activity
from insightloop.analytics.attributes import (
    ATTRIBUTE_TABLES,
    attributes_from,
    attributes_schema,
    current_segments,
    measures_day,
)
from insightloop.analytics.config import AnalyticsConfig
from insightloop.analytics.cube.catalogue import (
    ACTIVITY,
    CUSTOMER,
    DIMENSIONS,
    GENERIC_AGGREGATES,
    MEASURES,
    CubeDimension,
    CubeMeasure,
    generic_measure,
)
from insightloop.analytics.cube.errors import QueryError, closest
from insightloop.analytics.cube.query import Filter, Query
from insightloop.analytics.measures import all_measures
from insightloop.identity.config import IdentityConfig
from insightloop.store import Engine

__all__ = ["CubeSources", "Plan", "PlannedFilter", "plan_query"]

#: Columns of the golden record that are customer dimensions (the rest is personal data).
GOLDEN_COLUMNS = ("country", "city", "language")
#: Units of the lifetime-value columns (the measures' units come from their definitions).
_CLV_UNITS = {
    "clv": "currency",
    "discounted_clv": "currency",
    "expected_spend": "currency",
    "p_alive": "probability",
    "expected_purchases": "orders",
}
_NOT_FILTERABLE = frozenset({"customer_id"})


class CubeSources:
    """What a workspace offers to slice, read lazily from the engine (expressions, no rows).

    ``customers`` is one row per customer: the customer attributes (when the measures have been
    computed) with the golden record's country, city and language.
    """

    def __init__(self, engine: Engine, identity: IdentityConfig, config: AnalyticsConfig) -> None:
        self.engine = engine
        self.identity = identity
        self.config = config

    @functools.cached_property
    def attributes_computed(self) -> bool:
        return "as_of" in self._schema

    @functools.cached_property
    def customers(self) -> ir.Table | None:
        return self._customers(None)

    def customers_with(self, columns: Iterable[str]) -> ir.Table | None:
        """The rows of :attr:`customers` with only ``columns`` (and ``customer_id``): what a
        query runs on, since the narrower expression compiles many times faster."""
        wanted = frozenset(columns)
        if wanted not in self._narrow:
            self._narrow[wanted] = self._customers(wanted)
        return self._narrow[wanted]

    @functools.cached_property
    def _attribute_columns(self) -> frozenset[str]:
        return frozenset(attributes_schema(self._tables) or ())

    @functools.cached_property
    def _schema(self) -> dict[str, dt.DataType]:
        """The columns of :attr:`customers`, from the tables' schemas (no joins built)."""
        attributes = attributes_schema(self._tables)
        if "customers" not in self._tables:
            return attributes or {}
        golden = self._tables["customers"].schema()
        keep = [c for c in GOLDEN_COLUMNS if c not in self._attribute_columns]
        base = attributes or {"customer_id": golden["customer_id"]}
        return {**base, **{c: golden[c] for c in keep}}

    def customer_stub(self) -> ir.Table | None:
        """An unbound table with the columns of :attr:`customers` (None without customers): for
        looking at expressions over it without building the customer table."""
        return ibis.table(self._schema, name="customers") if self._schema else None

    @functools.cached_property
    def _narrow(self) -> dict[frozenset[str], ir.Table | None]:
        return {}

    @functools.cached_property
    def _tables(self) -> dict[str, ir.Table]:
        """The customer tables, opened once (each opening asks the engine for the schema)."""
        present = set(self.engine.tables())
        names = (*ATTRIBUTE_TABLES, "customers")
        return {name: self.engine.table(name) for name in names if name in present}

    def _customers(self, columns: frozenset[str] | None) -> ir.Table | None:
        attributes = attributes_from(self._tables, columns)
        if "customers" not in self._tables:
            return attributes
        # The golden record's columns the attributes do not have (their own country wins).
        keep = [c for c in GOLDEN_COLUMNS if c not in self._attribute_columns]
        if columns is not None:
            keep = [c for c in keep if c in columns]
        golden = self._tables["customers"].select("customer_id", *keep)
        if attributes is None:
            return golden
        if not keep:
            return attributes
        golden = golden.rename(_gk="customer_id")
        joined = attributes.left_join(golden, attributes.customer_id == golden._gk)
        return joined.drop("_gk")

    @functools.cached_property
    def segments(self) -> ir.Table | None:
        """Current memberships (None while no segment is defined)."""
        members = current_segments(self.engine)
        if members is None or self.engine.count("segments") == 0:
            return None
        return members

    @functools.cached_property
    def activity(self) -> Activity:
        """Orders and order lines from the ``activity`` step's tables while they are current
        (:mod:`insightloop.analytics.activity_marts`), the rest live."""
        return slicing_activity(self.engine, self.identity, self.config)

    @functools.cached_property
    def as_of(self) -> date | None:
        """The day the customer measures are computed as of."""
        return measures_day(self.engine) if self.attributes_computed else None

    @functools.cached_property
    def units(self) -> dict[str, str]:
        """The unit of each attribute column that has one (for ``sum:``/``avg:``)."""
        return {**{m.name: m.unit for m in all_measures(self.config)}, **_CLV_UNITS}

    def customer_schema(self) -> dict[str, dt.DataType]:
        return dict(self._schema)

    def filterable(self) -> dict[str, dt.DataType]:
        """Customer columns a filter may name: scalar columns, not the customer id."""
        return {
            name: dtype
            for name, dtype in self.customer_schema().items()
            if name not in _NOT_FILTERABLE and not (dtype.is_nested() or name.startswith("_"))
        }


@dataclass(frozen=True)
class PlannedFilter:
    """A filter resolved: on a customer column (``column``), on the segments, or on an activity
    dimension (``dimension``); ``values`` converted to the column's type."""

    filter: Filter
    kind: str
    values: tuple[Any, ...]
    column: str = ""
    dimension: CubeDimension | None = None

    @property
    def on_segments(self) -> bool:
        return self.dimension is not None and self.dimension.origin == "segments"


@dataclass(frozen=True)
class Plan:
    """A query every name of which is resolved and every combination allowed."""

    query: Query
    measures: tuple[CubeMeasure, ...]
    by: tuple[CubeDimension, ...]
    filters: tuple[PlannedFilter, ...]
    currency: str

    def unit(self, measure: CubeMeasure) -> str:
        return self.currency if measure.unit == "currency" else measure.unit

    def sources(self) -> list[str]:
        """The sources of the measures, in the order of their first measure."""
        return list(dict.fromkeys(m.source for m in self.measures))

    def customer_filters(self) -> list[PlannedFilter]:
        return [f for f in self.filters if f.kind == CUSTOMER]

    def activity_filters(self) -> list[PlannedFilter]:
        return [f for f in self.filters if f.kind == ACTIVITY]

    def without_dimensions(self) -> Plan:
        """The same plan for the totals: every measure over everything the filters keep."""
        return Plan(self.query, self.measures, (), self.filters, self.currency)


def plan_query(query: Query, sources: CubeSources) -> Plan:
    """Resolve and check ``query`` against the catalogue and what ``sources`` hold.

    Raises
    ------
    QueryError
        Listing every problem: unknown names (with the closest known one), dimensions a
        measure cannot be split or filtered by (with those it can), data not computed yet.
    """
    problems: list[str] = []
    measures = [m for m in (_measure(n, sources, problems) for n in query.measures) if m]
    by = [d for d in (_dimension(n, sources, problems) for n in query.by) if d]
    filters = [f for f in (_filter(f, sources, problems) for f in query.filters) if f]
    for m in measures:
        _check_measure(m, by, filters, problems)
    if (query.since or query.until) and measures and all(m.kind == CUSTOMER for m in measures):
        day = sources.as_of.isoformat() if sources.as_of else "the measures' day"
        problems.append(
            "since/until select activity, and every measure asked for is a customer measure "
            f"(computed as of {day}); leave them out, or ask for an activity measure"
        )
    order = query.order
    if order is not None and order not in (*query.measures, *query.by):
        problems.append(
            f"cannot order by '{order}': order by a measure or dimension of the query "
            f"({', '.join([*query.measures, *query.by])})"
        )
    if problems:
        raise QueryError(problems)
    return Plan(query, tuple(measures), tuple(by), tuple(filters), sources.config.currency)


def _measure(name: str, sources: CubeSources, problems: list[str]) -> CubeMeasure | None:
    aggregate, colon, column = name.partition(":")
    if colon:
        return _generic(aggregate, column, sources, problems)
    known = MEASURES.get(name)
    if known is None:
        hint = closest(name, MEASURES, "measures")
        problems.append(
            f"unknown measure '{name}'. {hint} Any numeric customer attribute also works as "
            "sum:<column> or avg:<column>"
        )
        return None
    if known.kind == CUSTOMER:
        schema = sources.customer_schema()
        missing = [c for c in known.columns if c not in schema]
        if not schema or missing:
            problems.append(f"'{name}' needs {known.needs}, which this workspace has not yet")
            return None
    return known


def _generic(
    aggregate: str, column: str, sources: CubeSources, problems: list[str]
) -> CubeMeasure | None:
    if aggregate not in GENERIC_AGGREGATES:
        problems.append(
            f"unknown aggregate '{aggregate}' in '{aggregate}:{column}': use "
            f"{' or '.join(f'{a}:<column>' for a in GENERIC_AGGREGATES)}"
        )
        return None
    numeric = {n for n, t in sources.filterable().items() if t.is_numeric() and not t.is_boolean()}
    if column not in numeric:
        if not numeric:
            problems.append(
                f"'{aggregate}:{column}' needs the customer measures, which this workspace has "
                "not yet (`insightloop run measures`)"
            )
        else:
            problems.append(
                f"'{column}' is not a numeric customer attribute. "
                f"{closest(column, numeric, 'numeric attributes')}"
            )
        return None
    return generic_measure(aggregate, column, sources.units.get(column, ""))


def _dimension(name: str, sources: CubeSources, problems: list[str]) -> CubeDimension | None:
    d = DIMENSIONS.get(name)
    if d is None:
        problems.append(f"unknown dimension '{name}'. {closest(name, DIMENSIONS, 'dimensions')}")
        return None
    if d.kind == CUSTOMER and not _available(d, sources):
        problems.append(f"'{name}' needs {d.needs}, which this workspace has not yet")
        return None
    return d


def _available(d: CubeDimension, sources: CubeSources) -> bool:
    if d.origin == "segments":
        return sources.segments is not None
    return d.column in sources.customer_schema()


def _filter(f: Filter, sources: CubeSources, problems: list[str]) -> PlannedFilter | None:
    name = f.dimension
    d = DIMENSIONS.get(name)
    if d is not None and d.name == "period":
        problems.append("filter on period: use since and until (--since, --until) instead")
        return None
    if d is not None and d.kind == ACTIVITY:
        values = _convert(f, dt.string, problems)
        return PlannedFilter(f, ACTIVITY, values, dimension=d) if values is not None else None
    if d is not None and d.origin == "segments":
        if not _available(d, sources):
            problems.append(f"filter on segment: needs {d.needs}, which this workspace has not yet")
            return None
        if f.op not in ("eq", "ne", "in", "not_in"):
            problems.append(f"filter on segment: use eq, ne, in or not_in, not {f.op}")
            return None
        values = _convert(f, dt.string, problems)
        return PlannedFilter(f, CUSTOMER, values, dimension=d) if values is not None else None
    columns = sources.filterable()
    if name not in columns:
        if d is not None:
            problems.append(
                f"filter on '{name}': needs {d.needs}, which this workspace has not yet"
            )
        else:
            known = [*DIMENSIONS, *columns]
            problems.append(
                f"unknown filter dimension '{name}'. "
                f"{closest(name, known, 'dimensions and customer attributes')}"
            )
        return None
    values = _convert(f, columns[name], problems)
    if values is None:
        return None
    return PlannedFilter(f, CUSTOMER, values, column=name, dimension=d)


def _convert(f: Filter, dtype: dt.DataType, problems: list[str]) -> tuple[Any, ...] | None:
    try:
        return tuple(_value(v, dtype) for v in f.values())
    except ValueError as exc:
        # The value itself is not repeated: it may be personal data (a city, say).
        problems.append(f"filter on '{f.dimension}': {exc}")
        return None


_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}
_INT64 = 2**63


def _value(value: Any, dtype: dt.DataType) -> Any:
    """``value`` as a Python value of ``dtype`` (a ValueError saying what is expected)."""
    if dtype.is_boolean():
        text = str(value).lower()
        if isinstance(value, bool) or text in _TRUE | _FALSE:
            return value if isinstance(value, bool) else text in _TRUE
        raise ValueError("a value is not true or false")
    if dtype.is_numeric():
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except ValueError:
            raise ValueError("a value is not a number") from None
        if not math.isfinite(number) or abs(number) >= _INT64:
            raise ValueError("a value is not a finite number within range")
        if dtype.is_integer() and number.is_integer():
            return int(number)
        return number
    if dtype.is_string():
        return str(value)
    if dtype.is_timestamp() or dtype.is_date():
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError("a value is not a date (YYYY-MM-DD)") from None
        return moment.date() if dtype.is_date() else moment.replace(tzinfo=None)
    raise ValueError(f"columns of type {dtype} cannot be filtered")


def _check_measure(
    m: CubeMeasure,
    by: Sequence[CubeDimension],
    filters: Sequence[PlannedFilter],
    problems: list[str],
) -> None:
    used = [("split", d) for d in by] + [
        ("filtered", f.dimension) for f in filters if f.kind == ACTIVITY and f.dimension
    ]
    customer_dims = [d.name for d in DIMENSIONS.values() if d.kind == CUSTOMER]
    for verb, d in used:
        if d.kind != ACTIVITY:
            continue
        if m.kind == CUSTOMER:
            problems.append(
                f"'{m.name}' is a customer measure (one row per customer, as of the measures' "
                f"day) and cannot be {verb} by the activity dimension '{d.name}'; it can be "
                f"{verb} by {', '.join(customer_dims)}"
            )
        elif m.source not in d.columns:
            own = [x.name for x in DIMENSIONS.values() if m.source in x.columns]
            others = sorted(x.name for x in MEASURES.values() if x.source in d.columns)
            problems.append(
                f"'{m.name}' counts {m.source} and cannot be {verb} by '{d.name}'; it can be "
                f"{verb} by {', '.join(own)} and the customer dimensions. Measures that can: "
                f"{', '.join(others)}"
            )
