"""The overview: the first page after signing in.

Customers, active customers, revenue and margin over time, value tiers and their shares, the
distribution of lifetime value, the lifecycle funnel, the largest segments and the data-quality
summary, filterable by period, country and channel. The figures come from
:func:`insightloop.analytics.overview.overview` (aggregated in the engine) and are kept for
:data:`CACHE_SECONDS` per filter combination, or until the next pipeline run.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from insightloop.analytics.config import analytics_config
from insightloop.analytics.cube import DEFAULT_MIN_GROUP_SIZE, CubeSources
from insightloop.analytics.overview import OverviewFilters, overview, overview_options
from insightloop.analytics.overview_snapshot import load_snapshot
from insightloop.auth import Principal
from insightloop.identity.config import identity_config
from insightloop.quality.dashboard import quality_summary
from insightloop.ui.charts import bar_chart, funnel_chart, histogram_chart, line_chart
from insightloop.ui.render import render
from insightloop.ui.security import page_user
from insightloop.ui.workspace import PageError, open_workspace

__all__ = ["CACHE_SECONDS", "router"]

router = APIRouter(include_in_schema=False)

#: How long the figures of one filter combination are reused (a pipeline run renews them).
CACHE_SECONDS = 60.0
_cache: dict[tuple[Any, ...], tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()
_MAX_ENTRIES = 256


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PageError(
            422, f"The {name} date {value!r} is not a date.", "Use YYYY-MM-DD."
        ) from None


def _figures(request: Request, filters: OverviewFilters, small: int) -> dict[str, Any]:
    with open_workspace(request) as ws:
        last = ws.runs(1)
        key = (str(ws.path), filters, small, last[0].run_id if last else None)
        now = time.monotonic()
        with _lock:
            kept = _cache.get(key)
        if kept is not None and now - kept[0] < CACHE_SECONDS:
            return kept[1]
        identity = identity_config(ws.settings.identity)
        config = analytics_config(ws.settings.analytics)
        # The last run computed the unfiltered figures and the filters' options (which the
        # filters do not change).
        ahead = load_snapshot(ws.layout.dashboard_dir, small, key[-1])
        if ahead is not None and filters == OverviewFilters():
            figures = {"overview": ahead.overview, "options": ahead.options}
        else:
            figures = {
                "overview": overview(ws.engine, identity, config, filters, min_group_size=small),
                "options": ahead.options
                if ahead is not None
                else overview_options(CubeSources(ws.engine, identity, config)),
            }
        figures["quality"] = quality_summary(ws.engine)
    with _lock:
        if len(_cache) >= _MAX_ENTRIES:
            _cache.clear()
        _cache[key] = (now, figures)
    return figures


def _charts(found: Any) -> dict[str, Any]:
    currency = found.currency
    charts: dict[str, Any] = {}
    if found.months:
        charts["revenue"] = line_chart(
            [m["period"] for m in found.months],
            {
                "Revenue": [m["revenue"] for m in found.months],
                "Margin": [m["margin"] for m in found.months],
            },
            title=f"Revenue and margin by month ({currency})",
            y_title=currency,
        )
    if found.tiers:
        tiers = [t["value_tier"] for t in found.tiers]
        charts["tiers"] = bar_chart(
            tiers,
            {
                "Customers": [t["share_customers"] for t in found.tiers],
                "Revenue (365 d)": [t["share_revenue_365d"] for t in found.tiers],
                "Gross margin (365 d)": [t["share_gross_margin_365d"] for t in found.tiers],
                "Profit (12 m)": [t["share_profit_12m"] for t in found.tiers],
            },
            title="Value tiers: shares of the whole",
            percent=True,
        )
    if found.clv_counts:
        charts["clv"] = histogram_chart(
            found.clv_edges, found.clv_counts, title=f"Lifetime value ({currency})",
            x_title=currency, y_title="customers",
        )  # fmt: skip
    if found.lifecycle:
        charts["lifecycle"] = funnel_chart(
            [s["stage"].replace("_", " ") for s in found.lifecycle],
            [s["customers"] for s in found.lifecycle],
            title="Lifecycle stages",
        )
    if found.segments:
        charts["segments"] = bar_chart(
            [s["segment"] for s in found.segments],
            {"Customers": [s["customers"] for s in found.segments]},
            title="Largest segments",
            horizontal=True,
        )
    return charts


@router.get("/", response_class=HTMLResponse)
def overview_page(
    request: Request,
    user: Annotated[Principal, Depends(page_user("profiles:read"))],
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    country: Annotated[str | None, Query(max_length=64)] = None,
    channel: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    filters = OverviewFilters(
        since=_day(since, "from"),
        until=_day(until, "to"),
        country=country or None,
        channel=channel or None,
    )
    small = 0 if user.can("pii:read") else DEFAULT_MIN_GROUP_SIZE
    figures = _figures(request, filters, small)
    found = figures["overview"]
    template = (
        "overview/figures.html" if request.headers.get("hx-request") else "overview/page.html"
    )
    return render(
        request, template, user, found=found, plots=_charts(found), options=figures["options"],
        quality=figures["quality"], filters=filters,
    )  # fmt: skip
