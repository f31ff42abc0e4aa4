"""What can be sliced: the measures and the dimensions of the cube.

Two kinds of measure:

- **customer measures** aggregate one row per customer of the customer attributes
  (:func:`insightloop.analytics.attributes.customer_attributes`), as of the measures' day:
  ``customers``, ``revenue_365d``, ``avg_clv``, ... and ``sum:<column>`` / ``avg:<column>`` of
  any numeric attribute. They split by customer dimensions only.
- **activity measures** aggregate the rows of one behaviour table
  (:mod:`insightloop.analytics.activity`): ``revenue`` (orders), ``units`` (purchases),
  ``contacts``, ``nps`` (feedback), ... They split by customer dimensions (joined on the
  customer) and by the behaviour's own dimensions: the ``period`` of the activity and, where
  the behaviour has them, ``channel``, ``category``, ``reason``, ...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

__all__ = [
    "ACTIVITY",
    "CUSTOMER",
    "CUSTOMER_SOURCE",
    "DIMENSIONS",
    "GENERIC_AGGREGATES",
    "MEASURES",
    "CubeDimension",
    "CubeMeasure",
    "Kind",
    "catalogue",
    "generic_measure",
]

Kind = Literal["customer", "activity"]
CUSTOMER: Kind = "customer"
ACTIVITY: Kind = "activity"
#: The source of customer measures (the behaviour tables are the sources of the others).
CUSTOMER_SOURCE = "customers"
#: The aggregates ``<aggregate>:<column>`` applies to a numeric customer attribute.
GENERIC_AGGREGATES = ("sum", "avg")

Aggregate = Callable[[ir.Table], ir.Value]


@dataclass(frozen=True)
class CubeMeasure:
    """One measure of the cube.

    ``source`` is ``"customers"`` for a customer measure, else the behaviour table it
    aggregates. ``unit`` ``"currency"`` stands for the reporting currency. ``additive``
    measures (counts and sums) are 0 for a group without rows; the others are empty.
    ``columns`` are the attribute columns a customer measure needs, ``needs`` says which step
    computes them.
    """

    name: str
    description: str
    unit: str
    source: str
    aggregate: Aggregate = field(repr=False, compare=False)
    dtype: Literal["int64", "float64"] = "float64"
    additive: bool = True
    columns: tuple[str, ...] = ()
    needs: str = "the measures"

    @property
    def kind(self) -> Kind:
        return CUSTOMER if self.source == CUSTOMER_SOURCE else ACTIVITY

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "unit": self.unit,
            "description": self.description,
        }


@dataclass(frozen=True)
class CubeDimension:
    """One dimension of the cube.

    A customer dimension is a column of the customer ``origin`` (``attributes``: the analysis
    tables; ``customers``: the golden record; ``segments``: current memberships). An activity
    dimension is a column of some behaviour tables: ``columns`` maps each behaviour to it.
    """

    name: str
    description: str
    kind: Kind
    origin: str = ""
    column: str = ""
    columns: Mapping[str, str] = field(default_factory=dict)
    needs: str = "the measures"

    def to_dict(self) -> dict[str, Any]:
        applies = sorted(self.columns) if self.kind == ACTIVITY else ["every measure"]
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "applies_to": applies,
        }


# -- measures -------------------------------------------------------------------------------


def _count(t: ir.Table) -> ir.Value:
    return t.count()


def _count_where(predicate: Callable[[ir.Table], ir.BooleanValue]) -> Aggregate:
    return lambda t: predicate(t).cast("int64").sum()


def _sum(column: str) -> Aggregate:
    return lambda t: t[column].cast("float64").sum()


def _avg(column: str) -> Aggregate:
    return lambda t: t[column].cast("float64").mean()


def _nps(t: ir.Table) -> ir.Value:
    # Net Promoter Score: % promoters (9-10) less % detractors (0-6) of those who answered.
    answered = t.nps.notnull().cast("int64").sum()
    promoters = (t.nps >= 9).cast("int64").sum()
    detractors = (t.nps <= 6).cast("int64").sum()
    return (100.0 * (promoters - detractors)) / answered.nullif(0).cast("float64")


def _margin(t: ir.Table) -> ir.Value:
    # A line whose product has no cost adds no cost (as the customer measures count it).
    return (t.amount - ibis.coalesce(t.cost, 0.0)).sum()


def _c(
    name: str,
    description: str,
    unit: str,
    aggregate: Aggregate,
    columns: tuple[str, ...],
    *,
    dtype: Literal["int64", "float64"] = "float64",
    additive: bool = True,
    needs: str = "the measures",
) -> CubeMeasure:
    return CubeMeasure(
        name, description, unit, CUSTOMER_SOURCE, aggregate, dtype, additive, columns, needs
    )


def _a(
    name: str,
    description: str,
    unit: str,
    source: str,
    aggregate: Aggregate,
    *,
    dtype: Literal["int64", "float64"] = "float64",
    additive: bool = True,
) -> CubeMeasure:
    return CubeMeasure(name, description, unit, source, aggregate, dtype, additive)


_CLV = "lifetime value (`insightloop run clv`)"

_CUSTOMER_MEASURES = (
    _c("customers", "Customers.", "customers", _count, (), dtype="int64"),
    _c(
        "active_customers",
        "Customers with an order in the last 365 days.",
        "customers",
        _count_where(lambda t: t.orders_365d > 0),
        ("orders_365d",),
        dtype="int64",
    ),
    _c("revenue_365d", "Amount ordered in the last 365 days.", "currency",
       _sum("revenue_365d"), ("revenue_365d",)),
    _c("gross_margin_365d", "Revenue less returns and the cost of goods kept, last 365 days.",
       "currency", _sum("gross_margin_365d"), ("gross_margin_365d",)),
    _c("cost_to_serve_365d", "Cost of the contacts of the last 365 days.", "currency",
       _sum("cost_to_serve_365d"), ("cost_to_serve_365d",)),
    _c("profit_12m", "Gross margin less cost to serve, last 365 days.", "currency",
       _sum("profit_12m"), ("profit_12m",)),
    _c("avg_profit_12m", "Average 12-month profit per customer.", "currency",
       _avg("profit_12m"), ("profit_12m",), additive=False),
    _c("avg_revenue_365d", "Average amount ordered in the last 365 days per customer.",
       "currency", _avg("revenue_365d"), ("revenue_365d",), additive=False),
    _c("avg_recency_days", "Average days since the latest order (customers who ordered).",
       "days", _avg("recency_days"), ("recency_days",), additive=False),
    _c("avg_tenure_days", "Average days since the customer was first seen.", "days",
       _avg("tenure_days"), ("tenure_days",), additive=False),
    _c("total_clv", "Sum of the customers' lifetime value.", "currency", _sum("clv"),
       ("clv",), needs=_CLV),
    _c("avg_clv", "Average lifetime value per customer.", "currency", _avg("clv"), ("clv",),
       additive=False, needs=_CLV),
    _c("avg_p_alive", "Average probability that the customer is still active.", "probability",
       _avg("p_alive"), ("p_alive",), additive=False, needs=_CLV),
)  # fmt: skip

_ACTIVITY_MEASURES = (
    _a("revenue", "Amount ordered (order totals).", "currency", "orders", _sum("amount")),
    _a("orders", "Orders placed (not cancelled).", "orders", "orders", _count, dtype="int64"),
    _a("avg_order_value", "Average amount per order.", "currency", "orders", _avg("amount"),
       additive=False),
    _a("buyers", "Customers who ordered.", "customers", "orders",
       lambda t: t.customer_id.nunique(), dtype="int64"),
    _a("discounts", "Discounts granted.", "currency", "orders", _sum("discount")),
    _a("returns", "Value of the goods returned.", "currency", "orders", _sum("returned")),
    _a("units", "Units bought (order lines).", "units", "purchases",
       lambda t: t.quantity.sum(), dtype="int64"),
    _a("sales", "Amount of the order lines (splits by product category, unlike revenue).",
       "currency", "purchases", _sum("amount")),
    _a("margin", "Amount of the order lines less the cost of the goods (before returns).",
       "currency", "purchases", _margin),
    _a("returned_units", "Units returned.", "units", "purchases",
       lambda t: t.returned_quantity.sum(), dtype="int64"),
    _a("contacts", "Contact-centre interactions.", "contacts", "contacts", _count,
       dtype="int64"),
    _a("contact_minutes", "Minutes of contact-centre interactions.", "minutes", "contacts",
       lambda t: t.duration_seconds.cast("float64").sum() / 60.0),
    _a("avg_contact_minutes", "Average minutes per interaction (with a duration).", "minutes",
       "contacts", lambda t: t.duration_seconds.cast("float64").mean() / 60.0, additive=False),
    _a("unresolved_contacts", "Interactions not resolved at once.", "contacts", "contacts",
       _count_where(lambda t: t.resolved == ibis.literal(False)), dtype="int64"),
    _a("responses", "Survey responses.", "responses", "feedback", _count, dtype="int64"),
    _a("nps", "Net Promoter Score: % promoters (9-10) less % detractors (0-6).", "points",
       "feedback", _nps, additive=False),
    _a("avg_csat", "Average satisfaction (1-5).", "score", "feedback", _avg("csat"),
       additive=False),
    _a("avg_ces", "Average customer effort score.", "score", "feedback", _avg("ces"),
       additive=False),
    _a("campaign_members", "Campaign memberships (treatment and control).", "members",
       "campaigns", _count, dtype="int64"),
    _a("campaign_responses", "Campaign memberships that responded.", "responses", "campaigns",
       _count_where(lambda t: t.responded == ibis.literal(True)), dtype="int64"),
    _a("response_rate", "Share of campaign memberships that responded.", "share", "campaigns",
       lambda t: ibis.coalesce(t.responded, False).cast("float64").mean(), additive=False),
    _a("events", "Web and app events.", "events", "events", _count, dtype="int64"),
)  # fmt: skip

#: Every named measure, by name.
MEASURES: Mapping[str, CubeMeasure] = MappingProxyType(
    {m.name: m for m in (*_CUSTOMER_MEASURES, *_ACTIVITY_MEASURES)}
)


def generic_measure(aggregate: str, column: str, unit: str = "") -> CubeMeasure:
    """``sum:<column>`` or ``avg:<column>`` of a numeric customer attribute."""
    if aggregate not in GENERIC_AGGREGATES:
        raise ValueError(aggregate)
    verb = "Sum" if aggregate == "sum" else "Average"
    return _c(
        f"{aggregate}:{column}",
        f"{verb} of the customer attribute {column}.",
        unit,
        _sum(column) if aggregate == "sum" else _avg(column),
        (column,),
        additive=aggregate == "sum",
    )


# -- dimensions -----------------------------------------------------------------------------

_ALL = ("orders", "purchases", "events", "contacts", "feedback", "campaigns")


def _cust(name: str, description: str, origin: str, needs: str = "the measures") -> CubeDimension:
    return CubeDimension(name, description, CUSTOMER, origin=origin, column=name, needs=needs)


def _act(name: str, description: str, columns: Mapping[str, str]) -> CubeDimension:
    return CubeDimension(name, description, ACTIVITY, columns=MappingProxyType(dict(columns)))


_DIMENSIONS = (
    _cust("value_tier", "The customer's value tier.", "attributes"),
    _cust("lifecycle_stage", "The customer's lifecycle stage.", "attributes",
          needs="the lifecycle stages (`insightloop run lifecycle`)"),
    _cust("persona", "The customer's persona.", "attributes",
          needs="the personas (`insightloop run personas`)"),
    _cust("rfm_score", "The customer's RFM score, e.g. 545.", "attributes"),
    _cust("top_channel", "The sales channel the customer ordered most in.", "attributes"),
    _cust("top_category", "The product category the customer spent most on.", "attributes"),
    _cust("country", "The customer's country (golden record).", "customers"),
    _cust("city", "The customer's city (golden record).", "customers"),
    _cust("language", "The customer's preferred language (golden record).", "customers"),
    _cust("segment", "A segment the customer is in now (a customer in two counts in both).",
          "segments", needs="segments (`insightloop segments create`, then `insightloop run`)"),
    _act("period", "The day, week, month, quarter or year of the activity (start day).",
         dict.fromkeys(_ALL, "at")),
    _act("channel", "Sales channel of the order, or channel of the contact.",
         {"orders": "channel", "purchases": "channel", "contacts": "channel"}),
    _act("store", "Store of a store order.", {"orders": "store_id"}),
    _act("category", "Product category bought (or viewed, for events).",
         {"purchases": "category", "events": "category"}),
    _act("reason", "Reason of the contact.", {"contacts": "reason"}),
    _act("direction", "Inbound or outbound contact.", {"contacts": "direction"}),
    _act("survey_type", "Type of survey answered.", {"feedback": "survey_type"}),
    _act("campaign", "Campaign.", {"campaigns": "campaign_id"}),
    _act("campaign_group", "Treatment or control group of the campaign.",
         {"campaigns": "group_name"}),
)  # fmt: skip

#: Every dimension, by name.
DIMENSIONS: Mapping[str, CubeDimension] = MappingProxyType({d.name: d for d in _DIMENSIONS})


def catalogue(currency: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """The measures and dimensions with their descriptions (what ``--list`` shows).

    Examples
    --------
    >>> cat = catalogue("EUR")
    >>> next(m for m in cat["measures"] if m["name"] == "revenue")["unit"]
    'EUR'
    >>> "segment" in [d["name"] for d in cat["dimensions"]]
    True
    """
    measures = []
    for m in MEASURES.values():
        entry = m.to_dict()
        if currency and entry["unit"] == "currency":
            entry["unit"] = currency
        measures.append(entry)
    return {"measures": measures, "dimensions": [d.to_dict() for d in DIMENSIONS.values()]}
