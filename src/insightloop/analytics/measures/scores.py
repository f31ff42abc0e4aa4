"""Scores over the whole customer base: RFM quintiles and value tiers.

Both cut a measure at points taken from the distribution over all customers. The cut points of a
full run are kept (table ``analytics_cuts``), so that a refresh of a few customers scores them
against the same points as everyone else.

- **RFM**: recency (days since the latest order; fewer is better), frequency (orders in the last
  365 days) and monetary value (amount ordered in the last 365 days) each scored 1-5 by quintile
  among customers who ever ordered; ``rfm_score`` is the three digits, e.g. ``"545"``. Customers
  who never ordered have no RFM score.
- **Value tiers**: customers ranked by ``[analytics] tier_measure`` (default ``profit_12m``) from
  the top; the first tier takes the first share (default 20 %), the next the next share (30 %),
  the last the rest. Ties at a cut go to the higher tier; customers without a value go last.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from insightloop.analytics.config import AnalyticsConfig
from insightloop.store import Engine

__all__ = ["RFM", "Cuts", "apply_scores", "compute_cuts", "tier_summary"]

#: The RFM parts: score column, measure, whether a higher value is better.
RFM: tuple[tuple[str, str, bool], ...] = (
    ("rfm_r", "recency_days", False),
    ("rfm_f", "orders_365d", True),
    ("rfm_m", "revenue_365d", True),
)


@dataclass(frozen=True)
class Cuts:
    """Cut points: ascending quintile starts per RFM score, tier thresholds from the top."""

    rfm: dict[str, list[float]]
    tiers: list[float]

    def rows(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = [
            {"name": name, "position": i, "value": v}
            for name, values in self.rfm.items()
            for i, v in enumerate(values)
        ]
        out += [{"name": "tier", "position": i, "value": v} for i, v in enumerate(self.tiers)]
        return out

    @classmethod
    def from_rows(cls, rows: list[dict[str, object]]) -> Cuts:
        rfm: dict[str, list[float]] = {}
        tiers: list[float] = []
        for r in sorted(rows, key=lambda r: (str(r["name"]), int(str(r["position"])))):
            value = float(str(r["value"]))
            if r["name"] == "tier":
                tiers.append(value)
            else:
                rfm.setdefault(str(r["name"]), []).append(value)
        return cls(rfm, tiers)


def _quintile_starts(engine: Engine, t: ir.Table, column: str) -> list[float]:
    values = t.filter(t[column].notnull() & t.last_order_at.notnull())
    bucket = ibis.ntile(5).over(order_by=values[column])
    ranked = values.select(v=values[column], b=bucket)
    starts = ranked.group_by("b").aggregate(start=ranked.v.min()).order_by("b")
    found = [float(r["start"]) for r in engine.records(starts)]
    # Ties (many customers with no order this year) make buckets start at the same value; the
    # lowest value always scores 1.
    return sorted({s for s in found[1:] if s > found[0]})


def _tier_thresholds(engine: Engine, t: ir.Table, config: AnalyticsConfig) -> list[float]:
    column = config.tier_measure
    values = t.filter(t[column].notnull())
    n = engine.execute(values.count())
    if not n:
        return []
    ranked = values.select(v=values[column], r=ibis.row_number().over(order_by=ibis.desc(column)))
    thresholds = []
    cumulative = 0.0
    for tier in config.tiers[:-1]:
        cumulative += tier.share or 0.0
        last_rank = max(round(cumulative * n) - 1, 0)
        thresholds.append(float(engine.execute(ranked.filter(ranked.r <= last_rank).v.min())))
    return thresholds


def compute_cuts(engine: Engine, t: ir.Table, config: AnalyticsConfig) -> Cuts:
    """The cut points of ``t`` (a table of measures over all customers)."""
    rfm = {score: _quintile_starts(engine, t, measure) for score, measure, _ in RFM}
    return Cuts(rfm, _tier_thresholds(engine, t, config))


def _quintile(value: ir.NumericValue, starts: list[float], higher_is_better: bool) -> ir.Value:
    rank: ir.IntegerValue = ibis.literal(1)
    for start in starts:
        rank = rank + ibis.cases((value >= start, 1), else_=0)
    return rank if higher_is_better else 6 - rank


def apply_scores(t: ir.Table, cuts: Cuts, config: AnalyticsConfig) -> ir.Table:
    """``t`` with ``rfm_r``, ``rfm_f``, ``rfm_m``, ``rfm_score`` and ``value_tier``."""
    ordered = t.last_order_at.notnull()
    scores = {
        score: ibis.cases(
            (ordered, _quintile(t[measure], cuts.rfm.get(score, []), better)),
            else_=ibis.null("int64"),
        ).cast("int64")
        for score, measure, better in RFM
    }
    t = t.mutate(**scores)
    t = t.mutate(rfm_score=t.rfm_r.cast("string") + t.rfm_f.cast("string") + t.rfm_m.cast("string"))
    value = t[config.tier_measure]
    names = [tier.name for tier in config.tiers]
    cases = [
        (value.notnull() & (value >= threshold), names[i]) for i, threshold in enumerate(cuts.tiers)
    ]
    tier = ibis.cases(*cases, else_=names[-1]) if cases else ibis.literal(names[-1])
    return t.mutate(value_tier=tier)


def tier_summary(engine: Engine, t: ir.Table, config: AnalyticsConfig) -> list[dict[str, object]]:
    """Each tier's customers, revenue, gross margin and 12-month profit, and their shares.

    Examples
    --------
    >>> import pandas as pd
    >>> from insightloop.analytics.config import analytics_config
    >>> engine = Engine.in_memory()
    >>> t = ibis.memtable(pd.DataFrame({"value_tier": ["top", "base", "base"],
    ...     "revenue_365d": [80.0, 10.0, 10.0], "gross_margin_365d": [40.0, 5.0, 5.0],
    ...     "profit_12m": [30.0, 5.0, 5.0]}))
    >>> [(r["tier"], r["customers_share"]) for r in tier_summary(engine, t, analytics_config({}))]
    [('top', 0.333), ('middle', 0.0), ('base', 0.667)]
    """
    per = t.group_by(tier=t.value_tier).aggregate(
        customers=t.count(),
        revenue=t.revenue_365d.sum(),
        margin=t.gross_margin_365d.sum(),
        profit=t.profit_12m.sum(),
    )
    found = {r["tier"]: r for r in engine.records(per)}
    totals = {
        k: sum(float(r[k] or 0) for r in found.values())
        for k in ("customers", "revenue", "margin", "profit")
    }

    def share(value: object, key: str) -> float | None:
        total = totals[key]
        return round(float(str(value or 0)) / total, 3) if total else None

    out = []
    # Tiers of an earlier configuration still in the table come after the configured ones.
    names = [t.name for t in config.tiers]
    names += sorted(str(n) for n in found if n is not None and n not in names)
    for name in names:
        r = found.get(name, {})
        out.append(
            {
                "tier": name,
                "customers": int(r.get("customers") or 0),
                "customers_share": share(r.get("customers"), "customers"),
                "revenue": round(float(r.get("revenue") or 0), 2),
                "revenue_share": share(r.get("revenue"), "revenue"),
                "gross_margin": round(float(r.get("margin") or 0), 2),
                "gross_margin_share": share(r.get("margin"), "margin"),
                "profit": round(float(r.get("profit") or 0), 2),
                "profit_share": share(r.get("profit"), "profit"),
            }
        )
    return out
