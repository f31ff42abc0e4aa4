"""The figures of the dashboard's overview, aggregated in the engine.

One call, :func:`overview`, answers the questions of the first page: how many customers, how
many of them active, revenue and margin over time, the value tiers and their shares, the
distribution of lifetime value, the lifecycle funnel and the largest segments, under filters by
period, country and channel. Every figure is a slicing query (:mod:`insightloop.analytics.cube`)
or one engine aggregation (the CLV histogram); no customer row reaches Python.

Filters apply as far as they can: the period selects the activity (orders and order lines); the
country is the golden record's; the channel selects orders and order lines of that sales channel,
and customers whose main channel (``top_channel``) it is for the figures about customers (tiers,
lifetime value, lifecycle, segments), which are as of the measures' day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from insightloop.analytics.config import AnalyticsConfig
from insightloop.analytics.cube import CubeSources, Filter, Query, QueryError, run_query
from insightloop.identity.config import IdentityConfig
from insightloop.store import Engine

__all__ = ["LIFECYCLE_ORDER", "Overview", "OverviewFilters", "overview", "overview_options"]

#: The lifecycle stages in the order of the funnel.
LIFECYCLE_ORDER = ("prospect", "new", "active", "at_risk", "lapsed", "won_back")
_TIER_ORDER = {"top": 0, "middle": 1, "base": 2}
#: What the tiers compare (each with its share of the whole).
_TIER_MEASURES = ("customers", "revenue_365d", "gross_margin_365d", "profit_12m")


@dataclass(frozen=True)
class OverviewFilters:
    """What the overview is restricted to (``None``: everything)."""

    since: date | None = None
    until: date | None = None
    country: str | None = None
    channel: str | None = None

    def customer_filters(self) -> list[Filter]:
        found = []
        if self.country:
            found.append(Filter(dimension="country", op="eq", value=self.country))
        if self.channel:
            found.append(Filter(dimension="top_channel", op="eq", value=self.channel))
        return found

    def activity_filters(self) -> list[Filter]:
        found = []
        if self.country:
            found.append(Filter(dimension="country", op="eq", value=self.country))
        if self.channel:
            found.append(Filter(dimension="channel", op="eq", value=self.channel))
        return found


@dataclass
class Overview:
    """The overview's figures (money in ``currency``; customer figures as of ``as_of``).

    Attributes
    ----------
    kpis
        ``customers``, ``active_customers`` (ordered in the last 365 days), ``total_clv``,
        ``avg_p_alive`` (customer figures), and ``revenue``, ``margin``, ``orders``, ``buyers``
        of the period.
    months
        Per month of the period: ``period`` (first day), ``revenue``, ``margin``, ``orders``.
    tiers
        Per value tier: ``value_tier``, ``customers``, ``revenue_365d``, ``gross_margin_365d``,
        ``profit_12m`` and each one's ``share_...`` of the whole.
    clv_edges, clv_counts
        The histogram of customers' lifetime value (``len(edges) == len(counts) + 1``); values
        above the 99th percentile count in the last bin.
    lifecycle
        Customers per lifecycle stage, in :data:`LIFECYCLE_ORDER`.
    segments
        The largest segments: ``segment`` and ``customers`` (largest first).
    missing
        What has not been computed yet, each with the command that computes it.
    """

    filters: OverviewFilters
    currency: str
    as_of: date | None = None
    kpis: dict[str, float | int | None] = field(default_factory=dict)
    months: list[dict[str, Any]] = field(default_factory=list)
    tiers: list[dict[str, Any]] = field(default_factory=list)
    clv_edges: list[float] = field(default_factory=list)
    clv_counts: list[int] = field(default_factory=list)
    lifecycle: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _query(**fields: Any) -> Query:
    return Query.model_validate(fields)


def _run(
    sources: CubeSources, query: Query, min_group_size: int, *, totals: bool = True
) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    try:
        result = run_query(
            sources.engine,
            query,
            identity=sources.identity,
            config=sources.config,
            min_group_size=min_group_size,
            sources=sources,
            with_sql=False,
            with_totals=totals,
        )
    except QueryError:
        return None  # the step that computes it has not run: reported in `missing`
    return result.rows, result.totals


def overview(
    engine: Engine,
    identity: IdentityConfig,
    config: AnalyticsConfig,
    filters: OverviewFilters | None = None,
    *,
    min_group_size: int = 0,
    clv_bins: int = 20,
    top_segments: int = 8,
) -> Overview:
    """Every figure of the overview under ``filters``.

    Parameters
    ----------
    min_group_size
        Small-cell suppression as in :func:`~insightloop.analytics.cube.run_query`: a figure
        from fewer customers is empty (for roles that may not see personal data).
    """
    filters = filters or OverviewFilters()
    sources = CubeSources(engine, identity, config)
    found = Overview(filters=filters, currency=config.currency, as_of=sources.as_of)
    if not sources.attributes_computed:
        found.missing.append("customer measures: run `insightloop run measures`")
    cust = filters.customer_filters() if sources.attributes_computed else []
    if not sources.attributes_computed and filters.country:
        cust = [Filter(dimension="country", op="eq", value=filters.country)]

    kpi_measures = ["customers"]
    if sources.attributes_computed:
        # The tiers' measures too: their totals are the tiers' shares' wholes.
        schema = sources.customer_schema()
        kpi_measures += ["active_customers", *(m for m in _TIER_MEASURES[1:] if m in schema)]
        if "clv" in sources.customer_schema():
            kpi_measures += ["total_clv", "avg_p_alive"]
    answer = _run(sources, _query(measures=kpi_measures, filters=cust), min_group_size)
    wholes = answer[1] if answer is not None else {}
    if answer is not None:
        found.kpis.update({m: wholes.get(m) for m in kpi_measures if m not in _TIER_MEASURES[1:]})

    activity = _query(
        measures=["revenue", "margin", "orders", "buyers"],
        by=["period"],
        period="month",
        since=filters.since,
        until=filters.until,
        filters=filters.activity_filters(),
        limit=1000,
    )
    answer = _run(sources, activity, min_group_size)
    if answer is not None:
        rows, totals = answer
        found.months = [
            {k: r.get(k) for k in ("period", "revenue", "margin", "orders")} for r in rows
        ]
        found.kpis.update({m: totals.get(m) for m in ("revenue", "margin", "orders", "buyers")})

    if sources.attributes_computed:
        found.tiers = _tiers(sources, cust, min_group_size, wholes)
        found.lifecycle = _lifecycle(sources, cust, min_group_size, found.missing)
        found.segments = _segments(sources, cust, min_group_size, top_segments)
    if "clv" in sources.customer_schema():
        found.clv_edges, found.clv_counts = clv_histogram(sources, filters, bins=clv_bins)
    elif sources.attributes_computed:
        found.missing.append("lifetime value: run `insightloop run clv`")
    return found


def _tiers(
    sources: CubeSources, cust: list[Filter], size: int, wholes: dict[str, Any]
) -> list[dict[str, Any]]:
    """The tiers' rows with their shares of ``wholes`` (the same measures without dimensions,
    under the same filters: the overview's KPI query computes them)."""
    query = _query(measures=list(_TIER_MEASURES), by=["value_tier"], filters=cust)
    answer = _run(sources, query, size, totals=False)
    if answer is None:
        return []
    rows = sorted(answer[0], key=lambda r: _TIER_ORDER.get(str(r["value_tier"]), 9))
    for row in rows:
        for m in _TIER_MEASURES:
            whole, part = wholes.get(m), row.get(m)
            row[f"share_{m}"] = part / whole if whole and part is not None else None
    return rows


