"""Lifetime value of every customer of a workspace: the models of
:mod:`insightloop.analytics.clv` fitted on the customers' orders up to the measures' day.

The per-customer summary (repeat purchase days, recency, age, average repeat order value, in
weeks and the reporting currency) is computed in the engine; only that summary (a few numbers a
customer) comes into Python for the fit. Predictions go to the table ``customer_clv``; the fitted
models to ``<workspace>/models/clv/model.json`` (a self-describing file with its hash).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pyarrow as pa

from insightloop.analytics.activity import activity
from insightloop.analytics.attributes import CLV_TABLE
from insightloop.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    customer_value,
    rate_per_period,
    rfm_summary_expr,
    save_model,
)
from insightloop.analytics.config import AnalyticsConfig
from insightloop.analytics.measures.compute import as_of_end
from insightloop.identity.config import IdentityConfig
from insightloop.store import Engine

__all__ = ["ClvReport", "build_clv"]

WEEK_DAYS = 7.0


@dataclass(frozen=True)
class ClvReport:
    """What :func:`build_clv` fitted and wrote."""

    customers: int
    model: str
    params: dict[str, float] = field(default_factory=dict)
    spend_params: dict[str, float] = field(default_factory=dict)
    totals: dict[str, Any] = field(default_factory=dict)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "model": self.model,
            "params": self.params,
            "spend_params": self.spend_params,
            "totals": self.totals,
            "note": self.note,
        }


def build_clv(
    engine: Engine,
    identity: IdentityConfig,
    config: AnalyticsConfig,
    *,
    as_of: date,
    models_dir: Path,
) -> ClvReport:
    """Fit the purchase and spend models on every customer's orders up to ``as_of`` and write
    each customer's probability alive, expected purchases, spend and (discounted) value over
    ``[analytics.clv] horizon_weeks``."""
    settings = config.clv
    orders = activity(engine, identity, config).orders
    orders = orders.filter(orders.at < ibis.literal(as_of_end(as_of)))
    summary_expr = rfm_summary_expr(
        orders, customer="customer_id", at="at", amount="amount", calibration_end=as_of
    )
    summary = engine.to_pyarrow(summary_expr.order_by("customer_id"))
    n = summary.num_rows
    if n < 10 or int(np.count_nonzero(summary["frequency"].to_numpy())) < 3:
        return ClvReport(n, settings.model, note="too few repeat customers to fit the models")
    x = summary["frequency"].to_numpy().astype(float)
    t_x = summary["recency"].to_numpy().astype(float)
    big_t = summary["T"].to_numpy().astype(float)
    m = summary["monetary_value"].to_numpy(zero_copy_only=False).astype(float)
    purchases: BetaGeoModel | ParetoNBDModel = (
        ParetoNBDModel.fit(x, t_x, big_t)
        if settings.model == "paretonbd"
        else BetaGeoModel.fit(x, t_x, big_t)
    )
    # Spend is learnt from repeat customers whose repeat orders have a value (free orders and
    # refunds leave some at 0); the others get the population's expectation.
    valued = (x > 0) & (m > 0)
    spend_model = GammaGammaModel.fit(x[valued], m[valued])
    spend = np.where(valued, spend_model.conditional_expected_spend(x, m), spend_model.mean_spend)
    margin = settings.margin if settings.margin is not None else 1.0
    value = customer_value(
        purchases,
        x,
        t_x,
        big_t,
        spend * margin,
        horizon=float(settings.horizon_weeks),
        discount_rate=rate_per_period(settings.annual_discount_rate, WEEK_DAYS),
    )
    forecast = value.to_arrow()
    table = pa.table(
        {
            "customer_id": summary["customer_id"],
            "clv_frequency": summary["frequency"],
            "clv_recency_weeks": summary["recency"],
            "clv_age_weeks": summary["T"],
            **{c: forecast[c] for c in forecast.column_names},
        }
    )
    engine.materialise(CLV_TABLE, ibis.memtable(table))
    models_dir.mkdir(parents=True, exist_ok=True)
    window = {"calibration_end": as_of.isoformat(), "unit": "weeks"}
    save_model(
        models_dir / "model.json",
        purchases,
        spend_model,
        config=settings.model_dump(mode="json"),
        training_window=window,
        n_customers=n,
    )
    return ClvReport(
        customers=n,
        model=settings.model,
        params={k: round(float(v), 4) for k, v in purchases.params.items()},
        spend_params={k: round(float(v), 4) for k, v in spend_model.params.items()},
        totals={k: (round(v, 2) if isinstance(v, float) else v) for k, v in value.totals().items()},
    )
