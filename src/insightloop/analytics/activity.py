"""What each customer did, as engine tables: orders, purchases, events, contacts and so on.

Each table has ``customer_id`` (rows no customer could be found for are left out), ``at`` (UTC
timestamp of the touchpoint) and the columns measures, segments and slicing filter on. Amounts are
converted to the reporting currency (``[analytics] currency`` and ``exchange_rates``); an amount
in a currency without a rate is null, and :func:`unconverted_currencies` names such currencies.

These are the one definition of "a customer's orders" (and so on) that every analysis uses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from insightloop.analytics.config import AnalyticsConfig
from insightloop.identity.config import IdentityConfig
from insightloop.profile.timeline import rows_with_customer
from insightloop.store import Engine
from insightloop.store.text import trim

__all__ = [
    "BEHAVIOURS",
    "CANCELLED",
    "Activity",
    "activity",
    "newest_data_day",
    "purchases_of",
    "unconverted_currencies",
]

#: Order statuses that do not count as purchases.
CANCELLED = ("cancelled", "canceled", "void", "voided", "failed", "rejected")

#: The behaviour tables, in the order measures and segments list them.
BEHAVIOURS = ("orders", "purchases", "events", "contacts", "feedback", "campaigns")


def _rates(config: AnalyticsConfig) -> ir.Table:
    rates = {config.currency: 1.0, **config.exchange_rates}
    return ibis.memtable(
        pa.table(
            {
                "_cur": pa.array(list(rates), pa.string()),
                "_rate": pa.array(list(rates.values()), pa.float64()),
            }
        )
    )


def _with_rate(t: ir.Table, currency: ir.StringValue, config: AnalyticsConfig) -> ir.Table:
    rates = _rates(config)
    return t.left_join(rates, trim(currency).upper() == rates._cur).drop("_cur")


def _rows(
    engine: Engine, identity: IdentityConfig, table: str, values: Sequence[str] | None
) -> ir.Table:
    return rows_with_customer(engine, identity, table, values)


def _orders(
    engine: Engine, identity: IdentityConfig, config: AnalyticsConfig, values: Sequence[str] | None
) -> ir.Table:
    o = _rows(engine, identity, "orders", values)
    o = o.filter(o.customer_id.notnull() & o.ordered_at.notnull())
    status = o.status.lower()
    o = o.filter(status.isnull() | ~status.isin(CANCELLED))
    items = engine.table("order_items")
    line = ibis.coalesce(items.line_amount, items.quantity * items.unit_price)
    returned = line * items.returned_quantity / items.quantity.nullif(0)
    totals = items.group_by(_oid=items.order_id).aggregate(
        _lines=line.sum(),
        _line_discount=items.discount_amount.sum(),
        _line_returned=returned.sum(),
    )
    o = o.left_join(totals, o.order_id == totals._oid).drop("_oid")
    o = _with_rate(o, o.currency, config)
    # One row per order even when a source delivered an order twice with different details.
    per_order = o.group_by(["customer_id", "_source", "order_id"]).aggregate(
        at=o.ordered_at.min(),
        channel=o.channel.max(),
        store_id=o.store_id.max(),
        currency=o.currency.max(),
        status=o.status.max(),
        amount=(ibis.coalesce(o.total_amount, o._lines).cast("float64") * o._rate).max(),
        # The order's own discount and returned value, else the sums of its lines' (tills and
        # web shops often give them per line only).
        discount=(
            ibis.coalesce(o.discount_amount, o._line_discount).cast("float64") * o._rate
        ).max(),
        returned=(
            ibis.coalesce(o.returned_amount, o._line_returned).cast("float64") * o._rate
        ).max(),
        late=(o.delivered_at > o.promised_delivery_at).any(),
    )
    return per_order.drop("_source")


def purchases_of(orders: ir.Table, engine: Engine, config: AnalyticsConfig) -> ir.Table:
    """The order lines of ``orders`` (the ``orders`` behaviour table, or a copy of it)."""
    items = engine.table("order_items")
    p = engine.table("products")
    newest = p.group_by(_sku=p.sku).aggregate(
        category=p.category.argmax(p._loaded_at),
        _cost=p.unit_cost.argmax(p._loaded_at),
        _pcur=p.currency.argmax(p._loaded_at),
    )
    prates = _rates(config).rename(_pcur2="_cur", _prate="_rate")
    newest = newest.left_join(prates, trim(newest._pcur).upper() == prates._pcur2).drop("_pcur2")
    o = orders.select("customer_id", "order_id", "at", "channel", "currency")
    o = _with_rate(o, o.currency, config)
    j = items.inner_join(o, items.order_id == o.order_id)
    j = j.left_join(newest, j.sku == newest._sku)
    line = ibis.coalesce(j.line_amount, j.quantity * j.unit_price)
    returned = ibis.coalesce(j.returned_quantity, 0)
    return j.select(
        "customer_id",
        "at",
        "order_id",
        "sku",
        "category",
        "channel",
        quantity=j.quantity,
        amount=line.cast("float64") * j._rate,
        discount=j.discount_amount.cast("float64") * j._rate,
        cost=j.quantity.cast("float64") * j._cost.cast("float64") * j._prate,
        returned_quantity=returned,
    )


def _events(engine: Engine, identity: IdentityConfig, values: Sequence[str] | None) -> ir.Table:
    e = _rows(engine, identity, "events", values)
    e = e.filter(e.customer_id.notnull() & e.timestamp.notnull())
    # A regular expression, not a JSON function: the same on DuckDB and Spark.
    category = e.properties.re_extract(r'"category"\s*:\s*"([^"\\]*)"', 1)
    return e.select(
        "customer_id",
        at=e.timestamp,
        type=e.type,
        event=e.event,
        name=e.name,
        category=category.nullif(""),
    )


def _contacts(engine: Engine, identity: IdentityConfig, values: Sequence[str] | None) -> ir.Table:
    c = _rows(engine, identity, "interactions", values)
    c = c.filter(c.customer_id.notnull() & c.started_at.notnull())
    return c.select(
        "customer_id",
        "interaction_id",
        "channel",
        "reason",
        "direction",
        "resolved",
        "duration_seconds",
        at=c.started_at,
    )


def _feedback(engine: Engine, identity: IdentityConfig, values: Sequence[str] | None) -> ir.Table:
    f = _rows(engine, identity, "feedback", values)
    f = f.filter(f.customer_id.notnull() & f.responded_at.notnull())
    return f.select(
        "customer_id", "response_id", "survey_type", "nps", "csat", "ces", at=f.responded_at
    )


def _campaigns(engine: Engine, identity: IdentityConfig, values: Sequence[str] | None) -> ir.Table:
    m = _rows(engine, identity, "campaign_members", values)
    m = m.filter(m.customer_id.notnull())
    at = ibis.coalesce(m.sent_at, m.assigned_at)
    m = m.filter(at.notnull())
    return m.select("customer_id", "campaign_id", "group_name", "responded", "responded_at", at=at)


class Activity:
    """The behaviour tables of a workspace (see the module docstring for their columns).

    Each table is given as an expression or as a function that builds one; a function runs on
    the table's first use, so a caller that reads only the orders never builds the rest (building
    an expression that attaches customers to events takes as long as some queries run).
    """

    def __init__(self, **tables: ir.Table | Callable[[], ir.Table]) -> None:
        unknown = sorted(set(tables) - set(BEHAVIOURS))
        missing = [b for b in BEHAVIOURS if b not in tables]
        if unknown or missing:
            raise TypeError(
                f"Activity needs exactly {BEHAVIOURS}; unknown {unknown}, missing {missing}"
            )
        self._given = tables
        self._built: dict[str, ir.Table] = {}

    def get(self, behaviour: str) -> ir.Table:
        if behaviour not in BEHAVIOURS:
            raise KeyError(behaviour)
        if behaviour not in self._built:
            given = self._given[behaviour]
            self._built[behaviour] = given if isinstance(given, ir.Table) else given()
        return self._built[behaviour]

    @property
    def orders(self) -> ir.Table:
        return self.get("orders")

    @property
    def purchases(self) -> ir.Table:
        return self.get("purchases")

    @property
    def events(self) -> ir.Table:
        return self.get("events")

    @property
    def contacts(self) -> ir.Table:
        return self.get("contacts")

    @property
    def feedback(self) -> ir.Table:
        return self.get("feedback")

    @property
    def campaigns(self) -> ir.Table:
        return self.get("campaigns")

    def replace(self, **tables: ir.Table) -> Activity:
        """The same tables, with those given replaced (the others still built on first use,
        once for both)."""
        kept = {b: functools.partial(self.get, b) for b in BEHAVIOURS if b not in tables}
        return Activity(**kept, **tables)

    def until(self, end: ir.TimestampValue | object) -> Activity:
        """The same tables with only the rows before ``end`` (point in time)."""

        def cut(behaviour: str) -> Callable[[], ir.Table]:
            return lambda: (t := self.get(behaviour)).filter(t.at < end)

        return Activity(**{b: cut(b) for b in BEHAVIOURS})


def activity(
    engine: Engine,
    identity: IdentityConfig,
    config: AnalyticsConfig,
    values: Sequence[str] | None = None,
    *,
    sales: tuple[ir.Table, ir.Table] | None = None,
) -> Activity:
    """The behaviour tables of the workspace behind ``engine``.

    ``values``: when given, only rows carrying one of these identifier values (the identifiers of
    the customers a refresh is for) are read, which the engine checks before the joins.
    ``sales``: the orders and order lines to use as they are (the ``activity`` step's tables)
    instead of building them.

    Examples
    --------
    >>> import tempfile
    >>> from insightloop import Workspace
    >>> from insightloop.analytics.config import analytics_config
    >>> from insightloop.identity.config import identity_config
    >>> ws = Workspace.init(tempfile.mkdtemp() + "/ws")
    >>> acts = activity(ws.engine, identity_config({}), analytics_config({}))
    >>> sorted(acts.orders.columns)[:4]
    ['amount', 'at', 'channel', 'currency']
    >>> ws.close()
    """
    if sales is not None:
        orders: ir.Table | Callable[[], ir.Table] = sales[0]
        purchases: ir.Table | Callable[[], ir.Table] = sales[1]
    else:
        built = functools.cache(lambda: _orders(engine, identity, config, values))
        orders = built
        purchases = lambda: purchases_of(built(), engine, config)  # noqa: E731
    return Activity(
        orders=orders,
        purchases=purchases,
        events=lambda: _events(engine, identity, values),
        contacts=lambda: _contacts(engine, identity, values),
        feedback=lambda: _feedback(engine, identity, values),
        campaigns=lambda: _campaigns(engine, identity, values),
    )


#: The time column of each table whose newest row dates the data.
_DATED = {"orders": "ordered_at", "events": "timestamp", "interactions": "started_at",
          "feedback": "responded_at"}  # fmt: skip


def newest_data_day(engine: Engine) -> date | None:
    """The day of the newest order, event, contact or survey response in the workspace (a
    column maximum each: no customer look-up)."""
    found = []
    for table, column in _DATED.items():
        value = engine.execute(engine.table(table)[column].max())
        if value is not None and not pd.isna(value):
            found.append(pd.Timestamp(value).date())
    return max(found) if found else None


def unconverted_currencies(engine: Engine, config: AnalyticsConfig) -> dict[str, int]:
    """Currencies of orders that have no exchange rate, with how many orders use each."""
    o = engine.table("orders")
    cur = trim(o.currency).upper()
    known = [config.currency, *config.exchange_rates]
    listed = o.select(c=cur).filter(lambda t: t.c.notnull() & ~t.c.isin(known))
    missing = listed.group_by("c").aggregate(n=listed.count())
    return {r["c"]: int(r["n"]) for r in engine.records(missing)}