def _lifecycle(
    sources: CubeSources, cust: list[Filter], size: int, missing: list[str]
) -> list[dict[str, Any]]:
    query = _query(measures=["customers"], by=["lifecycle_stage"], filters=cust)
    answer = _run(sources, query, size, totals=False)
    if answer is None:
        missing.append("lifecycle stages: run `insightloop run lifecycle`")
        return []
    # A stage without customers is 0; a suppressed one stays empty (None).
    counts = {r["lifecycle_stage"]: r["customers"] for r in answer[0]}
    return [{"stage": s, "customers": counts.get(s, 0)} for s in LIFECYCLE_ORDER]


def _segments(
    sources: CubeSources, cust: list[Filter], size: int, top: int
) -> list[dict[str, Any]]:
    if sources.segments is None:
        return []
    query = _query(measures=["customers"], by=["segment"], filters=cust, order="customers")
    answer = _run(sources, query, size, totals=False)
    if answer is None:
        return []
    rows = [r for r in answer[0] if r.get("segment")]
    rows.sort(key=lambda r: -(r.get("customers") or 0))
    return rows[:top]


def clv_histogram(
    sources: CubeSources, filters: OverviewFilters, *, bins: int = 20
) -> tuple[list[float], list[int]]:
    """Customers by lifetime value in ``bins`` equal bins from 0 to the 99th percentile (the
    last bin also holds the values above it); two small engine queries."""
    if "clv" not in sources.customer_schema():
        return [], []
    customers = sources.customers_with(("clv", "country", "top_channel"))
    assert customers is not None
    t = customers.filter(customers.clv.notnull())
    if filters.country:
        t = t.filter(t.country == filters.country)
    if filters.channel and "top_channel" in t.columns:
        t = t.filter(t.top_channel == filters.channel)
    top = sources.engine.execute(t.clv.quantile(0.99))
    if top is None or (isinstance(top, float) and math.isnan(top)) or float(top) <= 0:
        return [], []
    width = float(top) / bins
    index = ibis.least(ibis.greatest((t.clv / width).floor().cast("int64"), 0), bins - 1)
    counted: ir.Table = t.mutate(_bin=index).group_by("_bin").aggregate(n=ibis._.count())
    got = {int(r["_bin"]): int(r["n"]) for r in sources.engine.records(counted)}
    return [width * i for i in range(bins + 1)], [got.get(i, 0) for i in range(bins)]


def overview_options(sources: CubeSources, *, limit: int = 50) -> dict[str, list[str]]:
    """The countries (most customers first) and sales channels to offer as filters."""
    options: dict[str, list[str]] = {"countries": [], "channels": []}
    customers = sources.customers_with(("country",))
    if customers is not None and "country" in customers.columns:
        by = (
            customers.filter(customers.country.notnull())
            .group_by("country")
            .aggregate(n=ibis._.count())
            .order_by(ibis.desc("n"))
            .limit(limit)
        )
        options["countries"] = [str(r["country"]) for r in sources.engine.records(by)]
    engine = sources.engine
    orders = engine.table("orders") if engine.has_table("orders") else None
    if orders is not None and "channel" in orders.columns:
        channels = orders.filter(orders.channel.notnull()).select("channel").distinct()
        options["channels"] = sorted(str(r["channel"]) for r in sources.engine.records(channels))
    return options
