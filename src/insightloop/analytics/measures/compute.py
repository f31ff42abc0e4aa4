"""Computing the measures of every customer (or some) as of a date, in the engine.

One aggregation per behaviour table, grouped by customer, with the windows as conditional
aggregates; the results are joined onto the customers and the derived measures added on top.
Breakdowns (the top category and channel, contacts by channel and by reason) group by customer
and key first. Nothing is pulled into Python: the result is an Ibis expression.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from insightloop.analytics.activity import BEHAVIOURS, Activity
from insightloop.analytics.config import AnalyticsConfig
from insightloop.analytics.measures.catalogue import BUILT_IN, Measure, Window, custom_measure
from insightloop.errors import ConfigError
from insightloop.store import Engine

__all__ = ["BREAKDOWNS", "Breakdown", "all_measures", "as_of_end", "measures_expr", "newest_day"]


@dataclass(frozen=True)
class Breakdown:
    """A measure over the keys of one column: the top key, or counts per key as JSON."""

    name: str
    description: str
    behaviour: str
    key: str
    weight: str | None  # column summed to rank keys; None counts rows
    within_days: int | None
    output: str  # "top" (the key with most weight) or "json" ({"key": count, ...})

    @property
    def dtype(self) -> str:
        return "string"


BREAKDOWNS: tuple[Breakdown, ...] = (
    Breakdown(
        "top_category",
        "Category with the most spend.",
        "purchases",
        "category",
        "amount",
        None,
        "top",
    ),
    Breakdown(
        "top_channel", "Sales channel with the most orders.", "orders", "channel", None, None, "top"
    ),
    Breakdown(
        "contacts_by_channel_365d",
        "Contacts of the last 365 days per channel (JSON).",
        "contacts",
        "channel",
        None,
        365,
        "json",
    ),
    Breakdown(
        "contacts_by_reason_365d",
        "Contacts of the last 365 days per reason (JSON).",
        "contacts",
        "reason",
        None,
        365,
        "json",
    ),
)


def all_measures(config: AnalyticsConfig) -> tuple[Measure, ...]:
    """The built-in measures and those declared in ``[analytics.measures]``.

    Raises
    ------
    ConfigError
        When a declared measure takes the name of a built-in one.
    """
    built_in = {m.name for m in BUILT_IN} | {b.name for b in BREAKDOWNS}
    clash = sorted(set(config.measures) & built_in)
    if clash:
        raise ConfigError(
            f"analytics.measures: {', '.join(clash)} is the name of a built-in measure.",
            hint="Give the declared measure another name (docs/analytics.md lists the built-in "
            "ones).",
        )
    custom = [custom_measure(name, spec) for name, spec in config.measures.items()]
    # Declared measures aggregate a behaviour table, so they go before the derived ones.
    aggregates = [m for m in BUILT_IN if m.behaviour is not None]
    derived = [m for m in BUILT_IN if m.behaviour is None]
    return (*aggregates, *custom, *derived)


def as_of_end(as_of: date) -> datetime:
    """The first instant after the as-of day: rows before it count."""
    return datetime.combine(as_of + timedelta(days=1), time())


def newest_day(engine: Engine, acts: Activity) -> date | None:
    """The day of the newest order, event, contact or response (the default as-of date)."""
    found = []
    for b in ("orders", "events", "contacts", "feedback"):
        value = engine.execute(acts.get(b).at.max())
        if value is not None and not pd.isna(value):
            found.append(pd.Timestamp(value).date())
    return max(found) if found else None


def _check_columns(measures: Sequence[Measure], acts: Activity) -> None:
    for m in measures:
        if m.declaration is None or m.behaviour is None:
            continue
        columns = acts.get(m.behaviour).columns
        named = [*(m.declaration.get("where") or {}), m.declaration.get("column")]
        for column in (c for c in named if c is not None):
            if column not in columns:
                close = difflib.get_close_matches(column, columns, n=1)
                maybe = f" Did you mean '{close[0]}'?" if close else ""
                raise ConfigError(
                    f"analytics.measures.{m.name}: {m.behaviour} have no column '{column}'.{maybe}",
                    hint=f"The columns of {m.behaviour}: {', '.join(columns)}.",
                )


def _breakdown(b: Breakdown, t: ir.Table, window: Window) -> ir.Table:
    if b.within_days is not None:
        t = t.filter(window.within(t, b.within_days))
    t = t.filter(t[b.key].notnull())
    weight = t.count() if b.weight is None else t[b.weight].sum()
    per_key = t.group_by(["customer_id", t[b.key].name("_k")]).aggregate(_w=weight)
    if b.output == "top":
        # Ties go to the first key alphabetically, so the answer is the same on every engine.
        ranked = per_key.mutate(
            _r=ibis.row_number().over(
                group_by=per_key.customer_id, order_by=[ibis.desc(per_key._w), per_key._k]
            )
        )
        top = ranked.filter(ranked._r == 0)
        return top.select("customer_id", **{b.name: top._k})
    pair = (
        ibis.literal('"')
        + per_key._k.replace("\\", "\\\\").replace('"', '\\"')
        + '":'
        + per_key._w.cast("int64").cast("string")
    )
    keyed = per_key.mutate(_pair=pair)
    # Sorted after collecting ('"key":' sorts as the key does): Spark cannot order a collect.
    out = keyed.group_by("customer_id").aggregate(_pairs=keyed._pair.collect())
    return out.select("customer_id", **{b.name: "{" + out._pairs.sort().join(",") + "}"})


def measures_expr(
    engine: Engine,
    acts: Activity,
    config: AnalyticsConfig,
    *,
    as_of: date,
    customer_ids: Sequence[str] | None = None,
    measures: Sequence[Measure] | None = None,
) -> ir.Table:
    """One row per customer of the golden record with every measure as of ``as_of``.

    Only rows up to the end of the as-of day count (point-in-time correct); columns
    ``customer_id``, ``as_of``, then the measures in catalogue order, then the breakdowns.

    Raises
    ------
    ConfigError
        When a declared measure names a column its behaviour table does not have.
    """
    measures = tuple(measures if measures is not None else all_measures(config))
    _check_columns(measures, acts)
    window = Window(as_of_end(as_of), config)
    acts = acts.until(window.end)
    base = engine.table("customers").select("customer_id", "created_at")
    if customer_ids is not None:
        wanted = ibis.memtable(pa.table({"_id": pa.array(sorted(set(customer_ids)), pa.string())}))
        base = base.filter(base.customer_id.isin(wanted._id))
    joined = base
    for behaviour in BEHAVIOURS:
        these = [m for m in measures if m.behaviour == behaviour]
        if not these:
            continue
        t = acts.get(behaviour)
        per_customer = t.group_by(_cid=t.customer_id).aggregate(
            **{m.name: m.build(t, window) for m in these}
        )
        joined = joined.left_join(per_customer, joined.customer_id == per_customer._cid).drop(
            "_cid"
        )
    filled = {
        m.name: ibis.coalesce(joined[m.name], ibis.literal(m.default).cast(m.dtype))
        for m in measures
        if m.behaviour is not None and m.default is not None
    }
    joined = joined.mutate(**filled)
    for m in measures:
        if m.behaviour is None:
            joined = joined.mutate(**{m.name: m.build(joined, window).cast(m.dtype)})
    for b in BREAKDOWNS:
        part = _breakdown(b, acts.get(b.behaviour), window).rename(_bid="customer_id")
        joined = joined.left_join(part, joined.customer_id == part._bid).drop("_bid")
    # Money to the cent, days and ratios to four places: what a report shows, the same on
    # every engine.
    digits = {m.name: 2 if m.unit == "currency" else 4 for m in measures if m.dtype == "float64"}
    rounded = {name: joined[name].round(d) for name, d in digits.items()}
    names = [m.name for m in measures] + [b.name for b in BREAKDOWNS]
    return joined.mutate(**rounded).select("customer_id", *names, as_of=ibis.literal(as_of))
