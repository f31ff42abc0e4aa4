"""The measure definitions: what each computed attribute means, its version, and how it is built.

A :class:`Measure` is either an aggregate of one behaviour table (``behaviour`` set: ``build``
gets the customer's rows and the :class:`Window` and returns an aggregate expression) or derived
from other measures (``behaviour`` is None: ``build`` gets the table of measures). Built-in
measures are listed in :data:`BUILT_IN`; :func:`custom_measure` turns an ``[analytics.measures]``
declaration into one. Bump a measure's ``version`` whenever its meaning changes: the version is
stored with the definitions, so a model trained on version 1 can tell it is reading version 2.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir

from insightloop.analytics.config import AnalyticsConfig, CustomMeasure

__all__ = ["BUILT_IN", "Measure", "Window", "custom_measure", "definition_hash"]

DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class Window:
    """The point in time measures are computed as of, and the settings some measures need."""

    end: datetime  # the first instant after the as-of day: rows before it count
    config: AnalyticsConfig

    def within(self, t: ir.Table, days: int) -> ir.BooleanValue:
        """Rows of ``t`` in the ``days`` days up to the end of the as-of day."""
        return t.at >= ibis.literal(self.end - timedelta(days=days))

    def days_since(self, value: ir.TimestampValue) -> ir.FloatingValue:
        """Days from ``value`` to the end of the as-of day, as a fraction."""
        end = ibis.literal(self.end)
        seconds = end.epoch_seconds() - value.epoch_seconds()
        return (seconds / DAY_SECONDS).cast("float64")


Build = Callable[[ir.Table, Window], ir.Value]


@dataclass(frozen=True)
class Measure:
    """One computed attribute."""

    name: str
    description: str
    dtype: str
    behaviour: str | None
    build: Build
    version: int = 1
    default: Any = None
    unit: str = ""
    declaration: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "dtype": self.dtype,
            "behaviour": self.behaviour,
            "unit": self.unit,
            "declaration": self.declaration,
        }


def definition_hash(measure: Measure) -> str:
    """A short hash of a measure's declaration (custom) or name and version (built-in)."""
    payload = json.dumps(measure.to_dict(), sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _count_within(days: int) -> Build:
    return lambda t, w: w.within(t, days).sum().cast("int64")


def _sum_within(column: str, days: int) -> Build:
    return lambda t, w: t[column].sum(where=w.within(t, days))


def _channel_share(channel: str) -> Build:
    def build(t: ir.Table, w: Window) -> ir.Value:
        hits = (t.channel.lower() == channel).sum().cast("float64")
        return hits / t.count().cast("float64")

    return build


def _contact_cost(t: ir.Table, w: Window) -> ir.Value:
    costs = dict(w.config.contact_costs)
    default = costs.pop("default", 0.0)
    cost = ibis.cases(*((t.channel.lower() == k, v) for k, v in costs.items()), else_=default)
    return cost.sum(where=w.within(t, 365)).cast("float64")


def _derived(fn: Callable[[ir.Table, Window], ir.Value]) -> Build:
    return fn


def _ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.Value:
    return ibis.cases((den > 0, num.cast("float64") / den.cast("float64")), else_=ibis.null())


def _m(
    name: str,
    description: str,
    dtype: str,
    behaviour: str | None,
    build: Build,
    *,
    default: Any = None,
    unit: str = "",
    version: int = 1,
) -> Measure:
    return Measure(name, description, dtype, behaviour, build, version, default, unit)


_ORDERS = [
    _m(
        "orders",
        "Orders placed (not cancelled).",
        "int64",
        "orders",
        lambda t, w: t.count(),
        default=0,
    ),
    *(
        _m(
            f"orders_{d}d",
            f"Orders in the last {d} days.",
            "int64",
            "orders",
            _count_within(d),
            default=0,
        )
        for d in (30, 90, 365)
    ),
    _m(
        "revenue",
        "Amount ordered, all time.",
        "float64",
        "orders",
        lambda t, w: t.amount.sum(),
        default=0.0,
        unit="currency",
    ),
    *(
        _m(
            f"revenue_{d}d",
            f"Amount ordered in the last {d} days.",
            "float64",
            "orders",
            _sum_within("amount", d),
            default=0.0,
            unit="currency",
        )
        for d in (30, 90, 365)
    ),
    _m("first_order_at", "First order.", "timestamp", "orders", lambda t, w: t.at.min()),
    _m("last_order_at", "Latest order.", "timestamp", "orders", lambda t, w: t.at.max()),
    _m(
        "purchase_days",
        "Days with at least one order.",
        "int64",
        "orders",
        lambda t, w: t.at.date().nunique(),
        default=0,
    ),
    _m(
        "returned_365d",
        "Value of goods returned from orders of the last 365 days.",
        "float64",
        "orders",
        _sum_within("returned", 365),
        default=0.0,
        unit="currency",
    ),
    _m(
        "discount_365d",
        "Discounts granted in the last 365 days.",
        "float64",
        "orders",
        _sum_within("discount", 365),
        default=0.0,
        unit="currency",
    ),
    _m(
        "late_deliveries_365d",
        "Orders of the last 365 days delivered after the promised date.",
        "int64",
        "orders",
        lambda t, w: (t.late & w.within(t, 365)).sum().cast("int64"),
        default=0,
    ),
    *(
        _m(
            f"{c}_share",
            f"Share of orders placed in the {c} channel.",
            "float64",
            "orders",
            _channel_share(c),
        )
        for c in ("store", "web", "app")
    ),
    _m(
        "channels",
        "Sales channels used.",
        "array<string>",
        "orders",
        lambda t, w: t.channel.lower().collect(distinct=True).sort(),
    ),
]

_PURCHASES = [
    _m(
        "categories",
        "Product categories bought.",
        "array<string>",
        "purchases",
        lambda t, w: t.category.collect(distinct=True).sort(),
    ),
    _m(
        "items_365d",
        "Units bought in the last 365 days.",
        "int64",
        "purchases",
        lambda t, w: t.quantity.sum(where=w.within(t, 365)).cast("int64"),
        default=0,
    ),
    _m(
        "cogs_365d",
        "Cost of the goods kept (bought less returned) in the last 365 days.",
        "float64",
        "purchases",
        lambda t, w: (t.cost * (t.quantity - t.returned_quantity) / t.quantity.nullif(0)).sum(
            where=w.within(t, 365)
        ),
        default=0.0,
        unit="currency",
    ),
]

_CONTACTS = [
    *(
        _m(
            f"contacts_{d}d",
            f"Contact-centre interactions in the last {d} days.",
            "int64",
            "contacts",
            _count_within(d),
            default=0,
        )
        for d in (90, 365)
    ),
    _m(
        "unresolved_contacts_365d",
        "Interactions of the last 365 days not resolved at once.",
        "int64",
        "contacts",
        lambda t, w: ((t.resolved == False) & w.within(t, 365)).sum().cast("int64"),  # noqa: E712
        default=0,
    ),
    _m(
        "cost_to_serve_365d",
        "Contacts of the last 365 days times the cost per channel ([analytics] contact_costs).",
        "float64",
        "contacts",
        _contact_cost,
        default=0.0,
        unit="currency",
    ),
    _m(
        "last_contact_at",
        "Latest contact-centre interaction.",
        "timestamp",
        "contacts",
        lambda t, w: t.at.max(),
    ),
]

_EVENTS = [
    *(
        _m(
            f"events_{d}d",
            f"Web and app events in the last {d} days.",
            "int64",
            "events",
            _count_within(d),
            default=0,
        )
        for d in (30, 90)
    ),
    _m(
        "product_views_30d",
        "Products viewed in the last 30 days.",
        "int64",
        "events",
        lambda t, w: ((t.event == "Product Viewed") & w.within(t, 30)).sum().cast("int64"),
        default=0,
    ),
    _m("last_event_at", "Latest web or app event.", "timestamp", "events", lambda t, w: t.at.max()),
]

_FEEDBACK = [
    _m(
        "responses_365d",
        "Survey responses in the last 365 days.",
        "int64",
        "feedback",
        _count_within(365),
        default=0,
    ),
    _m(
        "last_nps",
        "Latest likelihood-to-recommend answer (0-10).",
        "int64",
        "feedback",
        lambda t, w: t.nps.argmax(ibis.cases((t.nps.notnull(), t.at))),
    ),
    _m(
        "avg_nps_365d",
        "Average likelihood to recommend in the last 365 days.",
        "float64",
        "feedback",
        lambda t, w: t.nps.mean(where=w.within(t, 365)),
    ),
    _m(
        "last_csat",
        "Latest satisfaction answer (1-5).",
        "int64",
        "feedback",
        lambda t, w: t.csat.argmax(ibis.cases((t.csat.notnull(), t.at))),
    ),
]

_CAMPAIGNS = [
    _m(
        "campaigns_365d",
        "Campaigns the customer was targeted by in the last 365 days.",
        "int64",
        "campaigns",
        _count_within(365),
        default=0,
    ),
    _m(
        "campaign_responses_365d",
        "Campaign responses in the last 365 days.",
        "int64",
        "campaigns",
        lambda t, w: (t.responded & w.within(t, 365)).sum().cast("int64"),
        default=0,
    ),
]


def _recency(m: ir.Table, w: Window) -> ir.Value:
    return w.days_since(m.last_order_at)


def _tenure(m: ir.Table, w: Window) -> ir.Value:
    first = ibis.least(m.first_order_at, m.created_at)
    return ibis.greatest(w.days_since(ibis.coalesce(first, m.first_order_at, m.created_at)), 0.0)


def _interval(m: ir.Table, w: Window) -> ir.Value:
    span = (m.last_order_at.epoch_seconds() - m.first_order_at.epoch_seconds()) / DAY_SECONDS
    return _ratio(span, m.purchase_days - 1)


def _margin(m: ir.Table, w: Window) -> ir.Value:
    return m.revenue_365d - m.returned_365d - m.cogs_365d


_DERIVED = [
    _m(
        "recency_days",
        "Days since the latest order.",
        "float64",
        None,
        _derived(_recency),
        unit="days",
    ),
    _m(
        "tenure_days",
        "Days since the customer was first seen or first ordered.",
        "float64",
        None,
        _derived(_tenure),
        unit="days",
    ),
    _m(
        "frequency",
        "Repeat purchase days (days with an order, less the first).",
        "int64",
        None,
        _derived(lambda m, w: ibis.greatest(m.purchase_days - 1, 0)),
        default=0,
    ),
    _m(
        "avg_order_value",
        "Average amount per order.",
        "float64",
        None,
        _derived(lambda m, w: _ratio(m.revenue, m.orders)),
        unit="currency",
    ),
    _m(
        "purchase_interval_days",
        "Average days between purchase days.",
        "float64",
        None,
        _derived(_interval),
        unit="days",
    ),
    _m(
        "return_rate",
        "Returned value over ordered value, last 365 days.",
        "float64",
        None,
        _derived(lambda m, w: _ratio(m.returned_365d, m.revenue_365d)),
    ),
    _m(
        "gross_margin_365d",
        "Revenue less returns and the cost of goods kept, last 365 days.",
        "float64",
        None,
        _derived(_margin),
        unit="currency",
    ),
    _m(
        "profit_12m",
        "Gross margin less cost to serve, last 365 days.",
        "float64",
        None,
        _derived(lambda m, w: m.gross_margin_365d - m.cost_to_serve_365d),
        unit="currency",
    ),
]

#: Every built-in measure, behaviour aggregates first, then the derived ones in dependency order.
BUILT_IN: tuple[Measure, ...] = (
    *_ORDERS,
    *_PURCHASES,
    *_CONTACTS,
    *_EVENTS,
    *_FEEDBACK,
    *_CAMPAIGNS,
    *_DERIVED,
)


def _where(t: ir.Table, where: dict[str, Any]) -> ir.BooleanValue:
    cond: ir.BooleanValue = ibis.literal(True)
    for column, value in where.items():
        if isinstance(value, list):
            cond = cond & t[column].isin(value)
        elif value is None:
            cond = cond & t[column].isnull()
        else:
            cond = cond & (t[column] == value)
    return cond


def custom_measure(name: str, spec: CustomMeasure) -> Measure:
    """A measure declared in ``[analytics.measures.<name>]``, compiled to engine expressions.

    Examples
    --------
    >>> from insightloop.analytics.config import CustomMeasure
    >>> m = custom_measure("web_orders_90d", CustomMeasure(behaviour="orders",
    ...                    where={"channel": "web"}, within_days=90))
    >>> (m.behaviour, m.dtype, m.default)
    ('orders', 'int64', 0)
    """

    def build(t: ir.Table, w: Window) -> ir.Value:
        cond = _where(t, spec.where)
        if spec.within_days is not None:
            cond = cond & w.within(t, spec.within_days)
        agg = spec.aggregate
        if agg == "count":
            return cond.sum().cast("int64")
        if agg == "days_since_last":
            return w.days_since(t.at.max(where=cond))
        if agg == "days_since_first":
            return w.days_since(t.at.min(where=cond))
        assert spec.column is not None
        column = t[spec.column]
        if agg == "count_distinct":
            return column.nunique(where=cond)
        method = {"sum": "sum", "avg": "mean", "min": "min", "max": "max"}[agg]
        return getattr(column, method)(where=cond)

    dtype = {"count": "int64", "count_distinct": "int64"}.get(spec.aggregate, "float64")
    default = 0 if dtype == "int64" else (0.0 if spec.aggregate == "sum" else None)
    return Measure(
        name,
        spec.description or f"{spec.aggregate} of {spec.behaviour} (declared in config).",
        dtype,
        spec.behaviour,
        build,
        spec.version,
        default,
        declaration=spec.model_dump(),
    )
