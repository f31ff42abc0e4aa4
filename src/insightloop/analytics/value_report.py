"""The value tiers side by side: each tier's customers, revenue, gross margin, 12-month profit
and lifetime value with their shares of the whole, and the mix of lifecycle stages in each tier.

Everything is aggregated in the engine, in one query over ``customer_measures`` with the
lifetime value and lifecycle stage joined: customers, sums and counts per tier and stage. Only
those few rows come into Python, where a tier is the sum of its stages and an average the sum
over the count (exactly the engine's average). Small-cell suppression hides, as slicing does
(:mod:`insightloop.analytics.cube`), every figure computed from fewer than ``min_group_size``
customers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from insightloop.analytics.attributes import CLV_TABLE, LIFECYCLE_TABLE
from insightloop.analytics.config import AnalyticsConfig
from insightloop.analytics.lifecycle import STAGES
from insightloop.analytics.measures import MEASURES_TABLE
from insightloop.store import Engine

__all__ = ["StageCell", "TierFigures", "TierReport", "tier_report"]

#: The additive figures of a tier, with the column of ``customer_measures`` each adds up.
_SUMS = {"revenue": "revenue_365d", "gross_margin": "gross_margin_365d", "profit": "profit_12m"}
#: The lifetime-value columns of ``customer_clv`` the tiers sum and average.
_CLV_COLUMNS = ("clv", "p_alive")


@dataclass(frozen=True)
class TierFigures:
    """One tier (or the whole base, ``tier`` None): its figures and their shares of the whole.

    Money is in the reporting currency, over the 365 days up to the measures' day. The lifetime
    value figures are None before the ``clv`` step. ``suppressed``: fewer than the minimum group
    size of customers, so every figure is None.
    """

    tier: str | None
    customers: int | None
    revenue: float | None
    gross_margin: float | None
    profit: float | None
    total_clv: float | None = None
    avg_clv: float | None = None
    avg_p_alive: float | None = None
    customers_share: float | None = None
    revenue_share: float | None = None
    gross_margin_share: float | None = None
    profit_share: float | None = None
    clv_share: float | None = None
    suppressed: bool = False


@dataclass(frozen=True)
class StageCell:
    """Customers of one tier in one lifecycle stage, and their share of the tier."""

    tier: str
    stage: str
    customers: int | None
    share: float | None
    suppressed: bool = False


@dataclass(frozen=True)
class TierReport:
    """The tiers in their configured order, the whole base, and the stage mix per tier.

    ``stages`` lists the lifecycle stages (known ones in lifecycle order, then any other); it is
    empty, like ``mix``, before the ``lifecycle`` step. ``has_clv`` is false before the ``clv``
    step.
    """

    tiers: tuple[TierFigures, ...]
    totals: TierFigures
    tier_measure: str
    currency: str
    as_of: date | None
    has_clv: bool
    stages: tuple[str, ...]
    mix: tuple[StageCell, ...]
    min_group_size: int

    def cell(self, tier: str, stage: str) -> StageCell | None:
        """The customers of ``tier`` in ``stage`` (None when there are none)."""
        return next((c for c in self.mix if c.tier == tier and c.stage == stage), None)


def _cells_expr(engine: Engine) -> ir.Table | None:
    """Customers per tier and lifecycle stage with the sums and counts every figure is made of
    (one row per tier and stage; the stage is None before the lifecycle step)."""
    if not engine.has_table(MEASURES_TABLE):
        return None
    # Only the columns the figures need: the customer attributes have dozens, and joining them
    # all costs more than the aggregation.
    t = engine.table(MEASURES_TABLE).select("customer_id", "value_tier", "as_of", *_SUMS.values())
    if engine.has_table(CLV_TABLE):
        clv = engine.table(CLV_TABLE).select(*_CLV_COLUMNS, _k=ibis._.customer_id)
        t = t.left_join(clv, t.customer_id == clv._k).drop("_k")
    if engine.has_table(LIFECYCLE_TABLE):
        life = engine.table(LIFECYCLE_TABLE).select("lifecycle_stage", _k=ibis._.customer_id)
        t = t.left_join(life, t.customer_id == life._k).drop("_k")
    stage = t.lifecycle_stage if "lifecycle_stage" in t.columns else ibis.null("string")
    metrics: dict[str, ir.Value] = {"customers": t.count(), "as_of": t.as_of.max()}
    metrics.update({k: t[c].cast("float64").sum() for k, c in _SUMS.items()})
    if "clv" in t.columns:
        for c in _CLV_COLUMNS:
            metrics[f"{c}_sum"] = t[c].cast("float64").sum()
            metrics[f"{c}_n"] = t[c].count()
    return t.group_by(tier=t.value_tier, stage=stage).aggregate(**metrics)


def _add_up(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """The sums and counts of several cells as one (None where every cell has None)."""
    out: dict[str, Any] = {"customers": sum(int(c["customers"]) for c in cells)}
    keys = [*_SUMS, *(f"{c}_{s}" for c in _CLV_COLUMNS for s in ("sum", "n"))]
    for key in keys:
        values = [c[key] for c in cells if c.get(key) is not None]
        out[key] = sum(values) if values else None
    return out


def _share(part: Any, whole: Any) -> float | None:
    if part is None or not whole:
        return None
    return float(part) / float(whole)


def _figures(sums: dict[str, Any], tier: str | None, whole: dict[str, Any] | None) -> TierFigures:
    def number(key: str) -> float | None:
        value = sums.get(key)
        return None if value is None else float(value)

    figures = TierFigures(
        tier=tier,
        customers=int(sums.get("customers") or 0),
        revenue=number("revenue"),
        gross_margin=number("gross_margin"),
        profit=number("profit"),
        total_clv=number("clv_sum"),
        avg_clv=_share(sums.get("clv_sum"), sums.get("clv_n")),
        avg_p_alive=_share(sums.get("p_alive_sum"), sums.get("p_alive_n")),
    )
    if whole is None:
        return figures
    return replace(
        figures,
        customers_share=_share(sums.get("customers"), whole.get("customers")),
        revenue_share=_share(sums.get("revenue"), whole.get("revenue")),
        gross_margin_share=_share(sums.get("gross_margin"), whole.get("gross_margin")),
        profit_share=_share(sums.get("profit"), whole.get("profit")),
        clv_share=_share(sums.get("clv_sum"), whole.get("clv_sum")),
    )


def _hidden(figures: TierFigures) -> TierFigures:
    return TierFigures(tier=figures.tier, customers=None, revenue=None, gross_margin=None,
                       profit=None, suppressed=True)  # fmt: skip


def _small(customers: int | None, min_group_size: int) -> bool:
    return customers is not None and 0 < customers < min_group_size


def tier_report(
    engine: Engine, config: AnalyticsConfig, *, min_group_size: int = 0
) -> TierReport | None:
    """Each value tier's figures and shares, and its mix of lifecycle stages.

    Parameters
    ----------
    config
        The workspace's analytics settings (the tiers' names and order, the tier measure, the
        currency).
    min_group_size
        Small-cell suppression: the figures of a tier, or the count of a tier's stage, with fewer
        customers than this (but some) are None and flagged ``suppressed``.

    Returns
    -------
    TierReport or None
        None before the ``measures`` step (no customer attributes).

    Examples
    --------
    >>> from insightloop.analytics.config import analytics_config
    >>> tier_report(Engine.in_memory(), analytics_config({})) is None
    True
    """
    expr = _cells_expr(engine)
    if expr is None:
        return None
    cells = engine.records(expr)
    whole = _add_up(cells)
    per_tier: dict[Any, list[dict[str, Any]]] = {}
    for c in cells:
        per_tier.setdefault(c["tier"], []).append(c)
    names = [tier.name for tier in config.tiers]
    # Tiers of an earlier configuration still in the table come after the configured ones.
    names += sorted(str(n) for n in per_tier if n is not None and n not in names)
    tiers = []
    for name in names:
        figures = _figures(_add_up(per_tier.get(name, [])), name, whole)
        tiers.append(_hidden(figures) if _small(figures.customers, min_group_size) else figures)
    totals = _figures(whole, None, None)
    if _small(totals.customers, min_group_size):
        totals = _hidden(totals)
    found = {str(c["stage"]) for c in cells if c["stage"] is not None}
    stages = tuple(s for s in STAGES if s in found) + tuple(sorted(found - set(STAGES)))
    mix = []
    for c in cells:
        if c["tier"] is None or c["stage"] is None:
            continue
        tier, stage, n = str(c["tier"]), str(c["stage"]), int(c["customers"])
        if _small(n, min_group_size):
            mix.append(StageCell(tier, stage, None, None, suppressed=True))
        else:
            size = sum(int(x["customers"]) for x in per_tier[c["tier"]])
            mix.append(StageCell(tier, stage, n, _share(n, size)))
    # In tier and stage order, whatever order the engine returned the cells in.
    mix.sort(key=lambda c: (names.index(c.tier), stages.index(c.stage)))
    days = [c["as_of"] for c in cells if c["as_of"] is not None]
    as_of = max(days) if days else None
    return TierReport(
        tiers=tuple(tiers),
        totals=totals,
        tier_measure=config.tier_measure,
        currency=config.currency,
        as_of=as_of.date() if isinstance(as_of, datetime) else as_of,
        has_clv=engine.has_table(CLV_TABLE),
        stages=stages,
        mix=tuple(mix),
        min_group_size=min_group_size,
    )
